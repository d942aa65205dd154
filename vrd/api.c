/* api.c: the control channel's HTTP routes: bearer-token auth, bounded JSON
 * bodies, POST /v1/commands (parsed here, applied by apply.c) and the
 * read-only views. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "apply.h"
#include "doc.h"
#include "httpd.h"
#include "log.h"
#include "reload.h"
#include "token.h"
#include "vrd.h"

#define TRIM_AFTER (1024 * 1024) /* body size after which freed memory is trimmed */


static enum MHD_Result
reply_error(struct MHD_Connection *c, int status, long index, const char *field, const char *msg)
{
	json_t *e = json_object();

	json_object_set_new(e, "error", json_string(msg));
	json_object_set_new(e, "index", index >= 0 ? json_integer(index) : json_null());
	json_object_set_new(e, "field", field && *field ? json_string(field) : json_null());
	return http_reply_json(c, (unsigned)status, e);
}

static bool
authorized(struct vrd *v, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(h, strlen(h), v->token, v->token_len);
}

/* A refused request: counted, and logged with its source at most once a
 * second, the line saying how many went unlogged since the previous one, so
 * a token guesser leaves a trail without filling the journal. */
static void
auth_failed(struct vrd *v, struct MHD_Connection *c, const char *url)
{
	char from[HTTP_ADDR_STRLEN];
	struct timespec now;
	uint64_t unlogged = 0;
	bool log = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&v->lock);
	v->m.auth_failures++;
	v->m.batches[BR_UNAUTHORIZED] += !strcmp(url, "/v1/commands");
	if (now.tv_sec >= v->m.auth_next_log) {
		log = true;
		unlogged = v->m.auth_unlogged;
		v->m.auth_unlogged = 0;
		v->m.auth_next_log = now.tv_sec + 1;
	} else {
		v->m.auth_unlogged++;
	}
	pthread_mutex_unlock(&v->lock);
	if (!log)
		return;
	http_client_addr(c, from, sizeof(from));
	if (unlogged)
		log_warnx("api: refused a request from %s: missing or wrong bearer token "
		    "(and %llu more since the last such line)", from, (unsigned long long)unlogged);
	else
		log_warnx("api: refused a request from %s: missing or wrong bearer token", from);
}

/* --- POST /v1/commands ------------------------------------------------------- */


/* The vmdata triples left out of an applied batch: logged, and listed in the
 * reply as "skipped": [{"index": I, "ip": IP, "error": WHY}]. */
static void
skipped_report(const struct cmd_batch *b, json_t *reply)
{
	json_t *arr = NULL;
	char ip[IP4_STRLEN];

	for (size_t i = 0; i < b->n; i++) {
		const struct cmd *c = &b->v[i];

		if (c->type != CMD_VMDATA)
			continue;
		ip4_format(c->ip, ip);
		for (size_t k = 0; k < c->u.data.nskipped; k++) {
			log_warnx("commands: vmdata for %s: left out %s", ip, c->u.data.skipped[k]);
			if (!arr && !(arr = json_array()))
				return;
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
			    "ip", ip, "error", c->u.data.skipped[k]));
		}
	}
	if (arr)
		json_object_set_new(reply, "skipped", arr);
}

static enum MHD_Result
route_commands(void *cls, const struct http_req *hr)
{
	struct vrd *v = cls;
	struct MHD_Connection *c = hr->c;
	struct cmd_batch b;
	struct cmd_error err = { 0 };
	uint64_t gen = 0;
	bool large;
	json_t *ok;
	int r;

	r = cmd_batch_parse(hr->body, hr->len, &b, &err);
	large = hr->len >= TRIM_AFTER;
	http_req_body_drop(hr); /* parsed: the text is not needed any more */
	pthread_mutex_lock(&v->lock);
	if (r < 0) {
		v->m.batches[batch_result_of(err.status)]++;
		pthread_mutex_unlock(&v->lock);
		return reply_error(c, err.status, err.index, err.field, err.msg);
	}
	pthread_mutex_unlock(&v->lock);
	r = apply_batch(v, &b, &hr->start, &gen, &err);
	if (large)
		malloc_trim(0); /* hand a big batch's transient memory back */
	if (r < 0) {
		cmd_batch_free(&b);
		return reply_error(c, err.status, err.index, err.field, err.msg);
	}
	ok = json_object();
	json_object_set_new(ok, "applied", json_integer((json_int_t)b.n));
	json_object_set_new(ok, "generation", json_integer((json_int_t)gen));
	skipped_report(&b, ok);
	cmd_batch_free(&b);
	return http_reply_json(c, 200, ok);
}

/* --- views ------------------------------------------------------------------- */

static json_t *
vm_view(struct vrd *v, const struct vm *vm)
{
	json_t *o = vm_doc(vm, false);

	if (o)
		json_object_set_new(o, "has_password", json_boolean(store_has_password(&v->store, vm->ip)));
	return o;
}

static enum MHD_Result
route_vms(void *cls, const struct http_req *rq)
{
	struct vrd *v = cls;
	struct MHD_Connection *c = rq->c;
	const char *rest = strncmp(rq->url, "/v1/vms/", 8) ? "" : rq->url + 8;
	json_t *out;
	uint32_t ip;

	if (*rest == '\0') {
		pthread_mutex_lock(&v->lock);
		out = json_array();
		for (size_t i = 0; out && i < v->st.nvm; i++)
			json_array_append_new(out, vm_view(v, v->st.by_ip[i]));
		pthread_mutex_unlock(&v->lock);
		return http_reply_json(c, out ? 200 : 500, out);
	}
	if (ip4_parse(rest, &ip) < 0)
		return reply_error(c, 400, -1, "ip", "not an IPv4 address");
	pthread_mutex_lock(&v->lock);
	out = state_vm(&v->st, ip) ? vm_view(v, state_vm(&v->st, ip)) : NULL;
	pthread_mutex_unlock(&v->lock);
	if (!out)
		return reply_error(c, 404, -1, "ip", "no such VM");
	return http_reply_json(c, 200, out);
}

static int
count_passwords(struct vrd *v)
{
	int n = 0;

	for (size_t i = 0; i < v->st.nvm; i++)
		n += store_has_password(&v->store, v->st.by_ip[i]->ip);
	return n;
}

static enum MHD_Result
route_state(void *cls, const struct http_req *rq)
{
	struct vrd *v = cls;
	struct MHD_Connection *c = rq->c;
	json_t *o = json_object(), *paths = json_object(), *dm = json_object(), *nets = json_array();
	pid_t pid = dnsmasq_pid(v->dnsmasq_pid_file);

	pthread_mutex_lock(&v->lock);
	json_object_set_new(o, "generation", json_integer((json_int_t)v->st.generation));
	json_object_set_new(o, "vms", json_integer((json_int_t)v->st.nvm));
	json_object_set_new(o, "dhcp_entries", json_integer((json_int_t)v->st.nmac));
	json_object_set_new(o, "pending_passwords", json_integer(count_passwords(v)));
	json_object_set_new(o, "quarantined", json_integer((json_int_t)v->m.quarantined));
	for (size_t i = 0; i < v->st.nnet; i++)
		json_array_append_new(nets, net_doc(&v->st.nets[i]));
	json_object_set_new(o, "networks", nets);
	json_object_set_new(paths, "state_dir", json_string(v->store.dir));
	json_object_set_new(paths, "dhcphosts", json_string(v->store.paths.hostsfile));
	json_object_set_new(paths, "dhcpopts", json_string(v->store.paths.optsfile));
	json_object_set_new(paths, "hosts", json_string(v->store.paths.addnhosts));
	json_object_set_new(paths, "dhcphosts_dir", json_string(v->store.paths.hostsdir));
	json_object_set_new(paths, "hosts_dir", json_string(v->store.paths.addnhostsdir));
	json_object_set_new(paths, "dnsmasq_lease_file", json_string(v->store.paths.leasefile));
	json_object_set_new(paths, "dnsmasq_pid_file", json_string(v->dnsmasq_pid_file));
	json_object_set_new(o, "paths", paths);
	json_object_set_new(dm, "pid", pid > 0 ? json_integer(pid) : json_null());
	json_object_set_new(dm, "running", json_boolean(pid > 0));
	json_object_set_new(dm, "reloads", json_integer((json_int_t)v->m.reloads));
	json_object_set_new(dm, "last_reload", v->last_reload.tv_sec ?
	    json_real((double)v->last_reload.tv_sec + v->last_reload.tv_nsec / 1e9) : json_null());
	json_object_set_new(dm, "conf_changed_at", v->conf_written ?
	    json_integer((json_int_t)v->conf_written) : json_null());
	json_object_set_new(o, "dnsmasq", dm);
	pthread_mutex_unlock(&v->lock);
	return http_reply_json(c, 200, o);
}

static enum MHD_Result
route_healthz(void *cls, const struct http_req *rq)
{
	struct vrd *v = cls;
	struct MHD_Connection *c = rq->c;
	int r;

	pthread_mutex_lock(&v->lock);
	r = store_writable(&v->store);
	pthread_mutex_unlock(&v->lock);
	if (r < 0)
		return reply_error(c, 503, -1, "", "state directory not writable");
	return http_reply(c, 200, "text/plain", "ok\n", 3);
}

static enum MHD_Result
route_metrics(void *cls, const struct http_req *rq)
{
	struct vrd *v = cls;
	struct MHD_Connection *c = rq->c;
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b);
	pthread_mutex_lock(&v->lock);
	metrics_render(&v->m, v->st.generation, v->st.nvm, v->st.nnet, &b);
	pthread_mutex_unlock(&v->lock);
	ret = b.oom ? reply_error(c, 500, -1, "", "out of memory")
		    : http_reply(c, 200, "text/plain; version=0.0.4", b.p, b.len);
	buf_free(&b);
	return ret;
}

static const struct http_route routes[] = {
	{ "POST", "/v1/commands", 0, route_commands },
	{ "GET", "/v1/vms", 0, route_vms },
	{ "GET", "/v1/vms/", HTTP_ROUTE_PREFIX, route_vms },
	{ "GET", "/v1/state", 0, route_state },
	{ "GET", "/healthz", 0, route_healthz },
	{ "GET", "/metrics", 0, route_metrics },
};

/* The refusals the adapter answers (lib/httpd.h), in vrd's JSON error style. */
static enum MHD_Result
api_error(void *cls, const struct http_req *rq, unsigned status, const char *text)
{
	struct vrd *v = cls;

	switch (status) {
	case 401:
		return reply_error(rq->c, 401, -1, "Authorization", "missing or wrong bearer token");
	case 404:
		return reply_error(rq->c, 404, -1, "", "no such path");
	case 405:
		return reply_error(rq->c, 405, -1, "", strcmp(rq->url, "/v1/commands") ?
		    "method not allowed" : "use POST");
	case 413:
		pthread_mutex_lock(&v->lock);
		v->m.batches[BR_TOO_LARGE]++;
		pthread_mutex_unlock(&v->lock);
		return reply_error(rq->c, 413, -1, "", "body is over max-body");
	case 500:
		return reply_error(rq->c, 500, -1, "", "out of memory");
	default:
		return reply_error(rq->c, (int)status, -1, "", text);
	}
}

/* As soon as the headers are in, before any body is read: a client without
 * the token, or announcing a body over max-body, is refused at once. */
static unsigned
api_headers(void *cls, const struct http_req *rq)
{
	struct vrd *v = cls;

	if (!authorized(v, rq->c)) {
		auth_failed(v, rq->c, rq->url);
		return 401;
	}
	return rq->content_length > v->max_body ? 413 : 0;
}

void
api_router_init(struct vrd *v, struct http_router *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->routes = routes;
	rt->nroutes = sizeof(routes) / sizeof(routes[0]);
	rt->max_body = v->max_body;
	rt->headers = api_headers;
	rt->error = api_error;
	rt->cls = v;
}
