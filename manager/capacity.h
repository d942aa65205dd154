/* capacity.h: the planner's snapshot of hosts and primary storage pools
 * (loaded once, used values kept current), and the reservation that claims
 * capacity with a conditional update in the database: a deployment plans
 * from the snapshot without locks, and re-plans when its claim loses. */
#ifndef VRM_CAPACITY_H
#define VRM_CAPACITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct cap_host {
	int64_t id, cluster_id, pod_id, zone_id;
	char uuid[65], api_id[37], name[256], uri[1025];
	int64_t cpu_total_mhz, ram_total_mib;
	_Atomic int64_t cpu_used_mhz, ram_used_mib;
	uint32_t *pools;  /* candidate pools, in allocator order: local, cluster, zone */
	uint32_t npools;
	uint32_t nlocal, ncluster; /* how many of pools[] are local, then cluster-wide */
};

struct cap_pool {
	int64_t id, zone_id, cluster_id, host_id;
	char uuid[65], name[256], scope[8], path[1025];
	int64_t capacity_bytes;
	_Atomic int64_t used_bytes;
};

struct capacity {
	struct cap_host *hosts;
	size_t nhosts;
	struct cap_pool *pools;
	size_t npools;
	_Atomic uint64_t cursor;  /* where the next plan starts looking */
	_Atomic uint64_t conflicts; /* claims that lost and re-planned */
};

/* Loads hosts and pools.  Returns 0 or -errno (caller holds no lock). */
int capacity_load(struct db *d, struct capacity *c);
void capacity_free(struct capacity *c);
struct cap_host *capacity_host(struct capacity *c, int64_t id);
struct cap_pool *capacity_pool(struct capacity *c, int64_t id);

/* What a VM needs. */
struct cap_need {
	int64_t zone_id;
	int64_t cpu_mhz;   /* cpu count x MHz */
	int64_t ram_mib;
	int64_t disk_bytes;
	int64_t pool_id;        /* nonzero: the volume is on this pool; hosts must reach it */
	int64_t prefer_host_id; /* nonzero: tried first (the host the VM last ran on) */
	bool local;        /* the offering wants host-local storage */
};

/* Claims cpu/ram on the host and disk on the pool inside the caller's
 * transaction (caller holds the db lock): the updates only apply while the
 * room is still there.  Returns 0, -EAGAIN when another claim won (the
 * snapshot is refreshed from the database), or -errno.  On any error the
 * caller rolls its transaction back. */
int capacity_claim(struct db *d, struct capacity *c, int64_t host_id, int64_t pool_id,
    const struct cap_need *n);
/* Gives back a claim (inside the caller's transaction). */
int capacity_release(struct db *d, struct capacity *c, int64_t host_id, int64_t pool_id,
    const struct cap_need *n);
/* Applies a committed claim (sign +1) or release (-1) to the snapshot.
 * Call it under the db lock, as the refresh after a lost claim runs there. */
/* Re-reads every host's and pool's used values from the database, where
 * other managers on it claim and release too; the caller holds the db
 * lock.  0 or -errno (the snapshot partly refreshed). */
int capacity_refresh_all(struct db *d, struct capacity *c);
void capacity_apply(struct capacity *c, int64_t host_id, int64_t pool_id,
    const struct cap_need *n, int sign);

#endif
