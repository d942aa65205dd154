/* mdd.h: the vr-metadata daemon's context and its two servers' routes. */
#ifndef MD_MDD_H
#define MD_MDD_H

#include <microhttpd.h>

#include "histogram.h"
#include "httpd.h"
#include "md.h"

enum md_class { MC_METADATA, MC_USERDATA, MC_OPENSTACK, MC_TOKEN, MC_PASSWORD, MC_OTHER, MC_N };
#define MS_N 8              /* 200 400 401 403 404 405 503 other */

struct mdd {
	struct vmtable vt;
	struct pwstore pw;
	uint8_t key[32];        /* IMDSv2 token key, random per start */
	bool v2_required;
	int hop_limit;
	uint64_t requests[MC_N][MS_N];
	struct histogram latency;     /* vr_metadata_request_seconds */
	struct http_server md_srv, pw_srv;  /* the metadata and password listeners */
	struct http_router md_router, pw_router;  /* their route tables (server.c) */
	unsigned conn_budget;   /* connections per listener (http_conn_budget) */
};

/* Fills d's two routers (server.c): the metadata tree and IMDSv2 tokens,
 * with /healthz and /metrics for loopback; the password server. */
void mdd_routers(struct mdd *d);

#endif
