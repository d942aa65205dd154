/* db.h: the manager's SQLite database: opening, the versioned schema,
 * connections shared by every thread under a mutex each (one that writes,
 * one that only reads), cached statements and SQLite result codes turned
 * into negative errno values in one place. */
#ifndef VRM_DB_H
#define VRM_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define DB_STMT_CACHE_MAX 128

struct db {
	sqlite3 *h;
	pthread_mutex_t mu;
	struct {
		const char *sql; /* a string literal: compared by address */
		sqlite3_stmt *st;
	} cache[DB_STMT_CACHE_MAX];
	unsigned ncache;
};

/* Opens (creating if needed, mode 0600) and migrates the database to the
 * newest schema.  Returns 0 or a negative errno with the reason in err. */
int db_open(const char *path, struct db **out, char *err, size_t errlen);
void db_close(struct db *d); /* NULL-safe */
/* A second connection to the database db_open made current, for queries
 * only (PRAGMA query_only): in WAL mode it reads the last commit without
 * waiting for the writer's connection and its fsyncs.  Same errors. */
int db_open_reader(const char *path, struct db **out, char *err, size_t errlen);
/* The schema version this build writes. */
int db_schema_version(void);

/* Every use of the connection happens between db_lock and db_unlock. */
void db_lock(struct db *d);
void db_unlock(struct db *d);

/* A prepared statement for a string literal, reset and with its bindings
 * cleared; owned by the cache.  NULL on a prepare failure (logged). */
sqlite3_stmt *db_stmt(struct db *d, const char *sql);
/* sqlite3_step to completion for a statement without rows: 0 or -errno. */
int db_step_done(struct db *d, sqlite3_stmt *st);
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
    int (*fill)(void *el, sqlite3_stmt *st, void *arg), void *arg);
int db_begin(struct db *d);   /* BEGIN IMMEDIATE */
int db_commit(struct db *d);
void db_rollback(struct db *d);
/* SQLite's result code as a negative errno: FULL -ENOSPC, CONSTRAINT
 * -EEXIST, BUSY/LOCKED -EBUSY, NOMEM -ENOMEM, anything else -EIO. */
int db_errno(int rc);
const char *db_errmsg(struct db *d);
int64_t db_changes(struct db *d);
int64_t db_last_id(struct db *d);

/* Column text or "" (never NULL). */
const char *db_text(sqlite3_stmt *st, int col);

#endif
