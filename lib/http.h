/* http.h: libmicrohttpd glue shared by the daemons: listeners, bounded
 * request bodies and replies. */
#ifndef VR_HTTP_H
#define VR_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "buf.h"

#define HTTP_MAX_LISTEN 16

struct http_server {
	struct MHD_Daemon *d[HTTP_MAX_LISTEN];
	size_t n;
};

struct http_limits {
	unsigned conn_limit;    /* concurrent connections per listener */
	unsigned timeout_s;     /* idle connection timeout */
	size_t mem_limit;       /* per-connection header memory */
};

/* Starts one MHD daemon per listen address, each with its own thread.
 * Returns 0, or a negative errno with the failing address in err. */
int http_server_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen);
void http_server_stop(struct http_server *s);

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
