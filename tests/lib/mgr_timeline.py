#!/usr/bin/env python3
"""tests/lib/mgr_timeline.py SYNC_MS JOB.json [GUEST_DONE_MS]: prints a deployment's
timeline in the shape of CloudStack's deployment diagram (docs/cloudstack-timeline.md): the sync
phase, each async stage as a bar on one time axis, the totals, and CloudStack's reference
figures beside ours.  Like is compared with like only: the start stage's reference (1.1 s,
a KVM start) only when the job started a real QEMU guest (its detail names a qemu:// host),
never the test driver's start, which starts nothing; the totals then leave the start stage
out on both sides.  GUEST_DONE_MS: the time from the deploy request until cloud-init in
the guest reported done (make demo VM=1), printed after the totals."""
import json
import sys

CLOUDSTACK_MS = {"sync": 250, "planning": 60, "reservation": 14, "networkprep": 2400,
                 "volumeprep": 120, "start": 1100, "completion": 74, "async": 5700}
LABEL = {"planning": "PLANNING", "reservation": "RESERVATION", "networkprep": "NETWORK PREP",
         "volumeprep": "VOLUME PREP", "start": "VM START", "completion": "COMPLETION"}


def main():
    sync_ms = float(sys.argv[1])
    job = json.load(open(sys.argv[2]))
    guest_ms = float(sys.argv[3]) if len(sys.argv) > 3 else None
    res = job["queryasyncjobresultresponse"]
    stages = res["stages"]
    start = [s for s in stages if s["name"] == "start"]
    detail = start[0].get("detail", "") if start else ""
    real = "(qemu://" in detail or "(qemu+" in detail
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
        if s["name"] == "start" and not real:
            ref_s = "(n/a)"
        else:
            ref_s = "%d ms" % ref if ref else ""
        print("  %-13s %-*s %11s   %8s" % (LABEL.get(s["name"], s["name"]), width, bar,
                                           fmt(s["durationms"]), ref_s))
    # Without a real start, both sides' totals leave the start stage out.
    cut = 0.0 if real or not start else start[0]["durationms"]
    cut_ref = 0 if real or not start else CLOUDSTACK_MS["start"]
    suffix = "" if real or not start else " w/o start"
    print("  %-13s %-*s %11s   %8s" % ("ASYNC TOTAL", width, suffix.strip(),
                                       fmt(async_ms - cut), "%d ms" % (5700 - cut_ref)))
    total = sync_ms + async_ms - cut
    ref_total = 5950 - cut_ref
    print("  %-13s %-*s %11s   %8s" % ("TOTAL", width, suffix.strip(), fmt(total),
                                       "%d ms" % ref_total))
    if guest_ms is not None:
        print("  %-13s %-*s %11s   %8s" % ("GUEST READY", width,
                                           "deploy request -> cloud-init done in the guest",
                                           fmt(guest_ms), ""))
    print()
    for s in stages:
        if s.get("detail"):
            print("  %-13s %s" % (LABEL.get(s["name"], s["name"]), s["detail"]))
    print()
    if real:
        print("  (a real QEMU start: %.2fx faster than CloudStack's reference deployment end to end; the"
              " reference\n   starts under KVM, this machine emulates the CPU)" % (ref_total / total))
    else:
        print("  (the start stage ran on libvirt's test driver, which starts nothing: it is not"
              " compared;\n   without it, %.0fx faster than CloudStack's reference; make demo"
              " VM=1 starts a real QEMU guest)" % (ref_total / total))


if __name__ == "__main__":
    main()
