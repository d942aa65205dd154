/* test_mgr_vrconn.c: the manager's libcurl client (manager/vrconn.c) against
 * the real vrd ($BUILD/vrd, started here on a free loopback port): one
 * kept-alive connection for many batches (the kernel's socket table shows
 * no second one), reconnection when vrd closes an idle connection or is
 * killed and restarted with every batch applied exactly once (vrd's
 * generation), a stopped vrd times out, a closed port is refused, and
 * worker threads share the pool. */
#include "testutil.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "vrconn.h"
#include "vrpush.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fx {
	char dir[64];
	char url[64];
	int port;
	const char *threads; /* vrd's worker threads (its default unless a test sets it) */
	pid_t vrd;
	struct vrconn_pool *pool;
};

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Sockets in the kernel's table whose remote port is port (the client
 * ends of connections to vrd): their local ports and TCP states (the
 * numbers of /proc/net/tcp: 1 ESTABLISHED, 6 TIME_WAIT, 8 CLOSE_WAIT).
 * Returns how many. */
static int
client_socks(int port, int *lports, int *states, int max)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned lp, rp, st;
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*8X:%X %*8X:%X %X", &lp, &rp, &st) == 3 &&
		    (int)rp == port && n < max) {
			lports[n] = (int)lp;
			states[n++] = (int)st;
		}
	fclose(f);
	return n;
}

static bool
vrd_accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return r == 0;
}

/* Starts vrd on f->port (idle connections closed after timeout_s) and
 * waits (bounded) until it accepts connections. */
static void
vrd_start(struct fx *f, const char *timeout_s)
{
	char bin[512], state[128], tok[128], pidf[128], lease[128], listen[64], log[128];
	const char *build = getenv("BUILD");

	snprintf(bin, sizeof(bin), "%s/vrd", build ? build : "build");
	snprintf(state, sizeof(state), "%s/state", f->dir);
	snprintf(tok, sizeof(tok), "%s/token", f->dir);
	snprintf(pidf, sizeof(pidf), "%s/dnsmasq.pid", f->dir);
	snprintf(lease, sizeof(lease), "%s/dnsmasq.leases", f->dir);
	snprintf(log, sizeof(log), "%s/vrd.log", f->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	f->vrd = fork();
	assert_true(f->vrd >= 0);
	if (f->vrd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		dup2(fd, 2);
		execl(bin, bin, "--config", "/dev/null", "--listen", listen, "--state-dir", state,
		    "--token-file", tok, "--dnsmasq-pid-file", pidf, "--dnsmasq-lease-file", lease,
		    "--metadata-user", "nobody", "--manage-links", "no", "--timeout", timeout_s,
		    f->threads ? "--threads" : (char *)NULL, f->threads, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && !vrd_accepts(f->port); i++) {
		assert_int_equal(waitpid(f->vrd, NULL, WNOHANG), 0); /* still running */
		poll(NULL, 0, 25);
	}
	assert_true(vrd_accepts(f->port));
}

static void
vrd_kill(struct fx *f)
{
	if (f->vrd <= 0)
		return;
	kill(f->vrd, SIGCONT);
	kill(f->vrd, SIGKILL);
	waitpid(f->vrd, NULL, 0);
	f->vrd = 0;
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_mkdtemp(f->dir, sizeof(f->dir));
	tu_write(f->dir, "token", TOKEN "\n", 0600);
	f->port = free_port();
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	assert_int_equal(vrconn_pool_new(&f->pool), 0);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	vrd_kill(f);
	vrconn_pool_free(f->pool);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

/* The batch deploying VM i (10.1.x.y), or removing it. */
static void
batch(int i, bool remove, struct buf *b)
{
	char ip[32], mac[32], name[32], uuid[40];
	struct vr_vm v = { .gateway = "10.1.0.1", .dns = "10.1.0.1", .password = "pw",
		.zone_name = "z", .offering_name = "o", .host_name = "h" };

	snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 200, 10 + i % 200);
	snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", i / 256, i % 256);
	snprintf(name, sizeof(name), "vm%d", i);
	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
	v.ip = ip;
	v.mac = mac;
	v.hostname = name;
	v.uuid = uuid;
	buf_init(b);
	assert_int_equal(vr_batch_render(&v, remove, b), 0);
}

/* POSTs VM i's batch (settle_s: vrconn_post's); returns vrd's status, *gen
 * its generation (200). */
static int
post_settle(struct fx *f, int i, bool remove, int timeout_s, int settle_s, int *r,
    long long *gen)
{
	struct buf b, resp;
	char err[256];
	int status = 0;

	batch(i, remove, &b);
	buf_init(&resp);
	*r = vrconn_post(f->pool, f->url, "/v1/commands", TOKEN, b.p, b.len, timeout_s, settle_s,
	    &status, &resp, err, sizeof(err));
	if ((*r == 0 || *r == -ETIME) && status == 200) {
		json_t *j = json_loadb(resp.p, resp.len, 0, NULL);

		assert_non_null(j);
		*gen = json_integer_value(json_object_get(j, "generation"));
		json_decref(j);
	}
	buf_free(&b);
	buf_free(&resp);
	return status;
}

static int
post(struct fx *f, int i, bool remove, int timeout_s, int *r, long long *gen)
{
	return post_settle(f, i, remove, timeout_s, 0, r, gen);
}

static long long
post_ok(struct fx *f, int i, bool remove)
{
	long long gen = -1;
	int r;

	assert_int_equal(post(f, i, remove, 30, &r, &gen), 200);
	assert_int_equal(r, 0);
	return gen;
}

static unsigned long
connects(struct fx *f)
{
	struct vrconn_stats s;

	vrconn_stats(f->pool, &s);
	return s.connects;
}

static bool
in_list(int v, const int *l, int n)
{
	for (int i = 0; i < n; i++)
		if (l[i] == v)
			return true;
	return false;
}

/* 20 batches, one connection: the kernel shows exactly one new client
 * socket to vrd, still established, and libcurl counted one connect; each
 * batch advanced vrd's generation by one. */
static void
test_kept_alive(void **state)
{
	struct fx *f = *state;
	int before[256], bst[256], after[256], ast[256], nb, na, fresh = 0, fresh_state = 0;
	long long g0, g;

	vrd_start(f, "30");
	nb = client_socks(f->port, before, bst, 256);
	g0 = post_ok(f, 0, false);
	for (int i = 1; i < 20; i++) {
		g = post_ok(f, i, false);
		assert_int_equal(g, g0 + i);
	}
	na = client_socks(f->port, after, ast, 256);
	for (int i = 0; i < na; i++)
		if (!in_list(after[i], before, nb)) {
			fresh++;
			fresh_state = ast[i];
		}
	assert_int_equal(fresh, 1);
	assert_int_equal(fresh_state, 1); /* ESTABLISHED: kept, not closed */
	assert_int_equal(connects(f), 1);
}

/* vrd closes the idle connection after its timeout (1 s): the next batch
 * goes on a new connection and is applied once. */
static void
test_server_closes_idle(void **state)
{
	struct fx *f = *state;
	int lp[256], st[256], n, waiting = 1;
	long long g;

	vrd_start(f, "1");
	g = post_ok(f, 0, false);
	/* bounded: until our end of the connection sees vrd's FIN (CLOSE_WAIT) */
	for (int t = 0; t < 400 && waiting; t++) {
		n = client_socks(f->port, lp, st, 256);
		waiting = 0;
		for (int i = 0; i < n; i++)
			waiting |= st[i] == 1;
		if (waiting)
			poll(NULL, 0, 25);
	}
	assert_false(waiting);
	assert_int_equal(post_ok(f, 1, false), g + 1);
	assert_int_equal(connects(f), 2);
	assert_int_equal(post_ok(f, 2, false), g + 2); /* and that one is kept */
	assert_int_equal(connects(f), 2);
}

/* vrd SIGKILLed between two batches and started again on the same port
 * (same state) before the next: the kept connection is dead, the next
 * batch goes on a new one and is applied exactly once.  Killed again and
 * the batch sent while it is down: refused at once, and after its restart
 * applied once; then the pool keeps the new connection. */
static void
test_vrd_restart(void **state)
{
	struct fx *f = *state;
	long long g;
	int r;

	vrd_start(f, "30");
	g = post_ok(f, 0, false);
	post_ok(f, 1, false);
	vrd_kill(f);
	vrd_start(f, "30");
	assert_int_equal(post_ok(f, 2, false), g + 2);
	assert_int_equal(connects(f), 2);
	vrd_kill(f);
	assert_int_equal(post(f, 3, false, 30, &r, &(long long){ 0 }), 0);
	assert_int_equal(r, -ECONNREFUSED);
	vrd_start(f, "30");
	assert_int_equal(post_ok(f, 3, false), g + 3);
	/* a batch repeated changes nothing, so no generation: the same VM's
	 * batch again shows whether vrd had applied it twice */
	assert_int_equal(post_ok(f, 3, false), g + 3);
	assert_int_equal(post_ok(f, 4, false), g + 4);
	assert_int_equal(connects(f), 3); /* one per vrd (refused: none) */
}

/* A stopped vrd (SIGSTOP): the batch sent with no time to settle times out
 * in about timeout_s (-ETIMEDOUT: it may still be applied); once vrd runs
 * again the next batch is answered, and the timed-out one lands before or
 * after it (on another connection, in either order with several threads:
 * what test_undo_after_late_* makes the manager wait for). */
static void
test_timeout(void **state)
{
	struct fx *f = *state;
	long long g, g2 = 0;
	double t0, dt;
	int r;

	vrd_start(f, "30");
	g = post_ok(f, 0, false);
	assert_int_equal(kill(f->vrd, SIGSTOP), 0);
	t0 = now_s();
	assert_int_equal(post(f, 1, false, 1, &r, &g2), 0);
	dt = now_s() - t0;
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(dt >= 0.9 && dt < 10);
	assert_int_equal(kill(f->vrd, SIGCONT), 0);
	g2 = post_ok(f, 2, false);
	assert_true(g2 == g + 1 || g2 == g + 2);
	/* both applied: VM 1's batch again changes nothing */
	assert_int_equal(post_ok(f, 1, false), g + 2);
}

/* A job's VR stage and its undo: VM i's batch with a 1 s timeout, as
 * vr_push sends it, then its removal. */
struct job_like {
	struct fx *f;
	bool no_undo;
	int i, pushed;
	char err[256];
	long long undo_gen;
};

static void *
job_like_run(void *arg)
{
	struct job_like *w = arg;
	struct buf b;
	int r;

	batch(w->i, false, &b);
	w->pushed = vr_push(w->f->pool, w->f->url, TOKEN, &b, 1, w->err, sizeof(w->err));
	buf_free(&b);
	w->undo_gen = -1;
	if (!w->no_undo && (post(w->f, w->i, true, 30, &r, &w->undo_gen) != 200 || r != 0))
		w->undo_gen = -1;
	return NULL;
}

static unsigned long
waiting(struct fx *f)
{
	struct vrconn_stats s;

	vrconn_stats(f->pool, &s);
	return s.waiting;
}

#define UNDO_PAIRS 8

/* Rounds of UNDO_PAIRS jobs at once against a SIGSTOPped vrd: each VM's
 * batch times out (1 s) and waits for its outcome (stats.waiting counts
 * them); vrd continued: every batch is answered late (applied), and only
 * then does its job send the removal, so the removal lands after it: the
 * removal sent once more changes nothing (vrd's generation stays: the VM is
 * gone), which fails whenever vrd applied a removal before its batch. */
static void
undo_after_late(struct fx *f, const char *threads)
{
	const char *env = getenv("VRCONN_UNDO_ROUNDS");
	int rounds = env ? atoi(env) : 5, r;
	struct job_like w[UNDO_PAIRS];
	pthread_t t[UNDO_PAIRS];
	long long g, g0;

	f->threads = threads;
	vrd_start(f, "30");
	for (int round = 0; round < rounds; round++) {
		assert_int_equal(kill(f->vrd, SIGSTOP), 0);
		for (int k = 0; k < UNDO_PAIRS; k++) {
			w[k] = (struct job_like){ .f = f, .i = round * UNDO_PAIRS + k };
			assert_int_equal(pthread_create(&t[k], NULL, job_like_run, &w[k]), 0);
		}
		/* bounded: every batch past its 1 s timeout, still waiting */
		for (int n = 0; n < 1200 && waiting(f) < UNDO_PAIRS; n++)
			poll(NULL, 0, 25);
		assert_int_equal(waiting(f), UNDO_PAIRS);
		assert_int_equal(kill(f->vrd, SIGCONT), 0);
		for (int k = 0; k < UNDO_PAIRS; k++) {
			assert_int_equal(pthread_join(t[k], NULL), 0);
			assert_int_equal(w[k].pushed, -EHOSTUNREACH);
			assert_non_null(strstr(w[k].err, "did not answer in 1 s (it applied the batch"));
			assert_true(w[k].undo_gen > 0);
		}
		/* vrd's generation now: a removal of a VM it never had changes
		 * nothing, and answers with it */
		g0 = post_ok(f, 9000 + round, true);
		for (int k = 0; k < UNDO_PAIRS; k++) {
			g = -1;
			assert_int_equal(post(f, w[k].i, true, 30, &r, &g), 200);
			if (g != g0)
				fail_msg("threads %s, round %d: VM %d's batch landed after its removal "
				    "(generation %lld, then %lld)", threads, round, w[k].i, g0, g);
		}
	}
	assert_int_equal(waiting(f), 0);
}

static void
test_undo_after_late_threads16(void **state)
{
	undo_after_late(*state, "16");
}

static void
test_undo_after_late_threads1(void **state)
{
	undo_after_late(*state, "1");
}

/* With no time to settle, a batch unanswered past its timeout is reported
 * as possibly still landing (-ETIMEDOUT); with time, a vrd that closes the
 * connection unanswered (SIGKILLed) settles it (vr_push: "closed"). */
static void
test_settle_bounds(void **state)
{
	struct fx *f = *state;
	struct job_like w = { .f = f, .i = 7, .no_undo = true };
	long long g = 0;
	pthread_t t;
	int r;

	vrd_start(f, "30");
	assert_int_equal(kill(f->vrd, SIGSTOP), 0);
	assert_int_equal(post_settle(f, 1, false, 1, 0, &r, &g), 0);
	assert_int_equal(r, -ETIMEDOUT);
	assert_int_equal(waiting(f), 0);
	assert_int_equal(pthread_create(&t, NULL, job_like_run, &w), 0);
	for (int n = 0; n < 1200 && waiting(f) < 1; n++)
		poll(NULL, 0, 25);
	assert_int_equal(waiting(f), 1);
	vrd_kill(f);
	vrd_start(f, "30");
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.pushed, -EHOSTUNREACH);
	assert_non_null(strstr(w.err, "(it closed the connection later)"));
}

struct worker {
	struct fx *f;
	int first, n, fails;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	long long gen;
	int r;

	for (int i = w->first; i < w->first + w->n; i++)
		if (post(w->f, i, false, 30, &r, &gen) != 200 || r != 0)
			w->fails++;
	return NULL;
}

/* Four threads, 15 batches each, one pool: all applied, at most four
 * connections ever opened. */
static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[4];
	pthread_t t[4];
	long long g0, g;

	vrd_start(f, "30");
	g0 = post_ok(f, 1000, false);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .f = f, .first = i * 15, .n = 15 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].fails, 0);
	}
	g = post_ok(f, 1001, false);
	assert_int_equal(g, g0 + 61);
	assert_true(connects(f) <= 4);
}

static void
test_bad_url(void **state)
{
	struct fx *f = *state;
	struct buf resp;
	int status = 0;

	buf_init(&resp);
	assert_int_equal(vrconn_post(f->pool, "ftp://127.0.0.1:1", "/v1/commands", TOKEN, "[]", 2,
	    1, 0, &status, &resp, NULL, 0), -EINVAL);
	buf_free(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_alive, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_server_closes_idle, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_vrd_restart, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_url, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_undo_after_late_threads16, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_undo_after_late_threads1, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_settle_bounds, fx_setup, fx_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
