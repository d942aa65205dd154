/* base64.c: base64 decoding (lenient on padding and whitespace) and encoding. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen)
{
	size_t n = 0, pad = 0, digits = 0;
	uint32_t acc = 0;
	char *o;

	o = malloc(len / 4 * 3 + 4);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_value(c)) < 0)
			goto bad; /* data after padding, or not in the alphabet */
		acc = acc << 6 | (uint32_t)v;
		if (++digits % 4 == 0) {
			o[n++] = (char)(acc >> 16);
			o[n++] = (char)(acc >> 8);
			o[n++] = (char)acc;
			acc = 0;
		}
		if (n > max)
			goto big;
	}
	switch (digits % 4) {
	case 1:
		goto bad;
	case 2:
		o[n++] = (char)(acc >> 4);
		break;
	case 3:
		o[n++] = (char)(acc >> 10);
		o[n++] = (char)(acc >> 2);
		break;
	}
	if (pad > 2 || (pad && (digits + pad) % 4))
		goto bad;
	if (n > max)
		goto big;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
bad:
	free(o);
	return -EINVAL;
big:
	free(o);
	return -EFBIG;
}

char *
base64_encode(const void *in, size_t len)
{
	const unsigned char *p = in;
	char *o = malloc((len + 2) / 3 * 4 + 1), *q = o;

	if (!o)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*q++ = b64_alphabet[v >> 18 & 63];
		*q++ = b64_alphabet[v >> 12 & 63];
		*q++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		*q++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	*q = '\0';
	return o;
}
