/* db.h: the manager's database, SQLite or PostgreSQL behind one API:
 * opening, the versioned schema, connections shared by every thread under a
 * mutex each (one that writes, one that only reads), cached statements and
 * either engine's errors turned into negative errno values in one place. */
#ifndef VRM_DB_H
#define VRM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_STMT_CACHE_MAX 128
#define DB_PARAMS_MAX 32

/* A connection: SQLite (a file path) or PostgreSQL (a postgresql:// URI). */
struct db;
/* A prepared statement of either; its rows are read with db_step and the
 * db_col_* accessors. */
struct db_st;

/* What db_step returns besides a negative errno. */
enum { DB_DONE = 0, DB_ROW = 1 };

/* Opens and migrates the database to the newest schema: a SQLite file at
 * path (created mode 0600 if needed), or the PostgreSQL database a
 * postgresql:// (or postgres://) URI names.  Returns 0 or a negative errno
 * with the reason in err. */
int db_open(const char *path, struct db **out, char *err, size_t errlen);
void db_close(struct db *d); /* NULL-safe */
/* A second connection to the database db_open made current, for queries
 * only (SQLite: PRAGMA query_only, and in WAL mode it reads the last commit
 * without waiting for the writer's connection and its fsyncs; PostgreSQL:
 * read-only transactions).  Same errors. */
int db_open_reader(const char *path, struct db **out, char *err, size_t errlen);
/* The schema version this build writes. */
int db_schema_version(void);
/* Migration i (0-based) takes the schema from version i to i + 1: sql in
 * the dialect both engines read (db_dialect.c translates the rest), then
 * what only SQLite (lite) or only PostgreSQL (pg) runs, as they are.  NULL
 * past the last (db_schema.c). */
struct db_migration {
	const char *sql, *lite, *pg;
};
const struct db_migration *db_migration(int i);

/* Every use of the connection happens between db_lock and db_unlock.
 * With group commit on, db_unlock returns once the commits this thread
 * made under the lock are durable (it exits the process if the sync
 * fails): act on a commit, e.g. reply, only after db_unlock. */
void db_lock(struct db *d);
void db_unlock(struct db *d);
/* Group commit on d, opened by db_open at path: SQLite commits no longer
 * sync under the mutex (synchronous = NORMAL in WAL mode); db_unlock waits
 * for one WAL fdatasync shared by every commit queued meanwhile.  A no-op
 * for PostgreSQL (its WAL flush already serves concurrent commits
 * together).  0 or -errno. */
int db_group_commit_start(struct db *d, const char *path);
/* Returns once every commit made so far on d is durable (at once without
 * group commit): before a reply that may show what another thread
 * committed (a reader connection sees commits before their sync). */
void db_durable_barrier(struct db *d);
/* Commits and syncs since db_group_commit_start (0 and 0 without it). */
void db_group_commit_counts(struct db *d, uint64_t *commits, uint64_t *syncs);

/* True for a postgresql:// or postgres:// URI. */
bool db_is_pg(const char *path);
/* Which one d is: "sqlite" or "postgresql". */
const char *db_dialect(const struct db *d);

/* A prepared statement for a string literal, reset and with its bindings
 * cleared; owned by the cache.  The SQL is SQLite's with ?N parameters;
 * for PostgreSQL it is translated once (db.c's dialect layer).  NULL on a
 * prepare failure (logged). */
struct db_st *db_stmt(struct db *d, const char *sql);
/* The next row: DB_ROW, DB_DONE or a negative errno (logged at debug). */
int db_step(struct db_st *st);
/* Back to before the first row, bindings kept.  NULL-safe. */
void db_reset(struct db_st *st);
/* Parameter i (from 1).  Text is not copied: it must live until the
 * statement has been stepped.  NULL text binds SQL NULL. */
void db_bind_text(struct db_st *st, int i, const char *v);
void db_bind_int(struct db_st *st, int i, int64_t v);
void db_bind_double(struct db_st *st, int i, double v);
/* Column col of the current row: 0 for NULL (PostgreSQL's booleans read
 * as 1 and 0). */
int64_t db_col_int(struct db_st *st, int col);
double db_col_double(struct db_st *st, int col);
/* Steps to completion a statement without rows: 0 or -errno. */
int db_step_done(struct db *d, struct db_st *st);
int db_exec(struct db *d, const char *sql);
/* Binds ?1..?n from fmt ('s' text, 'i' int64_t, 'd' double) to the cached
 * statement for sql and runs it (no rows expected).  0 or -errno. */
int db_run(struct db *d, const char *sql, const char *fmt, ...);
/* The first row of sql with ?1 bound to key: its first n integer columns
 * into cols.  0, -ENOENT (no row) or -errno. */
int db_ints_by_text(struct db *d, const char *sql, const char *key, int64_t *cols, int n);
/* Appends one element of elsize bytes per row of sql to the array whose
 * pointer is at arrp (*n elements), each zeroed, then filled by
 * fill(element, st, arg), which returns 0 or a negative errno that stops the
 * load; an element counts in *n once filled.  For loads at start; the caller
 * holds the lock.  0, or a negative errno (a failed step included). */
int db_load_rows(struct db *d, const char *sql, void *arrp, size_t *n, size_t elsize,
    int (*fill)(void *el, struct db_st *st, void *arg), void *arg);
int db_begin(struct db *d);   /* SQLite: BEGIN IMMEDIATE */
int db_commit(struct db *d);
void db_rollback(struct db *d);
const char *db_errmsg(struct db *d);
int64_t db_changes(struct db *d);
int64_t db_last_id(struct db *d);

/* Column text or "" (never NULL); valid until the next step or reset. */
const char *db_text(struct db_st *st, int col);

/* SQLite's SQL in PostgreSQL's dialect (db_dialect.c): a new string in
 * *out and the highest parameter number in *nparams.  0, -EINVAL (an
 * unterminated literal), -E2BIG (a parameter past DB_PARAMS_MAX) or -ENOMEM. */
int db_pg_sql(const char *sql, char **out, int *nparams);

#endif
