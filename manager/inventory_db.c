/* inventory_db.c: writes a parsed inventory into the database in one
 * transaction, resolving every reference by id (or failing with its name). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inventory.h"

static const char SQL_ZONE[] = "SELECT id FROM zone WHERE uuid = ?";
static const char SQL_POD[] = "SELECT id, zone_id FROM pod WHERE uuid = ?";
static const char SQL_CLUSTER[] = "SELECT id, pod_id, zone_id FROM cluster WHERE uuid = ?";
static const char SQL_HOST[] = "SELECT id, cluster_id, zone_id FROM host WHERE uuid = ?";
static const char SQL_SECONDARY[] = "SELECT id, zone_id FROM secondary WHERE uuid = ?";

#define REF(sql, sect, i, key, val, cols)                                                   \
	do {                                                                                   \
		if ((r = db_ints_by_text(d, sql, val, cols, 3)) < 0) {                                         \
			snprintf(err, errlen, "%s[%zu].%s: %s \"%s\"", sect, i, key,               \
			    r == -ENOENT ? "unknown" : "cannot look up", val);                     \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)
#define INS(sect, i, id, ...)                                                               \
	do {                                                                                   \
		if ((r = db_run(d, __VA_ARGS__)) < 0) {                                            \
			snprintf(err, errlen, "%s[%zu] \"%s\": %s", sect, i, id,                   \
			    r == -EEXIST ? "id already in the database" : db_errmsg(d));           \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static int
store_topology(struct db *d, const struct inventory *inv, char *err, size_t errlen)
{
	int64_t c[3] = { 0 };
	size_t i;
	int r = 0;

	for (i = 0; i < inv->n_zones; i++)
		INS("zones", i, inv->zones[i].id, "INSERT INTO zone (uuid, name) VALUES (?, ?)",
		    "ss", inv->zones[i].id, inv->zones[i].name);
	for (i = 0; i < inv->n_pods; i++) {
		REF(SQL_ZONE, "pods", i, "zone", inv->pods[i].zone, c);
		INS("pods", i, inv->pods[i].id,
		    "INSERT INTO pod (uuid, name, zone_id) VALUES (?, ?, ?)", "ssi",
		    inv->pods[i].id, inv->pods[i].name, c[0]);
	}
	for (i = 0; i < inv->n_clusters; i++) {
		REF(SQL_POD, "clusters", i, "pod", inv->clusters[i].pod, c);
		INS("clusters", i, inv->clusters[i].id,
		    "INSERT INTO cluster (uuid, name, pod_id, zone_id) VALUES (?, ?, ?, ?)", "ssii",
		    inv->clusters[i].id, inv->clusters[i].name, c[0], c[1]);
	}
	for (i = 0; i < inv->n_hosts; i++) {
		const struct inv_host *h = &inv->hosts[i];

		REF(SQL_CLUSTER, "hosts", i, "cluster", h->cluster, c);
		INS("hosts", i, h->id,
		    "INSERT INTO host (uuid, name, cluster_id, pod_id, zone_id, uri, cpu_cores,"
		    " cpu_mhz, ram_mib, cpu_overprov, ram_overprov, cpu_total_mhz, ram_total_mib)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ssiiisiiiddii", h->id,
		    h->name, c[0], c[1], c[2], h->uri, (int64_t)h->cpu_cores, (int64_t)h->cpu_mhz,
		    (int64_t)h->ram_mib, h->cpu_overprov, h->ram_overprov,
		    (int64_t)((double)(h->cpu_cores * h->cpu_mhz) * h->cpu_overprov),
		    (int64_t)((double)h->ram_mib * h->ram_overprov));
	}
out:
	return r;
}

static int
store_pools(struct db *d, const struct inventory *inv, char *err, size_t errlen)
{
	int64_t c[3] = { 0 }, zone, cluster, host;
	static const char sql[] = "INSERT INTO pool (uuid, name, scope, zone_id, cluster_id,"
				  " host_id, path, capacity_bytes) VALUES (?, ?, ?, ?, NULLIF(?, 0),"
				  " NULLIF(?, 0), ?, ?)";
	size_t i;
	int r = 0;

	for (i = 0; i < inv->n_pools; i++) {
		const struct inv_pool *p = &inv->pools[i];

		cluster = host = 0;
		if (!strcmp(p->scope, "host")) {
			REF(SQL_HOST, "pools", i, "host", p->owner, c);
			host = c[0], cluster = c[1], zone = c[2];
		} else if (!strcmp(p->scope, "cluster")) {
			REF(SQL_CLUSTER, "pools", i, "cluster", p->owner, c);
			cluster = c[0], zone = c[2];
		} else {
			REF(SQL_ZONE, "pools", i, "zone", p->owner, c);
			zone = c[0];
		}
		INS("pools", i, p->id, sql, "sssiiisi", p->id, p->name, p->scope, zone, cluster,
		    host, p->path, (int64_t)p->capacity_bytes);
	}
	for (i = 0; i < inv->n_secondary; i++) {
		REF(SQL_ZONE, "secondary", i, "zone", inv->secondary[i].zone, c);
		INS("secondary", i, inv->secondary[i].id,
		    "INSERT INTO secondary (uuid, zone_id, path) VALUES (?, ?, ?)", "sis",
		    inv->secondary[i].id, c[0], inv->secondary[i].path);
	}
	for (i = 0; i < inv->n_templates; i++) {
		const struct inv_template *t = &inv->templates[i];

		REF(SQL_SECONDARY, "templates", i, "secondary", t->secondary, c);
		INS("templates", i, t->id,
		    "INSERT INTO template (uuid, name, zone_id, secondary_id, format, path, size)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?)", "ssiissi", t->id, t->name, c[1], c[0],
		    t->format, t->path, (int64_t)t->size);
	}
out:
	return r;
}

static int
store_tenancy(struct db *d, const struct inventory *inv, char *err, size_t errlen)
{
	int64_t c[3] = { 0 }, acct;
	size_t i;
	int r = 0, k;

	for (i = 0; i < inv->n_offerings; i++) {
		const struct inv_offering *f = &inv->offerings[i];

		INS("offerings", i, f->id,
		    "INSERT INTO offering (uuid, name, cpu_count, cpu_mhz, ram_mib, local_storage)"
		    " VALUES (?, ?, ?, ?, ?, ?)", "ssiiii", f->id, f->name, (int64_t)f->cpu_count,
		    (int64_t)f->cpu_mhz, (int64_t)f->ram_mib, (int64_t)f->local_storage);
	}
	for (i = 0; i < inv->n_networks; i++) {
		const struct inv_network *n = &inv->networks[i];

		REF(SQL_ZONE, "networks", i, "zone", n->zone, c);
		INS("networks", i, n->id,
		    "INSERT INTO network (uuid, name, zone_id, net, prefix, gateway, dns, domain,"
		    " vr_url, vr_token, bridge, vlan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    "ssiiiisssssi", n->id, n->name, c[0], (int64_t)n->net, (int64_t)n->prefix,
		    (int64_t)n->gateway, n->dns, n->domain, n->vr_url, n->vr_token, n->bridge,
		    (int64_t)n->vlan);
	}
	for (i = 0; i < inv->n_accounts; i++) {
		const struct inv_account *a = &inv->accounts[i];

		INS("accounts", i, a->id,
		    "INSERT INTO account (uuid, name, api_key, secret_key, role)"
		    " VALUES (?, ?, ?, ?, ?)", "sssss", a->id, a->name, a->api_key, a->secret_key,
		    a->admin ? "admin" : "user");
		acct = db_last_id(d);
		for (k = 0; k < INV_LIM_N; k++)
			INS("accounts", i, a->id,
			    "INSERT INTO resource_count (account_id, type, max) VALUES (?, ?, ?)",
			    "isi", acct, inv_limit_names[k], a->limit[k]);
	}
out:
	return r;
}

int
inventory_store(struct db *d, const struct inventory *inv, char *err, size_t errlen)
{
	int r;

	db_lock(d);
	if ((r = db_begin(d)) < 0) {
		snprintf(err, errlen, "cannot begin a transaction: %s", db_errmsg(d));
		goto out;
	}
	if ((r = store_topology(d, inv, err, errlen)) < 0 ||
	    (r = store_pools(d, inv, err, errlen)) < 0 ||
	    (r = store_tenancy(d, inv, err, errlen)) < 0) {
		db_rollback(d);
		goto out;
	}
	if ((r = db_commit(d)) < 0)
		snprintf(err, errlen, "commit: %s", db_errmsg(d));
out:
	db_unlock(d);
	return r;
}
