/* virt.c: renders a VM's libvirt domain XML, and defines, starts, removes and lists domains on
 * hosts through one kept-open libvirt connection per host URI. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "addr.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "virt.h"

/* cgroup v1 takes cpu.shares in 2..262144, but on cgroup v2 (Debian 12's default) libvirt
 * writes the value to cpu.weight, which takes 1..10000: a larger value makes the start fail. */
#define CPU_SHARES_MIN 2
#define CPU_SHARES_MAX 10000

/* Undefine also drops a managed save image and snapshot metadata, which would otherwise make
 * the undefine fail; the only flags every driver we use (qemu, test) accepts. */
#define UNDEFINE_FLAGS (VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)

static const char *const domain_types[] = { "kvm", "qemu", "test" };

/* The embedded QEMU driver's URI prefix; the root directory follows. */
#define EMBED_PREFIX "qemu:///embed?root="
/* What the embedded driver needs in DIR/etc/qemu.conf: QEMU's output to files directly
 * rather than through virtlogd, which nothing starts for it. */
#define EMBED_QEMU_CONF "# written by vr-manager for libvirt's embedded QEMU driver\n" \
	"stdio_handler = \"file\"\n"
#define VNC_LISTEN_DEFAULT "127.0.0.1"

static bool
ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9._-]*, 1..max characters, NUL within field_size bytes. */
static bool
safe_name(const char *s, size_t field_size, size_t max)
{
	size_t len = strnlen(s, field_size);

	if (len == 0 || len > max || len == field_size || !ascii_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!ascii_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* "" or 8-4-4-4-12 hex digits. */
static bool
valid_uuid(const char *s)
{
	size_t len = strnlen(s, 37);

	if (len == 0)
		return true;
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash_here ? s[i] != '-' : hex_digit(s[i]) < 0)
			return false;
	}
	return true;
}

/* xx:xx:xx:xx:xx:xx, unicast (libvirt refuses a multicast MAC on a NIC), not all zero. */
static bool
valid_mac(const char *s)
{
	static const uint8_t zero[6];
	uint8_t mac[6];

	/* mac_parse takes one separator throughout: the first decides */
	return strnlen(s, 18) == 17 && s[2] == ':' && mac_parse(s, mac) == 0 && !(mac[0] & 1) &&
	    memcmp(mac, zero, sizeof(zero)) != 0;
}

static bool
valid_disk_path(const char *s, size_t field_size)
{
	size_t len = strnlen(s, field_size);

	if (len == field_size || s[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* "" or absolute without control characters. */
static bool
valid_console_path(const char *s, size_t field_size)
{
	return s[0] == '\0' || valid_disk_path(s, field_size);
}

static bool
valid_ipv4(const char *s, size_t field_size)
{
	struct in_addr a;

	return strnlen(s, field_size) < field_size && inet_pton(AF_INET, s, &a) == 1;
}

/* "" or a numeric IPv4 or IPv6 address. */
static bool
valid_listen(const char *s, size_t field_size)
{
	struct in6_addr a;

	if (strnlen(s, field_size) == field_size)
		return false;
	return s[0] == '\0' || inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

static bool
known_domain_type(const char *t)
{
	for (size_t i = 0; i < sizeof(domain_types) / sizeof(domain_types[0]); i++)
		if (t && strcmp(t, domain_types[i]) == 0)
			return true;
	return false;
}

static bool
spec_is_valid(const struct virt_spec *s)
{
	return safe_name(s->name, sizeof(s->name), VIRT_NAME_MAX) && valid_uuid(s->uuid) &&
	    s->vcpus >= 1 && s->vcpus <= VIRT_VCPUS_MAX && s->cpu_mhz >= 1 &&
	    s->ram_mib >= 1 && s->ram_mib <= VIRT_RAM_MIB_MAX &&
	    valid_disk_path(s->disk_path, sizeof(s->disk_path)) && valid_mac(s->nic.mac) &&
	    safe_name(s->nic.bridge, sizeof(s->nic.bridge), VIRT_BRIDGE_MAX) &&
	    s->nic.vlan <= VIRT_VLAN_MAX && valid_ipv4(s->ip, sizeof(s->ip)) &&
	    valid_console_path(s->console_path, sizeof(s->console_path)) &&
	    valid_listen(s->vnc_listen, sizeof(s->vnc_listen));
}

static void
xml_escaped_add(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '\'': buf_adds(out, "&apos;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		default: buf_add(out, s, 1);
		}
	}
}

/* CloudStack gives a VM the cpu shares vcpus × MHz of its offering, so under contention VMs
 * get CPU time in proportion to the speed they were sold; clamped to what cgroup v1 and v2
 * both accept, so beyond 10000 (e.g. 4 × 2500 MHz) VMs weigh the same. */
static unsigned long
cpu_shares(const struct virt_spec *s)
{
	unsigned long long shares = (unsigned long long)s->vcpus * s->cpu_mhz;

	if (shares < CPU_SHARES_MIN)
		return CPU_SHARES_MIN;
	return shares > CPU_SHARES_MAX ? CPU_SHARES_MAX : (unsigned long)shares;
}

/* The NIC.  VLAN: tagged NICs get <virtualport type='openvswitch'/> and <vlan><tag/>, so
 * libvirt itself sets the tag on the VM's port of an Open vSwitch bridge when the domain
 * starts; nothing has to be prepared per VLAN on the host.  CloudStack's other way, one Linux
 * bridge per VLAN (eth0.100 in breth0-100, made by its host agent's modifyvlan.sh), needs an
 * agent on every host that this manager does not have; libvirt refuses a <vlan> on a plain
 * Linux bridge.  So hosts with tagged guest networks need the named bridge to be an OVS
 * bridge; an untagged NIC has no virtualport and attaches to a plain Linux bridge. */
static void
nic_xml_add(const struct virt_nic *nic, const char *ip, struct buf *out)
{
	buf_adds(out, "    <interface type='bridge'>\n      <mac address='");
	xml_escaped_add(out, nic->mac);
	buf_adds(out, "'/>\n      <source bridge='");
	xml_escaped_add(out, nic->bridge);
	buf_adds(out, "'/>\n");
	if (nic->vlan > 0)
		buf_addf(out, "      <virtualport type='openvswitch'/>\n"
		    "      <vlan>\n        <tag id='%u'/>\n      </vlan>\n", nic->vlan);
	/* libvirt's clean-traffic: no other source MAC, IP or ARP than the VM's own, no other
	 * layer-2 protocol than IPv4 and ARP. */
	buf_adds(out, "      <model type='virtio'/>\n"
	    "      <filterref filter='clean-traffic'>\n        <parameter name='IP' value='");
	xml_escaped_add(out, ip);
	buf_adds(out, "'/>\n      </filterref>\n    </interface>\n");
}

int
domain_xml_render(const struct virt_spec *s, const char *domain_type, struct buf *out)
{
	if (!known_domain_type(domain_type) || !spec_is_valid(s))
		return -EINVAL;
	buf_addf(out, "<domain type='%s'>\n  <name>", domain_type);
	xml_escaped_add(out, s->name);
	buf_adds(out, "</name>\n");
	if (s->uuid[0]) {
		buf_adds(out, "  <uuid>");
		xml_escaped_add(out, s->uuid);
		buf_adds(out, "</uuid>\n");
	}
	buf_addf(out, "  <memory unit='MiB'>%llu</memory>\n"
	    "  <currentMemory unit='MiB'>%llu</currentMemory>\n"
	    "  <vcpu placement='static'>%u</vcpu>\n"
	    "  <cputune>\n    <shares>%lu</shares>\n  </cputune>\n",
	    (unsigned long long)s->ram_mib, (unsigned long long)s->ram_mib, s->vcpus,
	    cpu_shares(s));
	/* cloud-init's CloudStack data source recognises the cloud by the SMBIOS product name
	 * its KVM agent sets. */
	buf_adds(out, "  <sysinfo type='smbios'>\n    <system>\n"
	    "      <entry name='manufacturer'>Apache Software Foundation</entry>\n"
	    "      <entry name='product'>CloudStack KVM Hypervisor</entry>\n"
	    "    </system>\n  </sysinfo>\n"
	    "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='hd'/>\n"
	    "    <smbios mode='sysinfo'/>\n  </os>\n"
	    "  <features>\n    <acpi/>\n    <apic/>\n");
	/* Under TCG, QEMU 7.2 gives each guest a translation cache of 1 GiB unless told, and a
	 * guest that has booted fills most of it: a 512 MiB guest held 1.3 GiB of the host's
	 * memory, so the RAM the planner reserves was under half of what guests took. */
	if (strcmp(domain_type, "qemu") == 0)
		buf_addf(out, "    <tcg>\n      <tb-cache unit='MiB'>%u</tb-cache>\n    </tcg>\n",
		    VIRT_TCG_CACHE_MIB);
	buf_adds(out, "  </features>\n");
	/* Under TCG QEMU's default CPU (qemu64) offers SVM: the guest loads kvm_amd, leaves
	 * SVM on its way down, and after the reset of a reboot (libvirt's: ACPI power-off, then
	 * system_reset) its next kernel hung in early boot, every time.  No nested
	 * virtualisation in an emulated guest, then. */
	if (strcmp(domain_type, "qemu") == 0)
		buf_adds(out, "  <cpu mode='custom' match='exact' check='none'>\n"
		    "    <model fallback='forbid'>qemu64</model>\n"
		    "    <feature policy='disable' name='svm'/>\n  </cpu>\n");
	buf_adds(out, "  <clock offset='utc'/>\n"
	    "  <on_poweroff>destroy</on_poweroff>\n"
	    "  <on_reboot>restart</on_reboot>\n"
	    "  <on_crash>destroy</on_crash>\n"
	    "  <devices>\n"
	    "    <disk type='file' device='disk'>\n"
	    "      <driver name='qemu' type='qcow2'/>\n      <source file='");
	xml_escaped_add(out, s->disk_path);
	buf_adds(out, "'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n");
	nic_xml_add(&s->nic, s->ip, out);
	/* The guest's console ttyS0: to a file (kept from boot on, for when a boot fails), or
	 * on a pty for `virsh console`. */
	if (s->console_path[0]) {
		buf_adds(out, "    <serial type='file'>\n      <source path='");
		xml_escaped_add(out, s->console_path);
		buf_adds(out, "'/>\n      <target port='0'/>\n    </serial>\n"
		    "    <console type='file'>\n      <source path='");
		xml_escaped_add(out, s->console_path);
		buf_adds(out, "'/>\n      <target type='serial' port='0'/>\n    </console>\n");
	} else {
		buf_adds(out, "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
		    "    <console type='pty'>\n      <target type='serial' port='0'/>\n"
		    "    </console>\n");
	}
	/* The graphics console CloudStack's console proxy connects to: a port libvirt picks. */
	if (s->vnc_listen[0]) {
		buf_adds(out, "    <graphics type='vnc' autoport='yes' listen='");
		xml_escaped_add(out, s->vnc_listen);
		buf_adds(out, "'>\n      <listen type='address' address='");
		xml_escaped_add(out, s->vnc_listen);
		buf_adds(out, "'/>\n    </graphics>\n");
	}
	buf_adds(out, "  </devices>\n</domain>\n");
	return out->oom ? -ENOMEM : 0;
}

/* One host: its URI and, once opened, its connection. */
struct virt_host {
	char *uri;
	/* Held while opening the connection and while checking that a name is free and defining
	 * it; never across virDomainCreate, which on QEMU takes as long as qemu needs to start. */
	pthread_mutex_t lock;
	virConnectPtr conn;		/* NULL until opened, or after it died */
	const char *domain_type;	/* for conn's hypervisor; NULL: one we do not start on */
};

struct virt_hosts {
	pthread_mutex_t lock;		/* guards v, n and cap, not the hosts in v */
	struct virt_host **v;		/* sorted by uri; a host never moves or goes away */
	size_t n, cap;
	/* virt_hosts_configure's, fixed before the first domain call */
	char domain_pref[8];		/* "auto", "kvm", "qemu" */
	char console_dir[3900];		/* "" or absolute; leaves room for "/NAME.log" */
	char vnc_listen[64];
};

static pthread_once_t libvirt_once = PTHREAD_ONCE_INIT;
static int libvirt_init_result;

/* Errors are read with virGetLastError where they happen; without a handler libvirt would
 * also print each one to stderr. */
static void
libvirt_error_ignore(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* libvirt's event loop: the embedded driver's monitor and process events and the keepalive
 * of daemon connections run here, for the life of the process. */
static void *
event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			return NULL;
}

static void
libvirt_init(void)
{
	pthread_t t;

	libvirt_init_result = virInitialize() < 0 ? -EIO : 0;
	virSetErrorFunc(NULL, libvirt_error_ignore);
	if (libvirt_init_result == 0 && virEventRegisterDefaultImpl() < 0)
		libvirt_init_result = -EIO;
	if (libvirt_init_result == 0 && pthread_create(&t, NULL, event_loop, NULL) != 0)
		libvirt_init_result = -EAGAIN;
	if (libvirt_init_result == 0)
		pthread_detach(t);
}

/* Translates this thread's last libvirt error (the failing call must be the last libvirt
 * call made) into fallback, -ENOMEM, or -EHOSTUNREACH when conn has died meanwhile; copies
 * the message to err. */
static int
libvirt_error(int fallback, virConnectPtr conn, char *err, size_t errlen)
{
	virErrorPtr e = virGetLastError();
	int code = e ? e->code : VIR_ERR_OK;

	err_set(err, errlen, fallback, "%s", virGetLastErrorMessage());
	if (code == VIR_ERR_NO_MEMORY)
		return -ENOMEM;
	/* virConnectIsAlive resets the last error, so it comes after the copy. */
	if (conn && virConnectIsAlive(conn) == 0)
		return -EHOSTUNREACH;
	return fallback;
}

/* Whether this thread's last libvirt error says there is no such domain. */
static bool
libvirt_error_is_no_domain(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == VIR_ERR_NO_DOMAIN;
}

/* virDomainDefineXML reports a clash of name or UUID with another domain as
 * VIR_ERR_OPERATION_FAILED "domain 'x' already exists with uuid …" (or "is already defined
 * with uuid"); drivers that use VIR_ERR_DOM_EXIST say so directly. */
static int
define_error(virConnectPtr conn, char *err, size_t errlen)
{
	virErrorPtr e = virGetLastError();
	bool exists = e && (e->code == VIR_ERR_DOM_EXIST ||
	    (e->code == VIR_ERR_OPERATION_FAILED && e->message && strstr(e->message, "already")));
	int r = libvirt_error(-EIO, conn, err, errlen);

	return exists ? -EEXIST : r;
}

struct virt_hosts *
virt_hosts_new(void)
{
	struct virt_hosts *h;

	pthread_once(&libvirt_once, libvirt_init);
	if (libvirt_init_result < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	snprintf(h->domain_pref, sizeof(h->domain_pref), "auto");
	snprintf(h->vnc_listen, sizeof(h->vnc_listen), VNC_LISTEN_DEFAULT);
	return h;
}

int
virt_hosts_configure(struct virt_hosts *h, const struct virt_opts *o)
{
	const char *pref = o->domain_type ? o->domain_type : "auto";
	const char *dir = o->console_dir ? o->console_dir : "";
	const char *vnc = o->vnc_listen ? o->vnc_listen : VNC_LISTEN_DEFAULT;

	if (!virt_domain_type_pick("QEMU", "", pref) ||
	    (dir[0] && !valid_disk_path(dir, sizeof(h->console_dir))) ||
	    strlen(dir) >= sizeof(h->console_dir) || !valid_listen(vnc, sizeof(h->vnc_listen)))
		return -EINVAL;
	snprintf(h->domain_pref, sizeof(h->domain_pref), "%s", pref);
	snprintf(h->console_dir, sizeof(h->console_dir), "%s", dir);
	snprintf(h->vnc_listen, sizeof(h->vnc_listen), "%s", vnc);
	return 0;
}

void
virt_hosts_free(struct virt_hosts *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		struct virt_host *host = h->v[i];

		if (host->conn)
			virConnectClose(host->conn);
		pthread_mutex_destroy(&host->lock);
		free(host->uri);
		free(host);
	}
	free(h->v);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* The host for uri, added (not yet connected) if it is new.  Binary search: at 1,000 hosts a
 * lookup is ten string compares under the table lock. */
static int
host_get(struct virt_hosts *h, const char *uri, struct virt_host **out)
{
	struct virt_host *host = NULL;
	size_t lo = 0, hi;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	hi = h->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(uri, h->v[mid]->uri);

		if (c == 0) {
			host = h->v[mid];
			goto out;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (array_reserve(&h->v, &h->cap, h->n + 1, sizeof(*h->v), 16) < 0) {
		r = -ENOMEM;
		goto out;
	}
	host = calloc(1, sizeof(*host));
	if (!host || !(host->uri = strdup(uri))) {
		free(host);
		host = NULL;
		r = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&host->lock, NULL);
	memmove(&h->v[lo + 1], &h->v[lo], (h->n - lo) * sizeof(h->v[0]));
	h->v[lo] = host;
	h->n++;
out:
	pthread_mutex_unlock(&h->lock);
	if (r == 0)
		*out = host;
	return r;
}

const char *
virt_domain_type_pick(const char *hv, const char *caps, const char *pref)
{
	if (!pref)
		pref = "auto";
	if (strcmp(pref, "auto") && strcmp(pref, "kvm") && strcmp(pref, "qemu"))
		return NULL;
	if (hv && strcasecmp(hv, "Test") == 0)
		return "test";
	if (!hv || strcasecmp(hv, "QEMU") != 0)
		return NULL;
	if (strcmp(pref, "auto") != 0)
		return strcmp(pref, "kvm") == 0 ? "kvm" : "qemu";
	return caps && (strstr(caps, "<domain type='kvm'") || strstr(caps, "<domain type=\"kvm\""))
	    ? "kvm" : "qemu";
}

/* The domain type for conn's hypervisor; reads its capabilities for "auto" on QEMU. */
static const char *
domain_type_of(virConnectPtr conn, const char *pref)
{
	const char *hv = virConnectGetType(conn), *t;
	char *caps = NULL;

	if (hv && strcasecmp(hv, "QEMU") == 0 && strcmp(pref, "auto") == 0)
		caps = virConnectGetCapabilities(conn);
	t = virt_domain_type_pick(hv, caps, pref);
	free(caps);
	return t;
}

/* For qemu:///embed?root=DIR: DIR/etc/qemu.conf unless it exists (DIR and DIR/etc made). */
static int
embed_prepare(const char *uri, char *err, size_t errlen)
{
	char path[4096];
	const char *root = uri + strlen(EMBED_PREFIX);
	int dirfd, r;

	if (root[0] != '/' || strpbrk(root, "&%#") ||
	    (size_t)snprintf(path, sizeof(path), "%s/etc", root) >= sizeof(path) - 16)
		return err_set(err, errlen, -EINVAL,
		    "qemu:///embed needs root=/ABSOLUTE/DIR (no & %% #)");
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	if ((dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	r = faccessat(dirfd, "qemu.conf", F_OK, 0) == 0 ? 0 :
	    af_write(dirfd, "qemu.conf", EMBED_QEMU_CONF, strlen(EMBED_QEMU_CONF), 0644,
		AF_KEEP_OWNER, 0);
	close(dirfd);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	return 0;
fail:
	return err_set(err, errlen, -EHOSTUNREACH, "%s: %s", root, strerror(errno));
}

/* Opens host's connection unless it is open and alive.  Called with host->lock held. */
static int
host_connect_locked(struct virt_host *host, const char *pref, char *err, size_t errlen)
{
	virConnectPtr conn;
	int r;

	if (host->conn && virConnectIsAlive(host->conn) != 0)
		return 0;
	if (host->conn) {
		virConnectClose(host->conn);
		host->conn = NULL;
	}
	if (strncmp(host->uri, EMBED_PREFIX, strlen(EMBED_PREFIX)) == 0 &&
	    (r = embed_prepare(host->uri, err, errlen)) < 0)
		return r;
	/* No auth callbacks: a daemon must never prompt.  A qemu+ssh URI needs key auth. */
	conn = virConnectOpen(host->uri);
	if (!conn)
		return libvirt_error(-EHOSTUNREACH, NULL, err, errlen);
	host->conn = conn;
	host->domain_type = domain_type_of(conn, pref);
	return 0;
}

/* The host for uri with a reference to its open connection, which the caller drops with
 * virConnectClose (a reference keeps the connection valid even if another thread replaces a
 * dead one meanwhile); *domain_type as domain_type_of. */
static int
host_connect(struct virt_hosts *h, const char *uri, struct virt_host **hostp,
    virConnectPtr *connp, const char **domain_type, char *err, size_t errlen)
{
	struct virt_host *host;
	int r;

	if (!h || !uri)
		return err_set(err, errlen, -EINVAL, "no host URI");
	if ((r = host_get(h, uri, &host)) < 0)
		return err_set(err, errlen, r, "out of memory");
	pthread_mutex_lock(&host->lock);
	r = host_connect_locked(host, h->domain_pref, err, errlen);
	if (r == 0) {
		virConnectRef(host->conn);
		*connp = host->conn;
		*hostp = host;
		if (domain_type)
			*domain_type = host->domain_type;
	}
	pthread_mutex_unlock(&host->lock);
	return r;
}

/* Under host->lock: fails with -EEXIST if a domain of that name is defined, else defines
 * xml.  The lock makes check and define one step for this process's callers, so a second
 * start of the same name cannot redefine (with the same UUID: replace) the first domain. */
static int
domain_define_new(struct virt_host *host, virConnectPtr conn, const char *name,
    const char *xml, virDomainPtr *out, char *err, size_t errlen)
{
	virDomainPtr dom;
	int r = 0;

	pthread_mutex_lock(&host->lock);
	dom = virDomainLookupByName(conn, name);
	if (dom) {
		virDomainFree(dom);
		if (err && errlen)
			snprintf(err, errlen, "domain '%s' already exists", name);
		r = -EEXIST;
		goto out;
	}
	if (!libvirt_error_is_no_domain()) {
		r = libvirt_error(-EIO, conn, err, errlen);
		goto out;
	}
	dom = virDomainDefineXML(conn, xml);
	if (!dom) {
		r = define_error(conn, err, errlen);
		goto out;
	}
	*out = dom;
out:
	pthread_mutex_unlock(&host->lock);
	return r;
}

/* Frees what domain_lookup (or a start) gave; either may be NULL. */
static void
domain_release(virConnectPtr conn, virDomainPtr dom)
{
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
}

/* The errno of a failed call on a looked-up domain: -ENOENT if it vanished
 * meanwhile, else libvirt's error (in err). */
static int
domain_call_error(virConnectPtr conn, char *err, size_t errlen)
{
	return libvirt_error_is_no_domain() ? -ENOENT : libvirt_error(-EIO, conn, err, errlen);
}

int
virt_domain_start(struct virt_hosts *h, const char *uri, const struct virt_spec *s,
    char *err, size_t errlen)
{
	struct virt_host *host;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	const char *domain_type;
	struct virt_spec full;
	struct buf xml;
	int r;

	buf_init(&xml);
	if (!s || !spec_is_valid(s) || !h)
		return err_set(err, errlen, -EINVAL, "invalid domain specification");
	full = *s;
	if (!full.console_path[0] && h->console_dir[0] &&
	    (size_t)snprintf(full.console_path, sizeof(full.console_path), "%s/%s.log",
	    h->console_dir, s->name) >= sizeof(full.console_path))
		return err_set(err, errlen, -EINVAL, "console path too long");
	if (!full.vnc_listen[0])
		snprintf(full.vnc_listen, sizeof(full.vnc_listen), "%s", h->vnc_listen);
	s = &full;
	if ((r = host_connect(h, uri, &host, &conn, &domain_type, err, errlen)) < 0)
		goto out;
	if (!domain_type) {
		if (err && errlen)
			snprintf(err, errlen, "hypervisor '%s' is not supported",
			    virConnectGetType(conn) ? virConnectGetType(conn) : "?");
		r = -EOPNOTSUPP;
		goto out;
	}
	if ((r = domain_xml_render(s, domain_type, &xml)) < 0) {
		err_set(err, errlen, r, "%s", r == -ENOMEM ? "out of memory" :
		    "invalid domain specification");
		goto out;
	}
	if ((r = domain_define_new(host, conn, s->name, xml.p, &dom, err, errlen)) < 0)
		goto out;
	if (virDomainCreate(dom) < 0) {
		r = libvirt_error(-EIO, conn, err, errlen);
		if (virDomainUndefineFlags(dom, UNDEFINE_FLAGS) < 0 && err && errlen) {
			size_t used = strlen(err);

			snprintf(err + used, errlen - used, "; undefining it: %s",
			    virGetLastErrorMessage());
		}
	}
out:
	domain_release(conn, dom);
	buf_free(&xml);
	return r;
}

/* Destroys dom if it runs, then undefines it if it is persistent (a transient domain is gone
 * once destroyed).  A domain that disappears meanwhile counts as removed. */
static int
domain_stop_undefine(virConnectPtr conn, virDomainPtr dom, char *err, size_t errlen)
{
	int active, persistent;

	active = virDomainIsActive(dom);
	if (active < 0)
		goto fail;
	if (active && virDomainDestroy(dom) < 0) {
		virErrorPtr e = virGetLastError();

		/* Stopped by itself since the check: carry on. */
		if (!e || e->code != VIR_ERR_OPERATION_INVALID)
			goto fail;
	}
	persistent = virDomainIsPersistent(dom);
	if (persistent < 0)
		goto fail;
	if (persistent && virDomainUndefineFlags(dom, UNDEFINE_FLAGS) < 0)
		goto fail;
	return 0;
fail:
	if (libvirt_error_is_no_domain())
		return 0;
	return libvirt_error(-EIO, conn, err, errlen);
}

/* The host's connection and the domain named name, looked up; *dom stays NULL (and the
 * result is -ENOENT) if there is none.  The caller frees both. */
static int
domain_lookup(struct virt_hosts *h, const char *uri, const char *name, virConnectPtr *conn,
    virDomainPtr *dom, char *err, size_t errlen)
{
	struct virt_host *host;
	int r;

	if (!name || !safe_name(name, VIRT_NAME_MAX + 1, VIRT_NAME_MAX))
		return err_set(err, errlen, -EINVAL, "invalid domain name");
	if ((r = host_connect(h, uri, &host, conn, NULL, err, errlen)) < 0)
		return r;
	*dom = virDomainLookupByName(*conn, name);
	if (*dom)
		return 0;
	if (!libvirt_error_is_no_domain())
		return libvirt_error(-EIO, *conn, err, errlen);
	return err_set(err, errlen, -ENOENT, "domain '%s' does not exist", name);
}

int
virt_domain_remove(struct virt_hosts *h, const char *uri, const char *name, char *err,
    size_t errlen)
{
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	int r;

	r = domain_lookup(h, uri, name, &conn, &dom, err, errlen);
	if (r == 0)
		r = domain_stop_undefine(conn, dom, err, errlen);
	else if (r == -ENOENT)
		r = 0;
	if (r == 0 && h->console_dir[0]) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.log", h->console_dir, name);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("cannot remove %s", path);
	}
	domain_release(conn, dom);
	return r;
}

int
virt_domain_is_active(struct virt_hosts *h, const char *uri, const char *name, char *err,
    size_t errlen)
{
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	int r;

	if ((r = domain_lookup(h, uri, name, &conn, &dom, err, errlen)) < 0)
		goto out;
	r = virDomainIsActive(dom);
	if (r < 0)
		r = domain_call_error(conn, err, errlen);
out:
	domain_release(conn, dom);
	return r;
}

int
virt_domain_xml(struct virt_hosts *h, const char *uri, const char *name, char **xml,
    char *err, size_t errlen)
{
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	char *desc;
	int r;

	if ((r = domain_lookup(h, uri, name, &conn, &dom, err, errlen)) < 0)
		goto out;
	desc = virDomainGetXMLDesc(dom, 0);
	if (!desc) {
		r = domain_call_error(conn, err, errlen);
		goto out;
	}
	*xml = desc;
out:
	domain_release(conn, dom);
	return r;
}

void
virt_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
virt_domain_list(struct virt_hosts *h, const char *uri, char ***names, size_t *n, char *err,
    size_t errlen)
{
	struct virt_host *host;
	virConnectPtr conn = NULL;
	virDomainPtr *doms = NULL;
	char **v = NULL;
	int ndoms = 0, r;

	if ((r = host_connect(h, uri, &host, &conn, NULL, err, errlen)) < 0)
		goto out;
	ndoms = virConnectListAllDomains(conn, &doms, 0);
	if (ndoms < 0) {
		r = libvirt_error(-EIO, conn, err, errlen);
		ndoms = 0;
		goto out;
	}
	if (ndoms > 0 && !(v = calloc((size_t)ndoms, sizeof(*v)))) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < ndoms; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (!name || !(v[i] = strdup(name))) {
			r = -ENOMEM;
			goto out;
		}
	}
	*names = v;
	*n = (size_t)ndoms;
	v = NULL;
out:
	if (r == -ENOMEM)
		err_set(err, errlen, r, "out of memory");
	virt_names_free(v, (size_t)ndoms);
	for (int i = 0; i < ndoms; i++)
		virDomainFree(doms[i]);
	free(doms);
	if (conn)
		virConnectClose(conn);
	return r;
}

/* The value of attribute name in the element that starts at tag (up to its '>'), into out. */
static bool
xml_attr(const char *tag, const char *name, char *out, size_t outlen)
{
	const char *end = strchr(tag, '>'), *p = tag;
	size_t nlen = strlen(name);

	while (end && (p = strstr(p, name)) && p < end) {
		if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n') && p[nlen] == '=' &&
		    (p[nlen + 1] == '\'' || p[nlen + 1] == '"')) {
			const char *v = p + nlen + 2, *q = strchr(v, p[nlen + 1]);

			if (!q || q > end || (size_t)(q - v) >= outlen)
				return false;
			memcpy(out, v, (size_t)(q - v));
			out[q - v] = '\0';
			return true;
		}
		p += nlen;
	}
	return false;
}

int
virt_domain_vnc(struct virt_hosts *h, const char *uri, const char *name, char *addr,
    size_t addrlen, int *port, char *err, size_t errlen)
{
	char *xml = NULL, num[16];
	const char *g;
	long v;
	int r;

	if ((r = virt_domain_xml(h, uri, name, &xml, err, errlen)) < 0)
		return r;
	g = strstr(xml, "<graphics type='vnc'");
	if (!g)
		g = strstr(xml, "<graphics type=\"vnc\"");
	r = -ENOENT;
	if (g && xml_attr(g, "port", num, sizeof(num)) && (v = strtol(num, NULL, 10)) > 0 &&
	    v < 65536 && xml_attr(g, "listen", addr, addrlen)) {
		*port = (int)v;
		r = 0;
	} else if (err && errlen) {
		snprintf(err, errlen, "domain '%s' has no VNC console with a port", name);
	}
	free(xml);
	return r;
}

int
virt_domain_signal(struct virt_hosts *h, const char *uri, const char *name,
    enum virt_signal sig, char *err, size_t errlen)
{
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	int r;

	if ((r = domain_lookup(h, uri, name, &conn, &dom, err, errlen)) < 0)
		goto out;
	r = sig == VIRT_SHUTDOWN ? virDomainShutdown(dom) : virDomainReboot(dom, 0);
	if (r < 0)
		r = domain_call_error(conn, err, errlen);
out:
	domain_release(conn, dom);
	return r;
}
