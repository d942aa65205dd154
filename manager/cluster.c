/* cluster.c: several vr-managers on one database.  Each has a row in the
 * manager table (its name, a generation that grows on every start and
 * takeover, a heartbeat); every pending job names its owner and the
 * generation it was claimed in.  A thread heartbeats, and takes over the
 * jobs of a manager whose heartbeat is older than the takeover time: it
 * bumps that manager's generation (one taker wins), moves its pending jobs
 * to itself and recovers them as a restart would.  A manager that finds
 * its own generation bumped was presumed dead: it stops at once, and the
 * writes that matter (a reservation, a job's end) check the job's owner
 * and generation in the same transaction (job_fence), so it cannot finish
 * a job taken from it either. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "job.h"
#include "log.h"

int
cluster_join(struct mgr *m, const char *name, const char *listen)
{
	static const char sql_join[] =
	    "INSERT INTO manager (name, generation, state, listen, pid, started_ms, heartbeat_ms)"
	    " VALUES (?1, 1, 'up', ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET"
	    " generation = manager.generation + 1, state = 'up', listen = ?2, pid = ?3,"
	    " started_ms = ?4, heartbeat_ms = ?4 RETURNING id, generation";
	/* its own pending jobs (and those of a database from before migration
	 * 3) are claimed again in the new generation, in the same transaction:
	 * a takeover that waited on the row sees the new generation and fails */
	static const char sql_claim[] =
	    "UPDATE job SET owner_id = ?1, owner_gen = ?2 WHERE status = 0"
	    " AND (owner_id = ?1 OR owner_id = 0)";
	struct db *d = m->db;
	struct db_st *st;
	int64_t now = now_ms();
	int r;

	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	r = -EIO;
	if (!(st = db_stmt(d, sql_join)))
		goto fail;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, listen);
	db_bind_int(st, 3, getpid());
	db_bind_int(st, 4, now);
	if ((r = db_step(st)) == DB_ROW) {
		m->self_id = db_col_int(st, 0);
		m->self_gen = db_col_int(st, 1);
	}
	db_reset(st);
	if (r != DB_ROW) {
		r = r < 0 ? r : -EIO;
		goto fail;
	}
	if ((r = db_run(d, sql_claim, "ii", m->self_id, m->self_gen)) < 0 ||
	    (r = db_commit(d)) < 0)
		goto fail;
	snprintf(m->self_name, sizeof(m->self_name), "%s", name);
	log_info("manager %s: id %lld, generation %lld", name, (long long)m->self_id,
	    (long long)m->self_gen);
	db_unlock(d);
	return 0;
fail:
	db_rollback(d);
out:
	db_unlock(d);
	return r;
}

int
job_fence(struct mgr *m, int64_t job_id)
{
	/* an UPDATE, not a SELECT: it holds the job's row to the commit, so
	 * a takeover waits for this transaction and then finds the job done */
	static const char sql[] = "UPDATE job SET owner_gen = owner_gen WHERE id = ?1"
				  " AND owner_id = ?2 AND owner_gen = ?3 AND status = 0";
	int r;

	if ((r = db_run(m->db, sql, "iii", job_id, m->self_id, m->self_gen)) < 0)
		return r;
	return db_changes(m->db) == 1 ? 0 : -ESTALE;
}

bool
job_owned(struct mgr *m, int64_t job_id)
{
	static const char sql[] = "SELECT 1 FROM job WHERE id = ?1 AND owner_id = ?2"
				  " AND owner_gen = ?3 AND status = 0";
	struct db_st *st;
	bool own = false;

	db_lock(m->db);
	if ((st = db_stmt(m->db, sql))) {
		db_bind_int(st, 1, job_id);
		db_bind_int(st, 2, m->self_id);
		db_bind_int(st, 3, m->self_gen);
		own = db_step(st) == DB_ROW;
		db_reset(st);
	}
	db_unlock(m->db);
	return own;
}

/* The heartbeat: 0, or -ESTALE when another manager took this one's
 * generation (it was presumed dead). */
static int
heartbeat(struct mgr *m)
{
	static const char sql[] = "UPDATE manager SET heartbeat_ms = ?3, state = 'up'"
				  " WHERE id = ?1 AND generation = ?2";
	int r;

	db_lock(m->db);
	r = db_run(m->db, sql, "iii", m->self_id, m->self_gen, now_ms());
	if (r == 0 && db_changes(m->db) != 1)
		r = -ESTALE;
	db_unlock(m->db);
	return r;
}

/* Takes over manager id (at generation gen): its pending jobs become this
 * manager's, their ids appended to *ids.  0 (also when another manager
 * took it first) or -errno. */
static int
take_over(struct mgr *m, int64_t id, int64_t gen, int64_t stale_ms, int64_t **ids,
    size_t *n)
{
	static const char sql_fence[] =
	    "UPDATE manager SET generation = generation + 1, state = 'taken'"
	    " WHERE id = ?1 AND generation = ?2 AND heartbeat_ms < ?3";
	static const char sql_move[] =
	    "UPDATE job SET owner_id = ?1, owner_gen = ?2 WHERE owner_id = ?3 AND status = 0"
	    " RETURNING id";
	struct db *d = m->db;
	struct db_st *st;
	size_t cap = *n, before = *n;
	int r;

	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	if ((r = db_run(d, sql_fence, "iii", id, gen, stale_ms)) < 0)
		goto fail;
	if (db_changes(d) != 1) { /* alive again, or taken by another */
		db_rollback(d);
		goto out;
	}
	if (!(st = db_stmt(d, sql_move))) {
		r = -EIO;
		goto fail;
	}
	db_bind_int(st, 1, m->self_id);
	db_bind_int(st, 2, m->self_gen);
	db_bind_int(st, 3, id);
	while ((r = db_step(st)) == DB_ROW) {
		if ((r = array_reserve(ids, &cap, *n + 1, sizeof(**ids), 64)) < 0)
			break;
		(*ids)[(*n)++] = db_col_int(st, 0);
	}
	db_reset(st);
	if (r < 0 || (r = db_commit(d)) < 0) {
		*n = before;
		goto fail;
	}
	log_warnx("manager %lld (generation %lld) stopped heartbeating: %zu pending jobs taken over",
	    (long long)id, (long long)gen, *n - before);
	r = 0;
	goto out;
fail:
	db_rollback(d);
out:
	db_unlock(d);
	return r;
}

/* Every manager whose heartbeat is older than the takeover time (or that
 * stopped, leaving its queued jobs pending): taken over, its jobs queued
 * for recovery by this manager's workers. */
static void
take_over_dead(struct mgr *m)
{
	static const char sql[] = "SELECT id, generation FROM manager WHERE id <> ?1"
				  " AND state IN ('up', 'stopped') AND heartbeat_ms < ?2";
	int64_t stale = now_ms() - m->takeover_ms, (*dead)[2] = NULL, *ids = NULL;
	size_t ndead = 0, cap = 0, nids = 0, i;
	struct db_st *st;
	int r;

	pthread_mutex_lock(&m->cl_take_mu);
	if (m->cl_no_takeover) {
		pthread_mutex_unlock(&m->cl_take_mu);
		return;
	}
	db_lock(m->db);
	if ((st = db_stmt(m->db, sql))) {
		db_bind_int(st, 1, m->self_id);
		db_bind_int(st, 2, stale);
		while (db_step(st) == DB_ROW) {
			if (array_reserve(&dead, &cap, ndead + 1, sizeof(*dead), 4) < 0)
				break;
			dead[ndead][0] = db_col_int(st, 0);
			dead[ndead][1] = db_col_int(st, 1);
			ndead++;
		}
		db_reset(st);
	}
	db_unlock(m->db);
	for (i = 0; i < ndead; i++)
		if ((r = take_over(m, dead[i][0], dead[i][1], stale, &ids, &nids)) < 0)
			log_err(r, "manager %lld: takeover failed", (long long)dead[i][0]);
	/* recovered by the workers: a rollback may wait on a VR, and this
	 * thread must keep heartbeating */
	for (i = 0; i < nids; i++)
		if ((r = jobs_submit(m, -ids[i])) < 0)
			log_err(r, "job %lld: taken over, left pending (queue full)", (long long)ids[i]);
	pthread_mutex_unlock(&m->cl_take_mu);
	free(dead);
	free(ids);
}

static void *
cluster_thread(void *arg)
{
	struct mgr *m = arg;
	int64_t period = m->takeover_ms / 5;
	struct timespec ts;
	int r;

	if (period < 100)
		period = 100;
	pthread_mutex_lock(&m->cl_mu);
	while (!m->cl_stopping) {
		pthread_mutex_unlock(&m->cl_mu);
		if ((r = heartbeat(m)) == -ESTALE) {
			/* presumed dead and taken over: whatever this process
			 * still holds belongs to another manager now */
			log_warnx("manager %s: generation %lld was taken over by another manager;"
			    " exiting", m->self_name, (long long)m->self_gen);
			_exit(3);
		} else if (r < 0) {
			log_err(r, "manager %s: heartbeat failed", m->self_name);
		}
		take_over_dead(m);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += period / 1000;
		ts.tv_nsec += (period % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&m->cl_mu);
		if (!m->cl_stopping)
			pthread_cond_timedwait(&m->cl_cv, &m->cl_mu, &ts);
	}
	pthread_mutex_unlock(&m->cl_mu);
	return NULL;
}

int
cluster_start(struct mgr *m)
{
	int r;

	pthread_mutex_init(&m->cl_mu, NULL);
	pthread_cond_init(&m->cl_cv, NULL);
	pthread_mutex_init(&m->cl_take_mu, NULL);
	m->cl_stopping = false;
	m->cl_no_takeover = false;
	if ((r = pthread_create(&m->cl_thread, NULL, cluster_thread, m)) != 0)
		return -r;
	m->cl_running = true;
	return 0;
}

void
cluster_quiesce(struct mgr *m)
{
	if (!m->cl_running)
		return;
	pthread_mutex_lock(&m->cl_take_mu);
	m->cl_no_takeover = true;
	pthread_mutex_unlock(&m->cl_take_mu);
}

void
cluster_stop(struct mgr *m)
{
	static const char sql[] = "UPDATE manager SET state = 'stopped', heartbeat_ms = 0"
				  " WHERE id = ?1 AND generation = ?2";

	if (!m->cl_running)
		return;
	pthread_mutex_lock(&m->cl_mu);
	m->cl_stopping = true;
	pthread_cond_signal(&m->cl_cv);
	pthread_mutex_unlock(&m->cl_mu);
	pthread_join(m->cl_thread, NULL);
	m->cl_running = false;
	pthread_mutex_destroy(&m->cl_mu);
	pthread_cond_destroy(&m->cl_cv);
	pthread_mutex_destroy(&m->cl_take_mu);
	db_lock(m->db);
	db_run(m->db, sql, "ii", m->self_id, m->self_gen);
	db_unlock(m->db);
}
