/* cmd_vm.c: deployVirtualMachine's sync phase (limits, VM, NIC and ROOT
 * volume records, resource counts, the job: deploy, or create when
 * startvm=false), listVirtualMachines and the VM's JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "addr.h"
#include "api.h"
#include "base64.h"
#include "buf.h"
#include "inventory.h"
#include "log.h"
#include "names.h"

#define USERDATA_B64_MAX (48 * 1024) /* the whole request is at most QUERY_LEN_MAX */
#define SSH_KEY_MAX 8192
#define DISPLAYNAME_MAX 255

/* What the deploy's parameters resolve to. */
struct deploy_in {
	int64_t zone_id, offering_id, template_id, network_id;
	int64_t cpu_count, cpu_mhz, ram_mib, disk_bytes;
	char name[64], password[VM_PASSWORD_LEN + 1], keypairs[512];
	const char *userdata, *ssh_key, *display_name;
	char *keys; /* the key pairs' public keys */
	bool start;
};

static const char *const limit_cs_names[INV_LIM_N] = { "user_vm", "cpu", "memory", "volume",
	"primary_storage" };

/* One row's id (and an optional second integer) by uuid. */
static int
id_by_uuid(struct mgr *m, const char *sql, const char *uuid, int64_t *id, int64_t *extra)
{
	int64_t cols[2] = { 0, 0 };
	int r = db_ints_by_text(m->db, sql, uuid, cols, extra ? 2 : 1);

	if (r == 0) {
		*id = cols[0];
		if (extra)
			*extra = cols[1];
	}
	return r;
}

void
vm_password_new(char out[VM_PASSWORD_LEN + 1])
{
	static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char b[VM_PASSWORD_LEN];
	size_t i;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b)); /* getrandom(2) of 12 bytes does not fail */
	for (i = 0; i < VM_PASSWORD_LEN; i++)
		out[i] = set[b[i] % (sizeof(set) - 1)];
	out[VM_PASSWORD_LEN] = '\0';
}

int
vm_userdata_check(const char *b64, struct api_err *e)
{
	char *dec = NULL;
	size_t declen;

	if (strlen(b64) > USERDATA_B64_MAX ||
	    base64_decode(b64, strlen(b64), USERDATA_B64_MAX, &dec, &declen) < 0)
		return api_fail(e, CS_PARAM_ERROR, "userdata must be base64, at most %d bytes",
		    USERDATA_B64_MAX);
	free(dec);
	return 0;
}

/* startvm, displayname, keypair or keypairs (resolved to public keys). */
static int
deploy_options(struct api_req *r, struct deploy_in *in, struct api_err *e)
{
	const char *sv = query_get(r->q, "startvm"), *dn = query_get(r->q, "displayname");
	const char *kp = query_get(r->q, "keypairs");

	in->start = true;
	if (sv && !strcasecmp(sv, "false"))
		in->start = false;
	else if (sv && strcasecmp(sv, "true"))
		return api_fail(e, CS_PARAM_ERROR, "startvm must be true or false");
	if (dn && (strlen(dn) > DISPLAYNAME_MAX || strpbrk(dn, "\r\n")))
		return api_fail(e, CS_PARAM_ERROR, "displayname: at most %d characters, one line",
		    DISPLAYNAME_MAX);
	in->display_name = dn;
	if (!kp)
		kp = query_get(r->q, "keypair");
	if (!kp)
		return 0;
	if (in->ssh_key)
		return api_fail(e, CS_PARAM_ERROR, "sshkey and keypair exclude each other");
	if (keypairs_resolve(r, kp, &in->keys, in->keypairs, sizeof(in->keypairs), e) < 0)
		return -EINVAL; /* e says why */
	in->ssh_key = in->keys;
	return 0;
}

/* Checks and resolves the parameters (caller holds the db lock). */
/* CloudStack's rule: a VM's name is unique within its network, without case
 * (it is the VM's DNS name on the router).  A VM holds its name until its
 * destroy has taken its entry off the router, or its deployment failed.
 * Returns 0 if free, else the api_fail result. */
static int
name_taken(struct api_req *r, int64_t network_id, const char *name, struct api_err *e)
{
	struct db_st *st = db_stmt(r->m->db, "SELECT uuid FROM vm WHERE network_id = ?"
	    " AND lower(name) = lower(?) AND state NOT IN ('Destroyed', 'Error') LIMIT 1");
	int rc;

	if (!st)
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	db_bind_int(st, 1, network_id);
	db_bind_text(st, 2, name);
	rc = db_step(st);
	if (rc == DB_ROW) {
		char holder[37];

		snprintf(holder, sizeof(holder), "%s", db_text(st, 0));
		db_reset(st);
		return api_fail(e, CS_PARAM_ERROR, "The vm with hostName %s already exists in the "
		    "network (VM %s)", name, holder);
	}
	db_reset(st);
	if (rc != DB_DONE)
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	return 0;
}

static int
deploy_resolve(struct api_req *r, struct deploy_in *in, struct api_err *e)
{
	const char *zone = query_get(r->q, "zoneid"), *off = query_get(r->q, "serviceofferingid");
	const char *tpl = query_get(r->q, "templateid"), *net = query_get(r->q, "networkids");
	const char *name = query_get(r->q, "name");
	int64_t tpl_zone = 0, net_zone = 0;
	struct db_st *st;
	int x;

	if (!zone || !off || !tpl)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command "
		    "deployvirtualmachine due to missing parameter %s",
		    !zone ? "zoneid" : !off ? "serviceofferingid" : "templateid");
	if (id_by_uuid(r->m, "SELECT id FROM zone WHERE " API_ID_IS, zone, &in->zone_id, NULL))
		return api_fail(e, CS_PARAM_ERROR, "Unable to find zone by id %.64s", zone);
	if (id_by_uuid(r->m, "SELECT id FROM offering WHERE " API_ID_IS, off, &in->offering_id,
	    NULL))
		return api_fail(e, CS_PARAM_ERROR, "Unable to find service offering by id %.64s",
		    off);
	if (id_by_uuid(r->m, "SELECT id, zone_id FROM template WHERE " API_ID_IS, tpl,
	    &in->template_id, &tpl_zone) || tpl_zone != in->zone_id)
		return api_fail(e, CS_PARAM_ERROR, "Unable to find template by id %.64s in zone "
		    "%.64s", tpl, zone);
	if (net && strchr(net, ','))
		return api_fail(e, CS_PARAM_ERROR, "one network per VM is supported");
	if (net) {
		if (id_by_uuid(r->m, "SELECT id, zone_id FROM network WHERE " API_ID_IS, net,
		    &in->network_id, &net_zone) || net_zone != in->zone_id)
			return api_fail(e, CS_PARAM_ERROR, "Unable to find network by id %.64s in "
			    "zone %.64s", net, zone);
	} else if (id_by_uuid(r->m, "SELECT MIN(id), COUNT(*) FROM network WHERE zone_id ="
	    " (SELECT id FROM zone WHERE " API_ID_IS ")", zone, &in->network_id, &net_zone) ||
	    net_zone != 1) {
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command "
		    "deployvirtualmachine due to missing parameter networkids");
	}
	if (name && (strlen(name) >= sizeof(in->name) || !host_label_valid(name)))
		return api_fail(e, CS_PARAM_ERROR, "name must be a hostname label (letters, digits, "
		    "'-', at most 63)");
	if (name && host_name_reserved(name))
		return api_fail(e, CS_PARAM_ERROR, "name %s is reserved: the router, DNS or "
		    "cloud-init resolve it for a service of their own", name);
	if (name && (x = name_taken(r, in->network_id, name, e)) != 0)
		return x;
	snprintf(in->name, sizeof(in->name), "%s", name ? name : "");
	in->userdata = query_get(r->q, "userdata");
	if (in->userdata && *in->userdata && vm_userdata_check(in->userdata, e) < 0)
		return -EINVAL; /* e says why */
	in->ssh_key = query_get(r->q, "sshkey");
	if (in->ssh_key && (strlen(in->ssh_key) > SSH_KEY_MAX || strpbrk(in->ssh_key, "\r\n")))
		return api_fail(e, CS_PARAM_ERROR, "sshkey must be one line of at most %d bytes",
		    SSH_KEY_MAX);
	if (deploy_options(r, in, e) < 0)
		return -EINVAL; /* e says why */
	if (!(st = db_stmt(r->m->db, "SELECT o.cpu_count, o.cpu_mhz, o.ram_mib, t.size FROM"
	    " offering o, template t WHERE o.id = ?1 AND t.id = ?2")))
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	db_bind_int(st, 1, in->offering_id);
	db_bind_int(st, 2, in->template_id);
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	}
	in->cpu_count = db_col_int(st, 0);
	in->cpu_mhz = db_col_int(st, 1);
	in->ram_mib = db_col_int(st, 2);
	in->disk_bytes = db_col_int(st, 3);
	db_reset(st);
	vm_password_new(in->password);
	return 0;
}

/* The account's limits against what the VM adds; on success raises the
 * counts (inside the caller's transaction). */
static int
limits_take(struct api_req *r, const struct deploy_in *in, struct api_err *e)
{
	static const char sql_get[] =
	    "SELECT type, count, max FROM resource_count WHERE account_id = ?1";
	static const char sql_add[] =
	    "UPDATE resource_count SET count = count + ?3 WHERE account_id = ?1 AND type = ?2";
	int64_t need[INV_LIM_N] = { 1, in->cpu_count, in->ram_mib, 1, in->disk_bytes };
	struct db_st *st = db_stmt(r->m->db, sql_get);
	int k, rc;

	if (!st)
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	db_bind_int(st, 1, r->acct->id);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *type = db_text(st, 0);
		int64_t count = db_col_int(st, 1), max = db_col_int(st, 2);

		for (k = 0; k < INV_LIM_N && strcmp(type, inv_limit_names[k]); k++)
			;
		if (k < INV_LIM_N && max >= 0 && count + need[k] > max) {
			db_reset(st);
			return api_fail(e, CS_RESOURCE_LIMIT, "Maximum number of resources of type "
			    "'%s' for account name=%s has been exceeded (%lld in use, %lld asked, "
			    "limit %lld)", limit_cs_names[k], r->acct->name, (long long)count,
			    (long long)need[k], (long long)max);
		}
	}
	db_reset(st);
	for (k = 0; k < INV_LIM_N; k++) {
		if (!(st = db_stmt(r->m->db, sql_add)))
			return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
		db_bind_int(st, 1, r->acct->id);
		db_bind_text(st, 2, inv_limit_names[k]);
		db_bind_int(st, 3, need[k]);
		if (db_step_done(r->m->db, st) < 0)
			return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(r->m->db));
	}
	return 0;
}

/* The records of the sync phase, inside the caller's transaction. */
static int
deploy_records(struct api_req *r, struct deploy_in *in, uint32_t ip, char vm_uuid[37],
    char job_uuid[37], int64_t *job_id)
{
	struct db *d = r->m->db;
	char inst[80], mac[MAC_STRLEN], vol_uuid[37];
	uint8_t macb[6];
	int64_t vm_id, now = now_ms();
	int x;

	uuid_new(vm_uuid);
	uuid_new(vol_uuid);
	uuid_new(job_uuid);
	if (!in->name[0])
		snprintf(in->name, sizeof(in->name), "VM-%s", vm_uuid);
	if ((x = db_run(d, "INSERT INTO vm (uuid, name, instance_name, account_id, zone_id,"
	    " offering_id, template_id, network_id, state, password, userdata, ssh_key,"
	    " created_ms, display_name, keypairs) VALUES (?, ?, '', ?, ?, ?, ?, ?, 'Stopped', ?, ?,"
	    " ?, ?, ?, ?)", "ssiiiiisssiss", vm_uuid, in->name, r->acct->id, in->zone_id,
	    in->offering_id, in->template_id, in->network_id, in->password,
	    in->userdata ? in->userdata : "", in->ssh_key ? in->ssh_key : "", now,
	    in->display_name ? in->display_name : "", in->keypairs)) < 0)
		return x;
	vm_id = db_last_id(d);
	/* CloudStack's instance name, and a MAC that is unique because the id is. */
	snprintf(inst, sizeof(inst), "i-%lld-%lld-VM", (long long)r->acct->id, (long long)vm_id);
	macb[0] = 0x02;
	macb[1] = 0x00;
	macb[2] = (uint8_t)(vm_id >> 24);
	macb[3] = (uint8_t)(vm_id >> 16);
	macb[4] = (uint8_t)(vm_id >> 8);
	macb[5] = (uint8_t)vm_id;
	mac_format(macb, mac);
	if ((x = db_run(d, "UPDATE vm SET instance_name = ? WHERE id = ?", "si", inst,
	    vm_id)) < 0 ||
	    (x = db_run(d, "INSERT INTO nic (vm_id, network_id, ip, mac) VALUES (?, ?, ?, ?)",
	    "iiis", vm_id, in->network_id, (int64_t)ip, mac)) < 0 ||
	    (x = db_run(d, "INSERT INTO volume (uuid, vm_id, type, state, size)"
	    " VALUES (?, ?, 'ROOT', 'Allocated', ?)", "sii", vol_uuid, vm_id, in->disk_bytes)) < 0 ||
	    (x = db_run(d, "INSERT INTO job (uuid, account_id, cmd, vm_id, created_ms, owner_id,"
	    " owner_gen) VALUES (?, ?, ?, ?, ?, ?, ?)", "sisiiii", job_uuid, r->acct->id,
	    in->start ? "deploy" : "create", vm_id, now, r->m->self_id, r->m->self_gen)) < 0)
		return x;
	*job_id = db_last_id(d);
	return 0;
}

#define DEPLOY_IP_TRIES 16

/* A NIC in the database holds ip on the network (another manager's). */
static bool
ipam_taken(struct db *d, int64_t net_id, uint32_t ip)
{
	struct db_st *st = db_stmt(d, "SELECT 1 FROM nic WHERE network_id = ? AND ip = ?");
	bool taken = false;

	if (st) {
		db_bind_int(st, 1, net_id);
		db_bind_int(st, 2, ip);
		taken = db_step(st) == DB_ROW;
		db_reset(st);
	}
	return taken;
}

int
cmd_deploy_vm(struct api_req *r, json_t **out, struct api_err *e)
{
	struct db *d = r->m->db;
	struct deploy_in in;
	char vm_uuid[37], job_uuid[37];
	int64_t job_id = 0;
	uint32_t ip = 0, start;
	int x, tries;

	memset(&in, 0, sizeof(in));
	db_lock(d);
	if ((x = deploy_resolve(r, &in, e)) < 0)
		goto out;
	/* Another manager on the database may have given the address away
	 * since this one's pool was loaded: the NIC's unique (network, ip)
	 * says so (-EEXIST), and another free one is tried. */
	for (tries = 0, start = 0;; tries++) {
		if ((x = ipam_alloc(&r->m->ipam, in.network_id, start, &ip)) < 0) {
			x = api_fail(e, CS_INSUFFICIENT_CAPACITY, "Insufficient address capacity:"
			    " network has no free IP address");
			goto out;
		}
		if (db_begin(d) < 0) {
			x = api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
			goto out;
		}
		if ((x = limits_take(r, &in, e)) < 0)
			goto fail;
		if ((x = deploy_records(r, &in, ip, vm_uuid, job_uuid, &job_id)) == 0 &&
		    (x = db_commit(d)) == 0)
			break;
		db_rollback(d);
		if (x != -EEXIST || tries == DEPLOY_IP_TRIES) {
			x = api_fail(e, CS_INTERNAL_ERROR, "cannot record the VM: %s (%s)",
			    strerror(-x), db_errmsg(d));
			goto out;
		}
		/* in use: stays marked, with every other address the database
		 * shows taken; gone again by now: free here too */
		if (!ipam_taken(d, in.network_id, ip))
			ipam_release(&r->m->ipam, in.network_id, ip);
		ipam_mark_taken(&r->m->ipam, d, in.network_id);
		ip = 0;
		/* managers that lost the same race take the lowest free one again
		 * in step: the next try starts at a random place */
		if (getrandom(&start, sizeof(start), 0) != (ssize_t)sizeof(start))
			start = (uint32_t)tries * 64;
	}
	db_unlock(d);
	if (jobs_submit(r->m, job_id) < 0)
		log_warnx("deploy: job queue full; job %s runs after the next restart", job_uuid);
	*out = json_pack("{ssss}", "id", vm_uuid, "jobid", job_uuid);
	free(in.keys);
	return 0;
fail:
	db_rollback(d);
out:
	if (ip)
		ipam_release(&r->m->ipam, in.network_id, ip);
	db_unlock(d);
	free(in.keys);
	return x;
}

static const char SQL_VM[] =
    "SELECT v.uuid, v.name, v.instance_name, v.state, v.created_ms, v.error_text, z.api_id,"
    " z.name, o.api_id, o.name, o.cpu_count, o.cpu_mhz, o.ram_mib, t.api_id, t.name,"
    " COALESCE(h.api_id, ''), COALESCE(h.name, ''), a.name, n.api_id, COALESCE(c.ip, 0),"
    " COALESCE(c.mac, ''), n.gateway, n.prefix, v.password,"
    " CASE v.display_name WHEN '' THEN v.name ELSE v.display_name END, v.keypairs,"
    " a.api_id, t.api_id"
    " FROM vm v JOIN zone z ON z.id = v.zone_id JOIN offering o ON o.id = v.offering_id"
    " JOIN template t ON t.id = v.template_id JOIN account a ON a.id = v.account_id"
    " JOIN network n ON n.id = v.network_id LEFT JOIN host h ON h.id = v.host_id"
    " LEFT JOIN nic c ON c.vm_id = v.id WHERE v.id = ?";

json_t *
vm_json(struct db *d, int64_t vm_id, bool with_password)
{
	struct db_st *st = db_stmt(d, SQL_VM);
	char created[32], ip[IP4_STRLEN], gw[IP4_STRLEN], mask[IP4_STRLEN];
	json_t *v = NULL, *nics;

	if (!st)
		return NULL;
	db_bind_int(st, 1, vm_id);
	if (db_step(st) != DB_ROW)
		goto out;
	time_format(db_col_int(st, 4), created);
	v = json_pack("{ssssssssssssssssssssssssss sIsIsI}", "id", db_text(st, 0), "name",
	    db_text(st, 1), "displayname", db_text(st, 24), "instancename", db_text(st, 2),
	    "state", db_text(st, 3), "created", created, "zoneid", db_text(st, 6), "zonename",
	    db_text(st, 7), "serviceofferingid", db_text(st, 8), "serviceofferingname",
	    db_text(st, 9), "templateid", db_text(st, 13), "templatename", db_text(st, 14),
	    "account", db_text(st, 17), "cpunumber", (json_int_t)db_col_int(st, 10),
	    "cpuspeed", (json_int_t)db_col_int(st, 11), "memory",
	    (json_int_t)db_col_int(st, 12));
	if (!v)
		goto out;
	if (*db_text(st, 15)) {
		json_object_set_new(v, "hostid", json_string(db_text(st, 15)));
		json_object_set_new(v, "hostname", json_string(db_text(st, 16)));
	}
	if (*db_text(st, 5))
		json_object_set_new(v, "errortext", json_string(db_text(st, 5)));
	if (*db_text(st, 25)) {
		json_object_set_new(v, "keypair", json_string(db_text(st, 25)));
		json_object_set_new(v, "keypairs", json_string(db_text(st, 25)));
	}
	json_object_set_new(v, "accountid", json_string(db_text(st, 26)));
	json_object_set_new(v, "passwordenabled", json_true());
	json_object_set_new(v, "hypervisor", json_string("KVM"));
	json_object_set_new(v, "domain", json_string("ROOT"));
	if (with_password)
		json_object_set_new(v, "password", json_string(db_text(st, 23)));
	nics = json_array();
	if (db_col_int(st, 19)) {
		ip4_format((uint32_t)db_col_int(st, 19), ip);
		ip4_format((uint32_t)db_col_int(st, 21), gw);
		ip4_format(prefix_mask(db_col_int(st, 22)), mask);
		json_array_append_new(nics, json_pack("{sssssssssssb}", "networkid",
		    db_text(st, 18), "ipaddress", ip, "macaddress", db_text(st, 20), "gateway", gw,
		    "netmask", mask, "isdefault", 1));
	}
	json_object_set_new(v, "nic", nics);
out:
	db_reset(st);
	return v;
}

int
cmd_list_vms(struct api_req *r, json_t **out, struct api_err *e)
{
	static const char sql[] =
	    "SELECT id, COUNT(*) OVER () FROM vm WHERE (?1 <> 0 OR account_id = ?2)"
	    " AND (?3 IS NULL OR uuid = ?3)"
	    " AND (?4 IS NULL OR state = ?4) AND (?4 IS NOT NULL OR state != 'Destroyed')"
	    " AND (?5 IS NULL OR name = ?5) ORDER BY id LIMIT ?6 OFFSET ?7";
	struct db *d = r->m->reader;
	int64_t limit, offset, total = 0, *ids = NULL;
	size_t n = 0, cap = 0, i;
	struct db_st *st;
	json_t *list;
	int rc, x = 0;

	if (api_paging(r->q, &limit, &offset, e) < 0)
		return -EINVAL; /* e says why */
	db_lock(d);
	if (!(st = db_stmt(d, sql))) {
		db_unlock(d);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
	}
	db_bind_int(st, 1, r->acct->admin);
	db_bind_int(st, 2, r->acct->id);
	if (query_get(r->q, "id"))
		db_bind_text(st, 3, query_get(r->q, "id"));
	if (query_get(r->q, "state"))
		db_bind_text(st, 4, query_get(r->q, "state"));
	if (query_get(r->q, "name"))
		db_bind_text(st, 5, query_get(r->q, "name"));
	db_bind_int(st, 6, limit);
	db_bind_int(st, 7, offset);
	while ((rc = db_step(st)) == DB_ROW) {
		if ((x = array_reserve(&ids, &cap, n + 1, sizeof(*ids), 64)) < 0)
			break;
		ids[n++] = db_col_int(st, 0);
		total = db_col_int(st, 1);
	}
	db_reset(st);
	if (x < 0 || rc != DB_DONE) {
		x = x < 0 ? x : rc;
		db_unlock(d);
		free(ids);
		return api_fail(e, CS_INTERNAL_ERROR, "listing virtual machines: %s", strerror(-x));
	}
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, vm_json(d, ids[i], false));
	db_unlock(d);
	free(ids);
	*out = json_pack("{sIso}", "count", (json_int_t)total, "virtualmachine", list);
	return 0;
}
