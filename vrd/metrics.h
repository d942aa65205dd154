/* metrics.h: vrd's counters, rendered as Prometheus text. */
#ifndef VRD_METRICS_H
#define VRD_METRICS_H

#include <time.h>
#include <stdint.h>

#include "buf.h"
#include "cmd.h"
#include "histogram.h"

enum batch_result { BR_OK, BR_BAD_REQUEST, BR_UNAUTHORIZED, BR_CONFLICT, BR_TOO_LARGE,
	BR_DISK_FULL, BR_ERROR, BR_NRESULTS };

struct metrics {
	uint64_t cmds_ok[CMD_NTYPES];
	uint64_t cmds_rejected[CMD_NTYPES];
	uint64_t batches[BR_NRESULTS];
	struct histogram apply;           /* a batch's arrival to its durable reply */
	uint64_t reloads, reload_failures;
	uint64_t commits;                 /* durable commits: with group commit, several
	                                   * batches' journal and sync each */
	uint64_t quarantined;             /* state files moved aside since start */
	uint64_t guard_failures;          /* address bindings the kernel did not take */
	uint64_t auth_failures;         /* requests without the right bearer token */
	uint64_t auth_unlogged;         /* of those, not logged since the last line */
	time_t auth_next_log;           /* monotonic second the next line may be logged */
};

enum batch_result batch_result_of(int status);
void metrics_observe(struct metrics *m, double seconds);
void metrics_render(const struct metrics *m, uint64_t generation, size_t vms, size_t nets,
    struct buf *b);

#endif
