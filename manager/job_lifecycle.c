/* job_lifecycle.c: the job kinds of a VM that exists: create (a deploy
 * with startvm=false: the VM stays Stopped), start (the reference flow for
 * an existing VM: find its domain, plan with the last host first, reserve,
 * push its VR entries again, its volume, define and create the domain),
 * stop (ACPI shutdown with a timeout, then destroy; forced: destroy at
 * once), reboot, and resetpassword (a new password to the VR). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "log.h"

#define STOP_TIMEOUT_MS 60000 /* a guest that ignores ACPI is destroyed after this */
#define STOP_POLL_MS 100

/* --- create: the records of the sync phase are the whole job --------------- */

static int
create_commit(struct job *j)
{
	return job_finish_commit(j, VM_STOPPED, JOB_KEEP, JOB_SUCCEEDED);
}

static int
create_fail(struct job *j)
{
	return job_finish_commit(j, VM_ERROR, JOB_RELEASE_ALL, JOB_FAILED);
}

const struct job_kind job_kind_create = {
	.name = "create",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
	.stages = NULL,
	.nstages = 0,
	.commit = create_commit,
	.fail = create_fail,
	.result_password = true,
};

/* --- start ------------------------------------------------------------------ */

/* Where is the VM's domain?  Running on a host of its zone: adopted (a
 * crash between create and the database's commit, or a start twice);
 * defined but stopped: a stale definition, removed so the start defines
 * the VM as it is now. */
static int
stage_locate(struct job *j)
{
	struct capacity *c = &j->m->cap;
	char err[256];
	int r;

	for (size_t i = 0; i < c->nhosts; i++) {
		struct cap_host *h = &c->hosts[i];

		if (h->zone_id != j->zone_id)
			continue;
		r = virt_domain_is_active(j->m->virt, h->uri, j->instance_name, err, sizeof(err));
		if (r == 1) {
			j->adopted_host_id = h->id;
			j->claim.prefer_host_id = h->id;
			job_note(j, "%s runs on %s", j->instance_name, h->name);
			return 0;
		}
		if (r == 0 && (r = virt_domain_remove(j->m->virt, h->uri, j->instance_name, j->err,
		    sizeof(j->err))) < 0)
			return r;
		if (r < 0 && r != -ENOENT)
			log_warnx("job %s: host %s: %s", j->uuid, h->name, err);
	}
	job_note(j, "%s runs nowhere; last host %s", j->instance_name,
	    j->last_host_id && capacity_host(c, j->last_host_id) ?
	    capacity_host(c, j->last_host_id)->name : "none");
	return 0;
}

/* A VM that ran before got its password then (or has it pending at the VR, where
 * resetPasswordForVirtualMachine puts a new one): a start sends no vmpassword, so the guest's
 * next boot is told saved_password, as CloudStack sends one only on deploy and reset. */
static int
stage_start_network(struct job *j)
{
	char password[sizeof(j->password)];
	int r;

	memcpy(password, j->password, sizeof(password));
	if (j->vol_ready)
		j->password[0] = '\0';
	r = job_vr_push(j, false);
	memcpy(j->password, password, sizeof(password));
	if (r == 0)
		job_note(j, "dhcpentry %s %s, %svmdata -> %s", j->mac, j->ip,
		    j->vol_ready ? "" : "vmpassword, ", j->vr_url);
	return r;
}

/* A VM that never ran had no VR entries: a failed first start removes them. */
static void
undo_start_network(struct job *j)
{
	if (!j->vol_ready)
		job_undo_vr_push(j);
}

/* A failed start: the VM Stopped again with its host's capacity given back
 * (and the pool's, for a VM whose volume this start was to create). */
static int
start_fail(struct job *j)
{
	return job_finish_commit(j, VM_STOPPED, JOB_RELEASE_HOST |
	    (j->vol_ready ? 0 : JOB_RELEASE_POOL), JOB_FAILED);
}

/* Nothing claimed yet: run it again; else roll back. */
static bool
start_rerun(const struct job *j)
{
	return !j->reserved && j->state == VM_STOPPED;
}

static const struct job_stage start_stages[] = {
	{ "locate", stage_locate, NULL, false },
	{ "planning", job_stage_planning, NULL, false },
	{ "reservation", job_stage_reservation, NULL, false }, /* given back by start_fail */
	{ "networkprep", stage_start_network, undo_start_network, false },
	{ "volumeprep", job_stage_volume, job_undo_volume, false },
	{ "start", job_stage_domain_start, job_undo_domain_start, false },
};

const struct job_kind job_kind_start = {
	.name = "start",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.StartVMCmd",
	.stages = start_stages,
	.nstages = sizeof(start_stages) / sizeof(start_stages[0]),
	.commit = job_commit_running,
	.fail = start_fail,
	.rerun = start_rerun,
};

/* --- stop ------------------------------------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ACPI shutdown, waiting up to STOP_TIMEOUT_MS for the guest to power off;
 * then (or at once when forced) destroy and undefine. */
static int
stage_stop(struct job *j)
{
	struct cap_host *h = job_host(j);
	bool forced = strstr(j->arg, "\"forced\":true") != NULL;
	int64_t deadline = now_ms() + STOP_TIMEOUT_MS;
	char err[256];
	int r = 0;

	if (!h) {
		job_note(j, "on no host");
		return 0;
	}
	if (forced) {
		job_note(j, "%s on %s: forced, destroyed", j->instance_name, h->name);
	} else if ((r = virt_domain_signal(j->m->virt, h->uri, j->instance_name, VIRT_SHUTDOWN,
	    err, sizeof(err))) < 0) {
		job_note(j, "%s on %s: no ACPI shutdown (%s); destroyed", j->instance_name, h->name,
		    r == -ENOENT ? "no domain" : err);
	} else {
		while ((r = virt_domain_is_active(j->m->virt, h->uri, j->instance_name, err,
		    sizeof(err))) == 1 && now_ms() < deadline)
			sleep_ms(STOP_POLL_MS);
		job_note(j, "%s on %s: %s", j->instance_name, h->name, r == 1 ?
		    "ACPI shutdown timed out; destroyed" : "shut down (ACPI)");
	}
	return virt_domain_remove(j->m->virt, h->uri, j->instance_name, j->err, sizeof(j->err));
}

static int
stop_commit(struct job *j)
{
	return job_finish_commit(j, VM_STOPPED, JOB_RELEASE_HOST, JOB_SUCCEEDED);
}

/* The domain may be half stopped: the VM stays Running, on its host, so
 * a stop or a destroy can be tried again. */
static int
stays_running_fail(struct job *j)
{
	return job_finish_commit(j, VM_RUNNING, JOB_KEEP, JOB_FAILED);
}

static const struct job_stage stop_stages[] = {
	{ "stop", stage_stop, NULL, false },
};

const struct job_kind job_kind_stop = {
	.name = "stop",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.StopVMCmd",
	.stages = stop_stages,
	.nstages = 1,
	.commit = stop_commit,
	.fail = stays_running_fail,
	.rerun = NULL, /* idempotent: a domain already gone is stopped */
};

/* --- reboot ----------------------------------------------------------------- */

static int
stage_reboot(struct job *j)
{
	struct cap_host *h = job_host(j);

	if (!h)
		return -ENOENT;
	job_note(j, "%s on %s", j->instance_name, h->name);
	return virt_domain_signal(j->m->virt, h->uri, j->instance_name, VIRT_REBOOT, j->err,
	    sizeof(j->err));
}

static int
running_commit(struct job *j)
{
	return job_finish_commit(j, VM_RUNNING, JOB_KEEP, JOB_SUCCEEDED);
}

static const struct job_stage reboot_stages[] = {
	{ "reboot", stage_reboot, NULL, false },
};

const struct job_kind job_kind_reboot = {
	.name = "reboot",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.RebootVMCmd",
	.stages = reboot_stages,
	.nstages = 1,
	.commit = running_commit,
	.fail = stays_running_fail,
	.rerun = NULL,
};

/* --- reset password: the VM is Stopped; the new password is the job's arg -- */

static int
stage_password(struct job *j)
{
	snprintf(j->password, sizeof(j->password), "%s", j->arg);
	if (!j->vol_ready) {
		job_note(j, "never started: the password goes with the first start");
		return 0;
	}
	job_note(j, "vmpassword for %s -> %s", j->ip, j->vr_url);
	return job_vr_push(j, false);
}

static int
password_commit(struct job *j)
{
	struct db *d = j->m->db;
	int r;

	db_lock(d);
	r = db_run(d, "UPDATE vm SET password = ? WHERE id = ?", "si", j->password, j->vm_id);
	db_unlock(d);
	if (r < 0)
		return r;
	return job_finish_commit(j, VM_STOPPED, JOB_KEEP, JOB_SUCCEEDED);
}

static int
stays_stopped_fail(struct job *j)
{
	return job_finish_commit(j, VM_STOPPED, JOB_KEEP, JOB_FAILED);
}

static const struct job_stage password_stages[] = {
	{ "networkprep", stage_password, NULL, false },
};

const struct job_kind job_kind_resetpassword = {
	.name = "resetpassword",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.ResetVMPasswordCmd",
	.stages = password_stages,
	.nstages = 1,
	.commit = password_commit,
	.fail = stays_stopped_fail,
	.rerun = NULL,
	.result_password = true,
};
