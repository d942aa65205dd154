/* fuzz_mgr_query.c: libFuzzer target over the API query parser
 * (query_parse) and request signing (sign_canonical, sign_verify).
 * Invariants: no crash or leak; a parsed query has at most QUERY_PARAMS_MAX
 * pairs, each key a valid, unique name of at most QUERY_KEY_MAX bytes and
 * every key and value NUL-free within its length; the canonical string has
 * no upper-case letter; a query without a signature, once given the one
 * sign_compute makes, verifies (unless signatureVersion=3 rejects it), and
 * fails with any other secret. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret-key"
#define NOW ((time_t)1795341600)

static void
check_query(const struct query *q)
{
	assert(q->n <= QUERY_PARAMS_MAX);
	for (size_t i = 0; i < q->n; i++) {
		size_t kl = strlen(q->p[i].key);

		assert(kl > 0 && kl <= QUERY_KEY_MAX);
		assert(strspn(q->p[i].key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.-[]") == kl);
		for (size_t j = 0; j < i; j++)
			assert(strcasecmp(q->p[i].key, q->p[j].key) != 0);
		assert(query_get(q, q->p[i].key) == q->p[i].val);
	}
}

/* q plus signature=sig verifies under SECRET and under no other secret. */
static void
check_signed(const struct query *q, char *sig)
{
	struct query_param p[QUERY_PARAMS_MAX];
	struct query s = { p, q->n + 1 };
	const char *ver = query_get(q, "signatureVersion");
	int r;

	if (q->n) /* an empty query has no array: memcpy from NULL is undefined */
		memcpy(p, q->p, q->n * sizeof(*p));
	p[q->n].key = (char *)"signature";
	p[q->n].val = sig;
	r = sign_verify(SECRET, &s, NOW);
	if (ver && strcmp(ver, "3") == 0)
		assert(r == 0 || r == -EACCES || r == -ENOMEM);
	else
		assert(r == 0 || r == -ENOMEM);
	r = sign_verify(SECRET "x", &s, NOW);
	assert(r == -EACCES || r == -ENOMEM);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sig[SIGN_B64_LEN + 1];
	struct query q;
	struct buf b;
	int r;

	r = query_parse((const char *)data, size, &q);
	if (r < 0) {
		assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
		return 0;
	}
	check_query(&q);
	buf_init(&b);
	if (sign_canonical(&q, &b) == 0) {
		assert(b.p && strlen(b.p) == b.len);
		for (size_t i = 0; i < b.len; i++)
			assert(!(b.p[i] >= 'A' && b.p[i] <= 'Z'));
	}
	buf_free(&b);
	r = sign_verify(SECRET, &q, NOW);
	assert(r == 0 || r == -EACCES || r == -ENOMEM);
	if (!query_get(&q, "signature") && q.n < QUERY_PARAMS_MAX &&
	    sign_compute(SECRET, &q, sig) == 0)
		check_signed(&q, sig);
	query_free(&q);
	assert(q.p == NULL && q.n == 0);
	return 0;
}
