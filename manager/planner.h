/* planner.h: deployment planning over the capacity snapshot: hosts with
 * enough free CPU and RAM (capacity x over-provisioning - used), then the
 * storage allocator chain local -> cluster -> zone. */
#ifndef VRM_PLANNER_H
#define VRM_PLANNER_H

#include "capacity.h"

struct plan {
	struct cap_host *host;
	struct cap_pool *pool;
	char trace[160]; /* e.g. "local: skip, cluster: none, zone: found ps1" */
	unsigned hosts_seen;
};

/* Picks a destination.  Hosts are tried from a rotating start, so parallel
 * deployments spread instead of racing for one host; n->prefer_host_id
 * first when set.  With n->pool_id, only hosts that reach that pool (the
 * VM's existing volume) qualify and it is the plan's pool.  Lock-free: reads the
 * snapshot only.  Returns 0, or -ENOSPC when no host and pool have room. */
int planner_place(struct capacity *c, const struct cap_need *n, struct plan *out);

#endif
