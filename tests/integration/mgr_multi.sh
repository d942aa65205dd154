#!/usr/bin/env bash
# tests/integration/mgr_multi.sh - three vr-managers on one PostgreSQL
# database (a throw-away cluster, tests/lib/pg.sh) and a real vrd as the VR.
# 300 deployVirtualMachine calls spread over the three by the test, into 12
# hosts with room for 240; manager c is SIGKILLed in the middle.  Within the
# takeover time another manager takes over c's pending jobs: every accepted
# job (and every job in the database) ends, succeeded or failed with a
# reason; no host is over capacity; host and pool use, resource counts,
# reservations, NICs, volumes, vrd's entries and the pool's overlays match
# the VMs exactly; the living managers' domains are exactly their Running
# VMs; listManagementServers shows c Down.  c then restarts in a new
# generation and runs nothing (no job changes, no domain).  Last, on a host
# with room for one VM, two managers race for the last slot 20 times:
# exactly one deploy wins each time, the other fails with 533.  Then r2 is
# paused past the takeover time: r1 takes it over, and r2, resumed, exits
# with status 3.
set -u
export MGR_ENGINE=pg
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
TAKEOVER=3
W="$VT_TMP/a"
# 12 hosts x 4 cores x 2500 MHz: 20 VMs of 1 x 500 MHz each, 240 in all
MGR_START_ARGS=(--workers 4 --api-threads 4 --name a --takeover-after "$TAKEOVER")
mgr_up a --hosts 12 --host-cores 4 --host-mhz 2500 --host-ram 65536 \
    --offering-cpus 1 --offering-mhz 500 --offering-ram 256 --template-mib 2 \
    --cidr 10.30.0.0/16 --gateway 10.30.0.1 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || mgr_finish
for n in b c; do
	mgr_new "$n"
	MGR_DB[$n]=${MGR_DB[a]}
	if ! mgr_start "$n" --workers 4 --api-threads 4 --name "$n" --takeover-after "$TAKEOVER"; then
		fail "manager $n starts on a's database"
		mgr_finish
	fi
done
export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]} POOL="$W/primary"
export URL_A=${MGR_URL[a]} URL_B=${MGR_URL[b]} URL_C=${MGR_URL[c]} PID_C=${MGR_PID[c]}
export TAKEOVER

mgr_py a <<'EOF'
import ipaddress, signal
N, KILL_AT = 300, 150
clients = {n: Client(os.environ["URL_" + n.upper()], "admin-key", "admin-secret", timeout=20)
           for n in "abc"}
st, js = admin.call("listManagementServers")
ms = {m["name"]: m for m in body(js).get("managementserver", [])}
check_eq("listManagementServers: a, b and c are Up", {"a": "Up", "b": "Up", "c": "Up"},
         {n: m["state"] for n, m in ms.items()})

out, lock, sent = {}, threading.Lock(), [0]
def fire(i):
    n = "abc"[i % 3]
    with lock:
        sent[0] += 1
        if sent[0] == KILL_AT:
            os.kill(int(os.environ["PID_C"]), signal.SIGKILL)
    try:
        st, js = clients[n].call("deployVirtualMachine", zoneid="zone1",
                                 serviceofferingid="small", templateid="tpl1", name="m%03d" % i)
    except Exception as e:
        st, js = 0, {"error": str(e)}
    out[i] = (n, st, js)

pending = list(range(N))
def runner():
    while True:
        with lock:
            if not pending:
                return
            i = pending.pop(0)
        fire(i)
t0 = time.monotonic()
ts = [threading.Thread(target=runner) for _ in range(24)]
for t in ts: t.start()
for t in ts: t.join()
acc = {i: o for i, o in out.items() if o[1] == 200}
by = {n: sum(1 for o in acc.values() if o[0] == n) for n in "abc"}
print("# accepted per manager: %r; %d not accepted (c killed)" % (by, N - len(acc)))
check("a and b accepted every deploy sent to them",
      all(o[1] == 200 for o in out.values() if o[0] in "ab"),
      [o for o in out.values() if o[0] in "ab" and o[1] != 200][:3])
check("c accepted deploys before it was killed", by["c"] > 0, by)
jobs = {body(o[2])["jobid"]: o[0] for o in acc.values()}

# every job in the database ends (c's are taken over), bounded
deadline = time.monotonic() + 180
while q1("SELECT COUNT(*) FROM job WHERE status = 0") and time.monotonic() < deadline:
    time.sleep(0.2)
print("# all jobs ended %.1f s after the first deploy" % (time.monotonic() - t0))
check_eq("every job in the database ended (c's taken over)", 0,
         q1("SELECT COUNT(*) FROM job WHERE status = 0"))
ends = {u: (s, c, e) for u, s, c, e in
        q("SELECT uuid, status, result_code, error_text FROM job")}
check_eq("every accepted job ended", [], [j for j in jobs if ends.get(j, (0,))[0] not in (1, 2)])
check_eq("every failed job says why (533 no room, or 530 rolled back)", [],
         [(u, e) for u, (s, c, e) in ends.items() if s == 2 and (not e or c not in (530, 533))])
okn = sum(1 for s, c, e in ends.values() if s == 1)
print("# %d succeeded, %d failed" % (okn, len(ends) - okn))
check("at most the 240 VMs there is room for succeeded", 0 < okn <= 240, okn)
check_eq("no host over capacity", [], q(
    "SELECT name FROM host WHERE cpu_used_mhz > cpu_total_mhz OR ram_used_mib > ram_total_mib"))
check_eq("the managers that took over c's jobs are a or b", set(),
         {n for (n,) in q("SELECT DISTINCT m.name FROM job j JOIN manager m ON m.id = j.owner_id"
                         " WHERE m.name NOT IN ('a', 'b', 'c')")})
st, js = admin.call("listManagementServers")
ms = {m["name"]: m for m in body(js).get("managementserver", [])}
check_eq("listManagementServers: a and b Up, c Down, nothing pending",
         {"a": ("Up", 0), "b": ("Up", 0), "c": ("Down", 0)},
         {n: (m["state"], m["pendingjobs"]) for n, m in ms.items()})
check_eq("c's generation was taken (bumped from 1)", 2, ms.get("c", {}).get("generation"))

check_eq("each host's used CPU and RAM = its Running VMs", [], q(
    "SELECT h.name, h.cpu_used_mhz, h.ram_used_mib, s.cpu, s.ram FROM host h LEFT JOIN"
    " (SELECT v.host_id hid, SUM(o.cpu_count * o.cpu_mhz) cpu, SUM(o.ram_mib) ram FROM vm v"
    "  JOIN offering o ON o.id = v.offering_id WHERE v.state = 'Running' GROUP BY v.host_id) s"
    " ON s.hid = h.id WHERE h.cpu_used_mhz != COALESCE(s.cpu, 0) OR h.ram_used_mib != COALESCE(s.ram, 0)"))
check_eq("the pool's used bytes = the Running VMs' volumes", [], q(
    "SELECT p.name, p.used_bytes, s.b FROM pool p LEFT JOIN"
    " (SELECT vol.pool_id pid, SUM(vol.size) b FROM volume vol JOIN vm v ON v.id = vol.vm_id"
    "  WHERE v.state IN ('Running', 'Stopped') GROUP BY vol.pool_id) s ON s.pid = p.id"
    " WHERE p.used_bytes != COALESCE(s.b, 0)"))
want = dict(zip(("vm", "cpu", "memory", "volume", "storage"), q(
    "SELECT COUNT(DISTINCT v.id), COALESCE(SUM(o.cpu_count), 0), COALESCE(SUM(o.ram_mib), 0),"
    " COUNT(vol.id), COALESCE(SUM(vol.size), 0) FROM vm v JOIN account a ON a.id = v.account_id"
    " JOIN offering o ON o.id = v.offering_id LEFT JOIN volume vol ON vol.vm_id = v.id"
    " WHERE a.name = 'admin' AND v.state IN ('Running', 'Stopped')")[0]))
check_eq("admin's resource counts = the Running VMs", want, counts("admin"))
check_eq("VMs only Running or Error (no Stopped, Starting)", set(),
         {s for (s,) in q("SELECT DISTINCT state FROM vm")} - {"Running", "Error"})
check_eq("reservations only for Running VMs; NICs and volumes only and always for them",
         (0, 0, 0, 0), (
    q1("SELECT COUNT(*) FROM vm WHERE reserved != CASE state WHEN 'Running' THEN 1 ELSE 0 END"),
    q1("SELECT COUNT(*) FROM nic c JOIN vm v ON v.id = c.vm_id WHERE v.state != 'Running'"),
    q1("SELECT COUNT(*) FROM volume vol JOIN vm v ON v.id = vol.vm_id WHERE v.state != 'Running'"),
    q1("SELECT COUNT(*) FROM vm v WHERE v.state = 'Running' AND NOT EXISTS"
       " (SELECT 1 FROM volume vol WHERE vol.vm_id = v.id AND vol.state = 'Ready')")))
check_eq("no address given twice", 0,
         q1("SELECT COUNT(*) - COUNT(DISTINCT ip) FROM nic"))
held = q("SELECT v.instance_name, c.ip, vol.path, m.name FROM vm v JOIN nic c ON c.vm_id = v.id"
         " JOIN volume vol ON vol.vm_id = v.id JOIN job j ON j.vm_id = v.id"
         " JOIN manager m ON m.id = j.owner_id WHERE v.state = 'Running'")
check_eq("vrd holds exactly the %d Running VMs' addresses" % len(held),
         sorted(str(ipaddress.IPv4Address(r[1])) for r in held), vr_vms())
check_eq("the pool holds the template and one overlay per Running VM, no temp file",
         sorted(["template-tpl1.qcow2"] + [os.path.basename(r[2]) for r in held]),
         sorted(os.listdir(os.environ["POOL"])))
# libvirt's test driver keeps domains in the manager's memory: c's died
# with it; a's and b's are exactly the Running VMs whose job they ran
for n in "ab":
    st, js = clients[n].call("listHosts", listdomains="true")
    doms = sorted(d for h in body(js).get("host", []) for d in h.get("domains", []))
    check_eq("manager %s's domains are exactly the Running VMs it started" % n,
             sorted(r[0] for r in held if r[3] == n), doms)
json.dump(sorted(q("SELECT uuid, status, finished_ms, stages FROM job")),
          open(os.environ["POOL"] + "/../jobs.before", "w"))
EOF

# c comes back: a new generation, nothing of its own to run
mgr_kill9 c
if ! mgr_start c --workers 4 --api-threads 4 --name c --takeover-after "$TAKEOVER"; then
	fail "c restarts"
	mgr_finish
fi
mgr_py c <<'EOF'
st, js = admin.call("listManagementServers")
ms = {m["name"]: m for m in body(js).get("managementserver", [])}
check_eq("after its restart c is Up in generation 3, a and b still Up",
         {"a": "Up", "b": "Up", "c": ("Up", 3)},
         {n: (m["state"], m["generation"]) if n == "c" else m["state"] for n, m in ms.items()})
# two of c's heartbeat periods, for any job it might wrongly run to show
time.sleep(2 * int(os.environ["TAKEOVER"]) / 5 + 0.5)
before = json.load(open(os.environ["POOL"] + "/../jobs.before"))
check_eq("the restarted c ran nothing: every job as it was", before,
         [list(r) for r in sorted(q("SELECT uuid, status, finished_ms, stages FROM job"))])
st, js = admin.call("listHosts", listdomains="true")
check_eq("the restarted c started no domain", [],
         [d for h in body(js).get("host", []) for d in h.get("domains", [])])
EOF
check "c's log says it recovered no job" bash -c "! grep -q 'recovered [0-9]* unfinished' '${MGR_LOG[c]}'"
for n in a b c; do mgr_stop "$n"; done

# The last slot: one host with room for exactly one VM, two managers.
MGR_START_ARGS=(--workers 2 --name r1 --takeover-after "$TAKEOVER")
mgr_up r1 --hosts 1 --host-cores 1 --host-mhz 500 --host-ram 4096 \
    --offering-cpus 1 --offering-mhz 500 --offering-ram 256 --template-mib 2 \
    --cidr 10.31.0.0/24 --gateway 10.31.0.1 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || mgr_finish
mgr_new r2
MGR_DB[r2]=${MGR_DB[r1]}
if ! mgr_start r2 --workers 2 --name r2 --takeover-after "$TAKEOVER"; then
	fail "manager r2 starts on r1's database"
	mgr_finish
fi
export URL_R2=${MGR_URL[r2]}
mgr_py r1 <<'EOF'
ROUNDS = 20
c2 = Client(os.environ["URL_R2"], "admin-key", "admin-secret", timeout=20)
wins, bad = {"r1": 0, "r2": 0}, []
for k in range(ROUNDS):
    out = {}
    barrier = threading.Barrier(2)
    def go(n, c):
        barrier.wait()
        st, js = c.call("deployVirtualMachine", zoneid="zone1", serviceofferingid="small",
                        templateid="tpl1", name="race%02d%s" % (k, n))
        out[n] = c.wait_job(body(js)["jobid"], timeout=60)[1] if st == 200 else None
    ts = [threading.Thread(target=go, args=a) for a in (("r1", admin), ("r2", c2))]
    for t in ts: t.start()
    for t in ts: t.join()
    r = {n: (res(js).get("jobstatus"), res(js).get("jobresultcode")) if js else None
         for n, js in out.items()}
    won = [n for n, x in r.items() if x and x[0] == 1]
    lost = [n for n, x in r.items() if x == (2, 533)]
    if len(won) != 1 or len(lost) != 1 or hosts_used()[0][1] != 500:
        bad.append((k, r, hosts_used()))
    for n in won:
        wins[n] += 1
        vm = res(out[n]).get("jobresult", {}).get("virtualmachine", {}).get("id")
        st, js = admin.call("destroyVirtualMachine", id=vm)
        admin.wait_job(body(js).get("jobid"), timeout=60)
    if hosts_used()[0][1] != 0:
        bad.append((k, "host not free after the destroy", hosts_used()))
print("# wins: %r" % wins)
check_eq("%d races for the last slot: exactly one deploy wins each, the other gets 533"
         % ROUNDS, [], bad)
EOF

# Fencing: r2 paused past the takeover time is taken over by r1; resumed, it
# finds its generation gone and exits (status 3) instead of going on.
r2_taken() { [ "$(mgr_dbq r1 "SELECT state || ' ' || generation FROM manager WHERE name = ?" r2)" = "taken 2" ]; }
r2_gone() { ! vt_alive "$R2_PID"; }
R2_PID=${MGR_PID[r2]}
kill -STOP "$R2_PID"
mgr_wait_for "r2 paused: r1 takes it over (generation 2)" $((TAKEOVER * 3)) r2_taken
kill -CONT "$R2_PID"
mgr_wait_for "r2 resumed: it exits" $((TAKEOVER * 3)) r2_gone
wait "$R2_PID"
check_eq "r2's exit status is 3 (presumed dead)" 3 "$?"
MGR_PID[r2]=""
check "r2's log says it was taken over" grep -q 'was taken over by another manager; exiting' "${MGR_LOG[r2]}"
mgr_finish
