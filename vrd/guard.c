/* guard.c: address bindings on the guest interfaces: the nftables table
 * and permanent neighbour entries (libnl-route-3).  The table is built
 * whole by libnftables from a script (at start, when the networks change);
 * a batch's bindings go to its sets as one nf_tables transaction built
 * with libnftnl and sent with libmnl, which costs a few microseconds
 * where libnftables' parser and cache refresh cost a tenth of a
 * millisecond and more.  Errors of the libraries are turned into errno
 * values and text here. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "guard.h"
#include "links.h"

struct guard {
	struct nft_ctx *nft;            /* the whole table, from guard_script */
	struct nl_sock *nl;             /* neighbour entries */
	struct mnl_socket *nfnl;        /* a batch's set elements */
	uint32_t seq;
	int sndbuf;                     /* the socket's send buffer, once raised */
	char *msg;                      /* the transaction being built */
	size_t msgcap;
};

/* The rules.  Offsets into a DHCP packet after the UDP header (th): the
 * client hardware address at byte 36 (bit 288), the options at byte 248
 * (bit 1984), right after the magic cookie.  The message type must be the
 * first option, as every DHCP client sends it, so that the rule reads the
 * type dnsmasq reads (the first option 53); a DECLINE must carry the
 * requested address as the second option, and it must be the sender's.
 * Other traffic from an address without its binding is refused (a TCP
 * reset, an ICMP error), so that a removed VM's client gives up at once;
 * DHCP that breaks the rules is dropped. */
static const char guard_rules[] =
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter - 10; policy accept;\n"
	"\t\tiifname != @guest_ifs accept\n"
	"\t\tmeta nfproto != ipv4 accept\n"
	"\t\tudp dport 67 goto dhcp\n"
	"\t\tip saddr . ether saddr @bindings accept\n"
	"\t\tmeta l4proto tcp counter reject with tcp reset\n"
	"\t\tcounter reject with icmpx admin-prohibited\n"
	"\t}\n"
	"\tchain dhcp {\n"
	"\t\tether saddr . @th,288,48 != @dhcp_macs counter drop\n"
	"\t\t@th,1984,24 { 0x350101, 0x350103, 0x350107, 0x350108 } goto dhcp_source\n"
	"\t\t@th,1984,24 0x350104 @th,2008,16 0x3204 ether saddr . @th,2024,32 @dhcp_declines "
	"goto dhcp_source\n"
	"\t\tcounter drop\n"
	"\t}\n"
	"\tchain dhcp_source {\n"
	"\t\tip saddr 0.0.0.0 accept\n"
	"\t\tip saddr . ether saddr @bindings accept\n"
	"\t\tcounter drop\n"
	"\t}\n";

enum gset { GS_BINDINGS, GS_MACS, GS_DECLINES, GS_N };

static const char *const gset_names[GS_N] = { "bindings", "dhcp_macs", "dhcp_declines" };
static const char *const gset_types[GS_N] = {
	"type ipv4_addr . ether_addr",
	"typeof ether saddr . @th,288,48",
	"typeof ether saddr . @th,2024,32",
};

/* The network whose interface v's binding lives on, or NULL: a VM is bound
 * once it has a dhcpentry inside a guest network. */
static const struct net *
bound_net(const struct state *st, const struct vm *v)
{
	return v && v->has_dhcp ? state_net_for(st, v->ip) : NULL;
}

/* One set's element for v. */
static void
element(struct buf *b, enum gset s, const struct vm *v)
{
	char ip[IP4_STRLEN], mac[MAC_STRLEN];

	ip4_format(v->ip, ip);
	mac_format(v->mac, mac);
	switch (s) {
	case GS_BINDINGS:
		buf_addf(b, "%s . %s", ip, mac);
		break;
	case GS_MACS:
		buf_addf(b, "%s . 0x%02x%02x%02x%02x%02x%02x", mac, v->mac[0], v->mac[1], v->mac[2],
		    v->mac[3], v->mac[4], v->mac[5]);
		break;
	default:
		buf_addf(b, "%s . 0x%08x", mac, v->ip);
	}
}

/* One set's key for v as the kernel keeps it (what element() says in
 * nftables' words): each part of a concatenation in whole 32-bit
 * registers, zero-padded; addresses and packet fields in network order.
 * Returns its length. */
static uint32_t
element_key(enum gset s, const struct vm *v, uint8_t key[16])
{
	uint32_t be = htonl(v->ip);

	memset(key, 0, 16);
	switch (s) {
	case GS_BINDINGS:
		memcpy(key, &be, 4);
		memcpy(key + 4, v->mac, 6);
		return 12;
	case GS_MACS:
		memcpy(key, v->mac, 6);
		memcpy(key + 8, v->mac, 6);
		return 16;
	default:
		memcpy(key, v->mac, 6);
		memcpy(key + 8, &be, 4);
		return 12;
	}
}

int
guard_script(const struct state *st, struct buf *b)
{
	/* Declared, then deleted and made anew: one transaction, no gap. */
	buf_adds(b, "table inet " GUARD_TABLE "\ndelete table inet " GUARD_TABLE "\n"
	    "table inet " GUARD_TABLE " {\n\tset guest_ifs {\n\t\ttype ifname\n");
	for (size_t i = 0; i < st->nnet; i++)
		buf_addf(b, "%s\"%s\"", i ? ", " : "\t\telements = { ", st->nets[i].dev);
	buf_adds(b, st->nnet ? " }\n\t}\n" : "\t}\n");
	for (int s = 0; s < GS_N; s++) {
		size_t n = 0;

		buf_addf(b, "\tset %s {\n\t\t%s\n", gset_names[s], gset_types[s]);
		for (size_t i = 0; i < st->nvm; i++) {
			if (!bound_net(st, st->by_ip[i]))
				continue;
			buf_adds(b, n++ ? ",\n\t\t\t" : "\t\telements = { ");
			element(b, (enum gset)s, st->by_ip[i]);
		}
		buf_adds(b, n ? " }\n\t}\n" : "\t}\n");
	}
	buf_adds(b, guard_rules);
	buf_adds(b, "}\n");
	return b->oom ? -ENOMEM : 0;
}

/* --- libnftables -------------------------------------------------------------- */

static int
nft_run(struct guard *g, struct buf *script, char *err, size_t errlen)
{
	const char *msg;
	int r;

	if (script->oom)
		return err_set(err, errlen, -ENOMEM, "nftables: out of memory");
	if (script->len == 0)
		return 0;
	if (nft_run_cmd_from_buffer(g->nft, script->p) == 0)
		r = 0;
	else
		r = -EIO;
	msg = nft_ctx_get_error_buffer(g->nft);
	if (r < 0) {
		size_t n;

		snprintf(err, errlen, "nftables: %s", msg && *msg ? msg : "refused the change");
		n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		for (char *p = err; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	return r;
}

/* --- libnl: neighbour entries --------------------------------------------------- */

/* Binds ip to mac on dev (permanent), or, with mac NULL, forgets ip there. */
static int
neigh_set(struct guard *g, const char *dev, uint32_t ip, const uint8_t *mac)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = NULL, *ll = NULL;
	uint32_t be = htonl(ip);
	int ifindex = (int)if_nametoindex(dev), r;

	if (!n)
		return -ENOMEM;
	if (ifindex == 0) {
		r = mac ? -ENODEV : 0; /* the device is gone, and its entries with it */
		goto out;
	}
	if (!(dst = nl_addr_build(AF_INET, &be, sizeof(be))) ||
	    (mac && !(ll = nl_addr_build(AF_LLC, mac, 6)))) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_neigh_set_ifindex(n, ifindex);
	rtnl_neigh_set_family(n, AF_INET);
	if ((r = links_errno(rtnl_neigh_set_dst(n, dst))) < 0)
		goto out;
	if (mac) {
		rtnl_neigh_set_lladdr(n, ll);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		r = links_errno(rtnl_neigh_add(g->nl, n, NLM_F_CREATE | NLM_F_REPLACE));
	} else {
		r = links_errno(rtnl_neigh_delete(g->nl, n, 0));
		if (r == -ENODEV)
			r = 0; /* no such entry (libnl's "object not found") */
	}
out:
	nl_addr_put(ll);
	nl_addr_put(dst);
	rtnl_neigh_put(n);
	return r;
}

struct neigh_walk {
	struct guard *g;
	const struct state *st;
	int r;
};

/* Forgets a permanent IPv4 entry on a guest interface that no VM holds now
 * (left by a VM removed while vrd was down). */
static void
neigh_prune_one(struct nl_object *obj, void *arg)
{
	struct neigh_walk *w = arg;
	struct rtnl_neigh *n = (struct rtnl_neigh *)obj;
	struct nl_addr *dst = rtnl_neigh_get_dst(n), *ll = rtnl_neigh_get_lladdr(n);
	char dev[IF_NAMESIZE];
	const struct net *net;
	const struct vm *v;
	uint32_t ip;
	int r;

	if (!(rtnl_neigh_get_state(n) & NUD_PERMANENT) || rtnl_neigh_get_family(n) != AF_INET ||
	    !dst || nl_addr_get_len(dst) != 4 ||
	    !if_indextoname((unsigned)rtnl_neigh_get_ifindex(n), dev))
		return;
	memcpy(&ip, nl_addr_get_binary_addr(dst), 4);
	ip = ntohl(ip);
	if (!(net = state_net_for(w->st, ip)) || strcmp(net->dev, dev))
		return;
	v = state_vm(w->st, ip);
	if (bound_net(w->st, v) && ll && nl_addr_get_len(ll) == 6 &&
	    !memcmp(nl_addr_get_binary_addr(ll), v->mac, 6))
		return;
	if ((r = neigh_set(w->g, dev, ip, NULL)) < 0 && w->r == 0)
		w->r = r;
}

static int
neigh_sync(struct guard *g, const struct state *st, char *err, size_t errlen)
{
	struct nl_cache *cache = NULL;
	struct neigh_walk w = { g, st, 0 };
	char ip[IP4_STRLEN];
	int r;

	if ((r = links_errno(rtnl_neigh_alloc_cache(g->nl, &cache))) < 0)
		return err_set(err, errlen, r, "neighbour table: %s", strerror(-r));
	nl_cache_foreach(cache, neigh_prune_one, &w);
	nl_cache_free(cache);
	if (w.r < 0)
		return err_set(err, errlen, w.r, "neighbour table: removing a stale entry: %s", strerror(-w.r));
	for (size_t i = 0; i < st->nvm; i++) {
		const struct vm *v = st->by_ip[i];
		const struct net *net = bound_net(st, v);

		if (net && (r = neigh_set(g, net->dev, v->ip, v->mac)) < 0) {
			ip4_format(v->ip, ip);
			return err_set(err, errlen, r, "neighbour entry for %s on %s: %s", ip, net->dev,
			    strerror(-r));
		}
	}
	return 0;
}

/* --- the batch ------------------------------------------------------------------ */

/* The nf_tables socket: answers capped to their header (an error need not
 * echo a large transaction back). */
static int
nfnl_open(struct guard *g)
{
	socklen_t sl = sizeof(g->sndbuf);
	int one = 1;

	if (!(g->nfnl = mnl_socket_open(NETLINK_NETFILTER)) ||
	    mnl_socket_bind(g->nfnl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(g->nfnl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    getsockopt(mnl_socket_get_fd(g->nfnl), SOL_SOCKET, SO_SNDBUF, &g->sndbuf, &sl) < 0)
		return errno ? -errno : -ENOMEM;
	g->seq = (uint32_t)time(NULL);
	return 0;
}

int
guard_open(struct guard **out, char *err, size_t errlen)
{
	struct guard *g = calloc(1, sizeof(*g));
	int r;

	*out = NULL;
	if (!g || !(g->nft = nft_ctx_new(NFT_CTX_DEFAULT)) || !(g->nl = nl_socket_alloc())) {
		snprintf(err, errlen, "out of memory");
		guard_close(g);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(g->nft);
	nft_ctx_buffer_error(g->nft);
	if ((r = links_errno(nl_connect(g->nl, NETLINK_ROUTE))) < 0) {
		snprintf(err, errlen, "netlink: %s", strerror(-r));
		guard_close(g);
		return r;
	}
	if ((r = nfnl_open(g)) < 0) {
		snprintf(err, errlen, "netlink (nftables): %s", strerror(-r));
		guard_close(g);
		return r;
	}
	*out = g;
	return 0;
}

void
guard_close(struct guard *g)
{
	if (!g)
		return;
	if (g->nft)
		nft_ctx_free(g->nft);
	if (g->nl)
		nl_socket_free(g->nl);
	if (g->nfnl)
		mnl_socket_close(g->nfnl);
	free(g->msg);
	free(g);
}

int
guard_sync(struct guard *g, const struct state *st, char *err, size_t errlen)
{
	struct buf b;
	int r;

	buf_init(&b);
	if ((r = guard_script(st, &b)) == 0 && (r = nft_run(g, &b, err, errlen)) == 0)
		r = neigh_sync(g, st, err, errlen);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	buf_free(&b);
	return r;
}

/* Whether change c moves the binding at its address ("from" bound and "to"
 * not, or bound to another MAC); v is the side this pass removes or adds. */
static const struct vm *
delta_side(const struct state *st, const struct txn_change *c, bool reverse, bool adding)
{
	const struct vm *from = reverse ? c->after : c->before;
	const struct vm *to = reverse ? c->before : c->after;
	bool fb = bound_net(st, from), tb = bound_net(st, to);

	if (fb && tb && !memcmp(from->mac, to->mac, 6))
		return NULL; /* the binding stays */
	if (adding)
		return tb ? to : NULL;
	return fb ? from : NULL;
}

/* Each changed address's neighbour entry as "to" says; on failure, the
 * ones already changed are put back. */
static int
neigh_delta(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    bool reverse, char *err, size_t errlen)
{
	char ip[IP4_STRLEN];
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const struct vm *to = reverse ? ch[i].before : ch[i].after;
		const struct net *net = state_net_for(st, ch[i].ip);

		if (!net || (!delta_side(st, &ch[i], reverse, false) &&
		    !delta_side(st, &ch[i], reverse, true)))
			continue; /* no binding, or the same one */
		r = neigh_set(g, net->dev, ch[i].ip, bound_net(st, to) ? to->mac : NULL);
	}
	if (r == 0)
		return 0;
	ip4_format(ch[i - 1].ip, ip);
	snprintf(err, errlen, "neighbour entry for %s: %s", ip, strerror(-r));
	for (size_t k = 0; k + 1 < i; k++) {
		const struct vm *from = reverse ? ch[k].after : ch[k].before;
		const struct net *net = state_net_for(st, ch[k].ip);

		if (net && (delta_side(st, &ch[k], reverse, false) ||
		    delta_side(st, &ch[k], reverse, true)))
			(void)neigh_set(g, net->dev, ch[k].ip, bound_net(st, from) ? from->mac : NULL);
	}
	return r;
}

/* --- libnftnl: a batch's set elements ------------------------------------------ */

/* Makes room in the transaction buffer for need bytes after off. */
static int
msg_room(struct guard *g, size_t off, size_t need)
{
	size_t cap = g->msgcap ? g->msgcap : 4096;
	char *p;

	while (cap < off + need)
		cap *= 2;
	if (cap == g->msgcap)
		return 0;
	if (!(p = realloc(g->msg, cap)))
		return -ENOMEM;
	g->msg = p;
	g->msgcap = cap;
	return 0;
}

/* Elements per message: their list is one netlink attribute, whose length
 * is 16 bits (about 28 bytes an element: the list, key and value
 * attributes). */
#define ELEMS_PER_MSG 1024

/* A set named for s, no elements yet, or NULL. */
static struct nftnl_set *
elems_set(enum gset s)
{
	struct nftnl_set *set = nftnl_set_alloc();

	if (set && (nftnl_set_set_str(set, NFTNL_SET_TABLE, GUARD_TABLE) < 0 ||
	    nftnl_set_set_str(set, NFTNL_SET_NAME, gset_names[s]) < 0)) {
		nftnl_set_free(set);
		set = NULL;
	}
	return set;
}

/* Appends at *off the message that deletes (pass 0) or adds (pass 1) set's
 * k elements; *nmsg counts it. */
static int
elems_put(struct guard *g, struct nftnl_set *set, size_t k, int pass, size_t *off, unsigned *nmsg)
{
	struct nlmsghdr *nlh;
	int r;

	if ((r = msg_room(g, *off, 256 + 64 * k)) < 0)
		return r;
	nlh = nftnl_nlmsg_build_hdr(g->msg + *off, pass ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
	    NFPROTO_INET, (pass ? NLM_F_CREATE : 0) | NLM_F_ACK, g->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
	(*nmsg)++;
	return 0;
}

/* Appends at *off the messages that delete (pass 0) or add (pass 1) set
 * s's elements for every change, taking the bindings from what "from"
 * says to what "to" says; *nmsg counts them.  Nothing when no change
 * touches the set. */
static int
elems_msgs(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    bool reverse, int pass, enum gset s, size_t *off, unsigned *nmsg)
{
	struct nftnl_set *set = elems_set(s);
	struct nftnl_set_elem *e;
	uint8_t key[16];
	size_t k = 0;
	int r = -ENOMEM;

	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct vm *v = delta_side(st, &ch[i], reverse, pass == 1);

		if (!v)
			continue;
		if (!(e = nftnl_set_elem_alloc()))
			goto out;
		nftnl_set_elem_add(set, e);
		if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, element_key(s, v, key)) < 0)
			goto out;
		if (++k == ELEMS_PER_MSG) {
			if ((r = elems_put(g, set, k, pass, off, nmsg)) < 0)
				goto out;
			nftnl_set_free(set);
			k = 0;
			if (!(set = elems_set(s)))
				return -ENOMEM;
		}
	}
	r = k ? elems_put(g, set, k, pass, off, nmsg) : 0;
out:
	nftnl_set_free(set);
	return r;
}

/* Says in err what failed, with errno's text; returns -errno. */
static int
nfnl_fail(char *err, size_t errlen, const char *what)
{
	int e = errno;

	return err_set(err, errlen, -e, "nftables: %s: %s", what, strerror(e));
}

/* Sends the transaction [0, len) holding nmsg element messages and reads
 * the kernel's answer to each: nf_tables applies all of them or none. */
static int
nfnl_talk(struct guard *g, size_t len, unsigned nmsg, char *err, size_t errlen)
{
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	int fd = mnl_socket_get_fd(g->nfnl), first = 0, want;
	unsigned answers = 0;
	ssize_t got;

	if (len + 4096 > (size_t)g->sndbuf) { /* one transaction, however many VMs */
		want = (int)(len + 4096);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
			return nfnl_fail(err, errlen, "room for the transaction");
		g->sndbuf = want;
	}
	if (mnl_socket_sendto(g->nfnl, g->msg, len) < 0)
		return nfnl_fail(err, errlen, "sending the bindings");
	/* The kernel handles a netlink message within the sender's call: every
	 * answer is queued by the time sendto returns. */
	while ((got = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT)) != 0) {
		int left = (int)got;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0)
			return nfnl_fail(err, errlen, "reading the answer");
		for (const struct nlmsghdr *h = (const void *)rbuf; mnl_nlmsg_ok(h, left);
		    h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				continue;
			answers++;
			if (e->error < 0 && first == 0)
				first = e->error;
		}
	}
	if (first < 0)
		return err_set(err, errlen, first, "nftables: the kernel refused the bindings: %s",
		    strerror(-first));
	if (answers < nmsg)
		return err_set(err, errlen, -EIO, "nftables: %u of %u set changes answered", answers, nmsg);
	return 0;
}

/* The set elements of every change, as one transaction: removals first,
 * so that a MAC moving between two addresses of the batch is deleted
 * before it is added. */
static int
elems_apply(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    bool reverse, char *err, size_t errlen)
{
	size_t off;
	unsigned nmsg = 0;
	int r;

	if ((r = msg_room(g, 0, 64)) < 0)
		goto oom;
	off = NLMSG_ALIGN(nftnl_batch_begin(g->msg, g->seq++)->nlmsg_len);
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < GS_N; s++)
			if ((r = elems_msgs(g, st, ch, n, reverse, pass, (enum gset)s, &off, &nmsg)) < 0)
				goto oom;
	if (nmsg == 0)
		return 0;
	if ((r = msg_room(g, off, 64)) < 0)
		goto oom;
	off += NLMSG_ALIGN(nftnl_batch_end(g->msg + off, g->seq++)->nlmsg_len);
	return nfnl_talk(g, off, nmsg, err, errlen);
oom:
	return err_set(err, errlen, r, "nftables: out of memory");
}

static int
guard_delta(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    bool reverse, char *err, size_t errlen)
{
	size_t used;
	int r;

	if ((r = elems_apply(g, st, ch, n, reverse, err, errlen)) == 0 &&
	    (r = neigh_delta(g, st, ch, n, reverse, err, errlen)) < 0) {
		used = strlen(err);
		(void)elems_apply(g, st, ch, n, !reverse, err + used, errlen - used);
	}
	return r;
}

int
guard_apply(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    char *err, size_t errlen)
{
	return guard_delta(g, st, ch, n, false, err, errlen);
}

int
guard_revert(struct guard *g, const struct state *st, const struct txn_change *ch, size_t n,
    char *err, size_t errlen)
{
	return guard_delta(g, st, ch, n, true, err, errlen);
}
