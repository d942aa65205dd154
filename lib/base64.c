/* base64.c: RFC 4648 base64 from Nettle, with the allocation, the limit on
 * decoded bytes and the padding that may be left out. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "base64.h"

int
base64_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen)
{
	struct base64_decode_ctx ctx;
	bool padded = memchr(in, '=', len) != NULL;
	size_t n, more;
	uint8_t *o = malloc(BASE64_DECODE_LENGTH(len) + 2);

	if (!o)
		return -ENOMEM;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, o, len, in))
		goto bad;
	/* Text without any padding gets what it left out (at most "==");
	 * text with some must have it right. */
	for (int i = 0; i < 2 && !padded && !base64_decode_final(&ctx); i++)
		if (!base64_decode_update(&ctx, &more, o + n, 1, "="))
			goto bad;
	if (!base64_decode_final(&ctx))
		goto bad;
	if (n > max) {
		free(o);
		return -EFBIG;
	}
	o[n] = '\0';
	*out = (char *)o;
	*outlen = n;
	return 0;
bad:
	free(o);
	return -EINVAL;
}

char *
base64_encode(const void *in, size_t len)
{
	char *o = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);

	if (!o)
		return NULL;
	base64_encode_raw(o, len, in);
	o[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
	return o;
}
