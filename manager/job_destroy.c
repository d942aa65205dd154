/* job_destroy.c: the stages of a destroy job: stop and undefine the
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
	struct cap_host *h = capacity_host(&j->m->cap, j->host_id);

	if (!h)
		return 0; /* never placed */
	job_note(j, "%s on %s",
	    j->instance_name, h->name);
	return virt_domain_remove(j->m->virt, h->uri, j->instance_name, j->err, sizeof(j->err));
}

static int
stage_network_cleanup(struct job *j)
{
	if (!j->ip4)
		return 0;
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
stage_destroy_completion(struct job *j)
{
	j->rec[j->nrec - 1].end_us = now_us();
	return job_finish_commit(j, "Destroyed", true, 1);
}

const struct job_stage destroy_stages[] = {
	{ "stop", stage_stop, NULL },
	{ "networkcleanup", stage_network_cleanup, NULL },
	{ "volumecleanup", stage_volume_cleanup, NULL },
	{ "completion", stage_destroy_completion, NULL },
};
const size_t destroy_nstages = sizeof(destroy_stages) / sizeof(destroy_stages[0]);
