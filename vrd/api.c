/* api.c: the control channel's HTTP routes: bearer-token auth, bounded JSON
 * bodies, POST /v1/commands and the read-only views. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "doc.h"
#include "guard.h"
#include "links.h"
#include "log.h"
#include "release.h"
#include "reload.h"
#include "token.h"
#include "txn.h"
#include "vrd.h"

#define TRIM_AFTER (1024 * 1024) /* body size after which freed memory is trimmed */

struct req {
	struct http_body body;
	bool replied;
	struct timespec start;
};

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, int status, long index, const char *field, const char *msg)
{
	json_t *e = json_object();

	json_object_set_new(e, "error", json_string(msg));
	json_object_set_new(e, "index", index >= 0 ? json_integer(index) : json_null());
	json_object_set_new(e, "field", field && *field ? json_string(field) : json_null());
	return http_reply_json(c, (unsigned)status, e);
}

static bool
authorized(struct vrd *v, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(h, strlen(h), v->token, v->token_len);
}

/* A refused request: counted, and logged with its source at most once a
 * second, the line saying how many went unlogged since the previous one, so
 * a token guesser leaves a trail without filling the journal. */
static void
auth_failed(struct vrd *v, struct MHD_Connection *c, const char *url)
{
	char from[HTTP_ADDR_STRLEN];
	struct timespec now;
	uint64_t unlogged = 0;
	bool log = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&v->lock);
	v->m.auth_failures++;
	v->m.batches[BR_UNAUTHORIZED] += !strcmp(url, "/v1/commands");
	if (now.tv_sec >= v->m.auth_next_log) {
		log = true;
		unlogged = v->m.auth_unlogged;
		v->m.auth_unlogged = 0;
		v->m.auth_next_log = now.tv_sec + 1;
	} else {
		v->m.auth_unlogged++;
	}
	pthread_mutex_unlock(&v->lock);
	if (!log)
		return;
	http_client_addr(c, from, sizeof(from));
	if (unlogged)
		log_warnx("api: refused a request from %s: missing or wrong bearer token "
		    "(and %llu more since the last such line)", from, (unsigned long long)unlogged);
	else
		log_warnx("api: refused a request from %s: missing or wrong bearer token", from);
}

/* --- POST /v1/commands ------------------------------------------------------- */

static void
count_batch(struct vrd *v, const struct cmd_batch *b, int status, bool ok)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->v[i].type >= CMD_NTYPES)
			continue;
		if (ok)
			v->m.cmds_ok[b->v[i].type]++;
		else
			v->m.cmds_rejected[b->v[i].type]++;
	}
	v->m.batches[batch_result_of(status)]++;
}

/* The index of the last guestnetwork command in b for dev, or -1. */
static long
net_cmd_index(const struct cmd_batch *b, const char *dev)
{
	for (size_t i = b->n; i-- > 0;)
		if (b->v[i].type == CMD_GUESTNETWORK && !strcmp(b->v[i].u.gn.net.dev, dev))
			return (long)i;
	return -1;
}

/* The index of the last command in b about the VM at ip (a vmdata first),
 * or -1. */
static long
last_cmd_for(const struct cmd_batch *b, uint32_t ip)
{
	long any = -1;

	for (size_t i = b->n; i-- > 0;) {
		if (b->v[i].type == CMD_GUESTNETWORK || b->v[i].ip != ip)
			continue;
		if (b->v[i].type == CMD_VMDATA)
			return (long)i;
		if (any < 0)
			any = (long)i;
	}
	return any;
}

/* Every device a batch adds a network on must exist. */
static int
check_devices(struct vrd *v, const struct txn *t, const struct cmd_batch *b,
    struct cmd_error *err)
{
	for (size_t i = 0; v->manage_links && i < v->st.nnet; i++) {
		const struct net *n = &v->st.nets[i];
		bool known = false;
		int r;

		for (size_t j = 0; j < t->nnet_before; j++)
			known |= net_equal(&t->nets_before[j], n);
		if (known)
			continue;
		if ((r = links_check(n->dev)) < 0) {
			cmd_error_set(err, r == -ENODEV ? 409 : 500, net_cmd_index(b, n->dev), "device", "device %s: %s",
			    n->dev, r == -ENODEV ? "no such interface on the router" : strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Drops dnsmasq's lease of every entry the batch removed or gave to another
 * MAC, so the IP can be handed out again and its old name stops resolving. */
static void
release_leases(struct vrd *v, struct txn *t)
{
	struct txn_change *ch;
	long n = txn_changes(t, &ch);

	if (n <= 0 || dnsmasq_pid(v->dnsmasq_pid_file) <= 0)
		goto out;
	for (long i = 0; i < n; i++) {
		const struct vm *was = ch[i].before, *now = ch[i].after;
		const struct net *net;
		char ip[IP4_STRLEN];
		int r;

		if (!was || !was->has_dhcp ||
		    (now && now->has_dhcp && !memcmp(now->mac, was->mac, 6)))
			continue;
		if (!(net = state_net_for(&v->st, was->ip)))
			continue; /* its network is gone, and the range with it */
		if ((r = dhcp_release_send(net->dev, net->router, was->ip, was->mac)) < 0) {
			ip4_format(was->ip, ip);
			log_err(r, "dnsmasq: releasing the lease of %s on %s", ip, net->dev);
		}
	}
out:
	free(ch);
}

/* Binds the batch's changed addresses before it is stored, so that a batch
 * is acknowledged only with its bindings in force.  A batch that changes the
 * guest networks (or follows a failed rebuild) rebuilds them whole after
 * the commit instead.  Returns 0 or a negative errno with err set. */
static int
guard_before_commit(struct vrd *v, struct txn *t, const struct txn_savepoint *sp,
    struct txn_change **ch, long *nch, struct cmd_error *err)
{
	char why[256];
	int r;

	*ch = NULL;
	*nch = 0;
	if (!v->guard || v->guard_dirty || txn_nets_changed(t))
		return 0;
	if ((*nch = txn_changes_since(t, sp, ch)) < 0) {
		cmd_error_set(err, 500, -1, "", "out of memory");
		return -ENOMEM;
	}
	if ((r = guard_apply(v->guard, &v->st, *ch, (size_t)*nch, why, sizeof(why))) < 0) {
		v->m.guard_failures++;
		v->guard_dirty = true; /* rebuilt once the batch is rolled back */
		log_warnx("commands: batch changing %ld VMs refused: address bindings: %s", *nch,
		    why);
		cmd_error_set(err, 500, -1, "", "address bindings: %s; nothing changed", why);
		free(*ch);
		*ch = NULL;
		*nch = 0;
	}
	return r;
}

/* A batch waiting for, or in, a group commit. */
struct pending {
	const struct cmd_batch *b;
	const struct timespec *start;
	struct cmd_error err;
	int r;
	uint64_t gen;
	bool done;
	struct pending *next;
	/* while its group commits */
	struct txn_savepoint sp;
	bool guarded;                 /* its bindings were applied before the commit */
	bool changed;                 /* it changes something: it gets a generation */
};

/* Applies one batch of a group on top of the ones before it: validated and
 * its bindings applied; on failure it alone is rolled back. */
static int
group_add(struct vrd *v, struct txn *t, struct pending *p)
{
	struct txn_change *ch = NULL;
	long nch = 0;
	int r = 0;

	p->changed = false;
	txn_savepoint(t, &p->sp);
	for (size_t i = 0; i < p->b->n && r == 0; i++)
		r = txn_apply(t, &p->b->v[i], (long)i, &p->err);
	if (r == 0)
		r = check_devices(v, t, p->b, &p->err);
	if (r == 0)
		r = guard_before_commit(v, t, &p->sp, &ch, &nch, &p->err);
	p->guarded = r == 0 && ch;
	free(ch);
	if (r < 0) {
		txn_rollback_to(t, &p->sp);
		return r;
	}
	/* what it changes, to give it a generation: a VM, a network, or a
	 * pending password other than the one on disk */
	if ((nch = txn_changes_since(t, &p->sp, &ch)) != 0 || t->st->nnet != p->sp.nnet)
		p->changed = true;
	for (size_t i = p->sp.npw; !p->changed && i < t->npw; i++)
		p->changed = !store_password_is(&v->store, t->pw[i].ip, t->pw[i].pw);
	for (size_t i = 0; !p->changed && i < t->st->nnet; i++)
		p->changed = !net_equal(&t->st->nets[i], &p->sp.nets[i]);
	free(ch);
	return 0;
}

/* Undoes the batches of a group whose commit failed, last first: each one's
 * bindings (recomputed: the state is then as that batch left it), then the
 * batch itself. */
static void
group_undo(struct vrd *v, struct txn *t, struct pending *list)
{
	struct pending *ok[64], *p;
	size_t n = 0;
	char why[256];

	for (p = list; p && n < 64; p = p->next)
		if (p->r == 0)
			ok[n++] = p;
	while (n-- > 0) {
		struct txn_change *ch = NULL;
		long nch;

		p = ok[n];
		if (p->guarded && !v->guard_dirty && (nch = txn_changes_since(t, &p->sp, &ch)) >= 0 &&
		    guard_revert(v->guard, &v->st, ch, (size_t)nch, why, sizeof(why)) < 0) {
			v->m.guard_failures++;
			v->guard_dirty = true;
			log_warnx("guard: putting the bindings back: %s; rebuilt at the next batch", why);
		}
		free(ch);
		txn_rollback_to(t, &p->sp);
	}
	txn_rollback(t);
}

static void commit_group(struct vrd *v, struct pending *list, size_t max);

/* The group's batches are applied in memory; makes them durable with one
 * journal and one sync.  On failure every batch is undone, and a group of
 * several is retried one batch at a time, so that each batch gets its own
 * outcome (only the batch over a limit is refused, say). */
static void
commit_applied(struct vrd *v, struct txn *t, struct pending *list, size_t n, uint64_t g0)
{
	struct commit_info ci;
	char why[256];
	uint64_t g = g0;
	int r;

	if ((r = store_commit(&v->store, t, &ci, why, sizeof(why))) < 0) {
		bool full = r == -ENOSPC || r == -EDQUOT;

		if (ci.fatal) {
			log_warnx("commands: the state directory is half-way; exiting so that "
			    "the restart replays the journal");
			v->fatal = 1;
			kill(getpid(), SIGTERM);
			txn_rollback(t);
		} else {
			group_undo(v, t, list);
		}
		txn_end(t);
		if (v->guard && v->guard_dirty) /* the table was changed behind vrd's back */
			vrd_guard_sync(v);
		if (n > 1 && !ci.fatal) {
			for (struct pending *p = list; p; p = p->next)
				if (p->r == 0) {
					struct pending *next = p->next;

					p->next = NULL;
					commit_group(v, p, 1);
					p->next = next;
				}
			return;
		}
		for (struct pending *p = list; p; p = p->next) {
			if (p->r < 0)
				continue;
			p->r = r;
			if (r == -EFBIG)
				cmd_error_set(&p->err, 413, ci.too_big_ip ?
				    last_cmd_for(p->b, ci.too_big_ip) : -1, ci.too_big_ip ? "vm_metadata" :
				    "", "%s; nothing changed", why);
			else
				cmd_error_set(&p->err, full ? 507 : 500, -1, "", "%s%s",
				    full ? "disk full, nothing changed: " : "", why);
			log_warnx("commands: batch of %zu not stored: %s", p->b->n, why);
		}
		return;
	}
	for (struct pending *p = list; p; p = p->next)
		if (p->r == 0)
			p->gen = ci.generation == g0 ? g0 : (g += p->changed);
	v->m.commits += ci.generation != g0;
	if (ci.hosts_changed || ci.conf_changed)
		release_leases(v, t);
	if (txn_nets_changed(t)) {
		if (v->manage_links && (r = vrd_links_sync(v, t->nets_before, t->nnet_before)) < 0)
			log_err(r, "commands: guest interfaces not fully set; retried at next start");
	}
	if (v->guard && (v->guard_dirty || txn_nets_changed(t)))
		vrd_guard_sync(v);
	txn_end(t);
	if (ci.conf_changed) {
		v->conf_written = time(NULL);
		log_info("commands: dnsmasq.conf changed (guest networks or non-default NICs): "
		    "dnsmasq reads it only at start and must be restarted "
		    "(vr-dnsmasq-reconf.path does that)");
	}
	if (ci.hosts_changed)
		vrd_dnsmasq_reload(v);
	if (ci.files)
		log_info("commands: applied %zu batch(es), generation %" PRIu64 ", %zu files", n,
		    ci.generation, ci.files);
}

/* Validates the queued batches in order, each on top of those before it,
 * and commits those that pass together (group commit).  Sets each one's r,
 * err and gen.  Called with v->lock held. */
static void
commit_group(struct vrd *v, struct pending *list, size_t max)
{
	struct txn t;
	uint64_t g0 = v->st.generation, step = 0;
	size_t n = 0;

	txn_begin(&t, &v->st);
	for (struct pending *p = list; p && n < max; p = p->next, n++) {
		p->r = group_add(v, &t, p);
		step += p->r == 0 && p->changed;
	}
	t.gen_step = step;
	commit_applied(v, &t, list, n, g0);
}

/* Queues the batch; the first thread to find no commit running commits
 * every batch queued by then, the others wait for it.  Returns 0 with *gen,
 * or a negative errno with err set. */
static int
commands_apply(struct vrd *v, const struct cmd_batch *b, const struct timespec *start,
    uint64_t *gen, struct cmd_error *err)
{
	struct pending me = { .b = b, .start = start };

	pthread_mutex_lock(&v->qlock);
	*v->qtail = &me;
	v->qtail = &me.next;
	while (!me.done) {
		struct pending *list, *p, *next;
		size_t n = 0;

		if (v->committing) {
			pthread_cond_wait(&v->qdone, &v->qlock);
			continue;
		}
		/* at most 64 at once (group_undo's bound); the rest go next round */
		list = p = v->qhead;
		for (n = 1; p->next && n < 64; n++)
			p = p->next;
		v->qhead = p->next;
		if (!v->qhead)
			v->qtail = &v->qhead;
		p->next = NULL;
		v->committing = true;
		pthread_mutex_unlock(&v->qlock);
		pthread_mutex_lock(&v->lock);
		commit_group(v, list, n);
		for (p = list; p; p = p->next) {
			count_batch(v, p->b, p->r < 0 ? p->err.status : 200, p->r == 0);
			metrics_observe(&v->m, elapsed(p->start));
		}
		pthread_mutex_unlock(&v->lock);
		pthread_mutex_lock(&v->qlock);
		for (p = list; p; p = next) {
			next = p->next;
			p->done = true; /* its thread may free it from here on */
		}
		v->committing = false;
		pthread_cond_broadcast(&v->qdone);
	}
	pthread_mutex_unlock(&v->qlock);
	*gen = me.gen;
	if (me.r < 0)
		*err = me.err;
	return me.r;
}

/* The vmdata triples left out of an applied batch: logged, and listed in the
 * reply as "skipped": [{"index": I, "ip": IP, "error": WHY}]. */
static void
skipped_report(const struct cmd_batch *b, json_t *reply)
{
	json_t *arr = NULL;
	char ip[IP4_STRLEN];

	for (size_t i = 0; i < b->n; i++) {
		const struct cmd *c = &b->v[i];

		if (c->type != CMD_VMDATA)
			continue;
		ip4_format(c->ip, ip);
		for (size_t k = 0; k < c->u.data.nskipped; k++) {
			log_warnx("commands: vmdata for %s: left out %s", ip, c->u.data.skipped[k]);
			if (!arr && !(arr = json_array()))
				return;
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
			    "ip", ip, "error", c->u.data.skipped[k]));
		}
	}
	if (arr)
		json_object_set_new(reply, "skipped", arr);
}

static enum MHD_Result
route_commands(struct vrd *v, struct MHD_Connection *c, struct req *rq)
{
	struct cmd_batch b;
	struct cmd_error err = { 0 };
	uint64_t gen = 0;
	bool large;
	json_t *ok;
	int r;

	r = cmd_batch_parse(rq->body.b.p ? rq->body.b.p : "", rq->body.b.len, &b, &err);
	large = rq->body.b.len >= TRIM_AFTER;
	buf_free(&rq->body.b); /* parsed: the text is not needed any more */
	pthread_mutex_lock(&v->lock);
	if (r < 0) {
		v->m.batches[batch_result_of(err.status)]++;
		pthread_mutex_unlock(&v->lock);
		return reply_error(c, err.status, err.index, err.field, err.msg);
	}
	pthread_mutex_unlock(&v->lock);
	r = commands_apply(v, &b, &rq->start, &gen, &err);
	if (large)
		malloc_trim(0); /* hand a big batch's transient memory back */
	if (r < 0) {
		cmd_batch_free(&b);
		return reply_error(c, err.status, err.index, err.field, err.msg);
	}
	ok = json_object();
	json_object_set_new(ok, "applied", json_integer((json_int_t)b.n));
	json_object_set_new(ok, "generation", json_integer((json_int_t)gen));
	skipped_report(&b, ok);
	cmd_batch_free(&b);
	return http_reply_json(c, 200, ok);
}

/* --- views ------------------------------------------------------------------- */

static json_t *
vm_view(struct vrd *v, const struct vm *vm)
{
	json_t *o = vm_doc(vm, false);

	if (o)
		json_object_set_new(o, "has_password", json_boolean(store_has_password(&v->store, vm->ip)));
	return o;
}

static enum MHD_Result
route_vms(struct vrd *v, struct MHD_Connection *c, const char *rest)
{
	json_t *out;
	uint32_t ip;

	if (*rest == '\0') {
		pthread_mutex_lock(&v->lock);
		out = json_array();
		for (size_t i = 0; out && i < v->st.nvm; i++)
			json_array_append_new(out, vm_view(v, v->st.by_ip[i]));
		pthread_mutex_unlock(&v->lock);
		return http_reply_json(c, out ? 200 : 500, out);
	}
	if (ip4_parse(rest, &ip) < 0)
		return reply_error(c, 400, -1, "ip", "not an IPv4 address");
	pthread_mutex_lock(&v->lock);
	out = state_vm(&v->st, ip) ? vm_view(v, state_vm(&v->st, ip)) : NULL;
	pthread_mutex_unlock(&v->lock);
	if (!out)
		return reply_error(c, 404, -1, "ip", "no such VM");
	return http_reply_json(c, 200, out);
}

static int
count_passwords(struct vrd *v)
{
	int n = 0;

	for (size_t i = 0; i < v->st.nvm; i++)
		n += store_has_password(&v->store, v->st.by_ip[i]->ip);
	return n;
}

static enum MHD_Result
route_state(struct vrd *v, struct MHD_Connection *c, const char *rest)
{
	json_t *o = json_object(), *paths = json_object(), *dm = json_object(), *nets = json_array();
	pid_t pid = dnsmasq_pid(v->dnsmasq_pid_file);

	(void)rest;
	pthread_mutex_lock(&v->lock);
	json_object_set_new(o, "generation", json_integer((json_int_t)v->st.generation));
	json_object_set_new(o, "vms", json_integer((json_int_t)v->st.nvm));
	json_object_set_new(o, "dhcp_entries", json_integer((json_int_t)v->st.nmac));
	json_object_set_new(o, "pending_passwords", json_integer(count_passwords(v)));
	json_object_set_new(o, "quarantined", json_integer((json_int_t)v->m.quarantined));
	for (size_t i = 0; i < v->st.nnet; i++)
		json_array_append_new(nets, net_doc(&v->st.nets[i]));
	json_object_set_new(o, "networks", nets);
	json_object_set_new(paths, "state_dir", json_string(v->store.dir));
	json_object_set_new(paths, "dhcphosts", json_string(v->store.paths.hostsfile));
	json_object_set_new(paths, "dhcpopts", json_string(v->store.paths.optsfile));
	json_object_set_new(paths, "hosts", json_string(v->store.paths.addnhosts));
	json_object_set_new(paths, "dnsmasq_lease_file", json_string(v->store.paths.leasefile));
	json_object_set_new(paths, "dnsmasq_pid_file", json_string(v->dnsmasq_pid_file));
	json_object_set_new(o, "paths", paths);
	json_object_set_new(dm, "pid", pid > 0 ? json_integer(pid) : json_null());
	json_object_set_new(dm, "running", json_boolean(pid > 0));
	json_object_set_new(dm, "reloads", json_integer((json_int_t)v->m.reloads));
	json_object_set_new(dm, "last_reload", v->last_reload.tv_sec ?
	    json_real((double)v->last_reload.tv_sec + v->last_reload.tv_nsec / 1e9) : json_null());
	json_object_set_new(dm, "conf_changed_at", v->conf_written ?
	    json_integer((json_int_t)v->conf_written) : json_null());
	json_object_set_new(o, "dnsmasq", dm);
	pthread_mutex_unlock(&v->lock);
	return http_reply_json(c, 200, o);
}

static enum MHD_Result
route_healthz(struct vrd *v, struct MHD_Connection *c, const char *rest)
{
	int r;

	(void)rest;
	pthread_mutex_lock(&v->lock);
	r = store_writable(&v->store);
	pthread_mutex_unlock(&v->lock);
	if (r < 0)
		return reply_error(c, 503, -1, "", "state directory not writable");
	return http_reply(c, 200, "text/plain", "ok\n", 3);
}

static enum MHD_Result
route_metrics(struct vrd *v, struct MHD_Connection *c, const char *rest)
{
	struct buf b;
	enum MHD_Result ret;

	(void)rest;
	buf_init(&b);
	pthread_mutex_lock(&v->lock);
	metrics_render(&v->m, v->st.generation, v->st.nvm, v->st.nnet, &b);
	pthread_mutex_unlock(&v->lock);
	ret = b.oom ? reply_error(c, 500, -1, "", "out of memory")
		    : http_reply(c, 200, "text/plain; version=0.0.4", b.p, b.len);
	buf_free(&b);
	return ret;
}

typedef enum MHD_Result (*route_fn)(struct vrd *v, struct MHD_Connection *c, const char *rest);

static const struct route {
	const char *method;
	const char *path;
	bool prefix;      /* path is a prefix; the rest goes to the handler */
	route_fn fn;
} routes[] = {
	{ "GET", "/v1/vms", false, route_vms },
	{ "GET", "/v1/vms/", true, route_vms },
	{ "GET", "/v1/state", false, route_state },
	{ "GET", "/healthz", false, route_healthz },
	{ "GET", "/metrics", false, route_metrics },
};

static enum MHD_Result
dispatch(struct vrd *v, struct MHD_Connection *c, const char *url, const char *method,
    struct req *rq)
{
	bool path_known = false;

	if (!strcmp(url, "/v1/commands")) {
		if (!strcmp(method, "POST"))
			return route_commands(v, c, rq);
		return reply_error(c, 405, -1, "", "use POST");
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);

		if (rt->prefix ? strncmp(url, rt->path, n) != 0 : strcmp(url, rt->path) != 0)
			continue;
		path_known = true;
		if (!strcmp(method, rt->method) || (!strcmp(method, "HEAD") && !strcmp(rt->method, "GET")))
			return rt->fn(v, c, rt->prefix ? url + n : "");
	}
	if (path_known)
		return reply_error(c, 405, -1, "", "method not allowed");
	return reply_error(c, 404, -1, "", "no such path");
}

enum MHD_Result
api_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct vrd *v = cls;
	struct req *rq = *con_cls;
	const char *cl;

	(void)version;
	if (!rq) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->body.max = v->max_body;
		buf_init(&rq->body.b);
		*con_cls = rq;
		if (!authorized(v, c)) {
			auth_failed(v, c, url);
			rq->replied = true;
			return reply_error(c, 401, -1, "Authorization", "missing or wrong bearer token");
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > v->max_body) {
			rq->replied = true;
			return reply_error(c, 413, -1, "", "body is over max-body");
		}
		return MHD_YES;
	}
	if (rq->replied) {
		*upload_size = 0; /* drain what the client still sends */
		return MHD_YES;
	}
	if (!http_body_step(&rq->body, upload, upload_size))
		return MHD_YES;
	rq->replied = true;
	if (rq->body.too_big) {
		pthread_mutex_lock(&v->lock);
		v->m.batches[BR_TOO_LARGE]++;
		pthread_mutex_unlock(&v->lock);
		return reply_error(c, 413, -1, "", "body is over max-body");
	}
	if (rq->body.b.oom)
		return reply_error(c, 500, -1, "", "out of memory");
	return dispatch(v, c, url, method, rq);
}

void
api_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (rq) {
		buf_free(&rq->body.b);
		free(rq);
		*con_cls = NULL;
	}
}
