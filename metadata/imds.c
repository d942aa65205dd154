/* imds.c: IMDSv2 session tokens, stateless so no guest can fill a table:
 * hex(expiry[8] | nonce[4] | HMAC-SHA-256(key, ip | expiry | nonce)[16]).
 * A token is good only for the address it was issued to, until it expires. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hmac.h"
#include "md.h"
#include "token.h"

#define RAW_LEN 28

static void
mac_of(const uint8_t key[32], uint32_t ip, const uint8_t *head, uint8_t out[SHA256_LEN])
{
	uint8_t msg[16];

	msg[0] = (uint8_t)(ip >> 24);
	msg[1] = (uint8_t)(ip >> 16);
	msg[2] = (uint8_t)(ip >> 8);
	msg[3] = (uint8_t)ip;
	memcpy(msg + 4, head, 12);
	hmac_sha256(key, 32, msg, sizeof(msg), out);
}

void
imds_token_mint(const uint8_t key[32], uint32_t ip, time_t now, unsigned ttl,
    char out[TOKEN_HEX_LEN + 1])
{
	uint8_t raw[RAW_LEN], mac[SHA256_LEN];
	uint64_t exp = (uint64_t)now + ttl;

	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)(exp >> (56 - 8 * i));
	if (getrandom(raw + 8, 4, 0) != 4)
		memset(raw + 8, 0, 4); /* the nonce only varies tokens; the HMAC protects */
	mac_of(key, ip, raw, mac);
	memcpy(raw + 12, mac, 16);
	for (int i = 0; i < RAW_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

int
imds_token_check(const uint8_t key[32], uint32_t ip, time_t now, const char *tok)
{
	uint8_t raw[RAW_LEN], mac[SHA256_LEN];
	uint64_t exp = 0;

	if (!tok || strlen(tok) != TOKEN_HEX_LEN)
		return -EACCES;
	for (int i = 0; i < RAW_LEN; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)tok[2 * i]) || !isxdigit((unsigned char)tok[2 * i + 1]) ||
		    sscanf(tok + 2 * i, "%2x", &v) != 1)
			return -EACCES;
		raw[i] = (uint8_t)v;
	}
	mac_of(key, ip, raw, mac);
	if (!token_equal((const char *)mac, 16, (const char *)raw + 12, 16))
		return -EACCES;
	for (int i = 0; i < 8; i++)
		exp = exp << 8 | raw[i];
	return exp <= (uint64_t)now ? -EKEYEXPIRED : 0;
}

int
imds_ttl_parse(const char *s, unsigned *ttl)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s) || strlen(s) > 6)
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > TOKEN_TTL_MAX)
		return -EINVAL;
	*ttl = (unsigned)v;
	return 0;
}
