/* journal.c: the redo journal that makes a batch all-or-nothing across a
 * crash: its format ("VRDJ1 GEN", then "W DIR NAME LEN" with the new
 * content or "D DIR NAME" per source file, then "END"), writing it durably
 * before a commit replaces any file, removing it after, and replaying an
 * unfinished one at start (store_open).  store.c decides what goes in it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "journal.h"
#include "model.h"
#include "statedir.h"

#define JOURNAL STATE_JOURNAL
#define JOURNAL_MAGIC "VRDJ1"

struct jentry {
	enum store_dir d;
	char name[64];
	const char *data;   /* NULL: remove */
	size_t len;
};

void
journal_begin(struct buf *j, uint64_t gen)
{
	buf_addf(j, JOURNAL_MAGIC " %" PRIu64 "\n", gen);
}

int
journal_end(struct buf *j)
{
	buf_adds(j, "END\n");
	if (j->oom)
		return -ENOMEM;
	return j->len > JOURNAL_MAX ? -EFBIG : 0;
}

void
journal_add(struct buf *j, enum store_dir d, const char *name, const char *data, size_t len)
{
	if (data) {
		buf_addf(j, "W %d %s %zu\n", (int)d, name, len);
		buf_add(j, data, len);
		buf_adds(j, "\n");
	} else {
		buf_addf(j, "D %d %s\n", (int)d, name);
	}
}

/* Parses a journal; calls fn for each entry.  Returns 0, -EINVAL if it is
 * not a complete journal. */
static int
journal_walk(const char *buf, size_t len, uint64_t *gen,
    int (*fn)(struct store *, const struct jentry *), struct store *s)
{
	const char *p = buf, *end = buf + len;
	char magic[8];
	int consumed = 0;

	if (sscanf(p, "%7s %" SCNu64 "\n%n", magic, gen, &consumed) != 2 || consumed == 0 ||
	    strcmp(magic, JOURNAL_MAGIC))
		return -EINVAL;
	p += consumed;
	while (p < end) {
		struct jentry e;
		char op;
		int d;
		size_t n = 0;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[128];
		int r;

		if (!nl || (size_t)(nl - p) >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (!strcmp(line, "END"))
			return p == end ? 0 : -EINVAL;
		memset(&e, 0, sizeof(e));
		if (sscanf(line, "%c %d %63s %zu", &op, &d, e.name, &n) < 3 || d < 0 || d >= SD_NDIRS)
			return -EINVAL;
		e.d = (enum store_dir)d;
		if (!store_name_valid(e.d, e.name))
			return -EINVAL;
		if (op == 'W') {
			if (n > (size_t)(end - p) || n + 1 > (size_t)(end - p) || p[n] != '\n')
				return -EINVAL;
			e.data = p;
			e.len = n;
			p += n + 1;
		} else if (op != 'D') {
			return -EINVAL;
		}
		if (fn && (r = fn(s, &e)) < 0)
			return r;
	}
	return -EINVAL; /* no END: torn */
}

static int
journal_apply_entry(struct store *s, const struct jentry *e)
{
	mode_t mode;
	uid_t uid;
	gid_t gid;

	if (!e->data) {
		if (unlinkat(s->fd[e->d], e->name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	store_file_mode(s, e->d, &mode, &uid, &gid);
	return af_write(s->fd[e->d], e->name, e->data, e->len, mode, uid, gid);
}

int
journal_write(int topfd, const struct buf *j)
{
	struct af_stage st;
	int r;

	if ((r = af_stage(topfd, JOURNAL, j->p, j->len, 0600, AF_KEEP_OWNER, 0, true, &st)) < 0 ||
	    (r = af_commit(&st)) < 0 || (r = fsync_dir(topfd)) < 0)
		af_abort(&st);
	return r;
}

void
journal_remove(int topfd, bool sync)
{
	(void)unlinkat(topfd, JOURNAL, 0);
	if (sync)
		(void)fsync_dir(topfd);
}

int
journal_replay(struct store *s, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len;
	uint64_t gen;
	int r;

	r = file_read_at(s->fd[SD_TOP], JOURNAL, JOURNAL_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG) {
		if ((r = store_quarantine(s, SD_TOP, JOURNAL, "over JOURNAL_MAX")) < 0)
			snprintf(err, errlen, "journal: %s", strerror(-r));
		return r;
	}
	if (r < 0)
		return err_set(err, errlen, r, "journal: %s", strerror(-r));
	/* Check it whole before touching anything.  vrd writes it whole or not
	 * at all (temporary name, rename), so a bad one was not vrd's: the batch
	 * it names was never acknowledged, and the state before it stands. */
	if (journal_walk(buf, len, &gen, NULL, s) < 0) {
		free(buf);
		if ((r = store_quarantine(s, SD_TOP, JOURNAL, "not a complete vrd journal")) < 0)
			snprintf(err, errlen, "journal: not a complete vrd journal, and it cannot be "
			    "moved aside: %s", strerror(-r));
		return r;
	}
	if ((r = journal_walk(buf, len, &gen, journal_apply_entry, s)) < 0 ||
	    (r = fsync_dir(s->fd[SD_VMS])) < 0 || (r = fsync_dir(s->fd[SD_PASSWORDS])) < 0 ||
	    (r = store_generation_write(s, gen, true, NULL)) < 0) {
		snprintf(err, errlen, "journal replay: %s", strerror(-r));
		free(buf);
		return r;
	}
	free(buf);
	if (unlinkat(s->fd[SD_TOP], JOURNAL, 0) < 0)
		return -errno;
	return fsync_dir(s->fd[SD_TOP]);
}
