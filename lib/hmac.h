/* hmac.h: HMAC-SHA-256 (RFC 2104, for the stateless IMDSv2 tokens) and
 * HMAC-SHA1 (for CloudStack's API request signatures: SHA-1 is kept for
 * compatibility, not for anything new), one call each over Nettle. */
#ifndef VR_HMAC_H
#define VR_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20
#define SHA256_LEN 32

void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA1_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA256_LEN]);

#endif
