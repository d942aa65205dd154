/* http.h: libmicrohttpd glue shared by the daemons: listeners, the
 * connection guard, bounded request bodies and replies (the route table
 * over it: httpd.h). */
#ifndef VR_HTTP_H
#define VR_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_MAX_LISTEN 16

struct http_guard;

struct http_server {
	struct MHD_Daemon *d[HTTP_MAX_LISTEN];
	size_t n;
	struct http_guard *guard;  /* header deadline, when asked for */
};

struct http_limits {
	unsigned conn_limit;    /* concurrent connections per listener */
	unsigned per_ip_limit;  /* concurrent connections per client address, 0: none */
	unsigned timeout_s;     /* idle connection timeout */
	size_t mem_limit;       /* per-connection header memory */
	unsigned threads;       /* worker threads per listener, 0 or 1: one */
	bool poll_loop;         /* poll() instead of epoll: libmicrohttpd 0.9.75's epoll
	                         * loop can leave accepted connections unserved in a
	                         * burst of hundreds (measured: docs/performance.md) */
	unsigned header_deadline_s; /* a request's headers must be complete this long
	                             * after the connection opened or its previous
	                             * request ended (slowloris), 0: no deadline */
	bool json_errors;       /* the refusals the glue sends itself are JSON
	                         * {"error", "index", "field"} (vrd), not text */
	bool evict_idle;        /* when a new connection takes a listener past
	                         * conn_limit less http_evict_headroom(), the
	                         * connection idle longest (no request in progress:
	                         * slow headers count as idle) is shut down */
};

/* What the connection guard did (all listeners of one server). */
struct http_stats {
	uint64_t evicted;       /* idle connections shut down for a newcomer */
	uint64_t expired;       /* connections past the header deadline */
	unsigned open;          /* tracked connections not shut down */
};

/* Descriptors set aside for everything but guest connections: stdio, the
 * listening sockets, libmicrohttpd's wake-up descriptors, the state
 * directory's files and inotify. */
#define HTTP_FD_RESERVE 64
/* The connections each of nlisteners listeners (each with threads worker
 * threads) may hold so that all of them fit under a descriptor limit of
 * nofile, at most cap; 0 if fewer than 4 would fit.  Pure. */
unsigned http_conn_budget(uint64_t nofile, unsigned nlisteners, unsigned threads, unsigned cap);
/* The places kept free under conn_limit for newcomers with evict_idle:
 * 1/16 of it, from 1 to 64. */
unsigned http_evict_headroom(unsigned conn_limit);

/* Opens a listening socket on "host:port" (port replaced by port_override
 * when it is non-zero), with IP_FREEBIND so the address need not exist yet.
 * Returns the fd, or a negative errno with the reason in err. */
int http_listen_open(const char *addr, unsigned port_override, char *err, size_t errlen);
/* Starts one MHD daemon on each open listening socket (it takes the fds),
 * with raw libmicrohttpd callbacks: daemons serve through httpd.h's route
 * table instead (vrd's api.c still calls this itself until its conversion).
 * Request paths reach the handler exactly as sent: nothing is
 * percent-decoded, so "%2f" or "%00" can never become a separator or an
 * end of string.  With a header deadline, a request whose framing is
 * ambiguous (two Content-Length headers, Transfer-Encoding with
 * Content-Length, a Transfer-Encoding other than "chunked", whitespace in a
 * header name: the stuff of request smuggling) never reaches the handler:
 * it gets 400 and the connection is closed.
 * Returns 0, or a negative errno with err set. */
int http_server_start_fds(struct http_server *s, const int *fds, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen);
/* http_listen_open and http_server_start_fds for each address. */
int http_server_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen);
void http_server_stop(struct http_server *s);
/* Fills out (zeros without a guard). */
void http_server_stats(struct http_server *s, struct http_stats *out);
#define HTTP_ADDR_STRLEN 64
/* The client's address as text ("192.0.2.1", "2001:db8::1" or "?"). */
void http_client_addr(struct MHD_Connection *c, char *out, size_t len);
/* The client's IPv4 address in host order, or 0 if not IPv4. */
uint32_t http_client_ip4(struct MHD_Connection *c);

/* A request body, collected up to max bytes. */
struct http_body {
	struct buf b;
	size_t max;
	bool too_big;
};

/* Feeds one access-handler call's upload data.  Returns true when the body
 * is complete (check too_big), false while more is expected. */
bool http_body_step(struct http_body *hb, const char *data, size_t *size);

/* Replies with a copy of body.  Returns MHD_YES/MHD_NO. */
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
    const void *body, size_t len);
/* Replies with j serialised compactly and a trailing newline; takes j. */
enum MHD_Result http_reply_json(struct MHD_Connection *c, unsigned status, json_t *j);

#endif
