/* sdnotify.c: readiness and watchdog notifications to systemd through
 * libsystemd's sd_notify(); see sdnotify.h. */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"

void
sdn_ready(const char *status)
{
	int r = sd_notifyf(0, "READY=1\nSTATUS=%s", status);

	if (r < 0)
		log_err(r, "sd_notify: READY=1");
}

void
sdn_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}

uint64_t
sdn_watchdog_period(void)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);

	if (r < 0) {
		log_err(r, "sd_watchdog_enabled: ignoring WATCHDOG_USEC");
		return 0;
	}
	if (r == 0 || usec == 0)
		return 0;
	return usec / 2 ? usec / 2 : 1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
sdn_sigwait(const sigset_t *set, uint64_t period_us, bool (*alive)(void *), void *arg)
{
	static uint64_t next; /* when the next ping is due (monotonic µs) */
	struct timespec ts;
	uint64_t now, left;
	int sig;

	for (;;) {
		if (!period_us) {
			if (sigwait(set, &sig) == 0)
				return sig;
			continue;
		}
		now = now_us();
		if (next == 0 || next > now + period_us)
			next = now + period_us;
		if (now >= next) {
			if (!alive || alive(arg))
				(void)sd_notify(0, "WATCHDOG=1");
			else
				log_warnx("watchdog: not well, not pinging");
			next = now_us() + period_us;
			continue;
		}
		left = next - now;
		ts.tv_sec = (time_t)(left / 1000000);
		ts.tv_nsec = (long)(left % 1000000) * 1000;
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0)
			return sig;
	}
}
