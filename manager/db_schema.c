/* db_schema.c: the manager's schema, as versioned migrations in the SQL
 * SQLite and PostgreSQL share, with what each engine needs of its own. */
#include "db.h"

/* The id the API shows for an inventory row: the inventory's id when it
 * already is a UUID, a random version-4 UUID otherwise. */
#define API_ID_EXPR                                                                         \
	"CASE WHEN uuid GLOB '[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]" \
	"[0-9a-fA-F][0-9a-fA-F]-*-*-*-*' AND length(uuid) = 36 THEN lower(uuid) ELSE"       \
	" lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||"          \
	" substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)" \
	" || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) END"
/* Gives table t an api_id (unique, filled for the rows there and, by a
 * trigger, for every row inserted later). */
#define API_ID(t)                                                                           \
	"ALTER TABLE " t " ADD COLUMN api_id TEXT;"                                          \
	"UPDATE " t " SET api_id = " API_ID_EXPR ";"                                         \
	"CREATE UNIQUE INDEX " t "_api_id ON " t "(api_id);"                                 \
	"CREATE TRIGGER " t "_api_id AFTER INSERT ON " t " WHEN NEW.api_id IS NULL BEGIN"    \
	" UPDATE " t " SET api_id = " API_ID_EXPR " WHERE id = NEW.id; END;"

/* The PostgreSQL spelling of API_ID: one function picks the id, a trigger
 * per table fills it before the row is written. */
#define PG_API_ID_FUNCS                                                                     \
	"CREATE FUNCTION api_id_for(u text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN"  \
	" u ~ '^[0-9a-fA-F]{8}-.*-.*-.*-.*$' AND length(u) = 36 THEN lower(u)"                \
	" ELSE gen_random_uuid()::text END $$;"                                               \
	"CREATE FUNCTION api_id_fill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"           \
	" IF NEW.api_id IS NULL THEN NEW.api_id := api_id_for(NEW.uuid); END IF;"             \
	" RETURN NEW; END $$;"
#define PG_API_ID(t)                                                                        \
	"ALTER TABLE " t " ADD COLUMN api_id TEXT;"                                          \
	"UPDATE " t " SET api_id = api_id_for(uuid);"                                        \
	"CREATE UNIQUE INDEX " t "_api_id ON " t "(api_id);"                                 \
	"CREATE TRIGGER " t "_api_id BEFORE INSERT ON " t " FOR EACH ROW"                    \
	" EXECUTE FUNCTION api_id_fill();"
/* api_time(ms): CloudStack's time stamp; SQLite's is a C function (db.c). */
#define PG_API_TIME                                                                         \
	"CREATE FUNCTION api_time(ms bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$"       \
	" SELECT to_char(to_timestamp(ms / 1000) AT TIME ZONE 'UTC',"                         \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"+0000\"') $$;"

/* Migration N brings the schema from version N-1 to N.  Never edit a
 * released step: add a new one. */
static const struct db_migration migrations[] = {
	/* 1: inventory, accounts, VMs, NICs, volumes, jobs. */
	{
	"CREATE TABLE zone (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL);"
	"CREATE TABLE pod (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" zone_id INTEGER NOT NULL REFERENCES zone(id));"
	"CREATE TABLE cluster (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" pod_id INTEGER NOT NULL REFERENCES pod(id), zone_id INTEGER NOT NULL REFERENCES zone(id));"
	"CREATE TABLE host (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" cluster_id INTEGER NOT NULL REFERENCES cluster(id), pod_id INTEGER NOT NULL,"
	" zone_id INTEGER NOT NULL, uri TEXT NOT NULL, cpu_cores INTEGER NOT NULL,"
	" cpu_mhz INTEGER NOT NULL, ram_mib INTEGER NOT NULL, cpu_overprov REAL NOT NULL,"
	" ram_overprov REAL NOT NULL, cpu_total_mhz INTEGER NOT NULL, ram_total_mib INTEGER NOT NULL,"
	" cpu_used_mhz INTEGER NOT NULL DEFAULT 0 CHECK (cpu_used_mhz BETWEEN 0 AND cpu_total_mhz),"
	" ram_used_mib INTEGER NOT NULL DEFAULT 0 CHECK (ram_used_mib BETWEEN 0 AND ram_total_mib));"
	"CREATE TABLE pool (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" scope TEXT NOT NULL CHECK (scope IN ('host','cluster','zone')), zone_id INTEGER NOT NULL,"
	" cluster_id INTEGER, host_id INTEGER, path TEXT NOT NULL,"
	" capacity_bytes INTEGER NOT NULL, used_bytes INTEGER NOT NULL DEFAULT 0"
	" CHECK (used_bytes BETWEEN 0 AND capacity_bytes));"
	"CREATE TABLE secondary (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" zone_id INTEGER NOT NULL REFERENCES zone(id), path TEXT NOT NULL);"
	"CREATE TABLE template (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" zone_id INTEGER NOT NULL, secondary_id INTEGER NOT NULL REFERENCES secondary(id),"
	" format TEXT NOT NULL CHECK (format IN ('raw','qcow2')), path TEXT NOT NULL,"
	" size INTEGER NOT NULL);"
	"CREATE TABLE offering (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" cpu_count INTEGER NOT NULL, cpu_mhz INTEGER NOT NULL, ram_mib INTEGER NOT NULL,"
	" local_storage INTEGER NOT NULL);"
	"CREATE TABLE network (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" zone_id INTEGER NOT NULL, net INTEGER NOT NULL, prefix INTEGER NOT NULL,"
	" gateway INTEGER NOT NULL, dns TEXT NOT NULL, domain TEXT NOT NULL, vr_url TEXT NOT NULL,"
	" vr_token TEXT NOT NULL, bridge TEXT NOT NULL, vlan INTEGER NOT NULL);"
	"CREATE TABLE account (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" api_key TEXT NOT NULL UNIQUE, secret_key TEXT NOT NULL,"
	" role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin','user')));"
	/* type: vm, cpu, memory (MiB), volume, storage (bytes); max -1: no limit */
	"CREATE TABLE resource_count (account_id INTEGER NOT NULL REFERENCES account(id),"
	" type TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),"
	" max INTEGER NOT NULL DEFAULT -1, PRIMARY KEY (account_id, type)) WITHOUT ROWID;"
	"CREATE TABLE vm (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" instance_name TEXT NOT NULL, account_id INTEGER NOT NULL, zone_id INTEGER NOT NULL,"
	" offering_id INTEGER NOT NULL, template_id INTEGER NOT NULL, network_id INTEGER NOT NULL,"
	" state TEXT NOT NULL, host_id INTEGER, pool_id INTEGER, reserved INTEGER NOT NULL DEFAULT 0,"
	" password TEXT NOT NULL, userdata TEXT NOT NULL, ssh_key TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL, error_text TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX vm_state ON vm(state);"
	"CREATE TABLE nic (id INTEGER PRIMARY KEY, vm_id INTEGER NOT NULL UNIQUE REFERENCES vm(id),"
	" network_id INTEGER NOT NULL, ip INTEGER NOT NULL, mac TEXT NOT NULL UNIQUE,"
	" UNIQUE (network_id, ip));"
	"CREATE TABLE volume (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" vm_id INTEGER NOT NULL REFERENCES vm(id), type TEXT NOT NULL, state TEXT NOT NULL,"
	" pool_id INTEGER, path TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL);"
	"CREATE TABLE job (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" account_id INTEGER NOT NULL, cmd TEXT NOT NULL, vm_id INTEGER NOT NULL,"
	" status INTEGER NOT NULL DEFAULT 0, result_code INTEGER NOT NULL DEFAULT 0,"
	" error_text TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,"
	" finished_ms INTEGER NOT NULL DEFAULT 0, stages TEXT NOT NULL DEFAULT '[]');"
	"CREATE INDEX job_status ON job(status);", "", "" },
	/* 2: UUIDs for the API (api_id) beside the inventory's ids (uuid);
	 * the VM lifecycle: the host a VM last ran on, its display name; a
	 * job's parameters; the key pairs a VM was given; SSH key pairs per
	 * account. */
	{
	"CREATE TABLE keypair (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" account_id INTEGER NOT NULL REFERENCES account(id), name TEXT NOT NULL,"
	" fingerprint TEXT NOT NULL, public_key TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	" UNIQUE (account_id, name));"
	"ALTER TABLE vm ADD COLUMN last_host_id INTEGER;"
	"ALTER TABLE vm ADD COLUMN display_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE job ADD COLUMN arg TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vm ADD COLUMN keypairs TEXT NOT NULL DEFAULT '';"
	"UPDATE vm SET last_host_id = host_id;",
	API_ID("zone") API_ID("pod") API_ID("cluster") API_ID("host") API_ID("pool")
	API_ID("secondary") API_ID("template") API_ID("offering") API_ID("network")
	API_ID("account"),
	PG_API_ID_FUNCS PG_API_TIME
	PG_API_ID("zone") PG_API_ID("pod") PG_API_ID("cluster") PG_API_ID("host")
	PG_API_ID("pool") PG_API_ID("secondary") PG_API_ID("template") PG_API_ID("offering")
	PG_API_ID("network") PG_API_ID("account") },
	/* 3: several managers on one database: each one's identity,
	 * generation and heartbeat; the manager that owns a pending job and
	 * the generation it claimed it in (cluster.c). */
	{
	"CREATE TABLE manager (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" generation INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL DEFAULT 'up',"
	" listen TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,"
	" started_ms INTEGER NOT NULL DEFAULT 0, heartbeat_ms INTEGER NOT NULL DEFAULT 0);"
	"ALTER TABLE job ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE job ADD COLUMN owner_gen INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX job_owner ON job(owner_id, status);", "", "" },
	/* 4: what every deployment looks up by a VM, through an index instead
	 * of reading every VM or volume under the database lock: the name
	 * check (cmd_vm.c's name_taken) and a job's ROOT volume (job_vm.c's
	 * load, release_rows, job_finish_commit). */
	{ "CREATE INDEX vm_net_name ON vm(network_id, lower(name));"
	  "CREATE INDEX volume_vm ON volume(vm_id);", "", "" },
};

int
db_schema_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const struct db_migration *
db_migration(int i)
{
	return i >= 0 && i < db_schema_version() ? &migrations[i] : NULL;
}
