/* metrics.c: command, batch, latency and reload counters in Prometheus text format. */
#include "metrics.h"

static const struct histogram_spec apply_seconds = {
	"vrd_apply_seconds", "Time from a batch's arrival to its durable reply.",
	{ 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }, 14,
};
static const char *const br_names[BR_NRESULTS] = { "ok", "bad_request", "unauthorized",
	"conflict", "too_large", "disk_full", "error" };

enum batch_result
batch_result_of(int status)
{
	switch (status) {
	case 200:
		return BR_OK;
	case 400:
		return BR_BAD_REQUEST;
	case 401:
		return BR_UNAUTHORIZED;
	case 409:
		return BR_CONFLICT;
	case 413:
		return BR_TOO_LARGE;
	case 507:
		return BR_DISK_FULL;
	default:
		return BR_ERROR;
	}
}

void
metrics_observe(struct metrics *m, double seconds)
{
	histogram_observe(&m->apply, &apply_seconds, seconds);
}

void
metrics_render(const struct metrics *m, uint64_t generation, size_t vms, size_t nets,
    struct buf *b)
{
	buf_adds(b, "# HELP vrd_commands_total Commands by type and result.\n"
	    "# TYPE vrd_commands_total counter\n");
	for (int t = 0; t < CMD_NTYPES; t++) {
		buf_addf(b, "vrd_commands_total{type=\"%s\",result=\"ok\"} %llu\n",
		    cmd_type_name((enum cmd_type)t), (unsigned long long)m->cmds_ok[t]);
		buf_addf(b, "vrd_commands_total{type=\"%s\",result=\"rejected\"} %llu\n",
		    cmd_type_name((enum cmd_type)t), (unsigned long long)m->cmds_rejected[t]);
	}
	buf_adds(b, "# HELP vrd_batches_total POST /v1/commands requests by result.\n"
	    "# TYPE vrd_batches_total counter\n");
	for (int i = 0; i < BR_NRESULTS; i++)
		buf_addf(b, "vrd_batches_total{result=\"%s\"} %llu\n", br_names[i],
		    (unsigned long long)m->batches[i]);
	histogram_render(&m->apply, &apply_seconds, b);
	buf_addf(b, "# HELP vrd_commits_total Durable commits (one journal and sync each; "
	    "batches arriving during one share the next).\n# TYPE vrd_commits_total counter\n"
	    "vrd_commits_total %llu\n", (unsigned long long)m->commits);
	buf_addf(b, "# HELP vrd_dnsmasq_reloads_total SIGHUPs sent to dnsmasq.\n"
	    "# TYPE vrd_dnsmasq_reloads_total counter\nvrd_dnsmasq_reloads_total %llu\n"
	    "# HELP vrd_dnsmasq_reload_failures_total Reloads that found no dnsmasq to signal.\n"
	    "# TYPE vrd_dnsmasq_reload_failures_total counter\n"
	    "vrd_dnsmasq_reload_failures_total %llu\n",
	    (unsigned long long)m->reloads, (unsigned long long)m->reload_failures);
	buf_addf(b, "# HELP vrd_state_quarantined_total State files that could not be loaded, "
	    "moved to quarantine/.\n# TYPE vrd_state_quarantined_total counter\n"
	    "vrd_state_quarantined_total %llu\n"
	    "# HELP vrd_guard_failures_total Address bindings (neighbour entries, packet filter) "
	    "the kernel refused.\n# TYPE vrd_guard_failures_total counter\n"
	    "vrd_guard_failures_total %llu\n",
	    (unsigned long long)m->quarantined, (unsigned long long)m->guard_failures);
	buf_addf(b, "# HELP vrd_auth_failures_total Requests refused for a missing or wrong bearer "
	    "token.\n# TYPE vrd_auth_failures_total counter\nvrd_auth_failures_total %llu\n",
	    (unsigned long long)m->auth_failures);
	buf_addf(b, "# HELP vrd_vms VMs the router knows.\n# TYPE vrd_vms gauge\nvrd_vms %zu\n"
	    "# HELP vrd_guest_networks Guest networks.\n# TYPE vrd_guest_networks gauge\n"
	    "vrd_guest_networks %zu\n"
	    "# HELP vrd_generation State generation.\n# TYPE vrd_generation gauge\n"
	    "vrd_generation %llu\n", vms, nets, (unsigned long long)generation);
}
