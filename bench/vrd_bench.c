/* vrd_bench.c: load generator for vrd's control channel: one VM's CloudStack
 * commands as three requests and as one batch on a VR holding N VMs, C
 * concurrent clients sending one-VM batches, or N VMs converged in one batch
 * until dnsmasq answers for the last; and the floor, a loop of durable
 * atomic file replacements (docs/performance.md). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "fileio.h"
#include "httpc.h"
#include "benchlib.h"

#define VM_INDEX_MAX 190000  /* 10.1.0.16 on, inside the guest network 10.0.0.0/14 */
#define USERDATA_BYTES 768   /* decoded; 1024 bytes of base64 */
#define RELOAD_FILES 5       /* hosts, dhcphosts, dhcpopts; dhcphosts.d/, hosts.d/ */
#define CHUNK_VMS 5000       /* VMs per batch when preloading or converging: under
                              * vrd's max-body and 200,000-command limits */

struct bench {
	struct httpc_url url;
	char headers[600];           /* Authorization and Content-Type lines */
	const char *device;
	long vms, iterations, warmup, converge;
	int timeout_s;
	bool setup_only;
	const char *log_path;        /* dnsmasq --log-facility file */
	const char *state_dir;       /* its "read <file>" lines mark a reload */
	const char *dns_server;      /* probe: dnsmasq answers the last VM's name */
	long cpu_pid;                /* vrd's pid: its CPU time per one-batch VM is reported */
	bool remove;                 /* latency: remove each measured VM after (untimed) */
	long clients, per_client;    /* concurrent: clients each sending per_client batches */
	long floor;                  /* floor: durable atomic replacements to time */
	const char *floor_dir;
};

struct samples {
	double *v;
	size_t n;
};

/* --- one VM's CloudStack payloads ------------------------------------------- */

static void
vm_ip_str(long i, char out[16])
{
	uint32_t ip = vm_ip(i);

	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* An RSA-2048 OpenSSH public key line, different for each VM. */
static void
vm_ssh_key(long i, char *out, size_t len)
{
	char body[340];

	vm_chars(i, 0x55, b64chars, body, sizeof(body) - 1);
	snprintf(out, len, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ%s ops@bench-%ld", body, i);
}

/* A cloud-config of exactly USERDATA_BYTES, base64-encoded (caller frees). */
static char *
vm_userdata(long i, const char *key)
{
	struct buf b;
	char *out;

	buf_init(&b);
	buf_addf(&b, "#cloud-config\nhostname: vm-%ld\nfqdn: vm-%ld.cloud.internal\n"
	    "manage_etc_hosts: true\nusers:\n  - name: ops\n    groups: [adm, sudo]\n"
	    "    shell: /bin/bash\n    sudo: ['ALL=(ALL) NOPASSWD:ALL']\n"
	    "    ssh_authorized_keys:\n      - %.120s\npackage_update: true\n"
	    "packages: [nginx, chrony, jq]\nruncmd:\n  - [systemctl, enable, --now, nginx]\n"
	    "final_message: 'vm-%ld up after $UPTIME s'\n# ", i, i, key, i);
	while (b.len < USERDATA_BYTES - 1)
		buf_adds(&b, "-");
	buf_adds(&b, "\n");
	out = b.oom ? NULL : base64_encode(b.p, USERDATA_BYTES);
	buf_free(&b);
	return out;
}

static void
cmd_dhcpentry(struct buf *b, long i, bool remove)
{
	char ip[16];
	uint32_t m = (uint32_t)i;

	vm_ip_str(i, ip);
	buf_addf(b, "{\"host_name\":\"vm-%ld\",\"mac_address\":\"02:00:4c:%02x:%02x:%02x\","
	    "\"ipv4_address\":\"%s\",\"ipv6_address\":null,"
	    "\"ipv6_duid\":\"00:03:00:01:02:00:4c:%02x:%02x:%02x\",\"dns_addresses\":\"10.1.0.1\","
	    "\"default_gateway\":\"10.1.0.1\",\"static_routes\":null,\"default_entry\":true,"
	    "\"remove\":%s,\"lease_time\":null,\"type\":\"dhcpentry\","
	    "\"delete_from_processed_cache\":false}", i, (m >> 16) & 255, (m >> 8) & 255, m & 255,
	    ip, (m >> 16) & 255, (m >> 8) & 255, m & 255, remove ? "true" : "false");
}

static void
cmd_vmpassword(struct buf *b, long i)
{
	char ip[16], pw[13];

	vm_ip_str(i, ip);
	vm_chars(i, 0x77, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", pw, 12);
	buf_addf(b, "{\"ip_address\":\"%s\",\"password\":\"%s\",\"type\":\"vmpassword\"}", ip, pw);
}

static int
cmd_vmdata(struct buf *b, long i)
{
	char ip[16], iid[37], vmid[37], cloud[37], key[512], *ud;

	vm_ip_str(i, ip);
	vm_uuid(i, 1, iid);
	vm_uuid(i, 2, vmid);
	vm_uuid(0, 3, cloud);
	vm_ssh_key(i, key, sizeof(key));
	if (!(ud = vm_userdata(i, key)))
		return -ENOMEM;
	buf_addf(b, "{\"vm_ip_address\":\"%s\",\"type\":\"vmdata\",\"vm_metadata\":["
	    "[\"userdata\",\"user-data\",\"%s\"],"
	    "[\"metadata\",\"service-offering\",\"Medium Instance\"],"
	    "[\"metadata\",\"availability-zone\",\"zone-eu-1\"],"
	    "[\"metadata\",\"local-ipv4\",\"%s\"],[\"metadata\",\"local-hostname\",\"vm-%ld\"],"
	    "[\"metadata\",\"public-ipv4\",\"203.0.113.10\"],"
	    "[\"metadata\",\"public-hostname\",\"vm-%ld.cloud.example\"],"
	    "[\"metadata\",\"instance-id\",\"%s\"],[\"metadata\",\"vm-id\",\"%s\"],"
	    "[\"metadata\",\"public-keys\",\"%s\"],"
	    "[\"metadata\",\"cloud-identifier\",\"CloudStack-{%s}\"],"
	    "[\"metadata\",\"hypervisor-host-name\",\"kvm-host-%02ld\"]]}",
	    ip, ud, ip, i, i, iid, vmid, key, cloud, i % 16);
	free(ud);
	return b->oom ? -ENOMEM : 0;
}

/* Appends "[dhcpentry, vmpassword, vmdata]" for VMs first..first+count-1. */
static int
batch_build(struct buf *b, long first, long count)
{
	buf_adds(b, "[");
	for (long i = first; i < first + count; i++) {
		if (i > first)
			buf_adds(b, ",\n");
		cmd_dhcpentry(b, i, false);
		buf_adds(b, ",\n");
		cmd_vmpassword(b, i);
		buf_adds(b, ",\n");
		if (cmd_vmdata(b, i) < 0)
			return -ENOMEM;
	}
	buf_adds(b, "]");
	return b->oom ? -ENOMEM : 0;
}

/* --- requests ---------------------------------------------------------------- */

/* POSTs body to /v1/commands; 0 if vrd replied 200 with "applied":want. */
static int
post(const struct bench *bn, const struct buf *body, long want)
{
	struct buf resp;
	char expect[48];
	int status = 0, r;

	buf_init(&resp);
	r = httpc_request(&bn->url, "POST", "/v1/commands", bn->headers, body->p, body->len,
	    bn->timeout_s, &status, &resp);
	snprintf(expect, sizeof(expect), "\"applied\":%ld", want);
	if (r < 0)
		fprintf(stderr, "vrd_bench: POST /v1/commands: %s\n", strerror(-r));
	else if (status != 200 || !resp.p || !strstr(resp.p, expect))
		fprintf(stderr, "vrd_bench: POST /v1/commands: %d %s", status, resp.p ? resp.p : "\n");
	r = r < 0 ? r : (status == 200 && resp.p && strstr(resp.p, expect)) ? 0 : -EPROTO;
	buf_free(&resp);
	return r;
}

/* POSTs VM i's dhcpentry (which 0), vmpassword (1) or vmdata (2); returns
 * the request's seconds, or -1. */
static double
post_one(const struct bench *bn, int which, long i, bool remove)
{
	struct buf b;
	double t0;
	int r = 0;

	buf_init(&b);
	if (which == 0)
		cmd_dhcpentry(&b, i, remove);
	else if (which == 1)
		cmd_vmpassword(&b, i);
	else
		r = cmd_vmdata(&b, i);
	t0 = now_s();
	if (r == 0)
		r = post(bn, &b, 1);
	t0 = now_s() - t0;
	buf_free(&b);
	return r < 0 ? -1 : t0;
}

static int
setup_network(const struct bench *bn)
{
	struct buf b;
	int r;

	buf_init(&b);
	buf_addf(&b, "{\"device\":\"%s\",\"mac_address\":\"02:00:11:22:33:44\","
	    "\"router_guest_ip\":\"10.1.0.1\",\"cidr\":\"10.0.0.0/14\",\"dns\":\"10.1.0.1,8.8.8.8\","
	    "\"domain_name\":\"cloud.internal\",\"add\":true,\"type\":\"guestnetwork\"}", bn->device);
	r = post(bn, &b, 1);
	buf_free(&b);
	return r;
}

/* Sends VMs first..first+count-1 as one batch; *secs is the request time. */
static int
send_batch(const struct bench *bn, long first, long count, double *secs, size_t *bytes)
{
	struct buf b;
	double t0;
	int r;

	buf_init(&b);
	if ((r = batch_build(&b, first, count)) < 0) {
		buf_free(&b);
		return r;
	}
	*bytes = b.len;
	t0 = now_s();
	r = post(bn, &b, 3 * count);
	*secs = now_s() - t0;
	buf_free(&b);
	return r;
}

/* Sends VMs first..first+count-1 in batches of CHUNK_VMS, one after the
 * other; *secs is the total time. */
static int
send_chunked(const struct bench *bn, long first, long count, double *secs, size_t *bytes)
{
	double t;
	size_t b;
	int r = 0;

	*secs = 0;
	*bytes = 0;
	for (long i = 0; i < count && r == 0; i += CHUNK_VMS) {
		r = send_batch(bn, first + i, count - i < CHUNK_VMS ? count - i : CHUNK_VMS, &t, &b);
		*secs += t;
		*bytes += b;
	}
	return r;
}

/* --- statistics -------------------------------------------------------------- */

static void
report(const char *mode, long vms, struct samples *s)
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
	printf("RESULT mode=%s vms=%ld n=%zu median_ms=%.3f p99_ms=%.3f mean_ms=%.3f "
	    "min_ms=%.3f max_ms=%.3f\n", mode, vms, s->n, med * 1e3, s->v[p99] * 1e3,
	    sum / (double)s->n * 1e3, s->v[0] * 1e3, s->v[s->n - 1] * 1e3);
}

/* --- scenarios --------------------------------------------------------------- */

/* One VM as three sequential requests; per-command times go to per[3]. */
static double
vm_three(const struct bench *bn, long i, struct samples per[3])
{
	double total = 0;

	for (int c = 0; c < 3; c++) {
		double t = post_one(bn, c, i, false);

		if (t < 0)
			return -1;
		if (per)
			per[c].v[per[c].n++] = t;
		total += t;
	}
	return total;
}

static double
vm_batch(const struct bench *bn, long i)
{
	double t;
	size_t bytes;

	return send_batch(bn, i, 1, &t, &bytes) < 0 ? -1 : t;
}

/* CPU time (ms) process pid's threads have run so far, from the scheduler's
 * nanosecond account (/proc/PID/task/T/schedstat); -1 if unknown.  Unlike a
 * request's latency it hardly moves with the machine's other load. */
static double
cpu_ms(long pid)
{
	char path[64], line[128];
	unsigned long long ns, sum = 0;
	struct dirent *de;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/schedstat", pid, de->d_name);
		if (!(f = fopen(path, "r")))
			continue; /* a thread that just ended */
		if (fgets(line, sizeof(line), f) && sscanf(line, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return (double)sum / 1e6;
}

/* Measures iterations new VMs per mode; each is removed (untimed) after,
 * so that the VR holds bn->vms VMs at every measured request. */
static int
run_latency(const struct bench *bn)
{
	static const char *const names[3] = { "dhcpentry", "vmpassword", "vmdata" };
	struct samples three = { 0 }, batch = { 0 }, per[3] = { { 0 } };
	long next = bn->vms + bn->clients * bn->per_client, n = bn->iterations;
	double cpu0, cpu1;
	int r = -ENOMEM;

	three.v = calloc((size_t)n, sizeof(double));
	batch.v = calloc((size_t)n, sizeof(double));
	for (int c = 0; c < 3; c++)
		per[c].v = calloc((size_t)n, sizeof(double));
	if (!three.v || !batch.v || !per[0].v || !per[1].v || !per[2].v)
		goto out;
	r = -EPROTO;
	for (long k = 0; k < bn->warmup + n; k++, next++) {
		double t = vm_three(bn, next, k < bn->warmup ? NULL : per);

		if (t < 0 || (bn->remove && post_one(bn, 0, next, true) < 0))
			goto out;
		if (k >= bn->warmup)
			three.v[three.n++] = t;
	}
	cpu0 = bn->cpu_pid ? cpu_ms(bn->cpu_pid) : -1;
	for (long k = 0; k < bn->warmup + n; k++, next++) {
		double t = vm_batch(bn, next);

		if (t < 0 || (bn->remove && post_one(bn, 0, next, true) < 0))
			goto out;
		if (k >= bn->warmup)
			batch.v[batch.n++] = t;
	}
	if (cpu0 >= 0 && (cpu1 = cpu_ms(bn->cpu_pid)) >= 0)
		printf("RESULT mode=cpu vms=%ld n=%ld vrd_cpu_ms_per_vm=%.3f\n", bn->vms,
		    bn->warmup + n, (cpu1 - cpu0) / (double)(bn->warmup + n));
	report("three_requests", bn->vms, &three);
	report("one_batch", bn->vms, &batch);
	for (int c = 0; c < 3; c++)
		report(names[c], bn->vms, &per[c]);
	r = 0;
out:
	free(three.v);
	free(batch.v);
	for (int c = 0; c < 3; c++)
		free(per[c].v);
	return r;
}

/* --- concurrent clients and the floor ------------------------------------------ */

struct client {
	const struct bench *bn;
	long first;
	struct samples s;
	int r;
};

static void *
client_run(void *arg)
{
	struct client *c = arg;

	for (long j = 0; j < c->bn->per_client; j++) {
		double t = vm_batch(c->bn, c->first + j);

		if (t < 0) {
			c->r = -EPROTO;
			break;
		}
		c->s.v[c->s.n++] = t;
	}
	return NULL;
}

/* bn->clients threads each send bn->per_client one-VM batches (new VMs, after
 * the bn->vms held) at once: VMs per second into one vrd, and each request's
 * time. */
static int
run_concurrent(const struct bench *bn)
{
	struct client *c = calloc((size_t)bn->clients, sizeof(*c));
	pthread_t *th = calloc((size_t)bn->clients, sizeof(*th));
	struct samples all = { 0 };
	long started = 0;
	double t0 = now_s(), secs;
	int r = -ENOMEM;

	if (!c || !th || !(all.v = calloc((size_t)(bn->clients * bn->per_client), sizeof(double))))
		goto out;
	for (long i = 0; i < bn->clients; i++) {
		c[i] = (struct client){ .bn = bn, .first = bn->vms + i * bn->per_client };
		if (!(c[i].s.v = calloc((size_t)bn->per_client, sizeof(double))))
			goto join;
	}
	t0 = now_s();
	for (; started < bn->clients; started++)
		if (pthread_create(&th[started], NULL, client_run, &c[started]) != 0)
			break;
join:
	for (long i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	secs = now_s() - t0;
	r = started == bn->clients ? 0 : -EAGAIN;
	for (long i = 0; i < bn->clients; i++) {
		if (c[i].r < 0)
			r = c[i].r;
		for (size_t k = 0; k < c[i].s.n; k++)
			all.v[all.n++] = c[i].s.v[k];
		free(c[i].s.v);
	}
	if (r == 0) {
		printf("RESULT mode=concurrent_rate vms=%ld clients=%ld batches=%zu secs=%.3f "
		    "vms_per_s=%.1f\n", bn->vms, bn->clients, all.n, secs, (double)all.n / secs);
		report("concurrent", bn->vms, &all);
	}
out:
	free(all.v);
	free(th);
	free(c);
	return r;
}

/* The floor: bn->floor durable atomic replacements of a 1 KiB file in
 * bn->floor_dir (write a temporary file, fsync, rename, fsync the
 * directory), as vrd's commit does for each of its files. */
static int
run_floor(const struct bench *bn)
{
	struct samples s = { 0 };
	char data[1024];
	int dfd, r = 0;

	memset(data, 'x', sizeof(data));
	if ((dfd = open(bn->floor_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "vrd_bench: %s: %s\n", bn->floor_dir, strerror(errno));
		return -errno;
	}
	if (!(s.v = calloc((size_t)bn->floor, sizeof(double)))) {
		close(dfd);
		return -ENOMEM;
	}
	for (long i = 0; i < bn->floor && r == 0; i++) {
		double t0 = now_s();

		data[0] = (char)('a' + i % 26);
		if ((r = af_write(dfd, "floor", data, sizeof(data), 0644, AF_KEEP_OWNER, 0)) == 0)
			s.v[s.n++] = now_s() - t0;
	}
	(void)unlinkat(dfd, "floor", 0);
	close(dfd);
	if (r == 0)
		report("floor", 0, &s);
	else
		fprintf(stderr, "vrd_bench: floor: %s\n", strerror(-r));
	free(s.v);
	return r;
}

/* --- convergence and dnsmasq's reload ---------------------------------------- */

/* Counts, in dnsmasq's log, the lines it writes when it has read each of
 * vrd's three files (on SIGHUP), and an added file of dhcphosts.d/ or
 * hosts.d/ (through inotify: a batch that only adds sends no SIGHUP);
 * names[] gets the "- N names" of the last hosts line. */
static int
log_counts(const struct bench *bn, long counts[RELOAD_FILES], long *names)
{
	static const char *const fmt[RELOAD_FILES] = { "read %s/hosts - ", "read %s/dhcphosts\n",
		"read %s/dhcpopts\n", "read %s/dhcphosts.d/", "read %s/hosts.d/" };
	char pat[600], *buf = NULL;
	size_t len;
	int r;

	if ((r = file_read_all(bn->log_path, 256UL << 20, &buf, &len)) < 0 && r != -ENOENT)
		return r;
	for (int f = 0; f < RELOAD_FILES; f++) {
		const char *p = buf;

		snprintf(pat, sizeof(pat), fmt[f], bn->state_dir);
		counts[f] = 0;
		while (p && (p = strstr(p, pat))) {
			p += strlen(pat);
			counts[f]++;
			if (f == 0 && names)
				*names = strtol(p, NULL, 10);
		}
	}
	free(buf);
	return 0;
}

/* 1 if the DNS server answers name with the single A record want, 0 if not
 * (yet), < 0 on a socket error. */
static int
dns_probe(const char *server, const char *name, uint32_t want)
{
	unsigned char q[300], a[512];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct pollfd pfd;
	size_t n = 12, l = strlen(name);
	ssize_t got;
	uint32_t ip;
	int fd, r = 0;

	if (l > 63 || inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		return -EINVAL;
	memset(q, 0, sizeof(q));
	q[0] = 0x4b, q[1] = 0x1d, q[2] = 0x01, q[5] = 1;   /* id, RD, one question */
	q[n++] = (unsigned char)l;
	memcpy(q + n, name, l);
	n += l;
	q[n++] = 0, q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1;   /* root, A, IN */
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, q, n, 0) < 0) {
		r = -errno;
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 200) != 1 || (got = recv(fd, a, sizeof(a), 0)) < 16)
		goto out;
	memcpy(&ip, a + got - 4, 4);
	/* same id, a response, rcode 0, at least one answer, rdata is the address */
	r = a[0] == 0x4b && a[1] == 0x1d && (a[2] & 0x80) && (a[3] & 0x0f) == 0 &&
	    (a[6] || a[7]) && ntohl(ip) == want;
out:
	close(fd);
	return r;
}

/* Waits until dnsmasq has re-read all three files after t0, or read one
 * added file of each kind per batch sent (vrd writes the lines of a batch
 * that only adds to dhcphosts.d/ and hosts.d/), and, with a DNS server,
 * answers for the last VM; prints the times from t0. */
static int
wait_reload(const struct bench *bn, const long before[RELOAD_FILES], double t0, double t_reply)
{
	long now[RELOAD_FILES], names = -1;
	double deadline = t0 + bn->timeout_s, t_log = -1, t_dns = -1;
	char last[32];
	int r;

	snprintf(last, sizeof(last), "vm-%ld", bn->converge - 1);
	while (now_s() < deadline) {
		if ((r = log_counts(bn, now, &names)) < 0)
			return r;
		long batches = (bn->converge + CHUNK_VMS - 1) / CHUNK_VMS;

		if ((now[0] > before[0] && now[1] > before[1] && now[2] > before[2]) ||
		    (now[3] - before[3] >= batches && now[4] - before[4] >= batches)) {
			t_log = now_s() - t0;
			break;
		}
		usleep(500);
	}
	while (t_log >= 0 && bn->dns_server && now_s() < deadline) {
		if ((r = dns_probe(bn->dns_server, last, vm_ip(bn->converge - 1))) < 0)
			return r;
		if (r == 1) {
			t_dns = now_s() - t0;
			break;
		}
		usleep(500);
	}
	if (t_log < 0 || (bn->dns_server && t_dns < 0)) {
		fprintf(stderr, "vrd_bench: dnsmasq did not reload within %d s (see %s)\n",
		    bn->timeout_s, bn->log_path);
		return -ETIMEDOUT;
	}
	printf("RESULT mode=reload vms=%ld log_ms=%.1f after_reply_ms=%.1f dns_ms=%.1f "
	    "hosts_names=%ld\n", bn->converge, t_log * 1e3, (t0 + t_log - t_reply) * 1e3,
	    t_dns * 1e3, names);
	return 0;
}

/* After the latency runs: waits until the DNS server answers for VM i (the
 * last one sent); prints how long after the last reply that took. */
static int
wait_answers(const struct bench *bn, long i)
{
	char name[32];
	double t0 = now_s(), deadline = t0 + bn->timeout_s;
	int r;

	snprintf(name, sizeof(name), "vm-%ld", i);
	while (now_s() < deadline) {
		if ((r = dns_probe(bn->dns_server, name, vm_ip(i))) < 0)
			return r;
		if (r == 1) {
			printf("RESULT mode=answers vms=%ld name=%s after_ms=%.1f\n", bn->vms, name,
			    (now_s() - t0) * 1e3);
			return 0;
		}
		usleep(1000);
	}
	fprintf(stderr, "vrd_bench: %s does not answer for %s within %d s\n", bn->dns_server,
	    name, bn->timeout_s);
	return -ETIMEDOUT;
}

static int
run_converge(const struct bench *bn)
{
	long before[RELOAD_FILES] = { 0 };
	double t0, secs;
	size_t bytes = 0;
	int r;

	if (bn->log_path && (r = log_counts(bn, before, NULL)) < 0)
		return r;
	t0 = now_s();
	if ((r = send_chunked(bn, 0, bn->converge, &secs, &bytes)) < 0)
		return r;
	printf("RESULT mode=converge vms=%ld commands=%ld body_bytes=%zu request_ms=%.1f\n",
	    bn->converge, 3 * bn->converge, bytes, secs * 1e3);
	fflush(stdout);
	return bn->log_path ? wait_reload(bn, before, t0, t0 + secs) : 0;
}

/* --- main -------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f, "Usage: vrd_bench --token-file F [--url U] [--vms N] [--iterations K]\n"
	    "                 [--warmup W] [--remove] [--clients C --per-client P]\n"
	    "                 [--converge N [--dnsmasq-log F --state-dir D [--dns-server IP]]]\n"
	    "                 [--device DEV] [--setup-only] [--timeout S] [--cpu-pid PID]\n"
	    "       vrd_bench --floor N --floor-dir DIR\n"
	    "Adds guest network 10.0.0.0/14 on DEV (default eth1), then either preloads N\n"
	    "VMs (batches of %d), has C clients at once send P new one-VM batches each\n"
	    "(VMs per second), and times K new VMs' dhcpentry+vmpassword+vmdata as three\n"
	    "requests and as one batch (default K=100, after W=5 untimed; with --remove\n"
	    "each is removed after, untimed; without, the VR grows by 2 (W + K)); or sends\n"
	    "N VMs (batches of %d) on an empty vrd and waits until dnsmasq has read them\n"
	    "and answers for the last VM.  --cpu-pid: also the CPU time vrd (that pid)\n"
	    "spent per one-batch VM.  --floor: N durable atomic replacements of a 1 KiB\n"
	    "file in DIR (temporary file, fsync, rename, fsync of DIR), timed.\n",
	    CHUNK_VMS, CHUNK_VMS);
}

static int
load_token(struct bench *bn, const char *path)
{
	char *tok = NULL;
	size_t len;
	int r;

	if ((r = file_read_all(path, 4096, &tok, &len)) < 0) {
		fprintf(stderr, "vrd_bench: %s: %s\n", path, strerror(-r));
		return r;
	}
	tok[strcspn(tok, " \r\n\t")] = '\0';
	snprintf(bn->headers, sizeof(bn->headers), "Authorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\n", tok);
	free(tok);
	return 0;
}

static long
num_arg(const char *name, const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "vrd_bench: --%s: want 0 to %ld, got \"%s\"\n", name, max, s);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv, struct bench *bn)
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' }, { "token-file", 1, NULL, 't' }, { "vms", 1, NULL, 'n' },
		{ "iterations", 1, NULL, 'k' }, { "warmup", 1, NULL, 'w' },
		{ "converge", 1, NULL, 'c' }, { "dnsmasq-log", 1, NULL, 'l' },
		{ "state-dir", 1, NULL, 's' }, { "dns-server", 1, NULL, 'd' },
		{ "device", 1, NULL, 'D' }, { "setup-only", 0, NULL, 'S' },
		{ "timeout", 1, NULL, 'T' }, { "cpu-pid", 1, NULL, 'P' }, { "help", 0, NULL, 'h' },
		{ "remove", 0, NULL, 'R' }, { "clients", 1, NULL, 'C' }, { "per-client", 1, NULL, 'K' },
		{ "floor", 1, NULL, 'F' }, { "floor-dir", 1, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = "http://127.0.0.1:3923", *token = NULL;
	int o;

	*bn = (struct bench){ .device = "eth1", .iterations = 100, .warmup = 5, .timeout_s = 120 };
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 't': token = optarg; break;
		case 'n': bn->vms = num_arg("vms", optarg, VM_INDEX_MAX); break;
		case 'k': bn->iterations = num_arg("iterations", optarg, 100000); break;
		case 'w': bn->warmup = num_arg("warmup", optarg, 1000); break;
		case 'c': bn->converge = num_arg("converge", optarg, VM_INDEX_MAX); break;
		case 'l': bn->log_path = optarg; break;
		case 's': bn->state_dir = optarg; break;
		case 'd': bn->dns_server = optarg; break;
		case 'D': bn->device = optarg; break;
		case 'S': bn->setup_only = true; break;
		case 'T': bn->timeout_s = (int)num_arg("timeout", optarg, 3600); break;
		case 'P': bn->cpu_pid = num_arg("cpu-pid", optarg, 1L << 22); break;
		case 'R': bn->remove = true; break;
		case 'C': bn->clients = num_arg("clients", optarg, 256); break;
		case 'K': bn->per_client = num_arg("per-client", optarg, 10000); break;
		case 'F': bn->floor = num_arg("floor", optarg, 1000000); break;
		case 'f': bn->floor_dir = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (bn->floor && bn->floor_dir && optind == argc)
		return; /* no vrd needed */
	if (optind < argc || !token || httpc_url_parse(url, &bn->url) < 0 ||
	    bn->vms + bn->clients * bn->per_client + 2 * (bn->warmup + bn->iterations) >
	    VM_INDEX_MAX || (bn->floor && !bn->floor_dir) ||
	    (bn->log_path && (!bn->state_dir || !bn->converge))) {
		usage(stderr);
		exit(2);
	}
	if (load_token(bn, token) < 0)
		exit(2);
}

int
main(int argc, char **argv)
{
	struct bench bn;
	double secs = 0;
	size_t bytes = 0;

	parse_args(argc, argv, &bn);
	if (bn.floor)
		return run_floor(&bn) < 0 ? 1 : 0;
	if (setup_network(&bn) < 0)
		return 1;
	if (bn.setup_only)
		return 0;
	if (bn.converge)
		return run_converge(&bn) < 0 ? 1 : 0;
	if (bn.vms) {
		if (send_chunked(&bn, 0, bn.vms, &secs, &bytes) < 0)
			return 1;
		printf("RESULT mode=preload vms=%ld commands=%ld body_bytes=%zu request_ms=%.1f\n",
		    bn.vms, 3 * bn.vms, bytes, secs * 1e3);
		fflush(stdout);
	}
	if (bn.clients && bn.per_client && run_concurrent(&bn) < 0)
		return 1;
	fflush(stdout);
	if (bn.iterations && run_latency(&bn) < 0)
		return 1;
	if (bn.dns_server && bn.iterations && !bn.remove) /* the last VM sent stays */
		return wait_answers(&bn, bn.vms + bn.clients * bn.per_client +
		    2 * (bn.warmup + bn.iterations) - 1) < 0 ? 1 : 0;
	return 0;
}
