/* test_sha256.c: SHA-256 (Nettle, as linked) and lib/hmac.c's HMAC-SHA-256
 * against the FIPS 180-4 and RFC 4231 vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <nettle/sha2.h>

#include "hmac.h"

static void
hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void
check_sha(const char *msg, size_t len, const char *want)
{
	struct sha256_ctx c;
	uint8_t d[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];

	sha256_init(&c);
	sha256_update(&c, len, (const uint8_t *)msg);
	sha256_digest(&c, sizeof(d), d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, want);
}

static void
test_sha256_vectors(void **state)
{
	static char million[1000000];

	(void)state;
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof(million));
	check_sha(million, sizeof(million),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void
test_hmac_rfc4231(void **state)
{
	uint8_t key[20], d[SHA256_LEN], big[131];
	char h[2 * SHA256_LEN + 1];

	(void)state;
	memset(key, 0x0b, sizeof(key));
	hmac_sha256(key, sizeof(key), "Hi There", 8, d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(big, 0xaa, sizeof(big)); /* a key longer than the block is hashed first */
	hmac_sha256(big, sizeof(big), "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_hmac_rfc4231),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
