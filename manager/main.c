/* main.c: vr-manager's command line: `init` loads an inventory into a new
 * or existing database, `serve` runs the API and the job workers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "conf.h"
#include "daemon.h"
#include "fileio.h"
#include "inventory.h"
#include "log.h"
#include "volume.h"

/* What the configuration gives; cli_parse_into fills it from mgr_keys. */
struct mgr_config {
	const char *db, *name, *inventory, *console_dir, *vnc_listen;
	struct conf_list listen;
	unsigned takeover_s, workers, api_threads, vr_timeout_s, domain_type;
	bool group_commit;
};

#define MGR_AT(m) CONF_AT(struct mgr_config, m)
static const char *const domain_types[] = { "auto", "kvm", "qemu", NULL };

static const struct conf_key mgr_keys[] = {
	{ "db", "/var/lib/vr-manager/manager.db", 0, "SQLite database file, or a PostgreSQL"
	    " URI postgresql://USER@HOST/DBNAME (several managers may share one)", MGR_AT(db) },
	{ "name", NULL, 0, "this manager's name among those on the database (default:"
	    " HOSTNAME/LISTEN) (serve)", MGR_AT(name) },
	{ "takeover-after", "10", 0, "seconds without a heartbeat after which another manager"
	    " takes over a manager's jobs (serve)",
	  .type = CONF_UINT, .min = 1, .max = 3600, MGR_AT(takeover_s) },
	{ "listen", "127.0.0.1:8080", CONF_MULTI, "API address host:port (serve)",
	  .type = CONF_LISTEN, .min = 1, .max = HTTP_MAX_LISTEN, MGR_AT(listen) },
	{ "workers", "4", 0, "async job worker threads (serve)",
	  .type = CONF_UINT, .min = 1, .max = WORKERS_MAX, MGR_AT(workers) },
	{ "api-threads", "2", 0, "threads answering API requests (serve)",
	  .type = CONF_UINT, .min = 1, .max = 64, MGR_AT(api_threads) },
	{ "vr-timeout", "10", 0, "seconds to wait for a VR's answer (serve); past it the job "
	  "fails, once the VR answered or closed (at most 120 s more) so that its undo lands after",
	  .type = CONF_UINT, .min = 1, .max = 600, MGR_AT(vr_timeout_s) },
	{ "group-commit", "yes", 0, "SQLite: commits queued meanwhile share one sync of the"
	    " write-ahead log (no: each commit syncs under the database lock) (serve)",
	  .type = CONF_BOOL, MGR_AT(group_commit) },
	{ "inventory", NULL, 0, "inventory JSON file (init; format: docs/manager.md)",
	  MGR_AT(inventory) },
	{ "domain-type", "auto", 0, "libvirt domain type on QEMU hosts: auto (kvm if the host"
	    " offers it), kvm or qemu (software emulation) (serve)",
	  .type = CONF_CHOICE, .choices = domain_types, MGR_AT(domain_type) },
	{ "console-dir", NULL, 0, "guests' serial consoles go to DIR/NAME.log (default: ptys)"
	    " (serve)", .type = CONF_PATH, MGR_AT(console_dir) },
	{ "vnc-listen", "127.0.0.1", 0, "address of the guests' VNC consoles (serve)",
	  MGR_AT(vnc_listen) },
};

static const struct cli_spec mgr_cli = {
	.prog = "vr-manager",
	.summary = "The compact manager core: CloudStack's deployVirtualMachine flow (sync phase,\n"
		   "async job: plan, reserve, VR network prep, volume prep, libvirt start), the\n"
		   "VM lifecycle (start, stop, reboot, reset password, update, destroy), the\n"
		   "catalogue lists and SSH key pairs, for CloudStack's own clients.",
	.usage = "[OPTION]... init|serve",
	.default_config = "/etc/vr-manager/manager.conf",
	.keys = mgr_keys,
	.nkeys = sizeof(mgr_keys) / sizeof(mgr_keys[0]),
	.takes_args = true,
	.extra_help = "Commands:\n"
		      "  init   create or migrate the database and load --inventory FILE\n"
		      "  serve  answer the API at http://LISTEN/client/api and run jobs\n"
		      "Signals: SIGTERM/SIGINT stop after the running stages; unfinished jobs\n"
		      "are finished or rolled back at the next start, or by another manager\n"
		      "on the same PostgreSQL database after --takeover-after seconds.\n"
		      "Docs: docs/manager.md.\n",
};

static int
cmd_init(const struct mgr_config *mc)
{
	const char *path = mc->inventory;
	struct inventory *inv = NULL;
	struct db *d = NULL;
	char err[512], *buf = NULL;
	size_t len;
	int r;

	if (!path)
		cli_config_error(&mgr_cli, "init needs --inventory FILE");
	if ((r = file_read_all(path, INV_LEN_MAX, &buf, &len)) < 0) {
		fprintf(stderr, "vr-manager: %s: %s\n", path, strerror(-r));
		return r == -EFBIG ? 2 : 1;
	}
	if ((r = inventory_parse(buf, len, &inv, err, sizeof(err))) < 0) {
		fprintf(stderr, "vr-manager: %s: %s\n", path, err);
		free(buf);
		return 2;
	}
	free(buf);
	if ((r = db_open(mc->db, &d, err, sizeof(err))) < 0) {
		fprintf(stderr, "vr-manager: %s\n", err);
		inventory_free(inv);
		return 1;
	}
	if ((r = inventory_store(d, inv, err, sizeof(err))) < 0) {
		fprintf(stderr, "vr-manager: %s: %s\n", path, err);
		r = r == -EEXIST || r == -ENOENT ? 2 : 1;
	} else {
		printf("vr-manager: %s loaded into %s: %zu zones, %zu pods, %zu clusters, %zu hosts, "
		    "%zu pools, %zu secondary, %zu templates, %zu offerings, %zu networks, "
		    "%zu accounts\n", path, mc->db, inv->n_zones, inv->n_pods,
		    inv->n_clusters, inv->n_hosts, inv->n_pools, inv->n_secondary,
		    inv->n_templates, inv->n_offerings, inv->n_networks, inv->n_accounts);
		r = 0;
	}
	inventory_free(inv);
	db_close(d);
	return r;
}

/* What an interrupted run left in the pools: temp files, stale template locks. */
static void
sweep_pools(struct capacity *c)
{
	size_t i;
	int fd, n;

	for (i = 0; i < c->npools; i++) {
		if ((fd = open(c->pools[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if ((n = volume_pool_sweep(fd)) > 0)
			log_info("pool %s: removed %d temp and stale lock files", c->pools[i].uuid, n);
		else if (n < 0)
			log_err(n, "pool %s: cannot sweep %s", c->pools[i].uuid, c->pools[i].path);
		close(fd);
	}
}

static int
cmd_serve(const struct mgr_config *mc)
{
	struct mgr m;
	struct api a;
	struct virt_opts vo;
	char err[512], name[128], host[64], *const *listen = mc->listen.v;
	size_t nlisten = mc->listen.n;
	sigset_t set;
	int r, rc = 1;

	memset(&m, 0, sizeof(m));
	memset(&a, 0, sizeof(a));
	m.vr_timeout_s = (int)mc->vr_timeout_s;
	m.takeover_ms = (int64_t)mc->takeover_s * 1000;
	if (mc->name)
		snprintf(name, sizeof(name), "%s", mc->name);
	else if (gethostname(host, sizeof(host)) == 0)
		snprintf(name, sizeof(name), "%.*s/%s", (int)strnlen(host, sizeof(host)), host,
		    listen[0]);
	else
		snprintf(name, sizeof(name), "localhost/%s", listen[0]);
	/* Signals are taken by the wait below; every thread inherits the mask. */
	daemon_signals_block(&set);
	if ((r = db_open(mc->db, &m.db, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		return 1;
	}
	if (mc->group_commit && (r = db_group_commit_start(m.db, mc->db)) < 0) {
		log_err(r, "cannot start group commit on %s", mc->db);
		goto out_db;
	}
	if ((r = db_open_reader(mc->db, &m.reader, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		goto out_db;
	}
	if ((r = capacity_load(m.db, &m.cap)) < 0 || (r = ipam_load(m.db, &m.ipam)) < 0) {
		log_err(r, "cannot load hosts, pools and networks from %s", mc->db);
		goto out_db;
	}
	if (!(m.virt = virt_hosts_new())) {
		log_warnx("cannot initialise libvirt");
		goto out_cap;
	}
	vo.domain_type = domain_types[mc->domain_type];
	vo.console_dir = mc->console_dir;
	vo.vnc_listen = mc->vnc_listen;
	if (virt_hosts_configure(m.virt, &vo) < 0) {
		log_warnx("domain-type must be auto, kvm or qemu, console-dir an absolute path,"
		    " vnc-listen a numeric address");
		rc = 2;
		goto out_virt;
	}
	sweep_pools(&m.cap);
	if ((r = vrconn_pool_new(&m.vr)) < 0) {
		log_err(r, "cannot initialise libcurl");
		goto out_virt;
	}
	if ((r = api_init(&a, &m)) < 0 || (r = jobs_start(&m, mc->workers)) < 0) {
		log_err(r, "cannot start");
		goto out_virt;
	}
	if ((r = cluster_join(&m, name, listen[0])) < 0) {
		log_err(r, "cannot register manager %s in the database", name);
		goto out_jobs;
	}
	if ((r = jobs_recover(&m)) < 0) {
		/* serving would leave those jobs pending until another restart */
		log_err(r, "cannot read the unfinished jobs from the database");
		goto out_jobs;
	}
	if (r > 0)
		log_info("recovered %d unfinished jobs", r);
	if ((r = cluster_start(&m)) < 0) {
		log_err(r, "cannot start the heartbeat");
		goto out_jobs;
	}
	if ((r = api_listen(&a, listen, nlisten, mc->api_threads, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		goto out_jobs;
	}
	snprintf(err, sizeof(err), "serving %zu hosts, %zu pools, %zu accounts on %s (%u workers)",
	    m.cap.nhosts, m.cap.npools, a.naccounts, listen[0], mc->workers);
	daemon_serve_until_signal(&set, err, NULL);
	rc = 0;
out_jobs:
	api_free(&a); /* no new jobs */
	cluster_quiesce(&m); /* none from other managers either */
	jobs_stop(&m);       /* heartbeating while the running stages end */
	cluster_stop(&m);    /* the jobs still queued: for another manager */
out_virt:
	api_free(&a);
	vrconn_pool_free(m.vr); /* the workers are gone */
	virt_hosts_free(m.virt);
out_cap:
	ipam_destroy(&m.ipam);
	capacity_free(&m.cap);
out_db:
	if (m.db && mc->group_commit) {
		uint64_t commits, syncs;

		db_group_commit_counts(m.db, &commits, &syncs);
		log_info("group commit: %llu commits made durable by %llu syncs",
		    (unsigned long long)commits, (unsigned long long)syncs);
	}
	db_close(m.reader);
	db_close(m.db);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli_result cr;
	struct mgr_config mc;
	int rc;

	memset(&mc, 0, sizeof(mc));
	cli_parse_into(&mgr_cli, argc, argv, &cr, &mc);
	if (cr.check_only) {
		cli_report(&mgr_cli, &cr);
		cli_result_free(&cr);
		return 0;
	}
	if (cr.nargs != 1)
		cli_config_error(&mgr_cli, "expected one command: init or serve (see --help)");
	log_init("vr-manager", cr.verbose);
	if (!strcmp(cr.args[0], "init"))
		rc = cmd_init(&mc);
	else if (!strcmp(cr.args[0], "serve"))
		rc = cmd_serve(&mc);
	else
		cli_config_error(&mgr_cli, "unknown command \"%s\": init or serve", cr.args[0]);
	cli_result_free(&cr);
	return rc;
}
