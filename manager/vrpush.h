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

/* Sends a batch to vrd at url with the bearer token, on one of pool's
 * kept-alive connections (vrconn.h).  Returns 0 once vrd has applied it
 * (200), -EINVAL for a bad URL, -EHOSTUNREACH when vrd cannot be reached
 * or does not answer in timeout_s, -EIO for any other answer; err says
 * which, with vrd's error text. */
int vr_push(struct vrconn_pool *pool, const char *url, const char *token,
    const struct buf *batch, int timeout_s, char *err, size_t errlen);

#endif
