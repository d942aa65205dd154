/* virt.h: the libvirt domain of a VM (its XML, and define + start, remove, list on a host).
 *
 * Host URIs: libvirt's test driver (test:///FILE), a QEMU daemon's (qemu:///system,
 * qemu+ssh://HOST/system) and the embedded QEMU driver (qemu:///embed?root=DIR), which runs in
 * this process: libvirt's event loop runs in a thread of its own from virt_hosts_new on, and
 * DIR/etc/qemu.conf is written (stdio_handler = "file", so no virtlogd is needed) unless it
 * exists.  domain_xml_render and virt_domain_type_pick are pure.  The rest talks to libvirt through struct virt_hosts: one
 * connection per host URI, opened on first use and kept open until virt_hosts_free (a
 * test:///FILE connection is its own in-memory hypervisor, so closing it would lose the host's
 * domains).  Every function is safe to call from several threads at once.  Errors: 0 or a
 * negative errno; err (may be NULL) then holds libvirt's message, unchanged, in the C locale
 * unless the program called setlocale(). */
#ifndef VRM_VIRT_H
#define VRM_VIRT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define VIRT_NAME_MAX	79	/* sizeof(virt_spec.name) - 1 */
#define VIRT_BRIDGE_MAX	15	/* IFNAMSIZ - 1: a Linux interface name */
#define VIRT_VLAN_MAX	4094
#define VIRT_VCPUS_MAX	1024
#define VIRT_RAM_MIB_MAX (UINT64_C(16) << 20)	/* 16 TiB */
/* The translation cache each guest gets under TCG (domain type qemu), in MiB: QEMU 7.2's
 * default is 1 GiB, more than a small guest's own RAM. */
#define VIRT_TCG_CACHE_MIB 128u

struct virt_nic {
	char mac[18];		/* "52:54:00:12:34:56", unicast */
	char bridge[64];	/* the host bridge, at most VIRT_BRIDGE_MAX characters */
	unsigned vlan;		/* 0: untagged; 1..4094: tagged on an Open vSwitch bridge */
};

struct virt_spec {
	char name[80];		/* libvirt domain name, e.g. "i-2-7-VM" */
	char uuid[37];		/* canonical 8-4-4-4-12 hex, or "" to let libvirt pick one */
	unsigned vcpus, cpu_mhz;
	uint64_t ram_mib;
	char disk_path[4096];	/* qcow2 ROOT volume, absolute */
	struct virt_nic nic;
	char ip[16];		/* the NIC's IPv4 address: libvirt's clean-traffic filter's IP */
	char console_path[4096]; /* serial console to this file (absolute); "": a pty */
	char vnc_listen[64];	/* VNC console's address; "": no graphics console */
};

/* Appends the domain XML for s to out.  domain_type is "kvm", "qemu" or "test".  Machine
 * type pc (BIOS), the disk as a virtio qcow2 (its backing file and format are read from the
 * overlay's header), the NIC virtio with libvirt's clean-traffic filter for s->ip (a guest
 * sending with another MAC or IP is dropped on the host), SMBIOS product "CloudStack KVM
 * Hypervisor" (by which cloud-init's CloudStack data source recognises the cloud), serial
 * console ttyS0 and a VNC console.
 * Names and bridges are limited to [A-Za-z0-9._-] starting with a letter or digit (and to
 * VIRT_NAME_MAX / VIRT_BRIDGE_MAX characters); every string is XML-escaped all the same.
 * Returns 0, -EINVAL (unknown domain type, unsafe or empty name or bridge, bad UUID or MAC,
 * vlan > VIRT_VLAN_MAX, vcpus, cpu_mhz or ram_mib 0 or above their *_MAX, disk path not
 * absolute or with control characters, no valid IPv4 address, console path not absolute,
 * VNC address not a numeric IPv4/IPv6 address) with out unchanged, or -ENOMEM (out incomplete). */
int domain_xml_render(const struct virt_spec *s, const char *domain_type, struct buf *out);

/* The domain type for a host whose hypervisor libvirt calls hv ("Test", "QEMU"): "test" for
 * the test driver; for QEMU pref when it is "kvm" or "qemu", else (pref NULL or "auto") "kvm"
 * if the host's capabilities XML caps offers a kvm domain, "qemu" (TCG) if not.  NULL for any
 * other hypervisor, or an unknown pref. */
const char *virt_domain_type_pick(const char *hv, const char *caps, const char *pref);

struct virt_hosts;

/* Settings for every host of h (NULL fields: defaults). */
struct virt_opts {
	const char *domain_type;	/* "auto" (default), "kvm" or "qemu": see above */
	const char *console_dir;	/* serial consoles as DIR/NAME.log; default: ptys */
	const char *vnc_listen;		/* VNC consoles' address; default 127.0.0.1 */
};

/* Returns an empty set of host connections, or NULL when out of memory.  The first call also
 * initialises libvirt and stops it printing errors to stderr itself. */
struct virt_hosts *virt_hosts_new(void);
/* Applies o to h; call before the first domain call.  Returns 0 or -EINVAL (unknown domain
 * type, console directory not absolute or too long, VNC address not numeric). */
int virt_hosts_configure(struct virt_hosts *h, const struct virt_opts *o);
/* Closes every connection and frees h.  NULL-safe.  No call on h may still be running. */
void virt_hosts_free(struct virt_hosts *h);

/* Defines the domain for s on the host at uri and starts it.  The domain type follows the
 * hypervisor (virt_domain_type_pick with the configured preference); s->console_path and
 * s->vnc_listen, when empty, come from the configuration.  If starting fails the definition
 * is undefined again.  A second start of a name that is already defined on the host fails with
 * -EEXIST and leaves the first domain as it was (checked and defined under a per-host lock, so
 * this holds for concurrent callers of this process; another libvirt client defining the same
 * name with the same UUID in between is not detected).
 * Returns 0, -EINVAL (see domain_xml_render), -EEXIST (a domain of that name or UUID exists),
 * -EHOSTUNREACH (cannot connect to uri), -EOPNOTSUPP (a hypervisor other than Test or QEMU),
 * -ENOMEM or -EIO (any other libvirt failure). */
int virt_domain_start(struct virt_hosts *h, const char *uri, const struct virt_spec *s,
    char *err, size_t errlen);

/* Stops the domain named name (virDomainDestroy, if it runs) and undefines it, and removes its
 * console file (console_dir/NAME.log) if there is one.  A domain that does not exist is
 * success.  Returns 0, -EINVAL (unsafe name), -EHOSTUNREACH, -ENOMEM, -EIO. */
int virt_domain_remove(struct virt_hosts *h, const char *uri, const char *name,
    char *err, size_t errlen);

/* Whether the domain named name runs: 1 yes, 0 defined but stopped, -ENOENT no such domain;
 * or -EINVAL (unsafe name), -EHOSTUNREACH, -ENOMEM, -EIO. */
int virt_domain_is_active(struct virt_hosts *h, const char *uri, const char *name,
    char *err, size_t errlen);

enum virt_signal {
	VIRT_SHUTDOWN, /* virDomainShutdown: ACPI power button, the guest shuts down */
	VIRT_REBOOT,   /* virDomainReboot */
};
/* Asks the running domain named name to shut down or reboot; returns when the request is
 * sent, not when the guest has acted.  Returns 0, -ENOENT (no such domain), -EINVAL (unsafe
 * name), -EHOSTUNREACH, -ENOMEM, -EIO (not running included). */
int virt_domain_signal(struct virt_hosts *h, const char *uri, const char *name,
    enum virt_signal sig, char *err, size_t errlen);
/* The domain's XML as libvirt holds it (the running definition if it runs), in *xml for the
 * caller to free(); on failure *xml is not written.  Returns 0, -ENOENT (no such domain),
 * -EINVAL (unsafe name), -EHOSTUNREACH, -ENOMEM, -EIO. */
int virt_domain_xml(struct virt_hosts *h, const char *uri, const char *name, char **xml,
    char *err, size_t errlen);

/* The names of all domains on the host, active and inactive, in libvirt's order.  On success
 * *names (NULL when *n is 0) is the caller's, to free with virt_names_free; on failure neither
 * is written.  Returns 0, -EHOSTUNREACH, -ENOMEM, -EIO. */
int virt_domain_list(struct virt_hosts *h, const char *uri, char ***names, size_t *n,
    char *err, size_t errlen);
void virt_names_free(char **names, size_t n);

/* The running domain's VNC console as libvirt assigned it: address into addr (addrlen bytes)
 * and TCP port.  Returns 0, -ENOENT (no such domain, or no VNC console with a port: not
 * running), -EINVAL, -EHOSTUNREACH, -ENOMEM, -EIO. */
int virt_domain_vnc(struct virt_hosts *h, const char *uri, const char *name, char *addr,
    size_t addrlen, int *port, char *err, size_t errlen);

#endif
