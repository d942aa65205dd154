/* daemon.c: signals, readiness, the watchdog and stopping, once for every daemon. */
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>

#include "daemon.h"
#include "log.h"
#include "sdnotify.h"

void
daemon_signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
daemon_serve_until_signal(const sigset_t *set, const char *status,
    const struct daemon_hooks *hooks)
{
	static const struct daemon_hooks none;
	uint64_t wd;
	int sig;

	if (!hooks)
		hooks = &none;
	log_info("ready: %s", status);
	sdn_ready(status);
	if ((wd = sdn_watchdog_period()) > 0)
		log_info("watchdog: pinging every %" PRIu64 " ms", wd / 1000);
	while ((sig = sdn_sigwait(set, wd, hooks->alive, hooks->arg)) == SIGHUP)
		if (hooks->hup)
			hooks->hup(hooks->arg);
	sdn_stopping();
	log_info("stopping on signal %d", sig);
	return sig;
}
