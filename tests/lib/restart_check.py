#!/usr/bin/env python3
"""restart_check.py: checks vrd's state after batch_stream.py and crashes.

Usage: restart_check.py STATE_DIR WORKDIR G0 VMS_JSON STATE_JSON
       restart_check.py --files STATE_DIR

STATE_DIR  vrd's state directory (vrd restarted on it, no batch in progress)
WORKDIR    batch_stream.py's directory (acks, unknown, rejected)
G0         the generation before the first batch of the stream
VMS_JSON   a file holding GET /v1/vms, STATE_JSON one holding GET /v1/state

Prints one line per check: "ok<TAB>what" or "fail<TAB>what<TAB>diagnostic".

--files checks only that every file vrd writes is well formed, as dnsmasq
and vr-metadata would read it at that instant (right after a kill, before
any restart): vms/*.json and networks.json parse, each dhcphosts, dhcpopts
and hosts line has its shape, generation is a number.  It prints a summary
and exits 0, or prints what is wrong and exits 1.
"""
import glob
import json
import os
import re
import sys

MAC = r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}"
IP = r"(?:\d{1,3}\.){3}\d{1,3}"
NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
LINE_RE = {
    "dhcphosts": re.compile(r"%s,%s(?:,%s)?,(?:infinite|\d+)" % (MAC, IP, NAME)),
    "dhcpopts": re.compile(r"\d+_\d+_\d+_\d+,(?:3|6|15|121)"),
    "hosts": re.compile(r"%s (?:%s|data-server)" % (IP, NAME)),
}


def derived_files(state, name):
    """The paths dnsmasq reads for one of its files: the whole file, then the
    files of entries added since (dhcphosts.d/, hosts.d/) in their order."""
    paths = [os.path.join(state, name)]
    d = os.path.join(state, name + ".d")
    if os.path.isdir(d):
        paths += [os.path.join(d, f) for f in
                  sorted((f for f in os.listdir(d) if not f.startswith(".")), key=int)]
    return paths


def files_check(state):
    bad, counts = [], {}
    for name, rx in LINE_RE.items():
        lines = []
        for path in derived_files(state, name):
            with open(path, "rb") as f:
                data = f.read()
            if data and not data.endswith(b"\n"):
                bad.append("%s: no newline at the end" % path)
            if not data and path.endswith(tuple("0123456789")):
                bad.append("%s: empty" % path)
            lines += data.decode("ascii", "replace").splitlines()
        counts[name] = len(lines)
        bad += ["%s line %d: %r" % (name, i + 1, l)
                for i, l in enumerate(lines) if not rx.fullmatch(l)][:5]
        if name == "dhcphosts":
            ips = [l.split(",")[1] for l in lines if rx.fullmatch(l)]
            dup = sorted(set(ip for ip in ips if ips.count(ip) > 1))
            bad += ["dhcphosts and dhcphosts.d/: %s twice" % ip for ip in dup[:5]]
    docs = glob.glob(os.path.join(state, "vms", "*.json")) + [os.path.join(state, "networks.json")]
    for path in docs:
        try:
            with open(path) as f:
                json.load(f)
        except (ValueError, OSError) as e:
            bad.append("%s: %s" % (path, e))
    with open(os.path.join(state, "generation")) as f:
        g = f.read()
    if not re.fullmatch(r"\d+\n", g):
        bad.append("generation: %r" % g)
    if bad:
        print("\n".join(bad))
        return 1
    print("%d documents parse; %s lines well formed; generation %s" % (
        len(docs), ", ".join("%d %s" % (counts[k], k) for k in LINE_RE), g.strip()))
    return 0

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batch_stream import CLIENT_STRIDE, vm  # noqa: E402


def main():
    if sys.argv[1] == "--files":
        return files_check(sys.argv[2])
    state, work, g0, vms_json, state_json = sys.argv[1:6]
    g0 = int(g0)
    results = []

    def res(good, what, diag=""):
        results.append((good, what, diag))

    def lines(name):
        try:
            with open(os.path.join(work, name)) as f:
                return [line.split(None, 1) for line in f.read().splitlines() if line.strip()]
        except FileNotFoundError:
            return []

    acks = {int(x[0]): x[1].strip() for x in lines("acks")}
    unknown = [int(x[0]) for x in lines("unknown")]
    rejected = lines("rejected")
    res(not rejected, "no batch was rejected (every answer was 200)",
        "; ".join(" ".join(x) for x in rejected[:5]))

    # the files on disk
    hosts = {}
    with open(os.path.join(state, "dhcphosts")) as f:
        for line in f.read().splitlines():
            parts = line.split(",")
            hosts[parts[1] if len(parts) == 4 else parts[-3]] = parts
    added = [p for d in ("dhcphosts.d", "hosts.d") for p in derived_files(state, d[:-2])[1:]]
    res(not added, "dhcphosts.d/ and hosts.d/ are empty (the start compacts)", " ".join(added))
    docs, bad_docs = {}, []
    for path in glob.glob(os.path.join(state, "vms", "*")):
        name = os.path.basename(path)
        try:
            with open(path) as f:
                docs[name[:-5] if name.endswith(".json") else name] = json.load(f)
        except (ValueError, OSError) as e:
            bad_docs.append("%s: %s" % (name, e))
    res(not bad_docs, "every vms/*.json parses as JSON", "; ".join(bad_docs[:5]))
    pws = {}
    for path in glob.glob(os.path.join(state, "passwords", "*")):
        with open(path) as f:
            pws[os.path.basename(path)] = f.read()
    leftovers = [p for d in ("", "vms", "passwords", "dhcphosts.d", "hosts.d")
                 for p in glob.glob(os.path.join(state, d, ".*.tmp"))]
    res(not leftovers, "no .*.tmp file remains", " ".join(leftovers))
    res(not os.path.exists(os.path.join(state, "journal")), "no journal file remains")

    with open(vms_json) as f:
        api = {v["ip"]: v for v in json.load(f)}
    with open(state_json) as f:
        st = json.load(f)

    def parts(k):
        """Which of batch k's three parts are present, and what is wrong with them."""
        v = vm(k)
        got, wrong = [], []
        h = hosts.get(v["ip"])
        if h:
            got.append("dhcphosts")
            if h[0] != v["mac"] or v["host"] not in h:
                wrong.append("dhcphosts line %s" % ",".join(h))
        d = docs.get(v["ip"])
        if d and (d.get("metadata") or {}).get("batch") is not None:
            got.append("vms/%s.json" % v["ip"])
            if d["metadata"]["batch"] != str(k) or d.get("mac") != v["mac"] or \
                    d.get("hostname") != v["host"]:
                wrong.append("vms/%s.json: %s" % (v["ip"], d))
        elif d:
            wrong.append("vms/%s.json without metadata \"batch\": %s" % (v["ip"], d))
        if v["ip"] in pws:
            got.append("passwords/%s" % v["ip"])
            if pws[v["ip"]] != v["password"]:
                wrong.append("passwords/%s holds %r" % (v["ip"], pws[v["ip"]]))
        a = api.get(v["ip"])
        if (a is not None) != (len(got) == 3):
            wrong.append("GET /v1/vms %s it" % ("has" if a else "lacks"))
        if a is not None and (a.get("mac") != v["mac"] or a.get("hostname") != v["host"] or
                              a.get("has_password") is not True or
                              "batch" not in (a.get("metadata") or [])):
            wrong.append("GET /v1/vms: %s" % a)
        return got, wrong

    missing = []
    for k in sorted(acks):
        got, wrong = parts(k)
        if len(got) != 3 or wrong:
            missing.append("batch %d: has %s; %s" % (k, got, "; ".join(wrong)))
    res(not missing, "every acknowledged batch (%d) is fully present: dhcphosts, "
        "vms/<ip>.json with its metadata, passwords/<ip>, GET /v1/vms" % len(acks),
        "\n".join(missing[:5]))

    applied, torn = set(acks), []
    present_unknown = []
    for k in unknown:
        got, wrong = parts(k)
        if len(got) not in (0, 3) or wrong:
            torn.append("batch %d: has %s; %s" % (k, got, "; ".join(wrong)))
        if len(got) == 3:
            applied.add(k)
            present_unknown.append(k)
    res(not torn, "every batch in flight at a kill (%d: %s) is wholly present (%s) or wholly absent"
        % (len(unknown), " ".join(map(str, unknown)) or "none",
           " ".join(map(str, present_unknown)) or "none"),
        "\n".join(torn[:5]))

    expected_ips = {vm(k)["ip"] for k in applied}
    extra = sorted(set(api) ^ expected_ips) + sorted(set(docs) ^ expected_ips) + \
        sorted(set(hosts) ^ expected_ips) + sorted(set(pws) ^ expected_ips)
    res(not extra, "the VMs are exactly those of the applied batches (%d) in GET /v1/vms, "
        "vms/, dhcphosts and passwords/" % len(applied), " ".join(extra[:10]))
    res(st.get("vms") == len(applied) and st.get("dhcp_entries") == len(applied) and
        st.get("pending_passwords") == len(applied),
        "GET /v1/state counts %d VMs, DHCP entries and pending passwords" % len(applied),
        "state: vms %s dhcp_entries %s pending_passwords %s" %
        (st.get("vms"), st.get("dhcp_entries"), st.get("pending_passwords")))

    with open(os.path.join(state, "generation")) as f:
        gfile = f.read()
    want = g0 + len(applied)
    res(gfile == "%d\n" % want and st.get("generation") == want,
        "generation file and GET /v1/state say %d (%d + one per applied batch)" % (want, g0),
        "file %r, state %s" % (gfile, st.get("generation")))
    # Concurrent clients (batch_stream.CLIENT_STRIDE apart) are committed in
    # the order vrd took them: each acknowledged generation is its own, within
    # the applied ones, and rises with k within one client (which waits for
    # each answer).  One client alone: it counts the batches applied up to it.
    wrong_gen, seen, last = [], {}, {}
    order = sorted(applied)
    one_client = len({k // CLIENT_STRIDE for k in applied}) <= 1
    for k in sorted(acks):
        try:
            g = int(acks[k])
        except ValueError:
            wrong_gen.append("batch %d acknowledged with generation %r" % (k, acks[k]))
            continue
        if one_client and g != g0 + order.index(k) + 1:
            wrong_gen.append("batch %d acknowledged with generation %d, want %d" %
                             (k, g, g0 + order.index(k) + 1))
        if not g0 < g <= want:
            wrong_gen.append("batch %d: generation %d not in %d..%d" % (k, g, g0 + 1, want))
        if g in seen:
            wrong_gen.append("batches %d and %d share generation %d" % (seen[g], k, g))
        seen[g] = k
        c = k // CLIENT_STRIDE
        if c in last and last[c] >= g:
            wrong_gen.append("batch %d: generation %d not above its client's previous %d" %
                             (k, g, last[c]))
        last[c] = g
    res(not wrong_gen, "each acknowledgement has its own generation among the applied "
        "batches', rising within each client", "\n".join(wrong_gen[:5]))

    for good, what, diag in results:
        print("%s\t%s\t%s" % ("ok" if good else "fail", what, diag.replace("\n", "\\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
