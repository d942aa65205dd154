/* inventory.h: the inventory file `vr-manager init --inventory` loads
 * (format: docs/manager.md): a pure, bounded parser and the loader that
 * writes a parsed inventory into the database in one transaction. */
#ifndef VRM_INVENTORY_H
#define VRM_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define INV_LEN_MAX (64u * 1024 * 1024)
#define INV_ITEMS_MAX 100000u /* per section */
#define INV_ID_MAX 64
#define INV_NAME_MAX 255
#define INV_PATH_MAX 1024
#define INV_KEY_MAX 255

struct inv_zone { char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1]; };
struct inv_pod { char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1], zone[INV_ID_MAX + 1]; };
struct inv_cluster { char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1], pod[INV_ID_MAX + 1]; };
struct inv_host {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1], cluster[INV_ID_MAX + 1];
	char uri[INV_PATH_MAX + 1];
	uint64_t cpu_cores, cpu_mhz, ram_mib;
	double cpu_overprov, ram_overprov;
};
struct inv_pool {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1];
	char scope[8];             /* host, cluster, zone */
	char owner[INV_ID_MAX + 1]; /* the host, cluster or zone of that scope */
	char path[INV_PATH_MAX + 1];
	uint64_t capacity_bytes;
};
struct inv_secondary { char id[INV_ID_MAX + 1], zone[INV_ID_MAX + 1], path[INV_PATH_MAX + 1]; };
struct inv_template {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1], secondary[INV_ID_MAX + 1];
	char format[8];                /* raw, qcow2 */
	char path[INV_PATH_MAX + 1];   /* relative to the secondary storage */
	uint64_t size;                 /* virtual size in bytes */
};
struct inv_offering {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1];
	uint64_t cpu_count, cpu_mhz, ram_mib;
	bool local_storage;
};
struct inv_network {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1], zone[INV_ID_MAX + 1];
	uint32_t net, gateway;
	int prefix;
	char dns[INV_NAME_MAX + 1], domain[INV_NAME_MAX + 1];
	char vr_url[INV_PATH_MAX + 1], vr_token[INV_KEY_MAX + 1];
	char bridge[16];
	uint64_t vlan;
};
enum inv_limit { INV_LIM_VM, INV_LIM_CPU, INV_LIM_MEMORY, INV_LIM_VOLUME, INV_LIM_STORAGE,
	INV_LIM_N };
extern const char *const inv_limit_names[INV_LIM_N];
struct inv_account {
	char id[INV_ID_MAX + 1], name[INV_NAME_MAX + 1];
	char api_key[INV_KEY_MAX + 1], secret_key[INV_KEY_MAX + 1];
	bool admin; /* role "admin": may list hosts and capacity */
	int64_t limit[INV_LIM_N]; /* -1: none */
};

#define INV_SECTIONS(X) \
	X(zones, struct inv_zone) X(pods, struct inv_pod) X(clusters, struct inv_cluster) \
	X(hosts, struct inv_host) X(pools, struct inv_pool) X(secondary, struct inv_secondary) \
	X(templates, struct inv_template) X(offerings, struct inv_offering) \
	X(networks, struct inv_network) X(accounts, struct inv_account)

struct inventory {
#define INV_FIELD(name, type) type *name; size_t n_##name;
	INV_SECTIONS(INV_FIELD)
#undef INV_FIELD
};

/* Parses and checks an inventory (pure).  Unknown keys are errors, so a
 * typo never goes unnoticed.  Returns 0 with *out (free with
 * inventory_free), -EINVAL with "section[i].key: reason" in err, -E2BIG,
 * -ENOMEM. */
int inventory_parse(const char *buf, size_t len, struct inventory **out, char *err,
    size_t errlen);
void inventory_free(struct inventory *inv);
/* Writes the inventory into the database in one transaction, resolving
 * references by id.  Returns 0, or a negative errno (-EEXIST for an id that
 * is already there, -ENOENT for a reference to nothing) with err set. */
int inventory_store(struct db *d, const struct inventory *inv, char *err, size_t errlen);

#endif
