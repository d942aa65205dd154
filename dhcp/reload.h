/* reload.h: finding the running dnsmasq and signalling it to re-read its files. */
#ifndef DHCP_RELOAD_H
#define DHCP_RELOAD_H

#include <sys/types.h>

/* The pid in pid_file if it names a live process called "dnsmasq".
 * Returns the pid, -ENOENT (no pid file), -ESRCH (not running or not
 * dnsmasq) or another negative errno. */
pid_t dnsmasq_pid(const char *pid_file);
/* Sends SIGHUP to that dnsmasq.  Returns its pid or a negative errno. */
pid_t dnsmasq_reload(const char *pid_file);

#endif
