/* test_render.c: the dnsmasq files and VM documents rendered from a state
 * (dhcp/render.c, state/doc.c) against golden files in tests/golden/, dnsmasq's
 * own syntax check of them, and the VM document round trip.
 *
 * UPDATE_GOLDEN=1 rewrites the golden files instead of comparing; the golden
 * directory is $GOLDEN_DIR, else $ROOT/tests/golden (tests/run.sh exports
 * ROOT), else tests/golden next to this source file. */
#include "testutil.h"

#include <sys/wait.h>

#include "addr.h"

static const struct dnsmasq_paths var_paths = {
	"/var/lib/vrd/dhcphosts", "/var/lib/vrd/dhcpopts", "/var/lib/vrd/hosts",
	"/var/lib/misc/dnsmasq.leases", "/var/lib/vrd/dhcphosts.d", "/var/lib/vrd/hosts.d",
};

/* Two guest networks and the kinds of VM the renderers treat differently. */
static const char state_batch[] = "["
    "{'type':'guestnetwork','device':'eth1','mac_address':'02:00:11:22:33:44',"
    "'router_guest_ip':'10.1.1.1','cidr':'10.1.1.0/24','dns':'10.1.1.1,8.8.8.8',"
    "'domain_name':'cloud.internal','add':true,"
    /* dual stack: DHCPv6 and router advertisements */
    "'router_guest_ip6':'fd00:1:0:0::1','cidr6':'fd00:1::/64',"
    /* the router's own address among the IPv6 DNS servers comes only once */
    "'dns6':'fd00:1::1,2001:db8::53,2001:db8::54'},"
    /* as CloudStack's SetupGuestNetworkCommand sends it: cidr a prefix length;
     * the router's own address goes first in the guests' DNS servers */
    "{'add':true,'device':'eth2','router_guest_ip':'10.2.0.1',"
    "'router_guest_netmask':'255.255.0.0','router_guest_gateway':'10.2.0.254','cidr':'16',"
    "'dns':'8.8.4.4,10.2.0.1',"
    /* dual stack with another router as the IPv6 gateway (a shared
     * network): advertisements from here claim no default route */
    "'router_guest_ip6':'fd00:2::1','cidr6':'64','router_guest_ip6_gateway':'fd00:2::fe',"
    "'dns6':'2001:db8::53','type':'guestnetwork'},"
    /* default NIC, the full CloudStack payload */
    "{'host_name':'vm1','mac_address':'02:00:4c:5f:00:01','ipv4_address':'10.1.1.101',"
    "'ipv6_address':null,'ipv6_duid':'00:03:00:01:02:00:4c:5f:00:01','dns_addresses':'10.1.1.1',"
    "'default_gateway':'10.1.1.1','static_routes':null,'default_entry':true,'remove':false,"
    "'lease_time':null,'type':'dhcpentry','delete_from_processed_cache':false},"
    /* the same VM's second, non-default NIC */
    "{'host_name':'vm1','mac_address':'02:00:4c:5f:00:02','ipv4_address':'10.2.0.50',"
    "'default_entry':false,'type':'dhcpentry'},"
    /* a finite lease, and an IPv6 address (kept canonical) */
    "{'host_name':'vm3','mac_address':'02:00:4c:5f:00:03','ipv4_address':'10.1.1.103',"
    "'ipv6_address':'FD00:1:0::103','lease_time':3600,'type':'dhcpentry'},"
    /* no host name */
    "{'host_name':null,'mac_address':'02:00:4c:5f:00:04','ipv4_address':'10.1.1.104',"
    "'type':'dhcpentry'},"
    "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':["
    "['userdata','user-data','I2Nsb3VkLWNvbmZpZwpwYWNrYWdlczogW2h0b3BdCg=='],"
    "['metadata','instance-id','i-2-101-VM'],['metadata','vm-id','101'],"
    "['metadata','local-hostname','vm1'],['metadata','local-ipv4','10.1.1.101'],"
    "['metadata','availability-zone','zone1'],['metadata','service-offering','Small'],"
    "['metadata','public-keys','ssh-ed25519 AAAAC3Nza one@host\\nssh-rsa AAAAB3Nza two@host'],"
    "['metadata','empty-key',null]]},"
    /* metadata only, no DHCP entry */
    "{'type':'vmdata','vm_ip_address':'10.1.1.105','vm_metadata':["
    "['metadata','instance-id','i-2-105-VM'],['metadata','cloud-identifier','CloudStack-{x}']]}"
    "]";

static void
golden_dir(char *out, size_t len)
{
	const char *g = getenv("GOLDEN_DIR"), *root = getenv("ROOT"), *slash = strrchr(__FILE__, '/');

	if (g && *g)
		snprintf(out, len, "%s", g);
	else if (root && *root)
		snprintf(out, len, "%s/tests/golden", root);
	else if (slash)
		snprintf(out, len, "%.*s/../golden", (int)(slash - __FILE__), __FILE__);
	else
		snprintf(out, len, "../golden");
}

static void
check_golden(const char *name, const char *got)
{
	char dir[4096], *want;
	const char *upd = getenv("UPDATE_GOLDEN");

	golden_dir(dir, sizeof(dir));
	if (upd && !strcmp(upd, "1")) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		assert_true(dfd >= 0);
		assert_int_equal(af_write(dfd, name, got, strlen(got), 0644, AF_KEEP_OWNER, 0), 0);
		close(dfd);
		print_message("# golden %s/%s rewritten\n", dir, name);
		return;
	}
	want = tu_read(dir, name);
	if (!want)
		fail_msg("golden %s/%s missing (UPDATE_GOLDEN=1 writes it)", dir, name);
	if (strcmp(want, got)) {
		print_message("# golden %s/%s differs\n--- want\n%s--- got\n%s---\n", dir, name, want, got);
		free(want);
		fail_msg("%s differs from its golden file", name);
	}
	free(want);
}

static void
build_state(struct state *st)
{
	state_init(st);
	tu_apply_ok(st, state_batch);
	assert_int_equal(st->nnet, 2);
	assert_int_equal(st->nvm, 5);
	assert_int_equal(st->nmac, 4);
}

static void
test_dhcp_files_match_golden(void **state)
{
	struct state st;
	struct buf b;

	(void)state;
	build_state(&st);
	buf_init(&b);
	/* the file set: each name's golden file is what its renderer gives */
	for (int f = 0; f < DF_NFILES; f++) {
		buf_reset(&b);
		dnsmasq_file_render((enum dnsmasq_file)f, &st, &var_paths, &b);
		check_golden(dnsmasq_file_names[f], b.p);
	}
	buf_free(&b);
	state_free(&st);
}

static void
test_empty_state_conf_matches_golden(void **state)
{
	struct state st;
	struct buf b;

	(void)state;
	state_init(&st);
	buf_init(&b);
	dnsmasq_conf_render(&st, &var_paths, &b);
	check_golden("dnsmasq-empty.conf", b.p);
	buf_reset(&b);
	dhcp_hosts_render(&st, &b);
	dhcp_opts_render(&st, &b);
	hosts_render(&st, &b);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	state_free(&st);
}

static void
test_vm_docs_match_golden(void **state)
{
	struct state st;
	struct buf b;

	(void)state;
	build_state(&st);
	buf_init(&b);
	for (size_t i = 0; i < st.nvm; i++) {
		char ip[IP4_STRLEN], name[64];

		ip4_format(st.by_ip[i]->ip, ip);
		snprintf(name, sizeof(name), "vm-%s.json", ip);
		buf_reset(&b);
		assert_int_equal(vm_doc_render(st.by_ip[i], &b), 0);
		check_golden(name, b.p);
	}
	buf_reset(&b);
	assert_int_equal(nets_doc_render(&st, &b), 0);
	check_golden("networks.json", b.p);
	buf_free(&b);
	state_free(&st);
}

/* Runs dnsmasq --test on conf; returns its exit status, its output in out. */
static int
dnsmasq_test(const char *dir, const char *conf, char **out)
{
	char *cmd;
	int status;
	const char *bin = access("/usr/sbin/dnsmasq", X_OK) == 0 ? "/usr/sbin/dnsmasq" : "dnsmasq";

	assert_true(asprintf(&cmd, "%s --test --conf-file=%s/%s >%s/test.out 2>&1", bin, dir, conf,
	    dir) > 0);
	status = system(cmd);
	free(cmd);
	*out = tu_read(dir, "test.out");
	assert_non_null(*out);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* dnsmasq --test reads dnsmasq.conf but not the files it names, so the
 * check file also carries each dhcphosts line as dhcp-host= and each
 * dhcpopts line as dhcp-option=, which is how dnsmasq parses them. */
static char *
check_conf(const struct state *st, const char *dir)
{
	struct buf b, lines;
	char *s;

	buf_init(&b);
	buf_init(&lines);
	buf_addf(&b, "conf-file=%s/dnsmasq.conf\n", dir);
	dhcp_hosts_render(st, &lines);
	for (char *l = lines.p, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		buf_addf(&b, "dhcp-host=%.*s\n", (int)(nl - l), l);
	}
	buf_reset(&lines);
	dhcp_opts_render(st, &lines);
	for (char *l = lines.p, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		buf_addf(&b, "dhcp-option=%.*s\n", (int)(nl - l), l);
	}
	buf_free(&lines);
	s = buf_steal(&b, NULL);
	assert_non_null(s);
	return s;
}

static void
write_rendered(const struct state *st, const char *dir)
{
	struct dnsmasq_paths p;
	struct buf b;

	p.hostsfile = tu_path(dir, "dhcphosts");
	p.optsfile = tu_path(dir, "dhcpopts");
	p.addnhosts = tu_path(dir, "hosts");
	p.leasefile = tu_path(dir, "leases");
	p.hostsdir = tu_path(dir, "dhcphosts.d");
	p.addnhostsdir = tu_path(dir, "hosts.d");
	assert_true(mkdir(p.hostsdir, 0755) == 0 || errno == EEXIST);
	assert_true(mkdir(p.addnhostsdir, 0755) == 0 || errno == EEXIST);
	buf_init(&b);
	dnsmasq_conf_render(st, &p, &b);
	tu_write(dir, "dnsmasq.conf", b.p, 0644);
	buf_reset(&b);
	dhcp_hosts_render(st, &b);
	tu_write(dir, "dhcphosts", b.p ? b.p : "", 0644);
	buf_reset(&b);
	dhcp_opts_render(st, &b);
	tu_write(dir, "dhcpopts", b.p ? b.p : "", 0644);
	buf_reset(&b);
	hosts_render(st, &b);
	tu_write(dir, "hosts", b.p ? b.p : "", 0644);
	buf_free(&b);
	free((char *)p.hostsfile);
	free((char *)p.optsfile);
	free((char *)p.addnhosts);
	free((char *)p.leasefile);
	free((char *)p.hostsdir);
	free((char *)p.addnhostsdir);
}

static void
test_dnsmasq_accepts_rendered_files(void **state)
{
	struct state st;
	char dir[64], *conf, *out, *bad;

	(void)state;
	build_state(&st);
	tu_mkdtemp(dir, sizeof(dir));
	write_rendered(&st, dir);
	conf = check_conf(&st, dir);
	tu_write(dir, "check.conf", conf, 0644);
	if (dnsmasq_test(dir, "check.conf", &out) != 0)
		fail_msg("dnsmasq --test refused the rendered files:\n%s\n%s", conf, out);
	assert_non_null(strstr(out, "syntax check OK"));
	free(out);
	/* The check has teeth: the same host line twice is refused. */
	assert_true(asprintf(&bad, "%sdhcp-host=02:00:4c:5f:00:09,10.1.1.101,other,infinite\n",
	    conf) > 0);
	tu_write(dir, "bad.conf", bad, 0644);
	assert_int_not_equal(dnsmasq_test(dir, "bad.conf", &out), 0);
	free(out);
	free(bad);
	free(conf);
	state_free(&st);

	/* A VR with no guest network yet. */
	state_init(&st);
	write_rendered(&st, dir);
	if (dnsmasq_test(dir, "dnsmasq.conf", &out) != 0)
		fail_msg("dnsmasq --test refused the empty-state dnsmasq.conf:\n%s", out);
	free(out);
	state_free(&st);
	tu_rm_rf(dir);
}

/* A dual-stack network whose IPv6 gateway is another router, alone: no
 * router advertisements at all (CloudStack's dhcpsrvr), DHCPv6 with the
 * router's and the network's DNS servers; with this router as gateway (its
 * own address named, or none): enable-ra. */
static void
test_ra_only_where_this_router_is_the_gateway(void **state)
{
	static const char *const gw6[] = { "'fd00:1::fe'", "'fe80::1'", "'fd00:1::1'", "null" };
	struct state st;
	struct buf b;
	char *j;

	(void)state;
	for (size_t i = 0; i < sizeof(gw6) / sizeof(gw6[0]); i++) {
		bool foreign = i < 2;

		state_init(&st);
		assert_true(asprintf(&j, "[{'type':'guestnetwork','add':true,'device':'eth0',"
		    "'router_guest_ip':'10.1.1.2','cidr':'24','router_guest_gateway':'10.1.1.1',"
		    "'router_guest_ip6':'fd00:1::1','cidr6':'64','router_guest_ip6_gateway':%s,"
		    "'dns6':'2001:db8::53,2001:db8::54'}]", gw6[i]) > 0);
		tu_apply_ok(&st, j);
		free(j);
		assert_int_equal(st.nets[0].has_gw6, foreign);
		buf_init(&b);
		dnsmasq_conf_render(&st, &var_paths, &b);
		assert_int_equal(strstr(b.p, "\nenable-ra\n") == NULL, foreign);
		assert_null(strstr(b.p, "ra-param"));
		assert_non_null(strstr(b.p, "\ndhcp-option=tag:net_eth0,option6:dns-server,"
		    "[fd00:1::1],[2001:db8::53],[2001:db8::54]\n"));
		assert_non_null(strstr(b.p, "\ndhcp-range=set:net_eth0,fd00:1::,static,64,infinite\n"));
		buf_free(&b);
		state_free(&st);
	}
}

static void
assert_round_trip(const struct vm *v)
{
	struct buf b;
	struct vm *back = NULL;
	char err[128] = "";

	buf_init(&b);
	assert_int_equal(vm_doc_render(v, &b), 0);
	if (vm_doc_parse(b.p, b.len, &back, err, sizeof(err)) < 0)
		fail_msg("vm_doc_parse(%s): %s", b.p, err);
	assert_int_equal(back->ip, v->ip);
	if (!vm_equal(v, back))
		fail_msg("round trip changed the VM: %s", b.p);
	assert_int_equal(back->has_dhcp, v->has_dhcp);
	vm_free(back);
	buf_free(&b);
}

static void
test_vm_doc_round_trip(void **state)
{
	struct state st;

	(void)state;
	build_state(&st);
	for (size_t i = 0; i < st.nvm; i++)
		assert_round_trip(st.by_ip[i]);
	state_free(&st);
}

static void
test_vm_doc_binary_user_data(void **state)
{
	static const char bin[] = { (char)0xff, (char)0xfe, 0x00, (char)0x80, 'a', 0x00 };
	static const char latin1[] = { 'c', 'a', 'f', (char)0xe9 }; /* not UTF-8, no NUL */
	static const char utf8[] = "#cloud-config\nname: caf\xc3\xa9\n";
	static const char nul[] = { 'a', 'b', 0x00, 'c', 'd' }; /* UTF-8, but a NUL */
	struct vm *v = vm_new(0x0a010165);
	struct buf b;

	(void)state;
	assert_non_null(v);
	buf_init(&b);
	v->has_ud = true;
	v->udlen = sizeof(bin);
	v->ud = malloc(sizeof(bin) + 1);
	memcpy(v->ud, bin, sizeof(bin));
	v->ud[sizeof(bin)] = '\0';
	assert_int_equal(vm_doc_render(v, &b), 0);
	assert_non_null(strstr(b.p, "\"user_data_base64\":\"//4AgGEA\""));
	assert_null(strstr(b.p, "\"user_data\""));
	assert_round_trip(v);

	free(v->ud);
	v->udlen = sizeof(latin1);
	v->ud = malloc(sizeof(latin1) + 1);
	memcpy(v->ud, latin1, sizeof(latin1));
	v->ud[sizeof(latin1)] = '\0';
	buf_reset(&b);
	assert_int_equal(vm_doc_render(v, &b), 0);
	assert_non_null(strstr(b.p, "\"user_data_base64\":\"Y2Fm6Q==\""));
	assert_round_trip(v);

	free(v->ud);
	v->udlen = sizeof(nul);
	v->ud = malloc(sizeof(nul) + 1);
	memcpy(v->ud, nul, sizeof(nul));
	v->ud[sizeof(nul)] = '\0';
	buf_reset(&b);
	assert_int_equal(vm_doc_render(v, &b), 0);
	assert_non_null(strstr(b.p, "\"user_data_base64\":\"YWIAY2Q=\""));
	assert_round_trip(v);

	free(v->ud);
	v->udlen = strlen(utf8);
	v->ud = strdup(utf8);
	buf_reset(&b);
	assert_int_equal(vm_doc_render(v, &b), 0);
	assert_non_null(strstr(b.p, "\"user_data\":\"#cloud-config\\nname: caf\xc3\xa9\\n\""));
	assert_null(strstr(b.p, "user_data_base64"));
	assert_round_trip(v);

	/* Empty user data is still user data. */
	free(v->ud);
	v->udlen = 0;
	v->ud = strdup("");
	assert_round_trip(v);
	buf_free(&b);
	vm_free(v);
}

static void
test_vm_doc_parse_rejects_bad_documents(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{'ip':'10.1.1.300'}", "{'ip':5}",
		"{'ip':'10.1.1.5','mac':'02:00:4c:5f:00'}",
		"{'ip':'10.1.1.5','mac':'02:00:4c:5f:00:01','hostname':'a,b'}",
		"{'ip':'10.1.1.5','mac':'02:00:4c:5f:00:01','lease_time':60}",
		"{'ip':'10.1.1.5','metadata':{'..':'x'}}",
		"{'ip':'10.1.1.5','metadata':{'k':5}}",
		"{'ip':'10.1.1.5','metadata':['k']}",
		"{'ip':'10.1.1.5','user_data_base64':'%%%'}",
		"{'ip':'10.1.1.5','ipv6_address':7}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *j = tu_json(bad[i]), err[128] = "";
		struct vm *v = NULL;

		if (vm_doc_parse(j, strlen(j), &v, err, sizeof(err)) != -EINVAL)
			fail_msg("vm_doc_parse accepted %s", bad[i]);
		assert_null(v);
		assert_true(err[0] != '\0');
		free(j);
	}
}

static void
test_networks_doc_round_trip(void **state)
{
	static const char pw_doc[] = "[{\"type\":\"vmpassword\",\"ip_address\":\"10.1.1.1\","
	    "\"password\":\"x\"}]";
	struct state st, back;
	struct cmd_batch b;
	struct cmd_error e;
	struct buf one, two;

	(void)state;
	build_state(&st);
	buf_init(&one);
	buf_init(&two);
	assert_int_equal(nets_doc_render(&st, &one), 0);
	assert_int_equal(nets_doc_parse(one.p, one.len, &b, &e), 0);
	assert_int_equal(b.n, 2);
	state_init(&back);
	for (size_t i = 0; i < b.n; i++)
		back.nets[i] = b.v[i].u.gn.net;
	back.nnet = b.n;
	assert_int_equal(nets_doc_render(&back, &two), 0);
	assert_string_equal(one.p, two.p);
	assert_int_equal(back.nets[0].router, st.nets[0].router);
	assert_string_equal(back.nets[0].domain, "cloud.internal");
	assert_true(back.nets[0].has_mac);
	assert_false(back.nets[1].has_mac);
	cmd_batch_free(&b);
	/* Anything but guestnetwork adds is refused. */
	assert_int_equal(nets_doc_parse(pw_doc, strlen(pw_doc), &b, &e), -EINVAL);
	assert_null(b.v);
	buf_free(&one);
	buf_free(&two);
	state_free(&st);
	state_free(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcp_files_match_golden),
		cmocka_unit_test(test_empty_state_conf_matches_golden),
		cmocka_unit_test(test_vm_docs_match_golden),
		cmocka_unit_test(test_dnsmasq_accepts_rendered_files),
		cmocka_unit_test(test_ra_only_where_this_router_is_the_gateway),
		cmocka_unit_test(test_vm_doc_round_trip),
		cmocka_unit_test(test_vm_doc_binary_user_data),
		cmocka_unit_test(test_vm_doc_parse_rejects_bad_documents),
		cmocka_unit_test(test_networks_doc_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
