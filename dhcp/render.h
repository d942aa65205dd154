/* render.h: the dnsmasq files vrd generates, rendered from the state (pure). */
#ifndef DHCP_RENDER_H
#define DHCP_RENDER_H

#include "buf.h"
#include "model.h"

/* The files dnsmasq reads, all rendered from the state, one set for every
 * reader: vrd's store writes them, in this order, under these names
 * (statedir.h).  A change to dnsmasq.conf needs dnsmasq restarted; the
 * others a SIGHUP. */
enum dnsmasq_file { DF_DHCPHOSTS, DF_DHCPOPTS, DF_HOSTS, DF_CONF, DF_NFILES };
extern const char *const dnsmasq_file_names[DF_NFILES];

struct dnsmasq_paths {
	const char *hostsfile;  /* --dhcp-hostsfile */
	const char *optsfile;   /* --dhcp-optsfile */
	const char *addnhosts;  /* --addn-hosts */
	const char *leasefile;  /* --dhcp-leasefile */
	const char *hostsdir;   /* --dhcp-hostsdir: dhcphosts lines added since */
	const char *addnhostsdir; /* --hostsdir: hosts lines added since */
};

/* The dnsmasq tag of a non-default NIC: its IPv4 with '_' for '.'. */
void dhcp_tag(uint32_t ip, char out[16]);
/* One dhcp-host line for a VM with a DHCP entry: "MAC,IP,[IPV6],HOST,LEASE",
 * or "MAC,set:TAG,IP,[IPV6],HOST,LEASE" for a non-default NIC (IPV6 and HOST
 * omitted if none). */
void dhcp_host_line(const struct vm *v, struct buf *b);
/* dhcphosts: the default NICs' lines.  Non-default NICs go to dnsmasq.conf
 * (see render.c for why). */
void dhcp_hosts_render(const struct state *st, struct buf *b);
/* "TAG,3", "TAG,6", "TAG,15", "TAG,121" for each non-default NIC: no router,
 * DNS, domain or classless routes from that network. */
void dhcp_opts_render(const struct state *st, struct buf *b);
/* "IP HOST" (and "IPV6 HOST") per named VM and "ROUTER data-server" per network. */
void hosts_render(const struct state *st, struct buf *b);
void dnsmasq_conf_render(const struct state *st, const struct dnsmasq_paths *p, struct buf *b);
/* A VM's "IP HOST" (and "IPV6 HOST") lines of hosts, if it has a DHCP
 * entry and a name. */
void vm_hosts_lines(const struct vm *v, struct buf *b);
/* The lines a VM newly given a DHCP entry adds to dhcphosts (DF_DHCPHOSTS)
 * or hosts (DF_HOSTS), the same lines the whole file would hold for it;
 * nothing for the other files.  Written to dhcphosts.d/ and hosts.d/ by a
 * batch that only adds entries, which dnsmasq reads without a SIGHUP. */
void dnsmasq_added_render(enum dnsmasq_file f, const struct vm *v, struct buf *b);
/* One of the files (one of the four above). */
void dnsmasq_file_render(enum dnsmasq_file f, const struct state *st,
    const struct dnsmasq_paths *p, struct buf *b);

#endif
