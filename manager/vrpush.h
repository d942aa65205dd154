/* vrpush.h: network prep: the VM's dhcpentry, vmpassword and vmdata as one
 * batch for its network's vrd (and the removal batch), rendered purely and
 * sent over the control channel. */
#ifndef VRM_VRPUSH_H
#define VRM_VRPUSH_H

#include <stdbool.h>

#include "buf.h"
#include "vrconn.h"

struct vr_vm {
	const char *hostname, *ip, *mac, *gateway, *dns;
	const char *password;      /* "" or NULL: no vmpassword command */
	const char *userdata_b64;  /* "" or NULL: none */
	const char *ssh_key;       /* "" or NULL: none */
	const char *uuid, *zone_name, *offering_name, *host_name;
};

/* The JSON array vrd's POST /v1/commands takes.  remove: the one
 * dhcpentry with remove=true, which makes vrd drop the VM's entry, metadata
 * and pending password.  Returns 0, -EINVAL (a missing field) or -ENOMEM. */
int vr_batch_render(const struct vr_vm *v, bool remove, struct buf *out);

/* How long past its timeout a batch's connection is kept for vrd's answer
 * (vrconn_post's settle_s): only then may the next batch for that VM, its
 * removal by a job's undo, be sent, so that it lands after it. */
#define VR_SETTLE_S 120

/* Sends a batch to vrd at url with the bearer token, on one of pool's
 * kept-alive connections (vrconn.h), and returns only once vrd's outcome
 * for it is known (up to VR_SETTLE_S past timeout_s).  Returns 0 once vrd
 * has applied it (200 within timeout_s), -EINVAL for a bad URL,
 * -EHOSTUNREACH when vrd cannot be reached or does not answer in timeout_s
 * (it answered or closed the connection later), -ETIMEDOUT when its outcome
 * is still unknown VR_SETTLE_S later (vrd may apply it yet), -EIO for any
 * other answer; err says which, with vrd's error text. */
int vr_push(struct vrconn_pool *pool, const char *url, const char *token,
    const struct buf *batch, int timeout_s, char *err, size_t errlen);

#endif
