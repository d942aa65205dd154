/* histogram.h: a Prometheus histogram of durations in seconds (cumulative
 * buckets, sum and count), which several threads may observe into at once.
 * Its name, help text and bucket bounds are a constant histogram_spec; the
 * counters are a struct histogram, empty when zeroed. */
#ifndef VR_HISTOGRAM_H
#define VR_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HISTOGRAM_BUCKETS_MAX 16

struct histogram_spec {
	const char *name;
	const char *help;
	double bounds[HISTOGRAM_BUCKETS_MAX]; /* upper bounds in seconds, ascending */
	size_t n;
};

struct histogram {
	uint64_t bucket[HISTOGRAM_BUCKETS_MAX]; /* per bucket; cumulated when rendered */
	uint64_t count;
	uint64_t sum_ns;
};

void histogram_observe(struct histogram *h, const struct histogram_spec *s, double seconds);
/* "# HELP", "# TYPE name histogram", name_bucket{le="..."} for each bound and
 * +Inf, name_sum (seconds) and name_count. */
void histogram_render(const struct histogram *h, const struct histogram_spec *s,
    struct buf *b);

#endif
