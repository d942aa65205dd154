/* job.h: an async job as its stages see it: the VM, its offering,
 * template, network and destination, loaded once; the stage tables of the
 * deploy and destroy jobs; the record of each stage's start and end. */
#ifndef VRM_JOB_H
#define VRM_JOB_H

#include "mgr.h"
#include "planner.h"

#define JOB_STAGES_MAX 8
#define JOB_ERR_MAX 512

struct job_stage_rec {
	const char *name;
	int64_t start_us, end_us;
	char detail[160];
};

struct job {
	struct mgr *m;
	int64_t id, vm_id, account_id; /* account_id: the VM's owner, whose counts change */
	char uuid[37], cmd[16];
	/* the VM */
	char vm_uuid[37], vm_name[64], instance_name[80], state[16], password[64];
	char *userdata, *ssh_key;
	int64_t zone_id, host_id, pool_id, volume_id;
	bool reserved;
	bool domain_foreign; /* start found another domain of that name: not ours to remove */
	struct cap_need need;
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
};

extern const struct job_stage deploy_stages[];
extern const size_t deploy_nstages;
extern const struct job_stage destroy_stages[];
extern const size_t destroy_nstages;

/* Loads the job and its VM.  0, -ENOENT, -errno. */
int job_load(struct mgr *m, int64_t id, struct job *j);
void job_clear(struct job *j);
/* Sets the running stage's detail line. */
void job_note(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The stages run so far as the JSON array queryAsyncJobResult returns. */
char *job_stages_json(const struct job *j);

/* Deploy-job helpers shared with destroy (job_deploy.c). */
/* Sends the VM's VR batch (remove: its removal).  0 or -errno with j->err. */
int job_vr_push(struct job *j, bool remove);
void deploy_undo_network(struct job *j);
void deploy_undo_volume(struct job *j);
void deploy_undo_start(struct job *j);
/* Ends a job in one transaction: the VM to vm_state, its capacity, NIC
 * and volume rows and resource counts given back when release, the job to
 * status (1 succeeded, 2 failed with j->fail_code and j->err) with its
 * stages.  0 or -errno. */
int job_finish_commit(struct job *j, const char *vm_state, bool release, int status);
/* A failed deploy: VM Error, everything given back, job failed. */
int deploy_fail_commit(struct job *j);
/* Resource counts of the VM's account, down by what the VM holds. */
int job_counts_release(struct job *j);

#endif
