/* fuzz_md_request.c: libFuzzer target over what a guest sends vr-metadata
 * besides the path: the password server's DomU_Request header
 * (pw_request_parse), the IMDSv2 TTL header (imds_ttl_parse) and the token
 * header (imds_token_check).  Invariants: no crash; each parser accepts
 * exactly its documented inputs; a token check succeeds (or says expired)
 * only for a string of TOKEN_HEX_LEN hex characters that is, up to the case
 * of its letters, a token this process minted.  The input is tried as is,
 * and overlaid on a valid token (a NUL byte keeps the token's character). */
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

static void
check_pw(const char *s)
{
	enum pw_request r = pw_request_parse(s);

	if (r == PW_SEND && strcmp(s, "send_my_password"))
		abort();
	if (r == PW_SAVED && strcmp(s, "saved_password"))
		abort();
	if (r != PW_SEND && r != PW_SAVED && r != PW_BAD)
		abort();
	if (r == PW_BAD && (!strcmp(s, "send_my_password") || !strcmp(s, "saved_password")))
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
	check_pw(s);
	check_ttl(s);
	check_token(s);
	free(s);
	if (pw_request_parse(NULL) != PW_BAD || imds_token_check(key, IP, NOW, NULL) != -EACCES)
		abort();

	/* the input laid over a valid token */
	memcpy(t, valid, sizeof(t));
	for (size_t i = 0; i < size && i < TOKEN_HEX_LEN; i++)
		if (data[i])
			t[i] = (char)data[i];
	check_token(t);
	return 0;
}
