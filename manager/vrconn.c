/* vrconn.c: the manager's client to the VRs' control channel: libcurl
 * easy handles, each holding its kept-alive connection, lent to one request
 * at a time from a pool keyed by VR URL and shared by the worker threads;
 * a request past its timeout keeps its connection until its outcome is
 * known (settle). */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "vrconn.h"

struct idle {
	char *url; /* the VR's base URL the handle's connection goes to */
	CURL *h;
};

struct vrconn_pool {
	pthread_mutex_t mu;
	struct idle idle[VRCONN_IDLE_MAX]; /* oldest first */
	unsigned nidle;
	struct vrconn_stats stats;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

/* curl_global_init is not thread-safe: once, before any handle. */
static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
vrconn_pool_new(struct vrconn_pool **out)
{
	struct vrconn_pool *p;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return -EIO;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return 0;
}

void
vrconn_pool_free(struct vrconn_pool *p)
{
	unsigned i;

	if (!p)
		return;
	for (i = 0; i < p->nidle; i++) {
		curl_easy_cleanup(p->idle[i].h);
		free(p->idle[i].url);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void
vrconn_stats(struct vrconn_pool *p, struct vrconn_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->stats;
	pthread_mutex_unlock(&p->mu);
}

/* The most recently returned idle handle for url (its connection is the
 * likeliest to be alive), or a new one; *key gets the url copy it is
 * filed under.  NULL on no memory. */
static CURL *
handle_take(struct vrconn_pool *p, const char *url, char **key)
{
	unsigned i;
	CURL *h;

	pthread_mutex_lock(&p->mu);
	for (i = p->nidle; i-- > 0;) {
		if (strcmp(p->idle[i].url, url))
			continue;
		h = p->idle[i].h;
		*key = p->idle[i].url;
		memmove(&p->idle[i], &p->idle[i + 1], (p->nidle - i - 1) * sizeof(p->idle[0]));
		p->nidle--;
		pthread_mutex_unlock(&p->mu);
		return h;
	}
	pthread_mutex_unlock(&p->mu);
	if (!(*key = strdup(url)))
		return NULL;
	if (!(h = curl_easy_init())) {
		free(*key);
		return NULL;
	}
	return h;
}

/* Files h as idle; the oldest idle handle is closed when the pool is full. */
static void
handle_give(struct vrconn_pool *p, CURL *h, char *key, long connects, bool late)
{
	struct idle old = { 0 };

	pthread_mutex_lock(&p->mu);
	p->stats.requests++;
	p->stats.connects += (unsigned long)connects;
	p->stats.late += late;
	if (p->nidle == VRCONN_IDLE_MAX) {
		old = p->idle[0];
		memmove(&p->idle[0], &p->idle[1], (p->nidle - 1) * sizeof(p->idle[0]));
		p->nidle--;
	}
	p->idle[p->nidle++] = (struct idle){ .url = key, .h = h };
	pthread_mutex_unlock(&p->mu);
	if (old.h) {
		curl_easy_cleanup(old.h);
		free(old.url);
	}
}

struct sink {
	struct buf *b;
	bool big;
};

static size_t
sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n; /* size is always 1 */

	if (s->b->len + len > VRCONN_RESPONSE_MAX) {
		s->big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	buf_add(s->b, data, len);
	return s->b->oom ? 0 : len;
}

/* One request's deadline: once past it, the request is counted in the
 * pool's stats.waiting until it ends (libcurl calls the progress function
 * at least once a second while it waits). */
struct deadline {
	struct vrconn_pool *p;
	struct timespec at;
	bool past;
};

static bool
ts_passed(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > at->tv_sec || (now.tv_sec == at->tv_sec && now.tv_nsec >= at->tv_nsec);
}

static void
deadline_mark(struct deadline *d, bool past)
{
	if (d->past == past)
		return;
	d->past = past;
	pthread_mutex_lock(&d->p->mu);
	if (past)
		d->p->stats.waiting++;
	else
		d->p->stats.waiting--;
	pthread_mutex_unlock(&d->p->mu);
}

static int
deadline_check(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct deadline *d = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (!d->past && ts_passed(&d->at))
		deadline_mark(d, true);
	return 0; /* go on: settle_s bounds the wait */
}

/* libcurl's outcome as a negative errno. */
static int
curl_errno(CURLcode rc, const struct sink *s)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_WRITE_ERROR:
		return s->big ? -EFBIG : -ENOMEM;
	default:
		return -EHOSTUNREACH;
	}
}

/* The request's outcome after its deadline: -ETIME when vrd answered or
 * closed the connection (settled), else r (no outcome: it may still land). */
static int
settled_late(int r, CURLcode rc, long sent)
{
	if (rc == CURLE_OPERATION_TIMEDOUT && !sent)
		return -EHOSTUNREACH; /* no connection: nothing to settle */
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	return r == 0 || r == -EHOSTUNREACH ? -ETIME : r;
}

int
vrconn_post(struct vrconn_pool *p, const char *url, const char *path, const char *token,
    const char *body, size_t len, int timeout_s, int settle_s, int *status, struct buf *resp,
    char *err, size_t errlen)
{
	char full[1024], auth[512], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *t;
	struct sink s = { .b = resp };
	size_t ulen = strlen(url);
	long code = 0, connects = 0, sent = 0;
	struct deadline dl = { .p = p };
	bool late;
	char *key = NULL;
	CURLcode rc;
	CURL *h;
	int r;

	if (errlen)
		err[0] = '\0';
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	if (strncmp(url, "http://", 7) ||
	    (size_t)snprintf(full, sizeof(full), "%.*s%s", (int)ulen, url, path) >= sizeof(full) ||
	    (size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token) >= sizeof(auth))
		return -EINVAL;
	/* "Expect:" off: no 100-continue round trip before a body over 1 KiB. */
	if (!(t = curl_slist_append(hdrs, auth)) || !(hdrs = t) ||
	    !(t = curl_slist_append(hdrs, "Content-Type: application/json")) || !(hdrs = t) ||
	    !(t = curl_slist_append(hdrs, "Expect:")) || !(hdrs = t)) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	if (!(h = handle_take(p, url, &key))) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vr-manager");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	/* nothing is sent before the connection: no settling for that */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_s * 1000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ((long)timeout_s + settle_s) * 1000L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, deadline_check);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &dl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	clock_gettime(CLOCK_MONOTONIC, &dl.at);
	dl.at.tv_sec += timeout_s;
	rc = curl_easy_perform(h);
	deadline_check(&dl, 0, 0, 0, 0); /* an answer may end it past the deadline */
	late = dl.past;
	deadline_mark(&dl, false);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
	/* nothing of this request may outlive it in the kept handle */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	handle_give(p, h, key, connects, late);
	curl_slist_free_all(hdrs);
	r = curl_errno(rc, &s);
	if (late || rc == CURLE_OPERATION_TIMEDOUT)
		r = settled_late(r, rc, sent);
	if (r == 0 || r == -ETIME)
		*status = rc == CURLE_OK ? (int)code : 0;
	if (r < 0 && r != -ETIME)
		return err_set(err, errlen, r, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
	return r;
}
