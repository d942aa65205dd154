/* daemon.h: the part of a daemon's life every daemon here shares: its
 * signals blocked before any thread starts, then, once it serves, READY=1,
 * the watchdog while it waits for a signal, and STOPPING=1 (sdnotify.h). */
#ifndef VR_DAEMON_H
#define VR_DAEMON_H

#include <signal.h>
#include <stdbool.h>

struct daemon_hooks {
	bool (*alive)(void *arg);   /* the watchdog's question (NULL: always well) */
	void (*hup)(void *arg);     /* what SIGHUP does (NULL: nothing) */
	void *arg;
};

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, so in every
 * thread it starts afterwards, and ignores SIGPIPE.  set gets the three. */
void daemon_signals_block(sigset_t *set);
/* Logs "ready: STATUS" and sends it with READY=1; then waits for SIGTERM or
 * SIGINT, pinging the watchdog (if the service manager asked for one) while
 * hooks->alive says the daemon is well and running hooks->hup on each
 * SIGHUP; then sends STOPPING=1 and logs the signal.  hooks may be NULL.
 * Returns the signal that ended the wait. */
int daemon_serve_until_signal(const sigset_t *set, const char *status,
    const struct daemon_hooks *hooks);

#endif
