/* token.c: loads the bearer token (hex, owner-only file) and compares it in constant time. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/memops.h>

#include "err.h"
#include "fileio.h"
#include "token.h"

int
token_load(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		return err_set(err, errlen, r, "token-file %s: %s", path, strerror(errno));
	}
	if (st.st_mode & 077) {
		return err_set(err, errlen, -EPERM, "token-file %s: mode %03o lets others read "
		    "it; want 0600", path, (unsigned)(st.st_mode & 0777));
	}
	if ((r = file_read_all(path, TOKEN_MAX_HEX + 64, &buf, &len)) < 0)
		return err_set(err, errlen, r, "token-file %s: %s", path, strerror(-r));
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)buf[i])) {
			free(buf);
			return err_set(err, errlen, -EINVAL, "token-file %s: not hex at byte %zu",
			    path, i);
		}
	}
	if (len < 2 * TOKEN_MIN_BYTES || len % 2 || len > TOKEN_MAX_HEX) {
		free(buf);
		return err_set(err, errlen, -EINVAL, "token-file %s: want %d to %d hex digits "
		    "(an even count), got %zu", path, 2 * TOKEN_MIN_BYTES, TOKEN_MAX_HEX, len);
	}
	*out = buf;
	return 0;
}

bool
token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memeql_sec(a, b, alen);
}
