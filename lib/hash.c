/* hash.c: block buffering, padding and HMAC for the hashes of hash.h. */
#include <string.h>

#include "hash.h"

void
hash_init(struct hash *c, const struct hash_algo *algo)
{
	c->algo = algo;
	memcpy(c->h, algo->iv, sizeof(c->h));
	c->len = 0;
	c->n = 0;
}

void
hash_update(struct hash *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->len += len;
	while (len > 0) {
		size_t take = HASH_BLOCK - c->n < len ? HASH_BLOCK - c->n : len;

		memcpy(c->blk + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n == HASH_BLOCK) {
			c->algo->block(c->h, c->blk);
			c->n = 0;
		}
	}
}

void
hash_final(struct hash *c, uint8_t *out)
{
	uint64_t bits = c->len * 8;
	uint8_t pad = 0x80, zero = 0, lenbe[8];

	hash_update(c, &pad, 1);
	while (c->n != HASH_BLOCK - 8)
		hash_update(c, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenbe[i] = (uint8_t)(bits >> (56 - 8 * i));
	hash_update(c, lenbe, 8);
	for (size_t i = 0; i < c->algo->len / 4; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void
hmac(const struct hash_algo *algo, const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t *out)
{
	uint8_t k[HASH_BLOCK] = { 0 }, pad[HASH_BLOCK], inner[HASH_LEN_MAX];
	struct hash c;

	if (klen > HASH_BLOCK) {
		hash_init(&c, algo);
		hash_update(&c, key, klen);
		hash_final(&c, k);
	} else {
		memcpy(k, key, klen);
	}
	for (int i = 0; i < HASH_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	hash_init(&c, algo);
	hash_update(&c, pad, HASH_BLOCK);
	hash_update(&c, msg, mlen);
	hash_final(&c, inner);
	for (int i = 0; i < HASH_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	hash_init(&c, algo);
	hash_update(&c, pad, HASH_BLOCK);
	hash_update(&c, inner, algo->len);
	hash_final(&c, out);
}
