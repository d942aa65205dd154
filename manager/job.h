/* job.h: the async job engine's contract: a job kind is a row of the
 * table in job_kinds.c (its stages, each with an undo, how it commits
 * success and failure, and whether an interrupted job runs again); the
 * engine (job.c) runs any kind's stages, stamps each stage's start and end,
 * undoes in reverse on a failure and recovers what a crash left pending.
 * struct job is the VM job's context its stages see (job_vm.c loads it). */
#ifndef VRM_JOB_H
#define VRM_JOB_H

#include "mgr.h"
#include "planner.h"

#define JOB_STAGES_MAX 10
#define JOB_ERR_MAX 512

/* job.status in the database and jobstatus in the API. */
enum job_status {
	JOB_PENDING = 0,
	JOB_SUCCEEDED = 1,
	JOB_FAILED = 2,
};

/* vm.state: CloudStack's names (vm_state_names). */
enum vm_state {
	VM_STOPPED,
	VM_STARTING,
	VM_RUNNING,
	VM_STOPPING,
	VM_EXPUNGING,
	VM_DESTROYED,
	VM_ERROR,
	VM_STATE_N,
};

extern const char *const vm_state_names[VM_STATE_N];
/* The state named s, or -ENOENT. */
int vm_state_parse(const char *s);

struct job_stage_rec {
	const char *name;
	int64_t start_us, end_us;
	char detail[160];
};

struct job {
	struct mgr *m;
	const struct job_kind *kind;
	int64_t id, vm_id, account_id; /* account_id: the VM's owner, whose counts change */
	char uuid[37], cmd[16];
	char *arg; /* the job's parameters as the sync phase stored them (JSON) */
	/* the VM */
	char vm_uuid[37], vm_name[64], instance_name[80], password[64];
	enum vm_state state;
	char *userdata, *ssh_key;
	int64_t zone_id, host_id, pool_id, volume_id, last_host_id;
	int64_t vol_pool_id;  /* the pool holding the ROOT volume's bytes, 0: none yet */
	bool vol_ready;       /* the ROOT volume exists (the VM ran once) */
	bool reserved;        /* the VM holds CPU and RAM on host_id */
	bool domain_foreign; /* start found another domain of that name: not ours to remove */
	int64_t adopted_host_id; /* start found the VM's domain running there */
	struct cap_need need;  /* what the VM holds when it runs */
	struct cap_need claim; /* what the reservation takes: need, less a placed volume */
	unsigned cpu_count, cpu_mhz;
	char offering_name[256], zone_name[256];
	/* template, on secondary storage */
	char tpl_uuid[65], tpl_path[2200];
	/* network and NIC */
	char vr_url[1025], vr_token[256], bridge[16], dns[256], ip[16], gateway[16], mac[18];
	unsigned vlan;
	int64_t network_id;
	uint32_t ip4;
	/* ROOT volume */
	char volume_uuid[37], volume_path[2200];
	/* outcome */
	struct plan plan;
	struct job_stage_rec rec[JOB_STAGES_MAX];
	int nrec;
	int fail_code;
	char err[JOB_ERR_MAX];
};

struct job_stage {
	const char *name;
	int (*run)(struct job *j);   /* 0, or -errno with j->err (and fail_code) set */
	void (*undo)(struct job *j); /* idempotent: also runs for a stage that failed */
	/* Runs on a thread of its own at the same time as the next stage, on
	 * a copy of the job: it may change nothing in it but err, fail_code
	 * and its note.  When either fails, both are undone. */
	bool beside_next;
};

struct job_kind {
	const char *name;     /* job.cmd */
	const char *cs_class; /* CloudStack's command class, as listAsyncJobs shows it */
	const struct job_stage *stages;
	size_t nstages;
	/* After every stage succeeded: one transaction recording the outcome
	 * and the job succeeded (its "completion" stage).  0 or -errno with
	 * j->err; a failure undoes every stage. */
	int (*commit)(struct job *j);
	/* After the stages were undone: the failure recorded (j->err, fail_code). */
	int (*fail)(struct job *j);
	/* For a job a crash interrupted: true to run it again from the start,
	 * false to undo every stage and record the failure.  NULL: run again. */
	bool (*rerun)(const struct job *j);
	bool result_password; /* the job's result shows the VM's password */
};

/* The kinds (job_kinds.c); NULL for an unknown name. */
const struct job_kind *job_kind_find(const char *name);

/* Loads the job, its VM and its kind (job_vm.c).  0, -ENOENT, -errno. */
int job_load(struct mgr *m, int64_t id, struct job *j);
/* The VM vm_id as a job would see it (no job: j->kind NULL). */
int job_load_vm(struct mgr *m, int64_t vm_id, struct job *j);
void job_clear(struct job *j);
/* Sets the running stage's detail line. */
void job_note(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The stages run so far as the JSON array queryAsyncJobResult returns. */
char *job_stages_json(const struct job *j);

/* What the VM jobs share (job_vm.c). */
/* Sends the VM's VR batch (remove: its removal).  0 or -errno with j->err. */
int job_vr_push(struct job *j, bool remove);
/* Removes the VM's VR entries, keeping j->err (an undo). */
void job_undo_vr_push(struct job *j);
/* What job_finish_commit gives back. */
enum job_release {
	JOB_KEEP = 0,
	JOB_RELEASE_HOST = 1, /* the CPU and RAM on host_id, if reserved */
	JOB_RELEASE_POOL = 2, /* the volume's bytes on vol_pool_id, if placed */
	JOB_RELEASE_ROWS = 4, /* NIC, volume rows, address and resource counts */
	JOB_RELEASE_ALL = 7,
};
/* Ends a job in one transaction: the VM to state, what release names given
 * back, the job to status (JOB_FAILED with j->fail_code and j->err) with
 * its stages.  0 or -errno. */
int job_finish_commit(struct job *j, enum vm_state state, unsigned release,
    enum job_status status);
/* Resource counts of the VM's account, down by what the VM holds. */
int job_counts_release(struct job *j);
/* Stages deploy and start share (job_deploy.c): planning (j->claim on the
 * capacity snapshot), reservation (the claim, re-planning when a concurrent
 * claim took the room first), the ROOT volume's overlay, the domain's
 * definition and start.  0 or -errno with j->err. */
int job_stage_planning(struct job *j);
int job_stage_reservation(struct job *j);
int job_stage_volume(struct job *j);
void job_undo_volume(struct job *j);
int job_stage_domain_start(struct job *j);
void job_undo_domain_start(struct job *j);
/* Their completion: VM Running (its host its last host), volume Ready,
 * job succeeded, in one transaction.  0 or -errno with j->err. */
int job_commit_running(struct job *j);
/* The job's host, or NULL (never placed). */
struct cap_host *job_host(struct job *j);

#endif
