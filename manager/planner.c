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

int
planner_place(struct capacity *c, const struct cap_need *n, struct plan *out)
{
	size_t k, start;
	char trace[sizeof(out->trace)];

	if (c->nhosts == 0)
		return -ENOSPC;
	start = (size_t)(atomic_fetch_add(&c->cursor, 1) % c->nhosts);
	for (k = 0; k < c->nhosts; k++) {
		struct cap_host *h = &c->hosts[(start + k) % c->nhosts];
		struct cap_pool *p;

		if (!host_fits(h, n))
			continue;
		trace[0] = '\0';
		if (!(p = storage_chain(c, h, n, trace, sizeof(trace))))
			continue;
		out->host = h;
		out->pool = p;
		out->hosts_seen = (unsigned)(k + 1);
		memcpy(out->trace, trace, sizeof(trace));
		return 0;
	}
	return -ENOSPC;
}
