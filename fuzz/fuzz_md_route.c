/* fuzz_md_route.c: libFuzzer target over vr-metadata's router.  The input is
 * a vms/<ip>.json document (up to the first NUL, at most 4 KiB) and then a
 * request path.  A document md_entry_parse refuses is replaced by a fixed
 * one, so every input still exercises the router.  Invariants:
 * - the status is 200, 404 or 405, and the same path gives the same reply;
 * - no path that is not clean ("//", a "." or ".." segment, no leading "/")
 *   is ever answered 200, and a 404's body is "not found";
 * - 405 only for the token path (md_is_token_path, or it with a trailing /),
 *   and md_is_token_path's paths are always 405;
 * - each of the VM's keys, public keys and user data is served exactly. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../metadata/md.h"

#define DOC_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fallback_doc[] = "{\"ip\":\"10.1.1.101\",\"mac\":\"02:00:4c:5f:00:01\","
    "\"hostname\":\"vm1\",\"metadata\":{\"availability-zone\":\"zone1\",\"instance-id\":\"i-1\","
    "\"local-hostname\":\"vm1\",\"public-keys\":\"ssh-rsa AAA one@h\\nssh-rsa BBB\","
    "\"vm-id\":\"1\"},\"user_data\":\"#cloud-config\\n\"}";
static struct md_entry *fallback;

/* Whether path could name anything at all: "/" then non-empty segments
 * other than "." and "..". */
static bool
clean_path(const char *path)
{
	const char *p = path;

	if (*p++ != '/')
		return false;
	if (strstr(path, "//"))
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += l;
		if (*p == '/')
			p++;
	}
	return true;
}

static void
route(const struct md_entry *e, const char *path, struct md_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	md_route(e, path, r);
	if (r->body.oom || !r->ctype)
		abort();
}

static void
expect(const struct md_entry *e, const char *path, int status, const char *body, size_t len)
{
	struct md_reply r;

	route(e, path, &r);
	if (r.status != status || r.body.len != len || (len && memcmp(r.body.p, body, len)))
		abort();
	buf_free(&r.body);
}

static void
check_path(const struct md_entry *e, const char *path)
{
	struct md_reply r, r2;
	bool dated, tok = md_is_token_path(path, &dated);
	size_t plen = strlen(path);

	route(e, path, &r);
	if (r.status != 200 && r.status != 404 && r.status != 405)
		abort();
	if (r.status == 200 && !clean_path(path))
		abort();
	if (r.status == 404 && (r.body.len != 9 || memcmp(r.body.p, "not found", 9)))
		abort();
	if (tok && r.status != 405)
		abort();
	if (r.status == 405 && !tok) {
		/* only "<ver>/api/token/" besides the token path itself */
		char *t = strndup(path, plen ? plen - 1 : 0);
		bool d2;

		if (!t)
			abort();
		if (!plen || path[plen - 1] != '/' || !md_is_token_path(t, &d2))
			abort();
		free(t);
	}
	if (tok && dated == !strncmp(path, "/latest/", 8))
		abort();
	route(e, path, &r2);
	if (r2.status != r.status || r2.body.len != r.body.len ||
	    (r.body.len && memcmp(r.body.p, r2.body.p, r.body.len)) || strcmp(r.ctype, r2.ctype))
		abort();
	buf_free(&r.body);
	buf_free(&r2.body);
}

/* What the entry itself says must be served, is, exactly. */
static void
check_entry(const struct md_entry *e)
{
	const struct vm *v = e->v;
	char path[MD_KEY_MAX + 64];
	struct md_reply r;
	json_t *j;

	/* public key names are OpenStack public_keys' object keys: unique */
	for (size_t a = 0; a < e->nkeys; a++)
		for (size_t b = a + 1; b < e->nkeys; b++)
			if (!strcmp(e->names[a], e->names[b]))
				abort();
	for (size_t i = 0; i < v->nmd; i++) {
		const char *k = v->md[i].key;

		if (!strcmp(k, "public-keys") || !strcmp(k, "placement"))
			continue;
		snprintf(path, sizeof(path), "/latest/meta-data/%s", k);
		expect(e, path, 200, v->md[i].val, v->md[i].len);
		snprintf(path, sizeof(path), "/2009-04-04/meta-data/%s/", k);
		check_path(e, path);
	}
	if (e->nkeys > MD_KEYS_PER_VM)
		abort();
	for (size_t k = 0; k < e->nkeys; k++) {
		snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%zu/openssh-key", k);
		expect(e, path, 200, e->keys[k], strlen(e->keys[k]));
		if (!e->names[k][0] || strchr(e->names[k], '\n') || strchr(e->names[k], '='))
			abort();
	}
	snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%zu/openssh-key", e->nkeys);
	expect(e, path, 404, "not found", 9);
	if (v->has_ud) {
		expect(e, "/latest/user-data", 200, v->ud, v->udlen);
		expect(e, "/openstack/latest/user_data", 200, v->ud, v->udlen);
	} else {
		expect(e, "/latest/user-data", 404, "not found", 9);
	}
	/* the OpenStack documents are JSON objects */
	route(e, "/openstack/latest/meta_data.json", &r);
	if (r.status != 200 || !(j = json_loadb(r.body.p, r.body.len, 0, NULL)) ||
	    !json_is_object(j) || !json_is_string(json_object_get(j, "uuid")) ||
	    !json_is_object(json_object_get(j, "public_keys")))
		abort();
	json_decref(j);
	buf_free(&r.body);
	route(e, "/openstack/latest/network_data.json", &r);
	if (r.status != 200 || !(j = json_loadb(r.body.p, r.body.len, 0, NULL)) ||
	    !json_is_object(j))
		abort();
	json_decref(j);
	buf_free(&r.body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dlen = size < DOC_MAX ? size : DOC_MAX;
	const uint8_t *nul = memchr(data, '\0', dlen);
	size_t rest_off;
	struct md_entry *e = NULL;
	char err[128], *path;

	if (!fallback && md_entry_parse(fallback_doc, strlen(fallback_doc), &fallback, err,
	    sizeof(err)) < 0)
		abort();
	if (nul) {
		dlen = (size_t)(nul - data);
		rest_off = dlen + 1;
	} else {
		rest_off = dlen;
	}
	if (md_entry_parse((const char *)data, dlen, &e, err, sizeof(err)) == 0)
		check_entry(e);
	if (!(path = strndup((const char *)data + rest_off, size - rest_off)))
		return 0;
	check_path(e ? e : fallback, path);
	md_entry_free(e);
	free(path);
	return 0;
}
