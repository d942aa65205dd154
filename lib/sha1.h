/* sha1.h: SHA-1 (RFC 3174) and HMAC-SHA1 (RFC 2104), for CloudStack's API
 * request signatures.  Not for anything new: SHA-1 is kept for compatibility.
 * Hash with hash_init(&c, &sha1_algo) (hash.h). */
#ifndef VR_SHA1_H
#define VR_SHA1_H

#include "hash.h"

#define SHA1_LEN 20

extern const struct hash_algo sha1_algo;

void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA1_LEN]);

#endif
