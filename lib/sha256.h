/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the
 * stateless IMDSv2 tokens.  Hash with hash_init(&c, &sha256_algo) (hash.h). */
#ifndef VR_SHA256_H
#define VR_SHA256_H

#include "hash.h"

#define SHA256_LEN 32

extern const struct hash_algo sha256_algo;

void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA256_LEN]);

#endif
