/* main.c: vrd's start-up: configuration, the state directory, the guest
 * interfaces, dnsmasq and the control listeners; then it waits for signals. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "guard.h"
#include "links.h"
#include "log.h"
#include "reload.h"
#include "sdnotify.h"
#include "token.h"
#include "vrd.h"

static const struct conf_key vrd_keys[] = {
	{ "listen", "169.254.0.10:3923", CONF_MULTI, "control address host:port" },
	{ "state-dir", "/var/lib/vrd", 0, "state directory (absolute path)" },
	{ "token-file", "/etc/vrd/token", 0, "bearer token file: hex, >= 32 bytes, mode 0600" },
	{ "dnsmasq-pid-file", "/run/vrd/dnsmasq.pid", 0, "pid file of the dnsmasq to SIGHUP" },
	{ "dnsmasq-lease-file", "/var/lib/misc/dnsmasq.leases", 0,
	  "lease file named in the generated dnsmasq.conf" },
	{ "metadata-user", "vr-metadata", 0, "user that owns passwords/ (vr-metadata's user)" },
	{ "max-body", "16777216", 0, "largest request body in bytes" },
	{ "max-connections", "64", 0, "concurrent control connections per listener" },
	{ "threads", "16", 0, "worker threads per listener; over 1, batches that arrive on several "
	  "while a commit runs are committed together (group commit), and requests in flight "
	  "at once on different connections may be applied in either order" },
	{ "timeout", "30", 0, "seconds before an idle control connection is closed" },
	{ "manage-links", "yes", 0, "set guest interface addresses and links through netlink" },
	{ "address-bindings", "yes", 0, "with manage-links: bind each VM's address to its MAC "
	  "(neighbour entries, nftables)" },
};

static const struct cli_spec vrd_cli = {
	.prog = "vrd",
	.summary = "The virtual router's control daemon: takes the manager's commands over\n"
		   "HTTP, writes them durably for dnsmasq and vr-metadata, signals dnsmasq.",
	.usage = "[OPTION]...",
	.default_config = "/etc/vrd/vrd.conf",
	.keys = vrd_keys,
	.nkeys = sizeof(vrd_keys) / sizeof(vrd_keys[0]),
	.extra_help = "Signals: SIGTERM/SIGINT stop; SIGHUP re-reads the token file.\n"
		      "Under systemd (NOTIFY_SOCKET): READY=1 once listening, WATCHDOG=1 every\n"
		      "half WATCHDOG_USEC while the state directory is writable, STOPPING=1.\n"
		      "Docs: docs/vrd.md, docs/state-dir.md, docs/systemd.md.\n",
};

void
vrd_dnsmasq_reload(struct vrd *v)
{
	pid_t pid = dnsmasq_reload(v->dnsmasq_pid_file);

	if (pid > 0) {
		v->m.reloads++;
		clock_gettime(CLOCK_REALTIME, &v->last_reload);
		log_debug("dnsmasq: SIGHUP sent to pid %d", (int)pid);
		return;
	}
	v->m.reload_failures++;
	log_warnx("dnsmasq: not signalled (pid file %s: %s); the state is written and dnsmasq "
	    "reads it when it starts", v->dnsmasq_pid_file,
	    pid == -ESRCH ? "no dnsmasq with that pid" : strerror((int)-pid));
}

static bool
net_in(const struct net *n, const struct net *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (net_equal(n, &set[i]))
			return true;
	return false;
}

int
vrd_links_sync(struct vrd *v, const struct net *before, size_t nbefore)
{
	int r, first = 0;

	for (size_t i = 0; i < nbefore; i++) {
		if (net_in(&before[i], v->st.nets, v->st.nnet))
			continue;
		if ((r = links_net_down(&before[i])) < 0) {
			log_err(r, "links: %s: removing addresses", before[i].dev);
			first = first ? first : r;
		}
	}
	for (size_t i = 0; i < v->st.nnet; i++) {
		if (before && net_in(&v->st.nets[i], before, nbefore))
			continue;
		if ((r = links_net_up(&v->st.nets[i])) < 0) {
			log_err(r, "links: %s: adding addresses", v->st.nets[i].dev);
			first = first ? first : r;
		} else {
			log_info("links: %s up with its router address and 169.254.169.254/32",
			    v->st.nets[i].dev);
		}
	}
	return first;
}

static struct http_server http_srv;

void
vrd_guard_sync(struct vrd *v)
{
	char err[512];
	int r;

	if (!v->guard)
		return;
	if ((r = guard_sync(v->guard, &v->st, err, sizeof(err))) < 0) {
		v->m.guard_failures++;
		v->guard_dirty = true;
		log_warnx("guard: address bindings not in force: %s; retried at the next batch", err);
		return;
	}
	v->guard_dirty = false;
}

/* The first label of this machine's host name, which no VM may take; "" when
 * it is not a name dnsmasq would serve. */
static void
router_name_get(char *out, size_t outlen)
{
	char hn[256] = "";

	out[0] = '\0';
	if (gethostname(hn, sizeof(hn) - 1) < 0)
		return;
	hn[strcspn(hn, ".")] = '\0';
	if (host_label_valid(hn) && strlen(hn) < outlen)
		memcpy(out, hn, strlen(hn) + 1);
}

/* The watchdog's question: no half-way commit, the state lock is free within
 * the ping interval, and the state directory takes a file. */
static bool
vrd_well(void *arg)
{
	struct vrd *v = arg;
	int r;

	if (v->fatal)
		return false;
	pthread_mutex_lock(&v->lock);
	r = store_writable(&v->store);
	pthread_mutex_unlock(&v->lock);
	if (r < 0)
		log_err(r, "watchdog: state directory %s not writable", v->store.dir);
	return r == 0;
}

static void
config_check(const struct cli_spec *spec, struct cli_result *cr, struct vrd *v, uid_t *uid,
    gid_t *gid)
{
	const struct conf *c = &cr->conf;
	const char *dir = conf_get(c, "state-dir"), *user = conf_get(c, "metadata-user");
	char err[512], *tok = NULL;
	uint64_t n;
	struct passwd *pw;
	int r;

	if (!dir || dir[0] != '/' || strpbrk(dir, "\n\r ,#"))
		cli_config_error(spec, "state-dir: \"%s\" must be an absolute path without spaces, "
		    "commas or '#'", dir ? dir : "");
	if (strpbrk(conf_get(c, "dnsmasq-lease-file"), "\n\r"))
		cli_config_error(spec, "dnsmasq-lease-file: has a newline");
	if (conf_get_u64(c, "max-body", 1024, 1ULL << 30, &n, err, sizeof(err)) < 0)
		cli_config_error(spec, "%s", err);
	v->max_body = (size_t)n;
	if (conf_get_u64(c, "max-connections", 1, 4096, &n, err, sizeof(err)) < 0 ||
	    conf_get_u64(c, "threads", 1, 64, &n, err, sizeof(err)) < 0 ||
	    conf_get_u64(c, "timeout", 1, 3600, &n, err, sizeof(err)) < 0 ||
	    conf_get_bool(c, "manage-links", &v->manage_links, err, sizeof(err)) < 0 ||
	    conf_get_bool(c, "address-bindings", &v->bindings, err, sizeof(err)) < 0)
		cli_config_error(spec, "%s", err);
	{
		char *const *ls;
		size_t nl = conf_get_all(c, "listen", &ls);
		struct sockaddr_storage ss;
		socklen_t sl;

		if (nl == 0 || nl > HTTP_MAX_LISTEN)
			cli_config_error(spec, "listen: want 1 to %d addresses", HTTP_MAX_LISTEN);
		for (size_t i = 0; i < nl; i++)
			if (listen_parse(ls[i], &ss, &sl) < 0)
				cli_config_error(spec, "listen: \"%s\" is not host:port", ls[i]);
	}
	if (!(pw = getpwnam(user)))
		cli_config_error(spec, "metadata-user: no such user \"%s\"", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if ((r = token_load(conf_get(c, "token-file"), &tok, err, sizeof(err))) < 0)
		cli_config_error(spec, "%s", err);
	v->token = tok;
	v->token_len = strlen(tok);
	if (!(v->dnsmasq_pid_file = strdup(conf_get(c, "dnsmasq-pid-file"))))
		cli_config_error(spec, "out of memory");
}

static int
run(struct cli_result *cr, struct vrd *v, uid_t uid, gid_t gid)
{
	struct commit_info ci;
	struct http_limits lim = { .mem_limit = 64 * 1024, .json_errors = true };
	char *const *listen;
	char err[512], status[256];
	sigset_t set;
	uint64_t n, wd;
	size_t nlisten;
	int sig, r;

	conf_get_u64(&cr->conf, "max-connections", 1, 4096, &n, err, sizeof(err));
	lim.conn_limit = (unsigned)n;
	conf_get_u64(&cr->conf, "threads", 1, 64, &n, err, sizeof(err));
	lim.threads = (unsigned)n;
	conf_get_u64(&cr->conf, "timeout", 1, 3600, &n, err, sizeof(err));
	lim.timeout_s = (unsigned)n;
	lim.header_deadline_s = (unsigned)n;
	router_name_get(v->st.router_name, sizeof(v->st.router_name));
	if ((r = store_open(&v->store, conf_get(&cr->conf, "state-dir"),
	    conf_get(&cr->conf, "dnsmasq-lease-file"), uid, gid, err, sizeof(err))) < 0 ||
	    (r = store_load(&v->store, &v->st, &ci, err, sizeof(err))) < 0) {
		log_warnx("state: %s", err);
		return 1;
	}
	v->m.quarantined = v->store.quarantined;
	log_info("state: %s loaded: generation %" PRIu64 ", %zu VMs, %zu guest networks%s",
	    v->store.dir, v->st.generation, v->st.nvm, v->st.nnet,
	    v->store.quarantined ? "; some files moved to quarantine/ (see above)" : "");
	if (v->manage_links && v->st.nnet && vrd_links_sync(v, NULL, 0) < 0)
		log_warnx("links: not every guest interface could be set; see above");
	if (v->manage_links && !v->bindings)
		log_warnx("guard: address-bindings = no: any guest may use any address and MAC "
		    "towards the router");
	if (v->manage_links && v->bindings) {
		if ((r = guard_open(&v->guard, err, sizeof(err))) < 0) {
			log_warnx("guard: %s", err);
			return 1;
		}
		vrd_guard_sync(v);
		if (!v->guard_dirty)
			log_info("guard: %zu addresses bound to their MACs on %zu guest interfaces",
			    v->st.nmac, v->st.nnet);
	}
	if (ci.hosts_changed || ci.conf_changed)
		vrd_dnsmasq_reload(v);

	/* Signals are taken by this thread alone: block them before any other starts. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	nlisten = conf_get_all(&cr->conf, "listen", &listen);
	/* read before the listeners' threads can change the state */
	snprintf(status, sizeof(status), "listening on %s%s; generation %" PRIu64 ", %zu VMs",
	    listen[0], nlisten > 1 ? " and more" : "", v->st.generation, v->st.nvm);
	if (http_server_start(&http_srv, listen, nlisten, &lim, api_handle, v, api_done, err,
	    sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	log_info("ready: listening on %s%s", listen[0], nlisten > 1 ? " and more" : "");
	sdn_ready(status);
	if ((wd = sdn_watchdog_period()) > 0)
		log_info("watchdog: pinging every %" PRIu64 " ms", wd / 1000);
	for (;;) {
		sig = sdn_sigwait(&set, wd, vrd_well, v);
		if (sig != SIGHUP)
			break;
		{
			char *tok = NULL;

			if (token_load(conf_get(&cr->conf, "token-file"), &tok, err, sizeof(err)) < 0) {
				log_warnx("SIGHUP: keeping the old token: %s", err);
				continue;
			}
			pthread_mutex_lock(&v->lock);
			free(v->token);
			v->token = tok;
			v->token_len = strlen(tok);
			pthread_mutex_unlock(&v->lock);
			log_info("SIGHUP: token re-read");
		}
	}
	sdn_stopping();
	http_server_stop(&http_srv);
	log_info("stopping on signal %d", sig);
	return v->fatal ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct cli_result cr;
	struct vrd v;
	uid_t uid;
	gid_t gid;
	int rc;

	memset(&v, 0, sizeof(v));
	pthread_mutex_init(&v.lock, NULL);
	pthread_mutex_init(&v.qlock, NULL);
	pthread_cond_init(&v.qdone, NULL);
	v.qtail = &v.qhead;
	state_init(&v.st);
	cli_parse(&vrd_cli, argc, argv, &cr);
	log_init("vrd", cr.verbose);
	config_check(&vrd_cli, &cr, &v, &uid, &gid);
	if (cr.check_only) {
		cli_report(&vrd_cli, &cr);
		rc = 0;
	} else {
		rc = run(&cr, &v, uid, gid);
	}
	guard_close(v.guard);
	store_close(&v.store);
	state_free(&v.st);
	free(v.token);
	free(v.dnsmasq_pid_file);
	cli_result_free(&cr);
	return rc;
}
