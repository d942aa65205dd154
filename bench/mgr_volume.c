/* mgr_volume.c: times vr-manager's volume prep (manager/volume.c), for bench/mgr_volume.sh.
 *   mgr_volume ensure POOL ID TEMPLATE   one volume_template_ensure; prints seconds
 *   mgr_volume overlays CACHED DIR N     N volume_overlay_create into DIR (then removed);
 *                                        prints median and p99 in milliseconds
 *   mgr_volume render GIB N              N qcow2_overlay_render (no I/O); median, p99 in ms */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "buf.h"
#include "qcow2.h"
#include "volume.h"

static int
ensure(const char *pool, const char *id, const char *template)
{
	char cached[4096], err[512];
	double t0 = now_s();
	int r = volume_template_ensure(pool, id, template, cached, sizeof(cached), err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "mgr_volume: ensure: %s\n", err);
		return 1;
	}
	printf("%.6f\n", now_s() - t0);
	return 0;
}

static int
overlays(const char *cached, const char *dir, long n)
{
	double *ms = calloc((size_t)n, sizeof(*ms));
	char path[4096], err[512];
	int rc = 1;

	if (!ms)
		return 1;
	for (long i = 0; i < n; i++) {
		double t0;

		snprintf(path, sizeof(path), "%s/root-%ld.qcow2", dir, i);
		t0 = now_s();
		if (volume_overlay_create(cached, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "mgr_volume: overlay %ld: %s\n", i, err);
			goto out;
		}
		ms[i] = (now_s() - t0) * 1e3;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	printf("%.3f %.3f\n", ms[n / 2], ms[(size_t)((double)n * 0.99)]);
	rc = 0;
out:
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/root-%ld.qcow2", dir, i);
		(void)volume_remove(path);
	}
	free(ms);
	return rc;
}

static int
render(uint64_t gib, long n)
{
	double *ms = calloc((size_t)n, sizeof(*ms));
	struct buf b;
	int rc = 1;

	if (!ms)
		return 1;
	buf_init(&b);
	for (long i = 0; i < n; i++) {
		double t0 = now_s();

		buf_reset(&b);
		if (qcow2_overlay_render(gib << 30, "/var/lib/vrm/pool/template-t.qcow2", "qcow2",
		    &b) < 0)
			goto out;
		ms[i] = (now_s() - t0) * 1e3;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	printf("%.3f %.3f\n", ms[n / 2], ms[(size_t)((double)n * 0.99)]);
	rc = 0;
out:
	buf_free(&b);
	free(ms);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "ensure"))
		return ensure(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "overlays") && atol(argv[4]) > 0)
		return overlays(argv[2], argv[3], atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "render") && atol(argv[2]) > 0 && atol(argv[3]) > 0)
		return render((uint64_t)atol(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: mgr_volume ensure POOL ID TEMPLATE | overlays CACHED DIR N | "
	    "render GIB N\n");
	return 2;
}
