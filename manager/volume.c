/* volume.c: volume prep on a file pool: the template converted to qcow2 once per pool (qemu-img,
 * under a lock), ROOT volumes as natively written qcow2 overlays, removal. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fileio.h"
#include "qcow2.h"
#include "volume.h"

extern char **environ;

#define QEMU_IMG_DEFAULT	"qemu-img"
#define QEMU_IMG_STDERR_MAX	1024
#define TEMPLATE_MODE		0644
#define OVERLAY_MODE		0600
/* "template-<id>.qcow2", ".template-<id>.lock" */
#define NAME_BUF		(VOLUME_TEMPLATE_ID_MAX + 16)
#define QCOW2_IMAGE_MIN		(3 * 65536)	/* header, refcount table and block clusters */

static bool
template_id_valid(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++) {
		char c = id[n];

		if (n >= VOLUME_TEMPLATE_ID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* Copies the first line of msg (at most len bytes) into err; returns r. */
static int
err_first_line(char *err, size_t errlen, int r, const char *what, const char *msg, size_t len)
{
	size_t n = 0;

	while (n < len && msg[n] != '\n' && msg[n] != '\0')
		n++;
	return err_set(err, errlen, r, "%s: %.*s", what, (int)n, msg);
}

/* Runs argv (argv[0] looked up on PATH) with stdin and stdout on /dev/null and stderr captured.
 * Returns 0 on exit status 0; -ENOSPC if stderr says so; -EIO for another failure (err gets
 * stderr's first line); -ENOEXEC if it could not be found or run. */
static int
qemu_img_run(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	char msg[QEMU_IMG_STDERR_MAX];
	size_t got = 0;
	int pfd[2], status, r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return err_set(err, errlen, r == ENOENT || r == EACCES ? -ENOEXEC : -r,
		    "%s: cannot run: %s", argv[0], strerror(r));
	}
	for (;;) {
		char sink[512];
		ssize_t n;

		if (got < sizeof(msg) - 1)
			n = read(pfd[0], msg + got, sizeof(msg) - 1 - got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(msg) - 1)
			got += (size_t)n;
	}
	msg[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			r = -errno;
			return err_set(err, errlen, r, "%s: waitpid: %s", argv[0], strerror(errno));
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	r = strstr(msg, "No space left on device") ? -ENOSPC : -EIO;
	if (got > 0)
		return err_first_line(err, errlen, r, argv[0], msg, got);
	if (WIFSIGNALED(status))
		return err_set(err, errlen, r, "%s: killed by signal %d", argv[0], WTERMSIG(status));
	return err_set(err, errlen, r, "%s: exit status %d", argv[0], WEXITSTATUS(status));
}

/* "qcow2" if the file starts with a qcow2 header, else "raw".  0 or -errno. */
static int
template_format(const char *path, const char **fmt)
{
	unsigned char hdr[QCOW2_HEADER_MIN];
	uint64_t size;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r = 0;

	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		r = -errno;
	else
		*fmt = qcow2_header_parse(hdr, (size_t)n, &size) == 0 ? "qcow2" : "raw";
	close(fd);
	return r;
}

/* Takes flock on dirfd/name, creating it; retries if the file was removed by a previous holder
 * while this caller waited.  Returns the locked fd or -errno. */
static int
lock_take(int dirfd, const char *name)
{
	for (;;) {
		struct stat held, named;
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				int r = -errno;

				close(fd);
				return r;
			}
		}
		if (fstat(fd, &held) == 0 && fstatat(dirfd, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
}

/* Removes the lock file while still holding it, then releases it. */
static void
lock_drop(int dirfd, const char *name, int fd)
{
	(void)unlinkat(dirfd, name, 0);
	close(fd);
}

int
volume_pool_sweep(int dirfd)
{
	int fd, n, dfd;
	struct dirent *de;
	DIR *d;

	if ((n = af_sweep(dirfd)) < 0)
		return n;
	if ((dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (strncmp(de->d_name, ".template-", 10) || l < 16 ||
		    strcmp(de->d_name + l - 5, ".lock"))
			continue;
		fd = openat(dirfd, de->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) { /* nobody holds it: stale */
			lock_drop(dirfd, de->d_name, fd);
			n++;
		} else {
			close(fd);
		}
	}
	closedir(d);
	return n;
}

static bool
exists_at(int dirfd, const char *name)
{
	struct stat sb;

	return fstatat(dirfd, name, &sb, 0) == 0;
}

static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Converts template (absolute) to pool/name via pool/.name.tmp; the caller holds the lock. */
static int
template_convert(int dirfd, const char *pool, const char *name, const char *template,
    char *err, size_t errlen)
{
	char tmp[PATH_MAX], tmpname[NAME_BUF + 8];
	const char *qemu_img = getenv("QEMU_IMG"), *fmt = "raw";
	struct statvfs vfs;
	int r;

	if (!qemu_img || !*qemu_img)
		qemu_img = QEMU_IMG_DEFAULT;
	if ((r = template_format(template, &fmt)) < 0)
		return err_set(err, errlen, r, "template %s: %s", template, strerror(-r));
	if (fstatvfs(dirfd, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < QCOW2_IMAGE_MIN)
		return err_set(err, errlen, -ENOSPC, "pool %s: no space left for the template", pool);
	snprintf(tmpname, sizeof(tmpname), ".%s.tmp", name);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", pool, tmpname) >= sizeof(tmp))
		return err_set(err, errlen, -ENAMETOOLONG, "pool %s: path too long", pool);
	char *const argv[] = { (char *)qemu_img, "convert", "-q", "-f", (char *)fmt, "-O", "qcow2",
		(char *)template, tmp, NULL };

	if ((r = qemu_img_run(argv, err, errlen)) < 0)
		goto out;
	if ((r = fsync_path(tmp)) < 0 || fchmodat(dirfd, tmpname, TEMPLATE_MODE, 0) < 0 ||
	    renameat(dirfd, tmpname, dirfd, name) < 0) {
		r = r < 0 ? r : -errno;
		err_set(err, errlen, r, "pool %s: %s: %s", pool, tmpname, strerror(-r));
		goto out;
	}
	if ((r = fsync_dir(dirfd)) < 0) {
		(void)unlinkat(dirfd, name, 0);
		err_set(err, errlen, r, "pool %s: fsync: %s", pool, strerror(-r));
	}
out:
	if (r < 0)
		(void)unlinkat(dirfd, tmpname, 0);
	return r;
}

int
volume_template_ensure(const char *pool_dir, const char *template_id, const char *template_path,
    char *cached, size_t cachedlen, char *err, size_t errlen)
{
	char pool[PATH_MAX], template[PATH_MAX], name[NAME_BUF], lockname[NAME_BUF];
	int dirfd = -1, lockfd = -1, r;
	size_t n;

	if (!pool_dir || !template_id || !template_path || !template_id_valid(template_id))
		return err_set(err, errlen, -EINVAL, "template id must be [A-Za-z0-9_-]{1,%d}",
		    VOLUME_TEMPLATE_ID_MAX);
	snprintf(name, sizeof(name), "template-%s.qcow2", template_id);
	snprintf(lockname, sizeof(lockname), ".template-%s.lock", template_id);
	if (!realpath(pool_dir, pool)) {
		r = -errno;
		return err_set(err, errlen, r, "pool %s: %s", pool_dir, strerror(errno));
	}
	n = (size_t)snprintf(cached, cachedlen, "%s/%s", pool, name);
	if (n >= cachedlen)
		return err_set(err, errlen, -ENAMETOOLONG, "pool %s: cached path longer than %zu",
		    pool, cachedlen);
	dirfd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = -errno;
		return err_set(err, errlen, r, "pool %s: %s", pool, strerror(errno));
	}
	if (exists_at(dirfd, name)) {
		r = 0;
		goto out;
	}
	if (!realpath(template_path, template)) {
		r = -errno;
		err_set(err, errlen, r, "template %s: %s", template_path, strerror(errno));
		goto out;
	}
	if ((lockfd = lock_take(dirfd, lockname)) < 0) {
		r = lockfd;
		err_set(err, errlen, r, "pool %s: lock %s: %s", pool, lockname, strerror(-r));
		goto out;
	}
	r = exists_at(dirfd, name) ? 0 : template_convert(dirfd, pool, name, template, err, errlen);
	lock_drop(dirfd, lockname, lockfd);
out:
	close(dirfd);
	return r;
}

/* Splits path into its directory (opened) and last component. */
static int
dir_open(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd;

	if (!slash) {
		*base = path;
		snprintf(dir, sizeof(dir), ".");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -ENAMETOOLONG;
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		*base = slash + 1;
	}
	if (**base == '\0' || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return -EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The virtual size from the qcow2 header of path. */
static int
qcow2_file_size(const char *path, uint64_t *size)
{
	unsigned char hdr[QCOW2_HEADER_MIN];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	r = n < 0 ? -errno : qcow2_header_parse(hdr, (size_t)n, size);
	close(fd);
	return r;
}

int
volume_overlay_create(const char *cached, const char *path, char *err, size_t errlen)
{
	char backing[PATH_MAX];
	struct af_stage st = { .dirfd = -1 };
	const char *base;
	uint64_t size;
	struct buf img;
	int dirfd, r;

	buf_init(&img);
	if ((dirfd = dir_open(path, &base)) < 0)
		return err_set(err, errlen, dirfd, "volume %s: %s", path, strerror(-dirfd));
	if (exists_at(dirfd, base)) {
		r = -EEXIST;
		err_set(err, errlen, r, "volume %s: %s", path, strerror(EEXIST));
		goto out;
	}
	if ((r = qcow2_file_size(cached, &size)) < 0) {
		err_set(err, errlen, r, "template %s: %s", cached, r == -EINVAL ? "not a qcow2 image" :
		    strerror(-r));
		goto out;
	}
	if (!realpath(cached, backing)) {
		r = -errno;
		err_set(err, errlen, r, "template %s: %s", cached, strerror(errno));
		goto out;
	}
	if ((r = qcow2_overlay_render(size, backing, "qcow2", &img)) < 0) {
		err_set(err, errlen, r, "volume %s: qcow2 overlay of %s: %s", path, backing,
		    strerror(-r));
		goto out;
	}
	if ((r = af_stage(dirfd, base, img.p, img.len, OVERLAY_MODE, AF_KEEP_OWNER, 0, true,
	    &st)) < 0) {
		err_set(err, errlen, r, "volume %s: %s", path, strerror(-r));
		goto out;
	}
	if (linkat(dirfd, st.tmp, dirfd, base, 0) < 0) {
		r = -errno;
		err_set(err, errlen, r, "volume %s: %s", path, strerror(errno));
		goto out;
	}
	af_abort(&st);
	if ((r = fsync_dir(dirfd)) < 0) {
		(void)unlinkat(dirfd, base, 0);
		err_set(err, errlen, r, "volume %s: fsync directory: %s", path, strerror(-r));
	}
out:
	if (st.dirfd >= 0)
		af_abort(&st);
	buf_free(&img);
	close(dirfd);
	return r;
}

int
volume_remove(const char *path)
{
	const char *base;
	int dirfd, r;

	char tmpname[NAME_MAX + 8];
	bool gone = false;

	if ((dirfd = dir_open(path, &base)) < 0)
		return dirfd == -ENOENT ? 0 : dirfd;
	/* what a creation interrupted by a crash left (its job is being undone,
	 * maybe by another manager, before the owner's start-up sweep) */
	if ((size_t)snprintf(tmpname, sizeof(tmpname), ".%s.tmp", base) < sizeof(tmpname) &&
	    unlinkat(dirfd, tmpname, 0) == 0)
		gone = true;
	r = 0;
	if (unlinkat(dirfd, base, 0) == 0)
		gone = true;
	else if (errno != ENOENT)
		r = -errno;
	if (r == 0 && gone)
		r = fsync_dir(dirfd);
	close(dirfd);
	return r;
}
