/* log.c: stderr logging, one line per event; journald adds time and host. */
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

static void
log_vline(const char *level, const char *fmt, va_list ap, const char *tail)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tail)
		fprintf(stderr, "%s: %s: %s: %s\n", log_prog, level, msg, tail);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level, msg);
}

#define LOG_BODY(level, tail)                                                  \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vline(level, fmt, ap, tail);                               \
		va_end(ap);                                                    \
	} while (0)

void log_info(const char *fmt, ...) { LOG_BODY("info", NULL); }

void
log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY("debug", NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY("warning", e);
}

void log_warnx(const char *fmt, ...) { LOG_BODY("warning", NULL); }

void
log_err(int err, const char *fmt, ...)
{
	const char *e = strerror(err < 0 ? -err : err);

	LOG_BODY("error", e);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY("fatal", e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", NULL);
	exit(1);
}
