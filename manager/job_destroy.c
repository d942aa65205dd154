/* job_destroy.c: the destroy job kind: stop and undefine the
 * domain, remove the VM's VR entries, delete its ROOT volume, then give
 * back capacity, address and resource counts and mark it Destroyed.
 * Every stage is idempotent, so a destroy can be run again after a failure
 * or a restart. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "job.h"
#include "volume.h"

static int
stage_stop(struct job *j)
{
	struct cap_host *h = job_host(j);

	if (!h)
		return 0; /* never placed */
	job_note(j, "%s on %s",
	    j->instance_name, h->name);
	return virt_domain_remove(j->m->virt, h->uri, j->instance_name, j->err, sizeof(j->err));
}

static int
stage_network_cleanup(struct job *j)
{
	if (!j->ip4 || !j->vol_ready)
		return 0; /* never ran (startvm=false) or given back by a failed deploy */
	job_note(j, "remove %s %s -> %s",
	    j->mac, j->ip, j->vr_url);
	return job_vr_push(j, true);
}

static int
stage_volume_cleanup(struct job *j)
{
	int r;

	if (!j->volume_path[0])
		return 0;
	if ((r = volume_remove(j->volume_path)) < 0)
		snprintf(j->err, sizeof(j->err), "cannot delete the ROOT volume %.300s: %s",
		    j->volume_path, strerror(-r));
	return r;
}

static int
destroy_commit(struct job *j)
{
	return job_finish_commit(j, VM_DESTROYED, JOB_RELEASE_ALL, JOB_SUCCEEDED);
}

/* A destroy keeps what it could not clean up: it can be run again. */
static int
destroy_fail(struct job *j)
{
	return job_finish_commit(j, VM_ERROR, JOB_KEEP, JOB_FAILED);
}

static const struct job_stage destroy_stages[] = {
	{ "stop", stage_stop, NULL, false },
	{ "networkcleanup", stage_network_cleanup, NULL, false },
	{ "volumecleanup", stage_volume_cleanup, NULL, false },
};

const struct job_kind job_kind_destroy = {
	.name = "destroy",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.DestroyVMCmd",
	.stages = destroy_stages,
	.nstages = sizeof(destroy_stages) / sizeof(destroy_stages[0]),
	.commit = destroy_commit,
	.fail = destroy_fail,
	.rerun = NULL, /* every stage is idempotent */
};
