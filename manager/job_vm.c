/* job_vm.c: what every VM job shares: loading the job with its VM,
 * offering, template, network, NIC and ROOT volume; the VM's VR batch; and
 * the transactions that end a job (the VM's new state, the capacity, rows
 * and resource counts it gives back, the job's status, stages and result). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "job.h"
#include "log.h"
#include "vrpush.h"

const char *const vm_state_names[VM_STATE_N] = {
	[VM_STOPPED] = "Stopped",
	[VM_STARTING] = "Starting",
	[VM_RUNNING] = "Running",
	[VM_STOPPING] = "Stopping",
	[VM_EXPUNGING] = "Expunging",
	[VM_DESTROYED] = "Destroyed",
	[VM_ERROR] = "Error",
};

int
vm_state_parse(const char *s)
{
	for (int i = 0; i < VM_STATE_N; i++)
		if (!strcmp(vm_state_names[i], s))
			return i;
	return -ENOENT;
}

static const char SQL_LOAD[] =
    "SELECT j.uuid, j.cmd, j.vm_id, v.account_id, v.uuid, v.name, v.instance_name, v.state,"
    " v.password, v.userdata, v.ssh_key, v.zone_id, COALESCE(v.host_id, 0),"
    " COALESCE(v.pool_id, 0), v.reserved, o.name, o.cpu_count, o.cpu_mhz, o.ram_mib,"
    " o.local_storage, z.name, t.uuid, s.path || '/' || t.path, t.size, n.id, n.vr_url,"
    " n.vr_token, n.bridge, n.vlan, n.gateway, n.dns, COALESCE(c.ip, 0), COALESCE(c.mac, ''),"
    " COALESCE(vol.id, 0), COALESCE(vol.uuid, ''), COALESCE(vol.path, ''), j.arg,"
    " COALESCE(v.last_host_id, 0), COALESCE(vol.pool_id, 0), COALESCE(vol.state, '')"
    " FROM (SELECT uuid, cmd, vm_id, arg FROM job WHERE id = ?1"
    " UNION ALL SELECT '', '', ?2, '' WHERE ?1 = 0) j"
    " JOIN vm v ON v.id = j.vm_id JOIN offering o ON o.id = v.offering_id"
    " JOIN zone z ON z.id = v.zone_id JOIN template t ON t.id = v.template_id"
    " JOIN secondary s ON s.id = t.secondary_id JOIN network n ON n.id = v.network_id"
    " LEFT JOIN nic c ON c.vm_id = v.id"
    " LEFT JOIN volume vol ON vol.vm_id = v.id AND vol.type = 'ROOT'";

#define COPY(dst, col) snprintf(dst, sizeof(dst), "%s", db_text(st, col))

static void
job_fill(struct job *j, struct db_st *st)
{
	struct cap_pool *p;

	COPY(j->uuid, 0);
	COPY(j->cmd, 1);
	j->vm_id = db_col_int(st, 2);
	j->account_id = db_col_int(st, 3);
	COPY(j->vm_uuid, 4);
	COPY(j->vm_name, 5);
	COPY(j->instance_name, 6);
	j->state = (enum vm_state)vm_state_parse(db_text(st, 7));
	COPY(j->password, 8);
	j->userdata = strdup(db_text(st, 9));
	j->ssh_key = strdup(db_text(st, 10));
	j->zone_id = db_col_int(st, 11);
	j->host_id = db_col_int(st, 12);
	j->pool_id = db_col_int(st, 13);
	j->reserved = db_col_int(st, 14) != 0;
	COPY(j->offering_name, 15);
	j->cpu_count = (unsigned)db_col_int(st, 16);
	j->cpu_mhz = (unsigned)db_col_int(st, 17);
	j->need.zone_id = j->zone_id;
	j->need.cpu_mhz = (int64_t)j->cpu_count * j->cpu_mhz;
	j->need.ram_mib = db_col_int(st, 18);
	j->need.local = db_col_int(st, 19) != 0;
	COPY(j->zone_name, 20);
	COPY(j->tpl_uuid, 21);
	COPY(j->tpl_path, 22);
	j->need.disk_bytes = db_col_int(st, 23);
	j->network_id = db_col_int(st, 24);
	COPY(j->vr_url, 25);
	COPY(j->vr_token, 26);
	COPY(j->bridge, 27);
	j->vlan = (unsigned)db_col_int(st, 28);
	ip4_format((uint32_t)db_col_int(st, 29), j->gateway);
	COPY(j->dns, 30);
	j->ip4 = (uint32_t)db_col_int(st, 31);
	if (j->ip4)
		ip4_format(j->ip4, j->ip);
	COPY(j->mac, 32);
	j->volume_id = db_col_int(st, 33);
	COPY(j->volume_uuid, 34);
	COPY(j->volume_path, 35);
	j->arg = strdup(db_text(st, 36));
	j->last_host_id = db_col_int(st, 37);
	j->vol_pool_id = db_col_int(st, 38);
	j->vol_ready = !strcmp(db_text(st, 39), "Ready");
	/* A volume that exists stays where it is: a start claims only CPU and
	 * RAM, on a host that reaches its pool, the last host first. */
	j->claim = j->need;
	if (j->vol_ready && j->vol_pool_id) {
		j->claim.disk_bytes = 0;
		j->claim.pool_id = j->vol_pool_id;
	}
	j->claim.prefer_host_id = j->last_host_id;
	/* The ROOT volume's file follows from its pool: known before it exists,
	 * so a rollback after a crash can find it. */
	if (!j->volume_path[0] && j->volume_uuid[0] && j->pool_id &&
	    (p = capacity_pool(&j->m->cap, j->pool_id)))
		snprintf(j->volume_path, sizeof(j->volume_path), "%s/%s.qcow2", p->path,
		    j->volume_uuid);
}

/* The job id (its VM's context) or, with id 0, the VM vm_id alone. */
static int
load(struct mgr *m, int64_t id, int64_t vm_id, struct job *j)
{
	struct db_st *st;
	int rc, r;

	memset(j, 0, sizeof(*j));
	j->m = m;
	j->id = id;
	db_lock(m->db);
	if (!(st = db_stmt(m->db, SQL_LOAD))) {
		db_unlock(m->db);
		return -EIO;
	}
	db_bind_int(st, 1, id);
	db_bind_int(st, 2, vm_id);
	rc = db_step(st);
	if (rc == DB_ROW)
		job_fill(j, st);
	r = rc == DB_ROW ? 0 : rc == DB_DONE ? -ENOENT : rc;
	db_reset(st);
	db_unlock(m->db);
	if (r == 0 && (!j->userdata || !j->ssh_key || !j->arg))
		r = -ENOMEM;
	if (r == 0 && (int)j->state < 0)
		r = -EPROTO; /* written by a newer vr-manager */
	if (r == 0 && id && !(j->kind = job_kind_find(j->cmd)))
		r = -EPROTO;
	if (r < 0)
		job_clear(j);
	return r;
}

int
job_load(struct mgr *m, int64_t id, struct job *j)
{
	return id > 0 ? load(m, id, 0, j) : -ENOENT;
}

int
job_load_vm(struct mgr *m, int64_t vm_id, struct job *j)
{
	return load(m, 0, vm_id, j);
}

void
job_clear(struct job *j)
{
	free(j->userdata);
	free(j->ssh_key);
	free(j->arg);
	j->userdata = j->ssh_key = j->arg = NULL;
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
		r = vr_push(j->m->vr, j->vr_url, j->vr_token, &b, j->m->vr_timeout_s, j->err,
		    sizeof(j->err));
	else
		snprintf(j->err, sizeof(j->err), "cannot render the VR batch: %s", strerror(-r));
	buf_free(&b);
	return r;
}

void
job_undo_vr_push(struct job *j)
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

int
job_counts_release(struct job *j)
{
	static const char sql[] =
	    "UPDATE resource_count SET count = count - CASE type WHEN 'vm' THEN 1"
	    " WHEN 'cpu' THEN ?2 WHEN 'memory' THEN ?3 WHEN 'volume' THEN 1"
	    " WHEN 'storage' THEN ?4 ELSE 0 END WHERE account_id = ?1";
	struct db_st *st = db_stmt(j->m->db, sql);

	if (!st)
		return -EIO;
	db_bind_int(st, 1, j->account_id);
	db_bind_int(st, 2, j->cpu_count);
	db_bind_int(st, 3, j->need.ram_mib);
	db_bind_int(st, 4, j->need.disk_bytes);
	return db_step_done(j->m->db, st);
}

/* Rows that only a VM holding resources has: released together. */
static int
release_rows(struct job *j)
{
	static const char sql_nic[] = "DELETE FROM nic WHERE vm_id = ?1";
	static const char sql_vol[] = "DELETE FROM volume WHERE vm_id = ?1";
	struct db *d = j->m->db;
	struct db_st *st;
	int r;

	if (!j->ip4)
		return 0; /* rows and counts went with an earlier failure */
	if (!(st = db_stmt(d, sql_nic)))
		return -EIO;
	db_bind_int(st, 1, j->vm_id);
	if ((r = db_step_done(d, st)) < 0 || !(st = db_stmt(d, sql_vol)))
		return r < 0 ? r : -EIO;
	db_bind_int(st, 1, j->vm_id);
	if ((r = db_step_done(d, st)) < 0)
		return r;
	return job_counts_release(j);
}

/* The capacity release names, in the caller's transaction: the host's CPU
 * and RAM (claimed by the reservation: j->claim) and the volume's bytes. */
static int
release_capacity(struct job *j, unsigned release, int64_t *host, int64_t *pool,
    struct cap_need *n)
{
	memset(n, 0, sizeof(*n));
	*host = *pool = 0;
	if ((release & JOB_RELEASE_HOST) && j->reserved) {
		*host = j->host_id;
		n->cpu_mhz = j->need.cpu_mhz;
		n->ram_mib = j->need.ram_mib;
	}
	if ((release & JOB_RELEASE_POOL) && j->vol_pool_id) {
		*pool = j->vol_pool_id;
		n->disk_bytes = j->need.disk_bytes;
	}
	if (!*host && !*pool)
		return 0;
	return capacity_release(j->m->db, &j->m->cap, *host, *pool, n);
}

/* Ends a job in the database: the VM to state (capacity and rows given
 * back as release says), the job to status with its code and text. */
int
job_finish_commit(struct job *j, enum vm_state state, unsigned release, enum job_status status)
{
	/* A VM without its host's capacity is on no host any more: a later
	 * destroy must not remove a domain of the same name there (one a
	 * failed start found, not ours). */
	static const char sql_vm[] =
	    "UPDATE vm SET state = ?2, error_text = ?3, reserved = reserved * ?4,"
	    " host_id = CASE ?4 WHEN 0 THEN NULL ELSE host_id END,"
	    " pool_id = CASE ?5 WHEN 0 THEN NULL ELSE pool_id END WHERE id = ?1";
	static const char sql_vol[] = "UPDATE volume SET pool_id = NULL WHERE vm_id = ?1";
	static const char sql_job[] =
	    "UPDATE job SET status = ?2, result_code = ?3, error_text = ?4, finished_ms = ?5,"
	    " stages = ?6 WHERE id = ?1";
	struct db *d = j->m->db;
	bool failed = status == JOB_FAILED;
	bool keep_host = !(release & JOB_RELEASE_HOST), keep_pool = !(release & JOB_RELEASE_POOL);
	int64_t host, pool;
	struct cap_need n;
	struct db_st *st;
	char *stages = job_stages_json(j);
	int r;

	if (!stages)
		return -ENOMEM;
	db_lock(d);
	if ((r = db_begin(d)) < 0)
		goto out;
	if ((r = job_fence(j->m, j->id)) < 0 ||
	    (r = release_capacity(j, release, &host, &pool, &n)) < 0)
		goto fail;
	if ((release & JOB_RELEASE_ROWS) && (r = release_rows(j)) < 0)
		goto fail;
	r = -EIO;
	if (!(st = db_stmt(d, sql_vm)))
		goto fail;
	db_bind_int(st, 1, j->vm_id);
	db_bind_text(st, 2, vm_state_names[state]);
	db_bind_text(st, 3, failed ? j->err : "");
	db_bind_int(st, 4, keep_host);
	db_bind_int(st, 5, keep_pool);
	if ((r = db_step_done(d, st)) < 0)
		goto fail;
	if (!keep_pool && !(release & JOB_RELEASE_ROWS)) {
		if (!(st = db_stmt(d, sql_vol))) {
			r = -EIO;
			goto fail;
		}
		db_bind_int(st, 1, j->vm_id);
		if ((r = db_step_done(d, st)) < 0)
			goto fail;
	}
	if (!(st = db_stmt(d, sql_job))) {
		r = -EIO;
		goto fail;
	}
	db_bind_int(st, 1, j->id);
	db_bind_int(st, 2, status);
	db_bind_int(st, 3, failed ? j->fail_code : 0);
	db_bind_text(st, 4, failed ? j->err : "");
	db_bind_int(st, 5, now_ms());
	db_bind_text(st, 6, stages);
	if ((r = db_step_done(d, st)) < 0 || (r = db_commit(d)) < 0)
		goto fail;
	/* under the db lock: see job_stage_reservation; the address too, so
	 * it is free again before anyone can see the job ended (db_unlock
	 * waits for the commit's sync, and a client polling the job is woken
	 * by the same sync) */
	capacity_apply(&j->m->cap, host, pool, &n, -1);
	if (release & JOB_RELEASE_ROWS) {
		if (j->ip4)
			ipam_release(&j->m->ipam, j->network_id, j->ip4);
		j->ip4 = 0;
	}
	db_unlock(d);
	if (host)
		j->reserved = false;
	if (pool)
		j->vol_pool_id = 0;
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
