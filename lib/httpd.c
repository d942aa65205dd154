/* httpd.c: the libmicrohttpd adapter: per-request state, the route table,
 * and the refusals it answers itself (see httpd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

/* Per-request state when bodies are collected or headers looked at;
 * requests of a router that does neither all share this marker instead. */
struct http_conn {
	struct http_req rq;       /* first: http_req_body_drop finds the rest from it */
	struct http_body body;
	struct timespec start;    /* when the headers were in */
	bool refused;             /* answered at the headers: the body is dropped */
};

static int no_body_marker;

static bool
route_path_matches(const struct http_route *r, const char *path)
{
	if (r->flags & HTTP_ROUTE_PREFIX)
		return !strncmp(path, r->path, strlen(r->path));
	return !strcmp(path, r->path);
}

static const struct http_route *
route_find(const struct http_router *rt, const char *method, const char *path,
    bool loopback, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < rt->nroutes; i++) {
		const struct http_route *r = &rt->routes[i];

		if ((r->flags & HTTP_ROUTE_LOOPBACK) && !loopback)
			continue;
		if (!route_path_matches(r, path))
			continue;
		*path_known = true;
		if (!r->method || !strcmp(r->method, method))
			return r;
	}
	return NULL;
}

const struct http_route *
http_route_find(const struct http_router *rt, const char *method, const char *path,
    bool loopback, bool *path_known)
{
	const struct http_route *r = route_find(rt, method, path, loopback, path_known);

	if (!r && !strcmp(method, "HEAD"))
		r = route_find(rt, "GET", path, loopback, path_known);
	return r;
}

static enum MHD_Result
refuse(const struct http_router *rt, const struct http_req *rq, unsigned status)
{
	char text[64];

	switch (status) {
	case 404:
		snprintf(text, sizeof(text), "not found");
		break;
	case 405:
		snprintf(text, sizeof(text), "method not allowed");
		break;
	case 413:
		snprintf(text, sizeof(text), "request larger than %zu bytes", rt->max_body);
		break;
	default:
		snprintf(text, sizeof(text), "%s", MHD_get_reason_phrase_for(status));
	}
	if (rt->error)
		return rt->error(rt->cls, rq, status, text);
	return http_reply(rq->c, status, "text/plain", text, strlen(text));
}

/* The request is complete: loopback routes, admit, the table. */
static enum MHD_Result
dispatch(const struct http_router *rt, struct http_req *rq, bool too_big)
{
	const struct http_route *r;
	bool loopback = (rq->ip4 >> 24) == 127, known;
	unsigned status;

	for (size_t i = 0; loopback && i < rt->nroutes; i++) {
		r = &rt->routes[i];
		if ((r->flags & HTTP_ROUTE_LOOPBACK) && route_path_matches(r, rq->url) &&
		    (!r->method || !strcmp(r->method, rq->method)))
			return r->fn(rt->cls, rq);
	}
	if (rt->admit && (status = rt->admit(rt->cls, rq)) != 0)
		return refuse(rt, rq, status);
	if (!(r = http_route_find(rt, rq->method, rq->url, false, &known)))
		return refuse(rt, rq, known ? 405 : 404);
	if (too_big)
		return refuse(rt, rq, 413);
	return r->fn(rt->cls, rq);
}

/* The request as a handler sees it, without its body. */
static void
req_fill(struct http_req *rq, struct MHD_Connection *c, const char *url, const char *method)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);

	memset(rq, 0, sizeof(*rq));
	rq->c = c;
	rq->method = method;
	rq->url = url;
	rq->body = "";
	rq->ip4 = http_client_ip4(c);
	rq->content_length = cl ? strtoull(cl, NULL, 10) : 0;
}

static enum MHD_Result
router_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	const struct http_router *rt = cls;
	struct http_conn *hc = *con_cls;
	struct http_req rq;
	unsigned status;

	(void)version;
	if (!hc) { /* headers seen; answer once the body is in, so keep-alive holds */
		if (!rt->max_body && !rt->headers) {
			*con_cls = &no_body_marker;
			return MHD_YES;
		}
		if (!(hc = calloc(1, sizeof(*hc))))
			return MHD_NO;
		buf_init(&hc->body.b);
		hc->body.max = rt->max_body;
		clock_gettime(CLOCK_MONOTONIC, &hc->start);
		*con_cls = hc;
		if (rt->headers) {
			req_fill(&rq, c, url, method);
			rq.start = hc->start;
			if ((status = rt->headers(rt->cls, &rq)) != 0) {
				hc->refused = true;
				return refuse(rt, &rq, status);
			}
		}
		return MHD_YES;
	}
	if ((void *)hc == &no_body_marker || hc->refused || !rt->max_body) {
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		if ((void *)hc != &no_body_marker && hc->refused)
			return MHD_YES; /* answered already */
	} else if (!http_body_step(&hc->body, upload, upload_size)) {
		return MHD_YES;
	}
	req_fill(&rq, c, url, method);
	if ((void *)hc == &no_body_marker) {
		clock_gettime(CLOCK_MONOTONIC, &rq.start);
		return dispatch(rt, &rq, false);
	}
	hc->rq = rq;
	hc->rq.start = hc->start;
	if (hc->body.b.oom)
		return refuse(rt, &hc->rq, 500);
	if (hc->body.b.len) {
		hc->rq.body = hc->body.b.p;
		hc->rq.len = hc->body.b.len;
	}
	return dispatch(rt, &hc->rq, hc->body.too_big);
}

void
http_req_body_drop(const struct http_req *rq)
{
	struct http_conn *hc;

	if (!rq->len) /* no body, or the marker's requests (never one) */
		return;
	hc = (struct http_conn *)rq; /* rq is hc's first member (router_access) */
	buf_free(&hc->body.b);
	hc->rq.body = "";
	hc->rq.len = 0;
}

static void
router_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_conn *hc = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (hc && (void *)hc != &no_body_marker) {
		buf_free(&hc->body.b);
		free(hc);
	}
	*con_cls = NULL;
}

int
http_router_start_fds(struct http_server *s, const int *fds, size_t n,
    const struct http_limits *lim, const struct http_router *rt, char *err, size_t errlen)
{
	return http_server_start_fds(s, fds, n, lim, router_access, (void *)rt, router_done,
	    err, errlen);
}

int
http_router_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, const struct http_router *rt, char *err, size_t errlen)
{
	return http_server_start(s, listen, n, lim, router_access, (void *)rt, router_done,
	    err, errlen);
}
