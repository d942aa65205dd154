/* histogram.c: Prometheus histograms, observed with relaxed atomics. */
#include "histogram.h"

void
histogram_observe(struct histogram *h, const struct histogram_spec *s, double seconds)
{
	for (size_t i = 0; i < s->n && i < HISTOGRAM_BUCKETS_MAX; i++)
		if (seconds <= s->bounds[i]) {
			__atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
			break;
		}
	if (seconds > 0)
		__atomic_add_fetch(&h->sum_ns, (uint64_t)(seconds * 1e9), __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

void
histogram_render(const struct histogram *h, const struct histogram_spec *s, struct buf *b)
{
	uint64_t cum = 0, count;

	buf_addf(b, "# HELP %s %s\n# TYPE %s histogram\n", s->name, s->help, s->name);
	for (size_t i = 0; i < s->n && i < HISTOGRAM_BUCKETS_MAX; i++) {
		cum += __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
		buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", s->name, s->bounds[i],
		    (unsigned long long)cum);
	}
	/* read after the buckets, so that +Inf is never below the last of them */
	count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	if (count < cum)
		count = cum;
	buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", s->name,
	    (unsigned long long)count, s->name,
	    (double)__atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9, s->name,
	    (unsigned long long)count);
}
