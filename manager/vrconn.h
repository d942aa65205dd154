/* vrconn.h: vr-manager's HTTP connections to the VRs (libcurl): kept
 * alive and reused across requests and worker threads, one pool for all
 * VRs. */
#ifndef VRM_VRCONN_H
#define VRM_VRCONN_H

#include <stddef.h>

#include "buf.h"

/* Idle connections kept, over all VRs; more in use at once are opened and
 * closed as needed. */
#define VRCONN_IDLE_MAX 64
/* The largest answer read from a VR. */
#define VRCONN_RESPONSE_MAX (1024 * 1024)

struct vrconn_pool;

/* Per-pool counters, for tests and the benchmark. */
struct vrconn_stats {
	unsigned long requests, connects; /* connects: new TCP connections */
	unsigned long late;    /* went on past their timeout_s */
	unsigned long waiting; /* past timeout_s now, waiting for their outcome */
};

/* A pool with no connection yet.  0, -ENOMEM or -EIO (libcurl would not
 * initialise). */
int vrconn_pool_new(struct vrconn_pool **out);
/* Closes every idle connection; none may be in use.  NULL-safe. */
void vrconn_pool_free(struct vrconn_pool *p);

/* POSTs body (len bytes, JSON) to url (http://host[:port]) + path with
 * "Authorization: Bearer token", on an idle kept-alive connection to that
 * VR when there is one (libcurl reconnects once if the VR closed it before
 * answering: vrd's batches are idempotent).  Fills *status and appends the
 * body to resp.
 *
 * A request vrd has not answered within timeout_s may still be applied
 * later (it is in vrd's socket or queue), and vrd may apply requests on
 * different connections in either order: so its connection is kept up to
 * settle_s seconds more for vrd's answer, or for vrd closing it (vrd gone:
 * the request can no longer be applied).  Whatever the caller sends next,
 * e.g. the undo of that request, then lands after it.
 *
 * Returns 0 (answered within timeout_s), -ETIME (answered or closed only
 * after timeout_s, within timeout_s + settle_s: the outcome is known, and
 * *status is vrd's answer or 0 when it closed the connection),
 * -ETIMEDOUT (no outcome within timeout_s + settle_s: the request may
 * still be applied later), -ECONNREFUSED, -EHOSTUNREACH (no connection
 * within timeout_s, resolution or any other transport error),
 * -EFBIG (answer past VRCONN_RESPONSE_MAX), -EINVAL (a bad URL) or
 * -ENOMEM; err (when errlen > 0) gets libcurl's text of a transport error. */
int vrconn_post(struct vrconn_pool *p, const char *url, const char *path, const char *token,
    const char *body, size_t len, int timeout_s, int settle_s, int *status, struct buf *resp,
    char *err, size_t errlen);

void vrconn_stats(struct vrconn_pool *p, struct vrconn_stats *out);

#endif
