/* cmd_catalogue.c: the list commands a client calls before it deploys
 * (listZones, listServiceOfferings, listTemplates, listNetworks), and
 * listVolumes, listPublicIpAddresses, listPortForwardingRules,
 * listIpForwardingRules, listSSHKeyPairs: one table row each, an SQL query
 * that builds CloudStack's object with SQLite's json_object() and counts
 * every match, run through the reader connection by one paging runner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/*
 * Every query binds the same parameters, using those it needs:
 *   ?1 id  ?2 name  ?3 zoneid (inventory id or UUID)  ?4 the caller's account
 *   ?5 1 for an admin  ?6 the command's own filter  ?7 limit  ?8 offset
 * and returns the object (JSON text) and COUNT(*) OVER () (every match).
 */
#define ROW_IS(alias) "(?1 IS NULL OR " alias ".uuid = ?1 OR " alias ".api_id = ?1)"
#define ZONE_IS(col) "(?3 IS NULL OR " col " = (SELECT id FROM zone WHERE " API_ID_IS3 "))"
#define API_ID_IS3 "(uuid = ?3 OR api_id = ?3)"
#define PAGE " LIMIT ?7 OFFSET ?8"
#define IP4(col)                                                                           \
	"((" col ") >> 24) || '.' || (((" col ") >> 16) & 255) || '.' || (((" col ") >> 8) & 255)" \
	" || '.' || ((" col ") & 255)"
#define CREATED(col) "api_time(" col ")"

static const char SQL_ZONES[] =
    "SELECT json_object('id', z.api_id, 'name', z.name, 'description', z.name,"
    " 'networktype', 'Advanced', 'securitygroupsenabled', json('false'),"
    " 'allocationstate', 'Enabled', 'dhcpprovider', 'VirtualRouter',"
    " 'localstorageenabled', json(CASE WHEN EXISTS (SELECT 1 FROM pool p WHERE"
    " p.zone_id = z.id AND p.scope = 'host') THEN 'true' ELSE 'false' END)),"
    " COUNT(*) OVER () FROM zone z WHERE " ROW_IS("z") " AND (?2 IS NULL OR z.name = ?2)"
    " AND (?3 IS NULL OR z.uuid = ?3 OR z.api_id = ?3) ORDER BY z.id" PAGE;

static const char SQL_OFFERINGS[] =
    "SELECT json_object('id', o.api_id, 'name', o.name, 'displaytext', o.name,"
    " 'cpunumber', o.cpu_count, 'cpuspeed', o.cpu_mhz, 'memory', o.ram_mib,"
    " 'storagetype', CASE o.local_storage WHEN 0 THEN 'shared' ELSE 'local' END,"
    " 'offerha', json('false'), 'limitcpuuse', json('false'), 'iscustomized', json('false'),"
    " 'issystem', json('false'), 'isvolatile', json('false'), 'defaultuse', json('false')),"
    " COUNT(*) OVER () FROM offering o WHERE " ROW_IS("o") " AND (?2 IS NULL OR o.name = ?2)"
    " ORDER BY o.id" PAGE;

/* The inventory's templates are public and featured, owned by no account:
 * templatefilter featured, executable, community and all list them, the
 * account's own (self, selfexecutable, sharedexecutable, shared) none. */
static const char SQL_TEMPLATES[] =
    "SELECT json_object('id', t.api_id, 'name', t.name, 'displaytext', t.name,"
    " 'ispublic', json('true'), 'isfeatured', json('true'), 'isready', json('true'),"
    " 'isextractable', json('false'), 'crossZones', json('false'),"
    " 'passwordenabled', json('true'), 'sshkeyenabled', json('true'),"
    " 'format', upper(t.format), 'hypervisor', 'KVM', 'templatetype', 'USER',"
    " 'ostypename', 'Other Linux (64-bit)', 'status', 'Download Complete', 'size', t.size,"
    " 'zoneid', z.api_id, 'zonename', z.name, 'account', 'system'),"
    " COUNT(*) OVER () FROM template t JOIN zone z ON z.id = t.zone_id"
    " WHERE " ROW_IS("t") " AND (?2 IS NULL OR t.name = ?2) AND " ZONE_IS("t.zone_id")
    " AND ?6 IN ('featured', 'executable', 'community', 'all') ORDER BY t.id" PAGE;

/* Every network has the one network offering there is. */
#define NETWORK_OFFERING_ID "5c1e4d0a-8f3b-4a57-9d2e-7b6f0c9a1e42"

static const char SQL_NETWORKS[] =
    "SELECT json_object('id', n.api_id, 'name', n.name, 'displaytext', n.name,"
    " 'zoneid', z.api_id, 'zonename', z.name, 'type', 'Shared', 'state', 'Setup',"
    " 'networkofferingid', '" NETWORK_OFFERING_ID "',"
    " 'networkofferingname', 'DefaultSharedNetworkOffering',"
    " 'networkofferingdisplaytext', 'Shared network: DHCP, DNS and user data by the VR',"
    " 'networkofferingavailability', 'Optional',"
    " 'traffictype', 'Guest', 'guestiptype', 'Shared', 'acltype', 'Domain',"
    " 'cidr', " IP4("n.net") " || '/' || n.prefix, 'gateway', " IP4("n.gateway") ","
    " 'netmask', " IP4("(4294967295 << CAST(32 - n.prefix AS INTEGER)) & 4294967295") ","
    " 'dns1', n.dns, 'networkdomain', n.domain,"
    " 'broadcastdomaintype', CASE n.vlan WHEN 0 THEN 'Native' ELSE 'Vlan' END,"
    " 'broadcasturi', CASE n.vlan WHEN 0 THEN 'vlan://untagged' ELSE 'vlan://' || n.vlan END,"
    " 'vlan', CASE n.vlan WHEN 0 THEN 'untagged' ELSE '' || n.vlan END,"
    " 'isdefault', json('true'), 'canusefordeploy', json('true'),"
    " 'specifyipranges', json('true'), 'ispersistent', json('true'),"
    " 'restartrequired', json('false'), 'issystem', json('false'),"
    " 'service', json_array(json_object('name', 'Dhcp'), json_object('name', 'Dns'),"
    " json_object('name', 'UserData'))),"
    " COUNT(*) OVER () FROM network n JOIN zone z ON z.id = n.zone_id"
    " WHERE " ROW_IS("n") " AND (?2 IS NULL OR n.name = ?2) AND " ZONE_IS("n.zone_id")
    " ORDER BY n.id" PAGE;

/* ?6: virtualmachineid. */
static const char SQL_VOLUMES[] =
    "SELECT json_object('id', vol.uuid, 'name', 'ROOT-' || v.id, 'type', 'ROOT',"
    " 'state', vol.state, 'size', vol.size, 'deviceid', 0,"
    " 'zoneid', z.api_id, 'zonename', z.name, 'virtualmachineid', v.uuid,"
    " 'vmname', v.name, 'vmdisplayname', CASE v.display_name WHEN '' THEN v.name"
    " ELSE v.display_name END, 'vmstate', v.state, 'account', a.name,"
    " 'storagetype', CASE o.local_storage WHEN 0 THEN 'shared' ELSE 'local' END,"
    " 'storageid', p.api_id, 'storage', p.name, 'created', " CREATED("v.created_ms") ","
    " 'hypervisor', 'KVM', 'destroyed', json('false')),"
    " COUNT(*) OVER () FROM volume vol JOIN vm v ON v.id = vol.vm_id"
    " JOIN zone z ON z.id = v.zone_id JOIN account a ON a.id = v.account_id"
    " JOIN offering o ON o.id = v.offering_id LEFT JOIN pool p ON p.id = vol.pool_id"
    " WHERE (?5 <> 0 OR v.account_id = ?4) AND (?1 IS NULL OR vol.uuid = ?1)"
    " AND (?2 IS NULL OR 'ROOT-' || v.id = ?2) AND " ZONE_IS("v.zone_id")
    " AND (?6 IS NULL OR v.uuid = ?6) ORDER BY vol.id" PAGE;

/* ?6: fingerprint. */
static const char SQL_KEYPAIRS[] =
    "SELECT json_object('id', k.uuid, 'name', k.name, 'fingerprint', k.fingerprint,"
    " 'account', a.name, 'domain', 'ROOT'), COUNT(*) OVER ()"
    " FROM keypair k JOIN account a ON a.id = k.account_id"
    " WHERE k.account_id = ?4 AND (?1 IS NULL OR k.uuid = ?1) AND (?2 IS NULL OR k.name = ?2)"
    " AND (?6 IS NULL OR k.fingerprint = ?6) ORDER BY k.id" PAGE;

/* A shared network with its VMs on the guest subnet: no public
 * addresses and no forwarding rules, the valid answer on such a zone. */
static const char SQL_NONE[] = "SELECT '{}', 0 WHERE ?7 < -1 AND ?8 < 0";

struct catalogue_list {
	const char *cmd, *key; /* the command, the response's list */
	const char *sql;
	const char *filter; /* the parameter bound to ?6 */
	bool filter_required;
};

static const struct catalogue_list lists[] = {
	{ "listZones", "zone", SQL_ZONES, NULL, false },
	{ "listServiceOfferings", "serviceoffering", SQL_OFFERINGS, NULL, false },
	{ "listTemplates", "template", SQL_TEMPLATES, "templatefilter", true },
	{ "listNetworks", "network", SQL_NETWORKS, NULL, false },
	{ "listVolumes", "volume", SQL_VOLUMES, "virtualmachineid", false },
	{ "listSSHKeyPairs", "sshkeypair", SQL_KEYPAIRS, "fingerprint", false },
	{ "listPublicIpAddresses", "publicipaddress", SQL_NONE, NULL, false },
	{ "listPortForwardingRules", "portforwardingrule", SQL_NONE, NULL, false },
	{ "listIpForwardingRules", "ipforwardingrule", SQL_NONE, NULL, false },
};

static void
bind_opt(struct db_st *st, int i, const char *v)
{
	if (v)
		db_bind_text(st, i, v);
}

static int
catalogue_run(struct api_req *r, const struct catalogue_list *l, json_t **out,
    struct api_err *e)
{
	struct db *d = r->m->reader;
	const char *f = l->filter ? query_get(r->q, l->filter) : NULL;
	int64_t limit, offset, count = 0;
	struct db_st *st;
	json_t *list, *o;
	int rc;

	if (l->filter_required && !f)
		return api_fail(e, CS_PARAM_ERROR, "Unable to execute API command %s due to "
		    "missing parameter %s", l->cmd, l->filter);
	if (api_paging(r->q, &limit, &offset, e) < 0)
		return -EINVAL; /* e says why */
	if (!(list = json_array()))
		return api_fail(e, CS_INTERNAL_ERROR, "out of memory");
	db_lock(d);
	if (!(st = db_stmt(d, l->sql))) {
		db_unlock(d);
		json_decref(list);
		return api_fail(e, CS_INTERNAL_ERROR, "database: %s", db_errmsg(d));
	}
	bind_opt(st, 1, query_get(r->q, "id"));
	bind_opt(st, 2, query_get(r->q, "name"));
	bind_opt(st, 3, query_get(r->q, "zoneid"));
	db_bind_int(st, 4, r->acct->id);
	db_bind_int(st, 5, r->acct->admin);
	bind_opt(st, 6, f);
	db_bind_int(st, 7, limit);
	db_bind_int(st, 8, offset);
	while ((rc = db_step(st)) == DB_ROW) {
		count = db_col_int(st, 1);
		if ((o = json_loads(db_text(st, 0), 0, NULL)))
			json_array_append_new(list, o);
	}
	db_reset(st);
	db_unlock(d);
	if (rc != DB_DONE) {
		json_decref(list);
		return api_fail(e, CS_INTERNAL_ERROR, "%s: %s", l->cmd, strerror(-rc));
	}
	*out = json_pack("{sIso}", "count", (json_int_t)count, l->key, list);
	return 0;
}

int
cmd_list_catalogue(struct api_req *r, json_t **out, struct api_err *e)
{
	const char *cmd = query_get(r->q, "command");

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (!strcmp(lists[i].cmd, cmd))
			return catalogue_run(r, &lists[i], out, e);
	return api_fail(e, CS_INTERNAL_ERROR, "%s: not a catalogue list", cmd);
}
