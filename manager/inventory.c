/* inventory.c: parses the inventory file against explicit limits (pure) and
 * stores it in the database. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "httpc.h"
#include "inventory.h"

const char *const inv_limit_names[INV_LIM_N] = { "vm", "cpu", "memory", "volume", "storage" };

/* Where a field error is: "hosts[3]". */
struct ctx {
	const char *section;
	size_t i;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int
bad(const struct ctx *c, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(c->err, c->errlen, -EINVAL, "%s[%zu].%s: %s", c->section, c->i, key, msg);
}

enum str_kind { S_ID, S_NAME, S_PATH, S_RELPATH, S_KEY, S_URI, S_IFNAME };

static bool
str_ok(const char *s, size_t n, enum str_kind k)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return false;
		switch (k) {
		case S_ID:
		case S_IFNAME:
			if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
				return false;
			break;
		case S_KEY:
		case S_URI:
			if (ch == ' ' || ch > 0x7e)
				return false;
			break;
		default:
			break;
		}
	}
	if (k == S_PATH && s[0] != '/')
		return false;
	if (k == S_RELPATH && s[0] == '/')
		return false;
	if (k == S_PATH || k == S_RELPATH) {
		/* no ".." component */
		const char *p = s;

		while ((p = strstr(p, "..")))
			if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
				return false;
			else
				p += 2;
	}
	return true;
}

static int
get_str(const struct ctx *c, json_t *o, const char *key, enum str_kind k, char *out,
    size_t outlen, bool required)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v || json_is_null(v)) {
		if (required)
			return bad(c, key, "missing");
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return bad(c, key, "must be a string");
	n = json_string_length(v);
	if (n == 0 || n >= outlen)
		return bad(c, key, "length must be 1..%zu", outlen - 1);
	if (memchr(json_string_value(v), '\0', n) || !str_ok(json_string_value(v), n, k))
		return bad(c, key, "bad characters or form");
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int
get_u64(const struct ctx *c, json_t *o, const char *key, uint64_t min, uint64_t max,
    uint64_t *out, bool required, uint64_t def)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (required)
			return bad(c, key, "missing");
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return bad(c, key, "must be an integer in %llu..%llu", (unsigned long long)min,
		    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_ratio(const struct ctx *c, json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	*out = 1.0;
	if (!v)
		return 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 1.0 ||
	    json_number_value(v) > 64.0)
		return bad(c, key, "must be a number in 1..64");
	*out = json_number_value(v);
	return 0;
}

/* Rejects keys outside the section's list. */
static int
check_keys(const struct ctx *c, json_t *o, const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return err_set(c->err, c->errlen, -EINVAL, "%s[%zu]: must be an object", c->section,
		    c->i);
	json_object_foreach(o, key, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i])
			return bad(c, key, "unknown key");
	}
	return 0;
}

#define KEYS(...) (const char *const[]){ __VA_ARGS__, NULL }
#define TRY(x) do { if ((r = (x)) < 0) return r; } while (0)

static int
parse_zone(const struct ctx *c, json_t *o, struct inv_zone *z)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name")));
	TRY(get_str(c, o, "id", S_ID, z->id, sizeof(z->id), true));
	TRY(get_str(c, o, "name", S_NAME, z->name, sizeof(z->name), true));
	return 0;
}

static int
parse_pod(const struct ctx *c, json_t *o, struct inv_pod *p)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "zone")));
	TRY(get_str(c, o, "id", S_ID, p->id, sizeof(p->id), true));
	TRY(get_str(c, o, "name", S_NAME, p->name, sizeof(p->name), true));
	TRY(get_str(c, o, "zone", S_ID, p->zone, sizeof(p->zone), true));
	return 0;
}

static int
parse_cluster(const struct ctx *c, json_t *o, struct inv_cluster *p)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "pod")));
	TRY(get_str(c, o, "id", S_ID, p->id, sizeof(p->id), true));
	TRY(get_str(c, o, "name", S_NAME, p->name, sizeof(p->name), true));
	TRY(get_str(c, o, "pod", S_ID, p->pod, sizeof(p->pod), true));
	return 0;
}

static int
parse_host(const struct ctx *c, json_t *o, struct inv_host *h)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "cluster", "uri", "cpu_cores", "cpu_mhz",
	    "ram_mib", "cpu_overprovisioning", "ram_overprovisioning")));
	TRY(get_str(c, o, "id", S_ID, h->id, sizeof(h->id), true));
	TRY(get_str(c, o, "name", S_NAME, h->name, sizeof(h->name), true));
	TRY(get_str(c, o, "cluster", S_ID, h->cluster, sizeof(h->cluster), true));
	TRY(get_str(c, o, "uri", S_URI, h->uri, sizeof(h->uri), true));
	TRY(get_u64(c, o, "cpu_cores", 1, 4096, &h->cpu_cores, true, 0));
	TRY(get_u64(c, o, "cpu_mhz", 1, 100000, &h->cpu_mhz, true, 0));
	TRY(get_u64(c, o, "ram_mib", 1, 1ull << 32, &h->ram_mib, true, 0));
	TRY(get_ratio(c, o, "cpu_overprovisioning", &h->cpu_overprov));
	TRY(get_ratio(c, o, "ram_overprovisioning", &h->ram_overprov));
	return 0;
}

static int
parse_pool(const struct ctx *c, json_t *o, struct inv_pool *p)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "scope", "host", "cluster", "zone", "path",
	    "capacity_bytes")));
	TRY(get_str(c, o, "id", S_ID, p->id, sizeof(p->id), true));
	TRY(get_str(c, o, "name", S_NAME, p->name, sizeof(p->name), true));
	TRY(get_str(c, o, "scope", S_ID, p->scope, sizeof(p->scope), true));
	if (strcmp(p->scope, "host") && strcmp(p->scope, "cluster") && strcmp(p->scope, "zone"))
		return bad(c, "scope", "must be host, cluster or zone");
	/* The owner is named by the key of the scope: "host": "h1". */
	TRY(get_str(c, o, p->scope, S_ID, p->owner, sizeof(p->owner), true));
	if ((strcmp(p->scope, "host") && json_object_get(o, "host")) ||
	    (strcmp(p->scope, "cluster") && json_object_get(o, "cluster")))
		return bad(c, "scope", "names a %s but another owner is given", p->scope);
	TRY(get_str(c, o, "path", S_PATH, p->path, sizeof(p->path), true));
	TRY(get_u64(c, o, "capacity_bytes", 1, INT64_MAX, &p->capacity_bytes, true, 0));
	return 0;
}

static int
parse_secondary(const struct ctx *c, json_t *o, struct inv_secondary *s)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "zone", "path")));
	TRY(get_str(c, o, "id", S_ID, s->id, sizeof(s->id), true));
	TRY(get_str(c, o, "zone", S_ID, s->zone, sizeof(s->zone), true));
	TRY(get_str(c, o, "path", S_PATH, s->path, sizeof(s->path), true));
	return 0;
}

static int
parse_template(const struct ctx *c, json_t *o, struct inv_template *t)
{
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "secondary", "format", "path", "size")));
	TRY(get_str(c, o, "id", S_ID, t->id, sizeof(t->id), true));
	TRY(get_str(c, o, "name", S_NAME, t->name, sizeof(t->name), true));
	TRY(get_str(c, o, "secondary", S_ID, t->secondary, sizeof(t->secondary), true));
	TRY(get_str(c, o, "format", S_ID, t->format, sizeof(t->format), true));
	if (strcmp(t->format, "raw") && strcmp(t->format, "qcow2"))
		return bad(c, "format", "must be raw or qcow2");
	TRY(get_str(c, o, "path", S_RELPATH, t->path, sizeof(t->path), true));
	TRY(get_u64(c, o, "size", 1, INT64_MAX, &t->size, true, 0));
	return 0;
}

static int
parse_offering(const struct ctx *c, json_t *o, struct inv_offering *f)
{
	json_t *v;
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "cpu_count", "cpu_mhz", "ram_mib",
	    "local_storage")));
	TRY(get_str(c, o, "id", S_ID, f->id, sizeof(f->id), true));
	TRY(get_str(c, o, "name", S_NAME, f->name, sizeof(f->name), true));
	TRY(get_u64(c, o, "cpu_count", 1, 1024, &f->cpu_count, true, 0));
	TRY(get_u64(c, o, "cpu_mhz", 1, 100000, &f->cpu_mhz, true, 0));
	TRY(get_u64(c, o, "ram_mib", 1, 1ull << 32, &f->ram_mib, true, 0));
	v = json_object_get(o, "local_storage");
	if (v && !json_is_boolean(v))
		return bad(c, "local_storage", "must be true or false");
	f->local_storage = v && json_is_true(v);
	return 0;
}

/* "10.1.1.1" or "10.1.1.1,8.8.8.8": up to four addresses. */
static bool
dns_list_ok(const char *s)
{
	char tmp[INV_NAME_MAX + 1], *tok, *save = NULL;
	uint32_t ip;
	int n = 0;

	snprintf(tmp, sizeof(tmp), "%s", s);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (ip4_parse(tok, &ip) < 0 || ++n > 4)
			return false;
	return n > 0 && s[strlen(s) - 1] != ',';
}

static int
parse_network(const struct ctx *c, json_t *o, struct inv_network *n)
{
	char cidr[32], gw[IP4_STRLEN + 1];
	struct httpc_url u;
	const char *p;
	int r;

	TRY(check_keys(c, o, KEYS("id", "name", "zone", "cidr", "gateway", "dns", "domain",
	    "vr_url", "vr_token", "bridge", "vlan")));
	TRY(get_str(c, o, "id", S_ID, n->id, sizeof(n->id), true));
	TRY(get_str(c, o, "name", S_NAME, n->name, sizeof(n->name), true));
	TRY(get_str(c, o, "zone", S_ID, n->zone, sizeof(n->zone), true));
	TRY(get_str(c, o, "cidr", S_KEY, cidr, sizeof(cidr), true));
	if (cidr_parse(cidr, &n->net, &n->prefix) < 0 || n->prefix < 8 || n->prefix > 30)
		return bad(c, "cidr", "must be a.b.c.d/n with 8 <= n <= 30");
	TRY(get_str(c, o, "gateway", S_KEY, gw, sizeof(gw), true));
	if (ip4_parse(gw, &n->gateway) < 0 ||
	    (n->gateway & prefix_mask(n->prefix)) != n->net || n->gateway == n->net ||
	    n->gateway == (n->net | ~prefix_mask(n->prefix)))
		return bad(c, "gateway", "must be a host address inside cidr");
	TRY(get_str(c, o, "dns", S_KEY, n->dns, sizeof(n->dns), false));
	if (!n->dns[0])
		snprintf(n->dns, sizeof(n->dns), "%s", gw);
	else if (!dns_list_ok(n->dns))
		return bad(c, "dns", "must be one to four IPv4 addresses separated by ','");
	TRY(get_str(c, o, "domain", S_KEY, n->domain, sizeof(n->domain), false));
	for (p = n->domain; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return bad(c, "domain", "must be a DNS name");
	TRY(get_str(c, o, "vr_url", S_URI, n->vr_url, sizeof(n->vr_url), true));
	if (httpc_url_parse(n->vr_url, &u) < 0)
		return bad(c, "vr_url", "must be http://host[:port]");
	TRY(get_str(c, o, "vr_token", S_KEY, n->vr_token, sizeof(n->vr_token), true));
	TRY(get_str(c, o, "bridge", S_IFNAME, n->bridge, sizeof(n->bridge), true));
	TRY(get_u64(c, o, "vlan", 0, 4094, &n->vlan, false, 0));
	return 0;
}

static int
parse_account(const struct ctx *c, json_t *o, struct inv_account *a)
{
	json_t *lim, *v;
	const char *key;
	int r, i;

	char role[8];

	TRY(check_keys(c, o, KEYS("id", "name", "api_key", "secret_key", "role", "limits")));
	TRY(get_str(c, o, "id", S_ID, a->id, sizeof(a->id), true));
	TRY(get_str(c, o, "name", S_NAME, a->name, sizeof(a->name), true));
	TRY(get_str(c, o, "api_key", S_KEY, a->api_key, sizeof(a->api_key), true));
	TRY(get_str(c, o, "secret_key", S_KEY, a->secret_key, sizeof(a->secret_key), true));
	TRY(get_str(c, o, "role", S_ID, role, sizeof(role), false));
	if (role[0] && strcmp(role, "admin") && strcmp(role, "user"))
		return bad(c, "role", "must be admin or user");
	a->admin = !strcmp(role, "admin");
	for (i = 0; i < INV_LIM_N; i++)
		a->limit[i] = -1;
	if (!(lim = json_object_get(o, "limits")))
		return 0;
	if (!json_is_object(lim))
		return bad(c, "limits", "must be an object");
	json_object_foreach(lim, key, v) {
		for (i = 0; i < INV_LIM_N && strcmp(inv_limit_names[i], key); i++)
			;
		if (i == INV_LIM_N)
			return bad(c, "limits", "unknown limit \"%.32s\" (vm, cpu, memory, volume, "
			    "storage)", key);
		if (!json_is_integer(v) || json_integer_value(v) < -1)
			return bad(c, "limits", "%s must be an integer >= -1 (-1: none)", key);
		a->limit[i] = json_integer_value(v);
	}
	return 0;
}

/* Parses one section's array with its element parser. */
#define PARSE_SECTION(root, inv, sect, fn, err, errlen)                                    \
	do {                                                                                   \
		json_t *arr_ = json_object_get(root, #sect), *el_;                                  \
		struct ctx c_ = { #sect, 0, err, errlen };                                          \
		if (!arr_)                                                                          \
			break;                                                                      \
		if (!json_is_array(arr_)) {                                                         \
			snprintf(err, errlen, "%s: must be an array", #sect);                       \
			r = -EINVAL;                                                                \
			goto out;                                                                   \
		}                                                                                   \
		if (json_array_size(arr_) > INV_ITEMS_MAX) {                                        \
			snprintf(err, errlen, "%s: more than %u entries", #sect, INV_ITEMS_MAX);    \
			r = -E2BIG;                                                                 \
			goto out;                                                                   \
		}                                                                                   \
		if (json_array_size(arr_) &&                                                        \
		    !(inv->sect = calloc(json_array_size(arr_), sizeof(*inv->sect)))) {             \
			r = -ENOMEM;                                                                \
			snprintf(err, errlen, "out of memory");                                     \
			goto out;                                                                   \
		}                                                                                   \
		json_array_foreach(arr_, c_.i, el_) {                                               \
			if ((r = fn(&c_, el_, &inv->sect[c_.i])) < 0)                               \
				goto out;                                                           \
			inv->n_##sect++;                                                            \
		}                                                                                   \
	} while (0)

static const char *const sections[] = { "zones", "pods", "clusters", "hosts", "pools",
	"secondary", "templates", "offerings", "networks", "accounts", NULL };

int
inventory_parse(const char *buf, size_t len, struct inventory **out, char *err, size_t errlen)
{
	struct inventory *inv = NULL;
	json_t *root = NULL, *v;
	json_error_t je;
	const char *key;
	size_t i;
	int r;

	if (len > INV_LEN_MAX)
		return err_set(err, errlen, -E2BIG, "inventory larger than %u bytes", INV_LEN_MAX);
	if (!(root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)))
		return err_set(err, errlen, -EINVAL, "not JSON: line %d column %d: %s", je.line,
		    je.column, je.text);
	r = -EINVAL;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		for (i = 0; sections[i] && strcmp(sections[i], key); i++)
			;
		if (!sections[i]) {
			snprintf(err, errlen, "unknown section \"%.32s\"", key);
			goto out;
		}
	}
	if (!(inv = calloc(1, sizeof(*inv)))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	PARSE_SECTION(root, inv, zones, parse_zone, err, errlen);
	PARSE_SECTION(root, inv, pods, parse_pod, err, errlen);
	PARSE_SECTION(root, inv, clusters, parse_cluster, err, errlen);
	PARSE_SECTION(root, inv, hosts, parse_host, err, errlen);
	PARSE_SECTION(root, inv, pools, parse_pool, err, errlen);
	PARSE_SECTION(root, inv, secondary, parse_secondary, err, errlen);
	PARSE_SECTION(root, inv, templates, parse_template, err, errlen);
	PARSE_SECTION(root, inv, offerings, parse_offering, err, errlen);
	PARSE_SECTION(root, inv, networks, parse_network, err, errlen);
	PARSE_SECTION(root, inv, accounts, parse_account, err, errlen);
	*out = inv;
	inv = NULL;
	r = 0;
out:
	inventory_free(inv);
	json_decref(root);
	return r;
}

void
inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
#define INV_FREE(name, type) free(inv->name);
	INV_SECTIONS(INV_FREE)
#undef INV_FREE
	free(inv);
}
