/* test_txn.c: batches applied to the in-memory state (vrd/txn.c): adds,
 * removes, MAC and IP moves, metadata merges, network checks, rollback and
 * the change and password lists the commit is built from. */
#include "testutil.h"

#include "addr.h"

#define NET1 "{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1'," \
	"'cidr':'10.1.1.0/24','dns':'10.1.1.1','domain_name':'cloud.internal'}"
#define NET2 "{'type':'guestnetwork','device':'eth2','router_guest_ip':'10.2.0.1','cidr':'10.2.0.0/16'}"
#define MA "02:00:4c:5f:00:0a"
#define MB "02:00:4c:5f:00:0b"
#define MC "02:00:4c:5f:00:0c"
#define DHCP(mac, ip, host) "{'type':'dhcpentry','mac_address':'" mac "','ipv4_address':'" ip \
	"','host_name':'" host "'}"
#define REMOVE(mac, ip) "{'type':'dhcpentry','mac_address':'" mac "','ipv4_address':'" ip \
	"','remove':true}"
#define MD(ip, items) "{'type':'vmdata','vm_ip_address':'" ip "','vm_metadata':[" items "]}"
#define PW(ip, pw) "{'type':'vmpassword','ip_address':'" ip "','password':'" pw "'}"

/* A batch applied but not yet ended, so its changes can be inspected. */
struct run {
	struct cmd_batch b;
	struct txn t;
	struct cmd_error e;
	int r;
};

static int
run_begin(struct run *x, struct state *st, const char *sq)
{
	memset(x, 0, sizeof(*x));
	if ((x->r = tu_parse(sq, &x->b, &x->e)) < 0)
		fail_msg("parse %s: %s", sq, x->e.msg);
	txn_begin(&x->t, st);
	for (size_t i = 0; i < x->b.n && x->r == 0; i++)
		x->r = txn_apply(&x->t, &x->b.v[i], (long)i, &x->e);
	return x->r;
}

static void
run_end(struct run *x)
{
	if (x->r < 0)
		txn_rollback(&x->t);
	txn_end(&x->t);
	cmd_batch_free(&x->b);
}

static long
nchanges(struct txn *t)
{
	struct txn_change *ch;
	long n = txn_changes(t, &ch);

	assert_true(n >= 0);
	free(ch);
	return n;
}

static uint32_t
ip(const char *s)
{
	uint32_t a;

	assert_int_equal(ip4_parse(s, &a), 0);
	return a;
}

static const struct vm *
vm_by_mac(const struct state *st, const char *mac)
{
	uint8_t m[6];

	assert_int_equal(mac_parse(mac, m), 0);
	return state_vm_by_mac(st, m);
}

static void
test_add_creates_vm_and_indexes_mac(void **state)
{
	struct state st;
	struct run x;
	struct txn_change *ch;
	const struct vm *v;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, NET1);
	assert_int_equal(run_begin(&x, &st, DHCP(MA, "10.1.1.101", "vm1")), 0);
	v = state_vm(&st, ip("10.1.1.101"));
	assert_non_null(v);
	assert_true(v->has_dhcp);
	assert_string_equal(v->host, "vm1");
	assert_ptr_equal(vm_by_mac(&st, MA), v);
	assert_int_equal(txn_changes(&x.t, &ch), 1);
	assert_int_equal(ch[0].ip, ip("10.1.1.101"));
	assert_null(ch[0].before);
	assert_ptr_equal(ch[0].after, v);
	free(ch);
	assert_int_equal(x.t.counts[CMD_DHCPENTRY], 1);
	assert_false(txn_nets_changed(&x.t));
	run_end(&x);
	assert_int_equal(st.nvm, 1);
	assert_int_equal(st.nmac, 1);
	state_free(&st);
}

static void
test_idempotent_repeat_changes_nothing(void **state)
{
	static const char batch[] = "[" NET1 "," NET2 "," DHCP(MA, "10.1.1.101", "vm1") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-1'],['userdata','user-data','eA==']") ","
	    DHCP(MB, "10.2.0.5", "vm2") "," PW("10.1.1.101", "pw") "]";
	struct state st;
	struct run x;
	char *before, *after;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, batch);
	before = tu_snapshot(&st);
	assert_int_equal(run_begin(&x, &st, batch), 0);
	assert_int_equal(nchanges(&x.t), 0);
	assert_false(txn_nets_changed(&x.t));
	run_end(&x);
	after = tu_snapshot(&st);
	assert_string_equal(before, after);
	free(before);
	free(after);
	state_free(&st);
}

static void
test_remove_deletes_vm_and_queues_password_delete(void **state)
{
	struct state st;
	struct run x;
	struct txn_change *ch;
	const struct pw_op *pw;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.101", "vm1") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-1']") "," DHCP(MB, "10.1.1.102", "vm2") "]");
	assert_int_equal(run_begin(&x, &st, REMOVE(MA, "10.1.1.101")), 0);
	assert_null(state_vm(&st, ip("10.1.1.101")));
	assert_null(vm_by_mac(&st, MA));
	assert_non_null(state_vm(&st, ip("10.1.1.102"))); /* the other VM stays */
	assert_int_equal(txn_changes(&x.t, &ch), 1);
	assert_non_null(ch[0].before);
	assert_int_equal(ch[0].before->nmd, 1);
	assert_null(ch[0].after);
	free(ch);
	assert_int_equal(txn_password_ops(&x.t, &pw), 1);
	assert_int_equal(pw[0].ip, ip("10.1.1.101"));
	assert_null(pw[0].pw);
	run_end(&x);
	assert_int_equal(st.nvm, 1);
	assert_int_equal(st.nmac, 1);
	/* A metadata-only VM at the IP goes too. */
	tu_apply_ok(&st, MD("10.1.1.103", "['metadata','k','v']"));
	tu_apply_ok(&st, REMOVE(MC, "10.1.1.103"));
	assert_null(state_vm(&st, ip("10.1.1.103")));
	/* CloudStack's "add": false (cs_dhcp's merge) removes as well */
	tu_apply_ok(&st, "{'type':'dhcpentry','mac_address':'" MB "','ipv4_address':'10.1.1.102',"
	    "'host_name':'vm2','default_entry':true,'remove':false,'add':false}");
	assert_null(state_vm(&st, ip("10.1.1.102")));
	assert_null(vm_by_mac(&st, MB));
	assert_int_equal(st.nvm, 0);
	state_free(&st);
}

/* A vmdata with one refused triple stores the others. */
static void
test_vmdata_bad_triple_keeps_the_rest(void **state)
{
	struct state st;
	struct vm *v;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.101", "vm1") ","
	    MD("10.1.1.101", "['userdata','user-data','eA=='],['metadata',' bad key','x'],"
	    "['metadata','instance-id','i-1']") "]");
	v = state_vm(&st, ip("10.1.1.101"));
	assert_non_null(v);
	assert_int_equal(v->nmd, 1);
	assert_string_equal(vm_md_get(v, "instance-id")->val, "i-1");
	assert_null(vm_md_get(v, " bad key"));
	assert_true(v->has_ud);
	assert_memory_equal(v->ud, "x", 1);
	state_free(&st);
}

static void
test_remove_stale_mac_leaves_new_owner_alone(void **state)
{
	struct state st;
	struct run x;
	const struct pw_op *pw;
	char *before, *after;

	(void)state;
	state_init(&st);
	/* A had .101; then B got .101 (A's entry went with it). */
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.101", "vm-a") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-a']") "]");
	tu_apply_ok(&st, "[" DHCP(MB, "10.1.1.101", "vm-b") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-b']") "]");
	before = tu_snapshot(&st);
	assert_int_equal(run_begin(&x, &st, REMOVE(MA, "10.1.1.101")), 0);
	assert_int_equal(nchanges(&x.t), 0);
	assert_int_equal(txn_password_ops(&x.t, &pw), 0); /* B's pending password stays */
	run_end(&x);
	after = tu_snapshot(&st);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_string_equal(vm_md_get(state_vm(&st, ip("10.1.1.101")), "instance-id")->val, "i-b");

	/* A moved to .102 meanwhile: its entry there goes, B's at .101 stays. */
	tu_apply_ok(&st, DHCP(MA, "10.1.1.102", "vm-a"));
	assert_int_equal(run_begin(&x, &st, REMOVE(MA, "10.1.1.101")), 0);
	assert_null(state_vm(&st, ip("10.1.1.102")));
	assert_ptr_equal(vm_by_mac(&st, MB), state_vm(&st, ip("10.1.1.101")));
	assert_int_equal(txn_password_ops(&x.t, &pw), 1);
	assert_int_equal(pw[0].ip, ip("10.1.1.102"));
	run_end(&x);
	assert_string_equal(vm_md_get(state_vm(&st, ip("10.1.1.101")), "instance-id")->val, "i-b");
	state_free(&st);
}

static void
test_new_mac_on_ip_wipes_old_vm(void **state)
{
	struct state st;
	struct run x;
	const struct pw_op *pw;
	const struct vm *v;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.101", "vm-a") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-a'],['metadata','public-keys','ssh-rsa A'],"
	    "['userdata','user-data','c2VjcmV0']") "]");
	assert_int_equal(run_begin(&x, &st, DHCP(MB, "10.1.1.101", "vm-b")), 0);
	v = state_vm(&st, ip("10.1.1.101"));
	assert_non_null(v);
	assert_string_equal(v->host, "vm-b");
	assert_int_equal(v->mac[5], 0x0b);
	assert_int_equal(v->nmd, 0);
	assert_false(v->has_ud);
	assert_null(v->ud);
	assert_null(vm_by_mac(&st, MA));
	assert_ptr_equal(vm_by_mac(&st, MB), v);
	assert_int_equal(txn_password_ops(&x.t, &pw), 1); /* A's pending password goes */
	assert_int_equal(pw[0].ip, ip("10.1.1.101"));
	assert_null(pw[0].pw);
	run_end(&x);
	assert_int_equal(st.nmac, 1);

	/* Metadata that came before the VM's first entry is the VM's own: kept. */
	tu_apply_ok(&st, MD("10.1.1.105", "['metadata','instance-id','i-c']"));
	tu_apply_ok(&st, DHCP(MC, "10.1.1.105", "vm-c"));
	v = state_vm(&st, ip("10.1.1.105"));
	assert_true(v->has_dhcp);
	assert_string_equal(vm_md_get(v, "instance-id")->val, "i-c");
	state_free(&st);
}

static void
test_mac_moving_to_new_ip_drops_old_record(void **state)
{
	struct state st;
	struct run x;
	const struct pw_op *pw;
	struct txn_change *ch;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.101", "vm-a") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-a']") "]");
	assert_int_equal(run_begin(&x, &st, DHCP(MA, "10.1.1.102", "vm-a")), 0);
	assert_null(state_vm(&st, ip("10.1.1.101")));
	assert_non_null(state_vm(&st, ip("10.1.1.102")));
	assert_int_equal(state_vm(&st, ip("10.1.1.102"))->nmd, 0);
	assert_ptr_equal(vm_by_mac(&st, MA), state_vm(&st, ip("10.1.1.102")));
	assert_int_equal(txn_changes(&x.t, &ch), 2);
	assert_int_equal(ch[0].ip, ip("10.1.1.101")); /* sorted by ip */
	assert_null(ch[0].after);
	assert_null(ch[1].before);
	free(ch);
	assert_int_equal(txn_password_ops(&x.t, &pw), 1);
	assert_int_equal(pw[0].ip, ip("10.1.1.101"));
	run_end(&x);
	assert_int_equal(st.nvm, 1);
	assert_int_equal(st.nmac, 1);
	state_free(&st);
}

static void
test_vmdata_merge_and_delete(void **state)
{
	struct state st;
	const struct vm *v;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, NET1);
	tu_apply_ok(&st, MD("10.1.1.50", "['metadata','a','1'],['metadata','b','2'],"
	    "['userdata','user-data','aGk=']"));
	tu_apply_ok(&st, MD("10.1.1.50", "['metadata','b','3'],['metadata','c','4']"));
	v = state_vm(&st, ip("10.1.1.50"));
	assert_non_null(v);
	assert_false(v->has_dhcp);
	assert_int_equal(v->nmd, 3);
	assert_string_equal(vm_md_get(v, "a")->val, "1");
	assert_string_equal(vm_md_get(v, "b")->val, "3");
	assert_string_equal(vm_md_get(v, "c")->val, "4");
	assert_true(v->has_ud); /* untouched by a batch that does not name it */
	assert_int_equal(v->udlen, 2);
	assert_memory_equal(v->ud, "hi", 2);
	/* New user data of the same length is a change. */
	{
		struct run x;

		assert_int_equal(run_begin(&x, &st, MD("10.1.1.50", "['userdata','user-data','aG8=']")), 0);
		assert_int_equal(nchanges(&x.t), 1);
		run_end(&x);
		assert_memory_equal(state_vm(&st, ip("10.1.1.50"))->ud, "ho", 2);
	}
	/* "" deletes, null stores empty, absent keys stay. */
	tu_apply_ok(&st, MD("10.1.1.50", "['metadata','a',''],['metadata','c',null],"
	    "['metadata','nope','']"));
	v = state_vm(&st, ip("10.1.1.50"));
	assert_int_equal(v->nmd, 2);
	assert_null(vm_md_get(v, "a"));
	assert_string_equal(vm_md_get(v, "b")->val, "3");
	assert_int_equal(vm_md_get(v, "c")->len, 0);
	assert_string_equal(v->md[0].key, "b"); /* sorted */
	tu_apply_ok(&st, MD("10.1.1.50", "['userdata','user-data','']"));
	v = state_vm(&st, ip("10.1.1.50"));
	assert_false(v->has_ud);
	assert_null(v->ud);
	/* Deleting the last key of a VM without an entry forgets the VM. */
	tu_apply_ok(&st, MD("10.1.1.50", "['metadata','b',''],['metadata','c','']"));
	assert_null(state_vm(&st, ip("10.1.1.50")));
	assert_int_equal(st.nvm, 0);
	/* A vmdata that only deletes does not create a VM. */
	tu_apply_ok(&st, MD("10.1.1.51", "['metadata','x','']"));
	assert_int_equal(st.nvm, 0);
	state_free(&st);
}

static void
expect_apply_fails(struct state *st, const char *sq, int status, long index, const char *field)
{
	struct cmd_error e;
	char *before = tu_snapshot(st), *after;
	int r = tu_apply(st, sq, &e);

	if (r >= 0 || e.status != status || e.index != index || strcmp(e.field, field))
		fail_msg("batch %s: r=%d status=%d index=%ld field='%s' (%s); want %d %ld '%s'", sq,
		    r, e.status, e.index, e.field, e.msg, status, index, field);
	after = tu_snapshot(st);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
test_ip_outside_networks(void **state)
{
	struct state st;

	(void)state;
	state_init(&st);
	/* No guest network yet: any unicast address is taken. */
	tu_apply_ok(&st, "[" DHCP(MA, "192.168.7.7", "vm-a") "," PW("172.16.0.9", "x") ","
	    MD("10.9.9.9", "['metadata','k','v']") "]");
	assert_int_equal(st.nvm, 2);
	state_free(&st);

	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," NET2 "]");
	expect_apply_fails(&st, DHCP(MA, "10.3.0.5", "vm-a"), 400, 0, "ipv4_address");
	expect_apply_fails(&st, "[" DHCP(MB, "10.1.1.5", "vm-b") "," PW("10.3.0.5", "x") "]", 400, 1,
	    "ip_address");
	expect_apply_fails(&st, "[" DHCP(MB, "10.1.1.5", "vm-b") "," PW("10.1.1.6", "x") ","
	    MD("192.168.0.1", "['metadata','k','v']") "]", 400, 2, "vm_ip_address");
	/* The network, broadcast and router addresses are not the VMs'. */
	expect_apply_fails(&st, DHCP(MA, "10.1.1.0", "vm-a"), 400, 0, "ipv4_address");
	expect_apply_fails(&st, DHCP(MA, "10.1.1.255", "vm-a"), 400, 0, "ipv4_address");
	expect_apply_fails(&st, DHCP(MA, "10.1.1.1", "vm-a"), 400, 0, "ipv4_address");
	expect_apply_fails(&st, PW("10.2.0.1", "x"), 400, 0, "ip_address");
	assert_int_equal(st.nvm, 0);
	/* Inside either network is fine; a removal need not be inside. */
	tu_apply_ok(&st, "[" DHCP(MA, "10.1.1.254", "vm-a") "," DHCP(MB, "10.2.255.254", "vm-b") ","
	    REMOVE(MC, "10.3.0.5") "]");
	assert_int_equal(st.nvm, 2);
	state_free(&st);
}

static void
test_guestnetwork_overlap_and_replace(void **state)
{
	struct state st;
	struct run x;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, NET1);
	expect_apply_fails(&st, "{'type':'guestnetwork','device':'eth2','router_guest_ip':'10.1.0.1',"
	    "'cidr':'10.1.0.0/16'}", 409, 0, "cidr");
	expect_apply_fails(&st, "[" NET2 ",{'type':'guestnetwork','device':'eth3','router_guest_ip':"
	    "'10.1.1.129','cidr':'10.1.1.128/25'}]", 409, 1, "cidr");
	assert_int_equal(st.nnet, 1);
	/* The same device may change its own network. */
	assert_int_equal(run_begin(&x, &st, "{'type':'guestnetwork','device':'eth1','router_guest_ip':"
	    "'10.1.1.1','cidr':'10.1.1.0/25'}"), 0);
	assert_true(txn_nets_changed(&x.t));
	run_end(&x);
	assert_int_equal(st.nnet, 1);
	assert_int_equal(st.nets[0].prefix, 25);
	assert_int_equal(st.nets[0].ndns, 0);
	tu_apply_ok(&st, "{'type':'guestnetwork','device':'eth3','router_guest_ip':'10.1.1.129',"
	    "'cidr':'10.1.1.128/25'}");
	assert_int_equal(st.nnet, 2);
	/* add:false takes it away; an unknown device is no error. */
	assert_int_equal(run_begin(&x, &st, "[{'type':'guestnetwork','device':'eth1','add':false},"
	    "{'type':'guestnetwork','device':'eth9','add':false}]"), 0);
	assert_true(txn_nets_changed(&x.t));
	run_end(&x);
	assert_int_equal(st.nnet, 1);
	assert_string_equal(st.nets[0].dev, "eth3");
	state_free(&st);
}

static void
test_failed_batch_rolls_back_everything(void **state)
{
	static const char *const fail_tails[] = {
		MD("10.9.0.1", "['metadata','k','v']"),        /* outside every network: 400 */
		"{'type':'guestnetwork','device':'eth4','router_guest_ip':'10.2.3.1','cidr':'10.2.3.0/24'}",
	};
	struct state st;
	char *before, *after, *batch;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," NET2 "," DHCP(MA, "10.1.1.101", "vm-a") ","
	    MD("10.1.1.101", "['metadata','instance-id','i-a'],['userdata','user-data','eA==']") ","
	    DHCP(MB, "10.1.1.102", "vm-b") "," MD("10.1.1.103", "['metadata','only','md']") ","
	    "{'type':'dhcpentry','mac_address':'" MC "','ipv4_address':'10.2.0.9','default_entry':false,"
	    "'lease_time':600}]");
	before = tu_snapshot(&st);
	for (size_t i = 0; i < sizeof(fail_tails) / sizeof(fail_tails[0]); i++) {
		struct cmd_error e;

		assert_true(asprintf(&batch, "[%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s]",
		    DHCP("02:00:4c:5f:00:10", "10.1.1.110", "new"),               /* new VM */
		    MD("10.1.1.110", "['metadata','k','v']"),
		    DHCP("02:00:4c:5f:00:11", "10.1.1.110", "newer"),             /* replaces it */
		    DHCP(MA, "10.1.1.120", "vm-a"),                               /* MAC moves */
		    REMOVE(MB, "10.1.1.102"),                                     /* removal */
		    MD("10.1.1.103", "['metadata','only','']"),                   /* VM vanishes */
		    DHCP("02:00:4c:5f:00:12", "10.1.1.103", "took-md-ip"),
		    DHCP(MC, "10.2.0.9", "vm-c"),                                 /* now default */
		    PW("10.1.1.120", "pw"),
		    "{'type':'guestnetwork','device':'eth3','router_guest_ip':'10.3.0.1','cidr':'10.3.0.0/24'}",
		    "{'type':'guestnetwork','device':'eth1','router_guest_ip':'10.1.1.1','cidr':'10.1.1.0/24'}",
		    fail_tails[i]) > 0);
		assert_true(tu_apply(&st, batch, &e) < 0);
		assert_int_equal(e.index, 11);
		free(batch);
		after = tu_snapshot(&st);
		assert_string_equal(before, after);
		free(after);
		/* The MAC index agrees with the VMs after the rollback. */
		for (size_t k = 0; k < st.nvm; k++)
			if (st.by_ip[k]->has_dhcp)
				assert_ptr_equal(state_vm_by_mac(&st, st.by_ip[k]->mac), st.by_ip[k]);
	}
	/* And the state still takes batches normally. */
	tu_apply_ok(&st, REMOVE(MA, "10.1.1.101"));
	assert_null(state_vm(&st, ip("10.1.1.101")));
	free(before);
	state_free(&st);
}

static void
test_password_ops_keep_last_per_ip(void **state)
{
	struct state st;
	struct run x;
	const struct pw_op *pw;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MB, "10.1.1.102", "vm-b") "]");
	assert_int_equal(run_begin(&x, &st, "[" PW("10.1.1.103", "c1") "," PW("10.1.1.101", "a") ","
	    PW("10.1.1.102", "x") "," PW("10.1.1.101", "b") "," REMOVE(MB, "10.1.1.102") ","
	    PW("10.1.1.103", "c2") "]"), 0);
	assert_int_equal(txn_password_ops(&x.t, &pw), 3);
	assert_int_equal(pw[0].ip, ip("10.1.1.101"));
	assert_string_equal(pw[0].pw, "b");
	assert_int_equal(pw[1].ip, ip("10.1.1.102"));
	assert_null(pw[1].pw); /* the removal came last */
	assert_int_equal(pw[2].ip, ip("10.1.1.103"));
	assert_string_equal(pw[2].pw, "c2");
	assert_int_equal(x.t.counts[CMD_VMPASSWORD], 5);
	assert_int_equal(x.t.counts[CMD_DHCPENTRY], 1);
	run_end(&x);
	state_free(&st);
}

static void
test_metadata_key_limit(void **state)
{
	struct state st;
	struct buf b;
	char *first;

	(void)state;
	state_init(&st);
	buf_init(&b);
	buf_adds(&b, "{'type':'vmdata','vm_ip_address':'10.1.1.5','vm_metadata':[");
	for (int i = 0; i < MD_KEYS_MAX; i++)
		buf_addf(&b, "%s['metadata','k%03d','v']", i ? "," : "", i);
	buf_adds(&b, "]}");
	first = buf_steal(&b, NULL);
	tu_apply_ok(&st, first);
	assert_int_equal(state_vm(&st, ip("10.1.1.5"))->nmd, MD_KEYS_MAX);
	/* Replacing a key is fine at the limit; one more key is not. */
	tu_apply_ok(&st, MD("10.1.1.5", "['metadata','k000','w']"));
	expect_apply_fails(&st, MD("10.1.1.5", "['metadata','k000','z'],['metadata','one-more','v']"),
	    400, 0, "vm_metadata");
	assert_string_equal(vm_md_get(state_vm(&st, ip("10.1.1.5")), "k000")->val, "w");
	free(first);
	state_free(&st);
}

/* A rollback puts every VM back without growing the arrays: the MAC index is
 * exactly full, and the batch frees a MAC slot before taking it again. */
/* A name held in a network is refused (409) to every other VM of that network,
 * whatever its case; other networks may reuse it; the holder may re-push it,
 * give it up, or leave, and then it is free.  The router's own name is 400. */
static void
test_host_names_unique_per_network(void **state)
{
	struct state st;
	struct cmd_error e;
	char *before, *after;

	(void)state;
	state_init(&st);
	snprintf(st.router_name, sizeof(st.router_name), "r-7-VM");
	tu_apply_ok(&st, "[" NET1 "," NET2 "," DHCP(MA, "10.1.1.101", "vm-a") "]");
	before = tu_snapshot(&st);
	assert_int_equal(tu_apply(&st, DHCP(MB, "10.1.1.102", "vm-a"), &e), -EEXIST);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.field, "host_name");
	assert_int_equal(tu_apply(&st, "[" DHCP(MC, "10.1.1.103", "fine") "," DHCP(MB, "10.1.1.102",
	    "VM-A") "]", &e), -EEXIST);
	assert_int_equal(e.status, 409);
	assert_int_equal(e.index, 1);
	after = tu_snapshot(&st);
	assert_string_equal(before, after); /* the whole batch rolled back */
	free(after);
	assert_int_equal(tu_apply(&st, DHCP(MB, "10.1.1.102", "r-7-vm"), &e), -EINVAL);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.field, "host_name");
	/* the holder re-pushes its own entry; another network reuses the name */
	tu_apply_ok(&st, DHCP(MA, "10.1.1.101", "vm-a"));
	tu_apply_ok(&st, DHCP(MC, "10.2.0.9", "vm-a"));
	/* the holder renames in the batch that gives the name to another VM */
	tu_apply_ok(&st, "[" DHCP(MA, "10.1.1.101", "vm-a2") "," DHCP(MB, "10.1.1.102", "vm-a") "]");
	assert_string_equal(state_vm(&st, ip("10.1.1.102"))->host, "vm-a");
	assert_int_equal(tu_apply(&st, DHCP(MA, "10.1.1.101", "Vm-A"), &e), -EEXIST);
	/* a removed VM frees its name; so does a MAC that moves away */
	tu_apply_ok(&st, "[" REMOVE(MB, "10.1.1.102") "," DHCP(MA, "10.1.1.101", "vm-a") "]");
	tu_apply_ok(&st, "[" DHCP(MA, "10.1.1.150", "vm-b") "," DHCP(MB, "10.1.1.102", "vm-a") "]");
	assert_null(state_vm(&st, ip("10.1.1.101")));
	assert_int_equal(st.nhost, 3);
	free(before);
	state_free(&st);
}

static void
test_rollback_needs_no_memory(void **state)
{
	struct state st;
	struct cmd_error e;
	char *before, *after, *batch, cmds[64 * 200] = "[" NET1;
	size_t cap;

	(void)state;
	state_init(&st);
	for (int i = 1; i <= 64; i++) {
		char one[200];

		snprintf(one, sizeof(one), ",{'type':'dhcpentry','mac_address':'02:00:00:00:01:%02x',"
		    "'ipv4_address':'10.1.1.%d','host_name':'vm%d'}", i, 100 + i, i);
		strcat(cmds, one);
	}
	strcat(cmds, "]");
	tu_apply_ok(&st, cmds);
	assert_int_equal(st.nmac, 64);
	cap = st.capmac;
	assert_int_equal(cap, st.nmac);
	before = tu_snapshot(&st);
	assert_true(asprintf(&batch, "[%s,%s,%s,%s]", MD("10.1.1.200", "['metadata','k','v']"),
	    REMOVE("02:00:00:00:01:01", "10.1.1.101"),
	    DHCP("02:00:00:00:02:00", "10.1.1.200", "new"),
	    "{'type':'vmpassword','ip_address':'10.9.9.9','password':'x'}") > 0);
	assert_true(tu_apply(&st, batch, &e) < 0);
	assert_int_equal(e.index, 3);
	after = tu_snapshot(&st);
	assert_string_equal(before, after);
	assert_int_equal(st.capmac, cap);
	free(batch);
	free(before);
	free(after);
	state_free(&st);
}


/* Group commit: several batches in one transaction, each from a savepoint.
 * Rolling back to a savepoint restores the state after the batches before
 * it; the changes since a savepoint are that batch's; the whole rollback
 * restores the state before the group. */
static void
assert_snapshot(const struct state *st, const char *want)
{
	char *got = tu_snapshot(st);

	assert_string_equal(got, want);
	free(got);
}

static void
test_savepoints_roll_back_one_batch_of_a_group(void **state)
{
	struct state st;
	struct txn t;
	struct txn_savepoint sp1, sp2, sp3;
	struct cmd_batch b1, b2, b3;
	struct cmd_error e;
	struct txn_change *ch;
	char *s0, *s1, *s2;
	long n;

	(void)state;
	state_init(&st);
	tu_apply_ok(&st, "[" NET1 "," DHCP(MA, "10.1.1.10", "a") "]");
	s0 = tu_snapshot(&st);
	assert_int_equal(tu_parse("[" DHCP(MB, "10.1.1.11", "b") "," PW("10.1.1.11", "pw-b") "]",
	    &b1, &e), 0);
	assert_int_equal(tu_parse("[" MD("10.1.1.11", "['metadata','k','v']") "," REMOVE(MA,
	    "10.1.1.10") "]", &b2, &e), 0);
	/* fails at its second command: host name b is vm b's */
	assert_int_equal(tu_parse("[" MD("10.1.1.11", "['metadata','k','w']") "," DHCP(MC,
	    "10.1.1.12", "b") "]", &b3, &e), 0);
	txn_begin(&t, &st);
	txn_savepoint(&t, &sp1);
	for (size_t i = 0; i < b1.n; i++)
		assert_int_equal(txn_apply(&t, &b1.v[i], (long)i, &e), 0);
	s1 = tu_snapshot(&st);
	txn_savepoint(&t, &sp2);
	for (size_t i = 0; i < b2.n; i++)
		assert_int_equal(txn_apply(&t, &b2.v[i], (long)i, &e), 0);
	s2 = tu_snapshot(&st);
	/* batch 2's changes: vm b's metadata (before: as batch 1 left it), vm a gone */
	assert_int_equal((n = txn_changes_since(&t, &sp2, &ch)), 2);
	assert_int_equal(ch[0].ip, 0x0a01010a);
	assert_null(ch[0].after);
	assert_int_equal(ch[1].ip, 0x0a01010b);
	assert_non_null(ch[1].before);
	assert_int_equal(ch[1].before->nmd, 0);
	assert_int_equal(ch[1].after->nmd, 1);
	free(ch);
	txn_savepoint(&t, &sp3);
	assert_int_equal(txn_apply(&t, &b3.v[0], 0, &e), 0);
	assert_true(txn_apply(&t, &b3.v[1], 1, &e) < 0);
	txn_rollback_to(&t, &sp3);
	assert_snapshot(&st, s2);
	/* the group's changes from its start: vm a gone, vm b new */
	assert_int_equal(nchanges(&t), 2);
	txn_rollback_to(&t, &sp2);
	assert_snapshot(&st, s1);
	txn_rollback(&t);
	txn_end(&t);
	assert_snapshot(&st, s0);
	cmd_batch_free(&b1);
	cmd_batch_free(&b2);
	cmd_batch_free(&b3);
	free(s0);
	free(s1);
	free(s2);
	state_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_creates_vm_and_indexes_mac),
		cmocka_unit_test(test_idempotent_repeat_changes_nothing),
		cmocka_unit_test(test_remove_deletes_vm_and_queues_password_delete),
		cmocka_unit_test(test_vmdata_bad_triple_keeps_the_rest),
		cmocka_unit_test(test_remove_stale_mac_leaves_new_owner_alone),
		cmocka_unit_test(test_new_mac_on_ip_wipes_old_vm),
		cmocka_unit_test(test_mac_moving_to_new_ip_drops_old_record),
		cmocka_unit_test(test_vmdata_merge_and_delete),
		cmocka_unit_test(test_ip_outside_networks),
		cmocka_unit_test(test_guestnetwork_overlap_and_replace),
		cmocka_unit_test(test_failed_batch_rolls_back_everything),
		cmocka_unit_test(test_host_names_unique_per_network),
		cmocka_unit_test(test_rollback_needs_no_memory),
		cmocka_unit_test(test_savepoints_roll_back_one_batch_of_a_group),
		cmocka_unit_test(test_password_ops_keep_last_per_ip),
		cmocka_unit_test(test_metadata_key_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
