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
#include "apply.h"
#include "conf.h"
#include "daemon.h"
#include "guard.h"
#include "log.h"
#include "token.h"
#include "vrd.h"

/* What the configuration gives; cli_parse_into fills it from vrd_keys. */
struct vrd_config {
	struct http_limits lim;
	struct conf_list listen;
	const char *state_dir, *token_file, *pid_file, *lease_file, *md_user;
	uint64_t max_body;
	bool manage_links, bindings;
};

#define VRD_AT(m) CONF_AT(struct vrd_config, m)

static const struct conf_key vrd_keys[] = {
	{ "listen", "169.254.0.10:3923", CONF_MULTI, "control address host:port",
	  .type = CONF_LISTEN, .min = 1, .max = HTTP_MAX_LISTEN, VRD_AT(listen) },
	{ "state-dir", "/var/lib/vrd", 0, "state directory (absolute path)",
	  .type = CONF_PATH, VRD_AT(state_dir) },
	{ "token-file", "/etc/vrd/token", 0, "bearer token file: hex, >= 32 bytes, mode 0600",
	  .type = CONF_STR, VRD_AT(token_file) },
	{ "dnsmasq-pid-file", "/run/vrd/dnsmasq.pid", 0, "pid file of the dnsmasq to SIGHUP",
	  .type = CONF_STR, VRD_AT(pid_file) },
	{ "dnsmasq-lease-file", "/var/lib/misc/dnsmasq.leases", 0,
	  "lease file named in the generated dnsmasq.conf", .type = CONF_STR, VRD_AT(lease_file) },
	{ "metadata-user", "vr-metadata", 0, "user that owns passwords/ (vr-metadata's user)",
	  .type = CONF_USER, .min = 1, VRD_AT(md_user) },
	{ "max-body", "16777216", 0, "largest request body in bytes",
	  .type = CONF_U64, .min = 1024, .max = 1ULL << 30, VRD_AT(max_body) },
	{ "max-connections", "64", 0, "concurrent control connections per listener",
	  .type = CONF_UINT, .min = 1, .max = 4096, VRD_AT(lim.conn_limit) },
	{ "threads", "16", 0, "worker threads per listener; over 1, batches that arrive on several "
	  "while a commit runs are committed together (group commit), and requests in flight "
	  "at once on different connections may be applied in either order",
	  .type = CONF_UINT, .min = 1, .max = 64, VRD_AT(lim.threads) },
	{ "timeout", "30", 0, "seconds before an idle control connection is closed",
	  .type = CONF_UINT, .min = 1, .max = 3600, VRD_AT(lim.timeout_s) },
	{ "manage-links", "yes", 0, "set guest interface addresses and links through netlink",
	  .type = CONF_BOOL, VRD_AT(manage_links) },
	{ "address-bindings", "yes", 0, "with manage-links: bind each VM's address to its MAC "
	  "(neighbour entries, nftables)", .type = CONF_BOOL, VRD_AT(bindings) },
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

static struct http_server http_srv;
static struct http_router router; /* outlives http_srv */

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

/* SIGHUP: the token file read again; the old token stays if it cannot be. */
static void
token_reload(void *arg)
{
	struct vrd *v = arg;
	char err[512], *tok = NULL;

	if (token_load(v->token_file, &tok, err, sizeof(err)) < 0) {
		log_warnx("SIGHUP: keeping the old token: %s", err);
		return;
	}
	pthread_mutex_lock(&v->lock);
	free(v->token);
	v->token = tok;
	v->token_len = strlen(tok);
	pthread_mutex_unlock(&v->lock);
	log_info("SIGHUP: token re-read");
}

/* What follows from the checked configuration (vrd_keys did the checking):
 * the token, the metadata user's ids, the daemon's settings. */
static void
config_apply(const struct cli_spec *spec, struct vrd_config *cfg, struct vrd *v, uid_t *uid,
    gid_t *gid)
{
	char err[512], *tok = NULL;
	struct passwd *pw;

	if (strpbrk(cfg->lease_file, "\n\r"))
		cli_config_error(spec, "dnsmasq-lease-file: has a newline");
	if (!(pw = getpwnam(cfg->md_user)))
		cli_config_error(spec, "metadata-user: no such user \"%s\"", cfg->md_user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	v->max_body = (size_t)cfg->max_body;
	v->manage_links = cfg->manage_links;
	v->bindings = cfg->bindings;
	v->token_file = cfg->token_file;
	if (token_load(v->token_file, &tok, err, sizeof(err)) < 0)
		cli_config_error(spec, "%s", err);
	v->token = tok;
	v->token_len = strlen(tok);
	if (!(v->dnsmasq_pid_file = strdup(cfg->pid_file)))
		cli_config_error(spec, "out of memory");
	cfg->lim.mem_limit = 64 * 1024;
	cfg->lim.json_errors = true;
	cfg->lim.header_deadline_s = cfg->lim.timeout_s; /* slow headers count, not only silence */
}

static int
run(const struct vrd_config *cfg, struct vrd *v, uid_t uid, gid_t gid)
{
	struct commit_info ci;
	char *const *listen = cfg->listen.v;
	char err[512], status[256];
	const struct daemon_hooks hooks = { .alive = vrd_well, .hup = token_reload, .arg = v };
	sigset_t set;
	size_t nlisten = cfg->listen.n;
	int r;

	router_name_get(v->st.router_name, sizeof(v->st.router_name));
	if ((r = store_open(&v->store, cfg->state_dir, cfg->lease_file, uid, gid, err,
	    sizeof(err))) < 0 ||
	    (r = store_load(&v->store, &v->st, &ci, err, sizeof(err))) < 0) {
		log_warnx("state: %s", err);
		return 1;
	}
	v->m.quarantined = v->store.quarantined;
	log_info("state: %s loaded: generation %" PRIu64 ", %zu VMs, %zu guest networks%s",
	    v->store.dir, v->st.generation, v->st.nvm, v->st.nnet,
	    v->store.quarantined ? "; some files moved to quarantine/ (see above)" : "");
	if (v->manage_links && v->st.nnet && apply_links_sync(v, NULL, 0) < 0)
		log_warnx("links: not every guest interface could be set; see above");
	if (v->manage_links && !v->bindings)
		log_warnx("guard: address-bindings = no: any guest may use any address and MAC "
		    "towards the router");
	if (v->manage_links && v->bindings) {
		if ((r = guard_open(&v->guard, err, sizeof(err))) < 0) {
			log_warnx("guard: %s", err);
			return 1;
		}
		apply_guard_sync(v);
		if (!v->guard_dirty)
			log_info("guard: %zu addresses bound to their MACs on %zu guest interfaces",
			    v->st.nmac, v->st.nnet);
	}
	if (ci.hosts_changed || ci.conf_changed)
		apply_dnsmasq_reload(v);

	/* Signals are taken by this thread alone: block them before any other starts. */
	daemon_signals_block(&set);
	/* read before the listeners' threads can change the state */
	snprintf(status, sizeof(status), "listening on %s%s; generation %" PRIu64 ", %zu VMs",
	    listen[0], nlisten > 1 ? " and more" : "", v->st.generation, v->st.nvm);
	api_router_init(v, &router);
	if (http_router_start(&http_srv, listen, nlisten, &cfg->lim, &router, err,
	    sizeof(err)) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	daemon_serve_until_signal(&set, status, &hooks);
	http_server_stop(&http_srv);
	return v->fatal ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct cli_result cr;
	struct vrd_config cfg;
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
	memset(&cfg, 0, sizeof(cfg));
	cli_parse_into(&vrd_cli, argc, argv, &cr, &cfg);
	log_init("vrd", cr.verbose);
	config_apply(&vrd_cli, &cfg, &v, &uid, &gid);
	if (cr.check_only) {
		cli_report(&vrd_cli, &cr);
		rc = 0;
	} else {
		rc = run(&cfg, &v, uid, gid);
	}
	guard_close(v.guard);
	store_close(&v.store);
	state_free(&v.st);
	free(v.token);
	free(v.dnsmasq_pid_file);
	cli_result_free(&cr);
	return rc;
}
