/* md_storm.c: load generator for vr-metadata (docs/performance.md).  Pushes
 * VMs with their own metadata to vrd; runs a boot storm of N guests, each
 * from its own source address, running cloud-init's CloudStack sequence on a
 * new connection per request, all at once on one epoll loop, and checks that
 * each got its own data; or times K pushes of one VM's vmdata until
 * vr-metadata serves the new value. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "httpc.h"
#include "benchlib.h"

#define VM_MAX 60000          /* host numbers 16.. inside 10.1.0.0/16 */
#define USERDATA_BYTES 768    /* decoded; 1024 bytes of base64 */
#define NKEYS 11              /* metadata keys pushed per VM */
#define RQ_MAX 48             /* requests one guest may make */
#define RESP_MAX 16384        /* one response, headers included */
#define MD_PREFIX "/latest/meta-data/"

struct vmspec {
	long i;
	char ip[16], host[24], iid[37], vmid[37], cloud[64], pw[13], hv[16], pubhost[64];
	char key[448];
	char ud[USERDATA_BYTES + 1];
};

struct kv {
	const char *key, *val;
};

struct samples {
	double *v;
	size_t n;
};

struct opts {
	struct httpc_url vrd;
	char headers[600];              /* Authorization, Content-Type */
	bool have_vrd, network, wait;
	long push_first, push_count, batch;
	long storm, first, propagate, warmup;
	bool no_bind, no_password;
	const char *dump, *paths_file;
	struct sockaddr_in md, pw;      /* metadata and password server */
	char server[16];
	int timeout_s;
};

/* --- one VM's data, the same shape as vrd_bench's ---------------------------- */

/* Everything pushed for VM i; push >= 0 gives a new public-hostname. */
static void
vm_spec(long i, long push, struct vmspec *s)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t ip = vm_ip(i);
	char body[340];
	int n;

	s->i = i;
	snprintf(s->ip, sizeof(s->ip), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
	    ip & 255);
	snprintf(s->host, sizeof(s->host), "vm-%ld", i);
	vm_uuid(i, 1, s->iid);
	vm_uuid(i, 2, s->vmid);
	vm_uuid(0, 3, body);
	snprintf(s->cloud, sizeof(s->cloud), "CloudStack-{%.36s}", body);
	vm_chars(i, 0x77, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", s->pw, 12);
	snprintf(s->hv, sizeof(s->hv), "kvm-host-%02ld", i % 16);
	if (push < 0)
		snprintf(s->pubhost, sizeof(s->pubhost), "vm-%ld.cloud.example", i);
	else
		snprintf(s->pubhost, sizeof(s->pubhost), "vm-%ld-p%ld.cloud.example", i, push);
	vm_chars(i, 0x55, b64, body, sizeof(body) - 1);
	snprintf(s->key, sizeof(s->key), "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ%s ops@bench-%ld",
	    body, i);
	n = snprintf(s->ud, sizeof(s->ud), "#cloud-config\nhostname: vm-%ld\nfqdn: vm-%ld.cloud."
	    "internal\nmanage_etc_hosts: true\nusers:\n  - name: ops\n    groups: [adm, sudo]\n"
	    "    shell: /bin/bash\n    sudo: ['ALL=(ALL) NOPASSWD:ALL']\n"
	    "    ssh_authorized_keys:\n      - %.120s\npackage_update: true\n"
	    "packages: [nginx, chrony, jq]\nruncmd:\n  - [systemctl, enable, --now, nginx]\n"
	    "final_message: 'vm-%ld up after $UPTIME s'\n# ", i, i, s->key, i);
	memset(s->ud + n, '-', (size_t)(USERDATA_BYTES - 1 - n));
	s->ud[USERDATA_BYTES - 1] = '\n';
	s->ud[USERDATA_BYTES] = '\0';
}

/* The values a guest must read back, by path under /latest/meta-data/; the
 * first NKEYS are the keys pushed, the rest are optional. */
static size_t
vm_expect(const struct vmspec *s, struct kv out[NKEYS + 1])
{
	const struct kv kv[NKEYS + 1] = {
		{ "instance-id", s->iid }, { "vm-id", s->vmid }, { "local-ipv4", s->ip },
		{ "local-hostname", s->host }, { "public-ipv4", "203.0.113.10" },
		{ "public-hostname", s->pubhost }, { "service-offering", "Medium Instance" },
		{ "availability-zone", "zone-eu-1" }, { "cloud-identifier", s->cloud },
		{ "hypervisor-host-name", s->hv }, { "public-keys/0/openssh-key", s->key },
		{ "placement/availability-zone", "zone-eu-1" },
	};

	memcpy(out, kv, sizeof(kv));
	return NKEYS + 1;
}

static void
cmd_dhcpentry(struct buf *b, const struct vmspec *s)
{
	uint32_t m = (uint32_t)s->i;

	buf_addf(b, "{\"host_name\":\"%s\",\"mac_address\":\"02:00:4c:%02x:%02x:%02x\","
	    "\"ipv4_address\":\"%s\",\"ipv6_address\":null,"
	    "\"ipv6_duid\":\"00:03:00:01:02:00:4c:%02x:%02x:%02x\",\"dns_addresses\":\"10.1.0.1\","
	    "\"default_gateway\":\"10.1.0.1\",\"static_routes\":null,\"default_entry\":true,"
	    "\"remove\":false,\"lease_time\":null,\"type\":\"dhcpentry\","
	    "\"delete_from_processed_cache\":false}", s->host, (m >> 16) & 255, (m >> 8) & 255,
	    m & 255, s->ip, (m >> 16) & 255, (m >> 8) & 255, m & 255);
}

static int
cmd_vmdata(struct buf *b, const struct vmspec *s)
{
	char *ud = base64_encode(s->ud, USERDATA_BYTES);

	if (!ud)
		return -ENOMEM;
	buf_addf(b, "{\"vm_ip_address\":\"%s\",\"type\":\"vmdata\",\"vm_metadata\":["
	    "[\"userdata\",\"user-data\",\"%s\"],"
	    "[\"metadata\",\"service-offering\",\"Medium Instance\"],"
	    "[\"metadata\",\"availability-zone\",\"zone-eu-1\"],"
	    "[\"metadata\",\"local-ipv4\",\"%s\"],[\"metadata\",\"local-hostname\",\"%s\"],"
	    "[\"metadata\",\"public-ipv4\",\"203.0.113.10\"],"
	    "[\"metadata\",\"public-hostname\",\"%s\"],"
	    "[\"metadata\",\"instance-id\",\"%s\"],[\"metadata\",\"vm-id\",\"%s\"],"
	    "[\"metadata\",\"public-keys\",\"%s\"],"
	    "[\"metadata\",\"cloud-identifier\",\"%s\"],"
	    "[\"metadata\",\"hypervisor-host-name\",\"%s\"]]}",
	    s->ip, ud, s->ip, s->host, s->pubhost, s->iid, s->vmid, s->key, s->cloud, s->hv);
	free(ud);
	return b->oom ? -ENOMEM : 0;
}

/* --- vrd's control channel ----------------------------------------------------- */

/* POSTs body to /v1/commands; 0 if vrd replied 200 with "applied":want. */
static int
vrd_post(const struct opts *o, const struct buf *body, long want)
{
	struct buf resp;
	char expect[48];
	int status = 0, r;

	buf_init(&resp);
	r = httpc_request(&o->vrd, "POST", "/v1/commands", o->headers, body->p, body->len,
	    o->timeout_s, &status, &resp);
	snprintf(expect, sizeof(expect), "\"applied\":%ld", want);
	if (r < 0)
		fprintf(stderr, "md_storm: POST /v1/commands: %s\n", strerror(-r));
	else if (status != 200 || !resp.p || !strstr(resp.p, expect))
		fprintf(stderr, "md_storm: POST /v1/commands: %d %s\n", status,
		    resp.p ? resp.p : "");
	r = r < 0 ? r : (status == 200 && resp.p && strstr(resp.p, expect)) ? 0 : -EPROTO;
	buf_free(&resp);
	return r;
}

static int
push_network(const struct opts *o)
{
	struct buf b;
	int r;

	buf_init(&b);
	buf_adds(&b, "{\"device\":\"eth1\",\"mac_address\":\"02:00:11:22:33:44\","
	    "\"router_guest_ip\":\"10.1.0.1\",\"cidr\":\"10.1.0.0/16\",\"dns\":\"10.1.0.1\","
	    "\"domain_name\":\"cloud.internal\",\"add\":true,\"type\":\"guestnetwork\"}");
	r = vrd_post(o, &b, 1);
	buf_free(&b);
	return r;
}

/* VMs first..first+count-1 as one batch of dhcpentry, vmpassword, vmdata. */
static int
push_batch(const struct opts *o, long first, long count)
{
	struct vmspec s;
	struct buf b;
	int r = 0;

	buf_init(&b);
	buf_adds(&b, "[");
	for (long i = first; i < first + count && r == 0; i++) {
		vm_spec(i, -1, &s);
		buf_adds(&b, i > first ? ",\n" : "");
		cmd_dhcpentry(&b, &s);
		buf_addf(&b, ",\n{\"ip_address\":\"%s\",\"password\":\"%s\",\"type\":\"vmpassword\"},\n",
		    s.ip, s.pw);
		r = cmd_vmdata(&b, &s);
	}
	buf_adds(&b, "]");
	if (r == 0)
		r = b.oom ? -ENOMEM : vrd_post(o, &b, 3 * count);
	buf_free(&b);
	return r;
}

/* --- HTTP responses ------------------------------------------------------------ */

static const char *
header_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n))
		return NULL;
	for (line += n; *line == ' ' || *line == '\t'; line++)
		;
	return line;
}

/* 1 when p holds a whole response (*status, *body, *blen set; *close if the
 * server will close), 0 if more is needed, -EPROTO if it is not HTTP. */
static int
resp_parse(const char *p, size_t len, bool eof, int *status, const char **body, size_t *blen,
    bool *close)
{
	const char *hend = memmem(p, len, "\r\n\r\n", 4), *l, *nl, *v;
	long clen = -1;

	if (!hend)
		return eof ? -EPROTO : 0;
	if (len < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ')
		return -EPROTO;
	*status = atoi(p + 9);
	*close = p[7] == '0';
	for (l = memchr(p, '\n', (size_t)(hend - p)); l && l < hend; l = nl) {
		l++;
		if (!(nl = memchr(l, '\n', (size_t)(hend + 2 - l))))
			break;
		if ((v = header_value(l, "Content-Length:")))
			clen = strtol(v, NULL, 10);
		else if ((v = header_value(l, "Connection:")))
			*close = !strncasecmp(v, "close", 5);
	}
	*body = hend + 4;
	if (clen < 0) {                          /* the body runs to the end */
		*blen = len - (size_t)(*body - p);
		*close = true;
		return eof ? 1 : 0;
	}
	if ((size_t)(*body - p) + (size_t)clen > len)
		return eof ? -EPROTO : 0;
	*blen = (size_t)clen;
	return 1;
}

/* --- statistics ---------------------------------------------------------------- */

static void
report(const char *mode, struct samples *s)
{
	double sum = 0, med;
	size_t p99;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	med = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
	p99 = (size_t)ceil(0.99 * (double)s->n) - 1; /* nearest rank */
	printf("RESULT mode=%s n=%zu median_ms=%.3f p99_ms=%.3f mean_ms=%.3f min_ms=%.3f "
	    "max_ms=%.3f\n", mode, s->n, med * 1e3, s->v[p99] * 1e3, sum / (double)s->n * 1e3,
	    s->v[0] * 1e3, s->v[s->n - 1] * 1e3);
}

/* --- the boot storm ------------------------------------------------------------ */

enum rq_kind { RQ_LEAF, RQ_USERDATA, RQ_LIST, RQ_PW_SEND, RQ_PW_SAVED };

struct rq {
	char path[112];
	enum rq_kind kind;
};

struct guest {
	struct vmspec s;
	struct kv expect[NKEYS + 1];
	struct rq q[RQ_MAX];
	size_t nq, cur;
	int fd;
	bool connecting, pw_queued, done, failed;
	char req[512];
	size_t reqlen, sent;
	char *resp;
	size_t len;
	unsigned verified;          /* bit k: expect[k] was read back */
	double t_start, t_rq, t_end;
};

struct storm {
	const struct opts *o;
	struct guest *g;
	long n, active, failed;
	int ep;
	struct samples rq, per_guest;
	FILE *paths;
	double t0;
};

/* Ends a guest as failed; the first few failures are printed. */
static void
guest_fail(struct storm *st, struct guest *g, const char *why, const char *detail)
{
	if (st->failed++ < 10)
		fprintf(stderr, "md_storm: guest %s: %s %s: %s\n", g->s.ip,
		    g->cur < g->nq ? g->q[g->cur].path : "(done)", why, detail);
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g->failed = g->done = true;
	g->t_end = now_s();
	st->active--;
}

static void
rq_add(struct guest *g, enum rq_kind kind, const char *base, const char *name, size_t nlen)
{
	size_t bl = strlen(base);
	struct rq *q = &g->q[g->nq];

	if (g->nq >= RQ_MAX || bl + nlen >= sizeof(q->path))
		return;        /* no key of ours: the check for every pushed key fails */
	memcpy(q->path, base, bl);
	memcpy(q->path + bl, name, nlen);
	q->path[bl + nlen] = '\0';
	q->kind = kind;
	g->nq++;
}

/* A listing, parsed as cloud-init's ec2 MetadataMaterializer does: "x/" is a
 * child listing, "0=name" is the leaf "0/openssh-key", anything else a leaf. */
static void
list_parse(struct guest *g, const char *path, const char *p, size_t len)
{
	const char *e = p + len;
	char base[sizeof(g->q[0].path)];

	snprintf(base, sizeof(base), "%s", path);     /* path is in g->q, as is the target */
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p)), *end = nl ? nl : e, *eq;
		size_t n;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '\t'))
			n--;
		eq = memchr(p, '=', n);
		if (n > 1 && p[n - 1] == '/') {
			rq_add(g, RQ_LIST, base, p, n);
		} else if (n && eq && eq > p && strspn(p, "0123456789") == (size_t)(eq - p)) {
			char leaf[32];

			snprintf(leaf, sizeof(leaf), "%.*s/openssh-key", (int)(eq - p), p);
			rq_add(g, RQ_LEAF, base, leaf, strlen(leaf));
		} else if (n) {
			rq_add(g, RQ_LEAF, base, p, n);
		}
		p = end + 1;
	}
}

/* Writes a body under --dump DIR ("x/" as "x/.listing") and the path to
 * --paths, to build nginx's tree and wrk's path list. */
static int
dump_body(struct storm *st, const char *path, const char *body, size_t len)
{
	char file[512];
	FILE *f;

	snprintf(file, sizeof(file), "%s%s%s", st->o->dump, path,
	    path[strlen(path) - 1] == '/' ? ".listing" : "");
	for (char *s = strchr(file + strlen(st->o->dump) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(file, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (!(f = fopen(file, "we")))
		return -errno;
	fwrite(body, 1, len, f);
	if (fclose(f) != 0)
		return -EIO;
	if (st->paths)
		fprintf(st->paths, "%s\n", path);
	return 0;
}

static bool
body_is(const char *body, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(body, want, len) == 0;
}

/* Checks one 200 body against what was pushed for this guest. */
static const char *
rq_check(struct guest *g, const struct rq *q, const char *body, size_t len)
{
	const char *key = q->path + strlen(MD_PREFIX);

	switch (q->kind) {
	case RQ_USERDATA:
		return body_is(body, len, g->s.ud) ? NULL : "user-data differs";
	case RQ_PW_SEND:
		return body_is(body, len, g->s.pw) ? NULL : "not this VM's password";
	case RQ_PW_SAVED:
		return body_is(body, len, "saved_password") ? NULL : "no saved_password";
	case RQ_LIST:
		return len ? NULL : "empty listing";
	case RQ_LEAF:
		for (size_t k = 0; k < NKEYS + 1; k++) {
			if (strcmp(key, g->expect[k].key))
				continue;
			if (!body_is(body, len, g->expect[k].val))
				return k == 0 ? "another VM's instance-id" : "value differs";
			g->verified |= 1u << k;
		}
		return NULL;
	}
	return NULL;
}

static void
rq_request(struct storm *st, struct guest *g)
{
	const struct rq *q = &g->q[g->cur];
	int n;

	if (q->kind == RQ_PW_SEND || q->kind == RQ_PW_SAVED)   /* as wget sends it */
		n = snprintf(g->req, sizeof(g->req), "GET / HTTP/1.1\r\nUser-Agent: Wget/1.21.3\r\n"
		    "Accept: */*\r\nAccept-Encoding: identity\r\nHost: %s:%u\r\n"
		    "Connection: Keep-Alive\r\nDomU_Request: %s\r\n\r\n", st->o->server,
		    ntohs(st->o->pw.sin_port), q->kind == RQ_PW_SEND ? "send_my_password" :
		    "saved_password");
	else                                                   /* as python-requests */
		n = snprintf(g->req, sizeof(g->req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: Cloud-Init/22.4.2\r\nAccept-Encoding: gzip, deflate\r\n"
		    "Accept: */*\r\nConnection: keep-alive\r\n\r\n", q->path, st->o->server);
	g->reqlen = (size_t)n;
	g->sent = 0;
	g->len = 0;
}

/* Opens the connection for the guest's current request. */
static void
rq_open(struct storm *st, struct guest *g)
{
	const struct rq *q = &g->q[g->cur];
	bool pw = q->kind == RQ_PW_SEND || q->kind == RQ_PW_SAVED;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(vm_ip(g->s.i)) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = g };
	int one = 1;

	rq_request(st, g);
	g->t_rq = now_s();
	if ((g->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	setsockopt(g->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (!st->o->no_bind && bind(g->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		goto fail;
	if (connect(g->fd, (const struct sockaddr *)(pw ? &st->o->pw : &st->o->md),
	    sizeof(struct sockaddr_in)) < 0 && errno != EINPROGRESS)
		goto fail;
	g->connecting = true;
	if (epoll_ctl(st->ep, EPOLL_CTL_ADD, g->fd, &ev) == 0)
		return;
fail:
	guest_fail(st, g, "connect", strerror(errno));
}

/* The next request, or the password pair once the metadata is read. */
static void
guest_next(struct storm *st, struct guest *g)
{
	g->cur++;
	if (g->cur == g->nq && !g->pw_queued && !st->o->no_password) {
		g->pw_queued = true;
		rq_add(g, RQ_PW_SEND, "/", "", 0);
		rq_add(g, RQ_PW_SAVED, "/", "", 0);
	}
	if (g->cur < g->nq) {
		rq_open(st, g);
	} else if ((g->verified & ((1u << NKEYS) - 1)) != (1u << NKEYS) - 1) {
		guest_fail(st, g, "listing", "not every pushed key was listed");
	} else {
		g->done = true;
		g->t_end = now_s();
		st->active--;
		st->per_guest.v[st->per_guest.n++] = g->t_end - g->t_start;
	}
}

/* A whole response has arrived: check it, record it, go on. */
static void
rq_complete(struct storm *st, struct guest *g, int status, const char *body, size_t blen)
{
	const struct rq *q = &g->q[g->cur];
	const char *why;
	char st_txt[16];

	close(g->fd);
	g->fd = -1;
	st->rq.v[st->rq.n++] = now_s() - g->t_rq;     /* connect to last byte */
	snprintf(st_txt, sizeof(st_txt), "status %d", status);
	if (status != 200) {
		guest_fail(st, g, "got", st_txt);
	} else if ((why = rq_check(g, q, body, blen))) {
		guest_fail(st, g, "check", why);
	} else if (st->o->dump && q->kind != RQ_PW_SEND && q->kind != RQ_PW_SAVED &&
	    dump_body(st, q->path, body, blen) < 0) {
		guest_fail(st, g, "dump", strerror(errno));
	} else {
		if (q->kind == RQ_LIST)
			list_parse(g, q->path, body, blen);
		guest_next(st, g);
	}
}

static void
guest_readable(struct storm *st, struct guest *g)
{
	const char *body;
	size_t blen;
	int status, r;
	bool close_;
	ssize_t n = -1;

	while (g->len < RESP_MAX && (n = read(g->fd, g->resp + g->len, RESP_MAX - g->len)) > 0)
		g->len += (size_t)n;
	if (g->len == RESP_MAX) {
		guest_fail(st, g, "read", "response too large");
		return;
	}
	if (n < 0 && errno != EAGAIN) {
		guest_fail(st, g, "read", strerror(errno));
		return;
	}
	r = resp_parse(g->resp, g->len, n == 0, &status, &body, &blen, &close_);
	if (r < 0)
		guest_fail(st, g, "read", n == 0 ? "connection closed early" : "not HTTP");
	else if (r == 1)
		rq_complete(st, g, status, body, blen);
}

static void
guest_event(struct storm *st, struct guest *g, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = g };
	socklen_t sl = sizeof(int);
	int err = 0;
	ssize_t n;

	if (g->done)
		return;
	if (g->connecting) {
		getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err || (events & EPOLLERR)) {
			guest_fail(st, g, "connect", strerror(err ? err : ECONNREFUSED));
			return;
		}
		g->connecting = false;
	}
	if (g->sent < g->reqlen) {
		n = send(g->fd, g->req + g->sent, g->reqlen - g->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			guest_fail(st, g, "send", strerror(errno));
			return;
		}
		g->sent += n > 0 ? (size_t)n : 0;
		if (g->sent == g->reqlen)
			epoll_ctl(st->ep, EPOLL_CTL_MOD, g->fd, &ev);
		return;
	}
	guest_readable(st, g);
}

static int
storm_init(struct storm *st, const struct opts *o)
{
	*st = (struct storm){ .o = o, .n = o->storm, .ep = -1 };
	st->g = calloc((size_t)st->n, sizeof(*st->g));
	st->rq.v = calloc((size_t)st->n * RQ_MAX, sizeof(double));
	st->per_guest.v = calloc((size_t)st->n, sizeof(double));
	if (!st->g || !st->rq.v || !st->per_guest.v)
		return -ENOMEM;
	for (long k = 0; k < st->n; k++) {
		struct guest *g = &st->g[k];

		vm_spec(o->first + k, -1, &g->s);
		vm_expect(&g->s, g->expect);
		g->fd = -1;
		if (!(g->resp = malloc(RESP_MAX)))
			return -ENOMEM;
		rq_add(g, RQ_LEAF, MD_PREFIX, "instance-id", 11);      /* the probe */
		rq_add(g, RQ_USERDATA, "/latest/user-data", "", 0);
		rq_add(g, RQ_LIST, MD_PREFIX, "", 0);
	}
	if (o->dump && mkdir(o->dump, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (o->paths_file && !(st->paths = fopen(o->paths_file, "we")))
		return -errno;
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	return st->ep < 0 ? -errno : 0;
}

static void
storm_free(struct storm *st)
{
	for (long k = 0; st->g && k < st->n; k++) {
		if (st->g[k].fd >= 0)
			close(st->g[k].fd);
		free(st->g[k].resp);
	}
	free(st->g);
	free(st->rq.v);
	free(st->per_guest.v);
	if (st->paths)
		fclose(st->paths);
	if (st->ep >= 0)
		close(st->ep);
}

/* Fails every guest whose request has waited longer than the timeout. */
static void
storm_timeouts(struct storm *st, double now, double limit)
{
	for (long k = 0; k < st->n; k++) {
		struct guest *g = &st->g[k];

		if (!g->done && now - g->t_rq > limit)
			guest_fail(st, g, "timeout", g->connecting ? "connecting" : "waiting for reply");
	}
}

static int
run_storm(const struct opts *o)
{
	struct storm st;
	struct epoll_event ev[256];
	double t_end = 0, last = 0;
	int r;

	if ((r = storm_init(&st, o)) < 0) {
		fprintf(stderr, "md_storm: storm: %s\n", strerror(-r));
		goto out;
	}
	st.t0 = now_s();
	st.active = st.n;
	for (long k = 0; k < st.n; k++) {
		st.g[k].t_start = now_s();
		rq_open(&st, &st.g[k]);
	}
	while (st.active > 0) {
		int n = epoll_wait(st.ep, ev, 256, 50);
		double now = now_s();

		for (int e = 0; e < n; e++)
			guest_event(&st, ev[e].data.ptr, ev[e].events);
		if (now - last > 0.1) {
			storm_timeouts(&st, now, o->timeout_s);
			last = now;
		}
	}
	for (long k = 0; k < st.n; k++)
		t_end = st.g[k].t_end > t_end ? st.g[k].t_end : t_end;
	printf("RESULT mode=storm guests=%ld ok=%ld failed=%ld requests=%zu total_ms=%.1f\n",
	    st.n, st.n - st.failed, st.failed, st.rq.n, (t_end - st.t0) * 1e3);
	report("storm_request", &st.rq);
	report("storm_guest", &st.per_guest);
	r = st.failed ? -EPROTO : 0;
out:
	storm_free(&st);
	return r;
}

/* --- one connection, blocking, kept alive: the propagation probe -------------- */

struct kconn {
	int fd;
	uint32_t src;
	const struct opts *o;
	char buf[RESP_MAX];
};

static int
kc_connect(struct kconn *c)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(c->src) };
	struct timeval tv = { .tv_sec = 2 };

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(c->fd, (const struct sockaddr *)&c->o->md, sizeof(c->o->md)) < 0) {
		int r = -errno;

		close(c->fd);
		c->fd = -1;
		return r;
	}
	return 0;
}

/* GETs path; 0 with *status and the body (NUL-terminated in c->buf). */
static int
kc_get(struct kconn *c, const char *path, int *status, const char **body, size_t *blen)
{
	char req[256];
	size_t len = 0;
	bool close_ = false;
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
	    c->o->server), r;

	for (int tries = 0; tries < 2; tries++) {
		if (c->fd < 0 && (r = kc_connect(c)) < 0)
			return r;
		if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) == n)
			break;
		close(c->fd);          /* the server closed the kept-alive connection */
		c->fd = -1;
	}
	for (r = 0; r == 0;) {
		ssize_t got = c->fd < 0 ? -1 : read(c->fd, c->buf + len, sizeof(c->buf) - 1 - len);

		if (got < 0)
			return c->fd < 0 ? -ECONNRESET : -errno;
		len += (size_t)got;
		r = resp_parse(c->buf, len, got == 0, status, body, blen, &close_);
	}
	if (r < 0 || close_) {
		close(c->fd);
		c->fd = -1;
	}
	return r < 0 ? r : 0;
}

/* Polls path from this connection until its body is want; the time it was
 * seen, or a negative errno (-ETIMEDOUT after the timeout). */
static double
kc_until(struct kconn *c, const char *path, const char *want, double timeout, long *polls)
{
	double deadline = now_s() + timeout;
	const char *body;
	size_t blen;
	int status, r;

	*polls = 0;
	while (now_s() < deadline) {
		if ((r = kc_get(c, path, &status, &body, &blen)) < 0)
			return r;
		++*polls;
		if (status == 200 && body_is(body, blen, want))
			return now_s();
	}
	return -ETIMEDOUT;
}

/* K pushes of VM guest's whole vmdata, each with a new public-hostname, each
 * timed from vrd's reply until vr-metadata serves the new value. */
static int
run_propagate(const struct opts *o)
{
	struct kconn *c = calloc(1, sizeof(*c));
	struct samples lag = { 0 }, vrd = { 0 };
	long polls = 0;
	struct vmspec s;
	struct buf b;
	int r = -ENOMEM;

	lag.v = calloc((size_t)o->propagate, sizeof(double));
	vrd.v = calloc((size_t)o->propagate, sizeof(double));
	buf_init(&b);
	if (!c || !lag.v || !vrd.v)
		goto out;
	*c = (struct kconn){ .fd = -1, .src = vm_ip(o->first), .o = o };
	for (long k = 0; k < o->warmup + o->propagate; k++) {
		double t0, t_reply, t_seen;
		long np;

		vm_spec(o->first, k, &s);
		buf_reset(&b);
		if ((r = cmd_vmdata(&b, &s)) < 0)
			goto out;
		t0 = now_s();
		if ((r = vrd_post(o, &b, 1)) < 0)
			goto out;
		t_reply = now_s();
		if ((t_seen = kc_until(c, MD_PREFIX "public-hostname", s.pubhost, 5, &np)) < 0) {
			r = (int)t_seen;
			fprintf(stderr, "md_storm: push %ld: %s not served: %s\n", k, s.pubhost,
			    strerror(-r));
			goto out;
		}
		if (k < o->warmup)
			continue;
		lag.v[lag.n++] = t_seen - t_reply;
		vrd.v[vrd.n++] = t_reply - t0;
		polls += np;
	}
	report("propagate", &lag);
	report("propagate_vrd_request", &vrd);
	printf("RESULT mode=propagate_polls pushes=%zu polls_per_push=%.1f\n", lag.n,
	    (double)polls / (double)(lag.n ? lag.n : 1));
	r = 0;
out:
	if (c && c->fd >= 0)
		close(c->fd);
	free(c);
	free(lag.v);
	free(vrd.v);
	buf_free(&b);
	return r;
}

/* Pushes VMs in batches; with --wait, times until the last is served. */
static int
run_push(const struct opts *o)
{
	double t0 = now_s(), t_reply, t_seen;
	struct kconn *c;
	struct vmspec s;
	long polls;
	int r = 0;

	for (long f = o->push_first; f < o->push_first + o->push_count && r == 0; f += o->batch) {
		long n = o->push_first + o->push_count - f;

		r = push_batch(o, f, n < o->batch ? n : o->batch);
	}
	t_reply = now_s();
	if (r < 0)
		return r;
	printf("RESULT mode=push first=%ld count=%ld request_ms=%.1f\n", o->push_first,
	    o->push_count, (t_reply - t0) * 1e3);
	if (!o->wait)
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	vm_spec(o->push_first + o->push_count - 1, -1, &s);
	*c = (struct kconn){ .fd = -1, .src = vm_ip(s.i), .o = o };
	t_seen = kc_until(c, MD_PREFIX "instance-id", s.iid, o->timeout_s, &polls);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	if (t_seen < 0) {
		fprintf(stderr, "md_storm: %s not served: %s\n", s.ip, strerror((int)-t_seen));
		return (int)t_seen;
	}
	printf("RESULT mode=push_visible vm=%s after_reply_ms=%.1f\n", s.ip, (t_seen - t_reply) * 1e3);
	return 0;
}

/* --- main ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f, "Usage: md_storm [--vrd URL --token-file F] [--network] [--push FIRST,COUNT\n"
	    "                [--batch N] [--wait]] [--storm N [--first I] [--no-bind]\n"
	    "                [--no-password] [--dump DIR] [--paths FILE]] [--propagate K\n"
	    "                [--first I] [--warmup W]] [--server IP] [--port P]\n"
	    "                [--password-port P] [--timeout S]\n"
	    "VM i is 10.1.x.y = 10.1.0.16 + i in guest network 10.1.0.0/16 on eth1.\n"
	    "--network  push that guest network to vrd;  --push  push VMs (dhcpentry,\n"
	    "vmpassword, vmdata), --wait until the last one's instance-id is served;\n"
	    "--storm N  guests FIRST..FIRST+N-1, each bound to its own address, all at\n"
	    "once run cloud-init's CloudStack sequence against SERVER (default 10.1.0.1);\n"
	    "--propagate K  push VM FIRST's vmdata K times (after W untimed) and time\n"
	    "each until vr-metadata serves the new public-hostname.\n");
}

static long
num_arg(const char *name, const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || (*end && *end != ',') || v < 0 || v > max) {
		fprintf(stderr, "md_storm: --%s: want 0 to %ld, got \"%s\"\n", name, max, s);
		exit(2);
	}
	return v;
}

static void
load_token(struct opts *o, const char *path)
{
	char tok[200] = "";
	FILE *f = fopen(path, "re");

	if (!f || !fgets(tok, sizeof(tok), f)) {
		fprintf(stderr, "md_storm: %s: %s\n", path, f ? "empty" : strerror(errno));
		exit(2);
	}
	fclose(f);
	tok[strcspn(tok, " \r\n\t")] = '\0';
	snprintf(o->headers, sizeof(o->headers), "Authorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\n", tok);
}

static void
parse_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'u': o->have_vrd = httpc_url_parse(arg, &o->vrd) == 0; break;
	case 't': load_token(o, arg); break;
	case 'N': o->network = true; break;
	case 'p': o->push_first = num_arg("push", arg, VM_MAX);
		o->push_count = strchr(arg, ',') ? num_arg("push", strchr(arg, ',') + 1, VM_MAX) : 0;
		break;
	case 'b': o->batch = num_arg("batch", arg, VM_MAX); break;
	case 'W': o->wait = true; break;
	case 's': o->storm = num_arg("storm", arg, VM_MAX); break;
	case 'f': o->first = num_arg("first", arg, VM_MAX); break;
	case 'B': o->no_bind = true; break;
	case 'P': o->no_password = true; break;
	case 'd': o->dump = arg; break;
	case 'l': o->paths_file = arg; break;
	case 'k': o->propagate = num_arg("propagate", arg, 100000); break;
	case 'w': o->warmup = num_arg("warmup", arg, 1000); break;
	case 'S': snprintf(o->server, sizeof(o->server), "%s", arg); break;
	case 'm': o->md.sin_port = htons((uint16_t)num_arg("port", arg, 65535)); break;
	case 'x': o->pw.sin_port = htons((uint16_t)num_arg("password-port", arg, 65535)); break;
	case 'T': o->timeout_s = (int)num_arg("timeout", arg, 3600); break;
	case 'h': usage(stdout); exit(0);
	default: usage(stderr); exit(2);
	}
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "vrd", 1, NULL, 'u' }, { "token-file", 1, NULL, 't' }, { "network", 0, NULL, 'N' },
		{ "push", 1, NULL, 'p' }, { "batch", 1, NULL, 'b' }, { "wait", 0, NULL, 'W' },
		{ "storm", 1, NULL, 's' }, { "first", 1, NULL, 'f' }, { "no-bind", 0, NULL, 'B' },
		{ "no-password", 0, NULL, 'P' }, { "dump", 1, NULL, 'd' }, { "paths", 1, NULL, 'l' },
		{ "propagate", 1, NULL, 'k' }, { "warmup", 1, NULL, 'w' }, { "server", 1, NULL, 'S' },
		{ "port", 1, NULL, 'm' }, { "password-port", 1, NULL, 'x' },
		{ "timeout", 1, NULL, 'T' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .batch = 2000, .warmup = 5, .timeout_s = 10, .server = "10.1.0.1",
		.md = { .sin_family = AF_INET, .sin_port = htons(80) },
		.pw = { .sin_family = AF_INET, .sin_port = htons(8080) } };
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1)
		parse_opt(o, c, optarg);
	if (optind < argc || inet_pton(AF_INET, o->server, &o->md.sin_addr) != 1 || !o->batch ||
	    ((o->network || o->push_count || o->propagate) && (!o->have_vrd || !o->headers[0])) ||
	    (o->dump && o->storm != 1) || o->first + o->storm > VM_MAX ||
	    o->push_first + o->push_count > VM_MAX) {
		usage(stderr);
		exit(2);
	}
	o->pw.sin_addr = o->md.sin_addr;
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	struct opts o;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;                     /* a socket per guest */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o.network && push_network(&o) < 0)
		return 1;
	if (o.push_count && run_push(&o) < 0)
		return 1;
	if (o.storm && run_storm(&o) < 0)
		return 1;
	if (o.propagate && run_propagate(&o) < 0)
		return 1;
	return 0;
}
