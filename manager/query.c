/* query.c: parses an urlencoded query into decoded, validated key/value pairs. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "query.h"

/* Decodes s[0..len) ('+' is a space, %XX a byte) into a new string. */
static int
url_decode(const char *s, size_t len, char **out)
{
	char *d;
	size_t n = 0;
	int hi, lo;

	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (len - i < 3 || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0')
			goto bad;
		d[n++] = (char)c;
	}
	d[n] = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -EINVAL;
}

static bool
key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > QUERY_KEY_MAX)
		return false;
	for (; *k; k++) {
		unsigned char c = (unsigned char)*k;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

/* Counts the non-empty '&'-separated pairs. */
static size_t
pair_count(const char *buf, size_t len)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || buf[i] == '&') {
			if (i > start)
				n++;
			start = i + 1;
		}
	}
	return n;
}

static int
pair_parse(const char *s, size_t len, struct query_param *p)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq ? (size_t)(eq - s) : len;
	int r;

	p->key = p->val = NULL;
	if (klen == 0 || klen > 3 * QUERY_KEY_MAX)
		return -EINVAL;
	if ((r = url_decode(s, klen, &p->key)) < 0)
		goto out;
	if (!key_valid(p->key)) {
		r = -EINVAL;
		goto out;
	}
	r = url_decode(eq ? eq + 1 : s + len, eq ? len - klen - 1 : 0, &p->val);
out:
	if (r < 0) {
		free(p->key);
		p->key = NULL;
	}
	return r;
}

int
query_parse(const char *buf, size_t len, struct query *out)
{
	struct query q = { 0 };
	size_t npairs, start = 0;
	int r = 0;

	if (len > QUERY_LEN_MAX)
		return -E2BIG;
	if (len > 0 && memchr(buf, '\0', len))
		return -EINVAL;
	npairs = len > 0 ? pair_count(buf, len) : 0;
	if (npairs > QUERY_PARAMS_MAX)
		return -E2BIG;
	if (npairs > 0 && !(q.p = calloc(npairs, sizeof(*q.p))))
		return -ENOMEM;
	for (size_t i = 0; i <= len && len > 0; i++) {
		if (i < len && buf[i] != '&')
			continue;
		if (i > start) {
			if ((r = pair_parse(buf + start, i - start, &q.p[q.n])) < 0)
				goto out;
			q.n++;
			for (size_t j = 0; j + 1 < q.n; j++) {
				if (strcasecmp(q.p[j].key, q.p[q.n - 1].key) == 0) {
					r = -EINVAL;
					goto out;
				}
			}
		}
		start = i + 1;
	}
	*out = q;
	q.p = NULL;
	q.n = 0;
out:
	query_free(&q);
	return r;
}

const char *
query_get(const struct query *q, const char *key)
{
	for (size_t i = 0; q && i < q->n; i++)
		if (strcasecmp(q->p[i].key, key) == 0)
			return q->p[i].val;
	return NULL;
}

void
query_free(struct query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++) {
		free(q->p[i].key);
		free(q->p[i].val);
	}
	free(q->p);
	q->p = NULL;
	q->n = 0;
}
