/* txn.h: applies a batch of commands to the in-memory state, all or nothing.
 *
 * Every VM a command touches is saved (cloned) in the undo log before its
 * first change, so a failing command rolls the whole batch back and the
 * commit can tell exactly which VMs changed.  Pure: no I/O. */
#ifndef VRD_TXN_H
#define VRD_TXN_H

#include "cmd.h"
#include "model.h"

struct undo {
	uint32_t ip;
	struct vm *old;   /* the VM before the batch, NULL if it did not exist */
};

struct pw_op {
	uint32_t ip;
	size_t seq;
	const char *pw;   /* borrowed from the batch; NULL: delete the pending password */
};

struct txn {
	struct state *st;
	uint64_t serial;
	struct undo *u;
	size_t nu, capu;
	struct net nets_before[NET_MAX];
	size_t nnet_before;
	struct pw_op *pw;
	size_t npw, cappw;
	size_t counts[CMD_NTYPES];
	uint64_t gen_step;        /* generations the commit advances (batches of a group
	                           * that change something); 0: one */
};

/* Where one batch of a group committed together begins, so that it alone
 * can be rolled back. */
struct txn_savepoint {
	size_t nu, npw;
	struct net nets[NET_MAX];
	size_t nnet;
};

/* The change a batch made, for the commit. */
struct txn_change {
	uint32_t ip;
	const struct vm *before;  /* NULL: did not exist */
	const struct vm *after;   /* NULL: gone now */
};

void txn_begin(struct txn *t, struct state *st);
/* Applies one command.  Returns 0, or a negative errno with err set (400
 * invalid for the present state, 409 conflict, 500 out of memory). */
int txn_apply(struct txn *t, const struct cmd *c, long index, struct cmd_error *err);
/* Restores the state as it was at txn_begin. */
void txn_rollback(struct txn *t);
/* Marks where the next batch of a group begins. */
void txn_savepoint(struct txn *t, struct txn_savepoint *sp);
/* Restores the state as it was at the savepoint (the batches before it stay). */
void txn_rollback_to(struct txn *t, const struct txn_savepoint *sp);
/* Forgets the undo log (after a successful commit, or a rollback). */
void txn_end(struct txn *t);

/* The VMs whose stored document differs from before; *out is a new array
 * (caller frees), sorted by ip.  Returns the count or -ENOMEM. */
long txn_changes(struct txn *t, struct txn_change **out);
/* The same for the batches since the savepoint: before is the VM at it. */
long txn_changes_since(struct txn *t, const struct txn_savepoint *sp, struct txn_change **out);
bool txn_nets_changed(const struct txn *t);
/* The pending-password operations, last one per IP, sorted by IP.  Returns
 * the count; the array stays owned by t. */
size_t txn_password_ops(struct txn *t, const struct pw_op **out);

#endif
