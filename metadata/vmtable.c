/* vmtable.c: every VM's entry in memory, by IPv4, loaded from <state-dir>/vms
 * and kept current by an inotify thread: a document vrd renames into place
 * is served within milliseconds, a removed one is forgotten at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "md.h"
#include "statedir.h"

#define EMPTY 0u  /* 0.0.0.0 is never a VM */

int
vmtable_init(struct vmtable *t, const char *state_dir, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	pthread_rwlock_init(&t->lock, NULL);
	t->dirfd = -1;
	t->stopfd = -1;
	if (asprintf(&t->dir, "%s/" STATE_VMS, state_dir) < 0) {
		t->dir = NULL;
		return err_set(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

static size_t
slot_of(const struct vmtable *t, uint32_t ip)
{
	return (size_t)((ip * 2654435761u) & (t->cap - 1));
}

static int
table_grow(struct vmtable *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct md_entry **ns = calloc(ncap, sizeof(*ns));
	uint32_t *nip = calloc(ncap, sizeof(*nip));
	struct vmtable old = *t;

	if (!ns || !nip) {
		free(ns);
		free(nip);
		return -ENOMEM;
	}
	t->slot = ns;
	t->ip = nip;
	t->cap = ncap;
	for (size_t i = 0; i < old.cap; i++) {
		size_t j;

		if (old.ip[i] == EMPTY)
			continue;
		for (j = slot_of(t, old.ip[i]); t->ip[j] != EMPTY; j = (j + 1) & (t->cap - 1))
			;
		t->ip[j] = old.ip[i];
		t->slot[j] = old.slot[i];
	}
	free(old.slot);
	free(old.ip);
	return 0;
}

static size_t
find(const struct vmtable *t, uint32_t ip)
{
	size_t j;

	if (t->cap == 0)
		return SIZE_MAX;
	for (j = slot_of(t, ip); t->ip[j] != EMPTY; j = (j + 1) & (t->cap - 1))
		if (t->ip[j] == ip)
			return j;
	return SIZE_MAX;
}

/* Puts e in for ip (NULL: removes it), with the write lock held. */
static int
table_set(struct vmtable *t, uint32_t ip, struct md_entry *e)
{
	size_t j = find(t, ip);

	if (j != SIZE_MAX) {
		md_entry_free(t->slot[j]);
		if (e) {
			t->slot[j] = e;
			return 0;
		}
		/* backward-shift deletion keeps every probe chain intact */
		for (size_t k = (j + 1) & (t->cap - 1); t->ip[k] != EMPTY; k = (k + 1) & (t->cap - 1)) {
			size_t home = slot_of(t, t->ip[k]);

			if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
				t->ip[j] = t->ip[k];
				t->slot[j] = t->slot[k];
				j = k;
			}
		}
		t->ip[j] = EMPTY;
		t->slot[j] = NULL;
		t->n--;
		return 0;
	}
	if (!e)
		return 0;
	if ((t->n + 1) * 2 > t->cap) {
		int r = table_grow(t);

		if (r < 0)
			return r;
	}
	for (j = slot_of(t, ip); t->ip[j] != EMPTY; j = (j + 1) & (t->cap - 1))
		;
	t->ip[j] = ip;
	t->slot[j] = e;
	t->n++;
	return 0;
}

/* "<ipv4>.json" → ip, else 0. */
static uint32_t
name_ip(const char *name)
{
	char tmp[IP4_STRLEN + 8];
	size_t n = strlen(name);
	uint32_t ip;

	if (name[0] == '.' || n < 6 || n >= sizeof(tmp) || strcmp(name + n - 5, ".json"))
		return 0;
	memcpy(tmp, name, n - 5);
	tmp[n - 5] = '\0';
	return ip4_parse(tmp, &ip) == 0 ? ip : 0;
}

void
vmtable_refresh(struct vmtable *t, const char *name)
{
	uint32_t ip = name_ip(name);
	struct md_entry *e = NULL;
	char *buf = NULL, why[128];
	size_t len;
	int r;

	if (!ip || t->dirfd < 0)
		return;
	r = file_read_at(t->dirfd, name, VM_DOC_MAX, &buf, &len);
	if (r == 0 && (r = md_entry_parse(buf, len, &e, why, sizeof(why))) < 0)
		log_warnx("vms/%s: not served: %s", name, r == -EINVAL ? why : strerror(-r));
	else if (r < 0 && r != -ENOENT)
		log_err(r, "vms/%s: not served", name);
	free(buf);
	if (e && e->v->ip != ip) {
		log_warnx("vms/%s: its ip field names another address; not served", name);
		md_entry_free(e);
		e = NULL;
		r = -EINVAL;
	}
	if (r < 0 && r != -ENOENT)
		__atomic_add_fetch(&t->unreadable, 1, __ATOMIC_RELAXED);
	pthread_rwlock_wrlock(&t->lock);
	if (table_set(t, ip, e) < 0) {
		md_entry_free(e);
		log_warnx("vms/%s: out of memory", name);
	}
	pthread_rwlock_unlock(&t->lock);
}

static int
open_dir(struct vmtable *t)
{
	if (t->dirfd >= 0)
		return 0;
	t->dirfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return t->dirfd < 0 ? -errno : 0;
}

int
vmtable_load_all(struct vmtable *t)
{
	DIR *d;
	struct dirent *de;
	int fd, n = 0, r;

	if ((r = open_dir(t)) < 0)
		return r;
	if ((fd = dup(t->dirfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!name_ip(de->d_name))
			continue;
		vmtable_refresh(t, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Watches vms/ once it exists.  Until then the state directory is watched
 * for it, and while even that is missing (vr-metadata started before vrd
 * ever ran), it is looked for every 100 ms. */
static int
watch_setup(struct vmtable *t, int in, int *wd, int *pwd)
{
	char parent[PATH_MAX];

	if (*wd < 0 && open_dir(t) == 0) {
		*wd = inotify_add_watch(in, t->dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE |
		    IN_MOVED_FROM | IN_DELETE_SELF | IN_ONLYDIR);
		if (*wd >= 0)
			vmtable_load_all(t); /* whatever arrived before the watch */
	}
	if (*wd >= 0 || *pwd >= 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", t->dir);
	*strrchr(parent, '/') = '\0';
	*pwd = inotify_add_watch(in, parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
	return *pwd >= 0 ? 0 : -errno;
}

/* Waits for inotify events (or 100 ms when there is no watch yet); false
 * once vmtable_free asks the thread to end. */
static bool
watch_wait(struct vmtable *t, int in, bool watching)
{
	struct pollfd p[2] = { { t->stopfd, POLLIN, 0 }, { in, POLLIN, 0 } };

	while (poll(p, watching ? 2 : 1, watching ? -1 : 100) < 0)
		if (errno != EINTR)
			return false;
	return !(p[0].revents & POLLIN);
}

static void *
watch_thread(void *arg)
{
	struct vmtable *t = arg;
	char evbuf[64 * 1024] __attribute__((aligned(8)));
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), wd = -1, pwd = -1, events;

	for (;;) {
		bool watching = watch_setup(t, in, &wd, &pwd) == 0;
		ssize_t n;

		if (!watch_wait(t, in, watching))
			break;
		if (!watching)
			continue;
		n = read(in, evbuf, sizeof(evbuf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			log_warn("inotify");
			break;
		}
		events = 0;
		for (char *p = evbuf; p < evbuf + n; events++) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				vmtable_load_all(t);
			} else if (ev->wd == wd && (ev->mask & (IN_DELETE_SELF | IN_IGNORED))) {
				close(t->dirfd);
				t->dirfd = -1;
				wd = -1;
			} else if (ev->wd == wd && ev->len) {
				vmtable_refresh(t, ev->name);
			} else if (ev->wd == pwd && (ev->mask & IN_IGNORED)) {
				pwd = -1;
			}
		}
		if (events >= 64)
			malloc_trim(0); /* a burst of documents: hand back what parsing freed */
	}
	if (in >= 0)
		close(in);
	return NULL;
}

int
vmtable_watch(struct vmtable *t)
{
	int r;

	if ((t->stopfd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	if ((r = pthread_create(&t->watcher, NULL, watch_thread, t))) {
		close(t->stopfd);
		t->stopfd = -1;
		return -r;
	}
	return 0;
}

void
vmtable_free(struct vmtable *t)
{
	if (t->stopfd >= 0) {
		uint64_t one = 1;

		if (write(t->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(t->watcher, NULL);
		close(t->stopfd);
		t->stopfd = -1;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->ip[i] != EMPTY)
			md_entry_free(t->slot[i]);
	free(t->slot);
	free(t->ip);
	free(t->dir);
	if (t->dirfd >= 0)
		close(t->dirfd);
	pthread_rwlock_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
	t->dirfd = t->stopfd = -1;
}

const struct md_entry *
vmtable_get(struct vmtable *t, uint32_t ip)
{
	size_t j;

	pthread_rwlock_rdlock(&t->lock);
	j = find(t, ip);
	return j == SIZE_MAX ? NULL : t->slot[j];
}

void
vmtable_unlock(struct vmtable *t)
{
	pthread_rwlock_unlock(&t->lock);
}

size_t
vmtable_count(struct vmtable *t)
{
	size_t n;

	pthread_rwlock_rdlock(&t->lock);
	n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}
