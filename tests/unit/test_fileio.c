/* test_fileio.c: atomic file replacement, temporary-file sweeping and
 * bounded whole-file reads (lib/fileio.c). */
#include "testutil.h"

#include <dirent.h>

struct fx {
	char dir[64];
	int dfd;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dfd >= 0);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	close(f->dfd);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static mode_t
mode_of(const struct fx *f, const char *name, struct stat *out)
{
	struct stat sb;

	assert_int_equal(fstatat(f->dfd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	if (out)
		*out = sb;
	return sb.st_mode & 07777;
}

/* The names in the directory, sorted and joined by spaces. */
static char *
listing(const struct fx *f)
{
	struct dirent **v;
	struct buf b;
	int n = scandir(f->dir, &v, NULL, alphasort);
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
assert_listing(const struct fx *f, const char *want)
{
	char *got = listing(f);

	assert_string_equal(got, want);
	free(got);
}

static void
test_af_write_creates_with_content_and_mode(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	char *c;
	mode_t old = umask(077); /* the mode is set, not masked */

	assert_int_equal(af_write(f->dfd, "a.json", "hello\n", 6, 0644, AF_KEEP_OWNER, 0), 0);
	umask(old);
	c = tu_read(f->dir, "a.json");
	assert_string_equal(c, "hello\n");
	free(c);
	assert_int_equal(mode_of(f, "a.json", &sb), 0644);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(af_write(f->dfd, "secret", "pw", 2, 0600, AF_KEEP_OWNER, 0), 0);
	assert_int_equal(mode_of(f, "secret", NULL), 0600);
	/* Empty content is a file too. */
	assert_int_equal(af_write(f->dfd, "empty", "", 0, 0640, AF_KEEP_OWNER, 0), 0);
	assert_int_equal(mode_of(f, "empty", &sb), 0640);
	assert_int_equal(sb.st_size, 0);
	assert_listing(f, "a.json empty secret");
}

static void
test_af_write_sets_owner(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	if (geteuid() != 0)
		fail_msg("this test needs root to chown to 65534");
	assert_int_equal(af_write(f->dfd, "pw", "x", 1, 0600, 65534, 65534), 0);
	mode_of(f, "pw", &sb);
	assert_int_equal(sb.st_uid, 65534);
	assert_int_equal(sb.st_gid, 65534);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void
test_af_write_replaces_atomically(void **state)
{
	struct fx *f = *state;
	struct stat before, after;
	char buf[64];
	int old;
	ssize_t n;

	assert_int_equal(af_write(f->dfd, "doc", "old content\n", 12, 0644, AF_KEEP_OWNER, 0), 0);
	mode_of(f, "doc", &before);
	old = openat(f->dfd, "doc", O_RDONLY | O_CLOEXEC);
	assert_true(old >= 0);
	assert_int_equal(af_write(f->dfd, "doc", "new\n", 4, 0640, AF_KEEP_OWNER, 0), 0);
	mode_of(f, "doc", &after);
	/* A new inode renamed over the name: a reader that had the old file
	 * open still sees all of it, never a truncated or mixed version. */
	assert_int_not_equal(before.st_ino, after.st_ino);
	n = pread(old, buf, sizeof(buf), 0);
	assert_int_equal(n, 12);
	assert_memory_equal(buf, "old content\n", 12);
	close(old);
	assert_true(file_equals(f->dfd, "doc", "new\n", 4));
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_listing(f, "doc"); /* no .doc.tmp left */
}

static void
test_af_stage_then_abort_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct af_stage s;
	char *c;

	assert_int_equal(af_stage(f->dfd, "new", "staged", 6, 0600, AF_KEEP_OWNER, 0, true, &s), 0);
	assert_listing(f, ".new.tmp");
	c = tu_read(f->dir, ".new.tmp");
	assert_string_equal(c, "staged");
	free(c);
	af_abort(&s);
	assert_listing(f, "");
	af_abort(&s); /* twice is safe */
	assert_listing(f, "");

	/* Over an existing file: the target is untouched until the commit. */
	assert_int_equal(af_write(f->dfd, "cur", "v1", 2, 0644, AF_KEEP_OWNER, 0), 0);
	assert_int_equal(af_stage(f->dfd, "cur", "v2", 2, 0644, AF_KEEP_OWNER, 0, false, &s), 0);
	assert_true(file_equals(f->dfd, "cur", "v1", 2));
	af_abort(&s);
	assert_listing(f, "cur");
	assert_true(file_equals(f->dfd, "cur", "v1", 2));
	assert_int_equal(af_stage(f->dfd, "cur", "v3", 2, 0644, AF_KEEP_OWNER, 0, false, &s), 0);
	assert_int_equal(af_commit(&s), 0);
	assert_true(file_equals(f->dfd, "cur", "v3", 2));
	assert_listing(f, "cur");
}

static void
test_af_stage_refuses_bad_names(void **state)
{
	struct fx *f = *state;
	struct af_stage s;
	char longname[300];

	memset(&s, 0, sizeof(s));
	assert_int_equal(af_stage(f->dfd, "a/b", "x", 1, 0644, AF_KEEP_OWNER, 0, false, &s),
	    -ENAMETOOLONG);
	memset(longname, 'n', sizeof(longname));
	longname[250] = '\0';
	assert_int_equal(af_stage(f->dfd, longname, "x", 1, 0644, AF_KEEP_OWNER, 0, false, &s),
	    -ENAMETOOLONG);
	longname[249] = '\0';
	assert_int_equal(af_write(f->dfd, longname, "x", 1, 0644, AF_KEEP_OWNER, 0), 0);
	/* A directory in the way: the error comes back and no temp is left. */
	assert_int_equal(mkdirat(f->dfd, "dir", 0755), 0);
	assert_int_equal(af_write(f->dfd, "dir", "x", 1, 0644, AF_KEEP_OWNER, 0), -EISDIR);
	assert_false(tu_exists(f->dir, ".dir.tmp"));
	/* A bad directory fd: the errno comes back. */
	assert_int_equal(af_write(-1, "x", "x", 1, 0644, AF_KEEP_OWNER, 0), -EBADF);
}

static void
test_af_sweep_removes_only_tmp_leftovers(void **state)
{
	struct fx *f = *state;

	tu_write(f->dir, ".x.tmp", "1", 0644);
	tu_write(f->dir, ".10.1.1.5.json.tmp", "2", 0644);
	tu_write(f->dir, "x.tmp", "3", 0644);        /* not hidden: someone else's */
	tu_write(f->dir, "data.tmp", "3", 0644);
	tu_write(f->dir, ".tmp", "4", 0644);         /* no name part */
	tu_write(f->dir, ".x.tmpl", "5", 0644);
	tu_write(f->dir, ".hidden", "6", 0644);
	tu_write(f->dir, "keep", "7", 0644);
	assert_int_equal(af_sweep(f->dfd), 2);
	assert_listing(f, ".hidden .tmp .x.tmpl data.tmp keep x.tmp");
	assert_int_equal(af_sweep(f->dfd), 0);
}

static void
test_file_read_all_respects_max(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "ten"), *buf = NULL;
	size_t len = 99;

	tu_write(f->dir, "ten", "0123456789", 0644);
	assert_int_equal(file_read_all(p, 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789"); /* NUL-terminated */
	free(buf);
	buf = NULL;
	assert_int_equal(file_read_all(p, 9, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(file_read_all(p, 0, &buf, &len), -EFBIG);
	free(p);
	/* Empty file, max 0. */
	tu_write(f->dir, "empty", "", 0644);
	p = tu_path(f->dir, "empty");
	assert_int_equal(file_read_all(p, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	free(p);
	/* Missing and directory. */
	p = tu_path(f->dir, "missing");
	assert_int_equal(file_read_all(p, 100, &buf, &len), -ENOENT);
	free(p);
	assert_int_equal(file_read_all(f->dir, 100, &buf, &len), -EISDIR);
	assert_int_equal(file_read_at(f->dfd, "ten", 100, &buf, &len), 0);
	assert_int_equal(len, 10);
	free(buf);
	/* A file whose size stat does not know (procfs): the limit still holds
	 * while reading. */
	assert_int_equal(file_read_all("/proc/self/maps", 16, &buf, &len), -EFBIG);
	assert_int_equal(file_read_all("/proc/self/maps", 16 * 1024 * 1024, &buf, &len), 0);
	assert_true(len > 16);
	assert_int_equal(strlen(buf), len);
	free(buf);
}

static void
test_file_equals(void **state)
{
	struct fx *f = *state;

	tu_write(f->dir, "f", "abc", 0644);
	assert_true(file_equals(f->dfd, "f", "abc", 3));
	assert_false(file_equals(f->dfd, "f", "abd", 3));
	assert_false(file_equals(f->dfd, "f", "ab", 2));     /* file longer */
	assert_false(file_equals(f->dfd, "f", "abcd", 4));   /* file shorter */
	assert_false(file_equals(f->dfd, "missing", "", 0));
	tu_write(f->dir, "e", "", 0644);
	assert_true(file_equals(f->dfd, "e", "", 0));
	assert_false(file_equals(f->dfd, "e", "x", 1));
	assert_int_equal(fsync_dir(f->dfd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_af_write_creates_with_content_and_mode, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_af_write_sets_owner, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_af_write_replaces_atomically, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_af_stage_then_abort_leaves_nothing, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_af_stage_refuses_bad_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_af_sweep_removes_only_tmp_leftovers, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_file_read_all_respects_max, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_file_equals, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
