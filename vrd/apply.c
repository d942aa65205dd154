/* apply.c: the batch pipeline: a batch queued for the group commit,
 * applied in memory (txn.c), its devices checked, its address bindings
 * applied (guard.c), made durable (store.c, journal.c), then the DHCP
 * leases it removed released, the guest interfaces set (links.c) and
 * dnsmasq signalled.  api.c calls apply_batch() for POST /v1/commands. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "apply.h"
#include "guard.h"
#include "links.h"
#include "log.h"
#include "release.h"
#include "reload.h"
#include "txn.h"
#include "vrd.h"

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

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
 * the commit instead.  Returns 0 or a negative errno with err set; on 0,
 * *ch and *nch are the batch's changes if it computed them (the caller
 * frees *ch), else NULL and -1. */
static int
guard_before_commit(struct vrd *v, struct txn *t, const struct txn_savepoint *sp,
    struct txn_change **ch, long *nch, struct cmd_error *err)
{
	char why[256];
	int r;

	*ch = NULL;
	*nch = -1;
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
		*nch = -1;
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
	long nch = -1;
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
	if (r < 0) {
		free(ch);
		txn_rollback_to(t, &p->sp);
		return r;
	}
	/* what it changes, to give it a generation: a VM, a network, or a
	 * pending password other than the one on disk (its changes computed
	 * once: guard_before_commit may have done it) */
	if (nch < 0)
		nch = txn_changes_since(t, &p->sp, &ch);
	if (nch != 0 || t->st->nnet != p->sp.nnet)
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
			apply_guard_sync(v);
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
		if (v->manage_links && (r = apply_links_sync(v, t->nets_before, t->nnet_before)) < 0)
			log_err(r, "commands: guest interfaces not fully set; retried at next start");
	}
	if (v->guard && (v->guard_dirty || txn_nets_changed(t)))
		apply_guard_sync(v);
	txn_end(t);
	if (ci.conf_changed) {
		v->conf_written = time(NULL);
		log_info("commands: dnsmasq.conf changed (guest networks or non-default NICs): "
		    "dnsmasq reads it only at start and must be restarted "
		    "(vr-dnsmasq-reconf.path does that)");
	}
	if (ci.hosts_changed)
		apply_dnsmasq_reload(v);
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
int
apply_batch(struct vrd *v, const struct cmd_batch *b, const struct timespec *start,
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

void
apply_dnsmasq_reload(struct vrd *v)
{
	pid_t pid = dnsmasq_reload(v->dnsmasq_pid_file);

	if (pid > 0) {
		v->m.reloads++;
		clock_gettime(CLOCK_REALTIME, &v->last_reload);
		log_debug("dnsmasq: SIGHUP sent to pid %d", (int)pid);
		return;
	}
	v->m.reload_failures++;
	log_warnx("dnsmasq: not signalled (pid file %s: %s); the state is written and dnsmasq "
	    "reads it when it starts", v->dnsmasq_pid_file,
	    pid == -ESRCH ? "no dnsmasq with that pid" : strerror((int)-pid));
}

static bool
net_in(const struct net *n, const struct net *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (net_equal(n, &set[i]))
			return true;
	return false;
}

int
apply_links_sync(struct vrd *v, const struct net *before, size_t nbefore)
{
	int r, first = 0;

	for (size_t i = 0; i < nbefore; i++) {
		if (net_in(&before[i], v->st.nets, v->st.nnet))
			continue;
		if ((r = links_net_down(&before[i])) < 0) {
			log_err(r, "links: %s: removing addresses", before[i].dev);
			first = first ? first : r;
		}
	}
	for (size_t i = 0; i < v->st.nnet; i++) {
		if (before && net_in(&v->st.nets[i], before, nbefore))
			continue;
		if ((r = links_net_up(&v->st.nets[i])) < 0) {
			log_err(r, "links: %s: adding addresses", v->st.nets[i].dev);
			first = first ? first : r;
		} else {
			log_info("links: %s up with its router address and 169.254.169.254/32",
			    v->st.nets[i].dev);
		}
	}
	return first;
}

void
apply_guard_sync(struct vrd *v)
{
	char err[512];
	int r;

	if (!v->guard)
		return;
	if ((r = guard_sync(v->guard, &v->st, err, sizeof(err))) < 0) {
		v->m.guard_failures++;
		v->guard_dirty = true;
		log_warnx("guard: address bindings not in force: %s; retried at the next batch", err);
		return;
	}
	v->guard_dirty = false;
}
