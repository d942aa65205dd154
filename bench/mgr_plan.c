/* mgr_plan.c: planner_place alone (docs/performance.md, "vr-manager:
 * deployment"): a capacity snapshot of N hosts (default 10,000; 4 x 2000
 * MHz, 8 GiB each, one zone-wide pool; 10 clusters with no cluster pool)
 * built in memory, then the time per placement of a 1 x 500 MHz, 512 MiB
 * VM in three states of the cloud: every host empty, 90 % of the hosts full
 * (spread at random), and every host full but one.  Placements do not
 * claim, so the state stays as built.  Prints a markdown table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "planner.h"

#define ROUNDS 20000

static void
build(struct capacity *c, size_t n, uint32_t *pool_idx)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->hosts = calloc(n, sizeof(*c->hosts));
	c->pools = calloc(1, sizeof(*c->pools));
	c->nhosts = n;
	c->npools = 1;
	c->pools[0].id = 1;
	c->pools[0].zone_id = 1;
	snprintf(c->pools[0].uuid, sizeof(c->pools[0].uuid), "ps1");
	snprintf(c->pools[0].scope, sizeof(c->pools[0].scope), "zone");
	c->pools[0].capacity_bytes = 1LL << 50;
	*pool_idx = 0;
	for (i = 0; i < n; i++) {
		struct cap_host *h = &c->hosts[i];

		h->id = (int64_t)i + 1;
		h->zone_id = 1;
		h->cluster_id = (int64_t)(i % 10) + 1;
		snprintf(h->uuid, sizeof(h->uuid), "h%zu", i + 1);
		h->cpu_total_mhz = 8000;
		h->ram_total_mib = 8192;
		h->pools = pool_idx;
		h->npools = 1;
	}
}

/* Marks every host full, except those for which keep(i) is true. */
static void
fill(struct capacity *c, double frac_full, long keep_one)
{
	size_t i;

	for (i = 0; i < c->nhosts; i++) {
		struct cap_host *h = &c->hosts[i];
		bool full = keep_one >= 0 ? (long)i != keep_one :
		    (double)(mix64(i) % 10000) / 10000.0 < frac_full;

		atomic_store(&h->cpu_used_mhz, full ? h->cpu_total_mhz : 0);
		atomic_store(&h->ram_used_mib, full ? h->ram_total_mib : 0);
	}
}

static void
measure(struct capacity *c, const char *label)
{
	struct cap_need need = { .zone_id = 1, .cpu_mhz = 500, .ram_mib = 512,
		.disk_bytes = 4 << 20, .local = false };
	static double v[ROUNDS];
	unsigned long seen = 0;
	struct plan p;
	int k, fails = 0;

	for (k = 0; k < ROUNDS; k++) {
		double t0 = now_s();

		if (planner_place(c, &need, &p) < 0)
			fails++;
		v[k] = (now_s() - t0) * 1e3;
		seen += p.hosts_seen;
	}
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	printf("| %s | %.4f | %.4f | %.4f | %.0f |%s\n", label, v[ROUNDS / 2],
	    v[ROUNDS * 99 / 100], v[ROUNDS - 1], (double)seen / ROUNDS,
	    fails ? " (some found no room)" : "");
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	struct capacity c;
	uint32_t pool_idx;

	if (n < 1)
		return 2;
	build(&c, n, &pool_idx);
	printf("| %zu hosts, %d placements each | median ms | p99 ms | max ms | hosts looked at (mean) |\n",
	    n, ROUNDS);
	printf("|---|---:|---:|---:|---:|\n");
	fill(&c, 0, -1);
	measure(&c, "every host empty");
	fill(&c, 0.9, -1);
	measure(&c, "90 % of the hosts full (at random)");
	fill(&c, 1, (long)n / 2);
	measure(&c, "all full but one host");
	free(c.hosts);
	free(c.pools);
	return 0;
}
