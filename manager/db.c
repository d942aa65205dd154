/* db.c: opens the manager's SQLite database, applies the versioned schema
 * migrations, and wraps the connection (mutex, statement cache, errors). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "log.h"

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

/* Migration N brings the schema from version N-1 to N.  Never edit a
 * released step: add a new one. */
static const char *const migrations[] = {
	/* 1: inventory, accounts, VMs, NICs, volumes, jobs. */
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
	"CREATE INDEX job_status ON job(status);",
	/* 2: UUIDs for the API (api_id) beside the inventory's ids (uuid);
	 * the VM lifecycle: the host a VM last ran on, its display name; a
	 * job's parameters; the key pairs a VM was given; SSH key pairs per
	 * account. */
	API_ID("zone") API_ID("pod") API_ID("cluster") API_ID("host") API_ID("pool")
	API_ID("secondary") API_ID("template") API_ID("offering") API_ID("network")
	API_ID("account")
	"CREATE TABLE keypair (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" account_id INTEGER NOT NULL REFERENCES account(id), name TEXT NOT NULL,"
	" fingerprint TEXT NOT NULL, public_key TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	" UNIQUE (account_id, name));"
	"ALTER TABLE vm ADD COLUMN last_host_id INTEGER;"
	"ALTER TABLE vm ADD COLUMN display_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE job ADD COLUMN arg TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vm ADD COLUMN keypairs TEXT NOT NULL DEFAULT '';"
	"UPDATE vm SET last_host_id = host_id;",
};

int
db_schema_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

int
db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return -EACCES;
	default:
		return -EIO;
	}
}

const char *
db_errmsg(struct db *d)
{
	return sqlite3_errmsg(d->h);
}

int
db_exec(struct db *d, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(d->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_warnx("db: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return db_errno(rc);
	}
	return 0;
}

static int
migrate(struct db *d, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int have = 0, r, i, n = db_schema_version();
	char sql[64];

	if (sqlite3_prepare_v2(d->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "cannot read the schema version: %s", db_errmsg(d));
		sqlite3_finalize(st);
		return -EIO;
	}
	have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (have > n) {
		snprintf(err, errlen, "database schema %d is newer than this vr-manager's (%d)", have,
		    n);
		return -EPROTO;
	}
	for (i = have; i < n; i++) {
		if ((r = db_exec(d, "BEGIN IMMEDIATE")) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		if ((r = db_exec(d, migrations[i])) < 0 || (r = db_exec(d, sql)) < 0) {
			db_exec(d, "ROLLBACK");
			goto fail;
		}
		if ((r = db_exec(d, "COMMIT")) < 0)
			goto fail;
		log_info("db: schema migrated to version %d", i + 1);
	}
	return 0;
fail:
	snprintf(err, errlen, "schema migration %d failed: %s", i + 1, db_errmsg(d));
	return r;
}

/* A connection to path (which exists) under its own mutex: the part both
 * kinds of connection share. */
static int
db_connect(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *d;
	int r;

	if (!(d = calloc(1, sizeof(*d)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	r = sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, d->h ? db_errmsg(d) : sqlite3_errstr(r));
		db_close(d);
		return db_errno(r);
	}
	sqlite3_busy_timeout(d->h, 5000);
	*out = d;
	return 0;
}

int
db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *d;
	int r, fd;

	/* Create it 0600: it holds the accounts' secret keys and VR tokens. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	close(fd);
	if ((r = db_connect(path, &d, err, errlen)) < 0)
		return r;
	/* WAL with synchronous=FULL: every commit is on disk before it returns. */
	if ((r = db_exec(d, "PRAGMA journal_mode = WAL")) < 0 ||
	    (r = db_exec(d, "PRAGMA synchronous = FULL")) < 0 ||
	    (r = db_exec(d, "PRAGMA foreign_keys = ON")) < 0) {
		snprintf(err, errlen, "%s: %s", path, db_errmsg(d));
		goto fail;
	}
	if ((r = migrate(d, err, errlen)) < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	db_close(d);
	return r;
}

int
db_open_reader(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *d;
	int r;

	if ((r = db_connect(path, &d, err, errlen)) < 0)
		return r;
	if ((r = db_exec(d, "PRAGMA query_only = ON")) < 0) {
		snprintf(err, errlen, "%s: %s", path, db_errmsg(d));
		db_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void
db_close(struct db *d)
{
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < d->ncache; i++)
		sqlite3_finalize(d->cache[i].st);
	sqlite3_close(d->h);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void
db_lock(struct db *d)
{
	pthread_mutex_lock(&d->mu);
}

void
db_unlock(struct db *d)
{
	pthread_mutex_unlock(&d->mu);
}

sqlite3_stmt *
db_stmt(struct db *d, const char *sql)
{
	sqlite3_stmt *st;
	unsigned i;

	for (i = 0; i < d->ncache; i++)
		if (d->cache[i].sql == sql) {
			st = d->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_warnx("db: prepare failed: %s: %.60s", db_errmsg(d), sql);
		return NULL;
	}
	if (d->ncache == DB_STMT_CACHE_MAX) {
		log_warnx("db: statement cache full (%d); raise DB_STMT_CACHE_MAX",
		    DB_STMT_CACHE_MAX);
		sqlite3_finalize(st);
		return NULL;
	}
	d->cache[d->ncache].sql = sql;
	d->cache[d->ncache].st = st;
	d->ncache++;
	return st;
}

int
db_step_done(struct db *d, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_debug("db: step: %s", db_errmsg(d));
		return db_errno(rc);
	}
	return 0;
}

int
db_run(struct db *d, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = db_stmt(d, sql);
	va_list ap;
	int i;

	if (!st)
		return -EIO;
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
		else if (fmt[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
	}
	va_end(ap);
	return db_step_done(d, st);
}

int
db_ints_by_text(struct db *d, const char *sql, const char *key, int64_t *cols, int n)
{
	sqlite3_stmt *st = db_stmt(d, sql);
	int rc, i;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		for (i = 0; i < n && i < sqlite3_column_count(st); i++)
			cols[i] = sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
}

int
db_load_rows(struct db *d, const char *sql, void *arrp, size_t *n, size_t elsize,
    int (*fill)(void *el, sqlite3_stmt *st, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	size_t cap = *n;
	int rc, r = 0;

	if ((rc = sqlite3_prepare_v2(d->h, sql, -1, &st, NULL)) != SQLITE_OK) {
		log_warnx("db: %s", db_errmsg(d));
		return db_errno(rc);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *base;

		if ((r = array_reserve(arrp, &cap, *n + 1, elsize, 16)) < 0)
			break;
		memcpy(&base, arrp, sizeof(base));
		memset(base + *n * elsize, 0, elsize);
		if ((r = fill(base + *n * elsize, st, arg)) < 0)
			break;
		(*n)++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_errno(rc);
	sqlite3_finalize(st);
	return r;
}

int
db_begin(struct db *d)
{
	return db_exec(d, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *d)
{
	int r = db_exec(d, "COMMIT");

	if (r < 0)
		db_rollback(d);
	return r;
}

void
db_rollback(struct db *d)
{
	if (!sqlite3_get_autocommit(d->h))
		sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

int64_t
db_changes(struct db *d)
{
	return sqlite3_changes64(d->h);
}

int64_t
db_last_id(struct db *d)
{
	return sqlite3_last_insert_rowid(d->h);
}

const char *
db_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}
