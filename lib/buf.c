/* buf.c: growable byte buffer (an allocation failure is sticky: b->oom) and
 * array growth. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

static bool
buf_grow(struct buf *b, size_t need)
{
	size_t cap;
	char *np;

	if (b->oom)
		return false;
	if (b->len + need + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

int
array_reserve(void *arrp, size_t *cap, size_t need, size_t elsize, size_t first)
{
	size_t nc = *cap ? *cap : (first ? first : 1);
	void *old, *p;

	if (need <= *cap)
		return 0;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return -ENOMEM;
		nc *= 2;
	}
	if (nc > SIZE_MAX / elsize)
		return -ENOMEM;
	memcpy(&old, arrp, sizeof(old)); /* the pointer, whatever its type */
	if (!(p = realloc(old, nc * elsize)))
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = nc;
	return 0;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (!buf_grow(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	if (!b->p && !buf_grow(b, 0))
		return NULL;
	b->p[b->len] = '\0'; /* a fresh buffer from buf_grow is not terminated yet */
	p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
