/* planner.c: host selection by free CPU and RAM, then the storage
 * allocator chain (local -> cluster -> zone) for the chosen host. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "planner.h"

static bool
host_fits(const struct cap_host *h, const struct cap_need *n)
{
	return h->zone_id == n->zone_id &&
	    atomic_load_explicit(&h->cpu_used_mhz, memory_order_relaxed) + n->cpu_mhz <=
	    h->cpu_total_mhz &&
	    atomic_load_explicit(&h->ram_used_mib, memory_order_relaxed) + n->ram_mib <=
	    h->ram_total_mib;
}

static bool
pool_fits(const struct cap_pool *p, const struct cap_need *n)
{
	return atomic_load_explicit(&p->used_bytes, memory_order_relaxed) + n->disk_bytes <=
	    p->capacity_bytes;
}

/* The allocator chain for one host: each allocator either skips (not its
 * kind of offering), finds nothing, or finds a pool. */
static struct cap_pool *
storage_chain(struct capacity *c, const struct cap_host *h, const struct cap_need *n,
    char *trace, size_t tlen)
{
	static const char *const names[] = { "local", "cluster", "zone" };
	uint32_t from[3] = { 0, h->nlocal, h->nlocal + h->ncluster };
	uint32_t to[3] = { h->nlocal, h->nlocal + h->ncluster, h->npools };
	size_t off = 0;
	int a;
	uint32_t i;

	for (a = 0; a < 3; a++) {
		/* Local storage serves local offerings only; shared pools the rest. */
		bool applies = (a == 0) == n->local;

		if (!applies) {
			off += (size_t)snprintf(trace + off, tlen - off, "%s%s: skip", a ? ", " : "",
			    names[a]);
			continue;
		}
		for (i = from[a]; i < to[a]; i++)
			if (pool_fits(&c->pools[h->pools[i]], n)) {
				snprintf(trace + off, tlen - off, "%s%s: found %s", a ? ", " : "",
				    names[a], c->pools[h->pools[i]].uuid);
				return &c->pools[h->pools[i]];
			}
		off += (size_t)snprintf(trace + off, tlen - off, "%s%s: none", a ? ", " : "",
		    names[a]);
		if (off >= tlen)
			off = tlen - 1;
	}
	return NULL;
}

/* The pool the VM's volume is on, if the host reaches it. */
static struct cap_pool *
placed_pool(struct capacity *c, const struct cap_host *h, const struct cap_need *n,
    char *trace, size_t tlen)
{
	for (uint32_t i = 0; i < h->npools; i++) {
		struct cap_pool *p = &c->pools[h->pools[i]];

		if (p->id == n->pool_id && pool_fits(p, n)) {
			snprintf(trace, tlen, "volume on %s", p->uuid);
			return p;
		}
	}
	return NULL;
}

static bool
try_host(struct capacity *c, struct cap_host *h, const struct cap_need *n, struct plan *out,
    unsigned seen)
{
	char trace[sizeof(out->trace)];
	struct cap_pool *p;

	if (!host_fits(h, n))
		return false;
	trace[0] = '\0';
	p = n->pool_id ? placed_pool(c, h, n, trace, sizeof(trace)) :
	    storage_chain(c, h, n, trace, sizeof(trace));
	if (!p)
		return false;
	out->host = h;
	out->pool = p;
	out->hosts_seen = seen;
	memcpy(out->trace, trace, sizeof(trace));
	return true;
}

int
planner_place(struct capacity *c, const struct cap_need *n, struct plan *out)
{
	struct cap_host *pref;
	size_t k, start;

	if (c->nhosts == 0)
		return -ENOSPC;
	if (n->prefer_host_id && (pref = capacity_host(c, n->prefer_host_id)) &&
	    try_host(c, pref, n, out, 1))
		return 0;
	start = (size_t)(atomic_fetch_add(&c->cursor, 1) % c->nhosts);
	for (k = 0; k < c->nhosts; k++)
		if (try_host(c, &c->hosts[(start + k) % c->nhosts], n, out, (unsigned)(k + 1)))
			return 0;
	return -ENOSPC;
}
