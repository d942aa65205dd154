/* virt.c: renders a VM's libvirt domain XML, and defines, starts, removes and lists domains on
 * hosts through one kept-open libvirt connection per host URI. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "addr.h"
#include "virt.h"

/* cgroup v1 takes cpu.shares in 2..262144, but on cgroup v2 (Debian 12's default) libvirt
 * writes the value to cpu.weight, which takes 1..10000: a larger value makes the start fail. */
#define CPU_SHARES_MIN 2
#define CPU_SHARES_MAX 10000

/* Undefine also drops a managed save image and snapshot metadata, which would otherwise make
 * the undefine fail; the only flags every driver we use (qemu, test) accepts. */
#define UNDEFINE_FLAGS (VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)

static const char *const domain_types[] = { "kvm", "qemu", "test" };

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
	    s->nic.vlan <= VIRT_VLAN_MAX;
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
nic_xml_add(const struct virt_nic *nic, struct buf *out)
{
	buf_adds(out, "    <interface type='bridge'>\n      <mac address='");
	xml_escaped_add(out, nic->mac);
	buf_adds(out, "'/>\n      <source bridge='");
	xml_escaped_add(out, nic->bridge);
	buf_adds(out, "'/>\n");
	if (nic->vlan > 0)
		buf_addf(out, "      <virtualport type='openvswitch'/>\n"
		    "      <vlan>\n        <tag id='%u'/>\n      </vlan>\n", nic->vlan);
	buf_adds(out, "      <model type='virtio'/>\n    </interface>\n");
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
	buf_adds(out, "  <os>\n    <type>hvm</type>\n    <boot dev='hd'/>\n  </os>\n"
	    "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
	    "  <clock offset='utc'/>\n"
	    "  <on_poweroff>destroy</on_poweroff>\n"
	    "  <on_reboot>restart</on_reboot>\n"
	    "  <on_crash>destroy</on_crash>\n"
	    "  <devices>\n"
	    "    <disk type='file' device='disk'>\n"
	    "      <driver name='qemu' type='qcow2'/>\n      <source file='");
	xml_escaped_add(out, s->disk_path);
	buf_adds(out, "'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n");
	nic_xml_add(&s->nic, out);
	/* The guest's console: ttyS0 on a pty, for `virsh console`. */
	buf_adds(out, "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
	    "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n"
	    "  </devices>\n</domain>\n");
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

static void
libvirt_init(void)
{
	libvirt_init_result = virInitialize() < 0 ? -EIO : 0;
	virSetErrorFunc(NULL, libvirt_error_ignore);
}

static void
err_set(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* Translates this thread's last libvirt error (the failing call must be the last libvirt
 * call made) into fallback, -ENOMEM, or -EHOSTUNREACH when conn has died meanwhile; copies
 * the message to err. */
static int
libvirt_error(int fallback, virConnectPtr conn, char *err, size_t errlen)
{
	virErrorPtr e = virGetLastError();
	int code = e ? e->code : VIR_ERR_OK;

	err_set(err, errlen, virGetLastErrorMessage());
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
	return h;
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

static const char *
domain_type_of(virConnectPtr conn)
{
	const char *hv = virConnectGetType(conn);

	if (hv && strcasecmp(hv, "Test") == 0)
		return "test";
	if (hv && strcasecmp(hv, "QEMU") == 0)
		return "kvm";
	return NULL;
}

/* Opens host's connection unless it is open and alive.  Called with host->lock held. */
static int
host_connect_locked(struct virt_host *host, char *err, size_t errlen)
{
	virConnectPtr conn;

	if (host->conn && virConnectIsAlive(host->conn) != 0)
		return 0;
	if (host->conn) {
		virConnectClose(host->conn);
		host->conn = NULL;
	}
	/* No auth callbacks: a daemon must never prompt.  A qemu+ssh URI needs key auth. */
	conn = virConnectOpen(host->uri);
	if (!conn)
		return libvirt_error(-EHOSTUNREACH, NULL, err, errlen);
	host->conn = conn;
	host->domain_type = domain_type_of(conn);
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

	if (!h || !uri) {
		err_set(err, errlen, "no host URI");
		return -EINVAL;
	}
	if ((r = host_get(h, uri, &host)) < 0) {
		err_set(err, errlen, "out of memory");
		return r;
	}
	pthread_mutex_lock(&host->lock);
	r = host_connect_locked(host, err, errlen);
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

int
virt_domain_start(struct virt_hosts *h, const char *uri, const struct virt_spec *s,
    char *err, size_t errlen)
{
	struct virt_host *host;
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	const char *domain_type;
	struct buf xml;
	int r;

	buf_init(&xml);
	if (!s || !spec_is_valid(s)) {
		err_set(err, errlen, "invalid domain specification");
		return -EINVAL;
	}
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
		err_set(err, errlen, r == -ENOMEM ? "out of memory" : "invalid domain specification");
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
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
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

	if (!name || !safe_name(name, VIRT_NAME_MAX + 1, VIRT_NAME_MAX)) {
		err_set(err, errlen, "invalid domain name");
		return -EINVAL;
	}
	if ((r = host_connect(h, uri, &host, conn, NULL, err, errlen)) < 0)
		return r;
	*dom = virDomainLookupByName(*conn, name);
	if (*dom)
		return 0;
	if (!libvirt_error_is_no_domain())
		return libvirt_error(-EIO, *conn, err, errlen);
	if (err && errlen)
		snprintf(err, errlen, "domain '%s' does not exist", name);
	return -ENOENT;
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
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
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
		r = libvirt_error_is_no_domain() ? -ENOENT : libvirt_error(-EIO, conn, err, errlen);
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
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
		r = libvirt_error_is_no_domain() ? -ENOENT : libvirt_error(-EIO, conn, err, errlen);
		goto out;
	}
	*xml = desc;
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
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
		err_set(err, errlen, "out of memory");
	virt_names_free(v, (size_t)ndoms);
	for (int i = 0; i < ndoms; i++)
		virDomainFree(doms[i]);
	free(doms);
	if (conn)
		virConnectClose(conn);
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
		r = libvirt_error_is_no_domain() ? -ENOENT : libvirt_error(-EIO, conn, err, errlen);
out:
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	return r;
}
