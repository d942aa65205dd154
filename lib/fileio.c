/* fileio.c: whole-file reads and atomic replacement (temp, fsync, rename, fsync dir). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int
file_read_at(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0, cap;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			char *nb;

			if (cap > max + 1) {
				r = -EFBIG;
				goto out;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + got, cap - got - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		r = -EFBIG;
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int
file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	return file_read_at(AT_FDCWD, path, max, out, len);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
af_stage(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
    uid_t uid, gid_t gid, bool sync, struct af_stage *out)
{
	int fd, r;

	if (strlen(name) >= sizeof(out->name) - 6 || strchr(name, '/'))
		return -ENAMETOOLONG;
	out->dirfd = dirfd;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->tmp, sizeof(out->tmp), ".%s.tmp", name);
	fd = openat(dirfd, out->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		out->tmp[0] = '\0';
		return -errno;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	if (uid != AF_KEEP_OWNER && fchown(fd, uid, gid) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = write_all(fd, buf, len)) < 0)
		goto fail;
	if (sync && fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	af_abort(out);
	return r;
}

int
af_commit(const struct af_stage *s)
{
	if (renameat(s->dirfd, s->tmp, s->dirfd, s->name) < 0)
		return -errno;
	return 0;
}

void
af_abort(struct af_stage *s)
{
	if (s->tmp[0]) {
		(void)unlinkat(s->dirfd, s->tmp, 0);
		s->tmp[0] = '\0';
	}
}

int
fsync_dir(int dirfd)
{
	return fsync(dirfd) < 0 ? -errno : 0;
}

int
af_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
    uid_t uid, gid_t gid)
{
	struct af_stage s;
	int r;

	if ((r = af_stage(dirfd, name, buf, len, mode, uid, gid, true, &s)) < 0)
		return r;
	if ((r = af_commit(&s)) < 0) {
		af_abort(&s);
		return r;
	}
	return fsync_dir(dirfd);
}

int
af_sweep(int dirfd)
{
	DIR *d;
	struct dirent *de;
	int fd, n = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' && l > 5 && !strcmp(de->d_name + l - 4, ".tmp") &&
		    unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

bool
file_equals(int dirfd, const char *name, const void *buf, size_t len)
{
	char *cur = NULL;
	size_t curlen = 0;
	bool eq;

	if (file_read_at(dirfd, name, len, &cur, &curlen) < 0)
		return false;
	eq = curlen == len && (len == 0 || memcmp(cur, buf, len) == 0);
	free(cur);
	return eq;
}
