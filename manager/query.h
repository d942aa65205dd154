/* query.h: the application/x-www-form-urlencoded query of an API request
 * (after the '?' of a GET, or a POST body), decoded into key/value pairs. */
#ifndef VRM_QUERY_H
#define VRM_QUERY_H

#include <stddef.h>

#define QUERY_LEN_MAX (64 * 1024)
#define QUERY_PARAMS_MAX 128
#define QUERY_KEY_MAX 64

struct query_param {
	char *key; /* percent-decoded, NUL-terminated, owned */
	char *val; /* same */
};

struct query {
	struct query_param *p;
	size_t n;
};

/* '&'-separated key=value pairs; '+' is a space; %XX decoded.  Returns 0,
 * -EINVAL for a bad or truncated %-escape, a NUL byte (raw or decoded), an
 * empty key, a key longer than QUERY_KEY_MAX or with characters outside
 * [A-Za-z0-9_.-[]], or the same key twice (case-insensitive); -E2BIG past
 * QUERY_LEN_MAX bytes or QUERY_PARAMS_MAX pairs; -ENOMEM.  Empty pairs
 * ("a=1&&b=2") are skipped; "key" without '=' has the empty value.  On error
 * *out is untouched and nothing is leaked; on success free with query_free. */
int query_parse(const char *buf, size_t len, struct query *out);
/* The value of key (case-insensitive), or NULL if absent. */
const char *query_get(const struct query *q, const char *key);
/* NULL-safe; leaves q zeroed. */
void query_free(struct query *q);

#endif
