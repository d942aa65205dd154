/* fuzz_render.c: libFuzzer target over the dnsmasq file renderer
 * (dhcp/render.c).  The input is a control payload; each command the parser
 * accepts is applied on its own (a refused one changes nothing), then the
 * four files are rendered and checked:
 *   - every line ends in a newline, and no field holds one, a NUL or a CR;
 *   - dhcphosts has exactly one line per default NIC, dnsmasq.conf exactly
 *     one dhcp-host= line per non-default NIC, each "MAC,[set:TAG,]IP,
 *     [[IPV6],][HOST,]LEASE" made of the allowed characters only, the IP and MAC of
 *     no two lines the same (dnsmasq refuses a second line for one host);
 *   - dhcpopts has four "TAG,N" lines per non-default NIC, hosts one
 *     "IP NAME" line per network and per named VM;
 *   - each dnsmasq.conf line is blank, a comment, or key[=value] with a
 *     known key and no space, '#' or character outside the allowed set;
 *   - the lines each VM adds (dnsmasq_added_render, what vrd writes to
 *     dhcphosts.d/ and hosts.d/ for a new entry), VM after VM, are dhcphosts
 *     and hosts without their router lines, byte for byte.
 * With FUZZ_RENDER_OUT=DIR in the environment (the corpus replay in make
 * check), input N's files go to DIR/N/, with DIR/N/check.conf carrying each
 * dhcphosts line as dhcp-host= and each dhcpopts line as dhcp-option=, for
 * `dnsmasq --test -C DIR/N/check.conf` (which does not read the files named
 * in dnsmasq.conf itself). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "cmd.h"
#include "render.h"
#include "txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEEN_MAX 4096

static const struct dnsmasq_paths paths = { "/run/vrd-fuzz/dhcphosts", "/run/vrd-fuzz/dhcpopts",
	"/run/vrd-fuzz/hosts", "/run/vrd-fuzz/leases", "/run/vrd-fuzz/dhcphosts.d",
	"/run/vrd-fuzz/hosts.d" };

struct seen {
	char key[SEEN_MAX][24];
	size_t n;
};

static bool
only(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return true;
}

static void
add_unique(struct seen *s, const char *k, size_t n)
{
	if (n >= sizeof(s->key[0]) || s->n >= SEEN_MAX)
		abort();
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->key[i]) == n && !memcmp(s->key[i], k, n))
			abort(); /* a second line for one host */
	memcpy(s->key[s->n], k, n);
	s->key[s->n++][n] = '\0';
}

/* One dhcp-host value, without its newline: MAC,[set:TAG,]IP,[HOST,]LEASE. */
static void
check_host_line(const char *l, size_t n, bool default_nic, struct seen *macs, struct seen *ips)
{
	const char *f[7];
	size_t len[7], nf = 0, i = 0;
	uint8_t mac[6];
	uint32_t ip;
	char tmp[HOST_MAX + 2];

	if (!only(l, n, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.,_-[]"))
		abort();
	for (const char *p = l, *e = l + n, *comma;; p = comma + 1) {
		if (nf == 7)
			abort();
		comma = memchr(p, ',', (size_t)(e - p));
		f[nf] = p;
		len[nf++] = (size_t)((comma ? comma : e) - p);
		if (!comma)
			break;
	}
	if (nf < 3 || nf > 5)
		abort();
	if (len[0] != 17 || snprintf(tmp, sizeof(tmp), "%.*s", (int)len[0], f[0]) != 17 ||
	    mac_parse(tmp, mac) < 0)
		abort();
	add_unique(macs, f[0], len[0]);
	i = 1;
	if (!default_nic) {
		if (len[1] < 5 || memcmp(f[1], "set:", 4))
			abort();
		i = 2;
	}
	if (len[i] >= sizeof(tmp) || snprintf(tmp, sizeof(tmp), "%.*s", (int)len[i], f[i]) < 0 ||
	    ip4_parse(tmp, &ip) < 0)
		abort();
	add_unique(ips, f[i], len[i]);
	if (nf - i >= 3 && len[i + 1] > 2 && f[i + 1][0] == '[') { /* an IPv6 address */
		unsigned char a6[16];

		if (f[i + 1][len[i + 1] - 1] != ']' || len[i + 1] - 2 >= sizeof(tmp) ||
		    snprintf(tmp, sizeof(tmp), "%.*s", (int)len[i + 1] - 2, f[i + 1] + 1) < 0 ||
		    inet_pton(AF_INET6, tmp, a6) != 1)
			abort();
		i++;
	}
	if (nf - i == 3) { /* a name */
		if (len[i + 1] > HOST_MAX || snprintf(tmp, sizeof(tmp), "%.*s", (int)len[i + 1],
		    f[i + 1]) < 0 || !host_label_valid(tmp))
			abort();
	} else if (nf - i != 2) {
		abort();
	}
	if (!(len[nf - 1] == 8 && !memcmp(f[nf - 1], "infinite", 8)) &&
	    !only(f[nf - 1], len[nf - 1], "0123456789"))
		abort();
}

/* Calls fn on every line of b (without its newline); the text must end in one. */
static size_t
each_line(const struct buf *b, void (*fn)(const char *, size_t, void *), void *arg)
{
	size_t lines = 0;

	if (b->oom || (b->len && b->p[b->len - 1] != '\n') || (b->len && memchr(b->p, '\0', b->len)))
		abort();
	for (size_t at = 0; at < b->len; lines++) {
		const char *nl = memchr(b->p + at, '\n', b->len - at);

		if (memchr(b->p + at, '\r', (size_t)(nl - (b->p + at))))
			abort();
		fn(b->p + at, (size_t)(nl - (b->p + at)), arg);
		at = (size_t)(nl - b->p) + 1;
	}
	return lines;
}

struct ctx {
	struct seen macs, ips;
	size_t conf_hosts;
	const struct state *st;
};

static void
hosts_line_cb(const char *l, size_t n, void *arg)
{
	check_host_line(l, n, true, &((struct ctx *)arg)->macs, &((struct ctx *)arg)->ips);
}

static void
opts_line_cb(const char *l, size_t n, void *arg)
{
	(void)arg;
	/* TAG,3 TAG,6 TAG,15 TAG,121 */
	if (!only(l, n, "0123456789_,") || !memchr(l, ',', n))
		abort();
}

static void
addn_line_cb(const char *l, size_t n, void *arg)
{
	const struct state *st = ((struct ctx *)arg)->st;
	const char *sp = memchr(l, ' ', n);
	char ip[INET6_ADDRSTRLEN + 1], name[HOST_MAX + 2];
	unsigned char a6[16];
	uint32_t v = 0;
	bool is4;

	if (!sp || (size_t)(sp - l) >= sizeof(ip) || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - l)) ||
	    sp + 1 == l + n || !only(sp + 1, n - (size_t)(sp + 1 - l),
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"))
		abort();
	snprintf(ip, sizeof(ip), "%.*s", (int)(sp - l), l);
	is4 = ip4_parse(ip, &v) == 0;
	if (!is4 && inet_pton(AF_INET6, ip, a6) != 1)
		abort();
	/* a reserved name (data-server) names nothing but a router */
	snprintf(name, sizeof(name), "%.*s", (int)(n - (size_t)(sp + 1 - l)), sp + 1);
	if (host_name_reserved(name)) {
		bool router = false;

		for (size_t i = 0; is4 && i < st->nnet; i++)
			router |= st->nets[i].router == v;
		if (!router || strcmp(name, "data-server"))
			abort();
	}
}

static void
conf_line_cb(const char *l, size_t n, void *arg)
{
	static const char *const keys[] = { "bind-dynamic", "dhcp-authoritative",
		"dhcp-ignore-names", "dhcp-ignore-clid", "dhcp-broadcast", "no-hosts",
		"expand-hosts", "dhcp-leasefile", "dhcp-hostsfile", "dhcp-optsfile", "addn-hosts",
		"dhcp-hostsdir", "hostsdir",
		"interface", "no-dhcp-interface", "dhcp-range", "dhcp-option", "domain", "dhcp-host",
		"enable-ra", "ra-param" };
	struct ctx *c = arg;
	const char *eq;
	size_t kl;
	bool known = false;

	if (n == 0 || l[0] == '#')
		return;
	if (!only(l, n, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.,_-=/[]"))
		abort();
	eq = memchr(l, '=', n);
	kl = eq ? (size_t)(eq - l) : n;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		known |= strlen(keys[i]) == kl && !memcmp(keys[i], l, kl);
	if (!known || (eq && eq + 1 == l + n))
		abort();
	if (kl == 9 && !memcmp(l, "dhcp-host", 9)) {
		check_host_line(eq + 1, n - 10, false, &c->macs, &c->ips);
		c->conf_hosts++;
	}
}

/* FUZZ_RENDER_OUT: the files of this input, for dnsmasq --test. */
static void
write_out(const char *dir, const struct buf *conf, const struct buf *hosts,
    const struct buf *opts, const struct buf *addn)
{
	static unsigned serial;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", dir, serial++);
	if (mkdir(path, 0755) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/%u/dnsmasq.conf", dir, serial - 1);
	if (!(f = fopen(path, "w")))
		abort();
	fwrite(conf->p, 1, conf->len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%u/hosts", dir, serial - 1);
	if (!(f = fopen(path, "w")))
		abort();
	fwrite(addn->p ? addn->p : "", 1, addn->len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%u/check.conf", dir, serial - 1);
	if (!(f = fopen(path, "w")))
		abort();
	fprintf(f, "conf-file=%s/%u/dnsmasq.conf\n", dir, serial - 1);
	for (size_t at = 0; at < hosts->len;) {
		const char *nl = memchr(hosts->p + at, '\n', hosts->len - at);

		fprintf(f, "dhcp-host=%.*s\n", (int)(nl - (hosts->p + at)), hosts->p + at);
		at = (size_t)(nl - hosts->p) + 1;
	}
	for (size_t at = 0; at < opts->len;) {
		const char *nl = memchr(opts->p + at, '\n', opts->len - at);

		fprintf(f, "dhcp-option=%.*s\n", (int)(nl - (opts->p + at)), opts->p + at);
		at = (size_t)(nl - opts->p) + 1;
	}
	fclose(f);
}

/* Each VM's added lines, concatenated in the state's order, against the
 * whole files (hosts after its one router line per network). */
static void
added_check(const struct state *st, const struct buf *hosts, const struct buf *addn)
{
	struct buf d, h;
	size_t skip = 0;

	buf_init(&d);
	buf_init(&h);
	for (size_t i = 0; i < st->nvm; i++) {
		dnsmasq_added_render(DF_DHCPHOSTS, st->by_ip[i], &d);
		dnsmasq_added_render(DF_HOSTS, st->by_ip[i], &h);
		dnsmasq_added_render(DF_CONF, st->by_ip[i], &d); /* adds nothing */
	}
	for (size_t i = 0; i < st->nnet; i++) {
		const char *nl = memchr(addn->p + skip, '\n', addn->len - skip);

		if (!nl)
			abort();
		skip = (size_t)(nl - addn->p) + 1;
	}
	if (d.oom || h.oom || d.len != hosts->len || (d.len && memcmp(d.p, hosts->p, d.len)) ||
	    h.len != addn->len - skip || (h.len && memcmp(h.p, addn->p + skip, h.len)))
		abort();
	buf_free(&d);
	buf_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctx c;
	struct cmd_batch b;
	struct cmd_error err;
	struct state st;
	struct txn t;
	struct buf hosts, opts, addn, conf;
	size_t ndefault = 0, nother = 0, named = 0;
	const char *out_dir = getenv("FUZZ_RENDER_OUT");

	/* a refused payload still gets its directory: the replay counts them */
	if (cmd_batch_parse((const char *)data, size, &b, &err) < 0 && !out_dir)
		return 0;
	state_init(&st);
	for (size_t i = 0; i < b.n; i++) {
		txn_begin(&t, &st);
		if (txn_apply(&t, &b.v[i], (long)i, &err) < 0)
			txn_rollback(&t);
		txn_end(&t);
	}
	for (size_t i = 0; i < st.nvm; i++) {
		const struct vm *v = st.by_ip[i];

		if (!v->has_dhcp)
			continue;
		*(v->default_entry ? &ndefault : &nother) += 1;
		named += (v->host[0] != '\0') * (v->ipv6 ? 2 : 1); /* and its AAAA line */
	}
	memset(&c, 0, sizeof(c));
	c.st = &st;
	buf_init(&hosts);
	buf_init(&opts);
	buf_init(&addn);
	buf_init(&conf);
	dhcp_hosts_render(&st, &hosts);
	dhcp_opts_render(&st, &opts);
	hosts_render(&st, &addn);
	dnsmasq_conf_render(&st, &paths, &conf);
	/* dhcphosts: one line per default NIC, never two for one host */
	if (each_line(&hosts, hosts_line_cb, &c) != ndefault)
		abort();
	/* dnsmasq.conf: one dhcp-host= line per non-default NIC */
	each_line(&conf, conf_line_cb, &c);
	if (c.conf_hosts != nother)
		abort();
	if (each_line(&opts, opts_line_cb, &c) != 4 * nother)
		abort();
	if (each_line(&addn, addn_line_cb, &c) != st.nnet + named)
		abort();
	added_check(&st, &hosts, &addn);
	if (out_dir)
		write_out(out_dir, &conf, &hosts, &opts, &addn);
	buf_free(&hosts);
	buf_free(&opts);
	buf_free(&addn);
	buf_free(&conf);
	state_free(&st);
	cmd_batch_free(&b);
	return 0;
}
