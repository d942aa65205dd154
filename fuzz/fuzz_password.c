/* fuzz_password.c: libFuzzer target over vr-metadata's password server
 * (metadata/password.c).  The whole input is the DomU_Request header given
 * to pw_request_parse: only "send_my_password" and "saved_password", exactly,
 * are accepted.  Each input byte is then also one step of a session against
 * the real password store on real files (a temporary state directory),
 * checked against a model after every step:
 *   vrd stores a password for VM a or b (written atomically, as vrd does),
 *   vrd removes it, the guest asks for it, the guest acknowledges it.
 * Invariants: a guest is sent exactly its pending password (or
 * "saved_password" when none); an acknowledgement removes the pending
 * password only if it is the one that guest was last sent, so a password
 * stored after the fetch survives; no step touches the other VM's file. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../metadata/md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STEPS_MAX 64

static const uint32_t vm_ip[2] = { 0x0a010165u, 0x0a010166u };  /* 10.1.1.101, .102 */
static const char *const vm_name[2] = { "10.1.1.101", "10.1.1.102" };
static char state_dir[64], pw_dir[96];

static void
check_parse(const char *s)
{
	enum pw_request r = pw_request_parse(s);

	if (r != PW_SEND && r != PW_SAVED && r != PW_BAD)
		abort();
	if ((r == PW_SEND) != !strcmp(s, "send_my_password"))
		abort();
	if ((r == PW_SAVED) != !strcmp(s, "saved_password"))
		abort();
}

static void
setup_dirs(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(state_dir, sizeof(state_dir), "%s/fuzz-pw.XXXXXX", base);
	if (!mkdtemp(state_dir))
		abort();
	snprintf(pw_dir, sizeof(pw_dir), "%s/passwords", state_dir);
	if (mkdir(pw_dir, 0700) < 0)
		abort();
}

/* vrd's way: temporary file, rename into place. */
static void
store(int k, const char *pw)
{
	char tmp[160], dst[160];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", pw_dir, vm_name[k]);
	snprintf(dst, sizeof(dst), "%s/%s", pw_dir, vm_name[k]);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, pw, strlen(pw)) != (ssize_t)strlen(pw) || close(fd) < 0 || rename(tmp, dst) < 0)
		abort();
}

static void
drop(int k)
{
	char dst[160];

	snprintf(dst, sizeof(dst), "%s/%s", pw_dir, vm_name[k]);
	if (unlink(dst) < 0 && errno != ENOENT)
		abort();
}

/* The file's content equals want (NULL: no file). */
static void
expect_file(int k, const char *want)
{
	char path[160], got[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pw_dir, vm_name[k]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT || want)
			abort();
		return;
	}
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (!want || n < 0)
		abort();
	got[n] = '\0';
	if (strcmp(got, want))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pws[4] = { "hY7sd8Kq", "second-pw", "saved_password", "x" };
	const char *pending[2] = { NULL, NULL }, *sent[2] = { NULL, NULL };
	struct pwstore ps;
	char err[256], *s;
	struct buf out;

	if (!(s = strndup((const char *)data, size)))
		return 0;
	check_parse(s);
	free(s);
	if (pw_request_parse(NULL) != PW_BAD)
		abort();

	if (!state_dir[0])
		setup_dirs();
	drop(0);
	drop(1);
	if (pwstore_init(&ps, state_dir, err, sizeof(err)) < 0)
		abort();
	buf_init(&out);
	for (size_t i = 0; i < size && i < STEPS_MAX; i++) {
		int k = (data[i] >> 2) & 1;
		const char *pw = pws[(data[i] >> 3) & 3];

		switch (data[i] & 3) {
		case 0: /* vrd stores a password */
			store(k, pw);
			pending[k] = pw;
			break;
		case 1: /* vrd removes the VM's password */
			drop(k);
			pending[k] = NULL;
			break;
		case 2: /* the guest asks */
			buf_reset(&out);
			pw_send(&ps, vm_ip[k], &out);
			if (out.oom)
				abort();
			buf_add(&out, "", 1);
			if (strcmp(out.p, pending[k] ? pending[k] : "saved_password"))
				abort();
			if (pending[k])
				sent[k] = pending[k];
			break;
		default: /* the guest acknowledges (on a writable store, always applied) */
			if (pw_saved(&ps, vm_ip[k]) < 0)
				abort();
			if (sent[k] && pending[k] && !strcmp(sent[k], pending[k]))
				pending[k] = NULL;
			sent[k] = NULL;
			break;
		}
		expect_file(0, pending[0]);
		expect_file(1, pending[1]);
	}
	buf_free(&out);
	pwstore_free(&ps);
	return 0;
}
