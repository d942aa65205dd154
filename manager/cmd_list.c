/* cmd_list.c: the read-only commands: queryAsyncJobResult (with each
 * stage's timing), listAsyncJobs, listHosts, listCapacity and listManagementServers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "job.h"

/* One job row as CloudStack shows it (caller holds the db lock). */
static json_t *
job_json(struct db *d, struct db_st *st, bool with_result)
{
	char created[32], done[32];
	const struct job_kind *k = job_kind_find(db_text(st, 1));
	int status = db_col_int(st, 3);
	json_t *j, *stages;

	time_format(db_col_int(st, 6), created);
	j = json_pack("{sssssisissssssssss}", "jobid", db_text(st, 0), "cmd", k ? k->cs_class : "",
	    "jobstatus", status, "jobprocstatus", 0, "jobinstancetype", "VirtualMachine",
	    "jobinstanceid", db_text(st, 2), "created", created, "jobresulttype", "object",
	    "accountid", db_text(st, 9));
	if (!j)
		return NULL;
	json_object_set_new(j, "jobresultcode", json_integer(status == 2 ?
	    db_col_int(st, 4) : 0));
	if (status) {
		time_format(db_col_int(st, 7), done);
		json_object_set_new(j, "completed", json_string(done));
	}
	if (with_result && status == 1)
		json_object_set_new(j, "jobresult", json_pack("{so*}", "virtualmachine",
		    vm_json(d, db_col_int(st, 10), k && k->result_password)));
	else if (with_result && status == 2)
		json_object_set_new(j, "jobresult", json_pack("{siss}", "errorcode",
		    db_col_int(st, 4), "errortext", db_text(st, 5)));
	if (with_result && (stages = json_loads(db_text(st, 8), 0, NULL)))
		json_object_set_new(j, "stages", stages);
	return j;
}

#define SQL_JOB_SELECT                                                                     \
	"SELECT j.uuid, j.cmd, v.uuid, j.status, j.result_code, j.error_text, j.created_ms,"  \
	" j.finished_ms, j.stages, a.api_id, j.vm_id FROM job j JOIN vm v ON v.id = j.vm_id"    \
	" JOIN account a ON a.id = j.account_id "

int
cmd_query_job(struct api_req *r, json_t **out, struct api_err *e)
{
	static const char sql[] = SQL_JOB_SELECT "WHERE j.uuid = ?1 AND (?2 <> 0 OR j.account_id = ?3)";
	const char *uuid = query_get(r->q, "jobid");
	struct db *d = r->m->reader;
	struct db_st *st;
	int x = -1;

	if (!uuid)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command "
		    "queryasyncjobresult due to missing parameter jobid");
	db_lock(d);
	if (!(st = db_stmt(d, sql))) {
		x = api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
		goto out;
	}
	db_bind_text(st, 1, uuid);
	db_bind_int(st, 2, r->acct->admin);
	db_bind_int(st, 3, r->acct->id);
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		x = api_fail(e, CS_PARAM_ERROR, "Unable to find job by id %.64s", uuid);
		goto out;
	}
	*out = job_json(d, st, true);
	db_reset(st);
	x = *out ? 0 : api_fail(e, CS_INTERNAL_ERROR, "out of memory");
out:
	db_unlock(d);
	return x;
}

int
cmd_list_jobs(struct api_req *r, json_t **out, struct api_err *e)
{
	static const char sql[] = SQL_JOB_SELECT
	    "WHERE (?1 <> 0 OR j.account_id = ?2) ORDER BY j.id DESC LIMIT ?3 OFFSET ?4";
	static const char sql_count[] = "SELECT COUNT(*) FROM job WHERE ?1 <> 0 OR account_id = ?2";
	struct db *d = r->m->reader;
	int64_t limit, offset;
	struct db_st *st;
	json_t *list;
	int64_t total = 0;

	if (api_paging(r->q, &limit, &offset, e) < 0)
		return -EINVAL; /* e says why */
	db_lock(d);
	if (!(st = db_stmt(d, sql))) {
		db_unlock(d);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
	}
	db_bind_int(st, 1, r->acct->admin);
	db_bind_int(st, 2, r->acct->id);
	db_bind_int(st, 3, limit);
	db_bind_int(st, 4, offset);
	list = json_array();
	while (db_step(st) == DB_ROW)
		json_array_append_new(list, job_json(d, st, false));
	db_reset(st);
	if ((st = db_stmt(d, sql_count))) {
		db_bind_int(st, 1, r->acct->admin);
		db_bind_int(st, 2, r->acct->id);
		if (db_step(st) == DB_ROW)
			total = db_col_int(st, 0);
		db_reset(st);
	}
	db_unlock(d);
	*out = json_pack("{sIso}", "count", (json_int_t)total, "asyncjobs", list);
	return 0;
}

static char *
percent(int64_t used, int64_t total, char *buf, size_t len)
{
	snprintf(buf, len, "%.2f%%", total ? 100.0 * (double)used / (double)total : 0.0);
	return buf;
}

/* Extension: listdomains=true adds the domains libvirt reports on each host
 * (the tests check that a failed job left none behind). */
static json_t *
host_json(struct mgr *m, struct cap_host *h, bool domains)
{
	int64_t cpu = atomic_load(&h->cpu_used_mhz), ram = atomic_load(&h->ram_used_mib);
	char pct[32];
	json_t *j = json_pack("{sssssssssssIsIsssIsIsI}", "id", h->api_id, "name", h->name,
	    "state", "Up", "type", "Routing", "hypervisor", "KVM", "cpuwithoverprovisioning",
	    (json_int_t)h->cpu_total_mhz, "cpuallocatedvalue", (json_int_t)cpu, "cpuallocated",
	    percent(cpu, h->cpu_total_mhz, pct, sizeof(pct)), "memorytotal",
	    (json_int_t)(h->ram_total_mib << 20), "memoryallocated", (json_int_t)(ram << 20),
	    "memorywithoverprovisioning", (json_int_t)(h->ram_total_mib << 20));
	char **names = NULL, err[256];
	size_t n = 0, i;

	if (j && domains) {
		json_t *a = json_array();

		if (virt_domain_list(m->virt, h->uri, &names, &n, err, sizeof(err)) == 0) {
			for (i = 0; i < n; i++)
				json_array_append_new(a, json_string(names[i]));
			virt_names_free(names, n);
		}
		json_object_set_new(j, "domains", a);
	}
	return j;
}

int
cmd_list_hosts(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *id = query_get(r->q, "id"), *ld = query_get(r->q, "listdomains");
	struct capacity *c = &r->m->cap;
	int64_t limit, offset, seen = 0;
	json_t *list = json_array();
	size_t i, n = 0;

	if (api_paging(r->q, &limit, &offset, e) < 0) {
		json_decref(list);
		return -EINVAL; /* e says why */
	}
	for (i = 0; i < c->nhosts; i++) {
		if (id && strcmp(id, c->hosts[i].uuid) && strcmp(id, c->hosts[i].api_id))
			continue;
		if (seen++ < offset || (limit >= 0 && (int64_t)n >= limit))
			continue;
		json_array_append_new(list, host_json(r->m, &c->hosts[i], ld && !strcmp(ld, "true")));
		n++;
	}
	*out = json_pack("{sIso}", "count", (json_int_t)seen, "host", list);
	return 0;
}

/* CloudStack's capacity types: 0 memory, 1 CPU, 3 allocated primary storage. */
int
cmd_list_capacity(struct api_req *r, json_t **out, struct api_err *e)
{
	struct capacity *c = &r->m->cap;
	int64_t used[3] = { 0 }, total[3] = { 0 }, zone = 0;
	static const int types[3] = { 0, 1, 3 };
	const char *zid = query_get(r->q, "zoneid");
	json_t *list = json_array();
	char pct[32];
	size_t i;
	int k;

	(void)e;
	if (zid) {
		db_lock(r->m->reader);
		db_ints_by_text(r->m->reader, "SELECT id FROM zone WHERE " API_ID_IS, zid, &zone, 1);
		db_unlock(r->m->reader);
		if (!zone) {
			json_decref(list);
			return api_fail(e, CS_PARAM_ERROR, "Unable to find zone by id %.64s", zid);
		}
	}
	for (i = 0; i < c->nhosts; i++) {
		if (zone && c->hosts[i].zone_id != zone)
			continue;
		used[0] += atomic_load(&c->hosts[i].ram_used_mib) << 20;
		total[0] += c->hosts[i].ram_total_mib << 20;
		used[1] += atomic_load(&c->hosts[i].cpu_used_mhz);
		total[1] += c->hosts[i].cpu_total_mhz;
	}
	for (i = 0; i < c->npools; i++) {
		if (zone && c->pools[i].zone_id != zone)
			continue;
		used[2] += atomic_load(&c->pools[i].used_bytes);
		total[2] += c->pools[i].capacity_bytes;
	}
	for (k = 0; k < 3; k++)
		json_array_append_new(list, json_pack("{sisIsIss}", "type", types[k],
		    "capacityused", (json_int_t)used[k], "capacitytotal", (json_int_t)total[k],
		    "percentused", percent(used[k], total[k], pct, sizeof(pct))));
	*out = json_pack("{sIso}", "count", (json_int_t)3, "capacity", list);
	return 0;
}

/* listManagementServers: every manager that ever served this database,
 * Up while its heartbeat is younger than the takeover time, with the
 * pending jobs it owns. */
int
cmd_list_managers(struct api_req *r, json_t **out, struct api_err *e)
{
	static const char sql[] =
	    "SELECT m.id, m.name, m.state, m.generation, m.listen, m.pid, m.started_ms,"
	    " m.heartbeat_ms, (SELECT COUNT(*) FROM job j WHERE j.owner_id = m.id"
	    " AND j.status = 0) FROM manager m ORDER BY m.id";
	struct db *d = r->m->reader;
	int64_t now = now_ms(), hb;
	struct db_st *st;
	json_t *list;
	char started[32], last[32];
	bool up;

	db_lock(d);
	if (!(st = db_stmt(d, sql))) {
		db_unlock(d);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
	}
	list = json_array();
	while (db_step(st) == DB_ROW) {
		hb = db_col_int(st, 7);
		up = !strcmp(db_text(st, 2), "up") && now - hb < r->m->takeover_ms;
		time_format(db_col_int(st, 6), started);
		time_format(hb, last);
		json_array_append_new(list, json_pack("{sIsssssIsssIsssssIsb}", "id",
		    (json_int_t)db_col_int(st, 0), "name", db_text(st, 1), "state",
		    up ? "Up" : "Down", "generation", (json_int_t)db_col_int(st, 3),
		    "serviceip", db_text(st, 4), "pid", (json_int_t)db_col_int(st, 5),
		    "lastserverstart", started, "lastheartbeat", last, "pendingjobs",
		    (json_int_t)db_col_int(st, 8), "self", db_col_int(st, 0) == r->m->self_id));
	}
	db_reset(st);
	db_unlock(d);
	*out = json_pack("{sIso}", "count", (json_int_t)json_array_size(list), "managementserver",
	    list);
	return 0;
}
