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
};

/* A pool with no connection yet.  0, -ENOMEM or -EIO (libcurl would not
 * initialise). */
int vrconn_pool_new(struct vrconn_pool **out);
/* Closes every idle connection; none may be in use.  NULL-safe. */
void vrconn_pool_free(struct vrconn_pool *p);

/* POSTs body (len bytes, JSON) to url (http://host[:port]) + path with
 * "Authorization: Bearer token", on an idle kept-alive connection to that
 * VR when there is one (libcurl reconnects once if the VR closed it before
 * answering: vrd's batches are idempotent), within timeout_s.  Fills
 * *status and appends the body to resp.  Returns 0, -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH (resolution or any other transport error),
 * -EFBIG (answer past VRCONN_RESPONSE_MAX), -EINVAL (a bad URL) or
 * -ENOMEM; err (when errlen > 0) gets libcurl's text of a transport error. */
int vrconn_post(struct vrconn_pool *p, const char *url, const char *path, const char *token,
    const char *body, size_t len, int timeout_s, int *status, struct buf *resp, char *err,
    size_t errlen);

void vrconn_stats(struct vrconn_pool *p, struct vrconn_stats *out);

#endif
