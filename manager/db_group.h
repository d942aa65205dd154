/* db_group.h: group commit for SQLite (db.c's internals): commits made
 * without a sync each take a number; a thread waiting for its number gets
 * one WAL fdatasync that covers every commit numbered before it started,
 * shared with whoever queued meanwhile. */
#ifndef VRM_DB_GROUP_H
#define VRM_DB_GROUP_H

#include <stdint.h>

struct db_group;

/* For the WAL file at walpath (it must exist: the database is in WAL
 * mode).  0, -ENOMEM or open's -errno. */
int db_group_new(const char *walpath, struct db_group **out);
void db_group_free(struct db_group *g); /* NULL-safe */
/* Numbers a commit that has returned (its WAL frames written, not synced). */
uint64_t db_group_committed(struct db_group *g);
/* The number of the last commit (0: none yet). */
uint64_t db_group_last(struct db_group *g);
/* Returns once commit seq is durable: at most one fdatasync of the WAL
 * (none when another thread's covered it).  0 or the sync's -errno. */
int db_group_wait(struct db_group *g, uint64_t seq);
/* Syncs done and commits they covered, for the log and the benchmark. */
void db_group_counts(struct db_group *g, uint64_t *commits, uint64_t *syncs);

#endif
