/* base64.h: RFC 4648 base64 (standard alphabet), from Nettle; decoding
 * tolerates padding left out wholly and ASCII whitespace (space, tab, LF, VT,
 * FF, CR), nothing else: not partial or misplaced padding, nor a last digit
 * with bits set that no byte takes. */
#ifndef VR_BASE64_H
#define VR_BASE64_H

#include <stddef.h>

/* Decodes into a new NUL-terminated buffer (caller frees).  Returns 0,
 * -EINVAL for text that is not base64, -EFBIG past max decoded bytes, -ENOMEM. */
int base64_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen);
/* Encodes into a new NUL-terminated buffer, or NULL on -ENOMEM. */
char *base64_encode(const void *in, size_t len);

#endif
