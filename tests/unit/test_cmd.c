/* test_cmd.c: cmd_batch_parse on CloudStack's payloads and the validators
 * (vrd/cmd.c): what is accepted, and the status/index/field of each refusal. */
#include "testutil.h"

#include "addr.h"

/* A dhcpentry with the given raw (single-quoted JSON) values. */
static char *
dhcp_obj(const char *mac, const char *ip, const char *host, const char *lease)
{
	char *s;

	assert_true(asprintf(&s, "{'host_name':%s,'mac_address':%s,'ipv4_address':%s,"
	    "'ipv6_address':null,'default_entry':true,'remove':false,'lease_time':%s,"
	    "'type':'dhcpentry'}", host, mac, ip, lease) > 0);
	return s;
}

static void
expect_bad(const char *sq, int status, long index, const char *field)
{
	struct cmd_batch b = { (struct cmd *)1, 99 };
	struct cmd_error e;
	int r = tu_parse(sq, &b, &e);

	if (r >= 0 || e.status != status || e.index != index || strcmp(e.field, field))
		fail_msg("input %s: r=%d status=%d index=%ld field='%s' msg='%s'; want %d %ld '%s'",
		    sq, r, e.status, e.index, e.field, e.msg, status, index, field);
	assert_true(e.msg[0] != '\0');
	assert_null(b.v); /* on failure out is empty */
	assert_int_equal(b.n, 0);
}

static void
expect_ok(const char *sq, struct cmd_batch *b)
{
	struct cmd_error e;
	int r = tu_parse(sq, b, &e);

	if (r < 0)
		fail_msg("input %s: r=%d status=%d index=%ld field='%s' msg='%s'", sq, r, e.status,
		    e.index, e.field, e.msg);
}

static void
bad_host(const char *host_sq)
{
	char *o = dhcp_obj("'02:00:4c:5f:00:01'", "'10.1.1.101'", host_sq, "null");

	expect_bad(o, 400, 0, "host_name");
	free(o);
}

static uint32_t
ip(const char *s)
{
	uint32_t a;

	assert_int_equal(ip4_parse(s, &a), 0);
	return a;
}

static void
test_dhcpentry_cloudstack_payload(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x4c, 0x5f, 0x00, 0x01 };
	struct cmd_batch b;
	const struct cmd_dhcp *d;

	(void)state;
	expect_ok("{'host_name':'vm1','mac_address':'02:00:4c:5f:00:01','ipv4_address':'10.1.1.101',"
	    "'ipv6_address':null,'ipv6_duid':'00:03:00:01:02:00:4c:5f:00:01','dns_addresses':'10.1.1.1',"
	    "'default_gateway':'10.1.1.1','static_routes':null,'default_entry':true,'remove':false,"
	    "'lease_time':null,'type':'dhcpentry','delete_from_processed_cache':false}", &b);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CMD_DHCPENTRY);
	assert_int_equal(b.v[0].ip, ip("10.1.1.101"));
	d = &b.v[0].u.dhcp;
	assert_memory_equal(d->mac, mac, 6);
	assert_string_equal(d->host, "vm1");
	assert_true(d->default_entry);
	assert_false(d->remove);
	assert_int_equal(d->lease, LEASE_INFINITE);
	assert_null(d->ipv6);
	assert_string_equal(d->duid, "00:03:00:01:02:00:4c:5f:00:01");
	assert_string_equal(d->dns, "10.1.1.1");
	assert_string_equal(d->gw, "10.1.1.1");
	assert_string_equal(cmd_type_name(b.v[0].type), "dhcpentry");
	cmd_batch_free(&b);
	assert_null(b.v);
}

static void
test_dhcpentry_variants(void **state)
{
	struct cmd_batch b;

	(void)state;
	/* Non-default NIC, removal, Gson's string booleans, lease as number and
	 * as string, no host name, upper-case and '-' separated MAC. */
	expect_ok("[{'type':'dhcpentry','mac_address':'02-00-4C-5F-00-0A','ipv4_address':'10.1.1.102',"
	    "'default_entry':'false','remove':'true','lease_time':3600,'host_name':null},"
	    "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0b','ipv4_address':'10.1.1.103',"
	    "'lease_time':'120','host_name':''},"
	    "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0c','ipv4_address':'10.1.1.104',"
	    "'ipv6_address':'fd00::5','dns_addresses':'10.1.1.1, 8.8.8.8'}]", &b);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.v[0].u.dhcp.mac[5], 0x0a);
	assert_int_equal(b.v[0].u.dhcp.mac[2], 0x4c);
	assert_false(b.v[0].u.dhcp.default_entry);
	assert_true(b.v[0].u.dhcp.remove);
	assert_int_equal(b.v[0].u.dhcp.lease, 3600);
	assert_string_equal(b.v[0].u.dhcp.host, "");
	assert_int_equal(b.v[1].u.dhcp.lease, 120);
	assert_true(b.v[1].u.dhcp.default_entry); /* absent: default */
	assert_false(b.v[1].u.dhcp.remove);
	assert_string_equal(b.v[1].u.dhcp.host, "");
	assert_string_equal(b.v[2].u.dhcp.ipv6, "fd00::5");
	assert_string_equal(b.v[2].u.dhcp.dns, "10.1.1.1, 8.8.8.8");
	assert_int_equal(b.v[2].ip, ip("10.1.1.104"));
	cmd_batch_free(&b);
	/* kept canonical: dnsmasq reads it as written */
	expect_ok("{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0c','ipv4_address':'10.1.1.104',"
	    "'ipv6_address':'FD00:0:0:0::0005'}", &b);
	assert_string_equal(b.v[0].u.dhcp.ipv6, "fd00::5");
	cmd_batch_free(&b);
	/* the router's cs_dhcp merge: "add": false is a removal, whatever remove says */
	expect_ok("[{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0d','ipv4_address':'10.1.1.105',"
	    "'default_entry':true,'remove':false,'add':false},"
	    "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0e','ipv4_address':'10.1.1.106',"
	    "'remove':false,'add':true}]", &b);
	assert_true(b.v[0].u.dhcp.remove);
	assert_false(b.v[1].u.dhcp.remove);
	cmd_batch_free(&b);
	expect_bad("{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:0d','ipv4_address':'10.1.1.105',"
	    "'add':'no'}", 400, 0, "add");
}

static void
test_vmpassword_payload(void **state)
{
	struct cmd_batch b;

	(void)state;
	expect_ok("{'ip_address':'10.1.1.101','password':'hY7sd8Kq','type':'vmpassword'}", &b);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CMD_VMPASSWORD);
	assert_int_equal(b.v[0].ip, ip("10.1.1.101"));
	assert_string_equal(b.v[0].u.password, "hY7sd8Kq");
	cmd_batch_free(&b);
}

static void
test_vmdata_payload(void **state)
{
	static const char *const keys[] = { "service-offering", "availability-zone", "local-ipv4",
		"local-hostname", "public-ipv4", "public-hostname", "instance-id", "vm-id",
		"public-keys", "cloud-identifier", "hypervisor-host-name", "my_custom.key" };
	struct cmd_batch b;
	char body[4096];
	size_t off;

	(void)state;
	off = (size_t)snprintf(body, sizeof(body), "{'vm_ip_address':'10.1.1.101','type':'vmdata',"
	    "'vm_metadata':[['userdata','user-data','I2Nsb3VkLWNvbmZpZwo=']");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off, ",['metadata','%s','v%zu']",
		    keys[i], i);
	snprintf(body + off, sizeof(body) - off, "]}");
	expect_ok(body, &b);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].type, CMD_VMDATA);
	assert_int_equal(b.v[0].ip, ip("10.1.1.101"));
	assert_int_equal(b.v[0].u.data.n, 13);
	assert_true(b.v[0].u.data.ops[0].userdata);
	assert_string_equal(b.v[0].u.data.ops[0].key, "user-data");
	assert_int_equal(b.v[0].u.data.ops[0].len, 14);
	assert_memory_equal(b.v[0].u.data.ops[0].val, "#cloud-config\n", 14);
	for (size_t i = 0; i < 12; i++) {
		char want[8];

		snprintf(want, sizeof(want), "v%zu", i);
		assert_false(b.v[0].u.data.ops[i + 1].userdata);
		assert_string_equal(b.v[0].u.data.ops[i + 1].key, keys[i]);
		assert_string_equal(b.v[0].u.data.ops[i + 1].val, want);
		assert_int_equal(b.v[0].u.data.ops[i + 1].len, strlen(want));
	}
	cmd_batch_free(&b);
}

static void
test_guestnetwork_payload(void **state)
{
	struct cmd_batch b;
	const struct net *n;

	(void)state;
	expect_ok("[{'device':'eth1','mac_address':'02:00:11:22:33:44','router_guest_ip':'10.1.1.1',"
	    "'cidr':'10.1.1.0/24','dns':'10.1.1.1,8.8.8.8','domain_name':'cloud.internal',"
	    "'add':true,'type':'guestnetwork'},"
	    "{'device':'eth2','add':false,'type':'guestnetwork'}]", &b);
	assert_int_equal(b.n, 2);
	n = &b.v[0].u.gn.net;
	assert_int_equal(b.v[0].type, CMD_GUESTNETWORK);
	assert_true(b.v[0].u.gn.add);
	assert_string_equal(n->dev, "eth1");
	assert_true(n->has_mac);
	assert_int_equal(n->mac[5], 0x44);
	assert_int_equal(n->router, ip("10.1.1.1"));
	assert_int_equal(n->net, ip("10.1.1.0"));
	assert_int_equal(n->prefix, 24);
	assert_int_equal(n->ndns, 2);
	assert_int_equal(n->dns[1], ip("8.8.8.8"));
	assert_string_equal(n->domain, "cloud.internal");
	assert_false(b.v[1].u.gn.add);
	assert_string_equal(b.v[1].u.gn.net.dev, "eth2");
	cmd_batch_free(&b);
	/* CloudStack's own guest_network.json: cidr is the prefix length, the
	 * network is the router's address under it (Gson: nulls left out) */
	expect_ok("{'add':true,'mac_address':'02:00:11:22:33:44','device':'eth0',"
	    "'router_guest_ip':'10.1.1.1','router_guest_netmask':'255.255.255.0',"
	    "'router_guest_gateway':'10.1.1.254','cidr':'24','dns':'8.8.8.8',"
	    "'domain_name':'cs1cloud.internal','type':'guestnetwork',"
	    "'delete_from_processed_cache':false}", &b);
	n = &b.v[0].u.gn.net;
	assert_int_equal(n->router, ip("10.1.1.1"));
	assert_int_equal(n->net, ip("10.1.1.0"));
	assert_int_equal(n->prefix, 24);
	assert_int_equal(n->gw, ip("10.1.1.254")); /* a shared network's own gateway */
	cmd_batch_free(&b);
	expect_ok("{'type':'guestnetwork','device':'eth0','router_guest_ip':'172.16.5.9','cidr':'20',"
	    "'router_guest_gateway':'172.16.5.9'}", &b);
	assert_int_equal(b.v[0].u.gn.net.net, ip("172.16.0.0"));
	assert_int_equal(b.v[0].u.gn.net.prefix, 20);
	assert_int_equal(b.v[0].u.gn.net.gw, 0); /* the router itself */
	cmd_batch_free(&b);
}

static void
test_batch_array_of_every_type(void **state)
{
	struct cmd_batch b;

	(void)state;
	expect_ok("[{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'10.1.1.0/24'},"
	    "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:01','ipv4_address':'10.1.1.101'},"
	    "{'type':'vmpassword','ip_address':'10.1.1.101','password':'x'},"
	    "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':[]}]", &b);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.v[0].type, CMD_GUESTNETWORK);
	assert_int_equal(b.v[1].type, CMD_DHCPENTRY);
	assert_int_equal(b.v[2].type, CMD_VMPASSWORD);
	assert_int_equal(b.v[3].type, CMD_VMDATA);
	assert_int_equal(b.v[3].u.data.n, 0);
	cmd_batch_free(&b);
	expect_ok("[]", &b);
	assert_int_equal(b.n, 0);
	cmd_batch_free(&b);
}

static void
test_unknown_keys_and_processed_cache_ignored(void **state)
{
	struct cmd_batch b;

	(void)state;
	expect_ok("{'type':'vmpassword','ip_address':'10.1.1.101','password':'pw',"
	    "'delete_from_processed_cache':true,'frobnicate':[1,{'a':null}],'zz':'\\n,#'}", &b);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.v[0].u.password, "pw");
	cmd_batch_free(&b);
}

static void
test_malformed_or_wrong_body(void **state)
{
	(void)state;
	expect_bad("", 400, -1, "");
	expect_bad("{", 400, -1, "");
	expect_bad("[{'type':'vmpassword'},", 400, -1, "");
	expect_bad("{'type':'vmpassword','ip_address':'10.1.1.1','password':'x'} x", 400, -1, "");
	expect_bad("{'type':'vmpassword','ip_address':'10.1.1.1','password':'x','type':'vmdata'}",
	    400, -1, "");
	expect_bad("42", 400, -1, "");
	expect_bad("'dhcpentry'", 400, -1, "");
	expect_bad("null", 400, -1, "");
	expect_bad("true", 400, -1, "");
	/* An array element that is not an object. */
	expect_bad("[{'type':'vmpassword','ip_address':'10.1.1.1','password':'x'},5]", 400, 1, "");
	expect_bad("[[]]", 400, 0, "");
}

static void
test_missing_or_unknown_type(void **state)
{
	(void)state;
	expect_bad("{}", 400, 0, "type");
	expect_bad("{'ip_address':'10.1.1.1','password':'x'}", 400, 0, "type");
	expect_bad("{'type':'vmpasswords','ip_address':'10.1.1.1','password':'x'}", 400, 0, "type");
	expect_bad("{'type':7}", 400, 0, "type");
	expect_bad("{'type':null}", 400, 0, "type");
	expect_bad("[{'type':'vmpassword','ip_address':'10.1.1.1','password':'x'},"
	    "{'type':'vmpassword','ip_address':'10.1.1.2','password':'y'},{'type':'bogus'}]",
	    400, 2, "type");
}

static void
test_bad_mac(void **state)
{
	static const char *const macs[] = { "'02:00:4c:5f:00'", "'02:00:4c:5f:00:0g'",
		"'02:00:4c:5f:00:01:02'", "'02:00-4c:5f:00:01'", "'0200.4c5f.0001'", "'2:0:4c:5f:0:1'",
		"'01:00:5e:00:00:01'", "'03:00:4c:5f:00:01'", "'ff:ff:ff:ff:ff:ff'", "''", "null", "5",
		"'02:00:4c:5f:00:01 '" };

	(void)state;
	for (size_t i = 0; i < sizeof(macs) / sizeof(macs[0]); i++) {
		char *o = dhcp_obj(macs[i], "'10.1.1.101'", "'vm1'", "null");

		expect_bad(o, 400, 0, "mac_address");
		free(o);
	}
	expect_bad("{'type':'guestnetwork','device':'eth1','mac_address':'zz','router_guest_ip':"
	    "'10.1.1.1','cidr':'10.1.1.0/24'}", 400, 0, "mac_address");
}

static void
test_bad_ipv4(void **state)
{
	static const char *const ips[] = { "'010.1.1.101'", "'10.1.1.256'", "'10.1.1.101x'",
		"'10.1.1.101 '", "' 10.1.1.101'", "'10.1.1'", "'10.1.1.1.1'", "'10.1.1.-1'", "''",
		"null", "167837029", "'0.0.0.0'", "'255.255.255.255'", "'127.0.0.1'", "'224.0.0.1'",
		"'240.0.0.1'", "'10.1.1.01'" };

	(void)state;
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		char *o = dhcp_obj("'02:00:4c:5f:00:01'", ips[i], "'vm1'", "null"), *j;

		expect_bad(o, 400, 0, "ipv4_address");
		free(o);
		assert_true(asprintf(&j, "[{'type':'vmdata','vm_ip_address':'10.1.1.2'},"
		    "{'type':'vmpassword','ip_address':%s,'password':'x'}]", ips[i]) > 0);
		expect_bad(j, 400, 1, "ip_address");
		free(j);
		assert_true(asprintf(&j, "{'type':'vmdata','vm_ip_address':%s,'vm_metadata':[]}",
		    ips[i]) > 0);
		expect_bad(j, 400, 0, "vm_ip_address");
		free(j);
	}
}

static void
test_bad_hostnames(void **state)
{
	static const char *const hosts[] = { "'vm,1'", "'vm\\n1'", "'vm 1'", "'vm#1'", "'12345'",
		"'5d'", "'5M'", "'infinite'", "'INFINITE'", "'ignore'", "'02-00-4c-5f-00-09'",
		"'vm.example'", "'vm_1'", "'-vm'", "'vm-'", "'vm=1'", "'v\\u00e9'", "7" };
	char big[80];

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		bad_host(hosts[i]);
	memset(big, 'a', sizeof(big));
	big[0] = big[65] = '\'';
	big[66] = '\0'; /* 64 letters between the quotes */
	bad_host(big);
}

static void
test_lease_time(void **state)
{
	static const char *const bad[] = { "119", "0", "-1", "'abc'", "'12a'", "''", "'-200'",
		"3.5", "true", "2147483648", "'99999999999'" };
	struct cmd_batch b;
	char *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = dhcp_obj("'02:00:4c:5f:00:01'", "'10.1.1.101'", "'vm1'", bad[i]);
		expect_bad(o, 400, 0, "lease_time");
		free(o);
	}
	o = dhcp_obj("'02:00:4c:5f:00:01'", "'10.1.1.101'", "'vm1'", "2147483647");
	expect_ok(o, &b);
	assert_int_equal(b.v[0].u.dhcp.lease, 2147483647);
	cmd_batch_free(&b);
	free(o);
}

static void
test_other_dhcp_fields(void **state)
{
#define D "{'type':'dhcpentry','mac_address':'02:00:4c:5f:00:01','ipv4_address':'10.1.1.5',"
	(void)state;
	expect_bad(D "'dns_addresses':'10.1.1.1;8.8.8.8'}", 400, 0, "dns_addresses");
	expect_bad(D "'default_gateway':'10.1.1'}", 400, 0, "default_gateway");
	expect_bad(D "'ipv6_address':'fd00:::5:'}", 400, 0, "ipv6_address");
	expect_bad(D "'ipv6_address':'::'}", 400, 0, "ipv6_address");
	expect_bad(D "'ipv6_address':'::1'}", 400, 0, "ipv6_address");
	expect_bad(D "'ipv6_address':'ff02::1'}", 400, 0, "ipv6_address");
	expect_bad(D "'ipv6_duid':'00:03,x'}", 400, 0, "ipv6_duid");
	expect_bad(D "'remove':'yes'}", 400, 0, "remove");
	expect_bad(D "'default_entry':1}", 400, 0, "default_entry");
#undef D
}

/* A refused triple is left out and reported; the valid ones are kept. */
static void
test_metadata_keys_and_triples(void **state)
{
	static const char *const triples[] = { "['metadata','..','x']", "['metadata','.','x']",
		"['metadata','a/b','x']", "['metadata','','x']", "['metadata','a b','x']",
		"['metadata',' instance-id','x']",
		"['meta-data','instance-id','x']", "['','instance-id','x']",
		"['userdata','meta-data','eA==']", "['userdata','user_data','eA==']",
		"['metadata','instance-id']", "['metadata','instance-id','x','y']",
		"['metadata','instance-id',5]", "{'a':'b'}", "['userdata','user-data','!!!notbase64']",
		"['userdata','user-data','eA=x']", "['userdata','user-data','e']" };
	struct cmd_batch b;
	char *j;

	(void)state;
	for (size_t i = 0; i < sizeof(triples) / sizeof(triples[0]); i++) {
		assert_true(asprintf(&j, "{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':"
		    "[['metadata','ok','v'],%s,['metadata','after','w']]}", triples[i]) > 0);
		expect_ok(j, &b);
		assert_int_equal(b.v[0].u.data.n, 2);
		assert_string_equal(b.v[0].u.data.ops[0].key, "ok");
		assert_string_equal(b.v[0].u.data.ops[1].key, "after");
		assert_string_equal(b.v[0].u.data.ops[1].val, "w");
		assert_int_equal(b.v[0].u.data.nskipped, 1);
		if (!strstr(b.v[0].u.data.skipped[0], "vm_metadata[1]"))
			fail_msg("%s: skipped message '%s' does not name vm_metadata[1]", triples[i],
			    b.v[0].u.data.skipped[0]);
		cmd_batch_free(&b);
		free(j);
	}
	/* every triple bad: nothing to store, all reported */
	expect_ok("{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':"
	    "[['metadata',' a','x'],['metadata','b c','y']]}", &b);
	assert_int_equal(b.v[0].u.data.n, 0);
	assert_int_equal(b.v[0].u.data.nskipped, 2);
	cmd_batch_free(&b);
	/* what is not a triple list at all still refuses the command */
	expect_bad("{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':'x'}", 400, 0,
	    "vm_metadata");
	expect_bad("{'type':'vmdata','vm_ip_address':'10.1.1 .101','vm_metadata':[]}", 400, 0,
	    "vm_ip_address");
}

static void
test_userdata_base64_and_content_semantics(void **state)
{
	struct cmd_batch b;
	const struct md_op *op;

	(void)state;
	expect_ok("{'type':'vmdata','vm_ip_address':'10.1.1.101','vm_metadata':["
	    "['userdata','user-data','I2Nsb3VkLWNvbmZpZwo'],"  /* padding missing */
	    "['userdata','user-data','QQ'],"                   /* "A", two '=' missing */
	    "['userdata','user-data','QUI\\nD'],"              /* whitespace inside */
	    "['metadata','gone',''],"                          /* "" deletes */
	    "['metadata','empty',null],"                       /* null: empty value */
	    "['userdata','user-data','']]}", &b);
	assert_int_equal(b.v[0].u.data.n, 6);
	op = b.v[0].u.data.ops;
	assert_int_equal(op[0].len, 14);
	assert_memory_equal(op[0].val, "#cloud-config\n", 15); /* and NUL-terminated */
	assert_int_equal(op[1].len, 1);
	assert_string_equal(op[1].val, "A");
	assert_int_equal(op[2].len, 3); /* "QUID" with a newline inside */
	assert_memory_equal(op[2].val, "AB\x03", 3);
	assert_false(op[3].userdata);
	assert_string_equal(op[3].key, "gone");
	assert_null(op[3].val);
	assert_string_equal(op[4].key, "empty");
	assert_non_null(op[4].val);
	assert_int_equal(op[4].len, 0);
	assert_string_equal(op[4].val, "");
	assert_true(op[5].userdata);
	assert_null(op[5].val);
	cmd_batch_free(&b);
}

static void
test_password_validation(void **state)
{
	static const char *const bad[] = { "'pass\\u0001word'", "'tab\\there'", "'new\\nline'",
		"'del\\u007f'", "''", "null", "5" };
	char big[300], *j;
	struct cmd_batch b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&j, "{'type':'vmpassword','ip_address':'10.1.1.101','password':%s}",
		    bad[i]) > 0);
		expect_bad(j, 400, 0, "password");
		free(j);
	}
	expect_bad("{'type':'vmpassword','ip_address':'10.1.1.101'}", 400, 0, "password");
	memset(big, 'p', sizeof(big));
	big[256] = '\0';
	assert_true(asprintf(&j, "{'type':'vmpassword','ip_address':'10.1.1.101','password':'%s'}",
	    big) > 0);
	expect_bad(j, 400, 0, "password");
	free(j);
	big[255] = '\0';
	assert_true(asprintf(&j, "{'type':'vmpassword','ip_address':'10.1.1.101','password':'%s'}",
	    big) > 0);
	expect_ok(j, &b);
	assert_int_equal(strlen(b.v[0].u.password), 255);
	cmd_batch_free(&b);
	free(j);
	/* Anything printable, UTF-8 included, is a password. */
	expect_ok("{'type':'vmpassword','ip_address':'10.1.1.101','password':'a b,#\\u00e9\\\"'}", &b);
	assert_string_equal(b.v[0].u.password, "a b,#\xc3\xa9\"");
	cmd_batch_free(&b);
}

static void
test_guestnetwork_validation(void **state)
{
	static const struct {
		const char *router, *cidr, *dns, *domain, *field;
	} bad[] = {
		{ "'10.1.2.1'", "'10.1.1.0/24'", "null", "null", "router_guest_ip" },
		{ "'10.1.1.0'", "'10.1.1.0/24'", "null", "null", "router_guest_ip" },
		{ "'10.1.1.255'", "'10.1.1.0/24'", "null", "null", "router_guest_ip" },
		{ "null", "'10.1.1.0/24'", "null", "null", "router_guest_ip" },
		{ "'10.1.1.1'", "'10.1.1.0/31'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'10.1.1.0/32'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'10.0.0.0/7'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'10.1.1.0/24x'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'10.1.1.0'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "null", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'31'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'7'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'024'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "'2 4'", "null", "null", "cidr" },
		{ "'10.1.1.1'", "''", "null", "null", "cidr" },
		{ "'10.1.1.0'", "'24'", "null", "null", "router_guest_ip" },
		{ "'10.1.1.255'", "'24'", "null", "null", "router_guest_ip" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "'10.1.1.1;8.8.8.8'", "null", "dns" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "'1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,"
		    "1.1.1.7,1.1.1.8,1.1.1.9'", "null", "dns" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "null", "'cloud..internal'", "domain_name" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "null", "'-cloud.internal'", "domain_name" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "null", "'cloud.internal.'", "domain_name" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "null", "'cloud internal'", "domain_name" },
		{ "'10.1.1.1'", "'10.1.1.0/24'", "null", "'a,b'", "domain_name" },
	};
	struct cmd_batch b;
	char *j;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&j, "{'type':'guestnetwork','device':'eth1','router_guest_ip':%s,"
		    "'cidr':%s,'dns':%s,'domain_name':%s,'add':true}", bad[i].router, bad[i].cidr,
		    bad[i].dns, bad[i].domain) > 0);
		expect_bad(j, 400, 0, bad[i].field);
		free(j);
	}
	expect_bad("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_netmask':'255.255.0.0'}", 400, 0, "router_guest_netmask");
	expect_bad("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_netmask':'x'}", 400, 0, "router_guest_netmask");
	expect_bad("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_gateway':'10.1.2.1'}", 400, 0, "router_guest_gateway");
	expect_bad("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_gateway':'10.1.1.255'}", 400, 0, "router_guest_gateway");
	/* dual stack */
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_ip6':'fd00:1::1','cidr6':'fd00:1::/64'}", &b);
	assert_true(b.v[0].u.gn.net.has6);
	assert_int_equal(b.v[0].u.gn.net.prefix6, 64);
	assert_int_equal(b.v[0].u.gn.net.router6[15], 1);
	assert_int_equal(b.v[0].u.gn.net.net6[1], 0);
	cmd_batch_free(&b);
	/* the length alone: the prefix is the router's */
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_ip6':'fd00:1:2:3:4::9','cidr6':'80'}", &b);
	assert_true(b.v[0].u.gn.net.has6);
	assert_int_equal(b.v[0].u.gn.net.prefix6, 80);
	assert_int_equal(b.v[0].u.gn.net.net6[9], 4);
	assert_int_equal(b.v[0].u.gn.net.net6[10], 0);
	assert_int_equal(b.v[0].u.gn.net.net6[15], 0);
	cmd_batch_free(&b);
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24'}", &b);
	assert_false(b.v[0].u.gn.net.has6);
	cmd_batch_free(&b);
	{
		static const char *const v6bad[][3] = {
			{ "'fd00:1::1'", "null", "cidr6" },
			{ "null", "'fd00:1::/64'", "router_guest_ip6" },
			{ "'fd00:1::1'", "'fd00:1::/63'", "cidr6" },
			{ "'fd00:1::1'", "'fd00:1::/121'", "cidr6" },
			{ "'fd00:1::1'", "'fd00:1::1/64'", "cidr6" },     /* host bits set */
			{ "'fd00:2::1'", "'fd00:1::/64'", "cidr6" },      /* not in the prefix */
			{ "'fd00:1::'", "'fd00:1::/64'", "router_guest_ip6" },
			{ "'10.1.1.1'", "'fd00:1::/64'", "router_guest_ip6" },
			{ "'fd00:1::1'", "'fd00:1::/6x'", "cidr6" },
			{ "'fd00:1::1'", "'fd00:1::/'", "cidr6" },
			{ "'fd00:1::1'", "'63'", "cidr6" },
			{ "'fd00:1::1'", "'+64'", "cidr6" },
			{ "'fd00:1::1'", "'64x'", "cidr6" },
			{ "'fd00:1::'", "'64'", "router_guest_ip6" },
		};

		for (size_t i = 0; i < sizeof(v6bad) / sizeof(v6bad[0]); i++) {
			assert_true(asprintf(&j, "{'type':'guestnetwork','device':'eth1','router_guest_ip':"
			    "'10.1.1.1','cidr':'24','router_guest_ip6':%s,'cidr6':%s}", v6bad[i][0],
			    v6bad[i][1]) > 0);
			expect_bad(j, 400, 0, v6bad[i][2]);
			free(j);
		}
	}
	/* the network's IPv6 gateway and DNS servers (CloudStack's GuestNetwork) */
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_ip6':'fd00:1::1','cidr6':'64','router_guest_ip6_gateway':'fd00:1::fe',"
	    "'dns6':'2001:db8::53, fd00:1::1'}", &b);
	assert_true(b.v[0].u.gn.net.has_gw6);
	assert_int_equal(b.v[0].u.gn.net.gw6[15], 0xfe);
	assert_int_equal(b.v[0].u.gn.net.ndns6, 2);
	assert_int_equal(b.v[0].u.gn.net.dns6[0][15], 0x53);
	cmd_batch_free(&b);
	/* this router's own address as the gateway: not another router */
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_ip6':'fd00:1::1','cidr6':'64','router_guest_ip6_gateway':'FD00:1::1'}", &b);
	assert_false(b.v[0].u.gn.net.has_gw6);
	cmd_batch_free(&b);
	/* an IPv4-only network ignores them */
	expect_ok("{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'24',"
	    "'router_guest_ip6_gateway':'fd00:1::fe','dns6':'2001:db8::53'}", &b);
	assert_false(b.v[0].u.gn.net.has_gw6);
	assert_int_equal(b.v[0].u.gn.net.ndns6, 0);
	cmd_batch_free(&b);
	{
		static const char *const gwbad[][2] = {
			{ "'router_guest_ip6_gateway':'fd00:2::fe'", "router_guest_ip6_gateway" },
			{ "'router_guest_ip6_gateway':'fd00:1::'", "router_guest_ip6_gateway" },
			{ "'router_guest_ip6_gateway':'ff02::2'", "router_guest_ip6_gateway" },
			{ "'router_guest_ip6_gateway':'10.1.1.254'", "router_guest_ip6_gateway" },
			{ "'router_guest_ip6_gateway':7", "router_guest_ip6_gateway" },
			{ "'dns6':'10.1.1.1'", "dns6" },
			{ "'dns6':'::'", "dns6" },
			{ "'dns6':'ff02::1'", "dns6" },
			{ "'dns6':'2001:db8::53,,x'", "dns6" },
			{ "'dns6':'1::1,1::2,1::3,1::4,1::5,1::6,1::7,1::8,1::9'", "dns6" },
		};

		for (size_t i = 0; i < sizeof(gwbad) / sizeof(gwbad[0]); i++) {
			assert_true(asprintf(&j, "{'type':'guestnetwork','device':'eth1','router_guest_ip':"
			    "'10.1.1.1','cidr':'24','router_guest_ip6':'fd00:1::1','cidr6':'64',%s}",
			    gwbad[i][0]) > 0);
			expect_bad(j, 400, 0, gwbad[i][1]);
			free(j);
		}
	}
	expect_bad("{'type':'guestnetwork','add':false}", 400, 0, "device");
	expect_bad("{'type':'guestnetwork','device':'eth/1','add':false}", 400, 0, "device");
	expect_bad("{'type':'guestnetwork','device':'ethernet0123456789','add':false}", 400, 0,
	    "device");
	expect_bad("{'type':'guestnetwork','device':'..','add':false}", 400, 0, "device");
	expect_bad("{'type':'guestnetwork','device':'eth1','add':'maybe'}", 400, 0, "add");
}

static void
test_batch_over_max(void **state)
{
	static const char elem[] = "{\"type\":\"vmpassword\",\"ip_address\":\"10.1.1.5\",\"password\":\"p\"}";
	size_t n = BATCH_MAX + 1, el = strlen(elem), len = 1 + n * (el + 1);
	struct cmd_batch b = { NULL, 0 };
	struct cmd_error e;
	char *body = malloc(len + 1), *p = body;
	int r;

	(void)state;
	assert_non_null(body);
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(p, elem, el);
		p += el;
		*p++ = i + 1 < n ? ',' : ']';
	}
	*p = '\0';
	r = cmd_batch_parse(body, (size_t)(p - body), &b, &e);
	assert_int_equal(r, -E2BIG);
	assert_int_equal(e.status, 400);
	assert_int_equal(e.index, -1);
	assert_null(b.v);
	assert_non_null(strstr(e.msg, "200001"));
	/* One fewer (exactly BATCH_MAX) is accepted. */
	p -= el + 2; /* back to the comma before the last element */
	*p++ = ']';
	r = cmd_batch_parse(body, (size_t)(p - body), &b, &e);
	assert_int_equal(r, 0);
	assert_int_equal(b.n, BATCH_MAX);
	assert_string_equal(b.v[BATCH_MAX - 1].u.password, "p");
	cmd_batch_free(&b);
	free(body);
}

/* Every good string passes fn and every bad one fails it. */
static void
check_validator(bool (*fn)(const char *), const char *name, const char *const *good,
    size_t ngood, const char *const *bad, size_t nbad)
{
	for (size_t i = 0; i < ngood; i++)
		if (!fn(good[i]))
			fail_msg("%s(\"%s\") is false, want true", name, good[i]);
	for (size_t i = 0; i < nbad; i++)
		if (fn(bad[i]))
			fail_msg("%s(\"%s\") is true, want false", name, bad[i]);
}

#define CHECK(fn, good, bad) \
	check_validator(fn, #fn, good, sizeof(good) / sizeof(good[0]), bad, sizeof(bad) / sizeof(bad[0]))

static void
test_validator_host_label(void **state)
{
	static const char *const good[] = { "vm1", "a", "x", "VM-1", "web-01", "a1b2", "1a", "5dx",
		"d5", "ignored", "infinity", "abcdefabcdef1", "02-00-4c-5f-00-0g",
		"123456789012345678901234567890123456789012345678901234567890abc" };
	static const char *const bad[] = { "", "1", "42", "5d", "5s", "10M", "7w", "3h",
		"infinite", "Ignore", "deleted", "02-00-4c-5f-00-09", "abcdefabcdef",
		"-a", "a-", "a.b", "a_b", "a b", "a,b", "a#b", "a\nb", "a:b", "a*", "a/b",
		"1234567890123456789012345678901234567890123456789012345678901234" };

	(void)state;
	CHECK(host_label_valid, good, bad);
}

/* Names the router, DNS or cloud-init resolve for a service of their own:
 * 400 on host_name whatever their case; names that merely contain them pass. */
static void
test_reserved_host_names(void **state)
{
	static const char *const reserved[] = { "'data-server'", "'Data-Server'", "'DATA-SERVER'",
		"'localhost'", "'LocalHost'", "'ip6-localhost'", "'ip6-allnodes'", "'wpad'",
		"'WPAD'", "'isatap'", "'instance-data'", "'metadata'", "'broadcasthost'" };
	static const char *const fine[] = { "data-server1", "my-data-server", "localhost2",
		"metadata-db", "wpad1", "vm-data-server" };

	(void)state;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		bad_host(reserved[i]);
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		assert_false(host_name_reserved(fine[i]));
		assert_true(host_label_valid(fine[i]));
	}
	assert_true(host_name_reserved("data-server"));
	assert_true(host_name_reserved("LOCALHOST"));
}

static void
test_validator_host_label_takes_what_dnsmasq_reads_as_names(void **state)
{
	/* dnsmasq strips a lease-time suffix only from fields longer than one
	 * character ("s", "d" are names), and takes a dhcp-host field for a MAC
	 * only when it holds ':', so only a MAC-shaped label need be refused as
	 * MAC-looking: "db-01" or "cafe-babe" are ordinary RFC 1123 labels. */
	static const char *const good[] = { "s", "m", "h", "d", "w", "S", "D", "db-01",
		"cafe-babe", "ad-dc-01", "fe-2", "a-b" };
	static const char *const bad[] = { "0s", "9d", "02-00-4c-5f-00-09", "AA-BB-CC-DD-EE-FF" };

	(void)state;
	CHECK(host_label_valid, good, bad);
}

static void
test_validator_domain(void **state)
{
	static const char *const good[] = { "cloud.internal", "a", "a-b.c", "1.2.3", "x.y.z.example",
		"A.B" };
	static const char *const bad[] = { "", ".", "a.", ".a", "a..b", "-a.b", "a-.b", "a.-b",
		"a_b.c", "a b", "a,b", "a/b", "a#b", "a\nb" };
	char big[300], label[64];

	(void)state;
	CHECK(domain_valid, good, bad);
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_false(domain_valid(big)); /* a label of 64 */
	big[63] = '\0';
	assert_true(domain_valid(big));
	memcpy(label, big, sizeof(label));
	snprintf(big, sizeof(big), "%s.%s.%s.%s", label, label, label, label);
	assert_false(domain_valid(big)); /* 4 * 63 + 3 dots = 255 > 253 */
}

static void
test_validator_md_key_and_dev_name(void **state)
{
	static const char *const good[] = { "instance-id", "a", "A.b_c-9", "..a", ".hidden", "a..b" };
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "a b", "a\nb", "a:b",
		"\xc3\xa9", "a\\b" };
	char big[300];

	(void)state;
	CHECK(md_key_valid, good, bad);
	CHECK(dev_name_valid, good, bad);
	memset(big, 'k', sizeof(big));
	big[MD_KEY_MAX] = '\0';
	assert_true(md_key_valid(big));
	big[MD_KEY_MAX] = 'k';
	big[MD_KEY_MAX + 1] = '\0';
	assert_false(md_key_valid(big));
	assert_true(dev_name_valid("eth1.100"));
	assert_true(dev_name_valid("abcdefghijklmno"));  /* 15 */
	assert_false(dev_name_valid("abcdefghijklmnop")); /* 16 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcpentry_cloudstack_payload),
		cmocka_unit_test(test_dhcpentry_variants),
		cmocka_unit_test(test_reserved_host_names),
		cmocka_unit_test(test_vmpassword_payload),
		cmocka_unit_test(test_vmdata_payload),
		cmocka_unit_test(test_guestnetwork_payload),
		cmocka_unit_test(test_batch_array_of_every_type),
		cmocka_unit_test(test_unknown_keys_and_processed_cache_ignored),
		cmocka_unit_test(test_malformed_or_wrong_body),
		cmocka_unit_test(test_missing_or_unknown_type),
		cmocka_unit_test(test_bad_mac),
		cmocka_unit_test(test_bad_ipv4),
		cmocka_unit_test(test_bad_hostnames),
		cmocka_unit_test(test_lease_time),
		cmocka_unit_test(test_other_dhcp_fields),
		cmocka_unit_test(test_metadata_keys_and_triples),
		cmocka_unit_test(test_userdata_base64_and_content_semantics),
		cmocka_unit_test(test_password_validation),
		cmocka_unit_test(test_guestnetwork_validation),
		cmocka_unit_test(test_batch_over_max),
		cmocka_unit_test(test_validator_host_label),
		cmocka_unit_test(test_validator_host_label_takes_what_dnsmasq_reads_as_names),
		cmocka_unit_test(test_validator_domain),
		cmocka_unit_test(test_validator_md_key_and_dev_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
