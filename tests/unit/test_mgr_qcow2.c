/* test_mgr_qcow2.c: the qcow2 overlay renderer and header parser (manager/qcow2.c), checked
 * against qemu-img: same bytes as `qemu-img create`, `check` clean, `info` fields, `compare`. */
#include "testutil.h"

#include <inttypes.h>
#include <sys/wait.h>

#include "qcow2.h"

struct fx {
	char dir[64];
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Runs a shell command; returns its exit status. */
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

/* Renders an overlay of size over backing (fmt) into dir/name. */
static void
render_to(const char *dir, const char *name, uint64_t size, const char *backing, const char *fmt)
{
	struct buf b;
	char *p = tu_path(dir, name);
	FILE *fp;

	buf_init(&b);
	assert_int_equal(qcow2_overlay_render(size, backing, fmt, &b), 0);
	fp = fopen(p, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b.p, 1, b.len, fp), b.len);
	assert_int_equal(fclose(fp), 0);
	buf_free(&b);
	free(p);
}

/* A 64 MiB raw template with data at a few offsets. */
static char *
make_raw_template(const char *dir)
{
	char *p = tu_path(dir, "base.raw");

	assert_int_equal(sh("truncate -s 64M %s && for o in 0 7 33 63; do "
	    "printf 'block %%s' $o | dd of=%s bs=1M seek=$o conv=notrunc status=none; done",
	    p, p), 0);
	return p;
}

static void
assert_same_bytes_as_qemu_img(const struct fx *f, uint64_t size, const char *fmt)
{
	char *backing = tu_path(f->dir, "backing.img");

	render_to(f->dir, "ours.qcow2", size, backing, fmt);
	assert_int_equal(sh("qemu-img create -q -u -f qcow2 -b %s -F %s %s/theirs.qcow2 %" PRIu64,
	    backing, fmt, f->dir, size), 0);
	if (sh("cmp -s %s/ours.qcow2 %s/theirs.qcow2", f->dir, f->dir) != 0)
		fail_msg("size %" PRIu64 " fmt %s: bytes differ from qemu-img create", size, fmt);
	free(backing);
}

static void
test_render_matches_qemu_img_create_raw_backing(void **state)
{
	assert_same_bytes_as_qemu_img(*state, UINT64_C(1) << 30, "raw");
}

static void
test_render_matches_qemu_img_create_qcow2_backing(void **state)
{
	assert_same_bytes_as_qemu_img(*state, UINT64_C(100) << 30, "qcow2");
}

static void
test_render_matches_qemu_img_create_unaligned_size(void **state)
{
	assert_same_bytes_as_qemu_img(*state, 1000, "qcow2");
}

static void
test_render_matches_qemu_img_create_multi_cluster_l1(void **state)
{
	/* 64 TiB: a 1 MiB L1 table over 16 clusters, each refcounted */
	assert_same_bytes_as_qemu_img(*state, UINT64_C(64) << 40, "qcow2");
}

static void
test_render_passes_qemu_img_check(void **state)
{
	struct fx *f = *state;
	char *base = make_raw_template(f->dir);

	render_to(f->dir, "ov.qcow2", UINT64_C(64) << 20, base, "raw");
	assert_int_equal(sh("qemu-img check -q %s/ov.qcow2", f->dir), 0);
	free(base);
}

static void
test_render_info_gives_size_backing_and_format(void **state)
{
	struct fx *f = *state;
	char *base = make_raw_template(f->dir), *info, want[512];

	render_to(f->dir, "ov.qcow2", UINT64_C(64) << 20, base, "raw");
	assert_int_equal(sh("qemu-img info --output=json %s/ov.qcow2 > %s/info.json", f->dir,
	    f->dir), 0);
	info = tu_read(f->dir, "info.json");
	assert_non_null(info);
	assert_non_null(strstr(info, "\"virtual-size\": 67108864,"));
	assert_non_null(strstr(info, "\"format\": \"qcow2\""));
	snprintf(want, sizeof(want), "\"backing-filename\": \"%s\"", base);
	assert_non_null(strstr(info, want));
	assert_non_null(strstr(info, "\"backing-filename-format\": \"raw\""));
	free(info);
	free(base);
}

static void
test_render_content_equals_template(void **state)
{
	struct fx *f = *state;
	char *base = make_raw_template(f->dir);

	render_to(f->dir, "ov.qcow2", UINT64_C(64) << 20, base, "raw");
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s/ov.qcow2 %s", f->dir, base), 0);
	free(base);
}

static void
test_render_over_qcow2_backing_content_equals_template(void **state)
{
	struct fx *f = *state;
	char *base = make_raw_template(f->dir), *q = tu_path(f->dir, "base.qcow2");

	assert_int_equal(sh("qemu-img convert -q -f raw -O qcow2 %s %s", base, q), 0);
	render_to(f->dir, "ov.qcow2", UINT64_C(64) << 20, q, "qcow2");
	assert_int_equal(sh("qemu-img check -q %s/ov.qcow2", f->dir), 0);
	assert_int_equal(sh("qemu-img compare -q -f qcow2 -F raw %s/ov.qcow2 %s", f->dir, base), 0);
	free(q);
	free(base);
}

static void
test_render_rejects_bad_arguments(void **state)
{
	char longpath[QCOW2_BACKING_PATH_MAX + 2];
	struct buf b;

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	buf_init(&b);
	assert_int_equal(qcow2_overlay_render(0, "/t", "raw", &b), -EINVAL);
	assert_int_equal(qcow2_overlay_render(QCOW2_VIRTUAL_SIZE_MAX + 1, "/t", "raw", &b), -EINVAL);
	assert_int_equal(qcow2_overlay_render(1 << 20, "t", "raw", &b), -EINVAL);
	assert_int_equal(qcow2_overlay_render(1 << 20, "/t", "vmdk", &b), -EINVAL);
	assert_int_equal(qcow2_overlay_render(1 << 20, longpath, "raw", &b), -EINVAL);
	assert_int_equal(b.len, 0);
	longpath[sizeof(longpath) - 2] = '\0';
	assert_int_equal(qcow2_overlay_render(1 << 20, longpath, "raw", &b), 0);
	buf_free(&b);
}

static void
test_header_parse_reads_rendered_size(void **state)
{
	struct buf b;
	uint64_t size = 0;

	(void)state;
	buf_init(&b);
	assert_int_equal(qcow2_overlay_render(UINT64_C(10) << 30, "/t", "raw", &b), 0);
	assert_int_equal(qcow2_header_parse(b.p, b.len, &size), 0);
	assert_int_equal(size, UINT64_C(10) << 30);
	buf_free(&b);
}

static void
test_header_parse_reads_qemu_img_v2_and_v3(void **state)
{
	struct fx *f = *state;
	const char *compat[] = { "0.10", "1.1" };

	for (size_t i = 0; i < 2; i++) {
		char *img;
		uint64_t size = 0;

		assert_int_equal(sh("rm -f %s/c.qcow2 && qemu-img create -q -f qcow2 -o compat=%s "
		    "%s/c.qcow2 3G", f->dir, compat[i], f->dir), 0);
		img = tu_read(f->dir, "c.qcow2");
		assert_non_null(img);
		assert_int_equal(qcow2_header_parse(img, QCOW2_HEADER_MIN, &size), 0);
		assert_int_equal(size, UINT64_C(3) << 30);
		free(img);
	}
}

static void
test_header_parse_rejects_garbage_and_truncation(void **state)
{
	struct buf b;
	uint64_t size = 42;
	char zeros[512] = { 0 };

	(void)state;
	buf_init(&b);
	assert_int_equal(qcow2_overlay_render(1 << 20, "/t", "raw", &b), 0);
	assert_int_equal(qcow2_header_parse(zeros, sizeof(zeros), &size), -EINVAL);
	assert_int_equal(qcow2_header_parse(b.p, 71, &size), -EINVAL);
	assert_int_equal(qcow2_header_parse(b.p, QCOW2_HEADER_MIN - 1, &size), -EINVAL);
	b.p[7] = 4; /* version 4 */
	assert_int_equal(qcow2_header_parse(b.p, b.len, &size), -EINVAL);
	assert_int_equal(size, 42);
	buf_free(&b);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_render_matches_qemu_img_create_raw_backing),
		T(test_render_matches_qemu_img_create_qcow2_backing),
		T(test_render_matches_qemu_img_create_unaligned_size),
		T(test_render_matches_qemu_img_create_multi_cluster_l1),
		T(test_render_passes_qemu_img_check),
		T(test_render_info_gives_size_backing_and_format),
		T(test_render_content_equals_template),
		T(test_render_over_qcow2_backing_content_equals_template),
		T(test_render_rejects_bad_arguments),
		T(test_header_parse_reads_rendered_size),
		T(test_header_parse_reads_qemu_img_v2_and_v3),
		T(test_header_parse_rejects_garbage_and_truncation),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
