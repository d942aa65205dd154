/* ipam.c: per-network address bitmaps for guest NICs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ipam.h"

static void
mark(struct ipam_net *n, uint32_t ip)
{
	uint32_t off = ip - n->net;

	if (off < n->size && !(n->used[off / 8] & (1u << (off % 8)))) {
		n->used[off / 8] |= (uint8_t)(1u << (off % 8));
		n->free--;
	}
}

static struct ipam_net *
find(struct ipam *a, int64_t id)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->nets[i].id == id)
			return &a->nets[i];
	return NULL;
}

/* One network with its network, broadcast and gateway addresses taken. */
static int
fill_net(void *el, struct db_st *st, void *arg)
{
	struct ipam_net *n = el;

	(void)arg;
	n->id = db_col_int(st, 0);
	n->net = (uint32_t)db_col_int(st, 1);
	n->prefix = db_col_int(st, 2);
	n->gateway = (uint32_t)db_col_int(st, 3);
	n->size = (uint32_t)(~prefix_mask(n->prefix)) + 1u;
	n->free = n->size;
	if (!(n->used = calloc(n->size / 8 + 1, 1)))
		return -ENOMEM;
	mark(n, n->net);
	mark(n, n->net + n->size - 1);
	mark(n, n->gateway);
	return 0;
}

int
ipam_load(struct db *d, struct ipam *a)
{
	struct db_st *st = NULL;
	int rc, r;

	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->mu, NULL);
	db_lock(d);
	if ((r = db_load_rows(d, "SELECT id, net, prefix, gateway FROM network ORDER BY id",
	    &a->nets, &a->n, sizeof(*a->nets), fill_net, NULL)) < 0)
		goto out;
	if (!(st = db_stmt(d, "SELECT network_id, ip FROM nic"))) {
		r = -EIO;
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		struct ipam_net *n = find(a, db_col_int(st, 0));

		if (n)
			mark(n, (uint32_t)db_col_int(st, 1));
	}
	if (rc != DB_DONE) /* a partial load would hand out addresses in use */
		r = rc;
out:
	db_reset(st);
	db_unlock(d);
	if (r < 0)
		ipam_destroy(a);
	return r;
}

void
ipam_destroy(struct ipam *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->nets[i].used);
	free(a->nets);
	a->nets = NULL;
	a->n = 0;
	pthread_mutex_destroy(&a->mu);
}

/* The first free address at or after offset start (byte-aligned), wrapping. */
static int
alloc_from(struct ipam_net *n, uint32_t start, uint32_t *ip)
{
	uint32_t nbytes = (n->size + 7) / 8, i, off;

	for (i = 0; i < nbytes; i++) {
		uint8_t b = n->used[(start / 8 + i) % nbytes];

		if (b == 0xff)
			continue;
		off = (start / 8 + i) % nbytes * 8;
		while (b & 1u) {
			b >>= 1;
			off++;
		}
		if (off >= n->size)
			continue;
		mark(n, n->net + off);
		*ip = n->net + off;
		return 0;
	}
	return -ENOSPC;
}

int
ipam_alloc(struct ipam *a, int64_t net_id, uint32_t start, uint32_t *ip)
{
	struct ipam_net *n;
	int r = -ENOSPC;

	pthread_mutex_lock(&a->mu);
	if (!(n = find(a, net_id)))
		r = -ENOENT;
	else if (n->free > 0)
		r = alloc_from(n, n->size ? start % n->size : 0, ip);
	pthread_mutex_unlock(&a->mu);
	return r;
}

int
ipam_mark_taken(struct ipam *a, struct db *d, int64_t net_id)
{
	struct db_st *st = db_stmt(d, "SELECT ip FROM nic WHERE network_id = ?1");
	struct ipam_net *n;
	int rc;

	if (!st)
		return -EIO;
	db_bind_int(st, 1, net_id);
	pthread_mutex_lock(&a->mu);
	n = find(a, net_id);
	while ((rc = db_step(st)) == DB_ROW)
		if (n)
			mark(n, (uint32_t)db_col_int(st, 0));
	pthread_mutex_unlock(&a->mu);
	db_reset(st);
	return rc < 0 ? rc : 0;
}

void
ipam_release(struct ipam *a, int64_t net_id, uint32_t ip)
{
	struct ipam_net *n;
	uint32_t off;

	pthread_mutex_lock(&a->mu);
	if ((n = find(a, net_id)) && (off = ip - n->net) < n->size && ip != n->gateway &&
	    off != 0 && off != n->size - 1 && (n->used[off / 8] & (1u << (off % 8)))) {
		n->used[off / 8] &= (uint8_t)~(1u << (off % 8));
		n->free++;
	}
	pthread_mutex_unlock(&a->mu);
}
