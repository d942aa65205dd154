/* test_mgr_sshkey.c: SSH key lines and key pairs (manager/sshkey.c) against
 * OpenSSH's own ssh-keygen: the MD5 fingerprint it prints for a key it made
 * and for one we made, the public key it derives from our private key, and
 * every malformed line refused. */
#include "testutil.h"

#include <sys/wait.h>

#include "sshkey.h"

/* The first line ssh-keygen prints for args, NUL-terminated in out. */
static void
keygen(const char *args, char *out, size_t len)
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ssh-keygen %s 2>&1", args);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(out, (int)len, p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
}

static char *
read_line(const char *dir, const char *name)
{
	char *s = tu_read(dir, name);

	assert_non_null(s);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* "2048 MD5:aa:bb:... comment (RSA)" -> "aa:bb:..." */
static void
md5_of(const char *keygen_line, char fp[SSHKEY_FP_LEN + 1])
{
	const char *m = strstr(keygen_line, "MD5:");

	assert_non_null(m);
	memcpy(fp, m + 4, SSHKEY_FP_LEN);
	fp[SSHKEY_FP_LEN] = '\0';
}

static void
test_fingerprint_of_openssh_keys(void **state)
{
	static const char *const types[] = { "ed25519", "rsa", "ecdsa" };
	char dir[64], args[256], out[512], want[SSHKEY_FP_LEN + 1], got[SSHKEY_FP_LEN + 1];

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *pub;

		snprintf(args, sizeof(args), "-q -t %s -N '' -C user@host -f %s/k%zu", types[i], dir,
		    i);
		snprintf(out, sizeof(out), "k%zu.pub", i);
		{
			char cmd[512];

			snprintf(cmd, sizeof(cmd), "ssh-keygen %s </dev/null >/dev/null 2>&1", args);
			assert_int_equal(system(cmd), 0);
		}
		pub = read_line(dir, out);
		snprintf(args, sizeof(args), "-l -E md5 -f %s/k%zu.pub", dir, i);
		keygen(args, out, sizeof(out));
		md5_of(out, want);
		assert_int_equal(sshkey_fingerprint(pub, strlen(pub), got), 0);
		assert_string_equal(got, want);
		free(pub);
	}
	tu_rm_rf(dir);
}

static void
test_generate_matches_openssh(void **state)
{
	char dir[64], args[256], out[512], want[SSHKEY_FP_LEN + 1], got[SSHKEY_FP_LEN + 1];
	char *priv = NULL, *pub = NULL, *derived;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	assert_int_equal(sshkey_generate("k1@vr-manager", &priv, &pub), 0);
	assert_non_null(strstr(priv, "-----BEGIN RSA PRIVATE KEY-----"));
	assert_int_equal(strncmp(pub, "ssh-rsa ", 8), 0);
	tu_write(dir, "id", priv, 0600);
	tu_write(dir, "id.pub", pub, 0644);
	/* ssh-keygen reads our private key and derives the same public key */
	snprintf(args, sizeof(args), "-y -f %s/id", dir);
	keygen(args, out, sizeof(out));
	derived = out;
	assert_int_equal(strncmp(derived, pub, 8 + strcspn(pub + 8, " ")), 0);
	assert_true(strlen(derived) >= 8 + strcspn(pub + 8, " "));
	/* and prints the fingerprint we compute */
	snprintf(args, sizeof(args), "-l -E md5 -f %s/id.pub", dir);
	keygen(args, out, sizeof(out));
	md5_of(out, want);
	assert_non_null(strstr(out, "2048 "));
	assert_int_equal(sshkey_fingerprint(pub, strlen(pub), got), 0);
	assert_string_equal(got, want);
	free(priv);
	free(pub);
	tu_rm_rf(dir);
}

static void
test_fingerprint_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"ssh-ed25519",
		"ssh-ed25519 ",
		"ssh-ed25519 !!!notbase64",
		/* the blob says ssh-rsa, the line ssh-ed25519 */
		"ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAAQC7",
		/* a blob too short for its type field */
		"ssh-ed25519 AAAA",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\nssh-rsa y",
	};
	char fp[SSHKEY_FP_LEN + 1];
	char *huge;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sshkey_fingerprint(bad[i], strlen(bad[i]), fp), -EINVAL);
	huge = malloc(SSHKEY_LINE_MAX + 2);
	assert_non_null(huge);
	memcpy(huge, "ssh-rsa ", 8);
	memset(huge + 8, 'A', SSHKEY_LINE_MAX - 6);
	huge[SSHKEY_LINE_MAX + 1] = '\0';
	assert_int_equal(sshkey_fingerprint(huge, strlen(huge), fp), -EINVAL);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_of_openssh_keys),
		cmocka_unit_test(test_generate_matches_openssh),
		cmocka_unit_test(test_fingerprint_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
