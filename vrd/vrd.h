/* vrd.h: the control daemon's shared context. */
#ifndef VRD_VRD_H
#define VRD_VRD_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "http.h"
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

/* The libmicrohttpd access handler and completion callback (cls: struct vrd). */
enum MHD_Result api_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload, size_t *upload_size,
    void **con_cls);
void api_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why);

#endif
