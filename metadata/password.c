/* password.c: CloudStack's password server.  The pending password lives in
 * passwords/<ip> (written by vrd); it is removed only by the guest's
 * acknowledgement, and only if it is the one that guest was last sent, so a
 * password stored after the fetch survives the earlier one's ack. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "md.h"
#include "statedir.h"

#define PW_FILE_MAX 4096

enum pw_request
pw_request_parse(const char *domu_request)
{
	if (!domu_request)
		return PW_BAD;
	if (!strcmp(domu_request, "send_my_password"))
		return PW_SEND;
	if (!strcmp(domu_request, "saved_password"))
		return PW_SAVED;
	return PW_BAD;
}

int
pwstore_init(struct pwstore *p, const char *state_dir, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->dirfd = -1;
	if (asprintf(&p->dir, "%s/" STATE_PASSWORDS, state_dir) < 0) {
		p->dir = NULL;
		return err_set(err, errlen, -ENOMEM, "out of memory");
	}
	p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0 && errno != ENOENT)
		return err_set(err, errlen, -errno, "%s: %s", p->dir, strerror(errno));
	return 0;
}

void
pwstore_free(struct pwstore *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->sent[i]);
	free(p->sent);
	free(p->ip);
	free(p->dir);
	if (p->dirfd >= 0)
		close(p->dirfd);
}

/* The directory, opened once vrd has made it; with the lock held. */
static bool
pw_dir_ready(struct pwstore *p)
{
	if (p->dirfd < 0)
		p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return p->dirfd >= 0;
}

/* The slot remembering what ip was last sent, created if asked. */
static char **
sent_slot(struct pwstore *p, uint32_t ip, bool create)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ip[i] == ip)
			return &p->sent[i];
	if (!create)
		return NULL;
	if (p->n == p->cap) {
		size_t cap_ip = p->cap, cap_sent = p->cap; /* two arrays, one length */

		if (array_reserve(&p->ip, &cap_ip, p->n + 1, sizeof(*p->ip), 64) < 0 ||
		    array_reserve(&p->sent, &cap_sent, p->n + 1, sizeof(*p->sent), 64) < 0)
			return NULL;
		p->cap = cap_ip;
	}
	p->ip[p->n] = ip;
	p->sent[p->n] = NULL;
	return &p->sent[p->n++];
}

void
pw_send(struct pwstore *p, uint32_t ip, struct buf *out)
{
	char name[IP4_STRLEN], *pw = NULL, **slot;
	size_t len;

	ip4_format(ip, name);
	pthread_mutex_lock(&p->lock);
	if (!pw_dir_ready(p) || file_read_at(p->dirfd, name, PW_FILE_MAX, &pw, &len) < 0 ||
	    len == 0) {
		free(pw);
		pthread_mutex_unlock(&p->lock);
		buf_adds(out, "saved_password");
		return;
	}
	buf_add(out, pw, len);
	if ((slot = sent_slot(p, ip, true))) {
		free(*slot);
		*slot = pw;
		pw = NULL;
	}
	free(pw);
	pthread_mutex_unlock(&p->lock);
}

int
pw_saved(struct pwstore *p, uint32_t ip)
{
	char name[IP4_STRLEN], held[IP4_STRLEN + 16], *cur = NULL, **slot;
	const char *what = NULL;
	size_t len;
	int r = 0;

	ip4_format(ip, name);
	snprintf(held, sizeof(held), ".%s.ack.tmp", name);
	pthread_mutex_lock(&p->lock);
	slot = sent_slot(p, ip, false);
	if (!slot || !*slot || !pw_dir_ready(p))
		goto out; /* nothing was sent to it: nothing to acknowledge */
	/* Take the file out of vrd's way first: if vrd stores a newer password
	 * meanwhile, it lands beside ours and is not the one compared. */
	if (renameat(p->dirfd, name, p->dirfd, held) < 0) {
		if (errno == ENOENT)
			goto forget; /* gone already (vrd removed the VM) */
		r = -errno;
		what = "setting it aside";
		goto out;
	}
	if (file_read_at(p->dirfd, held, PW_FILE_MAX, &cur, &len) == 0 && len == strlen(*slot) &&
	    !memcmp(cur, *slot, len)) {
		if (unlinkat(p->dirfd, held, 0) < 0) {
			r = -errno;
			what = "removing it";
			/* pending again, under its own name, unless vrd stored a newer one */
			(void)renameat2(p->dirfd, held, p->dirfd, name, RENAME_NOREPLACE);
			goto out;
		}
	} else if (renameat2(p->dirfd, held, p->dirfd, name, RENAME_NOREPLACE) < 0) {
		(void)unlinkat(p->dirfd, held, 0); /* an even newer one is in place */
	}
	/* durable: after a power cut the guest must not get the acknowledged
	 * password again, nor lose a newer one left under the held name (vrd
	 * sweeps .*.tmp at start) */
	if ((r = fsync_dir(p->dirfd)) < 0) {
		what = "syncing the directory";
		goto out; /* a retry finds it gone and succeeds */
	}
forget:
	free(*slot);
	*slot = NULL;
out:
	pthread_mutex_unlock(&p->lock);
	free(cur);
	if (r < 0)
		log_warnx("passwords: %s: acknowledgement not applied (%s: %s); the password stays "
		    "pending", name, what, strerror(-r));
	return r;
}
