/* test_mgr_db_group.c: SQLite group commit (manager/db_group.c through
 * db.c) on a disk directory (/var/tmp: fdatasync costs something there):
 * one thread's commits each get their own WAL sync before db_unlock
 * returns; eight threads committing at once share syncs (fewer syncs than
 * commits) and every row is there, read by a second connection and after
 * reopening; group commit off syncs inside COMMIT and counts nothing. */
#include "testutil.h"

#include <pthread.h>

#include "db.h"

#define THREADS 8
#define PER_THREAD 40

struct fx {
	char dir[64];
	char path[96];
	struct db *d;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/var/tmp/vr-unit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/m.db", f->dir);
	assert_int_equal(db_open(f->path, &f->d, err, sizeof(err)), 0);
	assert_int_equal(db_exec(f->d, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"), 0);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	db_close(f->d);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static void
insert(struct db *d, int64_t k)
{
	db_lock(d);
	assert_int_equal(db_begin(d), 0);
	assert_int_equal(db_run(d, "INSERT INTO t (k, v) VALUES (?1, 'x')", "i", k), 0);
	assert_int_equal(db_commit(d), 0);
	db_unlock(d);
}

static int64_t
count_rows(const char *path, bool reader)
{
	struct db *d;
	int64_t n = -1;
	char err[256];

	assert_int_equal((reader ? db_open_reader : db_open)(path, &d, err, sizeof(err)), 0);
	db_lock(d);
	assert_int_equal(db_ints_by_text(d, "SELECT COUNT(*) FROM t WHERE v = ?1", "x", &n, 1), 0);
	db_unlock(d);
	db_close(d);
	return n;
}

/* Alone, each commit is synced before db_unlock returns: the sync count
 * has gone up by one each time. */
static void
test_each_commit_synced(void **state)
{
	struct fx *f = *state;
	uint64_t commits, syncs;

	assert_int_equal(db_group_commit_start(f->d, f->path), 0);
	for (int i = 1; i <= 20; i++) {
		insert(f->d, i);
		db_group_commit_counts(f->d, &commits, &syncs);
		assert_int_equal(commits, i);
		assert_int_equal(syncs, i);
	}
}

struct worker {
	struct db *d;
	int id;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++)
		insert(w->d, (int64_t)w->id * 1000 + i);
	return NULL;
}

/* Eight threads at once: every commit made, fewer syncs than commits,
 * all rows seen by a reader connection and after reopening. */
static void
test_threads_share_syncs(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	uint64_t commits, syncs;

	assert_int_equal(db_group_commit_start(f->d, f->path), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .d = f->d, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	db_group_commit_counts(f->d, &commits, &syncs);
	print_message("# %llu commits, %llu syncs\n", (unsigned long long)commits,
	    (unsigned long long)syncs);
	assert_int_equal(commits, THREADS * PER_THREAD);
	assert_true(syncs >= 1 && syncs < commits);
	assert_int_equal(count_rows(f->path, true), THREADS * PER_THREAD);
	db_close(f->d);
	f->d = NULL;
	assert_int_equal(count_rows(f->path, false), THREADS * PER_THREAD);
}

/* Off (the default of db_open): nothing counted, rows committed all the same. */
static void
test_off(void **state)
{
	struct fx *f = *state;
	uint64_t commits = 1, syncs = 1;

	for (int i = 1; i <= 5; i++)
		insert(f->d, i);
	db_group_commit_counts(f->d, &commits, &syncs);
	assert_int_equal(commits, 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(count_rows(f->path, true), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_commit_synced, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_syncs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_off, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
