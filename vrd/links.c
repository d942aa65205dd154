/* links.c: interface addresses and link state through libnl-route-3; libnl's
 * error codes are turned into errno values here and nowhere else. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "links.h"
#include "addr.h"

int
links_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int
nl_open(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		return links_errno(r);
	}
	*out = sk;
	return 0;
}

static int
link_get(struct nl_sock *sk, const char *dev, struct rtnl_link **out)
{
	return links_errno(rtnl_link_get_kernel(sk, 0, dev, out));
}

int
links_check(const char *dev)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int r;

	if ((r = nl_open(&sk)) < 0)
		return r;
	r = link_get(sk, dev, &link);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

/* Adds or removes an address (family AF_INET: 4 bytes in network order, or
 * AF_INET6: 16, added without duplicate address detection so that dnsmasq
 * can use it at once). */
static int
addr_change_raw(struct nl_sock *sk, int ifindex, int family, const void *ip, int prefix,
    bool add)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int r;

	if (!a)
		return -ENOMEM;
	if (!(local = nl_addr_build(family, ip, family == AF_INET6 ? 16 : 4))) {
		rtnl_addr_put(a);
		return -ENOMEM;
	}
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, family);
	if (family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	r = rtnl_addr_set_local(a, local);
	if (r == 0) {
		r = add ? rtnl_addr_add(sk, a, 0) : rtnl_addr_delete(sk, a, 0);
		r = links_errno(r);
		if ((add && r == -EEXIST) || (!add && (r == -EADDRNOTAVAIL || r == -ENODEV)))
			r = 0;
	} else {
		r = links_errno(r);
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	return r;
}

static int
addr_change(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, bool add)
{
	uint32_t be = htonl(ip);

	return addr_change_raw(sk, ifindex, AF_INET, &be, prefix, add);
}

int
links_net_up(const struct net *n)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL, *change = NULL;
	int r, ifindex;

	if ((r = nl_open(&sk)) < 0)
		return r;
	if ((r = link_get(sk, n->dev, &link)) < 0)
		goto out;
	ifindex = rtnl_link_get_ifindex(link);
	if ((r = addr_change(sk, ifindex, n->router, n->prefix, true)) < 0 ||
	    (r = addr_change(sk, ifindex, METADATA_IP, 32, true)) < 0 ||
	    (n->has6 && (r = addr_change_raw(sk, ifindex, AF_INET6, n->router6, n->prefix6,
	    true)) < 0))
		goto out;
	if (!(rtnl_link_get_flags(link) & IFF_UP)) {
		if (!(change = rtnl_link_alloc())) {
			r = -ENOMEM;
			goto out;
		}
		rtnl_link_set_flags(change, IFF_UP);
		r = links_errno(rtnl_link_change(sk, link, change, 0));
	}
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

int
links_net_down(const struct net *n)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	int r, ifindex;

	if ((r = nl_open(&sk)) < 0)
		return r;
	if ((r = link_get(sk, n->dev, &link)) < 0) {
		r = r == -ENODEV ? 0 : r; /* the device is gone, and its addresses with it */
		goto out;
	}
	ifindex = rtnl_link_get_ifindex(link);
	if ((r = addr_change(sk, ifindex, n->router, n->prefix, false)) == 0)
		r = addr_change(sk, ifindex, METADATA_IP, 32, false);
	if (r == 0 && n->has6)
		r = addr_change_raw(sk, ifindex, AF_INET6, n->router6, n->prefix6, false);
out:
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}
