/* db_group.c: SQLite group commit.  With synchronous = NORMAL a WAL commit
 * writes its frames and returns without a sync; the thread that committed
 * then waits here, after letting go of the database mutex, for a
 * fdatasync of the WAL begun after its commit.  One thread syncs at a
 * time; commits arriving meanwhile are covered together by the next one.
 * The WAL is synced through a descriptor of our own (fdatasync acts on
 * the file, whichever descriptor names it), reopened if SQLite has
 * replaced the file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_group.h"

struct db_group {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t committed; /* numbers handed out */
	uint64_t synced;    /* every commit up to here is durable */
	uint64_t syncs;
	bool syncing;
	int fd;
	char *path;
};

static int
wal_open(struct db_group *g)
{
	int fd = open(g->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = fd;
	return 0;
}

int
db_group_new(const char *walpath, struct db_group **out)
{
	struct db_group *g = calloc(1, sizeof(*g));
	int r;

	if (!g || !(g->path = strdup(walpath))) {
		free(g);
		return -ENOMEM;
	}
	g->fd = -1;
	if ((r = wal_open(g)) < 0) {
		free(g->path);
		free(g);
		return r;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	*out = g;
	return 0;
}

void
db_group_free(struct db_group *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g->path);
	free(g);
}

uint64_t
db_group_committed(struct db_group *g)
{
	uint64_t seq;

	pthread_mutex_lock(&g->mu);
	seq = ++g->committed;
	pthread_mutex_unlock(&g->mu);
	return seq;
}

uint64_t
db_group_last(struct db_group *g)
{
	uint64_t seq;

	pthread_mutex_lock(&g->mu);
	seq = g->committed;
	pthread_mutex_unlock(&g->mu);
	return seq;
}

/* fdatasync of the WAL file as the path names it now (SQLite deletes and
 * recreates it only when the last connection closes or the journal mode
 * changes, but a stale descriptor would sync nothing useful). */
static int
wal_sync(struct db_group *g)
{
	struct stat a, b;
	int r;

	if (fstat(g->fd, &a) < 0)
		return -errno;
	if (stat(g->path, &b) < 0)
		return -errno;
	if ((a.st_ino != b.st_ino || a.st_dev != b.st_dev) && (r = wal_open(g)) < 0)
		return r;
	return fdatasync(g->fd) < 0 ? -errno : 0;
}

int
db_group_wait(struct db_group *g, uint64_t seq)
{
	uint64_t upto;
	int r = 0;

	pthread_mutex_lock(&g->mu);
	while (g->synced < seq && r == 0) {
		if (g->syncing) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		g->syncing = true;
		upto = g->committed; /* all of these returned before this sync starts */
		pthread_mutex_unlock(&g->mu);
		r = wal_sync(g);
		pthread_mutex_lock(&g->mu);
		g->syncing = false;
		if (r == 0) {
			g->synced = upto;
			g->syncs++;
		}
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return r;
}

void
db_group_counts(struct db_group *g, uint64_t *commits, uint64_t *syncs)
{
	pthread_mutex_lock(&g->mu);
	*commits = g->committed;
	*syncs = g->syncs;
	pthread_mutex_unlock(&g->mu);
}
