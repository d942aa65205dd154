/* test_store.c: the state directory (vrd/store.c): open, commit, the files on
 * disk, reload, journal replay, and what a failed or torn batch leaves. */
#include "testutil.h"

#include <dirent.h>

#include "addr.h"
#include "store.h"

#define NOBODY 65534
#define BATCH "[{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1'," \
	"'cidr':'10.1.1.0/24','dns':'10.1.1.1','domain_name':'cloud.internal'}," \
	"{'host_name':'vm1','mac_address':'02:00:4c:5f:00:01','ipv4_address':'10.1.1.101'," \
	"'default_entry':true,'lease_time':null,'type':'dhcpentry'}," \
	"{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':[" \
	"['metadata','instance-id','i-101'],['userdata','user-data','I2Nsb3VkLWNvbmZpZwo=']]}," \
	"{'ip_address':'10.1.1.101','password':'hY7sd8Kq','type':'vmpassword'}]"

struct fx {
	char tmp[64];
	char *dir, *leases;
	struct store s;
	struct state st;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->tmp, sizeof(f->tmp));
	f->dir = tu_path(f->tmp, "state");
	f->leases = tu_path(f->tmp, "leases");
	for (int i = 0; i < SD_NDIRS; i++)
		f->s.fd[i] = -1;
	state_init(&f->st);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->s);
	state_free(&f->st);
	tu_rm_rf(f->tmp);
	free(f->dir);
	free(f->leases);
	free(f);
	return 0;
}

static void
fx_open(struct fx *f)
{
	char err[512] = "";

	if (store_open(&f->s, f->dir, f->leases, NOBODY, NOBODY, err, sizeof(err)) < 0)
		fail_msg("store_open: %s", err);
}

/* store_open and store_load into a fresh state. */
static void
fx_open_load(struct fx *f, struct commit_info *ci)
{
	char err[512] = "";

	fx_open(f);
	state_free(&f->st);
	if (store_load(&f->s, &f->st, ci, err, sizeof(err)) < 0)
		fail_msg("store_load: %s", err);
}

/* Applies and commits a batch as vrd does; on failure rolls back. */
static int
commit(struct fx *f, const char *sq, struct commit_info *ci)
{
	struct cmd_batch b;
	struct cmd_error e;
	struct txn t;
	char err[512] = "";
	int r;

	if (tu_parse(sq, &b, &e) < 0)
		fail_msg("parse %s: %s", sq, e.msg);
	txn_begin(&t, &f->st);
	for (size_t i = 0; i < b.n; i++)
		if ((r = txn_apply(&t, &b.v[i], (long)i, &e)) < 0)
			fail_msg("apply %s: %s", sq, e.msg);
	r = store_commit(&f->s, &t, ci, err, sizeof(err));
	if (r < 0) {
		assert_true(err[0] != '\0');
		txn_rollback(&t);
	}
	txn_end(&t);
	cmd_batch_free(&b);
	return r;
}

static void
commit_ok(struct fx *f, const char *sq, struct commit_info *ci)
{
	int r = commit(f, sq, ci);

	if (r < 0)
		fail_msg("store_commit: %d", r);
}

static void
assert_file(struct fx *f, const char *name, const char *want)
{
	char *got = tu_read(f->dir, name);

	if (!got)
		fail_msg("%s/%s missing", f->dir, name);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_stat(struct fx *f, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char *p = tu_path(f->dir, name);
	struct stat sb;

	assert_int_equal(lstat(p, &sb), 0);
	if ((sb.st_mode & 07777) != mode || sb.st_uid != uid || sb.st_gid != gid)
		fail_msg("%s: mode %04o %u:%u, want %04o %u:%u", name, sb.st_mode & 07777,
		    sb.st_uid, sb.st_gid, mode, uid, gid);
	free(p);
}

/* No temporary file or journal anywhere in the state directory. */
static void
assert_clean(struct fx *f)
{
	static const char *const dirs[] = { "", "vms", "passwords" };

	for (size_t i = 0; i < 3; i++) {
		char *p = tu_path(f->dir, dirs[i]);
		DIR *d = opendir(p);
		struct dirent *de;

		assert_non_null(d);
		while ((de = readdir(d)))
			if (strstr(de->d_name, ".tmp") || !strcmp(de->d_name, "journal"))
				fail_msg("%s/%s left behind", p, de->d_name);
		closedir(d);
		free(p);
	}
}

static char *
vm_doc_of(const struct state *st, const char *ipstr)
{
	uint32_t ip;
	struct buf b;

	assert_int_equal(ip4_parse(ipstr, &ip), 0);
	assert_non_null(state_vm(st, ip));
	buf_init(&b);
	assert_int_equal(vm_doc_render(state_vm(st, ip), &b), 0);
	return buf_steal(&b, NULL);
}

/* Files (not dot files) in the directory name of dir. */
static int
tu_count_files(const char *dir, const char *name)
{
	char *path = tu_path(dir, name);
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	free(path);
	return n;
}

/* A file of the state directory, freed at the fixture's next call. */
static const char *
tu_read_keep(struct fx *f, const char *name)
{
	static char *last;

	free(last);
	last = tu_read(f->dir, name);
	assert_non_null(last);
	return last;
}

static void
test_open_creates_dirs_and_load_writes_derived(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	char *conf;

	fx_open_load(f, &ci);
	assert_stat(f, "", 0755, 0, 0);
	assert_stat(f, "vms", 0750, 0, NOBODY);
	assert_stat(f, "passwords", 0700, NOBODY, NOBODY);
	assert_int_equal(f->st.generation, 0);
	assert_int_equal(f->st.nvm, 0);
	assert_int_equal(ci.files, DF_NFILES);
	for (int i = 0; i < DF_NFILES; i++)
		assert_true(tu_exists(f->dir, dnsmasq_file_names[i]));
	assert_true(ci.hosts_changed);
	assert_true(ci.conf_changed);
	assert_file(f, "dhcphosts", "");
	assert_file(f, "dhcpopts", "");
	assert_file(f, "hosts", "");
	conf = tu_read(f->dir, "dnsmasq.conf");
	assert_non_null(conf);
	assert_non_null(strstr(conf, "dhcp-hostsfile="));
	assert_non_null(strstr(conf, f->dir));
	assert_non_null(strstr(conf, f->leases));
	free(conf);
	assert_false(tu_exists(f->dir, "generation"));
	assert_int_equal(store_writable(&f->s), 0);
	assert_clean(f);
}

static void
test_commit_writes_every_file(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	struct buf nets;
	char *doc;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	assert_int_equal(ci.generation, 1);
	assert_int_equal(f->st.generation, 1);
	assert_true(ci.hosts_changed);
	assert_true(ci.conf_changed);
	assert_false(ci.fatal);
	/* vms doc, password, networks.json, dhcphosts, hosts, dnsmasq.conf */
	assert_int_equal(ci.files, 6);
	assert_file(f, "generation", "1\n");
	assert_file(f, "dhcphosts", "02:00:4c:5f:00:01,10.1.1.101,vm1,infinite\n");
	assert_file(f, "dhcpopts", "");
	assert_file(f, "hosts", "10.1.1.1 data-server\n10.1.1.101 vm1\n");
	doc = vm_doc_of(&f->st, "10.1.1.101");
	assert_file(f, "vms/10.1.1.101.json", doc);
	assert_non_null(strstr(doc, "\"user_data\":\"#cloud-config\\n\""));
	free(doc);
	assert_stat(f, "vms/10.1.1.101.json", 0640, 0, NOBODY);
	assert_file(f, "passwords/10.1.1.101", "hY7sd8Kq");
	assert_stat(f, "passwords/10.1.1.101", 0600, NOBODY, NOBODY);
	assert_true(store_has_password(&f->s, 0x0a010165));
	assert_false(store_has_password(&f->s, 0x0a010166));
	buf_init(&nets);
	assert_int_equal(nets_doc_render(&f->st, &nets), 0);
	assert_file(f, "networks.json", nets.p);
	buf_free(&nets);
	assert_clean(f);
}

static void
test_idempotent_commit_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	struct stat before, after;
	char *p;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	p = tu_path(f->dir, "vms/10.1.1.101.json");
	assert_int_equal(stat(p, &before), 0);
	commit_ok(f, BATCH, &ci);
	assert_int_equal(ci.files, 0);
	assert_int_equal(ci.generation, 1);
	assert_false(ci.hosts_changed);
	assert_false(ci.conf_changed);
	assert_int_equal(f->st.generation, 1);
	assert_file(f, "generation", "1\n");
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* not even rewritten */
	free(p);
	/* The guest took its password (vr-metadata removed it): the same
	 * batch stores it again, and only it. */
	p = tu_path(f->dir, "passwords/10.1.1.101");
	assert_int_equal(unlink(p), 0);
	free(p);
	commit_ok(f, BATCH, &ci);
	assert_int_equal(ci.files, 1);
	assert_int_equal(ci.generation, 2);
	assert_false(ci.hosts_changed);
	assert_file(f, "passwords/10.1.1.101", "hY7sd8Kq");
	assert_file(f, "generation", "2\n");
	assert_clean(f);
}

static void
test_reopen_rebuilds_equal_state(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	char *before, *after;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	commit_ok(f, "[{'host_name':'vm2','mac_address':'02:00:4c:5f:00:02','ipv4_address':'10.1.1.102',"
	    "'default_entry':false,'lease_time':7200,'type':'dhcpentry','ipv6_duid':'00:03:00:01'},"
	    "{'type':'vmdata','vm_ip_address':'10.1.1.103','vm_metadata':[['metadata','k','v']]}]", &ci);
	assert_int_equal(f->st.generation, 2);
	before = tu_snapshot(&f->st);
	store_close(&f->s);
	fx_open_load(f, &ci);
	after = tu_snapshot(&f->st);
	assert_string_equal(before, after);
	assert_int_equal(f->st.generation, 2);
	assert_int_equal(ci.generation, 2);
	assert_int_equal(ci.files, 0); /* every derived file already matched */
	free(before);
	free(after);
	/* And a removal after the reload finds the loaded VM. */
	commit_ok(f, "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:01','ipv4_address':"
	    "'10.1.1.101','remove':true}", &ci);
	assert_int_equal(ci.generation, 3);
	assert_false(tu_exists(f->dir, "vms/10.1.1.101.json"));
	assert_false(tu_exists(f->dir, "passwords/10.1.1.101"));
	assert_true(ci.hosts_changed);
	/* The only entry left is a non-default NIC: it lives in dnsmasq.conf. */
	{
		char *conf = tu_read(f->dir, "dnsmasq.conf"), *hosts = tu_read(f->dir, "dhcphosts");

		assert_non_null(conf);
		assert_non_null(strstr(conf,
		    "\ndhcp-host=02:00:4c:5f:00:02,set:10_1_1_102,10.1.1.102,vm2,7200\n"));
		assert_true(hosts == NULL || hosts[0] == '\0');
		assert_true(tu_exists(f->dir, "dhcphosts"));
		free(conf);
		free(hosts);
	}
	assert_clean(f);
}

static void
test_journal_is_replayed_at_open(void **state)
{
	static const char doc[] = "{\"ip\":\"10.1.1.150\",\"mac\":\"02:00:4c:5f:00:96\","
	    "\"hostname\":\"vm150\",\"metadata\":{\"k\":\"v\"}}\n";
	static const char nets[] = "[{\"type\":\"guestnetwork\",\"device\":\"eth1\","
	    "\"router_guest_ip\":\"10.1.1.1\",\"cidr\":\"10.1.1.0/24\",\"domain_name\":\"replayed.example\"}]\n";
	struct fx *f = *state;
	struct commit_info ci;
	char *j, *conf;
	uint32_t ip150;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	store_close(&f->s);
	assert_true(asprintf(&j, "VRDJ1 7\nW 1 10.1.1.150.json %zu\n%sW 2 10.1.1.150 9\nsecret150\n"
	    "D 1 10.1.1.101.json\nD 2 10.1.1.101\nW 0 networks.json %zu\n%s\nEND\n",
	    strlen(doc) - 1, doc, strlen(nets), nets) > 0);
	/* (the doc's own newline is the separator after its bytes) */
	tu_write(f->dir, "journal", j, 0600);
	free(j);
	fx_open(f);
	assert_false(tu_exists(f->dir, "journal"));
	assert_file(f, "generation", "7\n");
	j = tu_read(f->dir, "vms/10.1.1.150.json");
	assert_non_null(j);
	assert_int_equal(strlen(j), strlen(doc) - 1);
	assert_memory_equal(j, doc, strlen(doc) - 1);
	free(j);
	assert_stat(f, "vms/10.1.1.150.json", 0640, 0, NOBODY);
	assert_file(f, "passwords/10.1.1.150", "secret150");
	assert_stat(f, "passwords/10.1.1.150", 0600, NOBODY, NOBODY);
	assert_false(tu_exists(f->dir, "vms/10.1.1.101.json"));
	assert_false(tu_exists(f->dir, "passwords/10.1.1.101"));
	assert_file(f, "networks.json", nets);
	/* The load re-renders the derived files from the replayed sources. */
	state_free(&f->st);
	{
		char err[256];

		assert_int_equal(store_load(&f->s, &f->st, &ci, err, sizeof(err)), 0);
	}
	assert_int_equal(f->st.generation, 7);
	assert_int_equal(f->st.nvm, 1);
	assert_int_equal(ip4_parse("10.1.1.150", &ip150), 0);
	assert_string_equal(vm_md_get(state_vm(&f->st, ip150), "k")->val, "v");
	assert_true(ci.hosts_changed);
	assert_true(ci.conf_changed);
	assert_file(f, "dhcphosts", "02:00:4c:5f:00:96,10.1.1.150,vm150,infinite\n");
	conf = tu_read(f->dir, "dnsmasq.conf");
	assert_non_null(strstr(conf, "domain=replayed.example,10.1.1.0/24\n"));
	free(conf);
	assert_clean(f);
}

static void
test_bad_journal_is_moved_aside(void **state)
{
	static const char *const bad[] = {
		"VRDJ1 2\nW 1 10.1.1.150.json 5\nhello\n",                  /* torn: no END */
		"VRDJ1 2\nW 1 10.1.1.150.json 5\nhel",                      /* torn mid-data */
		"VRDJ1 2\nD 1 10.1.1.101.json\nEN",                          /* torn mid-END */
		"VRDJ2 2\nD 1 10.1.1.101.json\nEND\n",                       /* wrong magic */
		"VRDJ1 2\nW 1 10.1.1.150.json 50\nhello\nEND\n",             /* length past the end */
		"VRDJ1 2\nW 1 ../etc.json 2\nab\nEND\n",                     /* not an <ip>.json */
		"VRDJ1 2\nW 2 passwd 2\nab\nEND\n",                          /* not an ip */
		"VRDJ1 2\nW 0 dhcphosts 2\nab\nEND\n",                       /* not a source file */
		"VRDJ1 2\nW 3 10.1.1.150 2\nab\nEND\n",                      /* no such directory */
		"VRDJ1 2\nX 1 10.1.1.101.json\nEND\n",                       /* no such operation */
		"VRDJ1 2\nD 1 10.1.1.101.json\nEND\nD 2 10.1.1.101\n",      /* data after END */
		"",
	};
	struct fx *f = *state;
	struct commit_info ci;
	char *doc;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	doc = tu_read(f->dir, "vms/10.1.1.101.json");
	store_close(&f->s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		int r;

		char moved[64];

		tu_write(f->dir, "journal", bad[i], 0600);
		r = store_open(&f->s, f->dir, f->leases, NOBODY, NOBODY, err, sizeof(err));
		if (r != 0)
			fail_msg("journal %zu: store_open returned %d (%s), want 0", i, r, err);
		assert_int_equal(f->s.quarantined, 1);
		store_close(&f->s);
		assert_file(f, "vms/10.1.1.101.json", doc);
		assert_file(f, "passwords/10.1.1.101", "hY7sd8Kq");
		assert_file(f, "generation", "1\n");
		assert_false(tu_exists(f->dir, "vms/10.1.1.150.json"));
		assert_false(tu_exists(f->dir, "journal"));
		/* kept for the operator, byte for byte */
		snprintf(moved, sizeof(moved), i ? "quarantine/top-journal.%zu" : "quarantine/top-journal", i);
		assert_file(f, moved, bad[i]);
	}
	free(doc);
}

static void
test_open_sweeps_temporary_files(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;

	fx_open_load(f, &ci);
	store_close(&f->s);
	tu_write(f->dir, ".dhcphosts.tmp", "x", 0644);
	tu_write(f->dir, "vms/.10.1.1.9.json.tmp", "x", 0644);
	tu_write(f->dir, "passwords/.10.1.1.9.tmp", "x", 0600);
	fx_open(f);
	assert_false(tu_exists(f->dir, ".dhcphosts.tmp"));
	assert_false(tu_exists(f->dir, "vms/.10.1.1.9.json.tmp"));
	assert_false(tu_exists(f->dir, "passwords/.10.1.1.9.tmp"));
	assert_true(tu_exists(f->dir, "dhcphosts"));
}

static void
test_failed_stage_leaves_directory_as_it_was(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	char *before, *doc, *p;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	before = tu_snapshot(&f->st);
	doc = tu_read(f->dir, "vms/10.1.1.101.json");
	/* A directory where the VM document's temporary file must go. */
	p = tu_path(f->dir, "vms/.10.1.1.101.json.tmp");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_true(commit(f, "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':"
	    "[['metadata','new','x']]}", &ci) < 0);
	assert_false(ci.fatal);
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_file(f, "vms/10.1.1.101.json", doc);
	assert_file(f, "generation", "1\n");
	assert_int_equal(f->st.generation, 1);
	assert_clean(f);
	p = tu_snapshot(&f->st);
	assert_string_equal(before, p);
	free(p);
	/* The next batch goes through. */
	commit_ok(f, "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':"
	    "[['metadata','new','x']]}", &ci);
	assert_int_equal(ci.generation, 2);
	free(doc);
	free(before);
}

static void
test_failed_rename_is_completed_by_replay(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	char *p, *q, *want;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	/* A non-empty directory where the new password must be renamed to:
	 * the VM document is already replaced when that rename fails. */
	p = tu_path(f->dir, "passwords/10.1.1.102");
	q = tu_path(p, "x");
	assert_int_equal(mkdir(p, 0700), 0);
	tu_write(p, "x", "", 0600);
	assert_true(commit(f, "[{'type':'vmdata','vm_ip_address':'10.1.1.102','vm_metadata':"
	    "[['metadata','k','v']]},{'ip_address':'10.1.1.102','password':'pw102','type':"
	    "'vmpassword'}]", &ci) < 0);
	assert_true(ci.fatal);
	assert_true(tu_exists(f->dir, "journal"));
	assert_true(tu_exists(f->dir, "vms/10.1.1.102.json"));
	/* vrd exits; the operator clears the obstacle; the restart replays. */
	store_close(&f->s);
	assert_int_equal(unlink(q), 0);
	assert_int_equal(rmdir(p), 0);
	free(q);
	free(p);
	fx_open_load(f, &ci);
	assert_false(tu_exists(f->dir, "journal"));
	assert_file(f, "passwords/10.1.1.102", "pw102");
	assert_file(f, "generation", "2\n");
	assert_int_equal(f->st.generation, 2);
	want = vm_doc_of(&f->st, "10.1.1.102");
	assert_non_null(strstr(want, "\"k\":\"v\""));
	free(want);
	assert_clean(f);
}

/* A state directory written before vrd refused such names may hold a VM
 * called data-server, or by the router's name: it loads, but its name never
 * resolves to it (nor goes to dnsmasq as the lease's name). */
static void
test_reserved_names_loaded_never_resolve(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	char *hosts, *dh, err[512];

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	store_close(&f->s);
	tu_write(f->dir, "vms/10.1.1.150.json", "{\"ip\":\"10.1.1.150\",\"mac\":\"02:00:4c:5f:01:96\","
	    "\"hostname\":\"data-server\"}", 0640);
	tu_write(f->dir, "vms/10.1.1.151.json", "{\"ip\":\"10.1.1.151\",\"mac\":\"02:00:4c:5f:01:97\","
	    "\"hostname\":\"R-1-vm\"}", 0640);
	fx_open(f);
	state_free(&f->st);
	snprintf(f->st.router_name, sizeof(f->st.router_name), "r-1-VM");
	if (store_load(&f->s, &f->st, &ci, err, sizeof(err)) < 0)
		fail_msg("store_load: %s", err);
	assert_int_equal(f->st.nvm, 3);
	assert_string_equal(state_vm(&f->st, 0x0a010196)->host, "");
	assert_string_equal(state_vm(&f->st, 0x0a010197)->host, "");
	hosts = tu_read(f->dir, "hosts");
	assert_string_equal(hosts, "10.1.1.1 data-server\n10.1.1.101 vm1\n");
	dh = tu_read(f->dir, "dhcphosts");
	assert_null(strstr(dh, "data-server"));
	assert_null(strstr(dh, "R-1-vm"));
	assert_non_null(strstr(dh, "02:00:4c:5f:01:96,10.1.1.150,infinite\n"));
	free(hosts);
	free(dh);
}

static void
test_large_batch_and_load_errors(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	struct buf b;
	char *batch, *p, err[512];
	struct state st2;

	fx_open_load(f, &ci);
	buf_init(&b);
	buf_adds(&b, "[");
	for (int i = 0; i < 40; i++)
		buf_addf(&b, "%s{'type':'dhcpentry','mac_address':'02:00:4c:5f:01:%02x',"
		    "'ipv4_address':'10.1.1.%d','host_name':'vm%d'}", i ? "," : "", i, 10 + i, i);
	buf_adds(&b, "]");
	batch = buf_steal(&b, NULL);
	commit_ok(f, batch, &ci); /* over sync_batch: one syncfs instead of fsyncs */
	free(batch);
	assert_int_equal(ci.files, 42); /* 40 documents, dhcphosts, hosts */
	assert_true(tu_exists(f->dir, "vms/10.1.1.49.json"));
	assert_file(f, "generation", "1\n");
	assert_clean(f);
	/* A stray file in vms/ is moved aside; everything else loads. */
	store_close(&f->s);
	tu_write(f->dir, "vms/notes.txt", "x", 0644);
	fx_open(f);
	state_init(&st2);
	assert_int_equal(store_load(&f->s, &st2, &ci, err, sizeof(err)), 0);
	assert_int_equal(st2.nvm, 40);
	assert_int_equal(f->s.quarantined, 1);
	assert_false(tu_exists(f->dir, "vms/notes.txt"));
	assert_file(f, "quarantine/vms-notes.txt", "x");
	state_free(&st2);
	store_close(&f->s);
	/* Of two documents with one MAC, one is moved aside. */
	tu_write(f->dir, "vms/10.1.1.200.json", "{\"ip\":\"10.1.1.200\",\"mac\":\"02:00:4c:5f:01:00\"}",
	    0640);
	fx_open(f);
	state_init(&st2);
	assert_int_equal(store_load(&f->s, &st2, &ci, err, sizeof(err)), 0);
	assert_int_equal(st2.nvm, 40);
	assert_int_equal(f->s.quarantined, 1);
	assert_true(tu_exists(f->dir, "vms/10.1.1.200.json") !=
	    tu_exists(f->dir, "vms/10.1.1.10.json"));
	state_free(&st2);
	(void)p;
}

/* Files no reader could load: moved aside at load, counted, the rest served;
 * and a batch whose document would be over VM_DOC_MAX is refused whole. */
static void
test_unloadable_files_and_size_limits(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	struct buf b;
	char *big, *batch, *doc, err[512];
	struct state st2;
	size_t chunk = MD_VALUE_MAX - 16;

	fx_open_load(f, &ci);
	commit_ok(f, BATCH, &ci);
	doc = tu_read(f->dir, "vms/10.1.1.101.json");
	/* Thirty-two values of 256 KiB each fit every per-value limit, but the
	 * document they make is over VM_DOC_MAX. */
	big = malloc(chunk + 1);
	assert_non_null(big);
	memset(big, 'a', chunk);
	big[chunk] = '\0';
	buf_init(&b);
	buf_adds(&b, "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':[");
	for (int i = 0; i < 32; i++)
		buf_addf(&b, "%s['metadata','k%d','%s']", i ? "," : "", i, big);
	buf_adds(&b, "]}");
	batch = buf_steal(&b, NULL);
	assert_int_equal(commit(f, batch, &ci), -EFBIG);
	assert_int_equal(ci.too_big_ip, 0x0a010165);
	assert_file(f, "vms/10.1.1.101.json", doc); /* nothing written */
	assert_file(f, "generation", "1\n");
	assert_false(tu_exists(f->dir, "journal"));
	free(batch);
	free(big);
	/* Unreadable files of every kind: each moved aside, the VM still served. */
	store_close(&f->s);
	tu_write(f->dir, "vms/10.1.1.7.json", "{not json", 0640);
	big = calloc(1, VM_DOC_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', VM_DOC_MAX + 1);
	tu_write(f->dir, "vms/10.1.1.8.json", big, 0640);
	free(big);
	tu_write(f->dir, "generation", "twelve\n", 0644);
	fx_open(f);
	state_init(&st2);
	assert_int_equal(store_load(&f->s, &st2, &ci, err, sizeof(err)), 0);
	assert_int_equal(f->s.quarantined, 3);
	assert_int_equal(st2.nvm, 1);
	assert_int_equal(st2.nnet, 1);
	assert_int_equal(st2.generation, 0);
	assert_true(tu_exists(f->dir, "quarantine/vms-10.1.1.7.json"));
	assert_true(tu_exists(f->dir, "quarantine/vms-10.1.1.8.json"));
	assert_file(f, "quarantine/top-generation", "twelve\n");
	assert_file(f, "vms/10.1.1.101.json", doc);
	state_free(&st2);
	store_close(&f->s);
	/* A broken networks.json: moved aside, the VMs still load. */
	tu_write(f->dir, "networks.json", "[{\"type\":\"guestnetwork\"}]", 0644);
	fx_open(f);
	state_init(&st2);
	assert_int_equal(store_load(&f->s, &st2, &ci, err, sizeof(err)), 0);
	assert_int_equal(f->s.quarantined, 1);
	assert_int_equal(st2.nnet, 0);
	assert_int_equal(st2.nvm, 1);
	assert_true(tu_exists(f->dir, "quarantine/top-networks.json"));
	state_free(&st2);
	free(doc);
}

#define ENTRY(n) "{'host_name':'vm" #n "','mac_address':'02:00:4c:5f:00:" #n "'," \
	"'ipv4_address':'10.1.1." #n "','default_entry':true,'lease_time':null,'type':'dhcpentry'}"

/* A batch that only adds entries writes their lines to dhcphosts.d/ and
 * hosts.d/ (no SIGHUP); a removal, the added_max-th addition and a start
 * compact: whole files, empty directories, SIGHUP. */
static void
test_additions_go_to_dirs_until_compaction(void **state)
{
	struct fx *f = *state;
	struct commit_info ci;
	struct buf big;

	fx_open_load(f, &ci);
	f->s.added_share = 0; /* any addition, however large, to the directories */
	commit_ok(f, BATCH, &ci); /* a network: whole files */
	assert_true(ci.hosts_changed);
	assert_false(ci.hosts_added);
	commit_ok(f, "[" ENTRY(11) "," ENTRY(12) "]", &ci);
	assert_false(ci.hosts_changed);
	assert_true(ci.hosts_added);
	assert_int_equal(ci.files, 4); /* two documents, dhcphosts.d/1, hosts.d/1 */
	assert_file(f, "dhcphosts.d/1", "02:00:4c:5f:00:11,10.1.1.11,vm11,infinite\n"
	    "02:00:4c:5f:00:12,10.1.1.12,vm12,infinite\n");
	assert_file(f, "hosts.d/1", "10.1.1.11 vm11\n10.1.1.12 vm12\n");
	assert_file(f, "dhcphosts", "02:00:4c:5f:00:01,10.1.1.101,vm1,infinite\n");
	/* metadata only: nothing for dnsmasq */
	commit_ok(f, "[{'type':'vmdata','vm_ip_address':'10.1.1.11','vm_metadata':["
	    "['metadata','instance-id','i-11']]}]", &ci);
	assert_false(ci.hosts_changed || ci.hosts_added);
	assert_false(tu_exists(f->dir, "dhcphosts.d/2"));
	/* a VM known by its data only, then given an entry: an addition */
	commit_ok(f, "[{'type':'vmdata','vm_ip_address':'10.1.1.13','vm_metadata':["
	    "['metadata','instance-id','i-13']]}]", &ci);
	commit_ok(f, "[" ENTRY(13) "]", &ci);
	assert_true(ci.hosts_added);
	assert_file(f, "dhcphosts.d/2", "02:00:4c:5f:00:13,10.1.1.13,vm13,infinite\n");
	/* a removal: whole files with every entry but the removed one */
	commit_ok(f, "[{'host_name':'vm12','mac_address':'02:00:4c:5f:00:12',"
	    "'ipv4_address':'10.1.1.12','default_entry':true,'remove':true,'type':'dhcpentry'}]", &ci);
	assert_true(ci.hosts_changed);
	assert_false(ci.hosts_added);
	assert_file(f, "dhcphosts", "02:00:4c:5f:00:11,10.1.1.11,vm11,infinite\n"
	    "02:00:4c:5f:00:13,10.1.1.13,vm13,infinite\n"
	    "02:00:4c:5f:00:01,10.1.1.101,vm1,infinite\n");
	assert_file(f, "hosts", "10.1.1.1 data-server\n10.1.1.11 vm11\n10.1.1.13 vm13\n"
	    "10.1.1.101 vm1\n");
	assert_int_equal(tu_count_files(f->dir, "dhcphosts.d"), 0);
	assert_int_equal(tu_count_files(f->dir, "hosts.d"), 0);
	/* the IP given to another MAC is a change, not an addition */
	commit_ok(f, "[{'host_name':'vm14','mac_address':'02:00:4c:5f:00:14',"
	    "'ipv4_address':'10.1.1.11','default_entry':true,'lease_time':null,"
	    "'type':'dhcpentry'}]", &ci);
	assert_true(ci.hosts_changed);
	assert_int_equal(tu_count_files(f->dir, "dhcphosts.d"), 0);
	/* the bound: the third addition compacts */
	f->s.added_max = 2;
	commit_ok(f, "[" ENTRY(15) "]", &ci);
	commit_ok(f, "[" ENTRY(16) "]", &ci);
	assert_true(ci.hosts_added);
	assert_int_equal(tu_count_files(f->dir, "dhcphosts.d"), 2);
	commit_ok(f, "[" ENTRY(17) "]", &ci);
	assert_true(ci.hosts_changed);
	assert_false(ci.hosts_added);
	assert_int_equal(tu_count_files(f->dir, "dhcphosts.d"), 0);
	assert_non_null(strstr(tu_read_keep(f, "dhcphosts"), "10.1.1.17,vm17"));
	/* a start compacts what the directories hold */
	commit_ok(f, "[" ENTRY(18) "]", &ci);
	assert_int_equal(tu_count_files(f->dir, "hosts.d"), 1);
	store_close(&f->s);
	fx_open_load(f, &ci);
	f->s.added_share = 0;
	assert_true(ci.hosts_changed);
	assert_int_equal(tu_count_files(f->dir, "dhcphosts.d"), 0);
	assert_int_equal(tu_count_files(f->dir, "hosts.d"), 0);
	assert_non_null(strstr(tu_read_keep(f, "dhcphosts"), "10.1.1.18,vm18"));
	assert_non_null(strstr(tu_read_keep(f, "hosts"), "10.1.1.18 vm18"));
	/* and the next addition starts again at 1 */
	commit_ok(f, "[" ENTRY(19) "]", &ci);
	assert_file(f, "hosts.d/1", "10.1.1.19 vm19\n");
	/* an addition of over 64 entries and a quarter of the VMs compacts; a
	 * smaller one not */
	f->s.added_share = STORE_ADDED_SHARE;
	buf_init(&big);
	for (int i = 0; i <= STORE_ADDED_BULK; i++)
		buf_addf(&big, "%s{'host_name':'b%d','mac_address':'02:00:4c:5f:01:%02x',"
		    "'ipv4_address':'10.1.1.%d','default_entry':true,'type':'dhcpentry'}",
		    i ? "," : "[", i, i, i + 150);
	buf_adds(&big, "]");
	assert_false(big.oom);
	commit_ok(f, big.p, &ci);
	buf_free(&big);
	assert_true(ci.hosts_changed);
	assert_int_equal(tu_count_files(f->dir, "hosts.d"), 0);
	assert_non_null(strstr(tu_read_keep(f, "hosts"), "10.1.1.214 b64"));
	commit_ok(f, "[" ENTRY(24) "," ENTRY(25) "]", &ci);
	assert_true(ci.hosts_added);
	assert_file(f, "hosts.d/1", "10.1.1.24 vm24\n10.1.1.25 vm25\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_dirs_and_load_writes_derived,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commit_writes_every_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_commit_writes_nothing, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_rebuilds_equal_state, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_journal_is_replayed_at_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_journal_is_moved_aside,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_sweeps_temporary_files, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_stage_leaves_directory_as_it_was, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_rename_is_completed_by_replay, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_unloadable_files_and_size_limits, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_reserved_names_loaded_never_resolve, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_large_batch_and_load_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_additions_go_to_dirs_until_compaction, fx_setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
