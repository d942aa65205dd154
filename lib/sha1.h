/* sha1.h: SHA-1 (RFC 3174) and HMAC-SHA1 (RFC 2104), for CloudStack's API
 * request signatures.  Not for anything new: SHA-1 is kept for compatibility. */
#ifndef VR_SHA1_H
#define VR_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

struct sha1 {
	uint32_t h[5];
	uint64_t len;     /* bytes hashed so far */
	uint8_t blk[64];
	size_t n;         /* bytes waiting in blk */
};

void sha1_init(struct sha1 *c);
void sha1_update(struct sha1 *c, const void *data, size_t len);
void sha1_final(struct sha1 *c, uint8_t out[SHA1_LEN]);
void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA1_LEN]);

#endif
