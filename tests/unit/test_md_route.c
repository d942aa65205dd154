/* test_md_route.c: the metadata tree a VM sees (metadata/route.c), built from
 * vrd's vms/<ip>.json document (metadata/entry.c): the EC2 tree under latest
 * and the dated versions, public keys and their names, user data (text and
 * binary), the OpenStack tree, hostile paths, and the IMDSv2 token path. */
#include "testutil.h"

#include <jansson.h>

#include "md.h"

/* fail_msg's text is lost in TAP output; this one shows as a "# " line. */
#define md_fail(...) do { \
	print_message("# "); \
	print_message(__VA_ARGS__); \
	print_message("\n"); \
	fail(); \
} while (0)

/* Keys deliberately out of order: the listing must come out sorted. */
static const char full_doc[] = "{'ip':'10.1.1.101','mac':'02:00:4c:5f:00:01','hostname':'vm1',"
    "'default_entry':true,'lease_time':null,'ipv6_address':null,'ipv6_duid':null,"
    "'dns_addresses':'10.1.1.1','default_gateway':'10.1.1.1','metadata':{"
    "'vm-id':'101','service-offering':'Small','local-ipv4':'10.1.1.101',"
    "'public-keys':'ssh-ed25519 AAAAC3Nza one@host\\nssh-rsa AAAAB3Nza two@host',"
    "'instance-id':'i-2-101-VM','empty-key':'','local-hostname':'vm1.cloud',"
    "'cloud-identifier':'CloudStack-{x}','availability-zone':'zone1','multi':'a\\nb'},"
    "'user_data':'#cloud-config\\npackages: [htop]\\n'}";

#define FULL_UD "#cloud-config\npackages: [htop]\n"
#define FULL_KEY0 "ssh-ed25519 AAAAC3Nza one@host"
#define FULL_KEY1 "ssh-rsa AAAAB3Nza two@host"
#define FULL_LISTING "availability-zone\ncloud-identifier\nempty-key\ninstance-id\n" \
	"local-hostname\nlocal-ipv4\nmulti\npublic-keys/\nservice-offering\nvm-id\nplacement/"

/* No user data, zone, keys or host name; an empty instance-id. */
static const char min_doc[] = "{'ip':'10.1.1.102','mac':null,'hostname':null,"
    "'metadata':{'vm-id':'102','instance-id':'','local-ipv4':'10.1.1.102'}}";

/* Binary (gzip-looking, with NUL and 0xff bytes) user data. */
static const char bin_doc[] = "{'ip':'10.1.1.103','mac':'02:00:4c:5f:00:03','hostname':'vm3',"
    "'metadata':{'instance-id':'i-103'},'user_data_base64':'H4sIAP8AYWJjCg=='}";
static const char bin_ud[] = "\x1f\x8b\x08\x00\xff\x00" "abc\n";

struct fx {
	struct md_entry *full, *min, *bin;
};

static struct md_entry *
parse_doc(const char *sq)
{
	char *j = tu_json(sq), err[256] = "";
	struct md_entry *e = NULL;
	int r = md_entry_parse(j, strlen(j), &e, err, sizeof(err));

	if (r < 0)
		md_fail("md_entry_parse(%s): %d %s", j, r, err);
	free(j);
	assert_non_null(e);
	return e;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->full = parse_doc(full_doc);
	f->min = parse_doc(min_doc);
	f->bin = parse_doc(bin_doc);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	md_entry_free(f->full);
	md_entry_free(f->min);
	md_entry_free(f->bin);
	free(f);
	return 0;
}

static void
get(const struct md_entry *e, const char *path, struct md_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	md_route(e, path, r);
	assert_false(r->body.oom);
	assert_non_null(r->ctype);
}

/* The reply to path is status with exactly body (len bytes). */
static void
expect_n(const struct md_entry *e, const char *path, int status, const char *body, size_t len)
{
	struct md_reply r;

	get(e, path, &r);
	if (r.status != status || r.body.len != len || (len && memcmp(r.body.p, body, len)))
		md_fail("GET \"%s\": got %d \"%.*s\" (%zu bytes), want %d \"%.*s\" (%zu bytes)", path,
		    r.status, (int)r.body.len, r.body.p ? r.body.p : "", r.body.len, status,
		    (int)len, body, len);
	buf_free(&r.body);
}

static void
expect_200(const struct md_entry *e, const char *path, const char *body)
{
	expect_n(e, path, 200, body, strlen(body));
}

static void
expect_404(const struct md_entry *e, const char *path)
{
	expect_n(e, path, 404, "not found", 9);
}

/* The body of a 200 reply, NUL-terminated; caller frees. */
static char *
get_200(const struct md_entry *e, const char *path, const char *ctype)
{
	struct md_reply r;
	char *s;

	get(e, path, &r);
	if (r.status != 200)
		md_fail("GET \"%s\": got %d, want 200", path, r.status);
	if (ctype)
		assert_string_equal(r.ctype, ctype);
	s = buf_steal(&r.body, NULL);
	if (!s)
		s = strdup("");
	assert_non_null(s);
	buf_free(&r.body);
	return s;
}

static void
test_version_list(void **state)
{
	struct fx *f = *state;

	expect_200(f->full, "/", "2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest");
	expect_200(f->min, "/", "2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\nlatest");
}

static void
test_version_index(void **state)
{
	struct fx *f = *state;

	expect_200(f->full, "/latest", "meta-data\nuser-data");
	expect_200(f->full, "/latest/", "meta-data\nuser-data");
	expect_200(f->bin, "/latest/", "meta-data\nuser-data");
	expect_200(f->min, "/latest", "meta-data");
	expect_200(f->min, "/latest/", "meta-data");
}

static void
test_metadata_listing(void **state)
{
	struct fx *f = *state;
	char *s, *line, *save = NULL, prev[MD_KEY_MAX + 2] = "";

	expect_200(f->full, "/latest/meta-data/", FULL_LISTING);
	expect_200(f->full, "/latest/meta-data", FULL_LISTING);
	/* no zone: no placement/; no keys: no public-keys/ */
	expect_200(f->min, "/latest/meta-data/", "instance-id\nlocal-ipv4\nvm-id");
	expect_200(f->bin, "/latest/meta-data/", "instance-id");

	/* the keys (all but the trailing placement/) in strictly ascending order */
	s = get_200(f->full, "/latest/meta-data/", "text/plain");
	assert_true(strlen(s) > 0);
	assert_int_not_equal(s[strlen(s) - 1], '\n');
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "placement/"))
			continue;
		if (strcmp(prev, line) >= 0)
			md_fail("listing not sorted: \"%s\" before \"%s\"", prev, line);
		snprintf(prev, sizeof(prev), "%s", line);
	}
	free(s);
}

static void
test_metadata_leaves(void **state)
{
	struct fx *f = *state;

	expect_200(f->full, "/latest/meta-data/instance-id", "i-2-101-VM");
	expect_200(f->full, "/latest/meta-data/vm-id", "101");
	expect_200(f->full, "/latest/meta-data/service-offering", "Small");
	expect_200(f->full, "/latest/meta-data/local-ipv4", "10.1.1.101");
	expect_200(f->full, "/latest/meta-data/local-hostname", "vm1.cloud");
	expect_200(f->full, "/latest/meta-data/cloud-identifier", "CloudStack-{x}");
	expect_200(f->full, "/latest/meta-data/availability-zone", "zone1");
	expect_200(f->full, "/latest/meta-data/multi", "a\nb");
	expect_n(f->full, "/latest/meta-data/empty-key", 200, "", 0);
	expect_200(f->min, "/latest/meta-data/vm-id", "102");
	expect_n(f->min, "/latest/meta-data/instance-id", 200, "", 0);

	/* every key the VM has, served byte for byte, as text/plain */
	for (size_t i = 0; i < f->full->v->nmd; i++) {
		const struct md_kv *kv = &f->full->v->md[i];
		char path[512];
		char *s;

		if (!strcmp(kv->key, "public-keys"))
			continue;
		snprintf(path, sizeof(path), "/latest/meta-data/%s", kv->key);
		s = get_200(f->full, path, "text/plain");
		assert_int_equal(strlen(s), kv->len);
		assert_memory_equal(s, kv->val, kv->len);
		free(s);
	}
}

static void
test_public_keys(void **state)
{
	struct fx *f = *state;

	expect_200(f->full, "/latest/meta-data/public-keys/", "0=one@host\n1=two@host");
	expect_200(f->full, "/latest/meta-data/public-keys", "0=one@host\n1=two@host");
	expect_200(f->full, "/latest/meta-data/public-keys/0/", "openssh-key");
	expect_200(f->full, "/latest/meta-data/public-keys/0", "openssh-key");
	expect_200(f->full, "/latest/meta-data/public-keys/1/", "openssh-key");
	expect_200(f->full, "/latest/meta-data/public-keys/0/openssh-key", FULL_KEY0);
	expect_200(f->full, "/latest/meta-data/public-keys/1/openssh-key", FULL_KEY1);
	expect_404(f->full, "/latest/meta-data/public-keys/2");
	expect_404(f->full, "/latest/meta-data/public-keys/2/");
	expect_404(f->full, "/latest/meta-data/public-keys/2/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/99/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/00/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/01/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/-1/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/+1/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/one@host/openssh-key");
	expect_404(f->full, "/latest/meta-data/public-keys/0/openssh-key/");
	expect_404(f->full, "/latest/meta-data/public-keys/0/openssh-key/x");
	expect_404(f->full, "/latest/meta-data/public-keys/0/other");
	/* a VM without keys has no public-keys tree */
	expect_404(f->min, "/latest/meta-data/public-keys/");
	expect_404(f->min, "/latest/meta-data/public-keys");
	expect_404(f->min, "/latest/meta-data/public-keys/0/openssh-key");
}

static void
test_key_names(void **state)
{
	char tidy64[65], long65[66];
	char *doc;
	struct md_entry *e;
	struct buf want;

	(void)state;
	memset(tidy64, 'n', 64);
	tidy64[64] = '\0';
	memset(long65, 'm', 65);
	long65[65] = '\0';
	assert_true(asprintf(&doc, "{'ip':'10.1.1.110','metadata':{'public-keys':"
	    "' ssh-rsa AAA0\\r\\n\\n  \\nssh-rsa AAA1 has space\\nssh-rsa AAA2 bad!char\\n"
	    "ssh-rsa AAA3 dup@host\\nssh-rsa AAA4 dup@host\\nssh-ed25519 AAA5 ok.Name_1-x@h\\n"
	    "ssh-rsa AAA6 %s\\nssh-rsa AAA7 %s\\nssh-rsa AAA8 \\n'}}", long65, tidy64) > 0);
	e = parse_doc(doc);
	free(doc);
	assert_int_equal(e->nkeys, 9);
	buf_init(&want);
	buf_addf(&want, "0=key-0\n1=key-1\n2=key-2\n3=dup@host\n4=key-4\n5=ok.Name_1-x@h\n"
	    "6=key-6\n7=%s\n8=key-8", tidy64);
	expect_200(e, "/latest/meta-data/public-keys/", want.p);
	buf_free(&want);
	/* keys trimmed of surrounding white space; blank lines are not keys */
	expect_200(e, "/latest/meta-data/public-keys/0/openssh-key", "ssh-rsa AAA0");
	expect_200(e, "/latest/meta-data/public-keys/1/openssh-key", "ssh-rsa AAA1 has space");
	expect_200(e, "/latest/meta-data/public-keys/4/openssh-key", "ssh-rsa AAA4 dup@host");
	expect_200(e, "/latest/meta-data/public-keys/8/openssh-key", "ssh-rsa AAA8");
	expect_404(e, "/latest/meta-data/public-keys/9/openssh-key");
	md_entry_free(e);
}

/* More keys than MD_KEYS_PER_VM: the first MD_KEYS_PER_VM are listed. */
static void
test_key_limit(void **state)
{
	struct buf doc;
	struct md_entry *e;
	char path[128];

	(void)state;
	buf_init(&doc);
	buf_adds(&doc, "{'ip':'10.1.1.111','metadata':{'public-keys':'");
	for (int i = 0; i < MD_KEYS_PER_VM + 5; i++)
		buf_addf(&doc, "ssh-rsa K%d c%d\\n", i, i);
	buf_adds(&doc, "'}}");
	e = parse_doc(doc.p);
	buf_free(&doc);
	assert_int_equal(e->nkeys, MD_KEYS_PER_VM);
	snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%d/openssh-key",
	    MD_KEYS_PER_VM - 1);
	expect_200(e, path, "ssh-rsa K63 c63");
	snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%d/openssh-key", MD_KEYS_PER_VM);
	expect_404(e, path);
	md_entry_free(e);
}

static void
test_placement(void **state)
{
	struct fx *f = *state;

	expect_200(f->full, "/latest/meta-data/placement/", "availability-zone");
	expect_200(f->full, "/latest/meta-data/placement", "availability-zone");
	expect_200(f->full, "/latest/meta-data/placement/availability-zone", "zone1");
	expect_404(f->full, "/latest/meta-data/placement/availability-zone/");
	expect_404(f->full, "/latest/meta-data/placement/region");
	expect_404(f->min, "/latest/meta-data/placement/");
	expect_404(f->min, "/latest/meta-data/placement/availability-zone");
	expect_404(f->min, "/latest/meta-data/availability-zone");
}

static void
test_user_data(void **state)
{
	struct fx *f = *state;
	struct md_reply r;

	expect_200(f->full, "/latest/user-data", FULL_UD);
	get(f->full, "/latest/user-data", &r);
	assert_string_equal(r.ctype, "application/octet-stream");
	buf_free(&r.body);
	expect_n(f->bin, "/latest/user-data", 200, bin_ud, sizeof(bin_ud) - 1);
	expect_n(f->bin, "/2009-04-04/user-data", 200, bin_ud, sizeof(bin_ud) - 1);
	expect_404(f->min, "/latest/user-data");
	expect_404(f->full, "/latest/user-data/");
	expect_404(f->full, "/latest/user-data/x");
	expect_404(f->full, "/latest/meta-data/user-data");
}

/* Every dated version answers exactly as latest does. */
static void
test_dated_versions(void **state)
{
	static const char *const vers[] = { "2009-04-04", "2016-09-02", "2018-09-24",
		"2021-03-23" };
	static const char *const sub[] = { "", "/", "/meta-data", "/meta-data/",
		"/meta-data/instance-id", "/meta-data/empty-key", "/meta-data/public-keys/",
		"/meta-data/public-keys/0/", "/meta-data/public-keys/1/openssh-key",
		"/meta-data/public-keys/2/openssh-key", "/meta-data/placement/",
		"/meta-data/placement/availability-zone", "/meta-data/nonexistent", "/user-data",
		"/user-data/", "/api/token", "/meta-data/instance-id/" };
	struct fx *f = *state;
	const struct md_entry *es[] = { f->full, f->min, f->bin };

	for (size_t k = 0; k < 3; k++)
		for (size_t v = 0; v < 4; v++)
			for (size_t s = 0; s < sizeof(sub) / sizeof(sub[0]); s++) {
				char lp[128], dp[128];
				struct md_reply a, b;

				snprintf(lp, sizeof(lp), "/latest%s", sub[s]);
				snprintf(dp, sizeof(dp), "/%s%s", vers[v], sub[s]);
				get(es[k], lp, &a);
				get(es[k], dp, &b);
				if (a.status != b.status || a.body.len != b.body.len ||
				    (a.body.len && memcmp(a.body.p, b.body.p, a.body.len)) ||
				    strcmp(a.ctype, b.ctype))
					md_fail("%s differs from %s: %d vs %d", dp, lp, b.status,
					    a.status);
				buf_free(&a.body);
				buf_free(&b.body);
			}
	expect_200(f->full, "/2021-03-23/meta-data/instance-id", "i-2-101-VM");
}

static void
test_unknown_versions(void **state)
{
	struct fx *f = *state;

	expect_404(f->full, "/2020-01-01/meta-data/instance-id");
	expect_404(f->full, "/2020-01-01/");
	expect_404(f->full, "/1.0/meta-data/");
	expect_404(f->full, "/LATEST/meta-data/");
	expect_404(f->full, "/Latest/");
	expect_404(f->full, "/latest-/");
	expect_404(f->full, "/2009-04-04x/");
	expect_404(f->full, "/2018-08-27/meta-data/"); /* an OpenStack version, not EC2 */
	expect_404(f->full, "/meta-data/instance-id");
	expect_404(f->full, "/user-data");
}

static void
test_openstack_lists(void **state)
{
	static const char vers[] = "2012-08-10\n2013-04-04\n2013-10-17\n2015-10-15\n2016-06-30\n"
	    "2016-10-06\n2017-02-22\n2018-08-27\nlatest";
	struct fx *f = *state;

	expect_200(f->full, "/openstack/", vers);
	expect_200(f->full, "/openstack", vers);
	expect_200(f->min, "/openstack/", vers);
	expect_200(f->full, "/openstack/latest/",
	    "meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json");
	expect_200(f->full, "/openstack/latest",
	    "meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json");
	expect_200(f->full, "/openstack/2018-08-27/",
	    "meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json");
	expect_200(f->full, "/openstack/2012-08-10",
	    "meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json");
	expect_200(f->min, "/openstack/latest/",
	    "meta_data.json\nnetwork_data.json\nvendor_data.json");
	expect_200(f->min, "/openstack/2016-06-30/",
	    "meta_data.json\nnetwork_data.json\nvendor_data.json");
	expect_404(f->full, "/openstack/2099-01-01/");
	expect_404(f->full, "/openstack/2009-04-04/"); /* an EC2 version, not OpenStack */
	expect_404(f->full, "/openstack/LATEST/");
	expect_404(f->full, "/openstack/latest/secret");
	expect_404(f->full, "/openstack/latest/meta_data.json/");
	expect_404(f->full, "/openstack/latest/meta_data.json/x");
	expect_404(f->full, "/openstack/latest/user_data/");
}

static json_t *
get_json(const struct md_entry *e, const char *path)
{
	char *s = get_200(e, path, "application/json");
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);

	if (!j)
		md_fail("%s: not JSON (%s): %s", path, jerr.text, s);
	free(s);
	assert_true(json_is_object(j));
	return j;
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		md_fail("\"%s\" is not a string", key);
	return json_string_value(v);
}

static void
test_openstack_meta_data(void **state)
{
	struct fx *f = *state;
	json_t *j = get_json(f->full, "/openstack/latest/meta_data.json"), *keys, *li;
	char *a, *b;

	assert_string_equal(jstr(j, "uuid"), "i-2-101-VM");
	assert_string_equal(jstr(j, "name"), "vm1.cloud");
	assert_string_equal(jstr(j, "hostname"), "vm1.cloud");
	assert_string_equal(jstr(j, "availability_zone"), "zone1");
	keys = json_object_get(j, "public_keys");
	assert_true(json_is_object(keys));
	assert_int_equal(json_object_size(keys), 2);
	assert_string_equal(jstr(keys, "one@host"), FULL_KEY0);
	assert_string_equal(jstr(keys, "two@host"), FULL_KEY1);
	li = json_object_get(j, "launch_index");
	assert_true(json_is_integer(li));
	assert_int_equal(json_integer_value(li), 0);
	json_decref(j);

	/* uuid falls back to vm-id when instance-id is empty */
	j = get_json(f->min, "/openstack/latest/meta_data.json");
	assert_string_equal(jstr(j, "uuid"), "102");
	assert_int_equal(json_object_size(json_object_get(j, "public_keys")), 0);
	assert_string_equal(jstr(j, "availability_zone"), "");
	json_decref(j);

	/* ... and when it is absent */
	{
		struct md_entry *e = parse_doc("{'ip':'10.1.1.104','metadata':{'vm-id':'104',"
		    "'local-hostname':'h104'}}");

		j = get_json(e, "/openstack/latest/meta_data.json");
		assert_string_equal(jstr(j, "uuid"), "104");
		assert_string_equal(jstr(j, "name"), "h104");
		assert_string_equal(jstr(j, "hostname"), "h104");
		json_decref(j);
		md_entry_free(e);
	}

	/* a dated version gives the same document */
	a = get_200(f->full, "/openstack/latest/meta_data.json", NULL);
	b = get_200(f->full, "/openstack/2016-06-30/meta_data.json", NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* Two keys whose names collide ("key-1" as the first key's comment, and the
 * default name of the second, comment-less key) must not make one key vanish
 * from the OpenStack public_keys object, nor list one name twice. */
static void
test_key_name_collision(void **state)
{
	struct md_entry *e = parse_doc("{'ip':'10.1.1.112','metadata':{'public-keys':"
	    "'ssh-rsa AAA0 key-1\\nssh-rsa AAA1'}}");
	json_t *j, *keys, *v;
	const char *name;
	bool seen0 = false, seen1 = false, same;
	size_t n;

	(void)state;
	assert_int_equal(e->nkeys, 2);
	same = !strcmp(e->names[0], e->names[1]);
	if (same)
		print_message("# both keys are named \"%s\"\n", e->names[0]);
	j = get_json(e, "/openstack/latest/meta_data.json");
	keys = json_object_get(j, "public_keys");
	n = json_object_size(keys);
	json_object_foreach(keys, name, v) {
		seen0 |= !strcmp(json_string_value(v), "ssh-rsa AAA0 key-1");
		seen1 |= !strcmp(json_string_value(v), "ssh-rsa AAA1");
	}
	json_decref(j);
	md_entry_free(e); /* before any failure, so the sanitizer build reports no leak */
	if (!seen0 || !seen1 || n != 2)
		md_fail("OpenStack public_keys has %zu entries (want 2): first key %s, second %s", n,
		    seen0 ? "present" : "LOST", seen1 ? "present" : "LOST");
	assert_false(same);
}

static void
test_openstack_other_files(void **state)
{
	struct fx *f = *state;
	json_t *j, *links, *l0;
	char *s;

	expect_200(f->full, "/openstack/latest/vendor_data.json", "{}");
	expect_200(f->min, "/openstack/2018-08-27/vendor_data.json", "{}");

	s = get_200(f->full, "/openstack/latest/network_data.json", "application/json");
	assert_non_null(strstr(s, "02:00:4c:5f:00:01"));
	free(s);
	j = get_json(f->full, "/openstack/latest/network_data.json");
	links = json_object_get(j, "links");
	assert_true(json_is_array(links));
	assert_int_equal(json_array_size(links), 1);
	l0 = json_array_get(links, 0);
	assert_string_equal(jstr(l0, "ethernet_mac_address"), "02:00:4c:5f:00:01");
	assert_true(json_is_array(json_object_get(j, "networks")));
	json_decref(j);

	expect_200(f->full, "/openstack/latest/user_data", FULL_UD);
	expect_n(f->bin, "/openstack/latest/user_data", 200, bin_ud, sizeof(bin_ud) - 1);
	expect_404(f->min, "/openstack/latest/user_data");
	expect_404(f->min, "/openstack/2013-04-04/user_data");
}

static void
test_hostile_paths(void **state)
{
	static const char *const paths[] = {
		"", "latest", "latest/meta-data/instance-id", "//", "///", "//latest",
		"//latest/meta-data/instance-id", "/latest//meta-data/",
		"/latest//meta-data/instance-id", "/latest/meta-data//instance-id",
		"/latest/meta-data/../user-data", "/latest/meta-data/..", "/latest/meta-data/../",
		"/latest/..", "/..", "/.", "/./", "/../latest/meta-data/instance-id",
		"/latest/./meta-data/", "/latest/./meta-data/instance-id",
		"/latest/meta-data/./instance-id", "/latest/meta-data/instance-id/.",
		"/latest/meta-data/instance-id/..", "/latest/meta-data/instance-id/",
		"/latest/meta-data/vm-id/", "/latest/meta-data/empty-key/",
		"/latest/meta-data/instance-id/x", "/latest/meta-data/instance-id//",
		"/latest/meta-data/public-keys/0/openssh-key/",
		"/latest/meta-data/public-keys/../public-keys/0/openssh-key",
		"/latest/meta-data/public-keys/./0/openssh-key",
		"/latest/meta-data/placement/../availability-zone",
		"/latest/user-data/", "/latest/user-data/..", "/latest/user-data/.",
		"/latest/meta-data/nonexistent", "/latest/meta-data/Instance-ID",
		"/latest/meta-data/instance-id%00", "/latest/meta-data/%2e%2e/user-data",
		"/latest/meta-data/ instance-id", "/latest/meta-data/instance-id ",
		"/latest/meta-data/instance-id\n", "/latest/meta-data/instance-id\r\n",
		"/latest/meta-data/instance-id?x=1", "/latest/meta-data\\instance-id",
		"\\latest\\meta-data", "/latest /", " /latest/", "/latest/meta-data/10.1.1.102",
		"/vms/10.1.1.102.json", "/passwords/10.1.1.101", "/../10.1.1.102/latest/meta-data/",
		"/latest/meta-data/user_data", "/latest/meta-data/password",
		"/latest/meta-data/iam/security-credentials/", "/latest/dynamic/instance-identity",
		"/openstack/latest/../latest/meta_data.json", "/openstack//latest/meta_data.json",
		"/openstack/latest/./meta_data.json", "/openstack/./latest/",
		"/openstack/latest/meta_data.json/..", "/openstack/../latest/meta-data/",
		"/openstack/latest/password", "/latest/api/../meta-data/instance-id",
		"/latest/api/token/../../meta-data/instance-id", "/latest/api/", "/latest/api",
		"/latest/api/token/x",
		/* 9 segments, and many more */
		"/latest/meta-data/public-keys/0/openssh-key/a/b/c/d",
		"/latest/meta-data/public-keys/0/openssh-key/a/b/c/d/",
		"/a/b/c/d/e/f/g/h/i", "/a/b/c/d/e/f/g/h",
	};
	struct fx *f = *state;
	char path[2048];
	struct buf b;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		expect_404(f->full, paths[i]);
		expect_404(f->min, paths[i]);
		expect_404(f->bin, paths[i]);
	}
	/* a hundred segments */
	buf_init(&b);
	buf_adds(&b, "/latest/meta-data");
	for (int i = 0; i < 100; i++)
		buf_adds(&b, "/x");
	expect_404(f->full, b.p);
	buf_reset(&b);
	for (int i = 0; i < 100; i++)
		buf_adds(&b, "/");
	expect_404(f->full, b.p);
	buf_free(&b);

	/* 300-character segments at every level */
	char seg[301];

	memset(seg, 'a', 300);
	seg[300] = '\0';
	snprintf(path, sizeof(path), "/%s", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/%s", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/meta-data/%s", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/meta-data/%s/", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/meta-data/%s/%s", seg, seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%s/openssh-key", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/latest/meta-data/placement/%s", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/openstack/%s/meta_data.json", seg);
	expect_404(f->full, path);
	snprintf(path, sizeof(path), "/openstack/latest/%s", seg);
	expect_404(f->full, path);
	memset(seg, '0', 300);
	snprintf(path, sizeof(path), "/latest/meta-data/public-keys/%s/openssh-key", seg);
	expect_404(f->full, path);
	memset(seg, '.', 300);
	snprintf(path, sizeof(path), "/latest/meta-data/%s", seg);
	expect_404(f->full, path);
}

/* A key of MD_KEY_MAX characters is served; one character more cannot be. */
static void
test_longest_key(void **state)
{
	char key[MD_KEY_MAX + 2], path[MD_KEY_MAX + 64], *doc;
	struct md_entry *e;

	(void)state;
	memset(key, 'k', MD_KEY_MAX);
	key[MD_KEY_MAX] = '\0';
	assert_true(asprintf(&doc, "{'ip':'10.1.1.120','metadata':{'%s':'long','...':'dots'}}",
	    key) > 0);
	e = parse_doc(doc);
	free(doc);
	snprintf(path, sizeof(path), "/latest/meta-data/%s", key);
	expect_200(e, path, "long");
	strcat(path, "/");
	expect_404(e, path);
	key[MD_KEY_MAX] = 'k';
	key[MD_KEY_MAX + 1] = '\0';
	snprintf(path, sizeof(path), "/latest/meta-data/%s", key);
	expect_404(e, path);
	/* "..." is a name like any other; ".." is never one */
	expect_200(e, "/latest/meta-data/...", "dots");
	expect_404(e, "/latest/meta-data/..");
	md_entry_free(e);
}

static void
test_token_path(void **state)
{
	static const char *const no[] = { "/latest/api/token/", "/latest/api/other", "/latest/api",
		"/latest/api/", "/latest/api/token/x", "latest/api/token", "//latest/api/token",
		"/latest//api/token", "/latest/api//token", "/latest/./api/token",
		"/latest/api/../api/token", "/openstack/api/token", "/openstack/latest/api/token",
		"/2020-01-01/api/token", "/LATEST/api/token", "/latest/API/token",
		"/latest/api/Token", "/latest/api/token ", "", "/", "/api/token",
		"/latest/meta-data/api/token", "/2021-03-23/api/token/" };
	static const char *const dated[] = { "/2009-04-04/api/token", "/2016-09-02/api/token",
		"/2018-09-24/api/token", "/2021-03-23/api/token" };
	struct fx *f = *state;
	bool d = true;

	assert_true(md_is_token_path("/latest/api/token", &d));
	assert_false(d);
	for (size_t i = 0; i < sizeof(dated) / sizeof(dated[0]); i++) {
		d = false;
		assert_true(md_is_token_path(dated[i], &d));
		assert_true(d);
		expect_n(f->full, dated[i], 405, "use PUT", 7);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		d = true;
		if (md_is_token_path(no[i], &d))
			md_fail("md_is_token_path(\"%s\") is true", no[i]);
		assert_false(d);
	}
	/* a GET of the token path: PUT only */
	expect_n(f->full, "/latest/api/token", 405, "use PUT", 7);
	expect_n(f->min, "/latest/api/token", 405, "use PUT", 7);
	expect_404(f->full, "/latest/api/other");
}

/* Documents md_entry_parse refuses. */
static void
test_entry_parse_errors(void **state)
{
	static const char *const bad[] = { "", "[]", "{}", "{'ip':'10.1.1'}", "{'ip':5}",
		"{'ip':'10.1.1.1','mac':'zz'}", "{'ip':'10.1.1.1','metadata':[]}",
		"{'ip':'10.1.1.1','metadata':{'a/b':'x'}}", "{'ip':'10.1.1.1','metadata':{'..':'x'}}",
		"{'ip':'10.1.1.1','metadata':{'a':5}}", "{'ip':'10.1.1.1','user_data_base64':'!!'}" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *j = tu_json(bad[i]), err[256] = "";
		struct md_entry *e = NULL;

		if (md_entry_parse(j, strlen(j), &e, err, sizeof(err)) != -EINVAL)
			md_fail("md_entry_parse(%s) accepted", j);
		assert_null(e);
		free(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_list),
		cmocka_unit_test(test_version_index),
		cmocka_unit_test(test_metadata_listing),
		cmocka_unit_test(test_metadata_leaves),
		cmocka_unit_test(test_public_keys),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_key_limit),
		cmocka_unit_test(test_key_name_collision),
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_dated_versions),
		cmocka_unit_test(test_unknown_versions),
		cmocka_unit_test(test_openstack_lists),
		cmocka_unit_test(test_openstack_meta_data),
		cmocka_unit_test(test_openstack_other_files),
		cmocka_unit_test(test_hostile_paths),
		cmocka_unit_test(test_longest_key),
		cmocka_unit_test(test_token_path),
		cmocka_unit_test(test_entry_parse_errors),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
