/* mgr.h: the running manager: its database, capacity snapshot, address
 * pools, libvirt connections and job workers, shared by the API (sync
 * phase) and the jobs (async phase). */
#ifndef VRM_MGR_H
#define VRM_MGR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "capacity.h"
#include "db.h"
#include "ipam.h"
#include "virt.h"
#include "vrconn.h"

/* CloudStack's error codes (ApiErrorCode). */
enum cs_error {
	CS_UNAUTHORIZED = 401,
	CS_PARAM_ERROR = 431,
	CS_UNSUPPORTED = 432,
	CS_RESOURCE_LIMIT = 532,
	CS_INSUFFICIENT_CAPACITY = 533,
	CS_INTERNAL_ERROR = 530,
};

#define JOB_QUEUE_MAX 65536
#define WORKERS_MAX 64

struct job_queue {
	int64_t *ids;
	size_t head, len;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
};

struct mgr {
	struct db *db;
	struct db *reader; /* list and query commands: never waits for db's commits */
	struct capacity cap;
	struct ipam ipam;
	struct virt_hosts *virt;
	struct job_queue q;
	pthread_t workers[WORKERS_MAX];
	unsigned nworkers;
	struct vrconn_pool *vr; /* kept-alive connections to the VRs */
	int vr_timeout_s;
	_Atomic uint64_t jobs_done, jobs_failed;
	/* this manager among those on the database (cluster.c) */
	int64_t self_id, self_gen, takeover_ms;
	char self_name[128];
	pthread_t cl_thread;
	pthread_mutex_t cl_mu;
	pthread_cond_t cl_cv;
	pthread_mutex_t cl_take_mu; /* held by a takeover, to its last submit */
	bool cl_stopping, cl_running, cl_no_takeover;
};

/* Milliseconds and microseconds of the wall clock. */
int64_t now_ms(void);
int64_t now_us(void);
/* A random version-4 UUID, canonical form. */
void uuid_new(char out[37]);
/* "2026-11-22T10:00:00+0000" for a time in ms. */
void time_format(int64_t ms, char out[32]);

/* Job engine (job.c). */
int jobs_start(struct mgr *m, unsigned nworkers);
void jobs_stop(struct mgr *m);
/* Queues a committed job for the workers (a negative id: the job is to be
 * recovered, as jobs_recover_one does); -EAGAIN when the queue is full (the
 * job stays pending in the database and runs after a restart). */
int jobs_submit(struct mgr *m, int64_t job_id);
/* Finishes or rolls back the jobs a previous run left pending; called
 * before the API opens.  Returns how many jobs it handled, or a negative errno
 * when the pending jobs cannot be read (nothing was recovered then). */
int jobs_recover(struct mgr *m);
/* Finishes or rolls back one pending job this manager owns, as at a
 * start (queued again, or undone and recorded failed).  0 or -errno. */
int jobs_recover_one(struct mgr *m, int64_t id);

/* Managers on one database (cluster.c). */
/* Registers (or re-registers, one generation up) this manager by name and
 * claims its own pending jobs in the new generation.  0 or -errno. */
int cluster_join(struct mgr *m, const char *name, const char *listen);
/* The heartbeat and takeover thread (every takeover_ms / 5); a manager
 * presumed dead exits with status 3 when it finds out.  0 or -errno. */
int cluster_start(struct mgr *m);
/* No more takeovers (none in progress when it returns); the heartbeat goes
 * on.  Before jobs_stop: a takeover queues jobs for the workers. */
void cluster_quiesce(struct mgr *m);
/* Stops the thread and marks this manager stopped (a no-op when not
 * started): another one takes over its queued jobs. */
void cluster_stop(struct mgr *m);
/* In the caller's transaction, with the db lock held: the job is still
 * this manager's, in its generation, and pending; its row stays locked
 * until the commit.  0, -ESTALE (taken over or finished) or -errno. */
int job_fence(struct mgr *m, int64_t job_id);
/* The job is pending and this manager's (takes the db lock). */
bool job_owned(struct mgr *m, int64_t job_id);

#endif
