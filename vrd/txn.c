/* txn.c: all-or-nothing application of commands to the state, with an undo log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "txn.h"

static uint64_t txn_serial;

void
txn_begin(struct txn *t, struct state *st)
{
	memset(t, 0, sizeof(*t));
	t->st = st;
	t->serial = ++txn_serial;
	memcpy(t->nets_before, st->nets, sizeof(st->nets));
	t->nnet_before = st->nnet;
}

/* Saves the VM at ip (or its absence) before its first change in this batch. */
static int
txn_save(struct txn *t, uint32_t ip)
{
	struct vm *cur = state_vm(t->st, ip), *old = NULL;

	if (cur && cur->saved_in == t->serial)
		return 0;
	if (array_reserve(&t->u, &t->capu, t->nu + 1, sizeof(*t->u), 16) < 0)
		return -ENOMEM;
	if (cur && !(old = vm_clone(cur)))
		return -ENOMEM;
	t->u[t->nu].ip = ip;
	t->u[t->nu].old = old;
	t->nu++;
	if (cur)
		cur->saved_in = t->serial;
	return 0;
}

static int
txn_pw(struct txn *t, uint32_t ip, const char *pw)
{
	if (array_reserve(&t->pw, &t->cappw, t->npw + 1, sizeof(*t->pw), 16) < 0)
		return -ENOMEM;
	t->pw[t->npw].ip = ip;
	t->pw[t->npw].seq = t->npw;
	t->pw[t->npw].pw = pw;
	t->npw++;
	return 0;
}

/* Deletes everything the VR holds for ip: entry, metadata, pending password. */
static int
txn_drop(struct txn *t, uint32_t ip)
{
	int r;

	if ((r = txn_save(t, ip)) < 0)
		return r;
	vm_free(state_unlink(t->st, ip));
	return txn_pw(t, ip, NULL);
}

/* The VM at ip, created (with its creation saved) if absent. */
static int
txn_vm(struct txn *t, uint32_t ip, struct vm **out)
{
	struct vm *v;
	int r;

	if ((r = txn_save(t, ip)) < 0)
		return r;
	if ((v = state_vm(t->st, ip))) {
		*out = v;
		return 0;
	}
	if (!(v = vm_new(ip)))
		return -ENOMEM;
	v->saved_in = t->serial;
	if ((r = state_insert(t->st, v)) < 0) {
		vm_free(v);
		return r;
	}
	*out = v;
	return 0;
}

static int
check_ip_in_nets(struct txn *t, uint32_t ip, long index, const char *field,
    struct cmd_error *err)
{
	const struct net *n;
	char s[IP4_STRLEN];

	if (t->st->nnet == 0)
		return 0;
	ip4_format(ip, s);
	n = state_net_for(t->st, ip);
	if (!n) {
		cmd_error_set(err, 400, index, field, "%s %s is outside every guest network",
		    field, s);
		return -EINVAL;
	}
	if (ip == n->net || ip == (n->net | ~prefix_mask(n->prefix)) || ip == n->router) {
		cmd_error_set(err, 400, index, field, "%s %s is the network, broadcast or router "
		    "address of %s", field, s, n->dev);
		return -EINVAL;
	}
	return 0;
}

static int
dup_opt(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

/* A name that another VM of the same network holds, or that names the
 * router itself, would let one VM answer for another (or for the router). */
static int
check_host(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	const char *host = c->u.dhcp.host;
	const struct vm *o;
	char s[IP4_STRLEN];

	if (!host[0])
		return 0;
	if (host_is_router(t->st, host)) {
		cmd_error_set(err, 400, index, "host_name", "host_name \"%s\" is the router's own "
		    "name", host);
		return -EINVAL;
	}
	if ((o = state_host_holder(t->st, host, c->ip))) {
		ip4_format(o->ip, s);
		cmd_error_set(err, 409, index, "host_name", "host_name \"%s\" is held by %s in "
		    "the same network", host, s);
		return -EEXIST;
	}
	return 0;
}

static int
apply_dhcp_add(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	const struct cmd_dhcp *d = &c->u.dhcp;
	struct vm *other = state_vm_by_mac(t->st, d->mac), *v;
	bool reindex;
	int r;

	/* The MAC moved to another IP: what it had at the old IP is dropped. */
	if (other && other->ip != c->ip && (r = txn_drop(t, other->ip)) < 0)
		return r;
	v = state_vm(t->st, c->ip);
	/* The IP belonged to another VM: nothing of that VM may survive. */
	if (v && v->has_dhcp && memcmp(v->mac, d->mac, 6) && (r = txn_drop(t, c->ip)) < 0)
		return r;
	if ((r = check_host(t, c, index, err)) < 0 || (r = txn_vm(t, c->ip, &v)) < 0)
		return r;
	reindex = !v->has_dhcp || memcmp(v->mac, d->mac, 6) || strcmp(v->host, d->host);
	if (reindex)
		state_unindex(t->st, v);
	memcpy(v->mac, d->mac, 6);
	memcpy(v->host, d->host, sizeof(v->host));
	v->default_entry = d->default_entry;
	v->lease = d->lease;
	v->has_dhcp = true;
	if (reindex && (r = state_reindex(t->st, v)) < 0)
		return r;
	if ((r = dup_opt(&v->ipv6, d->ipv6)) < 0 || (r = dup_opt(&v->duid, d->duid)) < 0 ||
	    (r = dup_opt(&v->dns, d->dns)) < 0 || (r = dup_opt(&v->gw, d->gw)) < 0)
		return r;
	return 0;
}

static int
apply_dhcp_remove(struct txn *t, const struct cmd *c)
{
	struct vm *bymac = state_vm_by_mac(t->st, c->u.dhcp.mac), *v;
	int r;

	if (bymac && bymac->ip != c->ip && (r = txn_drop(t, bymac->ip)) < 0)
		return r;
	v = state_vm(t->st, c->ip);
	/* Another VM's entry holds this IP now: leave all of it alone. */
	if (v && v->has_dhcp && memcmp(v->mac, c->u.dhcp.mac, 6))
		return 0;
	return txn_drop(t, c->ip);
}

static int
apply_dhcpentry(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	int r;

	if (c->u.dhcp.remove)
		return apply_dhcp_remove(t, c);
	if ((r = check_ip_in_nets(t, c->ip, index, "ipv4_address", err)) < 0)
		return r;
	return apply_dhcp_add(t, c, index, err);
}

static int
apply_vmpassword(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	int r;

	if ((r = check_ip_in_nets(t, c->ip, index, "ip_address", err)) < 0)
		return r;
	return txn_pw(t, c->ip, c->u.password);
}

static int
apply_vmdata(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	struct vm *v;
	int r;

	if ((r = check_ip_in_nets(t, c->ip, index, "vm_ip_address", err)) < 0)
		return r;
	if ((r = txn_vm(t, c->ip, &v)) < 0)
		return r;
	for (size_t i = 0; i < c->u.data.n; i++) {
		const struct md_op *op = &c->u.data.ops[i];
		char *val = NULL;

		if (op->val) {
			if (!(val = malloc(op->len + 1)))
				return -ENOMEM;
			memcpy(val, op->val, op->len + 1);
		}
		if (op->userdata) {
			free(v->ud);
			v->ud = val;
			v->udlen = op->len;
			v->has_ud = val != NULL;
		} else if ((r = vm_md_set(v, op->key, val, op->len)) == -E2BIG) {
			cmd_error_set(err, 400, index, "vm_metadata", "a VM may hold at most %d "
			    "metadata keys", MD_KEYS_MAX);
			return r;
		} else if (r < 0) {
			return r;
		}
	}
	if (vm_is_empty(v))
		vm_free(state_unlink(t->st, c->ip));
	return 0;
}

static int
apply_guestnetwork(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	const struct net *n = &c->u.gn.net;
	struct state *st = t->st;
	size_t i;

	for (i = 0; i < st->nnet; i++)
		if (!strcmp(st->nets[i].dev, n->dev))
			break;
	if (!c->u.gn.add) {
		if (i < st->nnet) {
			memmove(&st->nets[i], &st->nets[i + 1], (st->nnet - i - 1) * sizeof(*n));
			st->nnet--;
		}
		return 0;
	}
	for (size_t j = 0; j < st->nnet; j++) {
		const struct net *o = &st->nets[j];
		uint32_t m = prefix_mask(o->prefix < n->prefix ? o->prefix : n->prefix);

		if (j != i && (o->net & m) == (n->net & m)) {
			cmd_error_set(err, 409, index, "cidr", "cidr overlaps guest network on %s",
			    o->dev);
			return -EEXIST;
		}
	}
	if (i == st->nnet) {
		if (st->nnet >= NET_MAX) {
			cmd_error_set(err, 409, index, "device", "a VR holds at most %d guest networks",
			    NET_MAX);
			return -ENOSPC;
		}
		st->nnet++;
	}
	st->nets[i] = *n;
	return 0;
}

int
txn_apply(struct txn *t, const struct cmd *c, long index, struct cmd_error *err)
{
	int r;

	switch (c->type) {
	case CMD_DHCPENTRY:
		r = apply_dhcpentry(t, c, index, err);
		break;
	case CMD_VMPASSWORD:
		r = apply_vmpassword(t, c, index, err);
		break;
	case CMD_VMDATA:
		r = apply_vmdata(t, c, index, err);
		break;
	case CMD_GUESTNETWORK:
		r = apply_guestnetwork(t, c, index, err);
		break;
	default:
		cmd_error_set(err, 400, index, "type", "unknown type");
		return -EINVAL;
	}
	if (r == -ENOMEM)
		cmd_error_set(err, 500, index, "", "out of memory");
	if (r == 0)
		t->counts[c->type]++;
	return r;
}

void
txn_end(struct txn *t)
{
	for (size_t i = 0; i < t->nu; i++)
		vm_free(t->u[i].old);
	free(t->u);
	free(t->pw);
	memset(t, 0, sizeof(*t));
}

struct undo_key {
	uint64_t k; /* ip << 32 | position: sorts by ip, then batch order */
	size_t i;
};

static int
undo_cmp_key(const void *a, const void *b)
{
	const struct undo_key *x = a, *y = b;

	return x->k < y->k ? -1 : x->k > y->k;
}

/* Pointers to the first undo entry of each IP (its state before the batch),
 * sorted by IP, in a new array.  Returns 0 or -ENOMEM. */
static int
undo_firsts(struct txn *t, size_t start, struct undo ***out, size_t *count)
{
	struct undo_key *keys;
	struct undo **v;
	size_t n = 0;

	*out = NULL;
	*count = 0;
	if (t->nu <= start)
		return 0;
	keys = malloc((t->nu - start) * sizeof(*keys));
	v = malloc((t->nu - start) * sizeof(*v));
	if (!keys || !v) {
		free(keys);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nu - start; i++) {
		keys[i].k = (uint64_t)t->u[start + i].ip << 32 | (uint32_t)i;
		keys[i].i = start + i;
	}
	qsort(keys, t->nu - start, sizeof(*keys), undo_cmp_key);
	for (size_t i = 0; i < t->nu - start; i++)
		if (i == 0 || keys[i].k >> 32 != keys[i - 1].k >> 32)
			v[n++] = &t->u[keys[i].i];
	free(keys);
	*out = v;
	*count = n;
	return 0;
}

static long
changes_from(struct txn *t, size_t start, struct txn_change **out)
{
	struct txn_change *ch;
	struct undo **first;
	size_t n = 0, nfirst;

	*out = NULL;
	if (undo_firsts(t, start, &first, &nfirst) < 0)
		return -ENOMEM;
	if (nfirst == 0)
		return 0;
	if (!(ch = malloc(nfirst * sizeof(*ch)))) {
		free(first);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nfirst; i++) {
		const struct vm *after = state_vm(t->st, first[i]->ip);

		if (vm_equal(first[i]->old, after))
			continue;
		ch[n].ip = first[i]->ip;
		ch[n].before = first[i]->old;
		ch[n].after = after;
		n++;
	}
	free(first);
	*out = ch;
	return (long)n;
}

long
txn_changes(struct txn *t, struct txn_change **out)
{
	return changes_from(t, 0, out);
}

long
txn_changes_since(struct txn *t, const struct txn_savepoint *sp, struct txn_change **out)
{
	return changes_from(t, sp->nu, out);
}

void
txn_savepoint(struct txn *t, struct txn_savepoint *sp)
{
	sp->nu = t->nu;
	sp->npw = t->npw;
	memcpy(sp->nets, t->st->nets, sizeof(sp->nets));
	sp->nnet = t->st->nnet;
	t->serial = ++txn_serial; /* a VM touched again is saved again, as at sp */
}

void
txn_rollback_to(struct txn *t, const struct txn_savepoint *sp)
{
	struct undo **first = NULL;
	size_t n = 0;

	for (size_t i = t->nu; i-- > sp->nu;)
		vm_free(state_unlink(t->st, t->u[i].ip));
	if (undo_firsts(t, sp->nu, &first, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!first[i]->old)
				continue;
			first[i]->old->saved_in = 0;
			if (state_insert(t->st, first[i]->old) == 0)
				first[i]->old = NULL;
		}
		free(first);
	}
	for (size_t i = sp->nu; i < t->nu; i++)
		vm_free(t->u[i].old);
	t->nu = sp->nu;
	if (t->npw > sp->npw)
		t->npw = sp->npw;
	memcpy(t->st->nets, sp->nets, sizeof(sp->nets));
	t->st->nnet = sp->nnet;
	t->serial = ++txn_serial;
}

void
txn_rollback(struct txn *t)
{
	struct undo **first = NULL;
	size_t n = 0;

	/* Unlink every VM the batch touched, then put back each IP's pre-batch
	 * VM (its first undo entry).  The arrays never hold more than before
	 * the batch, so re-inserting needs no memory they do not have. */
	for (size_t i = t->nu; i-- > 0;)
		vm_free(state_unlink(t->st, t->u[i].ip));
	if (undo_firsts(t, 0, &first, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!first[i]->old)
				continue;
			first[i]->old->saved_in = 0;
			if (state_insert(t->st, first[i]->old) == 0)
				first[i]->old = NULL; /* owned by the state again */
		}
		free(first);
	}
	memcpy(t->st->nets, t->nets_before, sizeof(t->nets_before));
	t->st->nnet = t->nnet_before;
}

bool
txn_nets_changed(const struct txn *t)
{
	if (t->nnet_before != t->st->nnet)
		return true;
	for (size_t i = 0; i < t->st->nnet; i++)
		if (!net_equal(&t->nets_before[i], &t->st->nets[i]))
			return true;
	return false;
}

static int
pw_cmp(const void *a, const void *b)
{
	const struct pw_op *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t
txn_password_ops(struct txn *t, const struct pw_op **out)
{
	size_t n = 0;

	if (t->npw > 0) /* t->pw is NULL without ops: qsort(NULL, 0) is undefined */
		if (t->npw > 1)
		qsort(t->pw, t->npw, sizeof(*t->pw), pw_cmp);
	for (size_t i = 0; i < t->npw; i++) {
		if (i + 1 < t->npw && t->pw[i + 1].ip == t->pw[i].ip)
			continue; /* a later op for the same IP wins */
		t->pw[n++] = t->pw[i];
	}
	t->npw = n;
	*out = t->pw;
	return n;
}
