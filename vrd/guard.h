/* guard.h: each VM's IPv4 bound to the MAC of its dhcpentry on the guest
 * interfaces, so that no guest can answer for, or ask as, another.
 *
 * Two kernel mechanisms, both rebuilt from the state at start and changed by
 * the batch that changes the entries:
 * - a permanent neighbour entry per VM (libnl-route-3): gratuitous ARP can
 *   no longer repoint the router's replies to another MAC;
 * - the nftables table "inet vrd_guard" (built whole by libnftables; a
 *   batch's set elements through libnftnl, one transaction per batch): traffic from a guest interface to the router whose source IPv4
 *   and Ethernet source are not a binding is refused; DHCP must carry the
 *   frame's own MAC as client hardware address, that MAC must be bound,
 *   and a DECLINE must name the sender's own address (docs/vrd.md). */
#ifndef VRD_GUARD_H
#define VRD_GUARD_H

#include <stddef.h>

#include "buf.h"
#include "model.h"
#include "txn.h"

#define GUARD_TABLE "vrd_guard"

struct guard;

/* Returns 0 or a negative errno (err says why). */
int guard_open(struct guard **out, char *err, size_t errlen);
void guard_close(struct guard *g);
/* Replaces the table and the neighbour entries with what st holds.
 * Returns 0 or a negative errno (err says why). */
int guard_sync(struct guard *g, const struct state *st, char *err, size_t errlen);
/* Applies the changes of a batch that did not change the guest networks:
 * one nftables transaction, then the neighbour entries.  On failure nothing
 * of it stays.  Returns 0 or a negative errno (err says why). */
int guard_apply(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    char *err, size_t errlen);
/* Undoes a guard_apply of the same changes (the batch was not stored). */
int guard_revert(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    char *err, size_t errlen);

/* The nftables script that builds the table for st (exposed for the unit
 * test).  Returns 0 or -ENOMEM. */
int guard_script(const struct state *st, struct buf *b);

#endif
