/* reload.c: SIGHUP to the dnsmasq named by its pid file, after checking that
 * the pid really is a dnsmasq (a stale pid file must not signal a stranger). */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "reload.h"

pid_t
dnsmasq_pid(const char *pid_file)
{
	char *buf = NULL, path[64], *comm = NULL, *end;
	size_t len;
	long pid;
	int r;

	if ((r = file_read_all(pid_file, 64, &buf, &len)) < 0)
		return r;
	pid = strtol(buf, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (end == buf || *end || pid <= 1) {
		free(buf);
		return -EINVAL;
	}
	free(buf);
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((r = file_read_all(path, 64, &comm, &len)) < 0)
		return r == -ENOENT ? -ESRCH : r;
	r = strcmp(comm, "dnsmasq\n") == 0 ? (int)pid : -ESRCH;
	free(comm);
	return r;
}

pid_t
dnsmasq_reload(const char *pid_file)
{
	pid_t pid = dnsmasq_pid(pid_file);

	if (pid < 0)
		return pid;
	if (kill(pid, SIGHUP) < 0)
		return -errno;
	return pid;
}
