/* http.c: libmicrohttpd listeners, bounded bodies and replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "http.h"

int
http_server_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (n == 0 || n > HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;

		if (listen_parse(listen[i], &ss, &sl) < 0) {
			snprintf(err, errlen, "listen: \"%s\" is not host:port", listen[i]);
			http_server_stop(s);
			return -EINVAL;
		}
		if (ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		s->d[i] = MHD_start_daemon(flags, 0, NULL, NULL, cb, cls,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_CONNECTION_LIMIT, lim->conn_limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->mem_limit,
		    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
		    MHD_OPTION_NOTIFY_COMPLETED, done, cls,
		    MHD_OPTION_END);
		if (!s->d[i]) {
			int e = errno ? errno : EADDRNOTAVAIL;

			snprintf(err, errlen, "listen: cannot listen on %s: %s", listen[i],
			    strerror(e));
			http_server_stop(s);
			return -e;
		}
		s->n = i + 1;
	}
	return 0;
}

void
http_server_stop(struct http_server *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i])
			MHD_stop_daemon(s->d[i]);
	memset(s, 0, sizeof(*s));
}

bool
http_body_step(struct http_body *hb, const char *data, size_t *size)
{
	if (*size == 0)
		return true;
	if (!hb->too_big && hb->b.len + *size > hb->max) {
		hb->too_big = true;
		buf_free(&hb->b);
	}
	if (!hb->too_big)
		buf_add(&hb->b, data, *size);
	*size = 0;
	return false;
}

enum MHD_Result
http_reply(struct MHD_Connection *c, unsigned status, const char *ctype, const void *body,
    size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result
http_reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *s;
	size_t len;

	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return http_reply(c, 500, "application/json",
		    "{\"error\":\"out of memory\"}\n", 26);
	len = strlen(s);
	s[len] = '\0';
	{
		char *t = realloc(s, len + 2);

		if (!t) {
			free(s);
			return MHD_NO;
		}
		s = t;
		s[len++] = '\n';
		s[len] = '\0';
	}
	r = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
