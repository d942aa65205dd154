/* md_load.c: closed-loop HTTP load generator of vr-metadata's benchmark
 * (docs/performance.md), the cross-check of wrk's latency: N connections on
 * one epoll loop, each sending the next path of a list in turn (kept alive,
 * or one connection per request), every response's raw latency recorded
 * without wrk's coordinated-omission correction. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define PATHS_MAX 256
#define RESP_MAX 16384
#define HIST_US 2000000        /* latencies up to 2 s, in microseconds */

struct lconn {
	int fd;
	size_t path, sent, len;
	bool connecting, reading;
	double t0;
	char resp[RESP_MAX];
};

struct load {
	struct sockaddr_in dst;
	bool close_each;
	long nconn, duration_s;
	char *req[PATHS_MAX];
	size_t reqlen[PATHS_MAX], npaths;
	struct lconn *c;
	uint32_t *hist;            /* hist[us]: responses that took us microseconds */
	uint64_t done, errors, connects;
	int ep;
};

/* Reads the path list and renders one request per path. */
static int
load_paths(struct load *l, const char *file, const char *host)
{
	char line[512];
	FILE *f = fopen(file, "re");

	if (!f)
		return -errno;
	while (l->npaths < PATHS_MAX && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (asprintf(&l->req[l->npaths], "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", line, host,
		    l->close_each ? "Connection: close\r\n" : "") < 0)
			break;
		l->reqlen[l->npaths] = strlen(l->req[l->npaths]);
		l->npaths++;
	}
	fclose(f);
	return l->npaths ? 0 : -EINVAL;
}

static void
lc_open(struct load *l, struct lconn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&l->dst, sizeof(l->dst)) < 0 && errno != EINPROGRESS)
		l->errors++;
	c->connecting = true;
	c->reading = false;
	c->sent = 0;
	l->connects++;
	epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
lc_reopen(struct load *l, struct lconn *c)
{
	close(c->fd);
	lc_open(l, c);
}

/* Sends (the rest of) the current request; then waits for the reply. */
static void
lc_send(struct load *l, struct lconn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	ssize_t n;

	if (c->sent == 0 && !l->close_each)
		c->t0 = now_s();          /* kept alive: from the request, as wrk times it */
	n = send(c->fd, l->req[c->path] + c->sent, l->reqlen[c->path] - c->sent, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN) {
		l->errors++;
		lc_reopen(l, c);
		return;
	}
	c->sent += n > 0 ? (size_t)n : 0;
	if (c->sent == l->reqlen[c->path]) {
		c->reading = true;
		c->len = 0;
		epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

/* 1 when resp holds a whole response (*close: the server will close it). */
static int
resp_complete(const char *p, size_t len, bool *close)
{
	const char *h = memmem(p, len, "\r\n\r\n", 4), *cl;
	long clen;

	if (!h)
		return 0;
	*close = strcasestr(p, "\r\nConnection: close") && strcasestr(p, "\r\nConnection: close") < h;
	if (!(cl = strcasestr(p, "\r\nContent-Length:")) || cl > h)
		return -1;
	clen = strtol(cl + 17, NULL, 10);
	return (size_t)(h + 4 - p) + (size_t)clen <= len ? 1 : 0;
}

static void
lc_read(struct load *l, struct lconn *c, double t_end)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	ssize_t n = -1;
	bool close_ = false;
	int r;

	while (c->len < RESP_MAX - 1 && (n = recv(c->fd, c->resp + c->len, RESP_MAX - 1 - c->len, 0)) > 0)
		c->len += (size_t)n;
	c->resp[c->len] = '\0';
	if ((r = resp_complete(c->resp, c->len, &close_)) == 0 && n != 0 && errno == EAGAIN)
		return;
	if (r == 1) {
		double t = now_s();
		uint64_t us = (uint64_t)((t - c->t0) * 1e6);

		if (t < t_end) {
			l->hist[us < HIST_US ? us : HIST_US - 1]++;
			l->done++;
		}
		c->path = (c->path + 1) % l->npaths;
	} else {
		l->errors++;
	}
	if (r != 1 || close_ || l->close_each) {
		lc_reopen(l, c);
		return;
	}
	c->reading = false;
	c->sent = 0;
	epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
lc_event(struct load *l, struct lconn *c, double t_end)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->connecting) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err) {
			l->errors++;
			lc_reopen(l, c);
			return;
		}
		c->connecting = false;
		if (l->close_each)
			c->t0 = now_s();  /* one connection per request: from connect() */
	}
	if (c->reading)
		lc_read(l, c, t_end);
	else
		lc_send(l, c);
}

/* The percentile p of the histogram, in milliseconds. */
static double
hist_pct(const struct load *l, double p)
{
	uint64_t want = (uint64_t)(p / 100.0 * (double)l->done), seen = 0;

	for (uint64_t us = 0; us < HIST_US; us++)
		if ((seen += l->hist[us]) > want || (seen == l->done && seen))
			return (double)us / 1e3;
	return 0;
}

static int
run(struct load *l)
{
	struct epoll_event ev[256];
	double t0 = now_s(), t_end = t0 + (double)l->duration_s;

	for (long k = 0; k < l->nconn; k++) {
		l->c[k].path = (size_t)k % l->npaths;
		if (l->close_each)
			l->c[k].t0 = now_s();
		lc_open(l, &l->c[k]);
	}
	while (now_s() < t_end) {
		int n = epoll_wait(l->ep, ev, 256, 100);

		for (int e = 0; e < n; e++)
			lc_event(l, ev[e].data.ptr, t_end);
	}
	printf("RESULT mode=load conns=%ld close=%d requests=%llu rps=%.1f p50_ms=%.3f "
	    "p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%llu connects=%llu\n", l->nconn,
	    l->close_each, (unsigned long long)l->done, (double)l->done / (double)l->duration_s,
	    hist_pct(l, 50), hist_pct(l, 90), hist_pct(l, 99), hist_pct(l, 99.9),
	    (unsigned long long)l->errors, (unsigned long long)l->connects);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: md_load --paths FILE [--server IP] [--port P] [--connections N]\n"
	    "               [--duration S] [--close]\n"
	    "N connections (default 64) to IP:P (10.1.0.1:80) for S seconds (10), each\n"
	    "requesting FILE's paths in turn; kept alive, or --close: a new connection and\n"
	    "\"Connection: close\" per request, timed from connect().  Prints one RESULT line.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "paths", 1, NULL, 'p' }, { "server", 1, NULL, 's' }, { "port", 1, NULL, 'P' },
		{ "connections", 1, NULL, 'c' }, { "duration", 1, NULL, 'd' },
		{ "close", 0, NULL, 'C' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct load l = { .dst = { .sin_family = AF_INET, .sin_port = htons(80) }, .nconn = 64,
		.duration_s = 10, .ep = -1 };
	const char *paths = NULL, *server = "10.1.0.1";
	int o;

	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'p': paths = optarg; break;
		case 's': server = optarg; break;
		case 'P': l.dst.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'c': l.nconn = atol(optarg); break;
		case 'd': l.duration_s = atol(optarg); break;
		case 'C': l.close_each = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!paths || optind < argc || l.nconn < 1 || l.nconn > 10000 || l.duration_s < 1 ||
	    inet_pton(AF_INET, server, &l.dst.sin_addr) != 1) {
		usage(stderr);
		return 2;
	}
	if (load_paths(&l, paths, server) < 0) {
		fprintf(stderr, "md_load: %s: no paths\n", paths);
		return 2;
	}
	l.c = calloc((size_t)l.nconn, sizeof(*l.c));
	l.hist = calloc(HIST_US, sizeof(*l.hist));
	if (!l.c || !l.hist || (l.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("md_load");
		return 1;
	}
	return run(&l);
}
