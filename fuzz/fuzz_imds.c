/* fuzz_imds.c: libFuzzer target over vr-metadata's IMDSv2 header handling
 * (metadata/imds.c): the TTL header (imds_ttl_parse), the token header
 * (imds_token_check) and token issue (imds_token_mint).  Invariants: no
 * crash; the TTL parser accepts exactly 1 to 21600 in decimal digits; a
 * token check succeeds (or says expired) only for a string of TOKEN_HEX_LEN
 * hex characters that is, up to the case of its letters, a token this
 * process minted, and only for the address it was minted for.  The input is
 * tried as is, overlaid on a valid token (a NUL byte keeps the token's
 * character), and, through a hash of it, picks an address, a time and a TTL
 * for a mint-and-check round trip: good until it expires, then expired; no
 * good for any other address, key, or with any one digit changed. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../metadata/md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP 0x0a010165u
#define NOW ((time_t)1700000000)

static const uint8_t key[32] = { 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static char valid[TOKEN_HEX_LEN + 1], expired[TOKEN_HEX_LEN + 1];

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void
check_token(const char *s)
{
	int r = imds_token_check(key, IP, NOW, s);

	if (r != 0 && r != -EACCES && r != -EKEYEXPIRED)
		abort();
	if (r == -EACCES)
		return;
	if (strlen(s) != TOKEN_HEX_LEN || !all_hex(s, TOKEN_HEX_LEN))
		abort();
	if (r == 0 && strcasecmp(s, valid))
		abort();
	if (r == -EKEYEXPIRED && strcasecmp(s, expired))
		abort();
	/* bound to the address */
	if (imds_token_check(key, IP + 1, NOW, s) != -EACCES)
		abort();
}

static void
check_ttl(const char *s)
{
	unsigned ttl = 0xdeadbeef;
	int r = imds_ttl_parse(s, &ttl);
	size_t n = strlen(s);

	if (r == -EINVAL) {
		if (ttl != 0xdeadbeef)
			abort();
		return;
	}
	if (r != 0 || n == 0 || n > 6 || ttl < 1 || ttl > TOKEN_TTL_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			abort();
	if (strtoul(s, NULL, 10) != ttl)
		abort();
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Mint for an address, time and TTL the input picks, and check the token. */
static void
round_trip(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = fnv1a(data, size);
	uint32_t ip = (uint32_t)h ? (uint32_t)h : 1;
	time_t now = (time_t)(1000000000 + (h >> 32) % 1000000000);
	unsigned ttl = (unsigned)((h >> 20) % TOKEN_TTL_MAX) + 1;
	size_t pos = (size_t)(h >> 40) % TOKEN_HEX_LEN;
	uint8_t key2[32];
	char tok[TOKEN_HEX_LEN + 1];
	const char *d;

	imds_token_mint(key, ip, now, ttl, tok);
	if (strlen(tok) != TOKEN_HEX_LEN || !all_hex(tok, TOKEN_HEX_LEN))
		abort();
	if (imds_token_check(key, ip, now, tok) != 0 ||
	    imds_token_check(key, ip, now + (time_t)ttl - 1, tok) != 0 ||
	    imds_token_check(key, ip, now + (time_t)ttl, tok) != -EKEYEXPIRED)
		abort();
	if (imds_token_check(key, ip ^ (1u << (h & 31)), now, tok) != -EACCES)
		abort();
	memcpy(key2, key, sizeof(key2));
	key2[(h >> 8) & 31] ^= 1;
	if (imds_token_check(key2, ip, now, tok) != -EACCES)
		abort();
	/* any one digit changed to another value: refused */
	d = strchr(hex, tolower((unsigned char)tok[pos]));
	tok[pos] = hex[((size_t)(d - hex) + 1 + (h >> 50) % 15) % 16];
	if (imds_token_check(key, ip, now, tok) != -EACCES)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, t[TOKEN_HEX_LEN + 1];

	if (!valid[0]) {
		imds_token_mint(key, IP, NOW, 60, valid);
		imds_token_mint(key, IP, NOW - 100, 60, expired);
		if (imds_token_check(key, IP, NOW, valid) != 0 ||
		    imds_token_check(key, IP, NOW, expired) != -EKEYEXPIRED)
			abort();
	}
	if (!(s = strndup((const char *)data, size)))
		return 0;
	check_ttl(s);
	check_token(s);
	free(s);
	if (imds_token_check(key, IP, NOW, NULL) != -EACCES || imds_ttl_parse(NULL, &(unsigned){ 0 })
	    != -EINVAL)
		abort();
	round_trip(data, size);

	/* the input laid over a valid token */
	memcpy(t, valid, sizeof(t));
	for (size_t i = 0; i < size && i < TOKEN_HEX_LEN; i++)
		if (data[i])
			t[i] = (char)data[i];
	check_token(t);
	return 0;
}
