/* fuzz_inventory.c: libFuzzer target over the inventory loader's parser
 * (inventory_parse, the pure half of `vr-manager init --inventory`).
 * Invariants: no crash or leak; the result is 0, -EINVAL, -E2BIG or -ENOMEM;
 * a refusal leaves *out untouched and says why in a NUL-terminated err that
 * fits its buffer (and is cut, not overrun, when the buffer is small); an
 * accepted inventory holds only what the format allows - every string
 * NUL-terminated inside its field, ids non-empty and of [A-Za-z0-9._-],
 * storage paths absolute and template paths relative with no ".."
 * component, no control character anywhere, numbers inside their ranges,
 * the gateway a host address inside its network - and parsing the same
 * bytes again gives the same inventory. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_LEN(f) strnlen((f), sizeof(f))

/* A NUL-terminated string inside its field, free of control characters. */
static size_t
str_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	assert(n < cap);
	for (size_t i = 0; i < n; i++)
		assert((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
	return n;
}
#define STR(f) str_ok((f), sizeof(f))

static void
id_ok(const char *s, size_t cap)
{
	size_t n = str_ok(s, cap);

	assert(n > 0);
	assert(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	    n);
}
#define ID(f) id_ok((f), sizeof(f))

static void
path_ok(const char *s, size_t cap, int absolute)
{
	size_t n = str_ok(s, cap);

	assert(n > 0);
	assert((s[0] == '/') == absolute);
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		assert(!((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')));
}

static void
check(const struct inventory *inv)
{
	for (size_t i = 0; i < inv->n_zones; i++) {
		ID(inv->zones[i].id);
		assert(STR(inv->zones[i].name) > 0);
	}
	for (size_t i = 0; i < inv->n_pods; i++) {
		ID(inv->pods[i].id);
		ID(inv->pods[i].zone);
		STR(inv->pods[i].name);
	}
	for (size_t i = 0; i < inv->n_clusters; i++) {
		ID(inv->clusters[i].id);
		ID(inv->clusters[i].pod);
		STR(inv->clusters[i].name);
	}
	for (size_t i = 0; i < inv->n_hosts; i++) {
		const struct inv_host *h = &inv->hosts[i];

		ID(h->id);
		ID(h->cluster);
		STR(h->name);
		assert(STR(h->uri) > 0 && !strchr(h->uri, ' '));
		assert(h->cpu_cores >= 1 && h->cpu_cores <= 4096);
		assert(h->cpu_mhz >= 1 && h->cpu_mhz <= 100000);
		assert(h->ram_mib >= 1 && h->ram_mib <= (1ull << 32));
		assert(h->cpu_overprov >= 1.0 && h->cpu_overprov <= 64.0);
		assert(h->ram_overprov >= 1.0 && h->ram_overprov <= 64.0);
	}
	for (size_t i = 0; i < inv->n_pools; i++) {
		const struct inv_pool *p = &inv->pools[i];

		ID(p->id);
		ID(p->owner);
		STR(p->name);
		assert(!strcmp(p->scope, "host") || !strcmp(p->scope, "cluster") ||
		    !strcmp(p->scope, "zone"));
		path_ok(p->path, sizeof(p->path), 1);
		assert(p->capacity_bytes >= 1 && p->capacity_bytes <= INT64_MAX);
	}
	for (size_t i = 0; i < inv->n_secondary; i++) {
		ID(inv->secondary[i].id);
		ID(inv->secondary[i].zone);
		path_ok(inv->secondary[i].path, sizeof(inv->secondary[i].path), 1);
	}
	for (size_t i = 0; i < inv->n_templates; i++) {
		const struct inv_template *t = &inv->templates[i];

		ID(t->id);
		ID(t->secondary);
		STR(t->name);
		assert(!strcmp(t->format, "raw") || !strcmp(t->format, "qcow2"));
		path_ok(t->path, sizeof(t->path), 0);
		assert(t->size >= 1 && t->size <= INT64_MAX);
	}
	for (size_t i = 0; i < inv->n_offerings; i++) {
		const struct inv_offering *f = &inv->offerings[i];

		ID(f->id);
		STR(f->name);
		assert(f->cpu_count >= 1 && f->cpu_count <= 1024);
		assert(f->cpu_mhz >= 1 && f->cpu_mhz <= 100000);
		assert(f->ram_mib >= 1 && f->ram_mib <= (1ull << 32));
	}
	for (size_t i = 0; i < inv->n_networks; i++) {
		const struct inv_network *n = &inv->networks[i];
		uint32_t mask;

		ID(n->id);
		ID(n->zone);
		ID(n->bridge);
		STR(n->name);
		assert(STR(n->dns) > 0);
		STR(n->domain);
		assert(STR(n->vr_url) > 0 && STR(n->vr_token) > 0);
		assert(n->prefix >= 8 && n->prefix <= 30);
		mask = prefix_mask(n->prefix);
		assert((n->net & ~mask) == 0);
		assert((n->gateway & mask) == n->net);
		assert(n->gateway != n->net && n->gateway != (n->net | ~mask));
		assert(n->vlan <= 4094);
	}
	for (size_t i = 0; i < inv->n_accounts; i++) {
		const struct inv_account *a = &inv->accounts[i];

		ID(a->id);
		STR(a->name);
		assert(STR(a->api_key) > 0 && STR(a->secret_key) > 0);
		for (int l = 0; l < INV_LIM_N; l++)
			assert(a->limit[l] >= -1);
	}
}

/* Two parses of the same bytes agree field for field (every struct is
 * calloc'ed, so padding compares equal too). */
static void
same(const struct inventory *a, const struct inventory *b)
{
#define INV_SAME(name, type)                                                             \
	assert(a->n_##name == b->n_##name);                                               \
	assert(a->n_##name == 0 || memcmp(a->name, b->name, a->n_##name * sizeof(type)) == 0);
	INV_SECTIONS(INV_SAME)
#undef INV_SAME
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv = (struct inventory *)&inv, *again = NULL;
	char err[512], tiny[8];
	int r;

	memset(err, 0x55, sizeof(err));
	r = inventory_parse((const char *)data, size, &inv, err, sizeof(err));
	if (r < 0) {
		assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
		assert(inv == (struct inventory *)&inv);
		assert(memchr(err, '\0', sizeof(err)) && err[0] != '\0');
		/* the same refusal into an 8-byte buffer is cut, not overrun */
		memset(tiny, 0x55, sizeof(tiny));
		assert(inventory_parse((const char *)data, size, &again, tiny, sizeof(tiny)) == r);
		assert(again == NULL && memchr(tiny, '\0', sizeof(tiny)));
		return 0;
	}
	assert(r == 0 && inv && inv != (struct inventory *)&inv);
	check(inv);
	assert(inventory_parse((const char *)data, size, &again, err, sizeof(err)) == 0);
	same(inv, again);
	inventory_free(again);
	inventory_free(inv);
	return 0;
}
