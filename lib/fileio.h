/* fileio.h: whole-file reads and atomic file replacement.
 *
 * A file is replaced by writing ".<name>.tmp" in the same directory, making
 * it durable, renaming it over <name> and syncing the directory, so a crash
 * at any instant leaves the old or the new file, never a mix. */
#ifndef VR_FILEIO_H
#define VR_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AF_KEEP_OWNER ((uid_t)-1)

/* Reads a whole file of at most max bytes into a NUL-terminated buffer the
 * caller frees.  Returns 0, -EFBIG past max, or a negative errno. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);
int file_read_at(int dirfd, const char *name, size_t max, char **out, size_t *len);

struct af_stage {
	int dirfd;
	char name[256];
	char tmp[264];
};

/* Writes buf to the temporary file of <name>, with mode and owner (uid
 * AF_KEEP_OWNER: leave as created); fsyncs it when sync is true.  Returns 0
 * or a negative errno (-ENOSPC, -EDQUOT when the disk is full); on failure
 * nothing is left behind. */
int af_stage(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
    uid_t uid, gid_t gid, bool sync, struct af_stage *out);
/* Renames the staged file over its target.  Returns 0 or a negative errno. */
int af_commit(const struct af_stage *s);
/* Removes the staged file; safe to call twice. */
void af_abort(struct af_stage *s);
/* Stage with fsync, commit and sync the directory, in one call. */
int af_write(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
    uid_t uid, gid_t gid);
/* fsync on a directory fd.  Returns 0 or a negative errno. */
int fsync_dir(int dirfd);
/* Removes leftover ".*.tmp" files of an interrupted write.  Returns the count. */
int af_sweep(int dirfd);
/* True if <name> in dirfd holds exactly buf. */
bool file_equals(int dirfd, const char *name, const void *buf, size_t len);

#endif
