/* hash.h: what SHA-1 and SHA-256 share: the Merkle-Damgard frame (64-byte
 * blocks of big-endian 32-bit words, padding with the message's length in
 * bits) and HMAC (RFC 2104) over either.  Each algorithm is its block
 * function, its initial state and its digest length: sha1.h, sha256.h. */
#ifndef VR_HASH_H
#define VR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_BLOCK 64
#define HASH_LEN_MAX 32

struct hash_algo {
	size_t len;     /* digest bytes: the first len / 4 words of the state */
	uint32_t iv[8];
	void (*block)(uint32_t h[8], const uint8_t p[HASH_BLOCK]);
};

struct hash {
	const struct hash_algo *algo;
	uint32_t h[8];
	uint64_t len;     /* bytes hashed so far */
	uint8_t blk[HASH_BLOCK];
	size_t n;         /* bytes waiting in blk */
};

void hash_init(struct hash *c, const struct hash_algo *algo);
void hash_update(struct hash *c, const void *data, size_t len);
/* Writes algo->len bytes to out. */
void hash_final(struct hash *c, uint8_t *out);
void hmac(const struct hash_algo *algo, const void *key, size_t klen, const void *msg,
    size_t mlen, uint8_t *out);

#endif
