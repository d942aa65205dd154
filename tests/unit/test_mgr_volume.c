/* test_mgr_volume.c: volume prep (manager/volume.c): the template cached once per pool as
 * qcow2 (sparse, atomic, locked, errors leave the pool clean), overlays, removal. */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "volume.h"

struct fx {
	char dir[64];
	char *pool, *src;
	bool mounted;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	f->pool = tu_path(f->dir, "pool");
	f->src = tu_path(f->dir, "src");
	assert_int_equal(mkdir(f->pool, 0755), 0);
	assert_int_equal(mkdir(f->src, 0755), 0);
	unsetenv("QEMU_IMG");
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("QEMU_IMG");
	if (f->mounted)
		assert_int_equal(umount(f->pool), 0);
	tu_rm_rf(f->dir);
	free(f->pool);
	free(f->src);
	free(f);
	return 0;
}

static int __attribute__((format(printf, 1, 2)))
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	assert_true(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The names in dir, sorted and joined by spaces (caller frees). */
static char *
listing(const char *dir)
{
	struct dirent **v;
	struct buf b;
	int n = scandir(dir, &v, NULL, alphasort);
	char *s;

	assert_true(n >= 0);
	buf_init(&b);
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") && strcmp(v[i]->d_name, ".."))
			buf_addf(&b, "%s%s", b.len ? " " : "", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	buf_adds(&b, "");
	s = buf_steal(&b, NULL);
	assert_non_null(s);
	return s;
}

static void
assert_listing(const char *dir, const char *want)
{
	char *got = listing(dir);

	assert_string_equal(got, want);
	free(got);
}

/* A raw template of size MiB, sparse, with a few 64 KiB blocks written at spread offsets. */
static char *
make_raw(const struct fx *f, const char *name, unsigned size_mib)
{
	char *p = tu_path(f->src, name);

	assert_int_equal(sh("truncate -s %uM %s && for o in 0 %u %u %u; do "
	    "head -c 65536 /dev/urandom | dd of=%s bs=1M seek=$o conv=notrunc status=none; done",
	    size_mib, p, size_mib / 3, size_mib / 2, size_mib - 1, p), 0);
	return p;
}

static char *
make_qcow2(const struct fx *f, const char *name)
{
	char *raw = make_raw(f, "for-qcow2.raw", 64), *p = tu_path(f->src, name);

	assert_int_equal(sh("qemu-img convert -q -f raw -O qcow2 %s %s", raw, p), 0);
	free(raw);
	return p;
}

/* A QEMU_IMG wrapper that counts its runs in <dir>/runs. */
static void
count_qemu_img_runs(const struct fx *f)
{
	char script[512];

	snprintf(script, sizeof(script), "#!/bin/sh\necho run >> %s/runs\nexec qemu-img \"$@\"\n",
	    f->dir);
	tu_write(f->dir, "qemu-img-counted", script, 0755);
	assert_int_equal(sh("test ! -e %s/runs", f->dir), 0);
	char *p = tu_path(f->dir, "qemu-img-counted");
	assert_int_equal(setenv("QEMU_IMG", p, 1), 0);
	free(p);
}

static int
qemu_img_runs(const struct fx *f)
{
	char *s = tu_read(f->dir, "runs");
	int n = 0;

	for (char *p = s; p && (p = strstr(p, "run")); p += 3)
		n++;
	free(s);
	return n;
}

static void
ensure_ok(const struct fx *f, const char *id, const char *template, char *cached, size_t len)
{
	char err[256] = "";
	int r = volume_template_ensure(f->pool, id, template, cached, len, err, sizeof(err));

	if (r != 0)
		fail_msg("ensure %s: %d %s", id, r, err);
}

static void
test_ensure_converts_raw_template_to_qcow2(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 64), cached[PATH_MAX], want[PATH_MAX];

	ensure_ok(f, "tmpl-1", raw, cached, sizeof(cached));
	snprintf(want, sizeof(want), "%s/template-tmpl-1.qcow2", f->pool);
	assert_string_equal(cached, want);
	assert_listing(f->pool, "template-tmpl-1.qcow2");
	assert_int_equal(sh("qemu-img check -q %s", cached), 0);
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s", cached, raw), 0);
	free(raw);
}

static void
test_ensure_converts_qcow2_template(void **state)
{
	struct fx *f = *state;
	char *q = make_qcow2(f, "t.qcow2"), cached[PATH_MAX];

	ensure_ok(f, "q", q, cached, sizeof(cached));
	assert_int_equal(sh("qemu-img check -q %s", cached), 0);
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F qcow2 %s %s", cached, q), 0);
	free(q);
}

static void
test_ensure_keeps_sparse_template_sparse(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "big.raw", 1024), cached[PATH_MAX];
	struct stat sb;

	ensure_ok(f, "sparse", raw, cached, sizeof(cached));
	assert_int_equal(stat(cached, &sb), 0);
	/* 4 x 64 KiB of data plus qcow2 metadata: far below the 1 GiB virtual size */
	if ((uint64_t)sb.st_blocks * 512 > UINT64_C(4) << 20)
		fail_msg("cached template allocates %llu bytes", (unsigned long long)sb.st_blocks * 512);
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s", cached, raw), 0);
	free(raw);
}

static void
test_ensure_copies_once(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 16), cached[PATH_MAX], again[PATH_MAX];
	struct stat before, after;

	count_qemu_img_runs(f);
	ensure_ok(f, "once", raw, cached, sizeof(cached));
	assert_int_equal(stat(cached, &before), 0);
	ensure_ok(f, "once", raw, again, sizeof(again));
	assert_int_equal(stat(cached, &after), 0);
	assert_string_equal(cached, again);
	assert_int_equal(qemu_img_runs(f), 1);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	free(raw);
}

struct ensure_thread {
	const struct fx *f;
	const char *raw;
	char cached[PATH_MAX];
	int r;
};

static void *
ensure_thread_run(void *arg)
{
	struct ensure_thread *t = arg;
	char err[256];

	t->r = volume_template_ensure(t->f->pool, "conc", t->raw, t->cached, sizeof(t->cached),
	    err, sizeof(err));
	return NULL;
}

static void
test_ensure_from_four_threads_copies_once(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 64);
	struct ensure_thread t[4];
	pthread_t tid[4];

	count_qemu_img_runs(f);
	for (int i = 0; i < 4; i++) {
		t[i].f = f;
		t[i].raw = raw;
		t[i].r = -1;
		assert_int_equal(pthread_create(&tid[i], NULL, ensure_thread_run, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].r, 0);
		assert_string_equal(t[i].cached, t[0].cached);
	}
	assert_int_equal(qemu_img_runs(f), 1);
	assert_listing(f->pool, "template-conc.qcow2");
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s", t[0].cached, raw), 0);
	free(raw);
}

static void
test_ensure_missing_template_is_enoent(void **state)
{
	struct fx *f = *state;
	char *raw = tu_path(f->src, "absent.raw"), cached[PATH_MAX], err[256] = "";

	assert_int_equal(volume_template_ensure(f->pool, "x", raw, cached, sizeof(cached), err,
	    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "absent.raw"));
	assert_listing(f->pool, "");
	free(raw);
}

static void
test_ensure_full_pool_is_enospc(void **state)
{
	struct fx *f = *state;
	char *raw = tu_path(f->src, "full.raw"), cached[PATH_MAX], err[256] = "";

	if (mount("tmpfs", f->pool, "tmpfs", 0, "size=1m") < 0) {
		print_message("# SKIP: cannot mount a 1 MiB tmpfs on %s: %s\n", f->pool,
		    strerror(errno));
		skip();
	}
	f->mounted = true;
	/* 4 MiB of non-zero data: qemu-img cannot leave any of it sparse */
	assert_int_equal(sh("head -c 4M /dev/urandom > %s", raw), 0);
	assert_int_equal(volume_template_ensure(f->pool, "full", raw, cached, sizeof(cached), err,
	    sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "No space left on device"));
	assert_null(strchr(err, '\n'));
	assert_listing(f->pool, "");
	free(raw);
}

static void
test_ensure_rejects_bad_ids(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 1), cached[PATH_MAX], err[256];
	char long_id[VOLUME_TEMPLATE_ID_MAX + 2];
	const char *bad[] = { "", "../x", "a/b", "a b", ".hidden", long_id };

	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(volume_template_ensure(f->pool, bad[i], raw, cached, sizeof(cached),
		    err, sizeof(err)), -EINVAL);
	long_id[VOLUME_TEMPLATE_ID_MAX] = '\0';
	ensure_ok(f, long_id, raw, cached, sizeof(cached));
	free(raw);
}

static void
test_ensure_reports_qemu_img_failure_and_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 1), cached[PATH_MAX], err[256] = "";

	tu_write(f->dir, "qemu-img-fails", "#!/bin/sh\n: > \"$8\"\necho 'convert: broken' >&2\n"
	    "echo 'second line' >&2\nexit 1\n", 0755);
	char *p = tu_path(f->dir, "qemu-img-fails");
	assert_int_equal(setenv("QEMU_IMG", p, 1), 0);
	assert_int_equal(volume_template_ensure(f->pool, "t", raw, cached, sizeof(cached), err,
	    sizeof(err)), -EIO);
	assert_non_null(strstr(err, "convert: broken"));
	assert_null(strstr(err, "second line"));
	assert_listing(f->pool, "");
	free(p);
	free(raw);
}

static void
test_ensure_without_qemu_img_is_enoexec(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 1), cached[PATH_MAX], err[256] = "";

	assert_int_equal(setenv("QEMU_IMG", "/nonexistent/qemu-img", 1), 0);
	assert_int_equal(volume_template_ensure(f->pool, "t", raw, cached, sizeof(cached), err,
	    sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "/nonexistent/qemu-img"));
	assert_listing(f->pool, "");
	free(raw);
}

static void
test_overlay_reads_as_template(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 64), cached[PATH_MAX], err[256] = "";
	char *root = tu_path(f->pool, "root-1.qcow2"), *info;

	ensure_ok(f, "t", raw, cached, sizeof(cached));
	assert_int_equal(volume_overlay_create(cached, root, err, sizeof(err)), 0);
	assert_int_equal(sh("qemu-img check -q %s", root), 0);
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s %s", root, raw), 0);
	assert_int_equal(sh("qemu-img info --output=json %s > %s/info.json", root, f->dir), 0);
	info = tu_read(f->dir, "info.json");
	assert_non_null(strstr(info, "\"virtual-size\": 67108864,"));
	assert_non_null(strstr(info, "\"backing-filename-format\": \"qcow2\""));
	assert_non_null(strstr(info, cached));
	assert_listing(f->pool, "root-1.qcow2 template-t.qcow2");
	free(info);
	free(root);
	free(raw);
}

static void
test_overlay_is_exclusive(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 16), cached[PATH_MAX], err[256] = "", *old;
	char *root = tu_path(f->pool, "root.qcow2");

	ensure_ok(f, "t", raw, cached, sizeof(cached));
	tu_write(f->pool, "root.qcow2", "precious", 0600);
	assert_int_equal(volume_overlay_create(cached, root, err, sizeof(err)), -EEXIST);
	old = tu_read(f->pool, "root.qcow2");
	assert_string_equal(old, "precious");
	assert_listing(f->pool, "root.qcow2 template-t.qcow2");
	free(old);
	free(root);
	free(raw);
}

static void
test_overlay_of_non_qcow2_is_einval_and_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char *raw = make_raw(f, "t.raw", 1), *root = tu_path(f->pool, "root.qcow2"), err[256] = "";

	assert_int_equal(volume_overlay_create(raw, root, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a qcow2 image"));
	assert_listing(f->pool, "");
	free(root);
	free(raw);
}

static void
test_overlay_on_full_pool_is_enospc_and_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char *q = make_qcow2(f, "t.qcow2"), *root = tu_path(f->pool, "root.qcow2"), err[256] = "";

	if (mount("tmpfs", f->pool, "tmpfs", 0, "size=64k") < 0) {
		print_message("# SKIP: cannot mount a 64 KiB tmpfs on %s: %s\n", f->pool,
		    strerror(errno));
		skip();
	}
	f->mounted = true;
	assert_int_equal(volume_overlay_create(q, root, err, sizeof(err)), -ENOSPC);
	assert_listing(f->pool, "");
	free(root);
	free(q);
}

/* A template lock a killed run left is removed; one a live copy holds is not. */
static void
test_sweep_removes_temps_and_stale_locks(void **state)
{
	struct fx *f = *state;
	int dirfd = open(f->pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC), held;

	assert_true(dirfd >= 0);
	tu_write(f->pool, ".template-old.lock", "", 0600);
	tu_write(f->pool, ".template-busy.lock", "", 0600);
	tu_write(f->pool, ".root.qcow2.tmp", "x", 0600);
	tu_write(f->pool, "template-t.qcow2", "q", 0644);
	tu_write(f->pool, "root.qcow2", "r", 0600);
	held = openat(dirfd, ".template-busy.lock", O_RDWR | O_CLOEXEC);
	assert_true(held >= 0);
	/* flock locks belong to the open file description: the sweep's own
	 * open of the same file cannot take it while this one holds it */
	assert_int_equal(flock(held, LOCK_EX), 0);
	assert_int_equal(volume_pool_sweep(dirfd), 2);
	assert_listing(f->pool, ".template-busy.lock root.qcow2 template-t.qcow2");
	close(held);
	assert_int_equal(volume_pool_sweep(dirfd), 1);
	assert_listing(f->pool, "root.qcow2 template-t.qcow2");
	close(dirfd);
}

static void
test_remove_is_idempotent(void **state)
{
	struct fx *f = *state;
	char *v = tu_path(f->pool, "root.qcow2"), *nodir = tu_path(f->dir, "nodir/root.qcow2");

	tu_write(f->pool, "root.qcow2", "x", 0600);
	assert_int_equal(volume_remove(v), 0);
	assert_false(tu_exists(f->pool, "root.qcow2"));
	assert_int_equal(volume_remove(v), 0);
	assert_int_equal(volume_remove(nodir), 0);
	/* a creation killed half-way left only its temporary file */
	tu_write(f->pool, ".root.qcow2.tmp", "x", 0600);
	tu_write(f->pool, ".other.qcow2.tmp", "x", 0600);
	assert_int_equal(volume_remove(v), 0);
	assert_listing(f->pool, ".other.qcow2.tmp");
	free(nodir);
	free(v);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ensure_converts_raw_template_to_qcow2),
		T(test_ensure_converts_qcow2_template),
		T(test_ensure_keeps_sparse_template_sparse),
		T(test_ensure_copies_once),
		T(test_ensure_from_four_threads_copies_once),
		T(test_ensure_missing_template_is_enoent),
		T(test_ensure_full_pool_is_enospc),
		T(test_ensure_rejects_bad_ids),
		T(test_ensure_reports_qemu_img_failure_and_leaves_nothing),
		T(test_ensure_without_qemu_img_is_enoexec),
		T(test_overlay_reads_as_template),
		T(test_overlay_is_exclusive),
		T(test_overlay_of_non_qcow2_is_einval_and_leaves_nothing),
		T(test_overlay_on_full_pool_is_enospc_and_leaves_nothing),
		T(test_sweep_removes_temps_and_stale_locks),
		T(test_remove_is_idempotent),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
