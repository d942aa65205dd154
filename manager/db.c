/* db.c: opens the manager's database, SQLite or PostgreSQL, applies the
 * versioned schema migrations (db_schema.c), and wraps either connection
 * behind one API (mutex, statement cache, rows, errors as negative errno
 * values). */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "db_group.h"
#include "err.h"
#include "log.h"

#define PG_INT8OID 20
#define PG_TEXTOID 25
#define PG_FLOAT8OID 701

struct db {
	sqlite3 *lite; /* one of these two */
	PGconn *pg;
	pthread_mutex_t mu;
	struct db_group *group; /* SQLite after db_group_commit_start */
	struct {
		const char *sql; /* a string literal: compared by address */
		struct db_st *st;
	} cache[DB_STMT_CACHE_MAX];
	unsigned ncache;
	int64_t changes; /* PostgreSQL: rows the last statement changed */
	unsigned nprepared;
	char err[256];   /* PostgreSQL: the last error */
};

struct db_st {
	struct db *d;
	sqlite3_stmt *lite;
	/* PostgreSQL: the translated SQL, the bound parameters (text, as
	 * libpq sends them), the result and the row being read. */
	char *sql;
	int nparams;
	const char *val[DB_PARAMS_MAX];
	unsigned types[DB_PARAMS_MAX];
	char num[DB_PARAMS_MAX][32];
	PGresult *res;
	int row, nrows;
	bool cached, prepared, prepare_failed;
	char name[16];                  /* its prepared statement's name */
	unsigned ptypes[DB_PARAMS_MAX]; /* the types it was prepared with */
};

bool
db_is_pg(const char *path)
{
	return !strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11);
}

const char *
db_dialect(const struct db *d)
{
	return d->pg ? "postgresql" : "sqlite";
}

/* SQLite's result code as a negative errno: FULL -ENOSPC, CONSTRAINT
 * -EEXIST, BUSY/LOCKED -EBUSY, NOMEM -ENOMEM, anything else -EIO. */
static int
lite_errno(int rc)
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

/* PostgreSQL's result as a negative errno, by SQLSTATE class the same
 * mapping as lite_errno's; keeps the message for db_errmsg. */
static int
pg_errno(struct db *d, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(d->pg);

	snprintf(d->err, sizeof(d->err), "%s", msg && *msg ? msg : "connection lost");
	d->err[strcspn(d->err, "\n")] = '\0';
	if (!state)
		return -EIO;
	if (!strncmp(state, "23", 2))
		return -EEXIST;
	if (!strcmp(state, "53100"))
		return -ENOSPC;
	if (!strcmp(state, "53200"))
		return -ENOMEM;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
		return -EBUSY;
	if (!strcmp(state, "42501") || !strcmp(state, "25006"))
		return -EACCES;
	return -EIO;
}

const char *
db_errmsg(struct db *d)
{
	return d->pg ? d->err : sqlite3_errmsg(d->lite);
}

/* PostgreSQL: runs sql (several statements allowed, no parameters) as it is. */
static int
pg_exec_raw(struct db *d, const char *sql)
{
	PGresult *res = PQexec(d->pg, sql);
	ExecStatusType s = PQresultStatus(res);
	int r = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
		r = pg_errno(d, res);
		log_warnx("db: %s", d->err);
	}
	PQclear(res);
	return r;
}

int
db_exec(struct db *d, const char *sql)
{
	char *msg = NULL, *pgsql;
	int rc, n;

	if (d->pg) {
		if ((rc = db_pg_sql(sql, &pgsql, &n)) < 0)
			return rc;
		rc = pg_exec_raw(d, pgsql);
		free(pgsql);
		return rc;
	}
	if ((rc = sqlite3_exec(d->lite, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		log_warnx("db: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return lite_errno(rc);
	}
	return 0;
}

/* The schema version the database has: SQLite's user_version, or
 * PostgreSQL's one-row schema_version table (created here). */
static int
schema_have(struct db *d, int *have)
{
	struct db_st *st;
	int r;

	if (d->pg && (r = pg_exec_raw(d, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version INTEGER NOT NULL); INSERT INTO schema_version SELECT 0"
	    " WHERE NOT EXISTS (SELECT 1 FROM schema_version)")) < 0)
		return r;
	if (!(st = db_stmt(d, d->pg ? "SELECT version FROM schema_version" :
	    "PRAGMA user_version")))
		return -EIO;
	if ((r = db_step(st)) == DB_ROW)
		*have = (int)db_col_int(st, 0);
	db_reset(st);
	return r == DB_ROW ? 0 : r < 0 ? r : -EIO;
}

/* Applies migration i (to version i + 1) in the open transaction. */
static int
migrate_one(struct db *d, int i)
{
	const struct db_migration *m = db_migration(i);
	char sql[64];
	int r;

	if ((r = db_exec(d, m->sql)) < 0)
		return r;
	if (d->pg) {
		if ((r = pg_exec_raw(d, m->pg)) < 0)
			return r;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", i + 1);
		return pg_exec_raw(d, sql);
	}
	if ((r = db_exec(d, m->lite)) < 0)
		return r;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
	return db_exec(d, sql);
}

static int
migrate(struct db *d, char *err, size_t errlen)
{
	int have = 0, r, i = 0, n = db_schema_version();

	/* Managers starting together on one PostgreSQL database migrate one
	 * at a time: the lock is held to the end of the transaction. */
	if ((r = db_begin(d)) < 0 ||
	    (d->pg && (r = pg_exec_raw(d, "SELECT pg_advisory_xact_lock(7317)")) < 0) ||
	    (r = schema_have(d, &have)) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", db_errmsg(d));
		db_rollback(d);
		return r;
	}
	if (have > n) {
		snprintf(err, errlen, "database schema %d is newer than this vr-manager's (%d)", have,
		    n);
		db_rollback(d);
		return -EPROTO;
	}
	for (i = have; i < n; i++) {
		if ((r = migrate_one(d, i)) < 0)
			goto fail;
		log_info("db: schema migrated to version %d", i + 1);
	}
	if ((r = db_commit(d)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "schema migration %d failed: %s", i + 1, db_errmsg(d));
	db_rollback(d);
	return r;
}

/* api_time(ms) for SQLite: CloudStack's time stamp of a Unix time in ms. */
static void
lite_api_time(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	time_t t = (time_t)(sqlite3_value_int64(argv[0]) / 1000);
	struct tm tm;
	char s[32];

	(void)argc;
	if (!gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S+0000", &tm)) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
}

/* A connection to path (a SQLite file that exists, or a PostgreSQL URI)
 * under its own mutex: the part both kinds of connection share. */
static int
db_connect(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *d;
	int r;

	if (!(d = calloc(1, sizeof(*d))))
		return err_set(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_init(&d->mu, NULL);
	if (db_is_pg(path)) {
		d->pg = PQconnectdb(path);
		if (PQstatus(d->pg) != CONNECTION_OK) {
			snprintf(err, errlen, "%s", PQerrorMessage(d->pg));
			err[strcspn(err, "\n")] = '\0';
			db_close(d);
			return -ECONNREFUSED;
		}
		*out = d;
		return pg_exec_raw(d, "SET client_min_messages = warning");
	}
	r = sqlite3_open_v2(path, &d->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, d->lite ? db_errmsg(d) : sqlite3_errstr(r));
		db_close(d);
		return lite_errno(r);
	}
	sqlite3_busy_timeout(d->lite, 5000);
	sqlite3_create_function(d->lite, "api_time", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	    lite_api_time, NULL, NULL);
	*out = d;
	return 0;
}

int
db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *d;
	int r, fd;

	/* Create it 0600: it holds the accounts' secret keys and VR tokens. */
	if (!db_is_pg(path)) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
			r = -errno;
			return err_set(err, errlen, r, "%s: %s", path, strerror(-r));
		}
		close(fd);
	}
	if ((r = db_connect(path, &d, err, errlen)) < 0)
		return r;
	/* SQLite: WAL with synchronous=FULL, every commit is on disk before it
	 * returns (PostgreSQL's default synchronous_commit does the same). */
	if (d->lite && ((r = db_exec(d, "PRAGMA journal_mode = WAL")) < 0 ||
	    (r = db_exec(d, "PRAGMA synchronous = FULL")) < 0 ||
	    (r = db_exec(d, "PRAGMA foreign_keys = ON")) < 0)) {
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
	if ((r = db_exec(d, d->pg ? "SET default_transaction_read_only = on" :
	    "PRAGMA query_only = ON")) < 0) {
		snprintf(err, errlen, "%s: %s", path, db_errmsg(d));
		db_close(d);
		return r;
	}
	*out = d;
	return 0;
}

static void
st_free(struct db_st *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->lite);
	PQclear(st->res);
	free(st->sql);
	free(st);
}

void
db_close(struct db *d)
{
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < d->ncache; i++)
		st_free(d->cache[i].st);
	sqlite3_close(d->lite);
	db_group_free(d->group);
	if (d->pg)
		PQfinish(d->pg);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* The last commit this thread made on a group-commit connection and has
 * not yet waited to be durable (db_unlock waits). */
static _Thread_local struct db *tl_commit_db;
static _Thread_local uint64_t tl_commit_seq;

void
db_lock(struct db *d)
{
	pthread_mutex_lock(&d->mu);
}

/* Until commit seq is durable.  A commit that may not be on disk must not
 * be acted on: on a failed sync stop, as PostgreSQL does; the restart
 * recovers from what is durable. */
static void
group_wait(struct db *d, uint64_t seq)
{
	int r;

	if (seq && (r = db_group_wait(d->group, seq)) < 0)
		fatalx("db: cannot sync the write-ahead log: %s", strerror(-r));
}

void
db_unlock(struct db *d)
{
	uint64_t seq = tl_commit_db == d ? tl_commit_seq : 0;

	pthread_mutex_unlock(&d->mu);
	if (!seq)
		return;
	tl_commit_db = NULL;
	tl_commit_seq = 0;
	group_wait(d, seq);
}

void
db_durable_barrier(struct db *d)
{
	uint64_t seq;

	if (!d->group)
		return;
	/* under the lock no commit is half done: every one a reader can
	 * have seen is numbered */
	pthread_mutex_lock(&d->mu);
	seq = db_group_last(d->group);
	pthread_mutex_unlock(&d->mu);
	group_wait(d, seq);
}

int
db_group_commit_start(struct db *d, const char *path)
{
	char wal[4096];
	int r;

	if (d->pg)
		return 0;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) >= sizeof(wal))
		return -ENAMETOOLONG;
	/* the WAL exists while a connection is open in WAL mode */
	if ((r = db_group_new(wal, &d->group)) < 0)
		return r;
	if ((r = db_exec(d, "PRAGMA synchronous = NORMAL")) < 0) {
		db_group_free(d->group);
		d->group = NULL;
	}
	return r;
}

void
db_group_commit_counts(struct db *d, uint64_t *commits, uint64_t *syncs)
{
	*commits = *syncs = 0;
	if (d->group)
		db_group_counts(d->group, commits, syncs);
}

static void
st_clear(struct db_st *st)
{
	int i;

	if (st->lite) {
		sqlite3_clear_bindings(st->lite);
		return;
	}
	/* An unbound parameter is a NULL text: "?1 IS NULL OR uuid = ?1"
	 * gives PostgreSQL no type to infer otherwise. */
	for (i = 0; i < DB_PARAMS_MAX; i++) {
		st->val[i] = NULL;
		st->types[i] = PG_TEXTOID;
	}
}

/* A new statement for sql, not cached. */
static struct db_st *
st_new(struct db *d, const char *sql)
{
	struct db_st *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return NULL;
	st->d = d;
	st->row = -1;
	if (d->pg)
		r = db_pg_sql(sql, &st->sql, &st->nparams);
	else
		r = lite_errno(sqlite3_prepare_v3(d->lite, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    &st->lite, NULL));
	if (r < 0) {
		log_warnx("db: prepare failed: %s: %.60s", d->pg ? strerror(-r) : db_errmsg(d), sql);
		st_free(st);
		return NULL;
	}
	st_clear(st);
	return st;
}
struct db_st *
db_stmt(struct db *d, const char *sql)
{
	struct db_st *st;
	unsigned i;

	for (i = 0; i < d->ncache; i++)
		if (d->cache[i].sql == sql) {
			st = d->cache[i].st;
			db_reset(st);
			st_clear(st);
			return st;
		}
	if (!(st = st_new(d, sql)))
		return NULL;
	st->cached = true;
	if (d->ncache == DB_STMT_CACHE_MAX) {
		log_warnx("db: statement cache full (%d); raise DB_STMT_CACHE_MAX",
		    DB_STMT_CACHE_MAX);
		st_free(st);
		return NULL;
	}
	d->cache[d->ncache].sql = sql;
	d->cache[d->ncache].st = st;
	d->ncache++;
	return st;
}

/* PostgreSQL: runs the statement with its parameters; its rows are read
 * from the result. */
static int
pg_run(struct db_st *st)
{
	struct db *d = st->d;
	ExecStatusType s;

	/* A cached statement is prepared once per connection, with the types of
	 * its first binding; one bound otherwise later runs unprepared. */
	if (st->cached && !st->prepared && !st->prepare_failed) {
		PGresult *p;

		snprintf(st->name, sizeof(st->name), "s%u", ++d->nprepared);
		p = PQprepare(d->pg, st->name, st->sql, st->nparams, st->types);
		if (PQresultStatus(p) == PGRES_COMMAND_OK) {
			st->prepared = true;
			memcpy(st->ptypes, st->types, sizeof(st->ptypes));
		} else {
			st->prepare_failed = true; /* the run below reports the error */
		}
		PQclear(p);
	}
	if (st->prepared && !memcmp(st->ptypes, st->types, sizeof(st->ptypes)))
		st->res = PQexecPrepared(d->pg, st->name, st->nparams, st->val, NULL, NULL, 0);
	else
		st->res = PQexecParams(d->pg, st->sql, st->nparams, st->types, st->val, NULL, NULL,
		    0);
	s = PQresultStatus(st->res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		int r = pg_errno(d, st->res);

		PQclear(st->res);
		st->res = NULL;
		if (r == -EEXIST) /* a constraint the caller handles */
			log_debug("db: %s", d->err);
		else
			log_warnx("db: %s: %.80s", d->err, st->sql);
		return r;
	}
	d->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
	st->nrows = PQntuples(st->res);
	st->row = -1;
	return 0;
}

int
db_step(struct db_st *st)
{
	int rc;

	if (st->lite) {
		rc = sqlite3_step(st->lite);
		if (rc == SQLITE_ROW)
			return DB_ROW;
		if (rc == SQLITE_DONE)
			return DB_DONE;
		log_debug("db: step: %s", db_errmsg(st->d));
		return lite_errno(rc) < 0 ? lite_errno(rc) : -EIO;
	}
	if (!st->res && (rc = pg_run(st)) < 0)
		return rc;
	if (st->row + 1 >= st->nrows) {
		st->row = st->nrows;
		return DB_DONE;
	}
	st->row++;
	return DB_ROW;
}

void
db_reset(struct db_st *st)
{
	if (!st)
		return;
	if (st->lite) {
		sqlite3_reset(st->lite);
		return;
	}
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
}

void
db_bind_text(struct db_st *st, int i, const char *v)
{
	if (st->lite) {
		sqlite3_bind_text(st->lite, i, v, -1, SQLITE_STATIC);
		return;
	}
	if (i < 1 || i > DB_PARAMS_MAX)
		return;
	st->val[i - 1] = v;
	st->types[i - 1] = PG_TEXTOID;
}

void
db_bind_int(struct db_st *st, int i, int64_t v)
{
	if (st->lite) {
		sqlite3_bind_int64(st->lite, i, v);
		return;
	}
	if (i < 1 || i > DB_PARAMS_MAX)
		return;
	snprintf(st->num[i - 1], sizeof(st->num[i - 1]), "%lld", (long long)v);
	st->val[i - 1] = st->num[i - 1];
	st->types[i - 1] = PG_INT8OID;
}

void
db_bind_double(struct db_st *st, int i, double v)
{
	if (st->lite) {
		sqlite3_bind_double(st->lite, i, v);
		return;
	}
	if (i < 1 || i > DB_PARAMS_MAX)
		return;
	snprintf(st->num[i - 1], sizeof(st->num[i - 1]), "%.17g", v);
	st->val[i - 1] = st->num[i - 1];
	st->types[i - 1] = PG_FLOAT8OID;
}

/* PostgreSQL: column col of the current row as text, NULL for SQL NULL. */
static const char *
pg_col(struct db_st *st, int col)
{
	if (!st->res || st->row < 0 || st->row >= st->nrows || col >= PQnfields(st->res) ||
	    PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

int64_t
db_col_int(struct db_st *st, int col)
{
	const char *v;

	if (st->lite)
		return sqlite3_column_int64(st->lite, col);
	if (!(v = pg_col(st, col)))
		return 0;
	if (*v == 't' || *v == 'f')
		return *v == 't';
	return strtoll(v, NULL, 10);
}

double
db_col_double(struct db_st *st, int col)
{
	const char *v;

	if (st->lite)
		return sqlite3_column_double(st->lite, col);
	return (v = pg_col(st, col)) ? strtod(v, NULL) : 0;
}

const char *
db_text(struct db_st *st, int col)
{
	const char *t;

	if (st->lite)
		t = (const char *)sqlite3_column_text(st->lite, col);
	else
		t = pg_col(st, col);
	return t ? t : "";
}

int
db_step_done(struct db *d, struct db_st *st)
{
	int rc;

	(void)d;
	if (!st)
		return -EIO;
	rc = db_step(st);
	db_reset(st);
	return rc < 0 ? rc : 0;
}

int
db_run(struct db *d, const char *sql, const char *fmt, ...)
{
	struct db_st *st = db_stmt(d, sql);
	va_list ap;
	int i;

	if (!st)
		return -EIO;
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			db_bind_text(st, i + 1, va_arg(ap, const char *));
		else if (fmt[i] == 'i')
			db_bind_int(st, i + 1, va_arg(ap, int64_t));
		else
			db_bind_double(st, i + 1, va_arg(ap, double));
	}
	va_end(ap);
	return db_step_done(d, st);
}

int
db_ints_by_text(struct db *d, const char *sql, const char *key, int64_t *cols, int n)
{
	struct db_st *st = db_stmt(d, sql);
	int rc, i;

	if (!st)
		return -EIO;
	db_bind_text(st, 1, key);
	if ((rc = db_step(st)) == DB_ROW)
		for (i = 0; i < n; i++)
			cols[i] = db_col_int(st, i);
	db_reset(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? -ENOENT : rc;
}

int
db_load_rows(struct db *d, const char *sql, void *arrp, size_t *n, size_t elsize,
    int (*fill)(void *el, struct db_st *st, void *arg), void *arg)
{
	struct db_st *st;
	size_t cap = *n;
	int rc, r = 0;

	if (!(st = st_new(d, sql)))
		return -EIO;
	while ((rc = db_step(st)) == DB_ROW) {
		char *base;

		if ((r = array_reserve(arrp, &cap, *n + 1, elsize, 16)) < 0)
			break;
		memcpy(&base, arrp, sizeof(base));
		memset(base + *n * elsize, 0, elsize);
		if ((r = fill(base + *n * elsize, st, arg)) < 0)
			break;
		(*n)++;
	}
	if (r == 0 && rc != DB_DONE)
		r = rc;
	st_free(st);
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

	if (r < 0) {
		db_rollback(d);
		return r;
	}
	if (d->group) {
		tl_commit_db = d;
		tl_commit_seq = db_group_committed(d->group);
	}
	return 0;
}

void
db_rollback(struct db *d)
{
	if (d->pg) {
		if (PQtransactionStatus(d->pg) != PQTRANS_IDLE)
			PQclear(PQexec(d->pg, "ROLLBACK"));
		return;
	}
	if (!sqlite3_get_autocommit(d->lite))
		sqlite3_exec(d->lite, "ROLLBACK", NULL, NULL, NULL);
}

int64_t
db_changes(struct db *d)
{
	return d->pg ? d->changes : sqlite3_changes64(d->lite);
}

int64_t
db_last_id(struct db *d)
{
	PGresult *res;
	int64_t id = 0;

	if (!d->pg)
		return sqlite3_last_insert_rowid(d->lite);
	res = PQexec(d->pg, "SELECT lastval()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}
