/* job_deploy.c: the six stages of a deploy job (planning, reservation,
 * network prep, volume prep, start, completion), their undo steps, and
 * the transaction that records a failed deploy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	    (long long)j->need.cpu_mhz, (long long)j->need.ram_mib, (long long)j->need.disk_bytes,
	    j->zone_name);
	return -ENOSPC;
}

static void
note_plan(struct job *j)
{
	job_note(j, "host %s, pool %s (%s; %u hosts looked at)",
	    j->plan.host->uuid, j->plan.pool->uuid, j->plan.trace, j->plan.hosts_seen);
}

static int
stage_planning(struct job *j)
{
	if (planner_place(&j->m->cap, &j->need, &j->plan) < 0)
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
	sqlite3_stmt *st;
	int r;

	if ((r = db_begin(d)) < 0)
		return r;
	if ((r = capacity_claim(d, &j->m->cap, j->plan.host->id, j->plan.pool->id, &j->need)) < 0)
		goto fail;
	r = -EIO;
	if (!(st = db_stmt(d, sql_vm)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->vm_id);
	sqlite3_bind_int64(st, 2, j->plan.host->id);
	sqlite3_bind_int64(st, 3, j->plan.pool->id);
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
	sqlite3_bind_int64(st, 1, j->volume_id);
	sqlite3_bind_int64(st, 2, j->plan.pool->id);
	if ((r = db_step_done(d, st)) < 0 || (r = db_commit(d)) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(d);
	return r;
}

/* Claims the planned capacity; when a concurrent claim took the room
 * first, plans again from the refreshed snapshot. */
static int
stage_reservation(struct job *j)
{
	int tries, r;

	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		/* The snapshot changes under the db lock, like the refresh after a
		 * lost claim: a refresh can then never count a claim twice. */
		db_lock(j->m->db);
		r = claim_txn(j);
		if (r == 0)
			capacity_apply(&j->m->cap, j->plan.host->id, j->plan.pool->id, &j->need, 1);
		db_unlock(j->m->db);
		if (r == 0) {
			j->reserved = true;
			j->host_id = j->plan.host->id;
			j->pool_id = j->plan.pool->id;
			snprintf(j->volume_path, sizeof(j->volume_path), "%s/%s.qcow2",
			    j->plan.pool->path, j->volume_uuid);
			job_note(j, "host %s +%lld MHz +%lld MiB, pool %s +%lld bytes%s", j->plan.host->uuid,
			    (long long)j->need.cpu_mhz, (long long)j->need.ram_mib,
			    j->plan.pool->uuid, (long long)j->need.disk_bytes,
			    tries ? " (re-planned)" : "");
			return 0;
		}
		if (r != -EAGAIN) {
			snprintf(j->err, sizeof(j->err), "reservation failed: %s", strerror(-r));
			return r;
		}
		if (planner_place(&j->m->cap, &j->need, &j->plan) < 0)
			return no_room(j);
	}
	return no_room(j);
}

static void
vr_vm_fill(const struct job *j, struct vr_vm *v, const char *host_name)
{
	memset(v, 0, sizeof(*v));
	v->hostname = j->vm_name;
	v->ip = j->ip;
	v->mac = j->mac;
	v->gateway = j->gateway;
	v->dns = j->dns;
	v->password = j->password;
	v->userdata_b64 = j->userdata;
	v->ssh_key = j->ssh_key;
	v->uuid = j->vm_uuid;
	v->zone_name = j->zone_name;
	v->offering_name = j->offering_name;
	v->host_name = host_name;
}

int
job_vr_push(struct job *j, bool remove)
{
	struct cap_host *h = capacity_host(&j->m->cap, j->host_id);
	struct vr_vm v;
	struct buf b;
	int r;

	vr_vm_fill(j, &v, h ? h->name : "");
	buf_init(&b);
	if ((r = vr_batch_render(&v, remove, &b)) == 0)
		r = vr_push(j->vr_url, j->vr_token, &b, j->m->vr_timeout_s, j->err,
		    sizeof(j->err));
	else
		snprintf(j->err, sizeof(j->err), "cannot render the VR batch: %s", strerror(-r));
	buf_free(&b);
	return r;
}

static int
stage_network(struct job *j)
{
	int r = job_vr_push(j, false);

	if (r == 0)
		job_note(j, "dhcpentry %s %s, vmpassword, vmdata -> %s", j->mac, j->ip, j->vr_url);
	return r;
}

void
deploy_undo_network(struct job *j)
{
	char keep[JOB_ERR_MAX];
	int r;

	if (!j->ip4)
		return;
	memcpy(keep, j->err, sizeof(keep));
	if ((r = job_vr_push(j, true)) < 0)
		log_warnx("job %s: VM %s: cannot remove its VR entries: %s", j->uuid, j->vm_uuid,
		    j->err);
	memcpy(j->err, keep, sizeof(keep));
}

static int
stage_volume(struct job *j)
{
	struct cap_pool *p = capacity_pool(&j->m->cap, j->pool_id);
	char cached[2300];
	int r;

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
deploy_undo_volume(struct job *j)
{
	int r;

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

static int
stage_start(struct job *j)
{
	struct cap_host *h = capacity_host(&j->m->cap, j->host_id);
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
	job_note(j, "%s on %s (%s)",
	    j->instance_name, h->name, h->uri);
	r = virt_domain_start(j->m->virt, h->uri, &s, j->err, sizeof(j->err));
	j->domain_foreign = r == -EEXIST;
	if (r == 0)
		stage_start_note_vnc(j, h);
	return r;
}

void
deploy_undo_start(struct job *j)
{
	struct cap_host *h = capacity_host(&j->m->cap, j->host_id);
	char err[256];
	int r;

	if (j->domain_foreign)
		return;
	if (h && (r = virt_domain_remove(j->m->virt, h->uri, j->instance_name, err,
	    sizeof(err))) < 0)
		log_warnx("job %s: cannot remove domain %s from %s: %s", j->uuid,
		    j->instance_name, h->uri, err);
}

/* The last stage's transaction: VM Running, volume Ready, job succeeded. */
static int
stage_completion(struct job *j)
{
	static const char sql_vm[] = "UPDATE vm SET state = 'Running' WHERE id = ?1";
	static const char sql_vol[] =
	    "UPDATE volume SET state = 'Ready', path = ?2 WHERE id = ?1";
	static const char sql_job[] =
	    "UPDATE job SET status = 1, result_code = 0, finished_ms = ?2, stages = ?3"
	    " WHERE id = ?1";
	struct db *d = j->m->db;
	sqlite3_stmt *st;
	char *stages;
	int r;

	j->rec[j->nrec - 1].end_us = now_us();
	if (!(stages = job_stages_json(j)))
		return -ENOMEM;
	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	r = -EIO;
	if (!(st = db_stmt(d, sql_vm)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->vm_id);
	if ((r = db_step_done(d, st)) < 0 || !(st = db_stmt(d, sql_vol)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->volume_id);
	sqlite3_bind_text(st, 2, j->volume_path, -1, SQLITE_STATIC);
	if ((r = db_step_done(d, st)) < 0 || !(st = db_stmt(d, sql_job)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_int64(st, 2, now_ms());
	sqlite3_bind_text(st, 3, stages, -1, SQLITE_STATIC);
	if ((r = db_step_done(d, st)) < 0 || (r = db_commit(d)) < 0)
		goto fail;
	goto out;
fail:
	if (r == 0)
		r = -EIO;
	db_rollback(d);
	snprintf(j->err, sizeof(j->err), "cannot record the deployment: %s", strerror(-r));
out:
	db_unlock(d);
	free(stages);
	return r;
}

const struct job_stage deploy_stages[] = {
	{ "planning", stage_planning, NULL },
	{ "reservation", stage_reservation, NULL }, /* given back by deploy_fail_commit */
	{ "networkprep", stage_network, deploy_undo_network },
	{ "volumeprep", stage_volume, deploy_undo_volume },
	{ "start", stage_start, deploy_undo_start },
	{ "completion", stage_completion, NULL },
};
const size_t deploy_nstages = sizeof(deploy_stages) / sizeof(deploy_stages[0]);

int
job_counts_release(struct job *j)
{
	static const char sql[] =
	    "UPDATE resource_count SET count = count - CASE type WHEN 'vm' THEN 1"
	    " WHEN 'cpu' THEN ?2 WHEN 'memory' THEN ?3 WHEN 'volume' THEN 1"
	    " WHEN 'storage' THEN ?4 ELSE 0 END WHERE account_id = ?1";
	sqlite3_stmt *st = db_stmt(j->m->db, sql);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, j->account_id);
	sqlite3_bind_int64(st, 2, j->cpu_count);
	sqlite3_bind_int64(st, 3, j->need.ram_mib);
	sqlite3_bind_int64(st, 4, j->need.disk_bytes);
	return db_step_done(j->m->db, st);
}

/* Rows that only a VM holding resources has: released together. */
static int
release_rows(struct job *j)
{
	static const char sql_nic[] = "DELETE FROM nic WHERE vm_id = ?1";
	static const char sql_vol[] = "DELETE FROM volume WHERE vm_id = ?1";
	struct db *d = j->m->db;
	sqlite3_stmt *st;
	int r;

	if (j->reserved &&
	    (r = capacity_release(d, &j->m->cap, j->host_id, j->pool_id, &j->need)) < 0)
		return r;
	if (!j->ip4)
		return 0; /* rows and counts went with an earlier failure */
	if (!(st = db_stmt(d, sql_nic)))
		return -EIO;
	sqlite3_bind_int64(st, 1, j->vm_id);
	if ((r = db_step_done(d, st)) < 0 || !(st = db_stmt(d, sql_vol)))
		return r < 0 ? r : -EIO;
	sqlite3_bind_int64(st, 1, j->vm_id);
	if ((r = db_step_done(d, st)) < 0)
		return r;
	return job_counts_release(j);
}

/* Ends a job in the database: the VM to vm_state (rows and capacity given
 * back when release), the job to status with its code and text. */
int
job_finish_commit(struct job *j, const char *vm_state, bool release, int status)
{
	/* A released VM is on no host any more: a later destroy must not remove
	 * a domain of the same name there (one a failed start found, not ours). */
	static const char sql_vm[] =
	    "UPDATE vm SET state = ?2, error_text = ?3, reserved = reserved * ?4,"
	    " host_id = CASE ?4 WHEN 0 THEN NULL ELSE host_id END WHERE id = ?1";
	static const char sql_job[] =
	    "UPDATE job SET status = ?2, result_code = ?3, error_text = ?4, finished_ms = ?5,"
	    " stages = ?6 WHERE id = ?1";
	struct db *d = j->m->db;
	bool was_reserved = j->reserved;
	sqlite3_stmt *st;
	char *stages = job_stages_json(j);
	int r;

	if (!stages)
		return -ENOMEM;
	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	if (release && (r = release_rows(j)) < 0)
		goto fail;
	r = -EIO;
	if (!(st = db_stmt(d, sql_vm)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->vm_id);
	sqlite3_bind_text(st, 2, vm_state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status == 2 ? j->err : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, release ? 0 : 1);
	if ((r = db_step_done(d, st)) < 0 || !(st = db_stmt(d, sql_job)))
		goto fail;
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_int(st, 3, status == 2 ? j->fail_code : 0);
	sqlite3_bind_text(st, 4, status == 2 ? j->err : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms());
	sqlite3_bind_text(st, 6, stages, -1, SQLITE_STATIC);
	if ((r = db_step_done(d, st)) < 0 || (r = db_commit(d)) < 0)
		goto fail;
	if (release && was_reserved) /* under the db lock: see stage_reservation */
		capacity_apply(&j->m->cap, j->host_id, j->pool_id, &j->need, -1);
	db_unlock(d);
	if (release) {
		if (j->ip4)
			ipam_release(&j->m->ipam, j->network_id, j->ip4);
		j->reserved = false;
	}
	free(stages);
	return 0;
fail:
	if (r == 0)
		r = -EIO;
	db_rollback(d);
out:
	db_unlock(d);
	free(stages);
	return r;
}

int
deploy_fail_commit(struct job *j)
{
	return job_finish_commit(j, "Error", true, 2);
}
