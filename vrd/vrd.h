/* vrd.h: the control daemon's shared context. */
#ifndef VRD_VRD_H
#define VRD_VRD_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "httpd.h"
#include "metrics.h"
#include "model.h"
#include "store.h"

struct vrd {
	pthread_mutex_t lock;         /* guards everything below */
	struct state st;
	struct store store;
	struct metrics m;
	char *token;
	size_t token_len;
	const char *token_file;       /* the configuration's, re-read on SIGHUP */
	size_t max_body;
	char *dnsmasq_pid_file;
	bool manage_links;
	bool bindings;                /* address-bindings (only with manage_links) */
	struct guard *guard;          /* address bindings, with manage_links; else NULL */
	bool guard_dirty;             /* the kernel's bindings may differ: rebuild them whole */
	struct timespec last_reload;  /* CLOCK_REALTIME, 0 if never */
	time_t conf_written;          /* when vrd last changed dnsmasq.conf */
	volatile int fatal;           /* memory and disk disagree: exit for a replay */
	/* Group commit: batches arriving while one commits wait here; the
	 * thread that finds no commit running commits every queued batch with
	 * one journal and one sync (apply.c). */
	pthread_mutex_t qlock;        /* guards the four below (taken before lock, never inside) */
	pthread_cond_t qdone;
	struct pending *qhead, **qtail;
	bool committing;
};

/* vrd's routes, auth and refusals for lib/httpd.h's adapter (cls: v); rt must
 * outlive the server. */
void api_router_init(struct vrd *v, struct http_router *rt);

#endif
