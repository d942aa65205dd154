/* server.c: vr-metadata's HTTP handlers: the metadata tree and IMDSv2 tokens
 * on port 80, the password server on password-port, health and metrics for
 * loopback only.  The requesting VM is the connection's source address. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "httpd.h"
#include "mdd.h"

static const char *const class_names[MC_N] = { "meta-data", "user-data", "openstack", "token",
	"password", "other" };
static const int status_codes[MS_N] = { 200, 400, 401, 403, 404, 405, 503, 0 };
static const struct histogram_spec request_seconds = {
	"vr_metadata_request_seconds", "Time to answer a request.",
	{ 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1 }, 10,
};

static enum md_class
class_of(const char *url, bool password)
{
	if (password)
		return MC_PASSWORD;
	if (strstr(url, "/api/token"))
		return MC_TOKEN;
	if (!strncmp(url, "/openstack", 10))
		return MC_OPENSTACK;
	if (strstr(url, "/user-data"))
		return MC_USERDATA;
	if (strstr(url, "/meta-data"))
		return MC_METADATA;
	return MC_OTHER;
}

static void
observe(struct mdd *d, enum md_class cl, int status, const struct timespec *t0)
{
	struct timespec t1;
	double s;
	int si = MS_N - 1;

	for (int i = 0; i < MS_N - 1; i++)
		if (status_codes[i] == status)
			si = i;
	__atomic_add_fetch(&d->requests[cl][si], 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	histogram_observe(&d->latency, &request_seconds, s);
}

static enum MHD_Result
respond(struct MHD_Connection *c, int status, const char *ctype, const void *body, size_t len,
    const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hname)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
text(struct mdd *d, const struct http_req *rq, enum md_class cl, int status, const char *body)
{
	observe(d, cl, status, &rq->start);
	return respond(rq->c, status, "text/plain", body, strlen(body), NULL, NULL);
}

static void
connections_render(struct mdd *d, struct buf *b)
{
	struct http_stats st[2];

	http_server_stats(&d->md_srv, &st[0]);
	http_server_stats(&d->pw_srv, &st[1]);
	buf_addf(b, "# HELP vr_metadata_connection_budget Connections each listener may hold.\n"
	    "# TYPE vr_metadata_connection_budget gauge\nvr_metadata_connection_budget %u\n",
	    d->conn_budget);
	buf_adds(b, "# HELP vr_metadata_connections_open Guest connections open.\n"
	    "# TYPE vr_metadata_connections_open gauge\n");
	buf_addf(b, "vr_metadata_connections_open{server=\"metadata\"} %u\n"
	    "vr_metadata_connections_open{server=\"password\"} %u\n", st[0].open, st[1].open);
	buf_adds(b, "# HELP vr_metadata_connections_evicted_total Idle connections closed to make "
	    "room for a new one.\n# TYPE vr_metadata_connections_evicted_total counter\n");
	buf_addf(b, "vr_metadata_connections_evicted_total{server=\"metadata\"} %llu\n"
	    "vr_metadata_connections_evicted_total{server=\"password\"} %llu\n",
	    (unsigned long long)st[0].evicted, (unsigned long long)st[1].evicted);
	buf_adds(b, "# HELP vr_metadata_connections_expired_total Connections closed for not "
	    "completing a request's headers within the timeout.\n"
	    "# TYPE vr_metadata_connections_expired_total counter\n");
	buf_addf(b, "vr_metadata_connections_expired_total{server=\"metadata\"} %llu\n"
	    "vr_metadata_connections_expired_total{server=\"password\"} %llu\n",
	    (unsigned long long)st[0].expired, (unsigned long long)st[1].expired);
}

static void
metrics_render(struct mdd *d, struct buf *b)
{
	buf_adds(b, "# HELP vr_metadata_requests_total Requests by path class and status.\n"
	    "# TYPE vr_metadata_requests_total counter\n");
	for (int cl = 0; cl < MC_N; cl++)
		for (int si = 0; si < MS_N; si++) {
			uint64_t n = __atomic_load_n(&d->requests[cl][si], __ATOMIC_RELAXED);

			if (!n)
				continue;
			if (status_codes[si])
				buf_addf(b, "vr_metadata_requests_total{class=\"%s\",status=\"%d\"} %llu\n",
				    class_names[cl], status_codes[si], (unsigned long long)n);
			else
				buf_addf(b, "vr_metadata_requests_total{class=\"%s\",status=\"other\"} %llu\n",
				    class_names[cl], (unsigned long long)n);
		}
	histogram_render(&d->latency, &request_seconds, b);
	connections_render(d, b);
	buf_addf(b, "# HELP vr_metadata_vms VMs served.\n# TYPE vr_metadata_vms gauge\n"
	    "vr_metadata_vms %zu\n", vmtable_count(&d->vt));
	buf_addf(b, "# HELP vr_metadata_documents_unreadable_total VM documents that could not be "
	    "loaded (not served; the others are).\n"
	    "# TYPE vr_metadata_documents_unreadable_total counter\n"
	    "vr_metadata_documents_unreadable_total %llu\n",
	    (unsigned long long)__atomic_load_n(&d->vt.unreadable, __ATOMIC_RELAXED));
}

/* /healthz and /metrics, for loopback clients only. */
static enum MHD_Result
local_health(void *cls, const struct http_req *rq)
{
	(void)cls;
	return respond(rq->c, 200, "text/plain", "ok\n", 3, NULL, NULL);
}

static enum MHD_Result
local_metrics(void *cls, const struct http_req *rq)
{
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b);
	metrics_render(cls, &b);
	ret = b.oom ? respond(rq->c, 500, "text/plain", "out of memory", 13, NULL, NULL)
		    : respond(rq->c, 200, "text/plain; version=0.0.4", b.p, b.len, NULL, NULL);
	buf_free(&b);
	return ret;
}

/* Only the VMs in the state directory are answered. */
static unsigned
vm_admit(void *cls, const struct http_req *rq)
{
	struct mdd *d = cls;
	bool known = rq->ip4 && vmtable_get(&d->vt, rq->ip4);

	vmtable_unlock(&d->vt); /* the entry is looked up again by the handler, under the lock */
	return known ? 0 : 404;
}

static enum MHD_Result
token_put(void *cls, const struct http_req *rq)
{
	struct mdd *d = cls;
	struct MHD_Connection *c = rq->c;
	const char *ttl_h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-aws-ec2-metadata-token-ttl-seconds");
	const union MHD_ConnectionInfo *ci;
	char tok[TOKEN_HEX_LEN + 1], ttl_s[16];
	unsigned ttl;
	bool dated;

	if (!md_is_token_path(rq->url, &dated))
		return text(d, rq, MC_OTHER, 405, "method not allowed");
	if (dated || MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"))
		return text(d, rq, MC_TOKEN, 403, "forbidden");
	if (imds_ttl_parse(ttl_h, &ttl) < 0)
		return text(d, rq, MC_TOKEN, 400, "X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600");
	imds_token_mint(d->key, rq->ip4, time(NULL), ttl, tok);
	snprintf(ttl_s, sizeof(ttl_s), "%u", ttl);
	/* The token must not travel further than the guest's own link. */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)setsockopt(ci->connect_fd, IPPROTO_IP, IP_TTL, &d->hop_limit,
		    sizeof(d->hop_limit));
	observe(d, MC_TOKEN, 200, &rq->start);
	return respond(c, 200, "text/plain", tok, strlen(tok), "X-aws-ec2-metadata-token-ttl-seconds",
	    ttl_s);
}

static enum MHD_Result
md_get(void *cls, const struct http_req *rq)
{
	struct mdd *d = cls;
	const struct md_entry *e;
	struct md_reply rep;
	const char *tok;
	enum MHD_Result ret;
	enum md_class cl = class_of(rq->url, false);

	tok = MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
	if (tok ? imds_token_check(d->key, rq->ip4, time(NULL), tok) < 0 : d->v2_required)
		return text(d, rq, cl, 401, "unauthorized");
	buf_init(&rep.body);
	e = vmtable_get(&d->vt, rq->ip4);
	if (e)
		md_route(e, rq->url, &rep);
	vmtable_unlock(&d->vt);
	if (!e) { /* removed in between */
		buf_free(&rep.body);
		return text(d, rq, cl, 404, "not found");
	}
	observe(d, cl, rep.status, &rq->start);
	ret = rep.body.oom ? MHD_NO : respond(rq->c, rep.status, rep.ctype, rep.body.p,
	    rep.body.len, NULL, NULL);
	buf_free(&rep.body);
	return ret;
}

/* The metadata server's refusals: counted, in plain text. */
static enum MHD_Result
md_error(void *cls, const struct http_req *rq, unsigned status, const char *body)
{
	return text(cls, rq, class_of(rq->url, false), (int)status, body);
}

static const struct http_route md_routes[] = {
	{ NULL, "/healthz", HTTP_ROUTE_LOOPBACK, local_health },
	{ NULL, "/metrics", HTTP_ROUTE_LOOPBACK, local_metrics },
	{ "PUT", "", HTTP_ROUTE_PREFIX, token_put },
	{ "GET", "", HTTP_ROUTE_PREFIX, md_get },
	{ "HEAD", "", HTTP_ROUTE_PREFIX, md_get },
};

static enum MHD_Result
pw_get(void *cls, const struct http_req *rq)
{
	struct mdd *d = cls;
	struct buf out;
	enum MHD_Result ret;

	switch (pw_request_parse(MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND,
	    "DomU_Request"))) {
	case PW_SEND:
		buf_init(&out);
		pw_send(&d->pw, rq->ip4, &out);
		observe(d, MC_PASSWORD, 200, &rq->start);
		ret = out.oom ? MHD_NO : respond(rq->c, 200, "text/plain", out.p, out.len, NULL, NULL);
		buf_free(&out);
		return ret;
	case PW_SAVED: /* the guest must not think it done when it will be sent again */
		if (pw_saved(&d->pw, rq->ip4) < 0)
			return text(d, rq, MC_PASSWORD, 503, "error: password store unavailable");
		return text(d, rq, MC_PASSWORD, 200, "saved_password");
	default:
		return text(d, rq, MC_PASSWORD, 400, "bad_request");
	}
}

/* CloudStack's password server answers any other method "bad_request". */
static enum MHD_Result
pw_bad_method(void *cls, const struct http_req *rq)
{
	return text(cls, rq, MC_PASSWORD, 400, "bad_request");
}

static enum MHD_Result
pw_error(void *cls, const struct http_req *rq, unsigned status, const char *body)
{
	return text(cls, rq, MC_PASSWORD, (int)status, body);
}

static const struct http_route pw_routes[] = {
	{ "GET", "", HTTP_ROUTE_PREFIX, pw_get },
	{ "HEAD", "", HTTP_ROUTE_PREFIX, pw_get },
	{ NULL, "", HTTP_ROUTE_PREFIX, pw_bad_method },
};

void
mdd_routers(struct mdd *d)
{
	d->md_router = (struct http_router){
		.routes = md_routes,
		.nroutes = sizeof(md_routes) / sizeof(md_routes[0]),
		.admit = vm_admit,
		.error = md_error,
		.cls = d,
	};
	d->pw_router = (struct http_router){
		.routes = pw_routes,
		.nroutes = sizeof(pw_routes) / sizeof(pw_routes[0]),
		.admit = vm_admit,
		.error = pw_error,
		.cls = d,
	};
}
