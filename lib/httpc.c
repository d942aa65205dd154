/* httpc.c: one HTTP/1.1 request per connection, read until the server closes
 * or Content-Length is reached. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

int
httpc_url_parse(const char *url, struct httpc_url *out)
{
	const char *p, *host, *hend, *slash;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "http://", 7))
		return -EINVAL;
	host = url + 7;
	slash = strchr(host, '/');
	hend = slash ? slash : host + strlen(host);
	if (*host == '[') {
		p = memchr(host, ']', (size_t)(hend - host));
		if (!p)
			return -EINVAL;
		n = (size_t)(p - host - 1);
		if (n == 0 || n >= sizeof(out->host))
			return -EINVAL;
		memcpy(out->host, host + 1, n);
		p++;
	} else {
		p = memchr(host, ':', (size_t)(hend - host));
		n = (size_t)((p ? p : hend) - host);
		if (n == 0 || n >= sizeof(out->host))
			return -EINVAL;
		memcpy(out->host, host, n);
		if (!p)
			p = hend;
	}
	if (*p == ':') {
		n = (size_t)(hend - p - 1);
		if (n == 0 || n >= sizeof(out->port) || strspn(p + 1, "0123456789") < n)
			return -EINVAL;
		memcpy(out->port, p + 1, n);
	} else if (p != hend) {
		return -EINVAL;
	} else {
		strcpy(out->port, "80");
	}
	if (slash) {
		snprintf(out->base, sizeof(out->base), "%s", slash);
		n = strlen(out->base);
		while (n > 0 && out->base[n - 1] == '/')
			out->base[--n] = '\0';
	}
	return 0;
}

static int
wait_fd(int fd, short ev, const struct timespec *deadline)
{
	struct timespec now;
	struct pollfd pfd = { .fd = fd, .events = ev };
	long ms;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return -ETIMEDOUT;
	r = poll(&pfd, 1, (int)ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int
dial(const struct httpc_url *u, const struct timespec *deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, r;

	if (getaddrinfo(u->host, u->port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	r = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0)) {
			int e = 0;
			socklen_t el = sizeof(e);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e == 0) {
				r = 0;
				break;
			}
			r = -e;
		} else {
			r = -errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : r;
}

static int
send_all(int fd, const char *p, size_t len, const struct timespec *deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int r;

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
				return r;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Splits a complete response in raw into status and body. */
static int
parse_response(struct buf *raw, int *status, struct buf *resp, bool *complete)
{
	char *hend, *cl;
	size_t hlen, want;

	*complete = false;
	if (!raw->p || !(hend = strstr(raw->p, "\r\n\r\n")))
		return 0;
	if (sscanf(raw->p, "HTTP/1.%*d %d", status) != 1)
		return -EPROTO;
	hlen = (size_t)(hend - raw->p) + 4;
	*hend = '\0';
	cl = strcasestr(raw->p, "\r\nContent-Length:");
	*hend = '\r';
	if (!cl)
		return 0; /* read to EOF */
	want = strtoul(cl + 17, NULL, 10);
	if (raw->len - hlen < want)
		return 0;
	buf_add(resp, raw->p + hlen, want);
	*complete = true;
	return 0;
}

int
httpc_request(const struct httpc_url *u, const char *method, const char *path,
    const char *headers, const char *body, size_t len, int timeout_s, int *status,
    struct buf *resp)
{
	struct timespec deadline;
	struct buf req, raw;
	bool complete = false;
	int fd, r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	buf_init(&req);
	buf_init(&raw);
	if ((fd = dial(u, &deadline)) < 0)
		return fd;
	buf_addf(&req, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
	    "User-Agent: vrctl\r\n%sContent-Length: %zu\r\n\r\n", method, u->base, path, u->host,
	    u->port, headers ? headers : "", body ? len : 0);
	if (body)
		buf_add(&req, body, len);
	if (req.oom) {
		r = -ENOMEM;
		goto out;
	}
	/* A server may answer before reading the whole body (413) and close:
	 * then the reply is still worth reading. */
	if ((r = send_all(fd, req.p, req.len, &deadline)) < 0 && r != -EPIPE && r != -ECONNRESET)
		goto out;
	if (r < 0)
		shutdown(fd, SHUT_WR);
	for (;;) {
		char chunk[65536];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLIN, &deadline)) < 0)
				goto out;
			continue;
		}
		if (n < 0 && errno == ECONNRESET && raw.len > 0)
			break; /* reset after a complete reply without Content-Length */
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (raw.len + (size_t)n > HTTPC_RESPONSE_MAX) {
			r = -EFBIG;
			goto out;
		}
		buf_add(&raw, chunk, (size_t)n);
		if ((r = parse_response(&raw, status, resp, &complete)) < 0 || complete)
			goto out;
	}
	/* EOF: the body is whatever followed the headers. */
	if (!raw.p || !strstr(raw.p, "\r\n\r\n") || sscanf(raw.p, "HTTP/1.%*d %d", status) != 1) {
		r = -EPROTO;
		goto out;
	}
	{
		char *h = strstr(raw.p, "\r\n\r\n") + 4;

		buf_add(resp, h, raw.len - (size_t)(h - raw.p));
	}
	r = 0;
out:
	close(fd);
	buf_free(&req);
	buf_free(&raw);
	return r;
}
