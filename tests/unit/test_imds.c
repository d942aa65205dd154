/* test_imds.c: IMDSv2 session tokens (metadata/imds.c): a minted token is
 * good only for its address, under its key, until its expiry; any change to
 * it is refused; and the TTL header's parser. */
#include "testutil.h"

#include <ctype.h>

#include "md.h"

#define md_fail(...) do { \
	print_message("# "); \
	print_message(__VA_ARGS__); \
	print_message("\n"); \
	fail(); \
} while (0)

#define IP_A 0x0a010165u /* 10.1.1.101 */
#define IP_B 0x0a010166u /* 10.1.1.102 */
#define NOW ((time_t)1700000000)

static const uint8_t key1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void
mint(unsigned ttl, char tok[TOKEN_HEX_LEN + 1])
{
	memset(tok, 'X', TOKEN_HEX_LEN + 1);
	imds_token_mint(key1, IP_A, NOW, ttl, tok);
	assert_int_equal(strlen(tok), TOKEN_HEX_LEN);
}

static void
test_token_shape(void **state)
{
	char tok[TOKEN_HEX_LEN + 1], tok2[TOKEN_HEX_LEN + 1], exp[17];

	(void)state;
	mint(60, tok);
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		if (!isxdigit((unsigned char)tok[i]) || isupper((unsigned char)tok[i]))
			md_fail("token %s: char %zu is not lower-case hex", tok, i);
	/* expiry first, big-endian */
	snprintf(exp, sizeof(exp), "%016llx", (unsigned long long)(NOW + 60));
	assert_memory_equal(tok, exp, 16);
	/* the nonce makes two tokens differ; both are good */
	mint(60, tok2);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, tok2), 0);
}

static void
test_token_valid_until_expiry(void **state)
{
	char tok[TOKEN_HEX_LEN + 1];

	(void)state;
	mint(60, tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 1, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 59, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 60, tok), -EKEYEXPIRED);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 61, tok), -EKEYEXPIRED);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 100000, tok), -EKEYEXPIRED);

	mint(1, tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + 1, tok), -EKEYEXPIRED);

	mint(TOKEN_TTL_MAX, tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + TOKEN_TTL_MAX - 1, tok), 0);
	assert_int_equal(imds_token_check(key1, IP_A, NOW + TOKEN_TTL_MAX, tok), -EKEYEXPIRED);
}

static void
test_token_other_ip_or_key(void **state)
{
	char tok[TOKEN_HEX_LEN + 1];
	uint8_t key2[32];

	(void)state;
	mint(60, tok);
	assert_int_equal(imds_token_check(key1, IP_B, NOW, tok), -EACCES);
	assert_int_equal(imds_token_check(key1, IP_A ^ 0x80000000u, NOW, tok), -EACCES);
	assert_int_equal(imds_token_check(key1, 0, NOW, tok), -EACCES);
	/* a forged token says nothing about its expiry */
	assert_int_equal(imds_token_check(key1, IP_B, NOW + 1000, tok), -EACCES);
	for (int bit = 0; bit < 256; bit += 37) {
		memcpy(key2, key1, 32);
		key2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(imds_token_check(key2, IP_A, NOW, tok), -EACCES);
	}
	memset(key2, 0, sizeof(key2));
	assert_int_equal(imds_token_check(key2, IP_A, NOW, tok), -EACCES);
}

/* Every hex digit changed to every other value, one at a time. */
static void
test_token_flipped_digit(void **state)
{
	static const char hex[] = "0123456789abcdef";
	char tok[TOKEN_HEX_LEN + 1], t[TOKEN_HEX_LEN + 1];

	(void)state;
	mint(60, tok);
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		for (size_t h = 0; h < 16; h++) {
			if (hex[h] == tok[i])
				continue;
			memcpy(t, tok, sizeof(t));
			t[i] = hex[h];
			if (imds_token_check(key1, IP_A, NOW, t) != -EACCES ||
			    imds_token_check(key1, IP_A, NOW + 1000, t) != -EACCES)
				md_fail("token with char %zu changed to %c accepted: %s", i, hex[h], t);
		}
}

static void
test_token_malformed(void **state)
{
	static const char bad_chars[] = "gGxz -+.\t\n\r:/\x7f\x80\xff";
	char tok[TOKEN_HEX_LEN + 1], t[TOKEN_HEX_LEN + 8];

	(void)state;
	mint(60, tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, NULL), -EACCES);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, ""), -EACCES);
	/* truncated, by one and by many */
	for (size_t n = 0; n < TOKEN_HEX_LEN; n++) {
		memcpy(t, tok, n);
		t[n] = '\0';
		assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	}
	/* extended */
	for (const char *x = "0a \n"; *x; x++) {
		snprintf(t, sizeof(t), "%s%c", tok, *x);
		assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	}
	snprintf(t, sizeof(t), "%s00", tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	snprintf(t, sizeof(t), " %.*s", TOKEN_HEX_LEN - 1, tok);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	/* a non-hex character anywhere */
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		for (const char *c = bad_chars; *c; c++) {
			memcpy(t, tok, TOKEN_HEX_LEN + 1);
			t[i] = *c;
			if (imds_token_check(key1, IP_A, NOW, t) != -EACCES)
				md_fail("token with char %zu = 0x%02x accepted", i, (unsigned char)*c);
		}
	/* "0x" and sign prefixes sscanf would otherwise take */
	memcpy(t, tok, TOKEN_HEX_LEN + 1);
	t[16] = '0';
	t[17] = 'x';
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	memcpy(t, tok, TOKEN_HEX_LEN + 1);
	t[20] = '+';
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	/* all zeros, all f */
	memset(t, '0', TOKEN_HEX_LEN);
	t[TOKEN_HEX_LEN] = '\0';
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
	memset(t, 'f', TOKEN_HEX_LEN);
	assert_int_equal(imds_token_check(key1, IP_A, NOW, t), -EACCES);
}

static void
test_ttl_parse(void **state)
{
	static const struct {
		const char *s;
		unsigned ttl;
	} good[] = { { "1", 1 }, { "2", 2 }, { "60", 60 }, { "21600", 21600 }, { "21599", 21599 },
		/* leading zeros are read as decimal while the whole is at most 6 chars */
		{ "0005", 5 }, { "05", 5 }, { "000001", 1 }, { "021600", 21600 } };
	static const char *const bad[] = { "0", "00", "000000", "21601", "99999", "999999", "", "abc",
		"1x", "x1", " 5", "5 ", "5\n", "\t5", "-1", "+5", "-0", "0x10", "0X10", "1e3", "1.0",
		"5,", "\xef\xbc\x91", "0000005", "0021600", "4294967297", "18446744073709551617",
		"99999999999999999999999999999999999999999999999999999999999999999999" };
	unsigned ttl;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ttl = 0;
		if (imds_ttl_parse(good[i].s, &ttl) != 0 || ttl != good[i].ttl)
			md_fail("imds_ttl_parse(\"%s\"): ttl %u, want %u", good[i].s, ttl, good[i].ttl);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ttl = 777;
		if (imds_ttl_parse(bad[i], &ttl) != -EINVAL || ttl != 777)
			md_fail("imds_ttl_parse(\"%s\") accepted (%u)", bad[i], ttl);
	}
	ttl = 777;
	assert_int_equal(imds_ttl_parse(NULL, &ttl), -EINVAL);
	assert_int_equal(ttl, 777);
	/* every value in range round-trips; the two neighbours outside do not */
	for (unsigned v = 1; v <= TOKEN_TTL_MAX; v++) {
		char s[16];

		snprintf(s, sizeof(s), "%u", v);
		if (imds_ttl_parse(s, &ttl) != 0 || ttl != v)
			md_fail("imds_ttl_parse(\"%s\") failed", s);
	}
	/* very long digit strings, with and without leading zeros */
	{
		char s[4097];

		memset(s, '1', 4096);
		s[4096] = '\0';
		assert_int_equal(imds_ttl_parse(s, &ttl), -EINVAL);
		memset(s, '0', 4095);
		s[4095] = '5';
		assert_int_equal(imds_ttl_parse(s, &ttl), -EINVAL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_token_valid_until_expiry),
		cmocka_unit_test(test_token_other_ip_or_key),
		cmocka_unit_test(test_token_flipped_digit),
		cmocka_unit_test(test_token_malformed),
		cmocka_unit_test(test_ttl_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
