/* main.c: vr-metadata's start-up: configuration, binding the metadata and
 * password ports, dropping to its own user, loading and watching the state
 * directory, serving; then it waits for a signal to stop. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "daemon.h"
#include "httpd.h"
#include "log.h"
#include "mdd.h"

/* What the configuration gives; cli_parse_into fills it from md_keys. */
struct md_config {
	struct http_limits lim;
	const char *user, *state_dir;
	struct conf_list listen;
	unsigned pw_port, imds_v2, hop_limit;
};

#define MD_AT(m) CONF_AT(struct md_config, m)
static const char *const imds_v2_modes[] = { "optional", "required", NULL };
enum { IMDS_V2_OPTIONAL, IMDS_V2_REQUIRED };

static const struct conf_key md_keys[] = {
	{ "listen", "169.254.169.254:80", CONF_MULTI, "metadata address host:port",
	  /* each address listens twice: metadata and passwords */
	  .type = CONF_LISTEN, .min = 1, .max = HTTP_MAX_LISTEN / 2, MD_AT(listen) },
	{ "password-port", "8080", 0, "password server port, on every listen host",
	  .type = CONF_UINT, .min = 1, .max = 65535, MD_AT(pw_port) },
	{ "state-dir", "/var/lib/vrd", 0, "vrd's state directory, an absolute path (read: vms/, passwords/)",
	  .type = CONF_PATH, MD_AT(state_dir) },
	{ "user", "vr-metadata", 0, "user to run as once the ports are bound (\"\": stay)",
	  .type = CONF_USER, .min = 0, MD_AT(user) },
	{ "imds-v2", "optional", 0, "IMDSv2 session tokens: optional or required",
	  .type = CONF_CHOICE, .choices = imds_v2_modes, MD_AT(imds_v2) },
	{ "token-hop-limit", "1", 0, "IP TTL of token responses",
	  .type = CONF_UINT, .min = 1, .max = 255, MD_AT(hop_limit) },
	{ "max-connections", "256", 0, "concurrent connections per listener, at most (less if "
	  "the descriptor limit is lower)",
	  .type = CONF_UINT, .min = 1, .max = 65536, MD_AT(lim.conn_limit) },
	{ "per-ip-connections", "64", 0, "concurrent connections per guest address",
	  .type = CONF_UINT, .min = 1, .max = 65536, MD_AT(lim.per_ip_limit) },
	{ "timeout", "10", 0, "seconds before an idle or slow connection is closed",
	  .type = CONF_UINT, .min = 1, .max = 3600, MD_AT(lim.timeout_s) },
	{ "threads", "0", 0, "worker threads per listener (0: one per CPU but one, at least 1)",
	  .type = CONF_UINT, .min = 0, .max = 64, MD_AT(lim.threads) },
};

static const struct cli_spec md_cli = {
	.prog = "vr-metadata",
	.summary = "The virtual router's metadata and password service: answers each VM's\n"
		   "cloud-init (EC2 and OpenStack trees, IMDSv2) and CloudStack's password client,\n"
		   "from the state directory vrd writes, without privileges.",
	.usage = "[OPTION]...",
	.default_config = "/etc/vrd/metadata.conf",
	.keys = md_keys,
	.nkeys = sizeof(md_keys) / sizeof(md_keys[0]),
	.extra_help = "Signals: SIGTERM/SIGINT stop.\n"
		      "Under systemd (NOTIFY_SOCKET): READY=1 once serving, WATCHDOG=1 every\n"
		      "half WATCHDOG_USEC, STOPPING=1.  Docs: docs/metadata.md, docs/systemd.md.\n",
};

/* What follows from the checked configuration (md_keys did the checking). */
static void
config_apply(struct mdd *d, struct md_config *mc)
{
	d->v2_required = mc->imds_v2 == IMDS_V2_REQUIRED;
	d->hop_limit = (int)mc->hop_limit;
	/* slow headers count, not only silence */
	mc->lim.header_deadline_s = mc->lim.timeout_s;
	if (mc->lim.threads == 0) { /* leave a CPU to the guests' traffic and the kernel's TCP work */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		mc->lim.threads = cpus > 2 ? (unsigned)cpus - 1 : 1;
	}
	mc->lim.poll_loop = true;
	mc->lim.evict_idle = true;
	mc->lim.mem_limit = 16 * 1024; /* headers past this get 431 */
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (!user[0])
		return 0;
	if (!(pw = getpwnam(user))) {
		log_warnx("user: no such user \"%s\"", user);
		return -ENOENT;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_warn("switching to user %s", user);
		return -errno;
	}
	if (setuid(0) == 0) {
		log_warnx("switching to user %s: root could be regained", user);
		return -EPERM;
	}
	log_info("running as %s (uid %d)", user, (int)pw->pw_uid);
	return 0;
}

/* Fits every listener's connections under the descriptor limit: with
 * systemd's default of 1024 six listeners of 1024 connections each would run
 * out of descriptors, and libmicrohttpd then stops accepting altogether. */
static int
conn_budget(struct mdd *d, struct md_config *mc)
{
	unsigned nl = 2 * (unsigned)mc->listen.n, cap = mc->lim.conn_limit;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit");
		return -errno;
	}
	d->conn_budget = http_conn_budget(rl.rlim_cur, nl, mc->lim.threads, cap);
	if (!d->conn_budget) {
		log_warnx("connections: a descriptor limit of %llu is too low for %u listeners "
		    "(raise LimitNOFILE or ulimit -n)", (unsigned long long)rl.rlim_cur, nl);
		return -EMFILE;
	}
	mc->lim.conn_limit = d->conn_budget;
	log_info("connections: %u per listener (%u listeners, descriptor limit %llu, "
	    "max-connections %u); the oldest idle one makes way past %u",
	    d->conn_budget, nl, (unsigned long long)rl.rlim_cur, cap,
	    d->conn_budget - http_evict_headroom(d->conn_budget));
	return 0;
}

static int
serve(struct mdd *d, struct md_config *mc)
{
	struct http_server *md_srv = &d->md_srv, *pw_srv = &d->pw_srv;
	int mdfd[HTTP_MAX_LISTEN], pwfd[HTTP_MAX_LISTEN], n;
	char err[512], status[256];
	sigset_t set;

	for (size_t i = 0; i < mc->listen.n; i++) {
		if ((mdfd[i] = http_listen_open(mc->listen.v[i], 0, err, sizeof(err))) < 0 ||
		    (pwfd[i] = http_listen_open(mc->listen.v[i], mc->pw_port, err, sizeof(err))) < 0) {
			log_warnx("%s", err);
			return 1;
		}
	}
	if (drop_privileges(mc->user) < 0 || conn_budget(d, mc) < 0)
		return 1;
	if (vmtable_init(&d->vt, mc->state_dir, err, sizeof(err)) < 0 ||
	    pwstore_init(&d->pw, mc->state_dir, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	n = vmtable_load_all(&d->vt);
	if (n < 0 && n != -ENOENT) {
		log_err(n, "%s", d->vt.dir);
		return 1;
	}
	log_info("state: %d VMs from %s%s", n < 0 ? 0 : n, d->vt.dir,
	    n == -ENOENT ? " (not there yet: watching for it)" : "");
	if ((n = vmtable_watch(&d->vt)) < 0) {
		log_err(n, "inotify");
		return 1;
	}
	daemon_signals_block(&set);
	mdd_routers(d);
	if (http_router_start_fds(md_srv, mdfd, mc->listen.n, &mc->lim, &d->md_router,
	    err, sizeof(err)) < 0 ||
	    http_router_start_fds(pw_srv, pwfd, mc->listen.n, &mc->lim, &d->pw_router,
	    err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	snprintf(status, sizeof(status), "metadata on %s%s, passwords on port %u, imds-v2 %s",
	    mc->listen.v[0], mc->listen.n > 1 ? " and more" : "", mc->pw_port,
	    d->v2_required ? "required" : "optional");
	daemon_serve_until_signal(&set, status, NULL);
	http_server_stop(md_srv);
	http_server_stop(pw_srv);
	vmtable_free(&d->vt);
	pwstore_free(&d->pw);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli_result cr;
	struct md_config mc;
	static struct mdd d;
	int rc;

	memset(&mc, 0, sizeof(mc));
	cli_parse_into(&md_cli, argc, argv, &cr, &mc);
	log_init("vr-metadata", cr.verbose);
	config_apply(&d, &mc);
	if (cr.check_only) {
		cli_report(&md_cli, &cr);
		cli_result_free(&cr);
		return 0;
	}
	if (getrandom(d.key, sizeof(d.key), 0) != (ssize_t)sizeof(d.key)) {
		log_warn("getrandom");
		return 1;
	}
	rc = serve(&d, &mc);
	cli_result_free(&cr);
	return rc;
}
