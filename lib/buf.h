/* buf.h: a growable byte buffer for rendering files and responses, and the
 * growth of any array. */
#ifndef VR_BUF_H
#define VR_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed; the content is incomplete */
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the content (NUL-terminated, NULL if oom) and leaves b empty. */
char *buf_steal(struct buf *b, size_t *len);

/* Makes the array whose pointer is at arrp (elements of elsize bytes, *cap of
 * them allocated) hold at least need, doubling from first.  Returns 0, or
 * -ENOMEM with the array and *cap unchanged. */
int array_reserve(void *arrp, size_t *cap, size_t need, size_t elsize, size_t first);

#endif
