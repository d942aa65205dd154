/* test_md_password.c: CloudStack's password server (metadata/password.c, not
 * in libvr.a, so included here): the DomU_Request header, and the store on a
 * temporary state directory: send, acknowledge, a newer password surviving
 * the acknowledgement of an older one, the lazily opened directory, no
 * ".<ip>.ack.tmp" ever left behind, and an acknowledgement the store cannot
 * take (read-only bind mount): an error, the password still pending. */
#include "testutil.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>

#include "../../metadata/password.c"

#define md_fail(...) do { \
	print_message("# "); \
	print_message(__VA_ARGS__); \
	print_message("\n"); \
	fail(); \
} while (0)

#define IP_A 0x0a010165u /* 10.1.1.101 */
#define IP_B 0x0a010166u /* 10.1.1.102 */

struct fx {
	char tmp[64];
	char *pwdir;     /* <tmp>/passwords */
	struct pwstore p;
	bool init;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->tmp, sizeof(f->tmp));
	f->pwdir = tu_path(f->tmp, "passwords");
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->init)
		pwstore_free(&f->p);
	tu_rm_rf(f->tmp);
	free(f->pwdir);
	free(f);
	return 0;
}

static void
fx_mkdir(struct fx *f)
{
	assert_int_equal(mkdir(f->pwdir, 0700), 0);
}

static void
fx_init(struct fx *f)
{
	char err[256] = "";
	int r = pwstore_init(&f->p, f->tmp, err, sizeof(err));

	if (r < 0)
		md_fail("pwstore_init: %d %s", r, err);
	f->init = true;
}

static const char *
ipname(uint32_t ip)
{
	static char s[2][IP4_STRLEN];
	static int k;

	k ^= 1;
	ip4_format(ip, s[k]);
	return s[k];
}

/* Stores a password as vrd does: ".<ip>.tmp", then renamed over "<ip>". */
static void
vrd_store(struct fx *f, uint32_t ip, const char *pw)
{
	int dfd = open(f->pwdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	assert_int_equal(af_write(dfd, ipname(ip), pw, strlen(pw), 0600, AF_KEEP_OWNER, 0), 0);
	close(dfd);
}

static void
vrd_remove(struct fx *f, uint32_t ip)
{
	char *p = tu_path(f->pwdir, ipname(ip));

	assert_int_equal(unlink(p), 0);
	free(p);
}

/* No ".*.ack.tmp" (or any other dot file) in passwords/. */
static void
no_leftovers(struct fx *f)
{
	DIR *d = opendir(f->pwdir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			md_fail("left behind: passwords/%s", de->d_name);
	closedir(d);
}

/* What the guest at ip is sent. */
static void
expect_send(struct fx *f, uint32_t ip, const char *want)
{
	struct buf b;

	buf_init(&b);
	pw_send(&f->p, ip, &b);
	assert_false(b.oom);
	if (b.len != strlen(want) || memcmp(b.p, want, b.len))
		md_fail("send_my_password from %s: got \"%.*s\", want \"%s\"", ipname(ip),
		    (int)b.len, b.p ? b.p : "", want);
	buf_free(&b);
	no_leftovers(f);
}

static void
ack(struct fx *f, uint32_t ip)
{
	int r = pw_saved(&f->p, ip);

	if (r < 0)
		md_fail("saved_password from %s: %s", ipname(ip), strerror(-r));
	no_leftovers(f);
}

/* The pending password of ip on disk, or NULL. */
static void
expect_file(struct fx *f, uint32_t ip, const char *want)
{
	char *got = tu_read(f->pwdir, ipname(ip));

	if (!want && got)
		md_fail("passwords/%s holds \"%s\", want no file", ipname(ip), got);
	if (want && (!got || strcmp(got, want)))
		md_fail("passwords/%s holds %s%s%s, want \"%s\"", ipname(ip), got ? "\"" : "",
		    got ? got : "no file", got ? "\"" : "", want);
	free(got);
}

static void
test_request_parse(void **state)
{
	static const char *const bad[] = { "", "send", "send_my_password ", " send_my_password",
		"send_my_password\r", "send_my_password\n", "Send_My_Password", "SEND_MY_PASSWORD",
		"saved_password ", "Saved_Password", "SAVED_PASSWORD", "saved_passwords",
		"send_my_passwordx", "send_my_password,saved_password", "bad_request", "get" };

	(void)state;
	assert_int_equal(pw_request_parse("send_my_password"), PW_SEND);
	assert_int_equal(pw_request_parse("saved_password"), PW_SAVED);
	assert_int_equal(pw_request_parse(NULL), PW_BAD);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pw_request_parse(bad[i]) != PW_BAD)
			md_fail("pw_request_parse(\"%s\") is not PW_BAD", bad[i]);
}

static void
test_no_password(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	expect_send(f, IP_A, "saved_password");
	ack(f, IP_A);
	expect_send(f, IP_A, "saved_password");
	/* an empty file is no password */
	vrd_store(f, IP_A, "");
	expect_send(f, IP_A, "saved_password");
	ack(f, IP_A);
	expect_file(f, IP_A, "");
}

static void
test_send_then_ack(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	vrd_store(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	expect_file(f, IP_A, "p1"); /* sending removes nothing */
	expect_send(f, IP_A, "p1");
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	expect_send(f, IP_A, "saved_password");
	ack(f, IP_A); /* a second ack: nothing to do */
	expect_file(f, IP_A, NULL);
	/* the next password works the same way */
	vrd_store(f, IP_A, "hY7sd8Kq");
	expect_send(f, IP_A, "hY7sd8Kq");
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
}

static void
test_ack_without_send(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	vrd_store(f, IP_A, "p1");
	ack(f, IP_A);
	expect_file(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	/* after a send and its ack, a new password is not acked by a stray ack */
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	vrd_store(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, "p2");
	expect_send(f, IP_A, "p2");
}

/* The guest fetched p1; vrd stored p2; the guest's ack of p1 must not take p2. */
static void
test_newer_survives_ack(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	vrd_store(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	vrd_store(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, "p2");
	ack(f, IP_A); /* the same ack again: p2 still was never sent */
	expect_file(f, IP_A, "p2");
	expect_send(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	expect_send(f, IP_A, "saved_password");

	/* a newer password of the same length, and one that starts like the old */
	vrd_store(f, IP_A, "aaaa");
	expect_send(f, IP_A, "aaaa");
	vrd_store(f, IP_A, "aaab");
	ack(f, IP_A);
	expect_file(f, IP_A, "aaab");
	expect_send(f, IP_A, "aaab");
	vrd_store(f, IP_A, "aaab1");
	ack(f, IP_A);
	expect_file(f, IP_A, "aaab1");
	expect_send(f, IP_A, "aaab1");
	vrd_store(f, IP_A, "aaa");
	ack(f, IP_A);
	expect_file(f, IP_A, "aaa");
}

/* vrd removed the password between the send and the ack. */
static void
test_ack_after_removal(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	vrd_store(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	vrd_remove(f, IP_A);
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	vrd_store(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, "p2");
	expect_send(f, IP_A, "p2");
}

/* Each VM's password is its own. */
static void
test_per_vm(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	fx_init(f);
	vrd_store(f, IP_A, "pa");
	vrd_store(f, IP_B, "pb");
	expect_send(f, IP_A, "pa");
	ack(f, IP_B);
	expect_file(f, IP_B, "pb");
	expect_file(f, IP_A, "pa");
	expect_send(f, IP_B, "pb");
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	expect_file(f, IP_B, "pb");
	expect_send(f, IP_A, "saved_password");
	ack(f, IP_B);
	expect_file(f, IP_B, NULL);
}

/* More VMs than the first allocation of the sent table. */
static void
test_many_vms(void **state)
{
	struct fx *f = *state;
	char pw[32];

	fx_mkdir(f);
	fx_init(f);
	for (uint32_t i = 0; i < 300; i++) {
		snprintf(pw, sizeof(pw), "pw-%u", i);
		vrd_store(f, IP_A + i, pw);
		expect_send(f, IP_A + i, pw);
	}
	for (uint32_t i = 0; i < 300; i += 2)
		ack(f, IP_A + i);
	for (uint32_t i = 0; i < 300; i++) {
		snprintf(pw, sizeof(pw), "pw-%u", i);
		expect_file(f, IP_A + i, i % 2 ? pw : NULL);
	}
}

/* pwstore_init before vrd has made passwords/: opened when it appears. */
static void
test_lazy_dir(void **state)
{
	struct fx *f = *state;

	fx_init(f);
	assert_true(f->p.dirfd < 0);
	expect_send(f, IP_A, "saved_password");
	ack(f, IP_A);
	fx_mkdir(f);
	expect_send(f, IP_A, "saved_password");
	vrd_store(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	assert_true(f->p.dirfd >= 0);
	vrd_store(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, "p2");
	expect_send(f, IP_A, "p2");
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
}

/* A state directory whose passwords is not a directory. */
static void
test_init_not_dir(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	tu_write(f->tmp, "passwords", "x", 0600);
	assert_int_equal(pwstore_init(&f->p, f->tmp, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "passwords"));
	pwstore_free(&f->p);
}

/* A store that cannot take the acknowledgement (passwords/ mounted
 * read-only, in a mount namespace of this process's own): an error, the
 * password still pending and sent again; once the store is writable again the
 * guest's retry removes it. */
static void
test_ack_store_readonly(void **state)
{
	struct fx *f = *state;

	fx_mkdir(f);
	vrd_store(f, IP_A, "p1");
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		print_message("# skipped: needs root for a mount namespace\n");
		skip();
	}
	assert_int_equal(mount(f->pwdir, f->pwdir, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(NULL, f->pwdir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), 0);
	fx_init(f);
	expect_send(f, IP_A, "p1");
	assert_int_equal(pw_saved(&f->p, IP_A), -EROFS);
	no_leftovers(f);
	expect_file(f, IP_A, "p1");
	expect_send(f, IP_A, "p1");
	assert_int_equal(pw_saved(&f->p, IP_A), -EROFS); /* again: the same */
	/* writable again: the retry of the same acknowledgement works */
	assert_int_equal(mount(NULL, f->pwdir, NULL, MS_BIND | MS_REMOUNT, NULL), 0);
	ack(f, IP_A);
	expect_file(f, IP_A, NULL);
	expect_send(f, IP_A, "saved_password");
	assert_int_equal(umount2(f->pwdir, MNT_DETACH), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test_setup_teardown(test_no_password, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_send_then_ack, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ack_without_send, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_newer_survives_ack, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ack_after_removal, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_per_vm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_many_vms, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lazy_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_init_not_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ack_store_readonly, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
