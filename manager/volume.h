/* volume.h: volume prep on a file pool: the template cached once per pool as qcow2, ROOT
 * volumes as qcow2 overlays on it, removal.
 *
 * The conversion runs `qemu-img` (found on PATH; the environment variable QEMU_IMG names
 * another binary) with posix_spawn, never through a shell.  Overlays are written natively
 * (qcow2_overlay_render), without running qemu-img.  All functions are thread-safe and may run
 * in several processes at once on the same pool. */
#ifndef VRM_VOLUME_H
#define VRM_VOLUME_H

#include <stddef.h>

#define VOLUME_TEMPLATE_ID_MAX 64

/* Makes sure the pool holds the template converted to qcow2, <pool_dir>/template-<id>.qcow2
 * (mode 0644), and writes that path to cached.  The conversion happens once per pool and
 * template: callers wait on flock(<pool_dir>/.template-<id>.lock) (the lock file is removed
 * when the holder is done), the first runs `qemu-img convert -f raw|qcow2 -O qcow2` into
 * <pool_dir>/.template-<id>.qcow2.tmp (sparse regions stay sparse), fsyncs it, renames it into
 * place and fsyncs the directory; the others find it done.  The template's format is read from
 * its first bytes (qcow2 magic, else raw).  template_id is [A-Za-z0-9_-]{1,64}.
 * Once the copy exists the template file is no longer looked at.
 * Returns 0; -EINVAL bad id; -ENOENT template file (or pool_dir) missing, pool untouched;
 * -ENOSPC pool full; -ENAMETOOLONG cached too small; -ENOEXEC qemu-img not found or not
 * executable; -EIO qemu-img failed otherwise; other -errno.
 * On failure err gets one line of text and no temporary file is left. */
int volume_template_ensure(const char *pool_dir, const char *template_id, const char *template_path,
    char *cached, size_t cachedlen, char *err, size_t errlen);

/* Creates the ROOT volume path (mode 0600) as a qcow2 overlay of cached (a qcow2 file, made
 * absolute with realpath for the backing file name) with cached's virtual size.  Exclusive:
 * the image is staged as .<name>.tmp, fsynced, linked to path (never replacing a file) and the
 * directory fsynced.  Two callers must not create the same path at once (they share the
 * temporary name; one may fail).  Takes 192 KiB of disk plus 8 bytes per 512 MiB.
 * Returns 0; -EEXIST path exists; -ENOSPC; -EINVAL cached is not qcow2; other -errno.
 * On failure err gets one line and nothing is left behind. */
int volume_overlay_create(const char *cached, const char *path, char *err, size_t errlen);

/* At start, before any job runs: removes from the pool directory dirfd what an
 * interrupted run left, the temporary files of a copy or overlay and the
 * template locks nobody holds (one killed mid-copy stays otherwise).  Returns
 * how many files it removed, or a negative errno. */
int volume_pool_sweep(int dirfd);

/* Removes a volume file, and the temporary file of its interrupted creation,
 * and fsyncs its directory; a missing file is success.  Returns 0 or a
 * negative errno. */
int volume_remove(const char *path);

#endif
