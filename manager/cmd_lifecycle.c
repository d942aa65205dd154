/* cmd_lifecycle.c: the sync phases of the commands on a VM that exists:
 * destroyVirtualMachine, startVirtualMachine, stopVirtualMachine,
 * rebootVirtualMachine, resetPasswordForVirtualMachine (each checks the VM's
 * owner and state, refuses a VM with a job in progress, and records the job
 * of its kind), and the synchronous updateVirtualMachine and
 * getVirtualMachineUserData. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "base64.h"
#include "job.h"
#include "log.h"
#include "vrpush.h"

#define DISPLAYNAME_MAX 255

/* A VM command: the states it accepts, the job kind, the state the sync
 * phase moves the VM to (or -1). */
struct vm_cmd {
	const char *cmd, *id_param, *kind;
	unsigned states; /* 1 << enum vm_state */
	int to_state;
};

static const struct vm_cmd vm_cmds[] = {
	{ "destroyVirtualMachine", "id", "destroy",
	    1u << VM_RUNNING | 1u << VM_STOPPED | 1u << VM_ERROR, VM_EXPUNGING },
	{ "startVirtualMachine", "id", "start", 1u << VM_STOPPED, -1 },
	{ "stopVirtualMachine", "id", "stop", 1u << VM_RUNNING, -1 },
	{ "rebootVirtualMachine", "id", "reboot", 1u << VM_RUNNING, -1 },
	{ "resetPasswordForVirtualMachine", "id", "resetpassword", 1u << VM_STOPPED, -1 },
};

struct vm_ref {
	int64_t id;
	enum vm_state state;
	char uuid[37];
};

/* The VM of the caller's account (any for an admin) by its id, with no job
 * in progress.  Caller holds the db lock.  0 or an error (431). */
static int
vm_find(struct api_req *r, const char *cmd, const char *param, struct vm_ref *v,
    struct api_err *e)
{
	static const char sql[] = "SELECT v.id, v.state, v.account_id, v.uuid,"
	    " (SELECT COUNT(*) FROM job j WHERE j.vm_id = v.id AND j.status = 0)"
	    " FROM vm v WHERE v.uuid = ?";
	const char *uuid = query_get(r->q, param);
	struct db_st *st;
	int found = 0, busy = 0, s = -1;

	if (!uuid)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command %s due to "
		    "missing parameter %s", cmd, param);
	if (!(st = db_stmt(r->m->db, sql)))
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	db_bind_text(st, 1, uuid);
	if (db_step(st) == DB_ROW &&
	    (r->acct->admin || db_col_int(st, 2) == r->acct->id)) {
		found = 1;
		v->id = db_col_int(st, 0);
		s = vm_state_parse(db_text(st, 1));
		snprintf(v->uuid, sizeof(v->uuid), "%s", db_text(st, 3));
		busy = db_col_int(st, 4) > 0;
	}
	db_reset(st);
	if (!found || s < 0)
		return api_fail(e, CS_PARAM_ERROR, "Unable to find virtual machine by id %.64s",
		    uuid);
	v->state = (enum vm_state)s;
	if (busy)
		return api_fail(e, CS_PARAM_ERROR, "VM %s has a job in progress; try again when it "
		    "has finished", v->uuid);
	return 0;
}

static int
bool_param(struct api_req *r, const char *name, bool *out, struct api_err *e)
{
	const char *v = query_get(r->q, name);

	if (!v)
		return 0;
	if (!strcasecmp(v, "true"))
		*out = true;
	else if (!strcasecmp(v, "false"))
		*out = false;
	else
		return api_fail(e, CS_PARAM_ERROR, "%s must be true or false", name);
	return 0;
}

int
cmd_vm_job(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *cmd = query_get(r->q, "command");
	const struct vm_cmd *c = NULL;
	struct db *d = r->m->db;
	char job_uuid[37], arg[64] = "";
	struct vm_ref v;
	bool flag = false;
	int64_t job_id = 0;
	int x;

	for (size_t i = 0; i < sizeof(vm_cmds) / sizeof(vm_cmds[0]) && !c; i++)
		if (!strcmp(vm_cmds[i].cmd, cmd))
			c = &vm_cmds[i];
	if (!c)
		return api_fail(e, CS_INTERNAL_ERROR, "%s: not a VM job command", cmd);
	/* destroy: expunge (always done: a destroyed VM is expunged); stop: forced */
	if (bool_param(r, !strcmp(c->kind, "stop") ? "forced" : "expunge", &flag, e) < 0)
		return -EINVAL; /* e says why */
	if (!strcmp(c->kind, "stop"))
		snprintf(arg, sizeof(arg), "{\"forced\":%s}", flag ? "true" : "false");
	else if (!strcmp(c->kind, "resetpassword"))
		vm_password_new(arg);
	db_lock(d);
	if ((x = vm_find(r, cmd, c->id_param, &v, e)) < 0)
		goto out;
	if (!(c->states & 1u << v.state)) {
		x = api_fail(e, CS_PARAM_ERROR, "VM %s is %s; %s needs it %s", v.uuid,
		    vm_state_names[v.state], cmd, c->states == 1u << VM_STOPPED ? "Stopped" :
		    c->states == 1u << VM_RUNNING ? "Running" : "Running, Stopped or Error");
		goto out;
	}
	uuid_new(job_uuid);
	if (db_begin(d) < 0 ||
	    (c->to_state >= 0 && db_run(d, "UPDATE vm SET state = ? WHERE id = ?", "si",
	    vm_state_names[c->to_state], v.id) < 0) ||
	    db_run(d, "INSERT INTO job (uuid, account_id, cmd, vm_id, created_ms, arg, owner_id,"
	    " owner_gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "sisiisii", job_uuid, r->acct->id, c->kind,
	    v.id, now_ms(), arg, r->m->self_id, r->m->self_gen) < 0 || (job_id = db_last_id(d), db_commit(d)) < 0) {
		db_rollback(d);
		x = api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
		goto out;
	}
	db_unlock(d);
	if (jobs_submit(r->m, job_id) < 0)
		log_warnx("%s: job queue full; job %s runs after the next restart", cmd, job_uuid);
	*out = json_pack("{ssss}", "id", v.uuid, "jobid", job_uuid);
	return 0;
out:
	db_unlock(d);
	return x;
}

/* The running VM's VR entries with its new user data (no password: the
 * guest may have taken it already).  Outside the db lock. */
static int
push_userdata(struct api_req *r, int64_t vm_id, const char *userdata, struct api_err *e)
{
	struct job j;
	char err[JOB_ERR_MAX];
	int x;

	/* the job loader reads a VM through a job row: use the VM's latest */
	if ((x = job_load_vm(r->m, vm_id, &j)) < 0)
		return api_fail(e, CS_INTERNAL_ERROR, "cannot load the VM: %s", strerror(-x));
	free(j.userdata);
	j.userdata = strdup(userdata);
	j.password[0] = '\0';
	if (!j.userdata)
		x = -ENOMEM;
	else
		x = job_vr_push(&j, false);
	snprintf(err, sizeof(err), "%s", j.err);
	job_clear(&j);
	if (x < 0)
		return api_fail(e, CS_INTERNAL_ERROR, "cannot push the user data to the VR: %s",
		    err);
	return 0;
}

int
cmd_update_vm(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *dn = query_get(r->q, "displayname"), *ud = query_get(r->q, "userdata");
	struct db *d = r->m->db;
	struct vm_ref v;
	int x;

	if (dn && (strlen(dn) > DISPLAYNAME_MAX || strpbrk(dn, "\r\n")))
		return api_fail(e, CS_PARAM_ERROR, "displayname: at most %d characters, one line",
		    DISPLAYNAME_MAX);
	if (ud && *ud && vm_userdata_check(ud, e) < 0)
		return -EINVAL; /* e says why */
	db_lock(d);
	x = vm_find(r, "updateVirtualMachine", "id", &v, e);
	db_unlock(d);
	if (x < 0)
		return x;
	/* Running: the VR gets the user data first; if it refuses, neither it
	 * nor the database changes.  The push holds no lock: a job accepted
	 * meanwhile may push the older user data; the database keeps the new
	 * one, which every later push (a start, an update) sends. */
	if (ud && v.state == VM_RUNNING && (x = push_userdata(r, v.id, ud, e)) < 0)
		return x;
	db_lock(d);
	if ((dn && db_run(d, "UPDATE vm SET display_name = ? WHERE id = ?", "si", dn, v.id) < 0) ||
	    (ud && db_run(d, "UPDATE vm SET userdata = ? WHERE id = ?", "si", ud, v.id) < 0)) {
		db_unlock(d);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
	}
	*out = json_pack("{so*}", "virtualmachine", vm_json(d, v.id, false));
	db_unlock(d);
	return 0;
}

int
cmd_get_userdata(struct api_req *r, json_t **out, struct api_err *e)
{
	struct db *d = r->m->db;
	struct vm_ref v;
	struct db_st *st;
	int x;

	db_lock(d);
	if ((x = vm_find(r, "getVirtualMachineUserData", "virtualmachineid", &v, e)) < 0 &&
	    e->code == CS_PARAM_ERROR && strstr(e->text, "in progress"))
		x = 0; /* reading does not wait for a job */
	if (x < 0)
		goto out;
	if (!(st = db_stmt(d, "SELECT userdata FROM vm WHERE id = ?"))) {
		x = api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
		goto out;
	}
	db_bind_int(st, 1, v.id);
	if (db_step(st) == DB_ROW)
		*out = json_pack("{s{ssss}}", "virtualmachineuserdata", "virtualmachineid", v.uuid,
		    "userdata", db_text(st, 0));
	db_reset(st);
	if (!*out)
		x = api_fail(e, CS_INTERNAL_ERROR, "cannot read the user data");
out:
	db_unlock(d);
	return x;
}
