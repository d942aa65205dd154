/* http.c: libmicrohttpd listeners, bounded bodies and replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "addr.h"
#include "http.h"

int
http_listen_open(const char *addr, unsigned port_override, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (listen_parse(addr, &ss, &sl) < 0) {
		snprintf(err, errlen, "listen: \"%s\" is not host:port", addr);
		return -EINVAL;
	}
	if (port_override) {
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port_override);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port_override);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", addr, strerror(errno));
		return -errno;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
		int e = errno;

		snprintf(err, errlen, "listen %s%s: %s", addr, port_override ? " (port replaced)" : "",
		    strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int
http_server_start_fds(struct http_server *s, const int *fds, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (n == 0 || n > HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		s->d[i] = MHD_start_daemon(flags, 0, NULL, NULL, cb, cls,
		    MHD_OPTION_LISTEN_SOCKET, fds[i],
		    MHD_OPTION_CONNECTION_LIMIT, lim->conn_limit,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->per_ip_limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout_s,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, lim->mem_limit,
		    MHD_OPTION_THREAD_POOL_SIZE, lim->threads > 1 ? lim->threads : 0u,
		    MHD_OPTION_NOTIFY_COMPLETED, done, cls,
		    MHD_OPTION_END);
		if (!s->d[i]) {
			int e = errno ? errno : EINVAL;

			snprintf(err, errlen, "listen: cannot serve socket %zu: %s", i, strerror(e));
			for (size_t j = i; j < n; j++)
				close(fds[j]);
			http_server_stop(s);
			return -e;
		}
		s->n = i + 1;
	}
	return 0;
}

int
http_server_start(struct http_server *s, char *const *listen, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	int fds[HTTP_MAX_LISTEN];

	memset(s, 0, sizeof(*s));
	if (n == 0 || n > HTTP_MAX_LISTEN) {
		snprintf(err, errlen, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((fds[i] = http_listen_open(listen[i], 0, err, errlen)) < 0) {
			int r = fds[i];

			while (i-- > 0)
				close(fds[i]);
			return r;
		}
	}
	return http_server_start_fds(s, fds, n, lim, cb, cls, done, err, errlen);
}

uint32_t
http_client_ip4(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			uint32_t v;

			memcpy(&v, &s6->sin6_addr.s6_addr[12], 4);
			return ntohl(v);
		}
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
