/* test_mgr_sign.c: SHA-1 (Nettle, as linked) and lib/hmac.c's HMAC-SHA1
 * against RFC 3174 and RFC 2202, and CloudStack request signing against
 * worked examples checked with Python. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <nettle/sha1.h>

#include "hmac.h"
#include "sign.h"

/*
 * The expected signatures below come from this Python (3.11), a copy of
 * ApiServer.verifyRequest's algorithm:
 *
 *   import hmac, hashlib, base64, urllib.parse
 *   def java(v): return urllib.parse.quote(v, safe='*-._').replace('~', '%7E')
 *   def py(v): return urllib.parse.quote(v, safe='')   # '~' kept, '*' -> %2A
 *   def sign(secret, params, enc=java):
 *       s = '&'.join(k.lower() + '=' + enc(v) for k, v in
 *                    sorted(params.items())).lower()
 *       return s, base64.b64encode(hmac.new(secret.encode(), s.encode(),
 *                                           hashlib.sha1).digest()).decode()
 */

/* CloudStack's documented example ("Signing API Requests"). */
#define DOC_SECRET "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ"
#define DOC_APIKEY "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg"
#define DOC_QUERY "command=listUsers&response=json&apiKey=" DOC_APIKEY
/* sign(DOC_SECRET, {'command': 'listUsers', 'response': 'json', 'apiKey': DOC_APIKEY}) */
#define DOC_SIG "TTpdDq/7j/J58XCRHomKoQXEQds="
#define DOC_SIG_ENC "TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D"

#define NOW ((time_t)1795341600) /* 2026-11-22T10:00:00Z: calendar.timegm((2026,11,22,10,0,0)) */

static void
hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void
check_sha1(const char *msg, size_t len, size_t repeat, const char *want)
{
	struct sha1_ctx c;
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];

	sha1_init(&c);
	for (size_t i = 0; i < repeat; i++)
		sha1_update(&c, len, (const uint8_t *)msg);
	sha1_digest(&c, sizeof(d), d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, want);
}

static void
check_hmac(const void *key, size_t klen, const char *msg, const char *want)
{
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];

	hmac_sha1(key, klen, msg, strlen(msg), d);
	hex(d, sizeof(d), h);
	assert_string_equal(h, want);
}

static void
test_sha1_rfc3174(void **state)
{
	static const char four[] = "0123456701234567012345670123456701234567012345670123456701234567";
	static char million[1000000];

	(void)state;
	check_sha1("", 0, 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	check_sha1("abc", 3, 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	check_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 1,
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(million, 'a', sizeof(million));
	check_sha1(million, sizeof(million), 1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	check_sha1(four, 64, 10, "dea356a2cddd90c7a7ecedc5ebb563934f460452");
}

static void
test_hmac_sha1_rfc2202(void **state)
{
	uint8_t k[80];

	(void)state;
	memset(k, 0x0b, 20);
	check_hmac(k, 20, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00");
	check_hmac("Jefe", 4, "what do ya want for nothing?",
	    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(k, 0x0c, 20);
	check_hmac(k, 20, "Test With Truncation", "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
	memset(k, 0xaa, 80); /* a key longer than the block is hashed first */
	check_hmac(k, 80, "Test Using Larger Than Block-Size Key - Hash Key First",
	    "aa4ae5e15272d00e95705637ce8a3b55ed402112");
	check_hmac(k, 80, "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
	    "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
}

static void
parse(const char *s, struct query *q)
{
	assert_int_equal(query_parse(s, strlen(s), q), 0);
}

static void
check_canonical(const char *query, const char *want)
{
	struct query q;
	struct buf b;

	parse(query, &q);
	buf_init(&b);
	assert_int_equal(sign_canonical(&q, &b), 0);
	assert_string_equal(b.p, want);
	assert_int_equal(b.len, strlen(want));
	buf_free(&b);
	query_free(&q);
}

static void
check_compute(const char *secret, const char *query, const char *want)
{
	char sig[SIGN_B64_LEN + 1];
	struct query q;

	parse(query, &q);
	assert_int_equal(sign_compute(secret, &q, sig), 0);
	assert_string_equal(sig, want);
	query_free(&q);
}

static int
verify(const char *secret, const char *query, time_t now)
{
	struct query q;
	int r;

	parse(query, &q);
	r = sign_verify(secret, &q, now);
	query_free(&q);
	return r;
}

static void
test_sign_canonical(void **state)
{
	(void)state;
	/* sorted by key as sent, signature left out, all lower case */
	check_canonical(DOC_QUERY "&signature=" DOC_SIG_ENC,
	    "apikey=plgwjfzk4gys3momtvmjuvg-x-jlwlnfauj9gabbbf9edm-kaymmailqzzq1elzlyq_u38zcm0b"
	    "ewzgudp66mg&command=listusers&response=json");
	/* Java's URLEncoder: space %20, '*' kept, '~' %7e, UTF-8 bytes escaped */
	check_canonical("zoneId=z-1&Details[0].x=%C3%A9&name=vm+1%2Fa%2Bb%20~*",
	    "details[0].x=%c3%a9&name=vm%201%2fa%2bb%20%7e*&zoneid=z-1");
	check_canonical("", "");
	/* Collections.sort: 'I' (0x49) sorts before 'd' (0x64), as sent */
	check_canonical("userdata=a&userId=b&command=x", "command=x&userid=b&userdata=a");
}

/* Signatures made by the clients' own signers: tests/lib/sign_vectors.py
 * (python3-cs's CloudStack._sign, python3-libcloud's
 * CloudStackConnection._make_signature), secret "s3cr3t-Key_0". */
static const struct {
	const char *signer, *query, *sig;
} client_vectors[] = {
	{ "cs", "command=listVirtualMachines&apiKey=key1&response=json&userId=u-1&userdata=abc",
	    "a57Qpawq5zd9+X+/derODPM5QS4=" },
	{ "cs", "command=deployVirtualMachine&apiKey=key1&response=json&displayName=web%201&zoneid=Z&userdata=I2Nsb3VkLWNvbmZpZwo%3D&keypair=k~1%2A",
	    "zN9KaAtuGMY0HUqh1it9MZUtngk=" },
	{ "cs", "command=listZones&apiKey=key1&response=json&signatureVersion=3&expires=2099-01-01T00%3A00%3A00%2B0000",
	    "+ikSf4bVNfNw3sYM9fkydMkEpzA=" },
	{ "libcloud", "command=listTemplates&apiKey=key1&response=json&templatefilter=executable&name=Debian%2012%20%28x86_64%29",
	    "d09au5NIXe832rUq4ieoYH4L2jI=" },
	{ "libcloud", "command=registerSSHKeyPair&apiKey=key1&response=json&name=k1&publickey=ssh-ed25519%20AAAAC3Nza%2B%2F%3D%20me%40host~%2A",
	    "Iit0OwQ7QTh5KW6Dbk/xBkHgXvg=" },
};

static void
test_sign_client_vectors(void **state)
{
	char q[1024], enc[64];

	(void)state;
	for (size_t i = 0; i < sizeof(client_vectors) / sizeof(client_vectors[0]); i++) {
		const char *sig = client_vectors[i].sig;
		size_t n = 0;

		print_message("%s: %s\n", client_vectors[i].signer, client_vectors[i].query);
		for (const char *c = sig; *c; c++) /* '+', '/' and '=' percent-encoded */
			n += (size_t)snprintf(enc + n, sizeof(enc) - n, *c == '+' ? "%%2B" : *c == '/' ?
			    "%%2F" : *c == '=' ? "%%3D" : "%c", *c);
		snprintf(q, sizeof(q), "%s&signature=%s", client_vectors[i].query, enc);
		assert_int_equal(verify("s3cr3t-Key_0", q, NOW), 0);
		snprintf(q, sizeof(q), "%s&signature=%s", client_vectors[i].query,
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");
		assert_int_equal(verify("s3cr3t-Key_0", q, NOW), -EACCES);
	}
}

static void
test_sign_compute_doc_example(void **state)
{
	(void)state;
	check_compute(DOC_SECRET, DOC_QUERY, DOC_SIG);
	/* the order and case of the keys on the wire do not matter */
	check_compute(DOC_SECRET, "APIKEY=" DOC_APIKEY "&response=json&Command=listUsers", DOC_SIG);
}

static void
test_sign_compute_encoding(void **state)
{
	(void)state;
	/* sign('s3cr3t', {'command': 'deployVirtualMachine', 'apiKey': 'key1', 'name': 'vm 1/a+b',
	 *     'userdata': 'I2Nsb3VkLWNvbmZpZwo=', 'zoneId': 'z-1', 'Details[0].x': 'é'}) */
	check_compute("s3cr3t", "command=deployVirtualMachine&apiKey=key1&name=vm+1%2Fa%2Bb"
	    "&userdata=I2Nsb3VkLWNvbmZpZwo%3D&zoneId=z-1&Details[0].x=%C3%A9",
	    "2LbQg3uTOkATwOeh81I4zasjmSY=" /* Details first: 'D' < 'a' */);
}

static void
test_sign_verify_ok(void **state)
{
	(void)state;
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY "&signature=" DOC_SIG_ENC, NOW), 0);
	assert_int_equal(verify(DOC_SECRET, "Signature=" DOC_SIG_ENC "&" DOC_QUERY, NOW), 0);
}

static void
test_sign_verify_wrong_secret(void **state)
{
	(void)state;
	assert_int_equal(verify("not-the-secret", DOC_QUERY "&signature=" DOC_SIG_ENC, NOW),
	    -EACCES);
	assert_int_equal(verify("", DOC_QUERY "&signature=" DOC_SIG_ENC, NOW), -EACCES);
}

static void
test_sign_verify_changed_param(void **state)
{
	(void)state;
	assert_int_equal(verify(DOC_SECRET, "command=listUsers&response=xml&apiKey=" DOC_APIKEY
	    "&signature=" DOC_SIG_ENC, NOW), -EACCES);
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY "&extra=1&signature=" DOC_SIG_ENC, NOW),
	    -EACCES);
	/* a signature that is a prefix of the right one, or has one more byte */
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY "&signature=TTpdDq", NOW), -EACCES);
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY "&signature=" DOC_SIG_ENC "A", NOW), -EACCES);
}

static void
test_sign_verify_missing_signature(void **state)
{
	(void)state;
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY, NOW), -EACCES);
	assert_int_equal(verify(DOC_SECRET, DOC_QUERY "&signature=", NOW), -EACCES);
}

static void
test_sign_verify_tilde_star(void **state)
{
	/* sign('s3cr3t', {'command': 'listVirtualMachines', 'apiKey': 'key1', 'name': 'a~b*c'})
	 * with enc=java and with enc=py */
	const char *q = "command=listVirtualMachines&apiKey=key1&name=a~b*c&signature=";
	char s[256];

	(void)state;
	snprintf(s, sizeof(s), "%s%s", q, "D3ZVvVSp8PVZm%2BL3wdMPpTg5OB8%3D"); /* Java */
	assert_int_equal(verify("s3cr3t", s, NOW), 0);
	snprintf(s, sizeof(s), "%s%s", q, "787OlMf3cQgyUmLxyayWcu4a3us%3D"); /* Python */
	assert_int_equal(verify("s3cr3t", s, NOW), 0);
	snprintf(s, sizeof(s), "%s%s", q, "787OlMf3cQgyUmLxyayWcu4a3us%3D");
	assert_int_equal(verify("wrong", s, NOW), -EACCES);
}

/* sign('s3cr3t', {'command': 'listHosts', 'apiKey': 'key1', 'signatureVersion': '3',
 *     'expires': '2026-11-22T10:00:00+0000'}) */
#define V3_QUERY(exp) "command=listHosts&apiKey=key1&signatureVersion=3&expires=" exp
#define V3_SIG "&signature=z%2FgK91tP4jhoYyTvOyPXeaEZDW4%3D"

static void
test_sign_verify_v3_expires(void **state)
{
	(void)state;
	assert_int_equal(verify("s3cr3t", V3_QUERY("2026-11-22T10:00:00%2B0000") V3_SIG, NOW - 1), 0);
	assert_int_equal(verify("s3cr3t", V3_QUERY("2026-11-22T10:00:00%2B0000") V3_SIG, NOW),
	    -EACCES); /* expired at that second */
	assert_int_equal(verify("s3cr3t", V3_QUERY("2026-11-22T10:00:00%2B0000") V3_SIG, NOW + 60),
	    -EACCES);
}

/* Signs query with "k", appends the signature and verifies that at now. */
static int
sign_verify_at(const char *query, time_t now)
{
	char sig[SIGN_B64_LEN + 1], s[256];
	struct query q;
	size_t n;
	int r;

	snprintf(s, sizeof(s), "%s", query);
	parse(s, &q);
	assert_int_equal(sign_compute("k", &q, sig), 0);
	query_free(&q);
	n = strlen(s);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "&signature=");
	for (const char *p = sig; *p; p++) /* base64's '+', '/' and '=' escaped */
		n += (size_t)snprintf(s + n, sizeof(s) - n, strchr("+/=", *p) ? "%%%02X" : "%c", *p);
	parse(s, &q);
	r = sign_verify("k", &q, now);
	query_free(&q);
	return r;
}

static int
v3_verify_at(const char *exp, time_t now)
{
	char s[256];

	snprintf(s, sizeof(s), V3_QUERY("%s"), exp);
	return sign_verify_at(s, now);
}

static void
test_sign_verify_v3_expires_forms(void **state)
{
	static const char *const same[] = { "2026-11-22T10:00:00Z", "2026-11-22T10:00:00%2B00:00",
		"2026-11-22T12:00:00%2B0200", "2026-11-22T07:30:00-0230" };
	static const char *const bad[] = { "", "tomorrow", "2026-11-22", "2026-11-22T10:00:00",
		"2026-11-22T10:00:00X", "2026-13-22T10:00:00Z", "2026-11-22T10:00:00%2B0000junk",
		"2026-11-22T10:00:00%2B00" };

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		assert_int_equal(v3_verify_at(same[i], NOW - 1), 0); /* each names NOW */
		assert_int_equal(v3_verify_at(same[i], NOW), -EACCES);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(v3_verify_at(bad[i], 0), -EACCES);
	assert_int_equal(v3_verify_at("2020-01-01T00:00:00Z", NOW), -EACCES);
}

static void
test_sign_verify_v3_needs_expires(void **state)
{
	(void)state;
	assert_int_equal(sign_verify_at("command=listHosts&apiKey=key1&signatureVersion=3", 0),
	    -EACCES);
	/* without signatureVersion=3, expires is signed but not checked */
	assert_int_equal(sign_verify_at("command=listHosts&expires=2020-01-01T00:00:00Z", NOW), 0);
	assert_int_equal(sign_verify_at("command=listHosts&signatureVersion=2", NOW), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_rfc3174),
		cmocka_unit_test(test_hmac_sha1_rfc2202),
		cmocka_unit_test(test_sign_canonical),
		cmocka_unit_test(test_sign_compute_doc_example),
		cmocka_unit_test(test_sign_client_vectors),
		cmocka_unit_test(test_sign_compute_encoding),
		cmocka_unit_test(test_sign_verify_ok),
		cmocka_unit_test(test_sign_verify_wrong_secret),
		cmocka_unit_test(test_sign_verify_changed_param),
		cmocka_unit_test(test_sign_verify_missing_signature),
		cmocka_unit_test(test_sign_verify_tilde_star),
		cmocka_unit_test(test_sign_verify_v3_expires),
		cmocka_unit_test(test_sign_verify_v3_expires_forms),
		cmocka_unit_test(test_sign_verify_v3_needs_expires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
