/* log.c: stderr logging, one line per event; journald adds time and host.
 * No log function changes errno: a caller may log and then return -errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "vr";
static int log_verbose;

void
log_init(const char *prog, int verbose)
{
	log_prog = prog;
	log_verbose = verbose;
}

/* Writes one line; errno is as it was when the log function was called. */
static void
log_vline(const char *level, const char *fmt, va_list ap, const char *tail, int saved)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tail)
		fprintf(stderr, "%s: %s: %s: %s\n", log_prog, level, msg, tail);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level, msg);
	errno = saved;
}

/* saved_errno is taken before anything (strerror included) can change it. */
#define LOG_BODY(level, tail)                                                  \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vline(level, fmt, ap, tail, saved_errno);                  \
		va_end(ap);                                                    \
	} while (0)

void
log_info(const char *fmt, ...)
{
	int saved_errno = errno;

	LOG_BODY("info", NULL);
}

void
log_debug(const char *fmt, ...)
{
	int saved_errno = errno;

	if (log_verbose)
		LOG_BODY("debug", NULL);
}

void
log_warn(const char *fmt, ...)
{
	int saved_errno = errno;
	char e[128];

	snprintf(e, sizeof(e), "%s", strerror(saved_errno));
	LOG_BODY("warning", e);
}

void
log_warnx(const char *fmt, ...)
{
	int saved_errno = errno;

	LOG_BODY("warning", NULL);
}

void
log_err(int err, const char *fmt, ...)
{
	int saved_errno = errno;
	char e[128];

	snprintf(e, sizeof(e), "%s", strerror(err < 0 ? -err : err));
	LOG_BODY("error", e);
}

void
fatal(const char *fmt, ...)
{
	int saved_errno = errno;
	char e[128];

	snprintf(e, sizeof(e), "%s", strerror(saved_errno));
	LOG_BODY("fatal", e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	int saved_errno = errno;

	LOG_BODY("fatal", NULL);
	exit(1);
}
