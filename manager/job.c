/* job.c: the async job engine: a bounded queue, the worker pool, the
 * stage runner (each stage timed, a failure undoing every stage before it
 * in reverse) and the recovery of jobs a previous run left unfinished. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "job.h"
#include "log.h"

static const char SQL_LOAD[] =
    "SELECT j.uuid, j.cmd, j.vm_id, v.account_id, v.uuid, v.name, v.instance_name, v.state,"
    " v.password, v.userdata, v.ssh_key, v.zone_id, IFNULL(v.host_id, 0),"
    " IFNULL(v.pool_id, 0), v.reserved, o.name, o.cpu_count, o.cpu_mhz, o.ram_mib,"
    " o.local_storage, z.name, t.uuid, s.path || '/' || t.path, t.size, n.id, n.vr_url,"
    " n.vr_token, n.bridge, n.vlan, n.gateway, n.dns, IFNULL(c.ip, 0), IFNULL(c.mac, ''),"
    " IFNULL(vol.id, 0), IFNULL(vol.uuid, ''), IFNULL(vol.path, '')"
    " FROM job j JOIN vm v ON v.id = j.vm_id JOIN offering o ON o.id = v.offering_id"
    " JOIN zone z ON z.id = v.zone_id JOIN template t ON t.id = v.template_id"
    " JOIN secondary s ON s.id = t.secondary_id JOIN network n ON n.id = v.network_id"
    " LEFT JOIN nic c ON c.vm_id = v.id"
    " LEFT JOIN volume vol ON vol.vm_id = v.id AND vol.type = 'ROOT'"
    " WHERE j.id = ?";

#define COPY(dst, col) snprintf(dst, sizeof(dst), "%s", db_text(st, col))

static void
job_fill(struct job *j, sqlite3_stmt *st)
{
	struct cap_pool *p;

	COPY(j->uuid, 0);
	COPY(j->cmd, 1);
	j->vm_id = sqlite3_column_int64(st, 2);
	j->account_id = sqlite3_column_int64(st, 3);
	COPY(j->vm_uuid, 4);
	COPY(j->vm_name, 5);
	COPY(j->instance_name, 6);
	COPY(j->state, 7);
	COPY(j->password, 8);
	j->userdata = strdup(db_text(st, 9));
	j->ssh_key = strdup(db_text(st, 10));
	j->zone_id = sqlite3_column_int64(st, 11);
	j->host_id = sqlite3_column_int64(st, 12);
	j->pool_id = sqlite3_column_int64(st, 13);
	j->reserved = sqlite3_column_int(st, 14) != 0;
	COPY(j->offering_name, 15);
	j->cpu_count = (unsigned)sqlite3_column_int(st, 16);
	j->cpu_mhz = (unsigned)sqlite3_column_int(st, 17);
	j->need.zone_id = j->zone_id;
	j->need.cpu_mhz = (int64_t)j->cpu_count * j->cpu_mhz;
	j->need.ram_mib = sqlite3_column_int64(st, 18);
	j->need.local = sqlite3_column_int(st, 19) != 0;
	COPY(j->zone_name, 20);
	COPY(j->tpl_uuid, 21);
	COPY(j->tpl_path, 22);
	j->need.disk_bytes = sqlite3_column_int64(st, 23);
	j->network_id = sqlite3_column_int64(st, 24);
	COPY(j->vr_url, 25);
	COPY(j->vr_token, 26);
	COPY(j->bridge, 27);
	j->vlan = (unsigned)sqlite3_column_int(st, 28);
	ip4_format((uint32_t)sqlite3_column_int64(st, 29), j->gateway);
	COPY(j->dns, 30);
	j->ip4 = (uint32_t)sqlite3_column_int64(st, 31);
	if (j->ip4)
		ip4_format(j->ip4, j->ip);
	COPY(j->mac, 32);
	j->volume_id = sqlite3_column_int64(st, 33);
	COPY(j->volume_uuid, 34);
	COPY(j->volume_path, 35);
	/* The ROOT volume's file follows from its pool: known before it exists,
	 * so a rollback after a crash can find it. */
	if (!j->volume_path[0] && j->volume_uuid[0] && j->pool_id &&
	    (p = capacity_pool(&j->m->cap, j->pool_id)))
		snprintf(j->volume_path, sizeof(j->volume_path), "%s/%s.qcow2", p->path,
		    j->volume_uuid);
}

int
job_load(struct mgr *m, int64_t id, struct job *j)
{
	sqlite3_stmt *st;
	int rc, r;

	memset(j, 0, sizeof(*j));
	j->m = m;
	j->id = id;
	db_lock(m->db);
	if (!(st = db_stmt(m->db, SQL_LOAD))) {
		db_unlock(m->db);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		job_fill(j, st);
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	sqlite3_reset(st);
	db_unlock(m->db);
	if (r == 0 && (!j->userdata || !j->ssh_key))
		r = -ENOMEM;
	if (r < 0)
		job_clear(j);
	return r;
}

void
job_clear(struct job *j)
{
	free(j->userdata);
	free(j->ssh_key);
	j->userdata = j->ssh_key = NULL;
}

void
job_note(struct job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->nrec == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(j->rec[j->nrec - 1].detail, sizeof(j->rec[0].detail), fmt, ap);
	va_end(ap);
}

char *
job_stages_json(const struct job *j)
{
	json_t *a = json_array();
	char start[32], end[32], *s;
	int i;

	if (!a)
		return NULL;
	for (i = 0; i < j->nrec; i++) {
		const struct job_stage_rec *r = &j->rec[i];

		time_format(r->start_us / 1000, start);
		time_format(r->end_us / 1000, end);
		json_array_append_new(a, json_pack("{sssIsIsfss}", "name", r->name, "startus",
		    (json_int_t)r->start_us, "endus", (json_int_t)r->end_us, "durationms",
		    (double)(r->end_us - r->start_us) / 1000.0, "detail", r->detail));
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* Runs a job's stages; on a failure, undoes that stage and every earlier
 * one in reverse and lets the job's failure commit record it. */
static void
job_run(struct mgr *m, int64_t id)
{
	const struct job_stage *stages;
	struct job j;
	size_t n, i, k;
	int r = 0;

	if ((r = job_load(m, id, &j)) < 0) {
		log_err(r, "job %lld: cannot load", (long long)id);
		return;
	}
	if (!strcmp(j.cmd, "deploy")) {
		stages = deploy_stages;
		n = deploy_nstages;
	} else {
		stages = destroy_stages;
		n = destroy_nstages;
	}
	for (i = 0; i < n; i++) {
		struct job_stage_rec *rec = &j.rec[j.nrec++];

		rec->name = stages[i].name;
		rec->start_us = now_us();
		r = stages[i].run(&j);
		rec->end_us = now_us();
		if (r < 0)
			break;
		j.err[0] = '\0'; /* a stage that succeeded may leave a note there */
	}
	if (r < 0) {
		if (!j.err[0])
			snprintf(j.err, sizeof(j.err), "%s failed: %s", stages[i].name, strerror(-r));
		if (!j.fail_code)
			j.fail_code = CS_INTERNAL_ERROR;
		log_warnx("job %s (%s VM %s): %s: %s; rolling back", j.uuid, j.cmd, j.vm_uuid,
		    stages[i].name, j.err);
		for (k = i + 1; k-- > 0;)
			if (stages[k].undo)
				stages[k].undo(&j);
		if (!strcmp(j.cmd, "deploy"))
			r = deploy_fail_commit(&j);
		else /* a destroy keeps what it could not clean up: retry it */
			r = job_finish_commit(&j, "Error", false, 2);
		if (r < 0)
			log_err(r, "job %s: cannot record the failure", j.uuid);
		atomic_fetch_add(&m->jobs_failed, 1);
	} else {
		atomic_fetch_add(&m->jobs_done, 1);
		log_debug("job %s (%s VM %s): done", j.uuid, j.cmd, j.vm_uuid);
	}
	job_clear(&j);
}

static void *
worker(void *arg)
{
	struct mgr *m = arg;
	struct job_queue *q = &m->q;
	int64_t id;

	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (!q->len && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stopping) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		id = q->ids[q->head];
		q->head = (q->head + 1) % JOB_QUEUE_MAX;
		q->len--;
		pthread_mutex_unlock(&q->mu);
		job_run(m, id);
	}
}

int
jobs_submit(struct mgr *m, int64_t id)
{
	struct job_queue *q = &m->q;
	int r = 0;

	pthread_mutex_lock(&q->mu);
	if (q->len == JOB_QUEUE_MAX) {
		r = -EAGAIN;
	} else {
		q->ids[(q->head + q->len) % JOB_QUEUE_MAX] = id;
		q->len++;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return r;
}

int
jobs_start(struct mgr *m, unsigned nworkers)
{
	struct job_queue *q = &m->q;
	unsigned i;
	int r;

	memset(q, 0, sizeof(*q));
	if (!(q->ids = calloc(JOB_QUEUE_MAX, sizeof(*q->ids))))
		return -ENOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (nworkers > WORKERS_MAX)
		nworkers = WORKERS_MAX;
	for (i = 0; i < nworkers; i++) {
		if ((r = pthread_create(&m->workers[i], NULL, worker, m)) != 0) {
			m->nworkers = i;
			jobs_stop(m);
			return -r;
		}
	}
	m->nworkers = nworkers;
	return 0;
}

/* Stops the workers after the jobs they are running; queued jobs stay
 * pending in the database and are recovered by the next start. */
void
jobs_stop(struct mgr *m)
{
	struct job_queue *q = &m->q;
	unsigned i;

	if (!q->ids)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < m->nworkers; i++)
		pthread_join(m->workers[i], NULL);
	m->nworkers = 0;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->ids);
	q->ids = NULL;
}

/* A deploy that had not reserved anything yet is simply run again; one
 * that had is rolled back (every undo is idempotent and finds its traces
 * in the database: the reserved flag, the NIC, the volume's pool, the
 * host).  Destroy jobs are idempotent and run again. */
static int
recover_one(struct mgr *m, int64_t id)
{
	struct job j;
	size_t k;
	int r;

	if ((r = job_load(m, id, &j)) < 0)
		return r;
	if (strcmp(j.cmd, "deploy") || (!j.reserved && !strcmp(j.state, "Stopped"))) {
		log_info("job %s (%s VM %s): unfinished at the last stop; running it again",
		    j.uuid, j.cmd, j.vm_uuid);
		job_clear(&j);
		return jobs_submit(m, id);
	}
	log_info("job %s (deploy VM %s): interrupted in state %s; rolling back", j.uuid,
	    j.vm_uuid, j.state);
	for (k = deploy_nstages; k-- > 0;)
		if (deploy_stages[k].undo)
			deploy_stages[k].undo(&j);
	snprintf(j.err, sizeof(j.err), "vr-manager stopped during the job; rolled back");
	j.fail_code = CS_INTERNAL_ERROR;
	r = deploy_fail_commit(&j);
	job_clear(&j);
	return r;
}

int
jobs_recover(struct mgr *m)
{
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0, i;
	int rc = SQLITE_ERROR, r = 0;

	db_lock(m->db);
	if (sqlite3_prepare_v2(m->db->h, "SELECT id FROM job WHERE status = 0 ORDER BY id", -1,
	    &st, NULL) == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if ((r = array_reserve(&ids, &cap, n + 1, sizeof(*ids), 64)) < 0)
				break;
			ids[n++] = sqlite3_column_int64(st, 0);
		}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_errno(rc);
	sqlite3_finalize(st);
	db_unlock(m->db);
	if (r < 0) {
		free(ids);
		return r;
	}
	for (i = 0; i < n; i++)
		if ((rc = recover_one(m, ids[i])) < 0)
			log_err(rc, "job %lld: recovery failed", (long long)ids[i]);
		else
			r++;
	free(ids);
	return r;
}
