#!/usr/bin/env python3
"""tests/lib/mgr_timeline.py SYNC_MS JOB.json: prints a deployment's
timeline in the shape of CloudStack's deployment diagram
(docs/cloudstack-timeline.md): the sync phase, each async stage as a bar on
one time axis, the totals, and CloudStack's reference figures beside ours."""
import json
import sys

CLOUDSTACK_MS = {"sync": 250, "planning": 60, "reservation": 14, "networkprep": 2400,
                 "volumeprep": 120, "start": 1100, "completion": 74, "async": 5700}
LABEL = {"planning": "PLANNING", "reservation": "RESERVATION", "networkprep": "NETWORK PREP",
         "volumeprep": "VOLUME PREP", "start": "VM START", "completion": "COMPLETION"}


def main():
    sync_ms = float(sys.argv[1])
    job = json.load(open(sys.argv[2]))
    res = job["queryasyncjobresultresponse"]
    stages = res["stages"]
    t0 = stages[0]["startus"]
    t1 = max(s["endus"] for s in stages)
    async_ms = (t1 - t0) / 1000.0
    width = 48
    span = max(t1 - t0, 1)

    def fmt(ms):
        return "%.3f ms" % ms if ms < 10 else "%.1f ms" % ms

    print("        SYNC                ASYNC")
    print("    ◄── %s ──►    ◄──────────── %s ────────────►" % (fmt(sync_ms), fmt(async_ms)))
    print()
    print("  %-13s %-*s %11s   %s" % ("", width, "0" + " " * (width - len(fmt(async_ms)) - 1)
                                     + fmt(async_ms), "ours", "CloudStack"))
    print("  %-13s %-*s %11s   %8s" % ("SYNC", width, "▓ auth, limits, VM/NIC/volume rows, job",
                                       fmt(sync_ms), "%d ms" % CLOUDSTACK_MS["sync"]))
    for s in stages:
        a = int((s["startus"] - t0) * width / span)
        b = max(a + 1, int(round((s["endus"] - t0) * width / span)))
        bar = " " * a + "▓" * (b - a)
        ref = CLOUDSTACK_MS.get(s["name"])
        print("  %-13s %-*s %11s   %8s" % (LABEL.get(s["name"], s["name"]), width, bar,
                                           fmt(s["durationms"]), "%d ms" % ref if ref else ""))
    print("  %-13s %-*s %11s   %8s" % ("ASYNC TOTAL", width, "", fmt(async_ms), "5700 ms"))
    total = sync_ms + async_ms
    print("  %-13s %-*s %11s   %8s" % ("TOTAL", width, "", fmt(total), "5950 ms"))
    print()
    for s in stages:
        if s.get("detail"):
            print("  %-13s %s" % (LABEL.get(s["name"], s["name"]), s["detail"]))
    print()
    print("  (%.0fx faster than CloudStack's reference deployment end to end)" % (5950.0 / total))


if __name__ == "__main__":
    main()
