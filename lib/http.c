/* http.c: libmicrohttpd listeners, bounded bodies and replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "addr.h"
#include "err.h"
#include "http.h"

static int
listen_bad(const char *addr, char *err, size_t errlen)
{
	return err_set(err, errlen, -EINVAL, "listen: \"%s\" is not host:port", addr);
}

int
http_listen_open(const char *addr, unsigned port_override, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (listen_parse(addr, &ss, &sl) < 0)
		return listen_bad(addr, err, errlen);
	if (port_override) {
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port_override);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port_override);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, errlen, -errno, "listen %s: socket: %s", addr, strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
		int e = errno;

		close(fd);
		return err_set(err, errlen, -e, "listen %s%s: %s", addr,
		    port_override ? " (port replaced)" : "", strerror(e));
	}
	return fd;
}

/* --- the connection guard -------------------------------------------------
 * libmicrohttpd's timeout restarts with every byte, so a client sending one
 * header byte a second holds its connection forever; and at its connection
 * limit it stops accepting, so guests that hold idle connections lock out
 * everybody else.  Each connection is tracked per listener (a pool) on one of
 * two lists: idle (no request being served: waiting for its first request,
 * between keep-alive requests, or still sending headers) in the order it
 * became idle, and busy.  A reaper shuts down any that stays idle past the
 * header deadline; when a new connection takes a pool past its eviction
 * mark, the oldest idle one is shut down so that libmicrohttpd closes it.
 * A shut-down connection is on no list until libmicrohttpd reports it
 * closed. */

struct http_pool;

struct http_track {
	struct http_track *prev, *next;
	struct http_pool *pool;
	int fd;
	struct timespec since;  /* when it last became idle */
	bool busy;              /* headers complete, request in progress */
	bool gone;              /* shut down: waiting for libmicrohttpd to close it */
	bool refused;           /* its framing was refused: swallow the rest */
};

struct http_pool {
	struct http_guard *g;
	struct http_track idle, busy;   /* list heads; idle oldest first */
	unsigned live;                  /* tracked and not shut down */
	unsigned mark;                  /* evict while live is above this, 0: never */
};

struct http_guard {
	pthread_mutex_t lock;
	struct http_pool pool[HTTP_MAX_LISTEN];
	unsigned limit_s;
	bool json_errors;
	bool stop;
	pthread_t reaper;
	bool reaper_running;
	uint64_t evicted, expired;
	MHD_AccessHandlerCallback cb;
	void *cls;
	MHD_RequestCompletedCallback done;
};

static void
list_init(struct http_track *head)
{
	head->next = head->prev = head;
}

static void
list_unlink(struct http_track *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = t;
}

static void
list_append(struct http_track *head, struct http_track *t)
{
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}

/* Shuts t's socket down; libmicrohttpd sees the end of the stream and closes
 * it.  With the lock held. */
static void
track_shut(struct http_track *t)
{
	list_unlink(t);
	t->gone = true;
	t->pool->live--;
	if (t->fd >= 0)
		(void)shutdown(t->fd, SHUT_RDWR);
}

static struct http_track *
track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void
guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_pool *p = cls;
	struct http_guard *g = p->g;
	struct http_track *t = *socket_context, *old;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if (!(t = calloc(1, sizeof(*t))))
			return; /* untracked: only the idle timeout applies */
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		t->fd = ci ? ci->connect_fd : -1;
		t->pool = p;
		pthread_mutex_lock(&g->lock);
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		list_append(&p->idle, t);
		p->live++;
		while (p->mark && p->live > p->mark && (old = p->idle.next) != t) {
			track_shut(old);
			g->evicted++;
		}
		pthread_mutex_unlock(&g->lock);
		*socket_context = t;
	} else if (t) { /* closed: libmicrohttpd closes the fd after this returns */
		pthread_mutex_lock(&g->lock);
		if (!t->gone) {
			list_unlink(t);
			p->live--;
		}
		pthread_mutex_unlock(&g->lock);
		free(t);
		*socket_context = NULL;
	}
}

/* --- message framing ------------------------------------------------------
 * Where one request ends must not be open to two readings (RFC 9112 6.3):
 * libmicrohttpd takes the first of two Content-Length headers, lets chunked
 * win over Content-Length, and waits out an unknown Transfer-Encoding.  A
 * front end that read such a request the other way would see a different
 * second request (request smuggling), so those are refused outright. */

struct framing {
	unsigned cl, te;
	bool te_other, bad_name;
};

static enum MHD_Result
framing_count(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (!key)
		return MHD_YES;
	if (strpbrk(key, " \t\r\n") || !*key)
		f->bad_name = true;
	if (!strcasecmp(key, "Content-Length")) {
		f->cl++;
	} else if (!strcasecmp(key, "Transfer-Encoding")) {
		f->te++;
		if (!value || strcasecmp(value, "chunked"))
			f->te_other = true;
	}
	return MHD_YES;
}

/* NULL if the request's framing is unambiguous, else what is wrong. */
static const char *
framing_problem(struct MHD_Connection *c)
{
	struct framing f = { 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_count, &f);
	if (f.bad_name)
		return "whitespace in a header name";
	if (f.cl > 1)
		return "more than one Content-Length";
	if (f.te > 1)
		return "more than one Transfer-Encoding";
	if (f.te_other)
		return "a Transfer-Encoding other than chunked";
	if (f.te && f.cl)
		return "both Transfer-Encoding and Content-Length";
	return NULL;
}

static enum MHD_Result
framing_refuse(struct http_guard *g, struct MHD_Connection *c, const char *why)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char body[160];
	int n;

	if (g->json_errors)
		n = snprintf(body, sizeof(body), "{\"error\":\"ambiguous message framing: %s\","
		    "\"index\":null,\"field\":null}\n", why);
	else
		n = snprintf(body, sizeof(body), "bad request: ambiguous message framing: %s", why);
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    g->json_errors ? "application/json" : "text/plain");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, 400, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
guard_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_guard *g = cls;
	struct http_track *t = track_of(c);
	const char *why;

	if (t && !t->busy) { /* the request's first call: its headers are complete */
		pthread_mutex_lock(&g->lock);
		t->busy = true;
		if (!t->gone) {
			list_unlink(t);
			list_append(&t->pool->busy, t);
		}
		pthread_mutex_unlock(&g->lock);
		if ((why = framing_problem(c))) {
			t->refused = true;
			return framing_refuse(g, c, why);
		}
	}
	if (t && t->refused) {
		*upload_size = 0; /* until the connection closes */
		return MHD_YES;
	}
	return g->cb(g->cls, c, url, method, version, upload, upload_size, con_cls);
}

static void
guard_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct http_guard *g = cls;
	struct http_track *t = track_of(c);

	if (t) {
		pthread_mutex_lock(&g->lock);
		t->busy = false;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		if (!t->gone) {
			list_unlink(t);
			list_append(&t->pool->idle, t);
		}
		pthread_mutex_unlock(&g->lock);
		if (t->refused) { /* the handler never saw this request */
			t->refused = false;
			return;
		}
	}
	if (g->done)
		g->done(g->cls, c, con_cls, why);
}

/* Nanoseconds from since to now: whole seconds alone would close a
 * connection that became idle late in one second after little more than
 * limit_s - 1 seconds. */
static int64_t
idle_ns(const struct timespec *since, const struct timespec *now)
{
	return (int64_t)(now->tv_sec - since->tv_sec) * 1000000000 + (now->tv_nsec - since->tv_nsec);
}

static void *
guard_reaper(void *arg)
{
	struct http_guard *g = arg;
	struct timespec tick = { 0, 250 * 1000 * 1000 }, now;
	struct http_track *t;

	for (;;) {
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&g->lock);
		if (g->stop) {
			pthread_mutex_unlock(&g->lock);
			return NULL;
		}
		for (size_t i = 0; i < HTTP_MAX_LISTEN; i++) /* idle lists are oldest first */
			while ((t = g->pool[i].idle.next) != &g->pool[i].idle &&
			    idle_ns(&t->since, &now) >= (int64_t)g->limit_s * 1000000000) {
				track_shut(t);
				g->expired++;
			}
		pthread_mutex_unlock(&g->lock);
	}
}

static struct http_guard *
guard_new(const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done)
{
	struct http_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	for (size_t i = 0; i < HTTP_MAX_LISTEN; i++) {
		g->pool[i].g = g;
		list_init(&g->pool[i].idle);
		list_init(&g->pool[i].busy);
		if (lim->evict_idle) /* keep a few places free for whoever comes next */
			g->pool[i].mark = lim->conn_limit - http_evict_headroom(lim->conn_limit);
	}
	g->limit_s = lim->header_deadline_s;
	g->json_errors = lim->json_errors;
	g->cb = cb;
	g->cls = cls;
	g->done = done;
	if (g->limit_s) {
		if (pthread_create(&g->reaper, NULL, guard_reaper, g) != 0) {
			free(g);
			return NULL;
		}
		g->reaper_running = true;
	}
	return g;
}

static void
guard_free(struct http_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_mutex_unlock(&g->lock);
	if (g->reaper_running)
		pthread_join(g->reaper, NULL);
	free(g);
}

unsigned
http_conn_budget(uint64_t nofile, unsigned nlisteners, unsigned threads, unsigned cap)
{
	uint64_t reserve, per;

	if (nlisteners == 0)
		return 0;
	/* per listener: its socket, the daemon's and each worker's wake-up fd */
	reserve = HTTP_FD_RESERVE + (uint64_t)nlisteners * (2 + (threads > 1 ? threads : 1));
	if (nofile <= reserve)
		return 0;
	per = (nofile - reserve) / nlisteners;
	if (per > cap)
		per = cap;
	return per < 4 ? 0 : (unsigned)per;
}

unsigned
http_evict_headroom(unsigned conn_limit)
{
	unsigned h = conn_limit / 16;

	return h < 1 ? (conn_limit > 1 ? 1 : 0) : h > 64 ? 64 : h;
}

void
http_server_stats(struct http_server *s, struct http_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->guard)
		return;
	pthread_mutex_lock(&s->guard->lock);
	out->evicted = s->guard->evicted;
	out->expired = s->guard->expired;
	for (size_t i = 0; i < s->n; i++)
		out->open += s->guard->pool[i].live;
	pthread_mutex_unlock(&s->guard->lock);
}

/* Paths are handed over exactly as sent (see http.h). */
static size_t
unescape_nothing(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

int
http_server_start_fds(struct http_server *s, const int *fds, size_t n,
    const struct http_limits *lim, MHD_AccessHandlerCallback cb, void *cls,
    MHD_RequestCompletedCallback done, char *err, size_t errlen)
{
	MHD_NotifyConnectionCallback notify = NULL;

	memset(s, 0, sizeof(*s));
	if (n == 0 || n > HTTP_MAX_LISTEN)
		return err_set(err, errlen, -EINVAL, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
	if (lim->header_deadline_s || lim->evict_idle) {
		if (!(s->guard = guard_new(lim, cb, cls, done)))
			return err_set(err, errlen, -ENOMEM, "out of memory");
		cb = guard_access;
		done = guard_done;
		cls = s->guard;
		notify = guard_notify;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
		    (lim->poll_loop ? MHD_USE_POLL : MHD_USE_EPOLL);
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
		    MHD_OPTION_NOTIFY_CONNECTION, notify, s->guard ? (void *)&s->guard->pool[i] : NULL,
		    MHD_OPTION_UNESCAPE_CALLBACK, unescape_nothing, NULL,
		    MHD_OPTION_END);
		if (!s->d[i]) {
			int e = errno ? errno : EINVAL;

			for (size_t j = i; j < n; j++)
				close(fds[j]);
			http_server_stop(s);
			return err_set(err, errlen, -e, "listen: cannot serve socket %zu: %s", i,
			    strerror(e));
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
	if (n == 0 || n > HTTP_MAX_LISTEN)
		return err_set(err, errlen, -EINVAL, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
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
http_client_addr(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const void *a = NULL;

	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

void
http_server_stop(struct http_server *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i])
			MHD_stop_daemon(s->d[i]);
	guard_free(s->guard);
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
