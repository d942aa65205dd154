/* sign.c: CloudStack request signing (ApiServer.verifyRequest) and its check. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "hmac.h"
#include "sign.h"
#include "token.h"

/* How a client encodes '*' and '~' before signing (bits: kept as is). */
enum sign_style {
	SIGN_KEEP_STAR = 1,
	SIGN_KEEP_TILDE = 2,
	SIGN_JAVA = SIGN_KEEP_STAR,                     /* URLEncoder: '~' as %7e */
	SIGN_PYTHON = SIGN_KEEP_TILDE,                  /* urllib quote: '*' as %2a */
	SIGN_CS = SIGN_KEEP_STAR | SIGN_KEEP_TILDE,     /* python-cs: quote(safe="*") */
};

/* Collections.sort on the names as sent: byte order, case-sensitive (the
 * names are lower-cased only afterwards, with the whole string). */
static int
key_cmp(const void *a, const void *b)
{
	const struct query_param *x = *(const struct query_param *const *)a;
	const struct query_param *y = *(const struct query_param *const *)b;

	return strcmp(x->key, y->key);
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
add_encoded(struct buf *b, const char *v, enum sign_style style)
{
	static const char hex[] = "0123456789abcdef";

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		char e[3];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_' || (c == '*' && (style & SIGN_KEEP_STAR)) ||
		    (c == '~' && (style & SIGN_KEEP_TILDE))) {
			e[0] = lower((char)c);
			buf_add(b, e, 1);
			continue;
		}
		e[0] = '%', e[1] = hex[c >> 4], e[2] = hex[c & 15];
		buf_add(b, e, 3);
	}
}

static int
canonical(const struct query *q, enum sign_style style, struct buf *out)
{
	const struct query_param **v = NULL;
	size_t n = 0;
	int r = 0;

	buf_reset(out);
	if (q->n > 0 && !(v = calloc(q->n, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		if (strcasecmp(q->p[i].key, "signature") != 0)
			v[n++] = &q->p[i];
	if (n > 0)
		qsort(v, n, sizeof(*v), key_cmp);
	buf_add(out, "", 0); /* an empty query still yields a string */
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_add(out, "&", 1);
		for (const char *k = v[i]->key; *k; k++) {
			char c = lower(*k);

			buf_add(out, &c, 1);
		}
		buf_add(out, "=", 1);
		add_encoded(out, v[i]->val, style);
	}
	if (out->oom)
		r = -ENOMEM;
	free(v);
	return r;
}

int
sign_canonical(const struct query *q, struct buf *out)
{
	return canonical(q, SIGN_JAVA, out);
}

static int
compute(const char *secret, const struct query *q, enum sign_style style,
    char out[SIGN_B64_LEN + 1])
{
	uint8_t mac[SHA1_LEN];
	struct buf b;
	char *s = NULL;
	int r;

	buf_init(&b);
	if ((r = canonical(q, style, &b)) < 0)
		goto out;
	hmac_sha1(secret, strlen(secret), b.p, b.len, mac);
	if (!(s = base64_encode(mac, sizeof(mac)))) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, s, SIGN_B64_LEN);
	out[SIGN_B64_LEN] = '\0';
out:
	free(s);
	buf_free(&b);
	return r;
}

int
sign_compute(const char *secret, const struct query *q, char out[SIGN_B64_LEN + 1])
{
	return compute(secret, q, SIGN_JAVA, out);
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DDTHH:MM:SS" then "Z", "+hhmm", "+hh:mm" (or '-'); UTC seconds. */
static int
iso8601_parse(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 1;
	const char *z = s + 19;
	time_t t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -EINVAL;
	if ((y = digits(s, 4)) < 1970 || (mo = digits(s + 5, 2)) < 1 || mo > 12 ||
	    (d = digits(s + 8, 2)) < 1 || d > 31 || (h = digits(s + 11, 2)) < 0 || h > 23 ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59 || (sec = digits(s + 17, 2)) < 0 || sec > 60)
		return -EINVAL;
	if (strcmp(z, "Z") != 0) {
		if (*z != '+' && *z != '-')
			return -EINVAL;
		sign = *z == '-' ? -1 : 1;
		if ((oh = digits(z + 1, 2)) < 0 || oh > 23)
			return -EINVAL;
		z += 3;
		if (*z == ':')
			z++;
		if ((om = digits(z, 2)) < 0 || om > 59 || z[2] != '\0')
			return -EINVAL;
	}
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -EINVAL;
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
}

static bool
sig_matches(const char *secret, const struct query *q, enum sign_style style,
    const char *sig, int *r)
{
	char want[SIGN_B64_LEN + 1];

	if ((*r = compute(secret, q, style, want)) < 0)
		return false;
	return token_equal(sig, strlen(sig), want, SIGN_B64_LEN);
}

int
sign_verify(const char *secret, const struct query *q, time_t now)
{
	const char *sig = query_get(q, "signature");
	const char *ver = query_get(q, "signatureVersion");
	const char *exp = query_get(q, "expires");
	bool ok, special = false;
	time_t t;
	int r = 0;

	if (!sig || !secret)
		return -EACCES;
	if (ver && strcmp(ver, "3") == 0) {
		if (!exp || iso8601_parse(exp, &t) < 0 || t <= now)
			return -EACCES;
	}
	for (size_t i = 0; i < q->n && !special; i++)
		special = strcasecmp(q->p[i].key, "signature") != 0 &&
		    strpbrk(q->p[i].val, "~*") != NULL;
	ok = sig_matches(secret, q, SIGN_JAVA, sig, &r);
	if (!ok && r == 0 && special)
		ok = sig_matches(secret, q, SIGN_PYTHON, sig, &r);
	if (!ok && r == 0 && special)
		ok = sig_matches(secret, q, SIGN_CS, sig, &r);
	if (r < 0)
		return r;
	return ok ? 0 : -EACCES;
}
