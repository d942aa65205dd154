/* capacity.c: the hosts' and pools' capacity snapshot and the conditional
 * claims that keep concurrent deployments from over-committing a host. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "log.h"

static int
cmp_id(const void *key, const void *elem, size_t off)
{
	int64_t a = *(const int64_t *)key, b = *(const int64_t *)((const char *)elem + off);

	return (a > b) - (a < b);
}

static int
cmp_host(const void *k, const void *e)
{
	return cmp_id(k, e, offsetof(struct cap_host, id));
}

static int
cmp_pool(const void *k, const void *e)
{
	return cmp_id(k, e, offsetof(struct cap_pool, id));
}

struct cap_host *
capacity_host(struct capacity *c, int64_t id)
{
	return bsearch(&id, c->hosts, c->nhosts, sizeof(*c->hosts), cmp_host);
}

struct cap_pool *
capacity_pool(struct capacity *c, int64_t id)
{
	return bsearch(&id, c->pools, c->npools, sizeof(*c->pools), cmp_pool);
}

static int
fill_host(void *el, struct db_st *st, void *arg)
{
	struct cap_host *h = el;

	(void)arg;
	h->id = db_col_int(st, 0);
	h->cluster_id = db_col_int(st, 1);
	h->pod_id = db_col_int(st, 2);
	h->zone_id = db_col_int(st, 3);
	snprintf(h->uuid, sizeof(h->uuid), "%s", db_text(st, 4));
	snprintf(h->name, sizeof(h->name), "%s", db_text(st, 5));
	snprintf(h->uri, sizeof(h->uri), "%s", db_text(st, 6));
	h->cpu_total_mhz = db_col_int(st, 7);
	h->ram_total_mib = db_col_int(st, 8);
	atomic_init(&h->cpu_used_mhz, db_col_int(st, 9));
	atomic_init(&h->ram_used_mib, db_col_int(st, 10));
	snprintf(h->api_id, sizeof(h->api_id), "%s", db_text(st, 11));
	return 0;
}

static int
fill_pool(void *el, struct db_st *st, void *arg)
{
	struct cap_pool *p = el;

	(void)arg;
	p->id = db_col_int(st, 0);
	p->zone_id = db_col_int(st, 1);
	p->cluster_id = db_col_int(st, 2);
	p->host_id = db_col_int(st, 3);
	snprintf(p->uuid, sizeof(p->uuid), "%s", db_text(st, 4));
	snprintf(p->name, sizeof(p->name), "%s", db_text(st, 5));
	snprintf(p->scope, sizeof(p->scope), "%s", db_text(st, 6));
	snprintf(p->path, sizeof(p->path), "%s", db_text(st, 7));
	p->capacity_bytes = db_col_int(st, 8);
	atomic_init(&p->used_bytes, db_col_int(st, 9));
	return 0;
}

/* Each host's candidate pools in allocator-chain order.  Cluster and zone
 * pools are few; host-local pools are found through their host. */
static int
link_pools(struct capacity *c)
{
	size_t i, j, nshared = 0;
	struct cap_host *h;

	for (j = 0; j < c->npools; j++)
		if (strcmp(c->pools[j].scope, "host"))
			nshared++;
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		if (!(h->pools = calloc(nshared + 1, sizeof(*h->pools))))
			return -ENOMEM;
	}
	for (j = 0; j < c->npools; j++) {
		struct cap_pool *p = &c->pools[j];

		if (strcmp(p->scope, "host") || !(h = capacity_host(c, p->host_id)))
			continue;
		if (h->nlocal == 0) {
			h->pools[h->npools++] = (uint32_t)j;
			h->nlocal++;
		} /* more than one local pool per host: the first one serves */
	}
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		for (j = 0; j < c->npools; j++)
			if (!strcmp(c->pools[j].scope, "cluster") &&
			    c->pools[j].cluster_id == h->cluster_id) {
				h->pools[h->npools++] = (uint32_t)j;
				h->ncluster++;
			}
		for (j = 0; j < c->npools; j++)
			if (!strcmp(c->pools[j].scope, "zone") && c->pools[j].zone_id == h->zone_id)
				h->pools[h->npools++] = (uint32_t)j;
	}
	return 0;
}

int
capacity_load(struct db *d, struct capacity *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	db_lock(d);
	r = db_load_rows(d, "SELECT id, cluster_id, pod_id, zone_id, uuid, name, uri,"
	    " cpu_total_mhz, ram_total_mib, cpu_used_mhz, ram_used_mib, api_id FROM host ORDER BY id",
	    &c->hosts, &c->nhosts, sizeof(*c->hosts), fill_host, NULL);
	if (r == 0)
		r = db_load_rows(d, "SELECT id, zone_id, COALESCE(cluster_id, 0),"
		    " COALESCE(host_id, 0), uuid, name, scope, path, capacity_bytes, used_bytes"
		    " FROM pool ORDER BY id", &c->pools, &c->npools, sizeof(*c->pools), fill_pool,
		    NULL);
	db_unlock(d);
	if (r == 0)
		r = link_pools(c);
	if (r < 0)
		capacity_free(c);
	return r;
}

void
capacity_free(struct capacity *c)
{
	size_t i;

	for (i = 0; i < c->nhosts; i++)
		free(c->hosts[i].pools);
	free(c->hosts);
	free(c->pools);
	memset(c, 0, sizeof(*c));
}

/* Re-reads a host's or a pool's used values (id 0: not that one) after a
 * lost claim. */
static void
refresh(struct db *d, struct capacity *c, int64_t host_id, int64_t pool_id)
{
	static const char sql[] = "SELECT (SELECT cpu_used_mhz FROM host WHERE id = ?1),"
				  " (SELECT ram_used_mib FROM host WHERE id = ?1),"
				  " (SELECT used_bytes FROM pool WHERE id = ?2)";
	struct db_st *st = db_stmt(d, sql);
	struct cap_host *h = capacity_host(c, host_id);
	struct cap_pool *p = capacity_pool(c, pool_id);

	if (!st)
		return;
	db_bind_int(st, 1, host_id);
	db_bind_int(st, 2, pool_id);
	if (db_step(st) == DB_ROW) {
		if (h) {
			atomic_store(&h->cpu_used_mhz, db_col_int(st, 0));
			atomic_store(&h->ram_used_mib, db_col_int(st, 1));
		}
		if (p)
			atomic_store(&p->used_bytes, db_col_int(st, 2));
	}
	db_reset(st);
}

int
capacity_refresh_all(struct db *d, struct capacity *c)
{
	struct db_st *st;
	struct cap_host *h;
	struct cap_pool *p;
	int rc;

	if (!(st = db_stmt(d, "SELECT id, cpu_used_mhz, ram_used_mib FROM host")))
		return -EIO;
	while ((rc = db_step(st)) == DB_ROW)
		if ((h = capacity_host(c, db_col_int(st, 0)))) {
			atomic_store(&h->cpu_used_mhz, db_col_int(st, 1));
			atomic_store(&h->ram_used_mib, db_col_int(st, 2));
		}
	db_reset(st);
	if (rc < 0)
		return rc;
	if (!(st = db_stmt(d, "SELECT id, used_bytes FROM pool")))
		return -EIO;
	while ((rc = db_step(st)) == DB_ROW)
		if ((p = capacity_pool(c, db_col_int(st, 0))))
			atomic_store(&p->used_bytes, db_col_int(st, 1));
	db_reset(st);
	return rc < 0 ? rc : 0;
}

int
capacity_claim(struct db *d, struct capacity *c, int64_t host_id, int64_t pool_id,
    const struct cap_need *n)
{
	static const char sql_host[] =
	    "UPDATE host SET cpu_used_mhz = cpu_used_mhz + ?2, ram_used_mib = ram_used_mib + ?3"
	    " WHERE id = ?1 AND cpu_used_mhz + ?2 <= cpu_total_mhz"
	    " AND ram_used_mib + ?3 <= ram_total_mib";
	static const char sql_pool[] =
	    "UPDATE pool SET used_bytes = used_bytes + ?2"
	    " WHERE id = ?1 AND used_bytes + ?2 <= capacity_bytes";
	struct db_st *st;
	int r;

	if (!(st = db_stmt(d, sql_host)))
		return -EIO;
	db_bind_int(st, 1, host_id);
	db_bind_int(st, 2, n->cpu_mhz);
	db_bind_int(st, 3, n->ram_mib);
	if ((r = db_step_done(d, st)) < 0)
		return r;
	if (db_changes(d) != 1) {
		refresh(d, c, host_id, 0);
		goto lost;
	}
	if (!(st = db_stmt(d, sql_pool)))
		return -EIO;
	db_bind_int(st, 1, pool_id);
	db_bind_int(st, 2, n->disk_bytes);
	if ((r = db_step_done(d, st)) < 0)
		return r;
	if (db_changes(d) != 1) {
		refresh(d, c, 0, pool_id); /* the host's claim is rolled back by the caller */
		goto lost;
	}
	return 0;
lost:
	atomic_fetch_add(&c->conflicts, 1);
	return -EAGAIN;
}

int
capacity_release(struct db *d, struct capacity *c, int64_t host_id, int64_t pool_id,
    const struct cap_need *n)
{
	static const char sql_host[] =
	    "UPDATE host SET cpu_used_mhz = cpu_used_mhz - ?2, ram_used_mib = ram_used_mib - ?3"
	    " WHERE id = ?1";
	static const char sql_pool[] = "UPDATE pool SET used_bytes = used_bytes - ?2 WHERE id = ?1";
	struct db_st *st;
	int r;

	(void)c;
	if (!(st = db_stmt(d, sql_host)))
		return -EIO;
	db_bind_int(st, 1, host_id);
	db_bind_int(st, 2, n->cpu_mhz);
	db_bind_int(st, 3, n->ram_mib);
	if ((r = db_step_done(d, st)) < 0)
		return r;
	if (!(st = db_stmt(d, sql_pool)))
		return -EIO;
	db_bind_int(st, 1, pool_id);
	db_bind_int(st, 2, n->disk_bytes);
	return db_step_done(d, st);
}

void
capacity_apply(struct capacity *c, int64_t host_id, int64_t pool_id, const struct cap_need *n,
    int sign)
{
	struct cap_host *h = capacity_host(c, host_id);
	struct cap_pool *p = capacity_pool(c, pool_id);

	if (h) {
		atomic_fetch_add(&h->cpu_used_mhz, sign * n->cpu_mhz);
		atomic_fetch_add(&h->ram_used_mib, sign * n->ram_mib);
	}
	if (p)
		atomic_fetch_add(&p->used_bytes, sign * n->disk_bytes);
}
