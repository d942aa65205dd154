/* err.c: error texts for the caller's buffer (see err.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
err_set(char *err, size_t errlen, int r, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return r;
}
