/* httpd.h: the one libmicrohttpd adapter the daemons serve through.  It
 * keeps each request's state (its body, collected up to a limit, freed when
 * libmicrohttpd reports the request completed), matches method and path
 * through the daemon's route table, and answers 404, 405 and 413 itself, in
 * the daemon's error style.  A daemon writes handlers and a table; no
 * libmicrohttpd access or completion callback of its own. */
#ifndef VR_HTTPD_H
#define VR_HTTPD_H

#include <stdint.h>
#include <time.h>

#include "http.h"

/* One complete request, as a handler sees it. */
struct http_req {
	struct MHD_Connection *c;
	const char *method;
	const char *url;          /* exactly as sent (see http_server_start_fds) */
	const char *body;         /* NUL-terminated, "" without one */
	size_t len;
	uint32_t ip4;             /* the client's IPv4 address, 0 if not IPv4 */
	uint64_t content_length;  /* as the client announced it, 0 without one */
	struct timespec start;    /* CLOCK_MONOTONIC, when its headers were in (with a
	                           * body limit or a headers hook; else when complete) */
};

/* Answers rq (http_reply and friends); returns what they return. */
typedef enum MHD_Result (*http_handler)(void *cls, const struct http_req *rq);

#define HTTP_ROUTE_PREFIX   0x1u  /* path is a prefix ("" matches every path) */
#define HTTP_ROUTE_LOOPBACK 0x2u  /* only for 127.0.0.0/8 clients, before admit */

struct http_route {
	const char *method;       /* "GET", "POST", ...; NULL: any.  A HEAD request no
	                           * route names takes its path's GET route (libmicrohttpd
	                           * sends the headers only) */
	const char *path;         /* the whole path, or a prefix (HTTP_ROUTE_PREFIX) */
	unsigned flags;
	http_handler fn;
};

/* A daemon's side of a server; it must outlive the server. */
struct http_router {
	const struct http_route *routes;  /* first match wins */
	size_t nroutes;
	size_t max_body;          /* over this: 413; 0: bodies are read and dropped */
	/* Runs before the table (loopback routes excepted): 0 lets the request
	 * through, an HTTP status refuses it (answered through error).  May be
	 * NULL. */
	unsigned (*admit)(void *cls, const struct http_req *rq);
	/* Runs as soon as a request's headers are in, before any of its body
	 * (rq->body is "", rq->content_length what the client announced): 0 lets
	 * it go on, an HTTP status refuses it at once (through error), and
	 * whatever body follows is read and dropped.  For refusals that must not
	 * wait for a body: a missing credential, an announced size over a limit.
	 * May be NULL. */
	unsigned (*headers)(void *cls, const struct http_req *rq);
	/* Answers the adapter's refusals: 404 "not found" (no route's path
	 * matches), 405 "method not allowed" (a path matches, no method),
	 * 413 "request larger than N bytes", and admit's, with text "not
	 * found" or the status's reason.  NULL: text/plain text. */
	enum MHD_Result (*error)(void *cls, const struct http_req *rq, unsigned status,
	    const char *text);
	void *cls;                /* handed to every callback */
};

/* http_server_start_fds / http_server_start through the router. */
int http_router_start_fds(struct http_server *s, const int *fds, size_t n,
    const struct http_limits *lim, const struct http_router *rt, char *err, size_t errlen);
int http_router_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, const struct http_router *rt, char *err, size_t errlen);

/* Frees rq's body once its handler is done with it, before the reply (a big
 * body need not stay in memory while the request is worked on); rq->body is
 * then "" and rq->len 0. */
void http_req_body_drop(const struct http_req *rq);

/* The route for method and path in rt's table, or NULL; *path_known says
 * whether some route's path matches (405 rather than 404).  Pure. */
const struct http_route *http_route_find(const struct http_router *rt, const char *method,
    const char *path, bool loopback, bool *path_known);

#endif
