/* mgr_load.c: vr-manager's deployment load generator (docs/performance.md,
 * "vr-manager: deployment").  C client threads, each on its own kept-alive
 * connection, deploy VMs in a closed loop: signed deployVirtualMachine
 * (the sync phase, timed from request to the reply with the job id), then
 * queryAsyncJobResult every --poll-ms until the job ends, then the next
 * deployment (--network a,b,c: deployment i goes to network i mod 3).
 * Every finished job's `stages` (server-side start and end of
 * planning, reservation, network prep, volume prep, start, completion) are
 * collected; the whole job is the first stage's start to the last stage's
 * end.  Prints median, p99 and max of each, throughput (successful
 * deployments per second from the first request to the last job seen
 * done) and the outcome counts by jobresultcode; and RESULT lines for
 * scripts.  Requests are POSTed form bodies signed with the manager's own
 * sign_compute (HMAC-SHA1, CloudStack's canonical string).  --lifecycle:
 * after each successful deployment the client stops the VM and starts it
 * again (stopVirtualMachine, startVirtualMachine: each sync phase and
 * whole job timed the same way) before the next deployment. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "buf.h"
#include "query.h"
#include "sign.h"

#define NSTAGES 6
static const char *const stage_names[NSTAGES] = { "planning", "reservation", "networkprep",
	"volumeprep", "start", "completion" };
/* CloudStack's figures for the same stages (shared/reference/cloudstack-deploy-flow.txt), ms. */
static const double cs_ms[NSTAGES] = { 60, 14, 2400, 120, 1100, 74 };
#define CS_SYNC_MS 250.0
#define CS_JOB_MS 5700.0
#define RESP_MAX (1 << 20)
#define CODES_MAX 16

struct result {
	bool sent;          /* a deploy was attempted */
	int http;           /* the deploy's HTTP status (0: no reply) */
	int jobstatus;      /* 1 success, 2 failure, 0 pending at the timeout, -1 no job */
	int code;           /* jobresultcode, or the sync errorcode */
	double sync_ms;     /* deploy request -> reply */
	double stage_ms[NSTAGES];
	bool has_stage[NSTAGES];
	double job_ms;      /* first stage start -> last stage end (server clock) */
	double queue_ms;    /* deploy reply -> first stage start (same machine's wall clock) */
	double e2e_ms;      /* deploy request -> job seen done by the client */
	double done_s;      /* monotonic time the client saw it done */
	int64_t last_end_us;
	char vm_id[64];     /* the deployed VM */
	/* --lifecycle: [0] stop, [1] start of the deployed VM */
	double lc_sync_ms[2], lc_job_ms[2];
	bool lc_ok[2];
};

static const char *const lc_cmds[2] = { "stopVirtualMachine", "startVirtualMachine" };
static const char *const lc_names[2][2] = { { "stop_sync", "stop_job" },
	{ "start_sync", "start_job" } };

struct cfg {
	char host[256], port[16], path[64];
	const char *key, *secret, *zone, *offering, *tpl, *network;
	long n, conc;
	double duration_s, poll_ms, job_timeout_s;
	const char *prefix;
	char *nets[64];
	size_t nnets;
	bool lifecycle;
};

static struct cfg cfg;
static struct result *results;
static atomic_long next_idx;
static double t_start;
static atomic_long nsent;

struct hconn {
	int fd;
	char *resp;
};

static double
wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
hc_connect(struct hconn *h)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	int one = 1, fd;

	if (getaddrinfo(cfg.host, cfg.port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h->fd = fd;
	return 0;
}

static void
hc_close(struct hconn *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One request on the kept-alive connection; the body (NUL-terminated) in
 * h->resp.  Returns the HTTP status, 0 when the connection gave no reply
 * (got_any tells whether any byte came back). */
static int
hc_post(struct hconn *h, const char *body, size_t blen, bool *got_any)
{
	char hdr[512];
	size_t have = 0, hend = 0, clen = 0;
	int hl, status = 0;
	bool close_after = false;

	*got_any = false;
	if (h->fd < 0 && hc_connect(h) < 0)
		return 0;
	hl = snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
	    cfg.path, cfg.host, cfg.port, blen);
	if (write_all(h->fd, hdr, (size_t)hl) < 0 || write_all(h->fd, body, blen) < 0) {
		hc_close(h);
		return 0;
	}
	for (;;) {
		ssize_t r = recv(h->fd, h->resp + have, RESP_MAX - 1 - have, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			hc_close(h);
			return 0;
		}
		*got_any = true;
		have += (size_t)r;
		h->resp[have] = '\0';
		if (!hend) {
			char *e = strstr(h->resp, "\r\n\r\n"), *line, *eol;

			if (!e)
				goto more;
			hend = (size_t)(e - h->resp) + 4;
			if (sscanf(h->resp, "HTTP/1.%*d %d", &status) != 1) {
				hc_close(h);
				return 0;
			}
			for (line = h->resp; line < e; line = eol + 2) {
				eol = strstr(line, "\r\n");
				if (!strncasecmp(line, "content-length:", 15))
					clen = strtoul(line + 15, NULL, 10);
				else if (!strncasecmp(line, "connection:", 11) &&
				    memmem(line, (size_t)(eol - line), "close", 5))
					close_after = true;
			}
		}
		if (hend && have >= hend + clen)
			break;
more:
		if (have >= RESP_MAX - 1) {
			hc_close(h);
			return 0;
		}
	}
	memmove(h->resp, h->resp + hend, clen);
	h->resp[clen] = '\0';
	if (close_after)
		hc_close(h);
	return status;
}

static void
add_enc(struct buf *b, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_') {
			buf_add(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			buf_add(b, e, 3);
		}
	}
}

/* The signed form body for command with kv pairs (NULL-terminated list). */
static int
signed_body(struct buf *out, const char *const *kv)
{
	struct query_param p[16];
	struct query q = { p, 0 };
	char sig[SIGN_B64_LEN + 1];
	size_t i;

	for (i = 0; kv[2 * i]; i++) {
		p[i].key = (char *)kv[2 * i];
		p[i].val = (char *)kv[2 * i + 1];
	}
	q.n = i;
	if (sign_compute(cfg.secret, &q, sig) < 0)
		return -1;
	buf_init(out);
	for (i = 0; i < q.n; i++) {
		if (i)
			buf_adds(out, "&");
		buf_adds(out, p[i].key);
		buf_adds(out, "=");
		add_enc(out, p[i].val);
	}
	buf_adds(out, "&signature=");
	add_enc(out, sig);
	return out->oom ? -1 : 0;
}

/* A request, retried once on a fresh connection if a kept-alive one was
 * closed before it sent anything back (never after: a deploy is not
 * idempotent). */
static int
request(struct hconn *h, const struct buf *body)
{
	bool got;
	int st = hc_post(h, body->p, body->len, &got);

	if (st == 0 && !got)
		st = hc_post(h, body->p, body->len, &got);
	return st;
}

static void
parse_stages(json_t *stages, struct result *r)
{
	int64_t first = INT64_MAX, last = 0;
	size_t i;
	json_t *s;

	json_array_foreach(stages, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		int64_t su = json_integer_value(json_object_get(s, "startus"));
		int64_t eu = json_integer_value(json_object_get(s, "endus"));
		int k;

		if (!name)
			continue;
		if (su < first)
			first = su;
		if (eu > last)
			last = eu;
		for (k = 0; k < NSTAGES; k++)
			if (!strcmp(name, stage_names[k])) {
				r->stage_ms[k] = json_number_value(json_object_get(s, "durationms"));
				r->has_stage[k] = true;
			}
	}
	if (last > 0) {
		r->job_ms = (double)(last - first) / 1e3;
		r->last_end_us = last;
	}
}

/* Polls queryAsyncJobResult for jobid until the job ends.  Returns 1 with
 * its answer in *out (json_decref it), 0 once the job still runs past the
 * job timeout (from t0), -1 when no request can be made. */
static int
poll_job(struct hconn *h, const char *jobid, double t0, json_t **out)
{
	for (;;) {
		const char *kv[] = { "command", "queryAsyncJobResult", "response", "json", "apiKey",
			cfg.key, "jobid", jobid, NULL };
		struct buf body;
		json_t *js;
		int st;

		usleep((useconds_t)(cfg.poll_ms * 1e3));
		if (signed_body(&body, kv) < 0)
			return -1;
		st = request(h, &body);
		buf_free(&body);
		if (st != 200)
			continue;
		js = json_loads(h->resp, 0, NULL);
		if (json_integer_value(json_object_get(json_object_get(js,
		    "queryasyncjobresultresponse"), "jobstatus")) != 0) {
			*out = js;
			return 1;
		}
		json_decref(js);
		if (now_s() - t0 > cfg.job_timeout_s)
			return 0;
	}
}

static void
one_deploy(struct hconn *h, long idx)
{
	struct result *r = &results[idx];
	char name[64];
	struct buf body;
	json_t *js, *resp, *q;
	double t0, t0w, reply_w;
	const char *jobid;
	char jobid_s[80];
	int st;

	snprintf(name, sizeof(name), "%s%ld", cfg.prefix, idx);
	{
		const char *net = cfg.nets[idx % cfg.nnets];

		const char *kv[] = { "command", "deployVirtualMachine", "response", "json", "apiKey",
			cfg.key, "zoneid", cfg.zone, "serviceofferingid", cfg.offering, "templateid",
			cfg.tpl, "networkids", net, "name", name, NULL };

		if (signed_body(&body, kv) < 0)
			return;
	}
	r->sent = true;
	r->jobstatus = -1;
	atomic_fetch_add(&nsent, 1);
	t0 = now_s();
	t0w = wall_us();
	st = request(h, &body);
	reply_w = wall_us();
	r->sync_ms = (now_s() - t0) * 1e3;
	buf_free(&body);
	r->http = st;
	if (st == 0)
		return;
	js = json_loads(h->resp, 0, NULL);
	resp = json_object_get(js, "deployvirtualmachineresponse");
	if (st != 200 || !(jobid = json_string_value(json_object_get(resp, "jobid")))) {
		r->code = (int)json_integer_value(json_object_get(resp, "errorcode"));
		json_decref(js);
		return;
	}
	snprintf(jobid_s, sizeof(jobid_s), "%s", jobid);
	snprintf(r->vm_id, sizeof(r->vm_id), "%s", json_string_value(json_object_get(resp, "id")) ?
	    json_string_value(json_object_get(resp, "id")) : "");
	json_decref(js);
	if ((st = poll_job(h, jobid_s, t0, &js)) <= 0) {
		if (st == 0)
			r->jobstatus = 0;
		return;
	}
	q = json_object_get(js, "queryasyncjobresultresponse");
	r->done_s = now_s();
	r->e2e_ms = (r->done_s - t0) * 1e3;
	r->jobstatus = (int)json_integer_value(json_object_get(q, "jobstatus"));
	r->code = (int)json_integer_value(json_object_get(q, "jobresultcode"));
	parse_stages(json_object_get(q, "stages"), r);
	if (r->has_stage[0]) {
		json_t *s0 = json_array_get(json_object_get(q, "stages"), 0);

		r->queue_ms = ((double)json_integer_value(json_object_get(s0, "startus")) -
		    reply_w) / 1e3;
	}
	(void)t0w;
	json_decref(js);
}

/* The job jobid until it ends: its status (0 at the timeout), the whole
 * job's server-side duration into *job_ms. */
static int
wait_job(struct hconn *h, const char *jobid, double t0, double *job_ms)
{
	struct result tmp = { 0 };
	json_t *js, *q;
	int status;

	if (poll_job(h, jobid, t0, &js) <= 0)
		return 0;
	q = json_object_get(js, "queryasyncjobresultresponse");
	status = (int)json_integer_value(json_object_get(q, "jobstatus"));
	parse_stages(json_object_get(q, "stages"), &tmp);
	json_decref(js);
	*job_ms = tmp.job_ms;
	return status;
}

/* --lifecycle: stop, then start the VM just deployed. */
static void
lifecycle(struct hconn *h, struct result *r)
{
	for (int k = 0; k < 2; k++) {
		const char *kv[] = { "command", lc_cmds[k], "response", "json", "apiKey", cfg.key,
			"id", r->vm_id, NULL };
		char resp_name[64], jobid[80];
		struct buf body;
		json_t *js;
		const char *j;
		double t0;
		int st;

		snprintf(resp_name, sizeof(resp_name), "%s", lc_cmds[k]);
		for (char *c = resp_name; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		strcat(resp_name, "response");
		if (signed_body(&body, kv) < 0)
			return;
		t0 = now_s();
		st = request(h, &body);
		r->lc_sync_ms[k] = (now_s() - t0) * 1e3;
		buf_free(&body);
		js = st == 200 ? json_loads(h->resp, 0, NULL) : NULL;
		j = json_string_value(json_object_get(json_object_get(js, resp_name), "jobid"));
		snprintf(jobid, sizeof(jobid), "%s", j ? j : "");
		json_decref(js);
		if (!jobid[0] || wait_job(h, jobid, t0, &r->lc_job_ms[k]) != 1)
			return;
		r->lc_ok[k] = true;
	}
}

static void *
client(void *arg)
{
	struct hconn h = { -1, malloc(RESP_MAX) };
	long idx;

	(void)arg;
	if (!h.resp)
		return NULL;
	for (;;) {
		if (cfg.duration_s > 0 && now_s() - t_start >= cfg.duration_s)
			break;
		if ((idx = atomic_fetch_add(&next_idx, 1)) >= cfg.n)
			break;
		one_deploy(&h, idx);
		if (cfg.lifecycle && results[idx].jobstatus == 1 && results[idx].vm_id[0])
			lifecycle(&h, &results[idx]);
	}
	hc_close(&h);
	free(h.resp);
	return NULL;
}

/* Percentile p (0..100) of v[0..n) sorted: nearest rank. */
static double
pct(const double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return NAN;
	k = (size_t)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	return v[k - 1];
}

static void
row(const char *label, double *v, size_t n, double cs)
{
	double med, p99;

	qsort(v, n, sizeof(*v), cmp_double);
	med = pct(v, n, 50);
	p99 = pct(v, n, 99);
	printf("%-12s %6zu %10.3f %10.3f %10.3f", label, n, med, p99, n ? v[n - 1] : NAN);
	if (cs > 0)
		printf(" %10.0f %10.0fx", cs, med > 0 ? cs / med : NAN);
	printf("\n");
	printf("RESULT metric=%s n=%zu median_ms=%.3f p99_ms=%.3f max_ms=%.3f cs_ms=%.0f\n", label,
	    n, med, p99, n ? v[n - 1] : NAN, cs);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mgr_load --url http://HOST:PORT [--key K --secret S] [-n N] [-c C]\n"
	    "  [--duration S] [--poll-ms MS] [--zone Z --offering O --template T --network N[,N...]]\n"
	    "  [--prefix NAME] [--job-timeout S] [--lifecycle]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' }, { "key", 1, NULL, 'k' }, { "secret", 1, NULL, 's' },
		{ "requests", 1, NULL, 'n' }, { "concurrency", 1, NULL, 'c' },
		{ "duration", 1, NULL, 'd' }, { "poll-ms", 1, NULL, 'p' },
		{ "zone", 1, NULL, 'Z' }, { "offering", 1, NULL, 'O' }, { "template", 1, NULL, 'T' },
		{ "network", 1, NULL, 'N' }, { "prefix", 1, NULL, 'P' },
		{ "job-timeout", 1, NULL, 't' }, { "lifecycle", 0, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	pthread_t *th;
	double *v, last_done = 0, t_end;
	size_t i, k, m;
	long ok = 0, failed = 0, sync_err = 0, pending = 0, sent;
	int codes[CODES_MAX][2], ncodes = 0, o;

	memset(&cfg, 0, sizeof(cfg));
	cfg.key = "admin-key";
	cfg.secret = "admin-secret";
	cfg.zone = "zone1";
	cfg.offering = "small";
	cfg.tpl = "tpl1";
	cfg.network = "net1";
	cfg.prefix = "bench";
	cfg.n = 100;
	cfg.conc = 1;
	cfg.poll_ms = 2;
	cfg.job_timeout_s = 120;
	while ((o = getopt_long(argc, argv, "n:c:d:", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 's': cfg.secret = optarg; break;
		case 'n': cfg.n = atol(optarg); break;
		case 'c': cfg.conc = atol(optarg); break;
		case 'd': cfg.duration_s = atof(optarg); break;
		case 'p': cfg.poll_ms = atof(optarg); break;
		case 'Z': cfg.zone = optarg; break;
		case 'O': cfg.offering = optarg; break;
		case 'T': cfg.tpl = optarg; break;
		case 'N': cfg.network = optarg; break;
		case 'P': cfg.prefix = optarg; break;
		case 't': cfg.job_timeout_s = atof(optarg); break;
		case 'L': cfg.lifecycle = true; break;
		default: usage();
		}
	}
	if (!url || strncmp(url, "http://", 7) || cfg.n < 1 || cfg.conc < 1 || cfg.conc > 1024)
		usage();
	{
		const char *hp = url + 7, *colon = strrchr(hp, ':'), *slash = strchr(hp, '/');

		if (!colon || (slash && slash < colon))
			usage();
		snprintf(cfg.host, sizeof(cfg.host), "%.*s", (int)(colon - hp), hp);
		snprintf(cfg.port, sizeof(cfg.port), "%.*s",
		    (int)(slash ? slash - colon - 1 : (long)strlen(colon + 1)), colon + 1);
		snprintf(cfg.path, sizeof(cfg.path), "/client/api");
	}
	{
		char *list = strdup(cfg.network), *tok, *save = NULL;

		for (tok = strtok_r(list, ",", &save); tok && cfg.nnets < 64;
		    tok = strtok_r(NULL, ",", &save))
			cfg.nets[cfg.nnets++] = tok;
		if (!cfg.nnets)
			usage();
	}
	results = calloc((size_t)cfg.n, sizeof(*results));
	th = calloc((size_t)cfg.conc, sizeof(*th));
	v = calloc((size_t)cfg.n + 1, sizeof(*v));
	if (!results || !th || !v)
		return 1;
	t_start = now_s();
	for (i = 0; i < (size_t)cfg.conc; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (i = 0; i < (size_t)cfg.conc; i++)
		pthread_join(th[i], NULL);
	t_end = now_s();
	sent = atomic_load(&nsent);

	for (i = 0; i < (size_t)cfg.n; i++) {
		struct result *r = &results[i];
		int code = r->code, c;

		if (!r->sent)
			continue;
		if (r->jobstatus == 1)
			ok++;
		else if (r->jobstatus == 2)
			failed++;
		else if (r->jobstatus == 0)
			pending++;
		else
			sync_err++;
		if (r->done_s > last_done)
			last_done = r->done_s;
		if (r->jobstatus == 1)
			code = 0;
		else if (r->jobstatus == -1 && !code)
			code = -r->http; /* no CloudStack error: the HTTP status, negated */
		for (c = 0; c < ncodes && codes[c][0] != code; c++)
			;
		if (c == ncodes && ncodes < CODES_MAX)
			codes[ncodes++][0] = code, codes[c][1] = 0;
		if (c < ncodes)
			codes[c][1]++;
	}
	printf("deployments sent %ld (concurrency %ld, poll every %.1f ms): succeeded %ld, job "
	    "failed %ld, sync phase refused %ld, still pending %ld\n", sent, cfg.conc, cfg.poll_ms,
	    ok, failed, sync_err, pending);
	printf("outcomes by jobresultcode (0 success, negative: HTTP status of a reply without a CloudStack code):\n codes");
	for (o = 0; o < ncodes; o++)
		printf(" %d: %d", codes[o][0], codes[o][1]);
	printf("\n\n%-12s %6s %10s %10s %10s %10s %11s\n", "ms", "n", "median", "p99", "max",
	    "CloudStack", "CS/median");
	for (m = 0, i = 0; i < (size_t)cfg.n; i++)
		if (results[i].sent && results[i].http)
			v[m++] = results[i].sync_ms;
	row("sync", v, m, CS_SYNC_MS);
	for (k = 0; k < NSTAGES; k++) {
		for (m = 0, i = 0; i < (size_t)cfg.n; i++)
			if (results[i].jobstatus == 1 && results[i].has_stage[k])
				v[m++] = results[i].stage_ms[k];
		row(stage_names[k], v, m, cs_ms[k]);
	}
	for (m = 0, i = 0; i < (size_t)cfg.n; i++)
		if (results[i].jobstatus == 1)
			v[m++] = results[i].job_ms;
	row("job", v, m, CS_JOB_MS);
	for (m = 0, i = 0; i < (size_t)cfg.n; i++)
		if (results[i].jobstatus == 1)
			v[m++] = results[i].queue_ms;
	row("queued", v, m, 0);
	for (m = 0, i = 0; i < (size_t)cfg.n; i++)
		if (results[i].jobstatus == 1)
			v[m++] = results[i].e2e_ms;
	row("end_to_end", v, m, 0);
	for (k = 0; cfg.lifecycle && k < 2; k++) {
		for (m = 0, i = 0; i < (size_t)cfg.n; i++)
			if (results[i].lc_ok[k])
				v[m++] = results[i].lc_sync_ms[k];
		row(lc_names[k][0], v, m, 0);
		for (m = 0, i = 0; i < (size_t)cfg.n; i++)
			if (results[i].lc_ok[k])
				v[m++] = results[i].lc_job_ms[k];
		row(lc_names[k][1], v, m, 0);
	}
	if (!last_done)
		last_done = t_end;
	printf("\nthroughput: %ld deployments succeeded in %.3f s (first request to last job seen "
	    "done) = %.1f /s; %.1f deployments/s sent\n", ok, last_done - t_start,
	    ok / (last_done - t_start), sent / (t_end - t_start));
	printf("RESULT metric=throughput ok=%ld failed=%ld sync_refused=%ld pending=%ld "
	    "seconds=%.3f per_s=%.1f concurrency=%ld\n", ok, failed, sync_err, pending,
	    last_done - t_start, ok / (last_done - t_start), cfg.conc);
	printf("RESULT metric=codes");
	for (o = 0; o < ncodes; o++)
		printf(" code%d=%d", codes[o][0], codes[o][1]);
	printf("\n");
	free(results);
	free(th);
	free(v);
	return sync_err || pending ? 1 : 0;
}
