/* apply.h: the batch pipeline, from a parsed batch to its durable reply and
 * dnsmasq's signal, with the group commit; and the steps vrd also takes at
 * start (the guest interfaces, the address bindings, dnsmasq's SIGHUP). */
#ifndef VRD_APPLY_H
#define VRD_APPLY_H

#include <stdint.h>
#include <time.h>

#include "cmd.h"
#include "vrd.h"

/* Applies the batch and makes it durable, with the batches queued beside it
 * (group commit): the first thread to find no commit running commits every
 * batch queued by then, the others wait for it.  start is the request's
 * arrival (the latency histogram).  Returns 0 with *gen, or a negative errno
 * with err set (status, index, field, message); a failed batch changes
 * nothing. */
int apply_batch(struct vrd *v, const struct cmd_batch *b, const struct timespec *start,
    uint64_t *gen, struct cmd_error *err);
/* Brings the guest interfaces in line with the networks (at start, and after
 * a batch that changed them).  Returns 0 or the first negative errno. */
int apply_links_sync(struct vrd *v, const struct net *before, size_t nbefore);
/* Rebuilds the address bindings from the state; on failure logs, counts and
 * leaves them marked for a rebuild at the next batch. */
void apply_guard_sync(struct vrd *v);
/* Signals dnsmasq after its files changed; logs when it is not running. */
void apply_dnsmasq_reload(struct vrd *v);

#endif
