/* route.c: the metadata tree a VM sees, EC2 and OpenStack style (pure: no
 * I/O, no logging).  A path is split into segments and matched exactly; the
 * only names ever looked up are the VM's own keys. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "md.h"

static const char *const ec2_versions[] = { "2009-04-04", "2016-09-02", "2018-09-24",
	"2021-03-23", "latest" };
static const char *const os_versions[] = { "2012-08-10", "2013-04-04", "2013-10-17",
	"2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27", "latest" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct path {
	const char *seg[MD_PATH_SEGMENTS];
	size_t len[MD_PATH_SEGMENTS];
	size_t n;
	bool dir;     /* ends with '/' */
};

/* Splits "/a/b/" into segments; false for anything not a clean path. */
static bool
path_split(const char *p, struct path *out)
{
	memset(out, 0, sizeof(*out));
	if (*p++ != '/')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == 0 || out->n == MD_PATH_SEGMENTS)
			return false; /* "//" or too deep */
		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		out->seg[out->n] = p;
		out->len[out->n++] = l;
		p += l;
		if (*p == '/') {
			p++;
			out->dir = *p == '\0';
		}
	}
	return true;
}

static bool
seg_is(const struct path *p, size_t i, const char *s)
{
	return i < p->n && p->len[i] == strlen(s) && !memcmp(p->seg[i], s, p->len[i]);
}

static bool
seg_in(const struct path *p, size_t i, const char *const *set, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (seg_is(p, i, set[k]))
			return true;
	return false;
}

static void
reply(struct md_reply *r, int status, const char *ctype, const void *body, size_t len)
{
	r->status = status;
	r->ctype = ctype;
	buf_reset(&r->body);
	buf_add(&r->body, body ? body : "", body ? len : 0);
}

static void
not_found(struct md_reply *r)
{
	reply(r, 404, "text/plain", "not found", 9);
}

static void
list(struct md_reply *r, const char *const *items, size_t n)
{
	r->status = 200;
	r->ctype = "text/plain";
	buf_reset(&r->body);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(&r->body, "\n");
		buf_adds(&r->body, items[i]);
	}
	buf_add(&r->body, "", 0);
}

static const struct md_kv *
md_get(const struct md_entry *e, const char *key)
{
	return vm_md_get(e->v, key);
}

/* /<ver>/meta-data/... from segment i on. */
static void
route_metadata(const struct md_entry *e, const struct path *p, size_t i, struct md_reply *r)
{
	const struct vm *v = e->v;
	const struct md_kv *kv;
	char key[MD_KEY_MAX + 1];

	if (i == p->n) { /* the listing: keys, "public-keys/", "placement/" */
		r->status = 200;
		r->ctype = "text/plain";
		buf_reset(&r->body);
		for (size_t k = 0; k < v->nmd; k++) {
			const char *name = v->md[k].key;

			if (k)
				buf_adds(&r->body, "\n");
			buf_adds(&r->body, name);
			if (!strcmp(name, "public-keys"))
				buf_adds(&r->body, "/");
		}
		if (md_get(e, "availability-zone"))
			buf_adds(&r->body, v->nmd ? "\nplacement/" : "placement/");
		buf_add(&r->body, "", 0);
		return;
	}
	if (p->len[i] > MD_KEY_MAX)
		return not_found(r);
	memcpy(key, p->seg[i], p->len[i]);
	key[p->len[i]] = '\0';
	if (!strcmp(key, "public-keys") && md_get(e, "public-keys")) {
		char idx[24];

		if (i + 1 == p->n) {
			r->status = 200;
			r->ctype = "text/plain";
			buf_reset(&r->body);
			for (size_t k = 0; k < e->nkeys; k++)
				buf_addf(&r->body, "%s%zu=%s", k ? "\n" : "", k, e->names[k]);
			buf_add(&r->body, "", 0);
			return;
		}
		for (size_t k = 0; k < e->nkeys; k++) {
			snprintf(idx, sizeof(idx), "%zu", k);
			if (!seg_is(p, i + 1, idx))
				continue;
			if (i + 2 == p->n) {
				static const char *const ok[] = { "openssh-key" };

				return list(r, ok, 1);
			}
			if (i + 3 == p->n && seg_is(p, i + 2, "openssh-key") && !p->dir)
				return reply(r, 200, "text/plain", e->keys[k], strlen(e->keys[k]));
		}
		return not_found(r);
	}
	if (!strcmp(key, "placement") && (kv = md_get(e, "availability-zone"))) {
		static const char *const az[] = { "availability-zone" };

		if (i + 1 == p->n)
			return list(r, az, 1);
		if (i + 2 == p->n && seg_is(p, i + 1, "availability-zone") && !p->dir)
			return reply(r, 200, "text/plain", kv->val, kv->len);
		return not_found(r);
	}
	if (i + 1 != p->n || p->dir || !(kv = md_get(e, key)))
		return not_found(r);
	reply(r, 200, "text/plain", kv->val, kv->len);
}

static void
route_user_data(const struct md_entry *e, struct md_reply *r)
{
	if (!e->v->has_ud)
		return not_found(r);
	reply(r, 200, "application/octet-stream", e->v->ud, e->v->udlen);
}

static const char *
md_str(const struct md_entry *e, const char *key, const char *dflt)
{
	const struct md_kv *kv = md_get(e, key);

	return kv && kv->len ? kv->val : dflt;
}

static void
reply_json(struct md_reply *r, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	if (!s)
		return reply(r, 500, "text/plain", "out of memory", 13);
	reply(r, 200, "application/json", s, strlen(s));
	free(s);
}

static void
os_meta_data(const struct md_entry *e, struct md_reply *r)
{
	const char *host = md_str(e, "local-hostname", e->v->host[0] ? e->v->host : NULL);
	json_t *o = json_object(), *keys = json_object();

	json_object_set_new(o, "uuid", json_string(md_str(e, "instance-id",
	    md_str(e, "vm-id", ""))));
	json_object_set_new(o, "name", host ? json_string(host) : json_null());
	json_object_set_new(o, "hostname", host ? json_string(host) : json_null());
	json_object_set_new(o, "availability_zone",
	    json_string(md_str(e, "availability-zone", "")));
	for (size_t k = 0; k < e->nkeys; k++)
		json_object_set_new(keys, e->names[k], json_string(e->keys[k]));
	json_object_set_new(o, "public_keys", keys);
	json_object_set_new(o, "launch_index", json_integer(0));
	json_object_set_new(o, "meta", json_object());
	reply_json(r, o);
}

static void
os_network_data(const struct md_entry *e, struct md_reply *r)
{
	char mac[MAC_STRLEN];
	json_t *link, *net, *o = json_object();

	mac_format(e->v->mac, mac);
	link = json_pack("{s:s, s:s, s:s}", "id", "eth0", "type", "phy", "ethernet_mac_address", mac);
	net = json_pack("{s:s, s:s, s:s, s:s}", "id", "network0", "link", "eth0", "type",
	    "ipv4_dhcp", "network_id", "network0");
	json_object_set_new(o, "links", json_pack("[o]", link));
	json_object_set_new(o, "networks", json_pack("[o]", net));
	json_object_set_new(o, "services", json_array());
	reply_json(r, o);
}

static void
route_openstack(const struct md_entry *e, const struct path *p, struct md_reply *r)
{
	static const char *const files_ud[] = { "meta_data.json", "network_data.json", "user_data",
		"vendor_data.json" };
	static const char *const files[] = { "meta_data.json", "network_data.json",
		"vendor_data.json" };

	if (p->n == 1)
		return list(r, os_versions, NELEM(os_versions));
	if (!seg_in(p, 1, os_versions, NELEM(os_versions)))
		return not_found(r);
	if (p->n == 2)
		return e->v->has_ud ? list(r, files_ud, NELEM(files_ud)) : list(r, files, NELEM(files));
	if (p->n != 3 || p->dir)
		return not_found(r);
	if (seg_is(p, 2, "meta_data.json"))
		return os_meta_data(e, r);
	if (seg_is(p, 2, "user_data"))
		return route_user_data(e, r);
	if (seg_is(p, 2, "vendor_data.json"))
		return reply(r, 200, "application/json", "{}", 2);
	if (seg_is(p, 2, "network_data.json"))
		return os_network_data(e, r);
	not_found(r);
}

void
md_route(const struct md_entry *e, const char *path, struct md_reply *r)
{
	struct path p;

	if (!path_split(path, &p))
		return not_found(r);
	if (p.n == 0)
		return list(r, ec2_versions, NELEM(ec2_versions));
	if (seg_is(&p, 0, "openstack"))
		return route_openstack(e, &p, r);
	if (!seg_in(&p, 0, ec2_versions, NELEM(ec2_versions)))
		return not_found(r);
	if (p.n == 1) {
		static const char *const with_ud[] = { "meta-data", "user-data" };

		return list(r, with_ud, e->v->has_ud ? 2 : 1);
	}
	if (seg_is(&p, 1, "meta-data"))
		return route_metadata(e, &p, 2, r);
	if (seg_is(&p, 1, "user-data") && p.n == 2 && !p.dir)
		return route_user_data(e, r);
	if (seg_is(&p, 1, "api") && seg_is(&p, 2, "token") && p.n == 3)
		return reply(r, 405, "text/plain", "use PUT", 7);
	not_found(r);
}

bool
md_is_token_path(const char *path, bool *dated)
{
	struct path p;

	*dated = false;
	if (!path_split(path, &p) || p.n != 3 || p.dir || !seg_is(&p, 1, "api") ||
	    !seg_is(&p, 2, "token") || !seg_in(&p, 0, ec2_versions, NELEM(ec2_versions)))
		return false;
	*dated = !seg_is(&p, 0, "latest");
	return true;
}
