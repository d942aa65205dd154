/* test_mgr_virt.c: the domain XML and the libvirt calls of manager/virt.c, against libvirt's
 * test driver (test:///DIR/hostN.xml, one in-memory hypervisor per connection). */
#include "testutil.h"

#include <pthread.h>
#include <time.h>

#include "fileio.h"
#include "virt.h"

#define NHOSTS 10

struct fx {
	char dir[64];
	char uri[NHOSTS][128];
	struct virt_hosts *h;
	char err[512];
};

/* A host with 8 cores of 2,400 MHz and 16 GiB, as tests/lib/mgr_testnode.sh writes it. */
static void
node_write(const char *dir, const char *name)
{
	tu_write(dir, name,
	    "<node>\n  <cpu>\n    <nodes>1</nodes>\n    <sockets>1</sockets>\n"
	    "    <cores>8</cores>\n    <threads>1</threads>\n    <active>8</active>\n"
	    "    <mhz>2400</mhz>\n    <model>x86_64</model>\n  </cpu>\n"
	    "  <memory>16777216</memory>\n</node>\n", 0644);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	for (int i = 0; i < NHOSTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "host%d.xml", i);
		node_write(f->dir, name);
		snprintf(f->uri[i], sizeof(f->uri[i]), "test://%s/%s", f->dir, name);
	}
	f->h = virt_hosts_new();
	assert_non_null(f->h);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	virt_hosts_free(f->h);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

/* VM number i: 2 vCPUs of 1,000 MHz, 512 MiB, on cloudbr0 untagged. */
static void
spec_init(struct virt_spec *s, unsigned i)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "i-2-%u-VM", i);
	snprintf(s->uuid, sizeof(s->uuid), "8d5cbf6a-0000-4000-8000-%012x", i);
	s->vcpus = 2;
	s->cpu_mhz = 1000;
	s->ram_mib = 512;
	snprintf(s->disk_path, sizeof(s->disk_path), "/var/lib/vr-manager/pool/%u.qcow2", i);
	snprintf(s->nic.mac, sizeof(s->nic.mac), "52:54:00:%02x:%02x:%02x", (i >> 16) & 0xff,
	    (i >> 8) & 0xff, i & 0xff);
	snprintf(s->nic.bridge, sizeof(s->nic.bridge), "cloudbr0");
	snprintf(s->ip, sizeof(s->ip), "10.1.%u.%u", (i >> 8) & 0xff, i & 0xff);
}

static char *
render(const struct virt_spec *s, const char *type)
{
	struct buf b;
	char *x;

	buf_init(&b);
	assert_int_equal(domain_xml_render(s, type, &b), 0);
	x = buf_steal(&b, NULL);
	assert_non_null(x);
	return x;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing %s in:\n%s", needle, hay);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("unexpected %s in:\n%s", needle, hay);
}

static size_t
domain_count(struct fx *f, const char *uri)
{
	char **names;
	size_t n;

	assert_int_equal(virt_domain_list(f->h, uri, &names, &n, f->err, sizeof(f->err)), 0);
	virt_names_free(names, n);
	return n;
}

static bool
listed(struct fx *f, const char *uri, const char *name)
{
	char **names;
	size_t n;
	bool found = false;

	assert_int_equal(virt_domain_list(f->h, uri, &names, &n, f->err, sizeof(f->err)), 0);
	for (size_t i = 0; i < n; i++)
		found = found || strcmp(names[i], name) == 0;
	virt_names_free(names, n);
	return found;
}

static void
start_ok(struct fx *f, const char *uri, const struct virt_spec *s)
{
	int r = virt_domain_start(f->h, uri, s, f->err, sizeof(f->err));

	if (r != 0)
		fail_msg("start %s on %s: %d: %s", s->name, uri, r, f->err);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
test_render_has_offering_volume_and_nic(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 7);
	x = render(&s, "kvm");
	assert_contains(x, "<domain type='kvm'>\n  <name>i-2-7-VM</name>\n");
	assert_lacks(x, "<cpu ");
	assert_lacks(x, "<tcg>");
	assert_contains(x, "<uuid>8d5cbf6a-0000-4000-8000-000000000007</uuid>");
	assert_contains(x, "<memory unit='MiB'>512</memory>");
	assert_contains(x, "<vcpu placement='static'>2</vcpu>");
	assert_contains(x, "<cputune>\n    <shares>2000</shares>\n  </cputune>");
	assert_contains(x, "<driver name='qemu' type='qcow2'/>\n"
	    "      <source file='/var/lib/vr-manager/pool/7.qcow2'/>\n"
	    "      <target dev='vda' bus='virtio'/>");
	assert_contains(x, "<interface type='bridge'>\n      <mac address='52:54:00:00:00:07'/>\n"
	    "      <source bridge='cloudbr0'/>\n      <model type='virtio'/>\n"
	    "      <filterref filter='clean-traffic'>\n"
	    "        <parameter name='IP' value='10.1.0.7'/>\n      </filterref>\n"
	    "    </interface>");
	assert_contains(x, "<type arch='x86_64' machine='pc'>hvm</type>");
	assert_contains(x, "<entry name='product'>CloudStack KVM Hypervisor</entry>");
	assert_contains(x, "<smbios mode='sysinfo'/>");
	assert_contains(x, "<serial type='pty'>");
	assert_contains(x, "<console type='pty'>\n      <target type='serial' port='0'/>");
	assert_lacks(x, "<vlan>");
	assert_lacks(x, "virtualport");
	assert_lacks(x, "<graphics");
	free(x);
}

static void
test_render_console_file_and_vnc(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 7);
	snprintf(s.console_path, sizeof(s.console_path), "/var/log/vr-manager/i-2-7-VM.log");
	snprintf(s.vnc_listen, sizeof(s.vnc_listen), "192.0.2.11");
	x = render(&s, "qemu");
	assert_contains(x, "<serial type='file'>\n"
	    "      <source path='/var/log/vr-manager/i-2-7-VM.log'/>\n"
	    "      <target port='0'/>\n    </serial>\n");
	assert_contains(x, "<console type='file'>\n"
	    "      <source path='/var/log/vr-manager/i-2-7-VM.log'/>\n"
	    "      <target type='serial' port='0'/>\n    </console>\n");
	assert_contains(x, "<graphics type='vnc' autoport='yes' listen='192.0.2.11'>\n"
	    "      <listen type='address' address='192.0.2.11'/>\n    </graphics>\n");
	assert_lacks(x, "type='pty'");
	free(x);
	snprintf(s.vnc_listen, sizeof(s.vnc_listen), "::1");
	x = render(&s, "qemu");
	assert_contains(x, "listen='::1'");
	free(x);
}

static void
test_domain_type_follows_host_and_preference(void **state)
{
	static const char caps_kvm[] = "<capabilities><guest><os_type>hvm</os_type>"
	    "<arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>"
	    "</capabilities>";
	static const char caps_tcg[] = "<capabilities><guest><os_type>hvm</os_type>"
	    "<arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>";

	(void)state;
	assert_string_equal(virt_domain_type_pick("QEMU", caps_kvm, "auto"), "kvm");
	assert_string_equal(virt_domain_type_pick("QEMU", caps_kvm, NULL), "kvm");
	assert_string_equal(virt_domain_type_pick("QEMU", caps_tcg, "auto"), "qemu");
	assert_string_equal(virt_domain_type_pick("QEMU", NULL, "auto"), "qemu");
	/* a host whose /dev/kvm is there but does not work (nested KVM): forced */
	assert_string_equal(virt_domain_type_pick("QEMU", caps_kvm, "qemu"), "qemu");
	assert_string_equal(virt_domain_type_pick("QEMU", caps_tcg, "kvm"), "kvm");
	assert_string_equal(virt_domain_type_pick("Test", caps_kvm, "qemu"), "test");
	assert_null(virt_domain_type_pick("Xen", caps_kvm, "auto"));
	assert_null(virt_domain_type_pick(NULL, caps_kvm, "auto"));
	assert_null(virt_domain_type_pick("QEMU", caps_kvm, "xen"));
}

static void
test_render_tags_vlan_on_openvswitch_port(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 1);
	s.nic.vlan = 4094;
	x = render(&s, "qemu");
	assert_contains(x, "<domain type='qemu'>");
	/* an emulated guest gets no SVM (its reboot hung after kvm_amd had run) */
	assert_contains(x, "<model fallback='forbid'>qemu64</model>\n"
	    "    <feature policy='disable' name='svm'/>\n");
	/* and a translation cache of 128 MiB, not QEMU's 1 GiB */
	assert_contains(x, "<features>\n    <acpi/>\n    <apic/>\n    <tcg>\n"
	    "      <tb-cache unit='MiB'>128</tb-cache>\n    </tcg>\n  </features>\n");
	assert_contains(x, "<source bridge='cloudbr0'/>\n      <virtualport type='openvswitch'/>\n"
	    "      <vlan>\n        <tag id='4094'/>\n      </vlan>\n");
	free(x);
}

static void
test_render_escapes_disk_path(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 1);
	snprintf(s.disk_path, sizeof(s.disk_path), "/pool/a&b/'c'/<d>\"e\".qcow2");
	x = render(&s, "test");
	assert_contains(x, "<source file='/pool/a&amp;b/&apos;c&apos;/&lt;d&gt;&quot;e&quot;.qcow2'/>");
	free(x);
}

static void
test_render_omits_empty_uuid(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 1);
	s.uuid[0] = '\0';
	x = render(&s, "test");
	assert_lacks(x, "<uuid>");
	free(x);
}

static void
test_render_clamps_cpu_shares(void **state)
{
	struct virt_spec s;
	char *x;

	(void)state;
	spec_init(&s, 1);
	s.vcpus = 16;
	s.cpu_mhz = 3000;
	x = render(&s, "kvm");
	assert_contains(x, "<shares>10000</shares>");
	free(x);
	s.vcpus = 1;
	s.cpu_mhz = 1;
	x = render(&s, "kvm");
	assert_contains(x, "<shares>2</shares>");
	free(x);
}

enum field { NAME, UUID, MAC, BRIDGE, DISK, IP, CONSOLE, VNC };

static void
test_render_rejects_unsafe_input(void **state)
{
	static const struct {
		enum field field;
		const char *value;
	} bad[] = {
		{ NAME, "" }, { NAME, "i 2" }, { NAME, "a'b" }, { NAME, "a<b" }, { NAME, "-x" },
		{ NAME, ".x" }, { NAME, "a/b" }, { NAME, "a&b" }, { NAME, "\xc3\xa9t\xc3\xa9" },
		{ UUID, "8d5cbf6a-0000-4000-8000-00000000000" },
		{ UUID, "8d5cbf6a00000-4000-8000-000000000007" },
		{ UUID, "8d5cbf6a-0000-4000-8000-00000000000g" },
		{ MAC, "52:54:00:12:34" }, { MAC, "52-54-00-12-34-56" }, { MAC, "52:54:00:12:34:5g" },
		{ MAC, "53:54:00:12:34:56" }, { MAC, "00:00:00:00:00:00" }, { MAC, "" },
		{ BRIDGE, "" }, { BRIDGE, "br 0" }, { BRIDGE, "br0'/>" }, { BRIDGE, "br-0123456789abc" },
		{ DISK, "" }, { DISK, "pool/7.qcow2" }, { DISK, "/pool/7\n.qcow2" },
		{ IP, "" }, { IP, "10.1.1" }, { IP, "10.1.1.256" }, { IP, "10.1.1.1'/>" },
		{ IP, "::1" }, { CONSOLE, "console.log" }, { CONSOLE, "/log/a\tb" },
		{ VNC, "localhost" }, { VNC, "127.0.0.1'/>" }, { VNC, "0.0.0.0 " },
	};
	struct virt_spec s;
	struct buf b;

	(void)state;
	buf_init(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dst;
		size_t size;

		spec_init(&s, 1);
		switch (bad[i].field) {
		case NAME: dst = s.name; size = sizeof(s.name); break;
		case UUID: dst = s.uuid; size = sizeof(s.uuid); break;
		case MAC: dst = s.nic.mac; size = sizeof(s.nic.mac); break;
		case BRIDGE: dst = s.nic.bridge; size = sizeof(s.nic.bridge); break;
		case IP: dst = s.ip; size = sizeof(s.ip); break;
		case CONSOLE: dst = s.console_path; size = sizeof(s.console_path); break;
		case VNC: dst = s.vnc_listen; size = sizeof(s.vnc_listen); break;
		default: dst = s.disk_path; size = sizeof(s.disk_path); break;
		}
		snprintf(dst, size, "%s", bad[i].value);
		if (domain_xml_render(&s, "kvm", &b) != -EINVAL)
			fail_msg("accepted field %d = '%s'", bad[i].field, bad[i].value);
		assert_int_equal(b.len, 0);
	}
	buf_free(&b);
}

static void
test_render_rejects_bad_numbers_and_type(void **state)
{
	struct virt_spec s;
	struct buf b;

	(void)state;
	buf_init(&b);
	spec_init(&s, 1);
	s.nic.vlan = 4095;
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	s.vcpus = 0;
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	s.cpu_mhz = 0;
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	s.ram_mib = 0;
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	s.ram_mib = VIRT_RAM_MIB_MAX + 1;
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	memset(s.name, 'a', sizeof(s.name)); /* not terminated */
	assert_int_equal(domain_xml_render(&s, "kvm", &b), -EINVAL);
	spec_init(&s, 1);
	assert_int_equal(domain_xml_render(&s, "xen", &b), -EINVAL);
	assert_int_equal(domain_xml_render(&s, NULL, &b), -EINVAL);
	assert_int_equal(b.len, 0);
	/* The longest name and bridge are fine. */
	memset(s.name, 'a', VIRT_NAME_MAX);
	s.name[VIRT_NAME_MAX] = '\0';
	memset(s.nic.bridge, 'b', VIRT_BRIDGE_MAX);
	s.nic.bridge[VIRT_BRIDGE_MAX] = '\0';
	assert_int_equal(domain_xml_render(&s, "kvm", &b), 0);
	buf_free(&b);
}

/* The test driver parses the rendered XML and keeps what matters. */
static void
test_start_defines_what_was_rendered(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;
	char *xml;

	spec_init(&s, 7);
	s.nic.vlan = 100;
	start_ok(f, f->uri[0], &s);
	assert_int_equal(virt_domain_xml(f->h, f->uri[0], s.name, &xml, f->err, sizeof(f->err)), 0);
	assert_contains(xml, "<domain type='test' id='");
	assert_contains(xml, "<uuid>8d5cbf6a-0000-4000-8000-000000000007</uuid>");
	assert_contains(xml, "<memory unit='KiB'>524288</memory>");
	assert_contains(xml, "<shares>2000</shares>");
	assert_contains(xml, "<source file='/var/lib/vr-manager/pool/7.qcow2'/>");
	assert_contains(xml, "<mac address='52:54:00:00:00:07'/>");
	assert_contains(xml, "<source bridge='cloudbr0'/>");
	assert_contains(xml, "<tag id='100'/>");
	assert_contains(xml, "<model type='virtio'/>");
	assert_contains(xml, "<filterref filter='clean-traffic'>\n"
	    "        <parameter name='IP' value='10.1.0.7'/>");
	assert_contains(xml, "<graphics type='vnc'"); /* virt_hosts_new's default address */
	assert_contains(xml, "listen='127.0.0.1'");
	free(xml);
}

/* virt_hosts_configure: the console file follows console_dir and goes with the domain; the
 * test driver assigns no VNC port, so there is none to report. */
static void
test_console_dir_and_vnc_settings(void **state)
{
	struct fx *f = *state;
	struct virt_opts bad = { .domain_type = "xen" }, bad_dir = { .console_dir = "log" },
	    bad_vnc = { .vnc_listen = "localhost" };
	struct virt_opts o = { .domain_type = "qemu", .console_dir = f->dir, .vnc_listen = "::1" };
	struct virt_spec s;
	char *xml, path[256], addr[64] = "", want[300];
	int port = 0;

	assert_int_equal(virt_hosts_configure(f->h, &bad), -EINVAL);
	assert_int_equal(virt_hosts_configure(f->h, &bad_dir), -EINVAL);
	assert_int_equal(virt_hosts_configure(f->h, &bad_vnc), -EINVAL);
	assert_int_equal(virt_hosts_configure(f->h, &o), 0);
	spec_init(&s, 3);
	start_ok(f, f->uri[0], &s);
	assert_int_equal(virt_domain_xml(f->h, f->uri[0], s.name, &xml, f->err, sizeof(f->err)), 0);
	snprintf(path, sizeof(path), "%s/i-2-3-VM.log", f->dir);
	snprintf(want, sizeof(want), "<source path='%s'/>", path);
	assert_contains(xml, want);
	assert_contains(xml, "listen='::1'");
	free(xml);
	assert_int_equal(virt_domain_vnc(f->h, f->uri[0], s.name, addr, sizeof(addr), &port,
	    f->err, sizeof(f->err)), -ENOENT);
	tu_write(f->dir, "i-2-3-VM.log", "boot messages\n", 0600);
	assert_int_equal(virt_domain_remove(f->h, f->uri[0], s.name, f->err, sizeof(f->err)), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* The embedded QEMU driver runs in this process: it needs the event loop virt_hosts_new
 * starts ("An event loop implementation must be registered" without it) and a qemu.conf in
 * its root, which vr-manager writes. */
static void
test_embedded_qemu_driver_opens(void **state)
{
	struct fx *f = *state;
	char uri[256], root[128], *conf;
	char **names;
	size_t n, len;
	int r;

	snprintf(root, sizeof(root), "%s/embed", f->dir);
	snprintf(uri, sizeof(uri), "qemu:///embed?root=%s", root);
	r = virt_domain_list(f->h, uri, &names, &n, f->err, sizeof(f->err));
	if (r != 0)
		fail_msg("embedded driver at %s: %d: %s", uri, r, f->err);
	assert_int_equal(n, 0);
	virt_names_free(names, n);
	snprintf(root, sizeof(root), "%s/embed/etc/qemu.conf", f->dir);
	assert_int_equal(file_read_all(root, 4096, &conf, &len), 0);
	assert_non_null(strstr(conf, "stdio_handler = \"file\"\n"));
	free(conf);
	snprintf(uri, sizeof(uri), "qemu:///embed?root=relative");
	assert_int_equal(virt_domain_list(f->h, uri, &names, &n, f->err, sizeof(f->err)), -EINVAL);
}

static void
test_start_runs_the_domain(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;

	spec_init(&s, 1);
	assert_int_equal(domain_count(f, f->uri[0]), 0);
	start_ok(f, f->uri[0], &s);
	assert_true(listed(f, f->uri[0], "i-2-1-VM"));
	assert_int_equal(domain_count(f, f->uri[0]), 1);
	assert_int_equal(virt_domain_is_active(f->h, f->uri[0], s.name, f->err, sizeof(f->err)), 1);
}

static void
test_remove_stops_and_undefines(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;

	spec_init(&s, 1);
	start_ok(f, f->uri[0], &s);
	assert_int_equal(virt_domain_remove(f->h, f->uri[0], s.name, f->err, sizeof(f->err)), 0);
	assert_int_equal(domain_count(f, f->uri[0]), 0);
	assert_int_equal(virt_domain_is_active(f->h, f->uri[0], s.name, f->err, sizeof(f->err)),
	    -ENOENT);
	/* The name is free again. */
	start_ok(f, f->uri[0], &s);
	assert_int_equal(virt_domain_is_active(f->h, f->uri[0], s.name, f->err, sizeof(f->err)), 1);
}

static void
test_remove_of_absent_domain_succeeds(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virt_domain_remove(f->h, f->uri[0], "i-9-9-VM", f->err, sizeof(f->err)),
	    0);
	assert_int_equal(virt_domain_remove(f->h, f->uri[0], "bad name", f->err, sizeof(f->err)),
	    -EINVAL);
}

static void
test_start_same_name_twice_is_eexist(void **state)
{
	struct fx *f = *state;
	struct virt_spec first, again;
	char *xml;

	spec_init(&first, 1);
	start_ok(f, f->uri[0], &first);
	/* Same name and UUID, other offering: libvirt alone would redefine the first. */
	again = first;
	again.ram_mib = 2048;
	f->err[0] = '\0';
	assert_int_equal(virt_domain_start(f->h, f->uri[0], &again, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_contains(f->err, "i-2-1-VM");
	/* Same name, other UUID. */
	spec_init(&again, 2);
	snprintf(again.name, sizeof(again.name), "%s", first.name);
	assert_int_equal(virt_domain_start(f->h, f->uri[0], &again, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_int_equal(domain_count(f, f->uri[0]), 1);
	assert_int_equal(virt_domain_is_active(f->h, f->uri[0], first.name, f->err,
	    sizeof(f->err)), 1);
	assert_int_equal(virt_domain_xml(f->h, f->uri[0], first.name, &xml, f->err,
	    sizeof(f->err)), 0);
	assert_contains(xml, "<memory unit='KiB'>524288</memory>");
	assert_contains(xml, "<mac address='52:54:00:00:00:01'/>");
	free(xml);
}

static void
test_start_with_uuid_of_other_domain_is_eexist(void **state)
{
	struct fx *f = *state;
	struct virt_spec first, clash;

	spec_init(&first, 1);
	start_ok(f, f->uri[0], &first);
	spec_init(&clash, 2);
	snprintf(clash.uuid, sizeof(clash.uuid), "%s", first.uuid);
	f->err[0] = '\0';
	assert_int_equal(virt_domain_start(f->h, f->uri[0], &clash, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_true(f->err[0] != '\0');
	assert_int_equal(domain_count(f, f->uri[0]), 1);
}

static void
test_start_rejects_invalid_spec_before_connecting(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;

	spec_init(&s, 1);
	snprintf(s.nic.bridge, sizeof(s.nic.bridge), "br0'");
	assert_int_equal(virt_domain_start(f->h, "qemu+tcp://127.0.0.1:1/system", &s, f->err,
	    sizeof(f->err)), -EINVAL);
}

static void
test_unreachable_host_is_ehostunreach_with_text(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;
	char **names = NULL, missing[128];
	size_t n = 99;

	spec_init(&s, 1);
	f->err[0] = '\0';
	assert_int_equal(virt_domain_start(f->h, "qemu+tcp://127.0.0.1:1/system", &s, f->err,
	    sizeof(f->err)), -EHOSTUNREACH);
	assert_contains(f->err, "127.0.0.1");
	/* A missing node file (libxml2 prints an "I/O warning" line itself). */
	snprintf(missing, sizeof(missing), "test://%s/nonexistent.xml", f->dir);
	f->err[0] = '\0';
	assert_int_equal(virt_domain_list(f->h, missing, &names, &n, f->err, sizeof(f->err)),
	    -EHOSTUNREACH);
	assert_contains(f->err, "nonexistent.xml");
	assert_null(names);
	assert_int_equal(n, 99);
	/* The failure is not cached: once the file is there, the host connects. */
	node_write(f->dir, "nonexistent.xml");
	assert_int_equal(domain_count(f, missing), 0);
}

static void
test_hosts_are_independent(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;

	spec_init(&s, 1);
	start_ok(f, f->uri[0], &s);
	assert_true(listed(f, f->uri[0], s.name));
	assert_false(listed(f, f->uri[1], s.name));
	assert_int_equal(virt_domain_is_active(f->h, f->uri[1], s.name, f->err, sizeof(f->err)),
	    -ENOENT);
	/* The same name on another host is another domain. */
	start_ok(f, f->uri[1], &s);
	assert_int_equal(virt_domain_remove(f->h, f->uri[0], s.name, f->err, sizeof(f->err)), 0);
	assert_false(listed(f, f->uri[0], s.name));
	assert_true(listed(f, f->uri[1], s.name));
}

/* The node file is read once: the connection, and the domains on it, outlive the file. */
static void
test_connection_is_kept_open(void **state)
{
	struct fx *f = *state;
	struct virt_spec s;
	char *path = tu_path(f->dir, "host0.xml");

	spec_init(&s, 1);
	start_ok(f, f->uri[0], &s);
	assert_int_equal(unlink(path), 0);
	spec_init(&s, 2);
	start_ok(f, f->uri[0], &s);
	assert_int_equal(domain_count(f, f->uri[0]), 2);
	free(path);
}

#define NTHREADS 8
#define STARTS_PER_THREAD 50

struct worker {
	struct fx *f;
	unsigned id;
	int failures;
	char err[512];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (unsigned k = 0; k < STARTS_PER_THREAD; k++) {
		unsigned vm = w->id * STARTS_PER_THREAD + k;
		struct virt_spec s;

		spec_init(&s, vm);
		if (virt_domain_start(w->f->h, w->f->uri[vm % NHOSTS], &s, w->err,
		    sizeof(w->err)) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_parallel_starts_on_many_hosts(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	size_t total = 0;

	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .f = f, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures)
			fail_msg("thread %u: %d failures, last: %s", i, w[i].failures, w[i].err);
	}
	for (int i = 0; i < NHOSTS; i++) {
		size_t n = domain_count(f, f->uri[i]);

		assert_int_equal(n, NTHREADS * STARTS_PER_THREAD / NHOSTS);
		total += n;
	}
	assert_int_equal(total, NTHREADS * STARTS_PER_THREAD);
}

/* Figures: the median virt_domain_start over 1,000 on one host, and the first call on each of
 * 1,000 hosts (opening test:///) against a second one.  Bounds are loose (the job has 50 ms);
 * the figures are printed. */
static void
test_start_and_connect_cost(void **state)
{
	struct fx *f = *state;
	enum { N = 1000 };
	static double t[N];
	double t0, first = 0, again = 0;
	char uri[128], name[32];

	for (unsigned i = 0; i < N; i++) {
		struct virt_spec s;

		spec_init(&s, i);
		t0 = now_ms();
		start_ok(f, f->uri[0], &s);
		t[i] = now_ms() - t0;
	}
	qsort(t, N, sizeof(t[0]), cmp_double);
	print_message("virt_domain_start: median %.3f ms, p99 %.3f ms, max %.3f ms (%d on a "
	    "host with up to %d domains)\n", t[N / 2], t[N * 99 / 100], t[N - 1], N, N);
	assert_true(t[N / 2] < 50.0);

	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many%u.xml", i);
		node_write(f->dir, name);
		snprintf(uri, sizeof(uri), "test://%s/%s", f->dir, name);
		t0 = now_ms();
		assert_int_equal(domain_count(f, uri), 0);
		first += now_ms() - t0;
		t0 = now_ms();
		assert_int_equal(domain_count(f, uri), 0);
		again += now_ms() - t0;
	}
	print_message("first call on a host (opens test:///): %.3f ms; later calls: %.3f ms "
	    "(mean over %d hosts)\n", first / N, again / N, N);
	assert_true(first / N < 50.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_has_offering_volume_and_nic),
		cmocka_unit_test(test_render_console_file_and_vnc),
		cmocka_unit_test(test_domain_type_follows_host_and_preference),
		cmocka_unit_test(test_render_tags_vlan_on_openvswitch_port),
		cmocka_unit_test(test_render_escapes_disk_path),
		cmocka_unit_test(test_render_omits_empty_uuid),
		cmocka_unit_test(test_render_clamps_cpu_shares),
		cmocka_unit_test(test_render_rejects_unsafe_input),
		cmocka_unit_test(test_render_rejects_bad_numbers_and_type),
		cmocka_unit_test_setup_teardown(test_start_defines_what_was_rendered, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_runs_the_domain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_dir_and_vnc_settings, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_embedded_qemu_driver_opens, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_stops_and_undefines, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_of_absent_domain_succeeds, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_same_name_twice_is_eexist, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_with_uuid_of_other_domain_is_eexist,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_rejects_invalid_spec_before_connecting,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_host_is_ehostunreach_with_text,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hosts_are_independent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_connection_is_kept_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_parallel_starts_on_many_hosts, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_and_connect_cost, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
