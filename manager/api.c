/* api.c: the HTTP side of CloudStack's API: collects a request's
 * parameters (query string and form body), checks the apiKey and its
 * signature, dispatches through the command table, and answers with
 * CloudStack's JSON and error codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "log.h"
#include "sign.h"

static const struct api_cmd api_cmds[] = {
	{ "deployVirtualMachine", cmd_deploy_vm, false },
	{ "destroyVirtualMachine", cmd_vm_job, false },
	{ "startVirtualMachine", cmd_vm_job, false },
	{ "stopVirtualMachine", cmd_vm_job, false },
	{ "rebootVirtualMachine", cmd_vm_job, false },
	{ "resetPasswordForVirtualMachine", cmd_vm_job, false },
	{ "updateVirtualMachine", cmd_update_vm, false },
	{ "getVirtualMachineUserData", cmd_get_userdata, false },
	{ "listVirtualMachines", cmd_list_vms, false },
	{ "queryAsyncJobResult", cmd_query_job, false },
	{ "listAsyncJobs", cmd_list_jobs, false },
	{ "listHosts", cmd_list_hosts, true },
	{ "listCapacity", cmd_list_capacity, true },
	{ "listManagementServers", cmd_list_managers, true },
	{ "registerSSHKeyPair", cmd_register_keypair, false },
	{ "createSSHKeyPair", cmd_create_keypair, false },
	{ "deleteSSHKeyPair", cmd_delete_keypair, false },
	{ "listZones", cmd_list_catalogue, false },
	{ "listServiceOfferings", cmd_list_catalogue, false },
	{ "listTemplates", cmd_list_catalogue, false },
	{ "listNetworks", cmd_list_catalogue, false },
	{ "listVolumes", cmd_list_catalogue, false },
	{ "listSSHKeyPairs", cmd_list_catalogue, false },
	{ "listPublicIpAddresses", cmd_list_catalogue, false },
	{ "listPortForwardingRules", cmd_list_catalogue, false },
	{ "listIpForwardingRules", cmd_list_catalogue, false },
};

int
api_fail(struct api_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct api_account *)a)->api_key,
	    ((const struct api_account *)b)->api_key);
}

static int
fill_account(void *el, struct db_st *st, void *arg)
{
	struct api_account *ac = el;

	(void)arg;
	ac->id = db_col_int(st, 0);
	snprintf(ac->uuid, sizeof(ac->uuid), "%s", db_text(st, 1));
	snprintf(ac->name, sizeof(ac->name), "%s", db_text(st, 2));
	snprintf(ac->api_key, sizeof(ac->api_key), "%s", db_text(st, 3));
	snprintf(ac->secret, sizeof(ac->secret), "%s", db_text(st, 4));
	ac->admin = !strcmp(db_text(st, 5), "admin");
	return 0;
}

int
api_init(struct api *a, struct mgr *m)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->m = m;
	db_lock(m->db);
	r = db_load_rows(m->db, "SELECT id, uuid, name, api_key, secret_key, role FROM account",
	    &a->accounts, &a->naccounts, sizeof(*a->accounts), fill_account, NULL);
	db_unlock(m->db);
	if (r == 0 && a->naccounts) /* none before the first init: qsort(NULL) is undefined */
		qsort(a->accounts, a->naccounts, sizeof(*a->accounts), cmp_key);
	return r;
}

void
api_free(struct api *a)
{
	http_server_stop(&a->http);
	free(a->accounts);
	a->accounts = NULL;
}

/* "deployVirtualMachine" -> "deployvirtualmachineresponse". */
static void
response_name(const char *cmd, char *out, size_t len)
{
	size_t i;

	for (i = 0; cmd[i] && i + 9 < len; i++)
		out[i] = (char)(cmd[i] >= 'A' && cmd[i] <= 'Z' ? cmd[i] + 32 : cmd[i]);
	snprintf(out + i, len - i, "response");
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, const char *cmd, const struct api_err *e)
{
	char name[96];

	response_name(cmd && *cmd ? cmd : "error", name, sizeof(name));
	return http_reply_json(c, (unsigned)e->code,
	    json_pack("{s{s[]sisiss}}", name, "uuidList", "errorcode", e->code, "cserrorcode",
	    e->code == CS_UNAUTHORIZED ? 9999 : 4350, "errortext", e->text));
}

static const struct api_cmd *
find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(api_cmds) / sizeof(api_cmds[0]); i++)
		if (!strcmp(api_cmds[i].name, name))
			return &api_cmds[i];
	return NULL;
}

static const struct api_account *
find_account(const struct api *a, const char *key)
{
	struct api_account k;

	snprintf(k.api_key, sizeof(k.api_key), "%s", key);
	return bsearch(&k, a->accounts, a->naccounts, sizeof(*a->accounts), cmp_key);
}

/* Authenticates and runs one parsed request. */
static enum MHD_Result
api_dispatch(struct api *a, struct MHD_Connection *c, const struct query *q)
{
	const char *cmd = query_get(q, "command"), *key = query_get(q, "apiKey");
	const struct api_account *acct;
	const struct api_cmd *ac;
	struct api_req req;
	struct api_err e = { 0, "" };
	json_t *out = NULL;
	char name[96];
	const char *resp = query_get(q, "response");

	if (resp && strcasecmp(resp, "json")) {
		api_fail(&e, CS_PARAM_ERROR, "only response=json is served");
		return reply_error(c, cmd, &e);
	}
	if (!cmd || !*cmd) {
		api_fail(&e, CS_PARAM_ERROR, "missing parameter command");
		return reply_error(c, NULL, &e);
	}
	/* Authentication comes before anything that tells a stranger whether a
	 * command exists. */
	if (!key || !(acct = find_account(a, key)) || sign_verify(acct->secret, q, time(NULL))) {
		atomic_fetch_add(&a->unauthorized, 1);
		api_fail(&e, CS_UNAUTHORIZED,
		    "unable to verify user credentials and/or request signature");
		return reply_error(c, cmd, &e);
	}
	if (!(ac = find_cmd(cmd)) || (ac->admin && !acct->admin)) {
		api_fail(&e, CS_UNAUTHORIZED,
		    "The given command does not exist or it is not available for user");
		return reply_error(c, cmd, &e);
	}
	req.m = a->m;
	req.q = q;
	req.acct = acct;
	if (ac->fn(&req, &out, &e) < 0) {
		json_decref(out);
		if (e.code == CS_INTERNAL_ERROR)
			log_warnx("api: %s by %s: %s", cmd, acct->name, e.text);
		return reply_error(c, cmd, &e);
	}
	/* nothing the answer shows may be lost to a power failure after it */
	db_durable_barrier(a->m->db);
	response_name(cmd, name, sizeof(name));
	return http_reply_json(c, 200, json_pack("{so}", name, out));
}

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct buf *b = cls;

	(void)kind;
	if (b->len)
		buf_adds(b, "&");
	buf_adds(b, key);
	if (value) {
		buf_adds(b, "=");
		buf_adds(b, value);
	}
	return MHD_YES;
}

/* A request to /client/api: its parameters are the query string's and the
 * form body's together. */
static enum MHD_Result
api_request(void *cls, const struct http_req *rq)
{
	struct api *a = cls;
	struct api_err e = { 0, "" };
	struct query q = { 0 };
	enum MHD_Result ret;
	struct buf raw;
	int r;

	atomic_fetch_add(&a->requests, 1);
	buf_init(&raw);
	MHD_get_connection_values(rq->c, MHD_GET_ARGUMENT_KIND, collect_arg, &raw);
	if (rq->len) {
		if (raw.len)
			buf_adds(&raw, "&");
		buf_add(&raw, rq->body, rq->len);
	}
	if (raw.oom) {
		buf_free(&raw);
		return MHD_NO;
	}
	r = query_parse(raw.p ? raw.p : "", raw.len, &q);
	buf_free(&raw);
	if (r < 0) {
		api_fail(&e, CS_PARAM_ERROR, "malformed request parameters: %s",
		    r == -E2BIG ? "too many or too long" : "bad encoding, empty or repeated key");
		return reply_error(rq->c, NULL, &e);
	}
	ret = api_dispatch(a, rq->c, &q);
	query_free(&q);
	return ret;
}

/* The adapter's refusals: a wrong path or method in plain text, a body past
 * QUERY_LEN_MAX as CloudStack's parameter error. */
static enum MHD_Result
api_refuse(void *cls, const struct http_req *rq, unsigned status, const char *text)
{
	struct api *a = cls;
	struct api_err e = { 0, "" };

	if (status == 404)
		return http_reply(rq->c, 404, "text/plain", "not found\n", 10);
	if (status == 405)
		return http_reply(rq->c, 405, "text/plain", "GET or POST\n", 12);
	atomic_fetch_add(&a->requests, 1);
	api_fail(&e, CS_PARAM_ERROR, "%s", text);
	return reply_error(rq->c, NULL, &e);
}

static const struct http_route api_routes[] = {
	{ "GET", "/client/api", 0, api_request },
	{ "POST", "/client/api", 0, api_request },
	{ "GET", "/client/api/", 0, api_request },
	{ "POST", "/client/api/", 0, api_request },
};

int
api_listen(struct api *a, char *const *listen, size_t n, unsigned threads, char *err,
    size_t errlen)
{
	struct http_limits lim = {
		.conn_limit = 512,
		.per_ip_limit = 0,
		.timeout_s = 30,
		.mem_limit = 256 * 1024,
		.threads = threads,
		.poll_loop = true,
		.header_deadline_s = 10,
	};

	a->router = (struct http_router){
		.routes = api_routes,
		.nroutes = sizeof(api_routes) / sizeof(api_routes[0]),
		.max_body = QUERY_LEN_MAX,
		.error = api_refuse,
		.cls = a,
	};
	return http_router_start(&a->http, listen, n, &lim, &a->router, err, errlen);
}

int
api_paging(const struct query *q, int64_t *limit, int64_t *offset, struct api_err *e)
{
	const char *ps = query_get(q, "pagesize"), *pg = query_get(q, "page");
	char *end;
	long long size = 500, page = 1;

	if (!ps && !pg) { /* everything, as CloudStack does without paging */
		*limit = INT64_MAX; /* a LIMIT both SQLite and PostgreSQL take */
		*offset = 0;
		return 0;
	}
	if (ps) {
		size = strtoll(ps, &end, 10);
		if (*end || size < 1 || size > 10000)
			return api_fail(e, CS_PARAM_ERROR, "pagesize must be 1..10000");
	}
	if (pg) {
		page = strtoll(pg, &end, 10);
		if (*end || page < 1 || page > 1000000)
			return api_fail(e, CS_PARAM_ERROR, "page must be 1..1000000");
	}
	*limit = size;
	*offset = (page - 1) * size;
	return 0;
}
