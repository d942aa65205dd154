#!/usr/bin/env bash
# tests/integration/mgr_restart.sh - crash recovery.  The network's VR is a
# TCP server that accepts and never answers (vr-timeout 600), so with two
# workers two deploy jobs hang in networkprep holding their reservation and
# three more wait in the queue.  vr-manager is SIGKILLed, a real vrd takes
# the VR's port, vr-manager starts again: the two interrupted jobs are rolled
# back (failed, VM Error, capacity, counts, rows, VR entries all given back)
# and the three that had not reserved yet run again and succeed.  Then
# normal deploys and destroys keep the accounting exact down to zero.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

# A VR that accepts connections and never answers; counts the requests that
# reached it in $HOLE.count, its port in $HOLE.port.
HOLE="$VT_TMP/hole"
vt_bg "$VT_PY" -c '
import os, socket, sys, threading
base = sys.argv[1]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
lock, n, held = threading.Lock(), [0], []
def put(name, text):
    with open(base + name + ".tmp", "w") as f:
        f.write(text)
    os.rename(base + name + ".tmp", base + name)
def serve(c):
    if c.recv(65536):
        with lock:
            n[0] += 1
            put(".count", str(n[0]))
    while c.recv(65536):
        pass
put(".count", "0")
put(".port", str(ls.getsockname()[1]))
while True:
    c, _ = ls.accept()
    held.append(c)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$HOLE"
HOLE_PID=$VT_LAST_PID

mgr_wait_for "the silent VR listens" 10 test -s "$HOLE.port" || mgr_finish
HOLE_PORT=$(cat "$HOLE.port")

vrd_new vr # takes over the silent VR's port later: its token goes into the inventory
VRD_PORT[vr]=$HOLE_PORT
VRD_URL[vr]="http://127.0.0.1:$HOLE_PORT"
W="$VT_TMP/world"
mgr_world "$W" --hosts 2 --host-cores 4 --host-mhz 2000 --offering-mhz 500 --offering-ram 512 \
    --vr-url "http://127.0.0.1:$HOLE_PORT" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || {
	fail "mgr_inventory.py writes a world"
	mgr_finish
}
mgr_new m
mgr_init m "$W/inventory.json"
check_eq "init: exit 0" 0 "$MGR_RC"
if ! mgr_start m --workers 2 --vr-timeout 600; then
	fail "vr-manager starts"
	mgr_finish
fi
export POOL="$W/primary" VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]}

mgr_py m <<'EOF'
ids = []
for i in range(5):
    st, js = deploy(admin, name="r%d" % i)
    check_eq("deploy r%d accepted" % i, 200, st)
    ids.append(body(js))
json.dump(ids, open(os.environ["POOL"] + "/../deploys.json", "w"))
EOF
hole_count() { test "$(cat "$HOLE.count")" -ge "$1"; }
mgr_wait_for "two network-prep pushes reach the silent VR" 10 hole_count 2
two_starting() {
	test "$(mgr_dbq m "SELECT COUNT(*) FROM vm WHERE state = ? AND reserved = 1" Starting)" = 2
}
mgr_wait_for "two VMs are Starting with their reservation committed" 10 two_starting

mgr_py m <<'EOF'
ids = json.load(open(os.environ["POOL"] + "/../deploys.json"))
st = [res(admin.call("queryAsyncJobResult", jobid=d["jobid"])[1]).get("jobstatus") for d in ids]
check_eq("all five jobs are pending", [0] * 5, st)
check_eq("VM states before the crash", {"Starting": 2, "Stopped": 3},
         dict(q("SELECT state, COUNT(*) FROM vm GROUP BY state")))
check_eq("two VMs' capacity is claimed", (1000, 1024),
         (sum(h[1] for h in hosts_used()), sum(h[2] for h in hosts_used())))
check_eq("admin's counts cover all five (sync phase)", 5, counts("admin")["vm"])
EOF
check_eq "the silent VR got exactly two pushes (two workers)" 2 "$(cat "$HOLE.count")"

mgr_kill9 m
ok "vr-manager killed with SIGKILL during network prep"
{ kill -9 "$HOLE_PID"; wait "$HOLE_PID"; } 2>/dev/null # (no "Killed" notice)
if ! vrd_start vr; then
	fail "vrd starts on the silent VR's port"
	mgr_finish
fi
check_eq "vrd listens on the VR's port" "$HOLE_PORT" "${VRD_PORT[vr]}"
if ! mgr_start m --workers 2 --vr-timeout 5; then
	fail "vr-manager restarts"
	mgr_finish
fi
check "the log says jobs were recovered" grep -q "recovered 5 unfinished jobs" "${MGR_LOG[m]}"

mgr_py m <<'EOF'
ids = json.load(open(os.environ["POOL"] + "/../deploys.json"))
deadline = time.monotonic() + 30
while True:
    rs = [res(admin.call("queryAsyncJobResult", jobid=d["jobid"])[1]) for d in ids]
    if all(r.get("jobstatus") for r in rs) or time.monotonic() > deadline:
        break
    time.sleep(0.05)
rolled = [r for r in rs if r.get("jobstatus") == 2]
done = [r for r in rs if r.get("jobstatus") == 1]
check_eq("after the restart two jobs are rolled back, three succeed", (2, 3), (len(rolled), len(done)))
check("the rolled-back jobs say why", all("rolled back" in r.get("jobresult", {}).get("errortext", "")
      for r in rolled), rolled)
check_eq("the rolled-back jobs fail with 530", [530, 530], [r.get("jobresultcode") for r in rolled])
bad = [r["jobinstanceid"] for r in rolled]
check_eq("the rolled-back VMs are Error", ["Error", "Error"],
         [q1("SELECT state FROM vm WHERE uuid = ?", u) for u in bad])
check_eq("the rolled-back VMs have no NIC or volume rows", 0,
         sum(q1("SELECT COUNT(*) FROM nic WHERE vm_id = (SELECT id FROM vm WHERE uuid = ?)", u) +
             q1("SELECT COUNT(*) FROM volume WHERE vm_id = (SELECT id FROM vm WHERE uuid = ?)", u)
             for u in bad))
check_eq("the rolled-back VMs hold no reservation", [0, 0],
         [q1("SELECT reserved FROM vm WHERE uuid = ?", u) for u in bad])
check_eq("VM states after recovery", {"Running": 3, "Error": 2},
         dict(q("SELECT state, COUNT(*) FROM vm GROUP BY state")))
hs = hosts_used()
check_eq("used CPU and RAM = exactly the three Running VMs (DB)", (1500, 1536),
         (sum(h[1] for h in hs), sum(h[2] for h in hs)))
check_eq("pool used = three volumes", 3 * (4 << 20), q1("SELECT used_bytes FROM pool"))
check_eq("admin's counts = three VMs", {"vm": 3, "cpu": 3, "memory": 1536, "volume": 3,
         "storage": 3 * (4 << 20)}, counts("admin"))
st, js = admin.call("listCapacity")
check_eq("listCapacity agrees", {0: 1536 << 20, 1: 1500, 3: 3 * (4 << 20)},
         {c["type"]: c["capacityused"] for c in body(js).get("capacity", [])})
st, js = admin.call("listHosts")
check_eq("listHosts agrees", 1500, sum(h["cpuallocatedvalue"] for h in body(js)["host"]))
ips = sorted(n["ipaddress"] for r in done for n in r["jobresult"]["virtualmachine"]["nic"])
check_eq("vrd has exactly the three Running VMs", ips, vr_vms())
check_eq("three domains", sorted(r["jobresult"]["virtualmachine"]["instancename"] for r in done),
         all_domains())
files = pool_files(os.environ["POOL"])
check_eq("the pool has three overlays and the template", 4, len(files))

# normal deploys after the restart, then everything destroyed
for i in range(2):
    st, js, r = deploy_wait(admin, name="n%d" % i)
    check_eq("deploy n%d after the restart succeeds" % i, 1, (r or {}).get("jobstatus"))
hs = hosts_used()
check_eq("used CPU and RAM = five VMs", (2500, 2560), (sum(h[1] for h in hs), sum(h[2] for h in hs)))
check_eq("admin's vm count = 5", 5, counts("admin")["vm"])
for (u,) in q("SELECT uuid FROM vm WHERE state IN ('Running', 'Error')"):
    st, js = admin.call("destroyVirtualMachine", id=u)
    st, r = admin.wait_job(body(js).get("jobid"))
    check_eq("destroy %s succeeds" % u[:8], 1, res(r).get("jobstatus"))
check_eq("capacity back to 0", [], [h for h in hosts_used() if h[1] or h[2]])
check_eq("pool used back to 0", 0, q1("SELECT used_bytes FROM pool"))
check_eq("counts back to 0", {"vm": 0, "cpu": 0, "memory": 0, "volume": 0, "storage": 0},
         counts("admin"))
check_eq("vrd empty", [], vr_vms())
check_eq("no domain", [], all_domains())
check_eq("the pool holds only the template", ["template-tpl1.qcow2"], pool_files(os.environ["POOL"]))
check_eq("no NIC or volume rows", (0, 0),
         (q1("SELECT COUNT(*) FROM nic"), q1("SELECT COUNT(*) FROM volume")))
EOF

# a clean restart with nothing pending recovers nothing and keeps the numbers
mgr_stop m
if mgr_start m; then
	mgr_py m <<'EOF'
st, js = admin.call("listCapacity")
check_eq("after a clean restart listCapacity is still 0", {0: 0, 1: 0, 3: 0},
         {c["type"]: c["capacityused"] for c in body(js).get("capacity", [])})
st, js, r = deploy_wait(admin, name="last")
check_eq("a deploy after the clean restart succeeds", 1, (r or {}).get("jobstatus"))
check_eq("and claims exactly one VM", (500, 512),
         (sum(h[1] for h in hosts_used()), sum(h[2] for h in hosts_used())))
EOF
else
	fail "vr-manager starts a third time"
fi
check "the clean restart recovered nothing" test "$(grep -c 'recovered' "${MGR_LOG[m]}")" -eq 1

mgr_finish
