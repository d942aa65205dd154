/* cmd.c: parses and validates CloudStack's dhcpentry, vmpassword, vmdata and
 * guestnetwork payloads (pure: no I/O, no logging).  Unknown keys are ignored. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "base64.h"
#include "cmd.h"

static const char *const cmd_names[CMD_NTYPES] = {
	[CMD_DHCPENTRY] = "dhcpentry",
	[CMD_VMPASSWORD] = "vmpassword",
	[CMD_VMDATA] = "vmdata",
	[CMD_GUESTNETWORK] = "guestnetwork",
};

const char *
cmd_type_name(enum cmd_type t)
{
	return t < CMD_NTYPES ? cmd_names[t] : "unknown";
}

void
cmd_error_set(struct cmd_error *e, int status, long index, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->index = index;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* Field access.  Each returns 0 or -EINVAL with the error set. */
struct pctx {
	json_t *obj;
	long index;
	struct cmd_error *err;
};

static int
bad(struct pctx *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(struct pctx *p, const char *field, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cmd_error_set(p->err, 400, p->index, field, "%s", msg);
	return -EINVAL;
}

/* A string member; *out is NULL when the key is absent or null. */
static int
get_str(struct pctx *p, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(p->obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return bad(p, key, "%s is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return bad(p, key, "%s must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static int
get_bool(struct pctx *p, const char *key, bool def, bool *out)
{
	json_t *v = json_object_get(p->obj, key);

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) { /* CloudStack's Gson writes some booleans as strings */
		if (!strcmp(json_string_value(v), "true"))
			return *out = true, 0;
		if (!strcmp(json_string_value(v), "false"))
			return *out = false, 0;
	}
	return bad(p, key, "%s must be true or false", key);
}

static int
get_ip(struct pctx *p, const char *key, uint32_t *out)
{
	const char *s;
	int r;

	if ((r = get_str(p, key, true, &s)) < 0)
		return r;
	if (ip4_parse(s, out) < 0)
		return bad(p, key, "%s \"%.40s\" is not an IPv4 address", key, s);
	if (*out == 0 || *out == 0xffffffffu || (*out >> 24) == 127 || (*out >> 28) >= 14)
		return bad(p, key, "%s %.40s is not a unicast host address", key, s);
	return 0;
}

static int
get_mac(struct pctx *p, const char *key, bool required, uint8_t mac[6], bool *present)
{
	const char *s;
	int r;

	if ((r = get_str(p, key, required, &s)) < 0)
		return r;
	if (present)
		*present = s != NULL;
	if (s && mac_parse(s, mac) < 0)
		return bad(p, key, "%s \"%.40s\" is not six hex octets", key, s);
	return 0;
}

/* An optional passthrough string with a character check. */
static int
get_opt_str(struct pctx *p, const char *key, const char *allowed, char **out)
{
	const char *s;
	int r;

	*out = NULL;
	if ((r = get_str(p, key, false, &s)) < 0 || !s || !*s)
		return r;
	if (strlen(s) > OPT_STR_MAX || strspn(s, allowed) != strlen(s))
		return bad(p, key, "%s \"%.40s\" has characters outside [%s]", key, s, allowed);
	if (!(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

/* addr_list_parse: "a,b,..." (spaces after commas allowed) into at most max
 * addresses of family af: host-order uint32_t for AF_INET, 16 bytes each for
 * AF_INET6 (neither unspecified nor multicast). */
static int
addr_list_parse(const char *s, int af, void *out, int max, int *n)
{
	char tmp[OPT_STR_MAX + 1];
	char *save = NULL, *tok;

	*n = 0;
	if (strlen(s) > OPT_STR_MAX)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%s", s);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*n >= max)
			return -EINVAL;
		if (af == AF_INET && ip4_parse(tok, (uint32_t *)out + *n) < 0)
			return -EINVAL;
		if (af == AF_INET6) {
			uint8_t *a = (uint8_t *)out + 16 * *n;

			if (inet_pton(AF_INET6, tok, a) != 1 || a[0] == 0xff ||
			    !memcmp(a, &in6addr_any, 16))
				return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static int
ip_list_parse(const char *s, uint32_t *out, int max, int *n)
{
	return addr_list_parse(s, AF_INET, out, max, n);
}

static int
parse_dhcpentry(struct pctx *p, struct cmd *c)
{
	struct cmd_dhcp *d = &c->u.dhcp;
	const char *host, *dns;
	json_t *lease;
	uint32_t tmp[DNS_MAX];
	bool add;
	int r, n;

	if ((r = get_mac(p, "mac_address", true, d->mac, NULL)) < 0 ||
	    (r = get_ip(p, "ipv4_address", &c->ip)) < 0 ||
	    (r = get_bool(p, "remove", false, &d->remove)) < 0 ||
	    (r = get_bool(p, "add", true, &add)) < 0 ||
	    (r = get_bool(p, "default_entry", true, &d->default_entry)) < 0 ||
	    (r = get_str(p, "host_name", false, &host)) < 0)
		return r;
	if (!add) /* the router's cs_dhcp merge: "add": false removes the entry */
		d->remove = true;
	if (d->mac[0] & 1)
		return bad(p, "mac_address", "mac_address is a multicast address");
	if (host && *host) {
		if (!host_label_valid(host))
			return bad(p, "host_name", "host_name \"%.64s\" is not a hostname dnsmasq "
			    "reads as one (RFC 1123 label of letters, digits, inner hyphens, not "
			    "a number, lease time, keyword or MAC)", host);
		if (host_name_reserved(host))
			return bad(p, "host_name", "host_name \"%s\" is reserved: the router, DNS "
			    "or cloud-init resolve it for a service of their own", host);
		snprintf(d->host, sizeof(d->host), "%s", host);
	}
	d->lease = LEASE_INFINITE;
	lease = json_object_get(p->obj, "lease_time");
	if (lease && !json_is_null(lease)) {
		json_int_t v;

		if (json_is_integer(lease))
			v = json_integer_value(lease);
		else if (json_is_string(lease) && *json_string_value(lease) &&
		    strspn(json_string_value(lease), "0123456789") == strlen(json_string_value(lease)) &&
		    strlen(json_string_value(lease)) <= 10)
			v = strtoll(json_string_value(lease), NULL, 10);
		else
			return bad(p, "lease_time", "lease_time must be null or whole seconds");
		if (v < LEASE_MIN || v > 0x7fffffff)
			return bad(p, "lease_time", "lease_time must be from %d to 2147483647 seconds",
			    LEASE_MIN);
		d->lease = v;
	}
	if ((r = get_str(p, "dns_addresses", false, &dns)) < 0)
		return r;
	if (dns && *dns && ip_list_parse(dns, tmp, DNS_MAX, &n) < 0)
		return bad(p, "dns_addresses", "dns_addresses must be IPv4 addresses separated by commas");
	if ((r = get_opt_str(p, "dns_addresses", "0123456789., ", &d->dns)) < 0 ||
	    (r = get_opt_str(p, "default_gateway", "0123456789.", &d->gw)) < 0 ||
	    (r = get_opt_str(p, "ipv6_address", "0123456789abcdefABCDEF:.", &d->ipv6)) < 0 ||
	    (r = get_opt_str(p, "ipv6_duid", "0123456789abcdefABCDEF:", &d->duid)) < 0)
		return r;
	if (d->gw && ip4_parse(d->gw, &tmp[0]) < 0)
		return bad(p, "default_gateway", "default_gateway \"%.40s\" is not an IPv4 address", d->gw);
	if (d->ipv6) { /* kept in its canonical form: dnsmasq reads it as "[ADDR]" */
		unsigned char a6[16];
		char canon[INET6_ADDRSTRLEN];

		if (inet_pton(AF_INET6, d->ipv6, a6) != 1 || a6[0] == 0xff ||
		    IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)a6) ||
		    IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a6) ||
		    !inet_ntop(AF_INET6, a6, canon, sizeof(canon)))
			return bad(p, "ipv6_address", "ipv6_address \"%.48s\" is not a unicast IPv6 "
			    "address", d->ipv6);
		free(d->ipv6);
		if (!(d->ipv6 = strdup(canon)))
			return -ENOMEM;
	}
	return 0;
}

static int
parse_vmpassword(struct pctx *p, struct cmd *c)
{
	const char *pw;
	int r;

	if ((r = get_ip(p, "ip_address", &c->ip)) < 0 ||
	    (r = get_str(p, "password", true, &pw)) < 0)
		return r;
	if (!*pw || strlen(pw) > PASSWORD_MAX)
		return bad(p, "password", "password must be 1 to %d bytes", PASSWORD_MAX);
	for (const unsigned char *q = (const unsigned char *)pw; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			return bad(p, "password", "password holds a control character");
	if (!(c->u.password = strdup(pw)))
		return -ENOMEM;
	return 0;
}

static int
parse_md_item(struct pctx *p, json_t *item, size_t i, struct md_op *op)
{
	json_t *jf = json_array_get(item, 0), *jk = json_array_get(item, 1),
	       *jv = json_array_get(item, 2);
	const char *folder, *key;

	if (!json_is_array(item) || json_array_size(item) != 3 || !json_is_string(jf) ||
	    !json_is_string(jk) || !(json_is_string(jv) || json_is_null(jv)))
		return bad(p, "vm_metadata", "vm_metadata[%zu] must be [folder, file, content]", i);
	folder = json_string_value(jf);
	key = json_string_value(jk);
	if (!md_key_valid(key))
		return bad(p, "vm_metadata", "vm_metadata[%zu]: key \"%.64s\" is not a path segment "
		    "of [A-Za-z0-9._-]", i, key);
	if (!strcmp(folder, "userdata")) {
		if (strcmp(key, "user-data"))
			return bad(p, "vm_metadata", "vm_metadata[%zu]: the userdata folder holds only "
			    "user-data, not \"%.64s\"", i, key);
		op->userdata = true;
	} else if (strcmp(folder, "metadata")) {
		return bad(p, "vm_metadata", "vm_metadata[%zu]: folder \"%.32s\" is not userdata "
		    "or metadata", i, folder);
	}
	if (!(op->key = strdup(key)))
		return -ENOMEM;
	if (json_is_null(jv)) { /* null stores an empty value */
		op->val = strdup("");
		return op->val ? 0 : -ENOMEM;
	}
	if (json_string_length(jv) == 0) /* "" deletes the key */
		return 0;
	if (op->userdata) {
		int r = base64_decode(json_string_value(jv), json_string_length(jv), USERDATA_MAX,
		    &op->val, &op->len);

		if (r == -EINVAL)
			return bad(p, "vm_metadata", "vm_metadata[%zu]: user-data is not valid base64", i);
		if (r == -EFBIG)
			return bad(p, "vm_metadata", "vm_metadata[%zu]: user-data is over %d bytes "
			    "decoded", i, USERDATA_MAX);
		return r;
	}
	if (json_string_length(jv) > MD_VALUE_MAX)
		return bad(p, "vm_metadata", "vm_metadata[%zu]: %s is over %d bytes", i, key,
		    MD_VALUE_MAX);
	op->len = json_string_length(jv);
	if (!(op->val = malloc(op->len + 1)))
		return -ENOMEM;
	memcpy(op->val, json_string_value(jv), op->len + 1);
	return 0;
}

/* A triple CloudStack's router would write as a file of its own: one that is
 * refused (a key with a space, a bad folder, bad base64) is left out and
 * reported, and the rest of the command is stored. */
static int
md_skip(struct cmd *c, const char *why, size_t cap)
{
	if (!c->u.data.skipped && !(c->u.data.skipped = calloc(cap, sizeof(char *))))
		return -ENOMEM;
	if (!(c->u.data.skipped[c->u.data.nskipped] = strdup(why)))
		return -ENOMEM;
	c->u.data.nskipped++;
	return 0;
}

static int
parse_vmdata(struct pctx *p, struct cmd *c)
{
	json_t *arr;
	size_t n;
	int r;

	if ((r = get_ip(p, "vm_ip_address", &c->ip)) < 0)
		return r;
	arr = json_object_get(p->obj, "vm_metadata");
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return bad(p, "vm_metadata", "vm_metadata must be an array of triples");
	n = json_array_size(arr);
	if (n > 2 * MD_KEYS_MAX)
		return bad(p, "vm_metadata", "vm_metadata has over %d items", 2 * MD_KEYS_MAX);
	if (n == 0)
		return 0;
	c->u.data.ops = calloc(n, sizeof(struct md_op));
	if (!c->u.data.ops)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct md_op *op = &c->u.data.ops[c->u.data.n];

		r = parse_md_item(p, json_array_get(arr, i), i, op);
		if (r == 0) {
			c->u.data.n++;
			continue;
		}
		free(op->key);
		free(op->val);
		memset(op, 0, sizeof(*op));
		if (r != -EINVAL || (r = md_skip(c, p->err->msg, n)) < 0)
			return r;
	}
	return 0;
}

/* The guest network's cidr: "a.b.c.d/n", or as CloudStack's SetupGuestNetwork
 * sends it, the prefix length alone ("24") with the network taken from
 * router_guest_ip; router_guest_netmask, when given, must agree. */
static int
gn_cidr(struct pctx *p, const char *cidr, struct net *n)
{
	const char *mask;
	uint32_t m;
	int r;

	if (strchr(cidr, '/')) {
		if (cidr_parse(cidr, &n->net, &n->prefix) < 0)
			return bad(p, "cidr", "cidr \"%.40s\" is not a.b.c.d/n", cidr);
	} else if (cidr[0] && strlen(cidr) <= 2 && strspn(cidr, "0123456789") == strlen(cidr)) {
		n->prefix = atoi(cidr);
		if (n->prefix > 32)
			return bad(p, "cidr", "cidr \"%.40s\" is not a prefix length", cidr);
		n->net = n->router & prefix_mask(n->prefix);
	} else {
		return bad(p, "cidr", "cidr \"%.40s\" is neither a.b.c.d/n nor a prefix length", cidr);
	}
	if (n->prefix < 8 || n->prefix > 30)
		return bad(p, "cidr", "cidr prefix must be from /8 to /30");
	if ((r = get_str(p, "router_guest_netmask", false, &mask)) < 0)
		return r;
	if (mask && *mask && (ip4_parse(mask, &m) < 0 || m != prefix_mask(n->prefix)))
		return bad(p, "router_guest_netmask", "router_guest_netmask \"%.40s\" is not the "
		    "netmask of /%d", mask, n->prefix);
	return 0;
}

/* router_guest_gateway: on a shared network (CloudStack's dhcpsrvr router)
 * the guests' default gateway is the network's router, not this one; the
 * router's own address, or none, means this router. */
static int
gn_gateway(struct pctx *p, struct net *n)
{
	const char *s;
	uint32_t gw, mask = prefix_mask(n->prefix);
	int r;

	n->gw = 0;
	if ((r = get_str(p, "router_guest_gateway", false, &s)) < 0 || !s || !*s)
		return r;
	if (ip4_parse(s, &gw) < 0 || (gw & mask) != n->net || gw == n->net ||
	    gw == (n->net | ~mask))
		return bad(p, "router_guest_gateway", "router_guest_gateway \"%.40s\" is not a host "
		    "address in cidr", s);
	if (gw != n->router)
		n->gw = gw;
	return 0;
}

/* prefix6_mask: byte i of the netmask of an IPv6 prefix of length plen */
static uint8_t
prefix6_mask(int plen, int i)
{
	int bits = plen - 8 * i;

	return bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
}

/* in6_in_prefix: whether a is in the network's IPv6 prefix */
static bool
in6_in_prefix(const struct net *n, const uint8_t a[16])
{
	for (int i = 0; i < 16; i++)
		if ((a[i] & prefix6_mask(n->prefix6, i)) != n->net6[i])
			return false;
	return true;
}

/* A dual-stack network's router_guest_ip6_gateway and dns6, as CloudStack's
 * GuestNetwork sends them (the cmdline's ip6gateway, ip6dns1 and ip6dns2).
 * A gateway other than this router (a shared network's router, an address
 * of the prefix or a link-local one) means this router sends no router
 * advertisements on the network (render.c); dns6 follows the router's own
 * address in the DHCPv6 DNS servers. */
static int
gn_ipv6_gateway_dns(struct pctx *p, struct net *n)
{
	const char *gw6, *dns6;
	int r;

	if ((r = get_str(p, "router_guest_ip6_gateway", false, &gw6)) < 0 ||
	    (r = get_str(p, "dns6", false, &dns6)) < 0)
		return r;
	if (gw6 && *gw6) {
		bool ll;

		if (inet_pton(AF_INET6, gw6, n->gw6) != 1)
			return bad(p, "router_guest_ip6_gateway", "router_guest_ip6_gateway \"%.48s\" is "
			    "not an IPv6 address", gw6);
		ll = n->gw6[0] == 0xfe && (n->gw6[1] & 0xc0) == 0x80;
		if ((!ll && !in6_in_prefix(n, n->gw6)) || !memcmp(n->gw6, n->net6, 16))
			return bad(p, "router_guest_ip6_gateway", "router_guest_ip6_gateway \"%.48s\" is "
			    "neither a host address in cidr6 nor link-local", gw6);
		n->has_gw6 = memcmp(n->gw6, n->router6, 16) != 0;
		if (!n->has_gw6)
			memset(n->gw6, 0, 16);
	}
	if (dns6 && *dns6 && addr_list_parse(dns6, AF_INET6, n->dns6, DNS_MAX, &n->ndns6) < 0)
		return bad(p, "dns6", "dns6 must be at most %d IPv6 addresses separated by commas",
		    DNS_MAX);
	return 0;
}

/* Dual stack, as CloudStack's GuestNetwork sends it: router_guest_ip6 and
 * cidr6 ("fd00:1::/64") together, the router a host address of the prefix. */
static int
gn_ipv6(struct pctx *p, struct net *n)
{
	const char *ip6, *cidr6, *slash;
	char tmp[INET6_ADDRSTRLEN];
	char *end;
	long plen;
	int r;

	if ((r = get_str(p, "router_guest_ip6", false, &ip6)) < 0 ||
	    (r = get_str(p, "cidr6", false, &cidr6)) < 0)
		return r;
	if ((!ip6 || !*ip6) && (!cidr6 || !*cidr6))
		return 0;
	if (!ip6 || !*ip6 || inet_pton(AF_INET6, ip6, n->router6) != 1)
		return bad(p, "router_guest_ip6", "router_guest_ip6 must be an IPv6 address with cidr6");
	if (!cidr6 || !*cidr6)
		return bad(p, "cidr6", "cidr6 must be an IPv6 prefix/length with router_guest_ip6");
	/* "prefix/length", or the length alone ("64", as the router's cmdline
	 * gives eth0ip6prelen): the prefix is then router_guest_ip6's */
	slash = strchr(cidr6, '/');
	if (slash && (size_t)(slash - cidr6) >= sizeof(tmp))
		return bad(p, "cidr6", "cidr6 \"%.48s\" is not an IPv6 prefix", cidr6);
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(slash - cidr6), cidr6);
	plen = strtol(slash ? slash + 1 : cidr6, &end, 10);
	if ((slash && inet_pton(AF_INET6, tmp, n->net6) != 1) || *end ||
	    end == (slash ? slash + 1 : cidr6) || !isdigit((unsigned char)*(slash ? slash + 1 : cidr6)) ||
	    plen < 64 || plen > 120)
		return bad(p, "cidr6", "cidr6 \"%.48s\" is not an IPv6 prefix from /64 to /120", cidr6);
	n->prefix6 = (int)plen;
	for (int i = 0; i < 16; i++) {
		uint8_t m = prefix6_mask(n->prefix6, i);

		if (!slash)
			n->net6[i] = n->router6[i] & m;
		if ((n->net6[i] & ~m) || (n->router6[i] & m) != n->net6[i])
			return bad(p, "cidr6", "cidr6 \"%.48s\" is not a prefix holding router_guest_ip6",
			    cidr6);
	}
	if (!memcmp(n->router6, n->net6, 16))
		return bad(p, "router_guest_ip6", "router_guest_ip6 is the prefix's anycast address");
	n->has6 = true;
	return gn_ipv6_gateway_dns(p, n);
}

static int
parse_guestnetwork(struct pctx *p, struct cmd *c)
{
	struct net *n = &c->u.gn.net;
	const char *dev, *cidr, *dns, *domain;
	int r;

	if ((r = get_str(p, "device", true, &dev)) < 0 ||
	    (r = get_bool(p, "add", true, &c->u.gn.add)) < 0 ||
	    (r = get_mac(p, "mac_address", false, n->mac, &n->has_mac)) < 0)
		return r;
	if (!dev_name_valid(dev))
		return bad(p, "device", "device \"%.32s\" is not an interface name", dev);
	snprintf(n->dev, sizeof(n->dev), "%s", dev);
	if (!c->u.gn.add)
		return 0;
	if ((r = get_ip(p, "router_guest_ip", &n->router)) < 0 ||
	    (r = get_str(p, "cidr", true, &cidr)) < 0 ||
	    (r = get_str(p, "dns", false, &dns)) < 0 ||
	    (r = get_str(p, "domain_name", false, &domain)) < 0)
		return r;
	if ((r = gn_cidr(p, cidr, n)) < 0)
		return r;
	if ((n->router & prefix_mask(n->prefix)) != n->net || n->router == n->net ||
	    n->router == (n->net | ~prefix_mask(n->prefix)))
		return bad(p, "router_guest_ip", "router_guest_ip is not a host address in cidr");
	if ((r = gn_gateway(p, n)) < 0 || (r = gn_ipv6(p, n)) < 0)
		return r;
	if (dns && *dns && ip_list_parse(dns, n->dns, DNS_MAX, &n->ndns) < 0)
		return bad(p, "dns", "dns must be at most %d IPv4 addresses separated by commas",
		    DNS_MAX);
	if (domain && *domain) {
		if (!domain_valid(domain))
			return bad(p, "domain_name", "domain_name \"%.64s\" is not a domain name", domain);
		snprintf(n->domain, sizeof(n->domain), "%s", domain);
	}
	return 0;
}

typedef int (*cmd_parse_fn)(struct pctx *p, struct cmd *c);

static const struct {
	const char *type;
	enum cmd_type t;
	cmd_parse_fn parse;
} cmd_parsers[] = {
	{ "dhcpentry", CMD_DHCPENTRY, parse_dhcpentry },
	{ "vmpassword", CMD_VMPASSWORD, parse_vmpassword },
	{ "vmdata", CMD_VMDATA, parse_vmdata },
	{ "guestnetwork", CMD_GUESTNETWORK, parse_guestnetwork },
};

static void
cmd_free(struct cmd *c)
{
	switch (c->type) {
	case CMD_DHCPENTRY:
		free(c->u.dhcp.ipv6);
		free(c->u.dhcp.duid);
		free(c->u.dhcp.dns);
		free(c->u.dhcp.gw);
		break;
	case CMD_VMPASSWORD:
		free(c->u.password);
		break;
	case CMD_VMDATA:
		for (size_t i = 0; i < c->u.data.n; i++) {
			free(c->u.data.ops[i].key);
			free(c->u.data.ops[i].val);
		}
		free(c->u.data.ops);
		for (size_t i = 0; i < c->u.data.nskipped; i++)
			free(c->u.data.skipped[i]);
		free(c->u.data.skipped);
		break;
	default:
		break;
	}
}

static int
cmd_parse_one(json_t *obj, long index, struct cmd *c, struct cmd_error *err)
{
	struct pctx p = { obj, index, err };
	json_t *jt;
	const char *type;

	memset(c, 0, sizeof(*c));
	c->type = CMD_NTYPES;
	if (!json_is_object(obj))
		return bad(&p, "", "a command must be a JSON object");
	jt = json_object_get(obj, "type");
	if (!json_is_string(jt))
		return bad(&p, "type", "type is required: dhcpentry, vmpassword, vmdata or guestnetwork");
	type = json_string_value(jt);
	for (size_t i = 0; i < sizeof(cmd_parsers) / sizeof(cmd_parsers[0]); i++) {
		if (!strcmp(type, cmd_parsers[i].type)) {
			int r;

			c->type = cmd_parsers[i].t;
			if ((r = cmd_parsers[i].parse(&p, c)) == -ENOMEM)
				cmd_error_set(err, 500, index, "", "out of memory");
			return r;
		}
	}
	return bad(&p, "type", "unknown type \"%.32s\"", type);
}

int
cmd_batch_parse(const char *buf, size_t len, struct cmd_batch *out, struct cmd_error *err)
{
	json_error_t jerr;
	json_t *root;
	size_t n;
	int r = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		cmd_error_set(err, 400, -1, "", "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (json_is_object(root)) {
		n = 1;
	} else if (json_is_array(root)) {
		n = json_array_size(root);
		if (n > BATCH_MAX) {
			cmd_error_set(err, 400, -1, "", "batch of %zu commands is over the limit of %d",
			    n, BATCH_MAX);
			r = -E2BIG;
			goto out;
		}
	} else {
		cmd_error_set(err, 400, -1, "", "body must be a command object or an array of them");
		r = -EINVAL;
		goto out;
	}
	if (n && !(out->v = calloc(n, sizeof(*out->v)))) {
		cmd_error_set(err, 500, -1, "", "out of memory");
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_is_array(root) ? json_array_get(root, i) : root;

		r = cmd_parse_one(o, (long)i, &out->v[i], err);
		out->n = i + 1;
		if (r < 0) {
			cmd_batch_free(out);
			goto out;
		}
	}
out:
	json_decref(root);
	return r;
}

void
cmd_batch_free(struct cmd_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		cmd_free(&b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

int
nets_doc_parse(const char *buf, size_t len, struct cmd_batch *out, struct cmd_error *err)
{
	int r = cmd_batch_parse(buf, len, out, err);

	for (size_t i = 0; r == 0 && i < out->n; i++) {
		if (out->v[i].type != CMD_GUESTNETWORK || !out->v[i].u.gn.add) {
			cmd_error_set(err, 400, (long)i, "type", "not a guestnetwork");
			cmd_batch_free(out);
			return -EINVAL;
		}
	}
	return r;
}
