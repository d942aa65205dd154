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

int
ipam_alloc(struct ipam *a, int64_t net_id, uint32_t *ip)
{
	struct ipam_net *n;
	uint32_t off;
	int r = -ENOSPC;

	pthread_mutex_lock(&a->mu);
	if (!(n = find(a, net_id))) {
		r = -ENOENT;
		goto out;
	}
	if (n->free == 0)
		goto out;
	for (off = 0; off < n->size; off += 8) {
		uint8_t b = n->used[off / 8];

		if (b == 0xff)
			continue;
		while (b & 1u) {
			b >>= 1;
			off++;
		}
		if (off >= n->size)
			break;
		mark(n, n->net + off);
		*ip = n->net + off;
		r = 0;
		break;
	}
out:
	pthread_mutex_unlock(&a->mu);
	return r;
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
