/* httpc.h: a minimal blocking HTTP/1.1 client for the command-line tools
 * (one request per connection, Content-Length bodies). */
#ifndef VR_HTTPC_H
#define VR_HTTPC_H

#include <stddef.h>

#include "buf.h"

#define HTTPC_RESPONSE_MAX (256 * 1024 * 1024)

struct httpc_url {
	char host[256];
	char port[8];
	char base[512]; /* path prefix, no trailing '/' */
};

/* "http://host[:port][/prefix]".  Returns 0 or -EINVAL. */
int httpc_url_parse(const char *url, struct httpc_url *out);
/* Sends method path with optional extra header lines ("Name: value\r\n")
 * and body; fills *status and body.  Returns 0 or a negative errno
 * (-ETIMEDOUT after timeout_s). */
int httpc_request(const struct httpc_url *u, const char *method, const char *path,
    const char *headers, const char *body, size_t len, int timeout_s, int *status,
    struct buf *resp);

#endif
