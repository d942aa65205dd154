/* hmac.c: HMAC-SHA1 and HMAC-SHA-256 in one call, from Nettle. */
#include <nettle/hmac.h>

#include "hmac.h"

_Static_assert(SHA1_LEN == SHA1_DIGEST_SIZE, "SHA-1 digest size");
_Static_assert(SHA256_LEN == SHA256_DIGEST_SIZE, "SHA-256 digest size");

void
hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[SHA1_LEN])
{
	struct hmac_sha1_ctx c;

	hmac_sha1_set_key(&c, klen, key);
	hmac_sha1_update(&c, mlen, msg);
	hmac_sha1_digest(&c, SHA1_LEN, out);
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA256_LEN])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_set_key(&c, klen, key);
	hmac_sha256_update(&c, mlen, msg);
	hmac_sha256_digest(&c, SHA256_LEN, out);
}
