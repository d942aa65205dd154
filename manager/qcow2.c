/* qcow2.c: renders an empty qcow2 overlay image and reads a qcow2 header's virtual size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define CLUSTER_BITS		16
#define CLUSTER_SIZE		(UINT64_C(1) << CLUSTER_BITS)
#define L2_COVERAGE		(CLUSTER_SIZE * (CLUSTER_SIZE / 8))	/* bytes one L1 entry maps */
#define L1_BYTES_MAX		(UINT64_C(32) << 20)	/* qemu's QCOW_MAX_L1_SIZE */
#define REFCOUNT_ORDER		4
#define HEADER_LENGTH		112	/* v3 header with the compression type byte, padded */
#define EXT_BACKING_FORMAT	0xe2792acau
#define EXT_FEATURE_TABLE	0x6803f857u
#define REFCOUNT_TABLE_CLUSTER	1
#define REFCOUNT_BLOCK_CLUSTER	2
#define L1_CLUSTER		3

/* The feature name table qemu writes into every image it creates. */
static const struct {
	uint8_t type, bit;
	const char *name;
} feature_names[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};
#define FEATURE_NAME_LEN 46

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static size_t
pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Writes the header extensions at p; returns the bytes written. */
static size_t
extensions_put(uint8_t *p, const char *fmt)
{
	size_t fmtlen = strlen(fmt), off = 0, nf = sizeof(feature_names) / sizeof(feature_names[0]);

	put_be32(p + off, EXT_BACKING_FORMAT);
	put_be32(p + off + 4, (uint32_t)fmtlen);
	memcpy(p + off + 8, fmt, fmtlen);
	off += 8 + pad8(fmtlen);

	put_be32(p + off, EXT_FEATURE_TABLE);
	put_be32(p + off + 4, (uint32_t)(nf * 48));
	off += 8;
	for (size_t i = 0; i < nf; i++, off += 48) {
		p[off] = feature_names[i].type;
		p[off + 1] = feature_names[i].bit;
		memcpy(p + off + 2, feature_names[i].name, strlen(feature_names[i].name));
	}
	return off + 8; /* end-of-extensions marker: type 0, length 0 */
}

int
qcow2_overlay_render(uint64_t virtual_size, const char *backing_path, const char *backing_fmt,
    struct buf *out)
{
	uint64_t size, l1_entries, l1_clusters, total, backing_off;
	size_t pathlen;
	uint8_t *img = NULL, *rb;
	int r;

	if (virtual_size == 0 || virtual_size > QCOW2_VIRTUAL_SIZE_MAX)
		return -EINVAL;
	if (!backing_path || backing_path[0] != '/' || !backing_fmt ||
	    (strcmp(backing_fmt, "qcow2") && strcmp(backing_fmt, "raw")))
		return -EINVAL;
	pathlen = strlen(backing_path);
	if (pathlen > QCOW2_BACKING_PATH_MAX)
		return -EINVAL;
	size = (virtual_size + 511) & ~UINT64_C(511);
	l1_entries = (size + L2_COVERAGE - 1) / L2_COVERAGE;
	if (l1_entries * 8 > L1_BYTES_MAX)
		return -EINVAL;
	l1_clusters = (l1_entries * 8 + CLUSTER_SIZE - 1) / CLUSTER_SIZE;
	total = L1_CLUSTER * CLUSTER_SIZE + l1_entries * 8;

	img = calloc(1, (size_t)total);
	if (!img)
		return -ENOMEM;
	put_be32(img, QCOW2_MAGIC);
	put_be32(img + 4, 3);				/* version */
	put_be32(img + 16, (uint32_t)pathlen);		/* backing_file_size */
	put_be32(img + 20, CLUSTER_BITS);
	put_be64(img + 24, size);
	put_be32(img + 32, 0);				/* crypt_method */
	put_be32(img + 36, (uint32_t)l1_entries);
	put_be64(img + 40, L1_CLUSTER * CLUSTER_SIZE);
	put_be64(img + 48, REFCOUNT_TABLE_CLUSTER * CLUSTER_SIZE);
	put_be32(img + 56, 1);				/* refcount_table_clusters */
	/* nb_snapshots, snapshots_offset, the three feature masks: 0 */
	put_be32(img + 96, REFCOUNT_ORDER);
	put_be32(img + 100, HEADER_LENGTH);
	/* compression type zlib (0) and padding at 104..111 */
	backing_off = HEADER_LENGTH + extensions_put(img + HEADER_LENGTH, backing_fmt);
	put_be64(img + 8, backing_off);
	memcpy(img + backing_off, backing_path, pathlen);

	put_be64(img + REFCOUNT_TABLE_CLUSTER * CLUSTER_SIZE, REFCOUNT_BLOCK_CLUSTER * CLUSTER_SIZE);
	rb = img + REFCOUNT_BLOCK_CLUSTER * CLUSTER_SIZE;
	for (uint64_t c = 0; c < L1_CLUSTER + l1_clusters; c++)
		put_be16(rb + 2 * c, 1);
	/* the L1 table stays zero: every cluster reads from the backing file */

	buf_add(out, img, (size_t)total);
	r = out->oom ? -ENOMEM : 0;
	free(img);
	return r;
}

int
qcow2_header_parse(const void *buf, size_t len, uint64_t *virtual_size)
{
	const uint8_t *p = buf;
	uint32_t version, cluster_bits;

	if (!p || len < 72 || get_be32(p) != QCOW2_MAGIC)
		return -EINVAL;
	version = get_be32(p + 4);
	if (version != 2 && version != 3)
		return -EINVAL;
	if (version == 3 && (len < QCOW2_HEADER_MIN || get_be32(p + 100) < QCOW2_HEADER_MIN))
		return -EINVAL;
	cluster_bits = get_be32(p + 20);
	if (cluster_bits < 9 || cluster_bits > 21)
		return -EINVAL;
	*virtual_size = get_be64(p + 24);
	return 0;
}
