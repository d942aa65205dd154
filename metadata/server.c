/* server.c: vr-metadata's HTTP handlers: the metadata tree and IMDSv2 tokens
 * on port 80, the password server on password-port, health and metrics for
 * loopback only.  The requesting VM is the connection's source address. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"
#include "mdd.h"

static int first_call;  /* marks a request whose headers have been seen */

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
text(struct mdd *d, struct MHD_Connection *c, enum md_class cl, const struct timespec *t0,
    int status, const char *body)
{
	observe(d, cl, status, t0);
	return respond(c, status, "text/plain", body, strlen(body), NULL, NULL);
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
local_route(struct mdd *d, struct MHD_Connection *c, const char *url)
{
	struct buf b;
	enum MHD_Result ret;

	if (!strcmp(url, "/healthz"))
		return respond(c, 200, "text/plain", "ok\n", 3, NULL, NULL);
	buf_init(&b);
	metrics_render(d, &b);
	ret = b.oom ? respond(c, 500, "text/plain", "out of memory", 13, NULL, NULL)
		    : respond(c, 200, "text/plain; version=0.0.4", b.p, b.len, NULL, NULL);
	buf_free(&b);
	return ret;
}

static enum MHD_Result
token_put(struct mdd *d, struct MHD_Connection *c, const char *url, uint32_t ip,
    const struct timespec *t0)
{
	const char *ttl_h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-aws-ec2-metadata-token-ttl-seconds");
	const union MHD_ConnectionInfo *ci;
	char tok[TOKEN_HEX_LEN + 1], ttl_s[16];
	unsigned ttl;
	bool dated;

	if (!md_is_token_path(url, &dated))
		return text(d, c, MC_OTHER, t0, 405, "method not allowed");
	if (dated || MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"))
		return text(d, c, MC_TOKEN, t0, 403, "forbidden");
	if (imds_ttl_parse(ttl_h, &ttl) < 0)
		return text(d, c, MC_TOKEN, t0, 400, "X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600");
	imds_token_mint(d->key, ip, time(NULL), ttl, tok);
	snprintf(ttl_s, sizeof(ttl_s), "%u", ttl);
	/* The token must not travel further than the guest's own link. */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)setsockopt(ci->connect_fd, IPPROTO_IP, IP_TTL, &d->hop_limit,
		    sizeof(d->hop_limit));
	observe(d, MC_TOKEN, 200, t0);
	return respond(c, 200, "text/plain", tok, strlen(tok), "X-aws-ec2-metadata-token-ttl-seconds",
	    ttl_s);
}

enum MHD_Result
mdd_handle_metadata(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct mdd *d = cls;
	const struct md_entry *e;
	struct md_reply rep;
	struct timespec t0;
	const char *tok;
	enum MHD_Result ret;
	uint32_t ip;

	(void)version;
	(void)upload;
	if (!*con_cls) { /* headers seen; answer on the next call, so keep-alive holds */
		*con_cls = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* bodies are ignored */
		return MHD_YES;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ip = http_client_ip4(c);
	if ((ip >> 24) == 127 && (!strcmp(url, "/healthz") || !strcmp(url, "/metrics")))
		return local_route(d, c, url);
	if (!ip || !(e = vmtable_get(&d->vt, ip))) {
		vmtable_unlock(&d->vt);
		return text(d, c, class_of(url, false), &t0, 404, "not found");
	}
	vmtable_unlock(&d->vt); /* the entry is looked up again below, under the lock */
	if (!strcmp(method, "PUT"))
		return token_put(d, c, url, ip, &t0);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return text(d, c, class_of(url, false), &t0, 405, "method not allowed");
	tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
	if (tok ? imds_token_check(d->key, ip, time(NULL), tok) < 0 : d->v2_required)
		return text(d, c, class_of(url, false), &t0, 401, "unauthorized");
	buf_init(&rep.body);
	e = vmtable_get(&d->vt, ip);
	if (e)
		md_route(e, url, &rep);
	vmtable_unlock(&d->vt);
	if (!e) { /* removed in between */
		buf_free(&rep.body);
		return text(d, c, class_of(url, false), &t0, 404, "not found");
	}
	observe(d, class_of(url, false), rep.status, &t0);
	ret = rep.body.oom ? MHD_NO : respond(c, rep.status, rep.ctype, rep.body.p, rep.body.len,
	    NULL, NULL);
	buf_free(&rep.body);
	return ret;
}

enum MHD_Result
mdd_handle_password(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct mdd *d = cls;
	struct timespec t0;
	struct buf out;
	enum MHD_Result ret;
	uint32_t ip;
	bool known;

	(void)url;
	(void)version;
	(void)upload;
	if (!*con_cls) {
		*con_cls = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ip = http_client_ip4(c);
	known = ip && vmtable_get(&d->vt, ip);
	vmtable_unlock(&d->vt);
	if (!known)
		return text(d, c, MC_PASSWORD, &t0, 404, "not found");
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return text(d, c, MC_PASSWORD, &t0, 400, "bad_request");
	switch (pw_request_parse(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "DomU_Request"))) {
	case PW_SEND:
		buf_init(&out);
		pw_send(&d->pw, ip, &out);
		observe(d, MC_PASSWORD, 200, &t0);
		ret = out.oom ? MHD_NO : respond(c, 200, "text/plain", out.p, out.len, NULL, NULL);
		buf_free(&out);
		return ret;
	case PW_SAVED: /* the guest must not think it done when it will be sent again */
		if (pw_saved(&d->pw, ip) < 0)
			return text(d, c, MC_PASSWORD, &t0, 503, "error: password store unavailable");
		return text(d, c, MC_PASSWORD, &t0, 200, "saved_password");
	default:
		return text(d, c, MC_PASSWORD, &t0, 400, "bad_request");
	}
}
