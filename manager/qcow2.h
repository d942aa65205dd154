/* qcow2.h: the bytes of an empty qcow2 overlay, and the virtual size from a qcow2 header.
 *
 * Pure: no I/O.  The overlay is laid out as `qemu-img create -f qcow2 -b B -F F` (qemu 7.2)
 * lays it out, byte for byte: version 3, 64 KiB clusters, 16-bit refcounts; cluster 0 holds the
 * header, the backing-format and feature-table extensions and the backing file name; cluster 1
 * the refcount table, cluster 2 its one refcount block, clusters 3.. the (all-zero) L1 table. */
#ifndef VRM_QCOW2_H
#define VRM_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* qemu's own bounds with 64 KiB clusters: L1 at most 32 MiB (2 PiB virtual), backing file
 * name at most 1023 bytes. */
#define QCOW2_VIRTUAL_SIZE_MAX (UINT64_C(2) << 50)
#define QCOW2_BACKING_PATH_MAX 1023
/* Bytes qcow2_header_parse needs at most. */
#define QCOW2_HEADER_MIN 104

/* Appends to out the bytes of an empty qcow2 image of virtual_size bytes (rounded up to 512,
 * as qemu does) whose backing file is backing_path (absolute) of format backing_fmt ("qcow2"
 * or "raw").  The image is 196,608 bytes plus 8 per started 512 MiB of virtual size.
 * Returns 0, -EINVAL (size 0 or above QCOW2_VIRTUAL_SIZE_MAX, path not absolute or longer than
 * QCOW2_BACKING_PATH_MAX, other format), -ENOMEM (out is then incomplete). */
int qcow2_overlay_render(uint64_t virtual_size, const char *backing_path, const char *backing_fmt,
    struct buf *out);

/* Reads the virtual size from the first len bytes of a qcow2 image (version 2 or 3).
 * Returns 0 or -EINVAL (not qcow2, truncated header, unknown version); *virtual_size is
 * written only on success. */
int qcow2_header_parse(const void *buf, size_t len, uint64_t *virtual_size);

#endif
