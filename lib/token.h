/* token.h: the control channel's shared secret. */
#ifndef VR_TOKEN_H
#define VR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_MIN_BYTES 32
#define TOKEN_MAX_HEX 1024

/* Loads a hex token of at least TOKEN_MIN_BYTES bytes from a file that only
 * its owner may read (mode 0600 or stricter).  Trailing whitespace is
 * allowed.  Returns 0 with the token in out (caller frees), or a negative
 * errno with the reason in err. */
int token_load(const char *path, char **out, char *err, size_t errlen);
/* Constant-time comparison (time depends only on the lengths). */
bool token_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
