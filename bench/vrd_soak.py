#!/usr/bin/env python3
"""vrd_soak.py: streams COMMANDS commands to vrd and samples its memory.

Usage: vrd_soak.py --url URL --token-file F --pid PID [--commands N]
                   [--vms V] [--batch B] [--sample-every S]

Each request is one batch of B commands (default 10) over a fixed set of V
VMs (default 500, already added by the caller: md_storm's VM i at 10.1.0.16 +
i), so the state keeps its size and any growth of vrd's memory is a leak or
fragmentation, not data: for each VM in turn a new password, new metadata
(instance-id and a counter) and, every tenth time, its dhcpentry with
another hostname.  Every answer must be 200.  vrd's VmRSS (from
/proc/PID/status) is sampled every S commands (default 5,000).  Prints one
"RESULT mode=vrd_soak ..." line: commands, requests, errors, seconds,
commands per second, the RSS samples in kB, and the spread (max - min) of
the samples after the first fifth (the warm-up).
"""
import argparse
import http.client
import json
import sys
import time
from urllib.parse import urlsplit


def vm(i):
    n = i + 16
    # md_storm's addresses and MACs for VM i
    return "10.1.%d.%d" % (n >> 8, n & 255), "02:00:4c:%02x:%02x:%02x" % (
        (i >> 16) & 255, (i >> 8) & 255, i & 255)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--commands", type=int, default=100000)
    ap.add_argument("--vms", type=int, default=500)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--sample-every", type=int, default=5000)
    a = ap.parse_args()
    u = urlsplit(a.url)
    with open(a.token_file) as f:
        auth = "Bearer " + f.read().strip()
    sent = requests = errors = 0
    k = 0
    samples = [rss_kb(a.pid)]
    first_error = ""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    while sent < a.commands:
        cmds = []
        while len(cmds) < a.batch and sent + len(cmds) < a.commands:
            i = k % a.vms
            ip, mac = vm(i)
            step = len(cmds) % 3
            if step == 0:
                cmds.append({"type": "vmpassword", "ip_address": ip, "password": "pw-%d-%d" % (i, k)})
            elif step == 1:
                cmds.append({"type": "vmdata", "vm_ip_address": ip, "vm_metadata": [
                    ["metadata", "instance-id", "i-%d" % i], ["metadata", "soak", str(k)]]})
            elif k % 10 == 0:
                cmds.append({"type": "dhcpentry", "host_name": "vm-%d-%d" % (i, (k // 10) % 2),
                             "mac_address": mac, "ipv4_address": ip, "default_entry": True})
            else:
                cmds.append({"type": "vmdata", "vm_ip_address": ip, "vm_metadata": [
                    ["metadata", "soak2", str(k)]]})
            k += 1
        body = json.dumps(cmds)
        try:
            conn.request("POST", "/v1/commands", body=body,
                         headers={"Authorization": auth, "Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            status = r.status
        except (OSError, http.client.HTTPException) as e:
            status, data = 0, str(e).encode()
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        requests += 1
        if status != 200:
            errors += 1
            first_error = first_error or "%d %s" % (status, data[:200])
        before = sent
        sent += len(cmds)
        if sent // a.sample_every != before // a.sample_every:
            samples.append(rss_kb(a.pid))
    secs = time.monotonic() - t0
    steady = samples[max(1, len(samples) // 5):]
    spread = max(steady) - min(steady) if steady else -1
    print("RESULT mode=vrd_soak commands=%d requests=%d errors=%d seconds=%.1f cps=%.0f "
          "rss_first_kb=%d rss_last_kb=%d steady_spread_kb=%d samples_kb=%s%s"
          % (sent, requests, errors, secs, sent / secs, samples[0], samples[-1], spread,
             ",".join(map(str, samples)), (" first_error=%r" % first_error) if errors else ""))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
