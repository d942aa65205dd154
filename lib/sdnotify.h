/* sdnotify.h: a daemon's word to its service manager (systemd's sd_notify
 * protocol): readiness, stopping, and watchdog pings while it waits for a
 * signal.  Every call is a no-op when NOTIFY_SOCKET is unset. */
#ifndef VR_SDNOTIFY_H
#define VR_SDNOTIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* READY=1 and STATUS=<status>. */
void sdn_ready(const char *status);
/* STOPPING=1. */
void sdn_stopping(void);

/* Half the watchdog interval the service manager asked for (WATCHDOG_USEC,
 * for this pid), in microseconds; 0 when no watchdog is enabled. */
uint64_t sdn_watchdog_period(void);

/* sigwait() on set that sends WATCHDOG=1 every period_us (0: never) while
 * no signal arrives, as long as alive() (may be NULL) says the daemon is
 * well; a daemon that is not well stops pinging, and the service manager
 * restarts it.  Returns the signal taken. */
int sdn_sigwait(const sigset_t *set, uint64_t period_us, bool (*alive)(void *), void *arg);

#endif
