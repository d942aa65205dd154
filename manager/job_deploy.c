/* job_deploy.c: the deploy job kind: its stages (planning, reservation,
 * network prep, volume prep, start), their undo steps, the completion
 * transaction and the record of a failed deploy.  Planning, reservation and
 * the domain's start serve the start job too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "volume.h"
#include "vrpush.h"

#define CLAIM_TRIES 64

static int
no_room(struct job *j)
{
	j->fail_code = CS_INSUFFICIENT_CAPACITY;
	snprintf(j->err, sizeof(j->err),
	    "Unable to create a deployment for VM[User|%s]: no host with %lld MHz and %lld MiB "
	    "free and a storage pool with %lld bytes free in zone %s", j->instance_name,
	    (long long)j->claim.cpu_mhz, (long long)j->claim.ram_mib,
	    (long long)j->claim.disk_bytes, j->zone_name);
	return -ENOSPC;
}

static void
note_plan(struct job *j)
{
	job_note(j, "host %s, pool %s (%s; %u hosts looked at)",
	    j->plan.host->uuid, j->plan.pool->uuid, j->plan.trace, j->plan.hosts_seen);
}

struct cap_host *
job_host(struct job *j)
{
	return j->host_id ? capacity_host(&j->m->cap, j->host_id) : NULL;
}

/* The planner's snapshot misses what other managers on the database
 * released since: before saying there is no room, it is read again. */
static int
plan(struct job *j)
{
	if (planner_place(&j->m->cap, &j->claim, &j->plan) == 0)
		return 0;
	db_lock(j->m->db);
	capacity_refresh_all(j->m->db, &j->m->cap);
	db_unlock(j->m->db);
	return planner_place(&j->m->cap, &j->claim, &j->plan);
}

int
job_stage_planning(struct job *j)
{
	if (plan(j) < 0)
		return no_room(j);
	note_plan(j);
	return 0;
}

/* The claim's transaction: capacity, then the VM Stopped -> Starting on
 * its destination.  Caller holds the db lock. */
static int
claim_txn(struct job *j)
{
	static const char sql_vm[] =
	    "UPDATE vm SET state = 'Starting', host_id = ?2, pool_id = ?3, reserved = 1"
	    " WHERE id = ?1 AND state = 'Stopped'";
	static const char sql_vol[] = "UPDATE volume SET pool_id = ?2 WHERE id = ?1";
	struct db *d = j->m->db;
	struct db_st *st;
	int r;

	if ((r = db_begin(d)) < 0)
		return r;
	if ((r = job_fence(j->m, j->id)) < 0 ||
	    (r = capacity_claim(d, &j->m->cap, j->plan.host->id, j->plan.pool->id, &j->claim)) < 0)
		goto fail;
	r = -EIO;
	if (!(st = db_stmt(d, sql_vm)))
		goto fail;
	db_bind_int(st, 1, j->vm_id);
	db_bind_int(st, 2, j->plan.host->id);
	db_bind_int(st, 3, j->plan.pool->id);
	if ((r = db_step_done(d, st)) < 0)
		goto fail;
	if (db_changes(d) != 1) {
		r = -ESTALE; /* someone else moved the VM on */
		goto fail;
	}
	if (!(st = db_stmt(d, sql_vol))) {
		r = -EIO;
		goto fail;
	}
	db_bind_int(st, 1, j->volume_id);
	db_bind_int(st, 2, j->plan.pool->id);
	if ((r = db_step_done(d, st)) < 0 || (r = db_commit(d)) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(d);
	return r;
}

/* Claims the planned capacity; when a concurrent claim took the room
 * first, plans again from the refreshed snapshot. */
int
job_stage_reservation(struct job *j)
{
	int tries, r;

	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		/* The snapshot changes under the db lock, like the refresh after a
		 * lost claim: a refresh can then never count a claim twice. */
		db_lock(j->m->db);
		r = claim_txn(j);
		if (r == 0)
			capacity_apply(&j->m->cap, j->plan.host->id, j->plan.pool->id, &j->claim, 1);
		db_unlock(j->m->db);
		if (r == 0) {
			j->reserved = true;
			j->host_id = j->plan.host->id;
			j->pool_id = j->plan.pool->id;
			j->vol_pool_id = j->plan.pool->id;
			if (!j->vol_ready)
				snprintf(j->volume_path, sizeof(j->volume_path), "%s/%s.qcow2",
				    j->plan.pool->path, j->volume_uuid);
			job_note(j, "host %s +%lld MHz +%lld MiB, pool %s +%lld bytes%s", j->plan.host->uuid,
			    (long long)j->claim.cpu_mhz, (long long)j->claim.ram_mib,
			    j->plan.pool->uuid, (long long)j->claim.disk_bytes,
			    tries ? " (re-planned)" : "");
			return 0;
		}
		if (r != -EAGAIN) {
			snprintf(j->err, sizeof(j->err), "reservation failed: %s", strerror(-r));
			return r;
		}
		if (plan(j) < 0)
			return no_room(j);
	}
	return no_room(j);
}

static int
stage_network(struct job *j)
{
	int r = job_vr_push(j, false);

	if (r == 0)
		job_note(j, "dhcpentry %s %s, vmpassword, vmdata -> %s", j->mac, j->ip, j->vr_url);
	return r;
}

int
job_stage_volume(struct job *j)
{
	struct cap_pool *p = capacity_pool(&j->m->cap, j->pool_id);
	char cached[2300];
	int r;

	if (j->vol_ready) {
		job_note(j, "%s exists", j->volume_path);
		return access(j->volume_path, R_OK) == 0 ? 0 : -errno;
	}
	if (!p)
		return -ENOENT;
	if ((r = volume_template_ensure(p->path, j->tpl_uuid, j->tpl_path, cached, sizeof(cached),
	    j->err, sizeof(j->err))) < 0)
		return r;
	if ((r = volume_overlay_create(cached, j->volume_path, j->err, sizeof(j->err))) < 0)
		return r;
	job_note(j, "%s on %s",
	    j->volume_path, cached);
	return 0;
}

void
job_undo_volume(struct job *j)
{
	int r;

	if (j->vol_ready)
		return; /* made by the deploy or start that first ran the VM */
	if (j->volume_path[0] && (r = volume_remove(j->volume_path)) < 0)
		log_err(r, "job %s: cannot remove %s", j->uuid, j->volume_path);
}

/* The VNC console libvirt gave the domain, in the stage's detail (as CloudStack's StartAnswer
 * reports it); a domain without one (the test driver's) keeps the detail as it is. */
static void
stage_start_note_vnc(struct job *j, const struct cap_host *h)
{
	char addr[64], err[256];
	int port;

	if (virt_domain_vnc(j->m->virt, h->uri, j->instance_name, addr, sizeof(addr), &port, err,
	    sizeof(err)) == 0)
		job_note(j, "%s on %s (%s), vnc %s:%d", j->instance_name, h->name, h->uri, addr,
		    port);
}

int
job_stage_domain_start(struct job *j)
{
	struct cap_host *h = job_host(j);
	struct virt_spec s;
	int r;

	if (!h)
		return -ENOENT;
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", j->instance_name);
	snprintf(s.uuid, sizeof(s.uuid), "%s", j->vm_uuid);
	s.vcpus = j->cpu_count;
	s.cpu_mhz = j->cpu_mhz;
	s.ram_mib = (uint64_t)j->need.ram_mib;
	snprintf(s.disk_path, sizeof(s.disk_path), "%s", j->volume_path);
	snprintf(s.nic.mac, sizeof(s.nic.mac), "%s", j->mac);
	snprintf(s.nic.bridge, sizeof(s.nic.bridge), "%s", j->bridge);
	s.nic.vlan = j->vlan;
	snprintf(s.ip, sizeof(s.ip), "%s", j->ip);
	if (j->adopted_host_id == h->id) {
		job_note(j, "%s already runs on %s: adopted", j->instance_name, h->name);
		return 0;
	}
	job_note(j, "%s on %s (%s)",
	    j->instance_name, h->name, h->uri);
	r = virt_domain_start(j->m->virt, h->uri, &s, j->err, sizeof(j->err));
	j->domain_foreign = r == -EEXIST;
	if (r == 0)
		stage_start_note_vnc(j, h);
	return r;
}

void
job_undo_domain_start(struct job *j)
{
	struct cap_host *h = job_host(j);
	char err[256];
	int r;

	if (j->domain_foreign)
		return;
	if (h && (r = virt_domain_remove(j->m->virt, h->uri, j->instance_name, err,
	    sizeof(err))) < 0)
		log_warnx("job %s: cannot remove domain %s from %s: %s", j->uuid,
		    j->instance_name, h->uri, err);
}

/* The completion transaction of deploy and start: VM Running on its host
 * (its last host from now on), volume Ready, job succeeded. */
int
job_commit_running(struct job *j)
{
	static const char sql_vm[] = "UPDATE vm SET state = 'Running', last_host_id = host_id,"
	    " error_text = '' WHERE id = ?1";
	static const char sql_vol[] =
	    "UPDATE volume SET state = 'Ready', path = ?2 WHERE id = ?1";
	static const char sql_job[] =
	    "UPDATE job SET status = 1, result_code = 0, finished_ms = ?2, stages = ?3"
	    " WHERE id = ?1";
	struct db *d = j->m->db;
	char *stages = job_stages_json(j);
	int r;

	if (!stages)
		return -ENOMEM;
	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	if ((r = job_fence(j->m, j->id)) < 0 || (r = db_run(d, sql_vm, "i", j->vm_id)) < 0 ||
	    (r = db_run(d, sql_vol, "is", j->volume_id, j->volume_path)) < 0 ||
	    (r = db_run(d, sql_job, "iis", j->id, now_ms(), stages)) < 0 ||
	    (r = db_commit(d)) < 0) {
		db_rollback(d);
		snprintf(j->err, sizeof(j->err), "cannot record the %s: %s", j->cmd, strerror(-r));
	}
out:
	db_unlock(d);
	free(stages);
	return r;
}

/* A failed deploy: VM Error, everything given back, job failed. */
static int
deploy_fail(struct job *j)
{
	return job_finish_commit(j, VM_ERROR, JOB_RELEASE_ALL, JOB_FAILED);
}

/* A deploy that had not reserved anything yet runs again; one that had is
 * rolled back. */
static bool
deploy_rerun(const struct job *j)
{
	return !j->reserved && j->state == VM_STOPPED;
}

static const struct job_stage deploy_stages[] = {
	{ "planning", job_stage_planning, NULL, false },
	{ "reservation", job_stage_reservation, NULL, false }, /* given back by deploy_fail */
	/* the VR's batch and the ROOT overlay are independent: at once */
	{ "networkprep", stage_network, job_undo_vr_push, true },
	{ "volumeprep", job_stage_volume, job_undo_volume, false },
	{ "start", job_stage_domain_start, job_undo_domain_start, false },
};

const struct job_kind job_kind_deploy = {
	.name = "deploy",
	.cs_class = "org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
	.stages = deploy_stages,
	.nstages = sizeof(deploy_stages) / sizeof(deploy_stages[0]),
	.commit = job_commit_running,
	.fail = deploy_fail,
	.rerun = deploy_rerun,
	.result_password = true,
};
