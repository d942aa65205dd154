/* testutil.h: helpers shared by the unit tests (temporary directories,
 * whole files, batches applied the way vrd applies them, state snapshots). */
#ifndef VR_TESTUTIL_H
#define VR_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "doc.h"
#include "fileio.h"
#include "model.h"
#include "render.h"
#include "txn.h"

/* A copy of s with every ' turned into ", so JSON reads well in C. */
static inline char *
tu_json(const char *s)
{
	char *j = strdup(s);

	assert_non_null(j);
	for (char *p = j; *p; p++)
		if (*p == '\'')
			*p = '"';
	return j;
}

/* Parses single-quoted JSON (see tu_json). */
static inline int
tu_parse(const char *sq, struct cmd_batch *b, struct cmd_error *e)
{
	char *j = tu_json(sq);
	int r;

	memset(e, 0, sizeof(*e));
	r = cmd_batch_parse(j, strlen(j), b, e);
	free(j);
	return r;
}

static inline void
tu_mkdtemp(char *out, size_t len)
{
	snprintf(out, len, "/tmp/vr-unit.XXXXXX");
	assert_non_null(mkdtemp(out));
}

static inline int
tu_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static inline void
tu_rm_rf(const char *path)
{
	assert_int_equal(nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static inline char *
tu_path(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* The whole file at dir/name (NUL-terminated, caller frees), or NULL. */
static inline char *
tu_read(const char *dir, const char *name)
{
	char *p = tu_path(dir, name), *buf = NULL;
	size_t len;

	if (file_read_all(p, 64 * 1024 * 1024, &buf, &len) < 0)
		buf = NULL;
	free(p);
	return buf;
}

static inline void
tu_write(const char *dir, const char *name, const char *content, mode_t mode)
{
	char *p = tu_path(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(content);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static inline bool
tu_exists(const char *dir, const char *name)
{
	char *p = tu_path(dir, name);
	struct stat sb;
	bool ok = lstat(p, &sb) == 0;

	free(p);
	return ok;
}

/* Applies a single-quoted JSON batch to st as vrd does: all commands or
 * none.  Returns 0 or the failing command's negative errno (err set). */
static inline int
tu_apply(struct state *st, const char *sq, struct cmd_error *err)
{
	struct cmd_batch b;
	struct txn t;
	int r;

	if ((r = tu_parse(sq, &b, err)) < 0)
		return r;
	txn_begin(&t, st);
	for (size_t i = 0; i < b.n && r == 0; i++)
		r = txn_apply(&t, &b.v[i], (long)i, err);
	if (r < 0)
		txn_rollback(&t);
	txn_end(&t);
	cmd_batch_free(&b);
	return r;
}

/* Like tu_apply but fails the test unless the batch applies. */
static inline void
tu_apply_ok(struct state *st, const char *sq)
{
	struct cmd_error e;
	int r = tu_apply(st, sq, &e);

	if (r < 0)
		fail_msg("batch %s: r=%d status=%d index=%ld field=%s: %s", sq, r, e.status,
		    e.index, e.field, e.msg);
}

/* Everything observable about a state, as text: every rendered file, every
 * VM document and the MAC index.  Caller frees. */
static inline char *
tu_snapshot(const struct state *st)
{
	static const struct dnsmasq_paths paths = { "/h", "/o", "/a", "/l", "/hd", "/ad" };
	struct buf b;
	char *s;

	buf_init(&b);
	buf_addf(&b, "nvm %zu nmac %zu nnet %zu\n--dhcphosts\n", st->nvm, st->nmac, st->nnet);
	dhcp_hosts_render(st, &b);
	buf_adds(&b, "--dhcpopts\n");
	dhcp_opts_render(st, &b);
	buf_adds(&b, "--hosts\n");
	hosts_render(st, &b);
	buf_adds(&b, "--conf\n");
	dnsmasq_conf_render(st, &paths, &b);
	buf_adds(&b, "--networks\n");
	assert_int_equal(nets_doc_render(st, &b), 0);
	buf_adds(&b, "--vms\n");
	for (size_t i = 0; i < st->nvm; i++)
		assert_int_equal(vm_doc_render(st->by_ip[i], &b), 0);
	buf_adds(&b, "--by_mac\n");
	for (size_t i = 0; i < st->nmac; i++)
		buf_addf(&b, "%u\n", st->by_mac[i]->ip);
	s = buf_steal(&b, NULL);
	assert_non_null(s);
	return s;
}

#endif
