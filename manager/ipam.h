/* ipam.h: guest IP addresses: one bitmap per guest network, loaded from
 * the NICs in the database, handing out the lowest free host address. */
#ifndef VRM_IPAM_H
#define VRM_IPAM_H

#include <pthread.h>
#include <stdint.h>

#include "db.h"

struct ipam_net {
	int64_t id;
	uint32_t net, gateway, size; /* size: addresses in the network */
	int prefix;
	uint8_t *used;               /* bit per address; network, gateway, broadcast set */
	uint32_t free;
};

struct ipam {
	struct ipam_net *nets;
	size_t n;
	pthread_mutex_t mu;
};

/* Loads every network and marks its NICs' addresses.  0 or -errno. */
int ipam_load(struct db *d, struct ipam *a);
void ipam_destroy(struct ipam *a);
/* The lowest free address of a network from offset start on (0: the
 * lowest of all; wraps around): 0, -ENOENT (no such network) or -ENOSPC
 * (full). */
int ipam_alloc(struct ipam *a, int64_t net_id, uint32_t start, uint32_t *ip);
/* Marks the addresses the database's NICs hold on a network (other managers
 * on the database hand out addresses too); the caller holds d's lock.
 * 0 or -errno. */
int ipam_mark_taken(struct ipam *a, struct db *d, int64_t net_id);
/* Gives an address back (no-op when it is not in use). */
void ipam_release(struct ipam *a, int64_t net_id, uint32_t ip);

#endif
