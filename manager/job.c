/* job.c: the async job engine: a bounded queue, the worker pool, the
 * stage runner for any job kind (each stage timed here, a stage marked
 * beside_next run on a second thread beside the next one, a failure undoing
 * that stage and every one before it in reverse, then the kind's commit or
 * failure record) and the recovery of jobs a previous run left unfinished.
 * It knows no job kind by name: they are rows of job_kinds.c's table. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"

/* A stage running beside another: its own record (see job_run_beside). */
static _Thread_local struct job_stage_rec *tl_rec;

void
job_note(struct job *j, const char *fmt, ...)
{
	struct job_stage_rec *rec = tl_rec ? tl_rec : j->nrec ? &j->rec[j->nrec - 1] : NULL;
	va_list ap;

	if (!rec)
		return;
	va_start(ap, fmt);
	vsnprintf(rec->detail, sizeof(rec->detail), fmt, ap);
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

static void
job_undo_from(struct job *j, size_t i)
{
	const struct job_stage *stages = j->kind->stages;

	for (size_t k = i + 1; k-- > 0;)
		if (stages[k].undo)
			stages[k].undo(j);
}

/* The record of a stage about to run, stamped with its start. */
static struct job_stage_rec *
job_rec_open(struct job *j, const char *name)
{
	struct job_stage_rec *rec = &j->rec[j->nrec++];

	rec->name = name;
	rec->start_us = now_us();
	rec->end_us = rec->start_us;
	return rec;
}

struct beside {
	struct job copy; /* what the stage sees: only err and fail_code come back */
	const struct job_stage *stage;
	struct job_stage_rec *rec;
	int r;
};

static void *
beside_run(void *arg)
{
	struct beside *b = arg;

	tl_rec = b->rec;
	b->r = b->stage->run(&b->copy);
	b->rec->end_us = now_us();
	tl_rec = NULL;
	return NULL;
}

/* Stages i (beside_next) and i + 1 at the same time, i on a second thread.
 * Returns the first failure in table order (*failed: its stage's name, and
 * j->err its text), or 0. */
static int
job_run_beside(struct job *j, size_t i, const char **failed)
{
	const struct job_stage *st = j->kind->stages;
	struct job_stage_rec *rec;
	struct beside *b;
	pthread_t t;
	bool threaded;
	int r;

	if (!(b = malloc(sizeof(*b))))
		return -ENOMEM;
	b->rec = job_rec_open(j, st[i].name);
	b->copy = *j;
	b->stage = &st[i];
	if (!(threaded = pthread_create(&t, NULL, beside_run, b) == 0))
		beside_run(b); /* no thread: one after the other */
	rec = job_rec_open(j, st[i + 1].name);
	r = st[i + 1].run(j);
	rec->end_us = now_us();
	if (threaded)
		pthread_join(t, NULL);
	if (b->r < 0) {
		r = b->r;
		*failed = st[i].name;
		memcpy(j->err, b->copy.err, sizeof(j->err));
		j->fail_code = b->copy.fail_code;
	} else if (r < 0) {
		*failed = st[i + 1].name;
	}
	free(b);
	return r;
}

/* Runs a job's stages, then its kind's commit as the "completion" stage;
 * on a failure, undoes the stages run (the failed one included) in reverse
 * and lets the kind record the failure. */
static void
job_run(struct mgr *m, int64_t id)
{
	const struct job_kind *k;
	struct job_stage_rec *rec;
	const char *failed = "completion";
	struct job j;
	size_t i;
	int r = 0;

	if (!job_owned(m, id)) {
		log_info("job %lld: no longer this manager's (taken over); not run", (long long)id);
		return;
	}
	if ((r = job_load(m, id, &j)) < 0) {
		log_err(r, "job %lld: cannot load", (long long)id);
		return;
	}
	k = j.kind;
	for (i = 0; i < k->nstages; i++) {
		if (k->stages[i].beside_next && i + 1 < k->nstages) {
			r = job_run_beside(&j, i, &failed);
			i++; /* a failure undoes both */
		} else {
			rec = job_rec_open(&j, k->stages[i].name);
			r = k->stages[i].run(&j);
			rec->end_us = now_us();
			failed = k->stages[i].name;
		}
		if (r < 0)
			break;
		failed = "completion";
		j.err[0] = '\0'; /* a stage that succeeded may leave a note there */
	}
	if (r == 0) {
		/* The completion stage's time is stamped before its commit, which
		 * records it. */
		rec = job_rec_open(&j, "completion");
		rec->end_us = now_us();
		if ((r = k->commit(&j)) < 0)
			i = k->nstages - 1;
	}
	if (r < 0) {
		if (!j.err[0])
			snprintf(j.err, sizeof(j.err), "%s failed: %s", failed, strerror(-r));
		if (!j.fail_code)
			j.fail_code = CS_INTERNAL_ERROR;
		if (r == -ESTALE || !job_owned(m, id)) {
			/* its new owner rolls it back from the database's traces */
			log_warnx("job %s (%s VM %s): taken over by another manager; left to it",
			    j.uuid, j.cmd, j.vm_uuid);
			job_clear(&j);
			return;
		}
		log_warnx("job %s (%s VM %s): %s: %s; rolling back", j.uuid, j.cmd, j.vm_uuid,
		    failed, j.err);
		job_undo_from(&j, i);
		if ((r = k->fail(&j)) < 0)
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
		if (id < 0) { /* taken over from another manager (cluster.c) */
			int r = jobs_recover_one(m, -id);

			if (r < 0)
				log_err(r, "job %lld: recovery after a takeover failed", (long long)-id);
		} else {
			job_run(m, id);
		}
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

/* A job whose kind says it can run again is queued again; any other is
 * rolled back (every undo is idempotent and finds its traces in the
 * database: the reserved flag, the NIC, the volume's pool, the host). */
int
jobs_recover_one(struct mgr *m, int64_t id)
{
	struct job j;
	int r;

	if ((r = job_load(m, id, &j)) < 0)
		return r;
	if (!j.kind->rerun || j.kind->rerun(&j)) {
		log_info("job %s (%s VM %s): unfinished at the last stop; running it again",
		    j.uuid, j.cmd, j.vm_uuid);
		job_clear(&j);
		return jobs_submit(m, id);
	}
	log_info("job %s (%s VM %s): interrupted in state %s; rolling back", j.uuid, j.cmd,
	    j.vm_uuid, vm_state_names[j.state]);
	job_undo_from(&j, j.kind->nstages - 1);
	snprintf(j.err, sizeof(j.err), "vr-manager stopped during the job; rolled back");
	j.fail_code = CS_INTERNAL_ERROR;
	r = j.kind->fail(&j);
	job_clear(&j);
	return r;
}

int
jobs_recover(struct mgr *m)
{
	struct db_st *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0, i;
	int rc = -EIO, r = 0;

	db_lock(m->db);
	if ((st = db_stmt(m->db, "SELECT id FROM job WHERE status = 0 AND owner_id = ?1"
	    " ORDER BY id"))) {
		db_bind_int(st, 1, m->self_id);
		while ((rc = db_step(st)) == DB_ROW) {
			if ((r = array_reserve(&ids, &cap, n + 1, sizeof(*ids), 64)) < 0)
				break;
			ids[n++] = db_col_int(st, 0);
		}
	}
	if (r == 0 && rc != DB_DONE)
		r = rc;
	db_reset(st);
	db_unlock(m->db);
	if (r < 0) {
		free(ids);
		return r;
	}
	for (i = 0; i < n; i++)
		if ((rc = jobs_recover_one(m, ids[i])) < 0)
			log_err(rc, "job %lld: recovery failed", (long long)ids[i]);
		else
			r++;
	free(ids);
	return r;
}
