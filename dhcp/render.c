/* render.c: dhcphosts, dhcpopts, hosts and dnsmasq.conf from the state, and
 * the lines a new entry adds to them (dhcphosts.d/, hosts.d/).
 * Every value was validated on the way in (cmd.c), so a rendered line can
 * never carry a second entry or a dnsmasq keyword.
 *
 * Non-default NICs are dhcp-host= lines in dnsmasq.conf, not dhcphosts
 * lines: dnsmasq (2.86 to at least 2.90) links a host's set: tag into a
 * chain on its stack while serving it, and SIGHUP's re-read of a hosts
 * file then frees through that dangling pointer and crashes.  Entries of
 * the main configuration are never freed, so they are safe.
 *
 * Guests are told apart by MAC alone: dhcp-ignore-names (a guest cannot
 * name itself in DNS), dhcp-ignore-clid (nor reach another's lease by its
 * client identifier), and dhcp-broadcast, because dnsmasq's unicast reply
 * to an unconfigured client writes the neighbour table, which would turn
 * vrd's permanent entry for that address into one ARP can repoint. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "render.h"
#include "statedir.h"

const char *const dnsmasq_file_names[DF_NFILES] = {
	[DF_DHCPHOSTS] = STATE_DHCPHOSTS,
	[DF_DHCPOPTS] = STATE_DHCPOPTS,
	[DF_HOSTS] = STATE_HOSTS,
	[DF_CONF] = STATE_DNSMASQ_CONF,
};

void
dhcp_tag(uint32_t ip, char out[16])
{
	ip4_format(ip, out);
	for (char *p = out; *p; p++)
		if (*p == '.')
			*p = '_';
}

/* Lines are built from plain appends, not printf: at 10,000 VMs every DHCP
 * change renders 10,000 of them (and as many hosts lines). */
void
dhcp_host_line(const struct vm *v, struct buf *b)
{
	char mac[MAC_STRLEN], ip[IP4_STRLEN], tag[16];

	mac_format(v->mac, mac);
	ip4_format(v->ip, ip);
	buf_adds(b, mac);
	if (!v->default_entry) {
		dhcp_tag(v->ip, tag);
		buf_adds(b, ",set:");
		buf_adds(b, tag);
	}
	buf_adds(b, ",");
	buf_adds(b, ip);
	if (v->ipv6) { /* DHCPv6 on a dual-stack network (canonical, from cmd.c) */
		buf_adds(b, ",[");
		buf_adds(b, v->ipv6);
		buf_adds(b, "]");
	}
	if (v->host[0]) {
		buf_adds(b, ",");
		buf_adds(b, v->host);
	}
	if (v->lease == LEASE_INFINITE)
		buf_adds(b, ",infinite\n");
	else
		buf_addf(b, ",%lld\n", (long long)v->lease);
}

void
dhcp_hosts_render(const struct state *st, struct buf *b)
{
	for (size_t i = 0; i < st->nvm; i++)
		if (st->by_ip[i]->has_dhcp && st->by_ip[i]->default_entry)
			dhcp_host_line(st->by_ip[i], b);
}

void
dhcp_opts_render(const struct state *st, struct buf *b)
{
	static const int cleared[] = { 3, 6, 15, 121 };
	char tag[16];

	for (size_t i = 0; i < st->nvm; i++) {
		const struct vm *v = st->by_ip[i];

		if (!v->has_dhcp || v->default_entry)
			continue;
		dhcp_tag(v->ip, tag);
		for (size_t k = 0; k < sizeof(cleared) / sizeof(cleared[0]); k++)
			buf_addf(b, "%s,%d\n", tag, cleared[k]);
	}
}

void
vm_hosts_lines(const struct vm *v, struct buf *b)
{
	char ip[IP4_STRLEN];

	if (!v->has_dhcp || !v->host[0])
		return;
	ip4_format(v->ip, ip);
	buf_adds(b, ip);
	buf_adds(b, " ");
	buf_adds(b, v->host);
	buf_adds(b, "\n");
	if (v->ipv6) { /* its AAAA record */
		buf_adds(b, v->ipv6);
		buf_adds(b, " ");
		buf_adds(b, v->host);
		buf_adds(b, "\n");
	}
}

void
hosts_render(const struct state *st, struct buf *b)
{
	char ip[IP4_STRLEN];

	for (size_t i = 0; i < st->nnet; i++) {
		ip4_format(st->nets[i].router, ip);
		buf_addf(b, "%s data-server\n", ip);
	}
	for (size_t i = 0; i < st->nvm; i++)
		vm_hosts_lines(st->by_ip[i], b);
}

void
dnsmasq_added_render(enum dnsmasq_file f, const struct vm *v, struct buf *b)
{
	if (f == DF_DHCPHOSTS && v->has_dhcp && v->default_entry)
		dhcp_host_line(v, b);
	else if (f == DF_HOSTS)
		vm_hosts_lines(v, b);
}

/* ra_enabled: whether a dual-stack network has this router as its IPv6
 * gateway (none named, or this router's own address) */
static bool
ra_enabled(const struct state *st)
{
	for (size_t i = 0; i < st->nnet; i++)
		if (st->nets[i].has6 && !st->nets[i].has_gw6)
			return true;
	return false;
}

static void
net_render(const struct state *st, const struct net *n, struct buf *b)
{
	char net[IP4_STRLEN], mask[IP4_STRLEN], router[IP4_STRLEN], dns[IP4_STRLEN];
	char gw[IP4_STRLEN];
	const char *tag = n->dev;

	ip4_format(n->net, net);
	ip4_format(prefix_mask(n->prefix), mask);
	ip4_format(n->router, router);
	ip4_format(n->gw ? n->gw : n->router, gw);
	buf_addf(b, "\n# guest network on %s\ninterface=%s\n", n->dev, n->dev);
	buf_addf(b, "dhcp-range=set:net_%s,%s,static,%s,infinite\n", tag, net, mask);
	buf_addf(b, "dhcp-option=tag:net_%s,3,%s\n", tag, gw);
	/* The router first, as CloudStack's router does: dnsmasq answers for the
	 * VMs' names and forwards the rest; then the network's own servers. */
	buf_addf(b, "dhcp-option=tag:net_%s,6,%s", tag, router);
	for (int i = 0; i < n->ndns; i++) {
		if (n->dns[i] == n->router)
			continue;
		ip4_format(n->dns[i], dns);
		buf_addf(b, ",%s", dns);
	}
	buf_adds(b, "\n");
	if (n->domain[0]) {
		buf_addf(b, "dhcp-option=tag:net_%s,15,%s\n", tag, n->domain);
		buf_addf(b, "domain=%s,%s/%d\n", n->domain, net, n->prefix);
	}
	/* RFC 3442: a client that takes option 121 ignores option 3, so the
	 * default route (the network's gateway) travels with the metadata route
	 * (always this router). */
	buf_addf(b, "dhcp-option=tag:net_%s,121,169.254.169.254/32,%s,0.0.0.0/0,%s\n", tag,
	    router, gw);
	if (n->has6) {
		char r6[INET6_ADDRSTRLEN], n6[INET6_ADDRSTRLEN], d6[INET6_ADDRSTRLEN];

		/* DHCPv6 for the hosts' [IPv6] only; the router advertisements
		 * (enable-ra) say "managed" and carry the prefix */
		inet_ntop(AF_INET6, n->router6, r6, sizeof(r6));
		inet_ntop(AF_INET6, n->net6, n6, sizeof(n6));
		buf_addf(b, "dhcp-range=set:net_%s,%s,static,%d,infinite\n", tag, n6, n->prefix6);
		/* the router first, then the network's (CloudStack's [::],[ip6dns1],
		 * [ip6dns2]); enable-ra sends the same list as RDNSS */
		buf_addf(b, "dhcp-option=tag:net_%s,option6:dns-server,[%s]", tag, r6);
		for (int i = 0; i < n->ndns6; i++) {
			if (!memcmp(n->dns6[i], n->router6, 16))
				continue;
			inet_ntop(AF_INET6, n->dns6[i], d6, sizeof(d6));
			buf_addf(b, ",[%s]", d6);
		}
		buf_adds(b, "\n");
		/* another router is the network's IPv6 gateway (a shared network):
		 * it advertises itself and the prefix.  This router sends none on
		 * the network (CloudStack's dhcpsrvr runs no radvd), or, where
		 * enable-ra is on for another network, advertisements that claim
		 * no default route (router lifetime 0). */
		if (n->has_gw6 && ra_enabled(st))
			buf_addf(b, "ra-param=%s,0,0\n", n->dev);
		if (n->domain[0])
			buf_addf(b, "dhcp-option=tag:net_%s,option6:domain-search,%s\n", tag, n->domain);
	}
}

void
dnsmasq_conf_render(const struct state *st, const struct dnsmasq_paths *p, struct buf *b)
{
	buf_adds(b, "# Generated by vrd from its state directory; do not edit.\n"
	    "# dnsmasq reads this file at start; SIGHUP re-reads the three files below,\n"
	    "# and it reads a file new in the two directories below as it appears (inotify).\n"
	    "bind-dynamic\n"
	    "dhcp-authoritative\n"
	    "dhcp-ignore-names\n"
	    "dhcp-ignore-clid\n"
	    "dhcp-broadcast\n"
	    "no-hosts\n"
	    "expand-hosts\n");
	buf_addf(b, "dhcp-leasefile=%s\n", p->leasefile);
	buf_addf(b, "dhcp-hostsfile=%s\n", p->hostsfile);
	buf_addf(b, "dhcp-optsfile=%s\n", p->optsfile);
	buf_addf(b, "addn-hosts=%s\n", p->addnhosts);
	buf_addf(b, "dhcp-hostsdir=%s\n", p->hostsdir);
	buf_addf(b, "hostsdir=%s\n", p->addnhostsdir);
	if (st->nnet == 0)
		buf_adds(b, "\n# no guest network yet: answer nothing but loopback\n"
		    "interface=lo\nno-dhcp-interface=lo\n");
	if (ra_enabled(st))
		buf_adds(b, "# router advertisements on the dual-stack networks this router is the "
		    "gateway of\nenable-ra\n");
	for (size_t i = 0; i < st->nnet; i++)
		net_render(st, &st->nets[i], b);
	for (size_t i = 0, n = 0; i < st->nvm; i++) {
		const struct vm *v = st->by_ip[i];

		if (!v->has_dhcp || v->default_entry)
			continue;
		if (n++ == 0)
			buf_adds(b, "\n# non-default NICs: their tag clears options 3, 6, 15 and 121 "
			    "(dhcpopts)\n");
		buf_adds(b, "dhcp-host=");
		dhcp_host_line(v, b);
	}
}

void
dnsmasq_file_render(enum dnsmasq_file f, const struct state *st, const struct dnsmasq_paths *p,
    struct buf *b)
{
	switch (f) {
	case DF_DHCPHOSTS:
		dhcp_hosts_render(st, b);
		break;
	case DF_DHCPOPTS:
		dhcp_opts_render(st, b);
		break;
	case DF_HOSTS:
		hosts_render(st, b);
		break;
	case DF_CONF:
		dnsmasq_conf_render(st, p, b);
		break;
	case DF_NFILES:
		break;
	}
}
