#!/usr/bin/env bash
# tests/integration/mgr_concurrency.sh - 200 deployVirtualMachine calls at
# once into six hosts with CPU room for exactly 120 VMs (RAM and storage
# ample), a real vrd as the network's VR: exactly 120 jobs succeed and 80
# fail with 533; no host is over-committed (database and listHosts); the
# used sums, listCapacity, resource counts, vrd's VMs, the pool's overlays
# and the libvirt domains all say 120.  Then 40 stops, 40 reboots and 40
# deploys at once, and the 40 starts with 40 more deploys at once: the room
# is filled exactly and the accounting follows (Stopped VMs keep their
# volume, NIC, VR entry and counts, not their host's CPU and RAM).  Then all
# are destroyed at once and everything is back to zero.  Last, storage as the limit: 40 deploys
# at once into a pool with room for 10 volumes.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
# 6 hosts x 4 cores x 2500 MHz = 10000 MHz each: 20 VMs of 1 x 500 MHz; RAM for 256
W="$VT_TMP/m"
MGR_START_ARGS=(--workers 8 --api-threads 4)
mgr_up m --hosts 6 --host-cores 4 --host-mhz 2500 --host-ram 65536 \
    --offering-cpus 1 --offering-mhz 500 --offering-ram 256 --template-mib 2 \
    --cidr 10.20.0.0/16 --gateway 10.20.0.1 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || mgr_finish
export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]} POOL="$W/primary"

# vrd_vm_count: VMs vrd knows, from `vrctl vms --json`
vrd_vm_count() {
	vt_vrctl vr vms --json | vt_json - 'len(j)'
}

mgr_py m <<'EOF'
N, ROOM, MHZ, RAM, DISK = 200, 120, 500, 256, 2 << 20

def fire(i, out):
    out[i] = admin.call("deployVirtualMachine", zoneid="zone1", serviceofferingid="small",
                        templateid="tpl1", name="c%03d" % i)

out = [None] * N
barrier = threading.Barrier(N)
def go(i):
    barrier.wait()
    fire(i, out)
ts = [threading.Thread(target=go, args=(i,)) for i in range(N)]
t0 = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
sync = [o[0] for o in out]
check_eq("all %d deployVirtualMachine calls accepted in the sync phase" % N, [200] * N, sync)
jobs = {body(o[1])["jobid"] for o in out if o[0] == 200}
check_eq("%d distinct job ids" % N, N, len(jobs))

# wait for every job (bounded): listAsyncJobs until none is pending
deadline = time.monotonic() + 30
while True:
    st, js = admin.call("listAsyncJobs")
    pend = [j for j in body(js).get("asyncjobs", []) if j["jobstatus"] == 0]
    if st == 200 and not pend or time.monotonic() > deadline:
        break
    time.sleep(0.1)
check_eq("every job finished within 30 s", [], [j["jobid"] for j in pend])
print("# %d jobs in %.1f s" % (N, time.monotonic() - t0))
allj = {j["jobid"]: j for j in body(js)["asyncjobs"]}
done = [j for j in allj.values() if j["jobid"] in jobs]
okj = [j for j in done if j["jobstatus"] == 1]
bad = [j for j in done if j["jobstatus"] == 2]
check_eq("exactly %d jobs succeed" % ROOM, ROOM, len(okj))
check_eq("exactly %d jobs fail" % (N - ROOM), N - ROOM, len(bad))
check_eq("every failure has jobresultcode 533", [533] * len(bad), [j["jobresultcode"] for j in bad])
st, js = admin.call("queryAsyncJobResult", jobid=bad[0]["jobid"]) if bad else (0, {})
r = res(js).get("jobresult", {})
check("a failed job's errortext names the missing capacity",
      r.get("errorcode") == 533 and "Unable to create a deployment" in r.get("errortext", ""), js)
st, js = admin.call("queryAsyncJobResult", jobid=okj[0]["jobid"]) if okj else (0, {})
stages = [s["name"] for s in res(js).get("stages", [])]
check_eq("a succeeded job shows its six stages", ["planning", "reservation", "networkprep",
         "volumeprep", "start", "completion"], stages)

# the database: no host over its total, sums exact
hosts = hosts_used()
check_eq("no host's used CPU or RAM exceeds its total (DB)", [],
         [h for h in hosts if h[1] > h[3] or h[2] > h[4]])
check_eq("sum of used CPU = %d x %d MHz (DB)" % (ROOM, MHZ), ROOM * MHZ, sum(h[1] for h in hosts))
check_eq("sum of used RAM = %d x %d MiB (DB)" % (ROOM, RAM), ROOM * RAM, sum(h[2] for h in hosts))
check_eq("pool used = %d x template size (DB)" % ROOM, ROOM * DISK, q1("SELECT used_bytes FROM pool"))
check_eq("every host is full (20 VMs each)", [10000] * 6, [h[1] for h in hosts])
per_host = dict(q("SELECT h.name, COUNT(v.id) FROM host h LEFT JOIN vm v ON v.host_id = h.id"
                  " AND v.state = 'Running' GROUP BY h.id"))
check_eq("Running VMs per host (DB)", {"host%d" % i: 20 for i in range(1, 7)}, per_host)
check_eq("VM states", {"Running": ROOM, "Error": N - ROOM},
         dict(q("SELECT state, COUNT(*) FROM vm GROUP BY state")))
check_eq("NIC and volume rows only for the Running VMs", (ROOM, ROOM),
         (q1("SELECT COUNT(*) FROM nic"), q1("SELECT COUNT(*) FROM volume")))
check_eq("the NICs' IPs and MACs are distinct", (ROOM, ROOM),
         (q1("SELECT COUNT(DISTINCT ip) FROM nic"), q1("SELECT COUNT(DISTINCT mac) FROM nic")))
check_eq("resource counts of admin", {"vm": ROOM, "cpu": ROOM, "memory": ROOM * RAM,
         "volume": ROOM, "storage": ROOM * DISK}, counts("admin"))

# the API's view
st, js = admin.call("listHosts", listdomains="true")
lh = body(js).get("host", [])
check_eq("listHosts: no cpuallocatedvalue above cpuwithoverprovisioning", [],
         [h["name"] for h in lh if h["cpuallocatedvalue"] > h["cpuwithoverprovisioning"]])
check_eq("listHosts: no memoryallocated above memorytotal", [],
         [h["name"] for h in lh if h["memoryallocated"] > h["memorytotal"]])
check_eq("listHosts: sum of cpuallocatedvalue", ROOM * MHZ, sum(h["cpuallocatedvalue"] for h in lh))
check_eq("listHosts: sum of memoryallocated", ROOM * RAM << 20, sum(h["memoryallocated"] for h in lh))
check_eq("listHosts listdomains=true: 120 domains", ROOM, sum(len(h["domains"]) for h in lh))
check_eq("each host's domains are its Running VMs", {h: 20 for h in per_host},
         {h["name"]: len(h["domains"]) for h in lh})
inst = sorted(r[0] for r in q("SELECT instance_name FROM vm WHERE state = 'Running'"))
check_eq("the domains are the Running VMs' instance names", inst,
         sorted(d for h in lh for d in h["domains"]))
st, js = admin.call("listCapacity")
cap = {c["type"]: c["capacityused"] for c in body(js).get("capacity", [])}
check_eq("listCapacity used: memory, CPU, storage", {0: ROOM * RAM << 20, 1: ROOM * MHZ,
         3: ROOM * DISK}, cap)
st, js = admin.call("listVirtualMachines", state="Running")
check_eq("listVirtualMachines state=Running: 120", ROOM, body(js).get("count"))

# vrd and the pool
ips = sorted("%d.%d.%d.%d" % tuple((ip >> s) & 255 for s in (24, 16, 8, 0))
             for (ip,) in q("SELECT ip FROM nic"))
check_eq("vrd knows exactly the Running VMs' IPs", ips, vr_vms())
files = pool_files(os.environ["POOL"])
check_eq("the pool holds 120 overlays and 1 template", (ROOM, ["template-tpl1.qcow2"]),
         (len([f for f in files if not f.startswith("template-")]),
          [f for f in files if f.startswith("template-")]))
vols = sorted(os.path.basename(p) for (p,) in q("SELECT path FROM volume"))
check_eq("the overlays are the volumes' files", vols, [f for f in files if not f.startswith("template-")])
EOF
check_eq "vrctl vms --json: 120 VMs" 120 "$(vrd_vm_count)"

# --- stops, reboots and deploys at once, then starts and deploys at once ----------
# The hosts are full.  40 stops, 40 reboots and 40 deploys race: a deploy gets
# room only where a stop gave it back first.  Then the 40 stopped VMs start
# while 40 more deploys race them for the room left: it is filled exactly.
mgr_py m <<'EOF'
ROOM, MHZ, RAM, DISK = 120, 500, 256, 2 << 20

def fire_all(calls):
    """calls: (command, params) each; all at once; their answers, in order."""
    out = [None] * len(calls)
    barrier = threading.Barrier(len(calls))
    def go(i):
        barrier.wait()
        out[i] = admin.call(calls[i][0], **calls[i][1])
    ts = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in ts: t.start()
    for t in ts: t.join()
    return out

def wait_jobs(out, what):
    ids = [body(o[1]).get("jobid") for o in out]
    deadline = time.monotonic() + 60
    while q1("SELECT COUNT(*) FROM job WHERE status = 0") and time.monotonic() < deadline:
        time.sleep(0.1)
    check_eq("every %s job finished within 60 s" % what, 0, q1("SELECT COUNT(*) FROM job WHERE status = 0"))
    return [tuple(q("SELECT status, result_code FROM job WHERE uuid = ?", i)[0]) for i in ids]

running = [r[0] for r in q("SELECT uuid FROM vm WHERE state = 'Running' ORDER BY id")]
stop, reboot = running[:40], running[40:80]
out = fire_all([("stopVirtualMachine", {"id": u}) for u in stop] +
               [("rebootVirtualMachine", {"id": u}) for u in reboot] +
               [("deployVirtualMachine", {"zoneid": "zone1", "serviceofferingid": "small",
                 "templateid": "tpl1", "name": "a%03d" % i}) for i in range(40)])
check_eq("120 stop, reboot and deploy calls accepted", [200] * 120, [o[0] for o in out])
res_a = wait_jobs(out, "stop, reboot and deploy")
check_eq("every stop and reboot succeeded", [(1, 0)] * 80, res_a[:80])
a_ok = sum(1 for r in res_a[80:] if r[0] == 1)
check_eq("the deploys that found no room failed with 533", [(2, 533)] * (40 - a_ok),
         [r for r in res_a[80:] if r[0] != 1])
print("# phase A: %d of 40 deploys found room a stop gave back" % a_ok)
check_eq("the stopped VMs are Stopped, the rebooted Running", (["Stopped"] * 40, ["Running"] * 40),
         ([q1("SELECT state FROM vm WHERE uuid = ?", u) for u in stop],
          [q1("SELECT state FROM vm WHERE uuid = ?", u) for u in reboot]))

out = fire_all([("startVirtualMachine", {"id": u}) for u in stop] +
               [("deployVirtualMachine", {"zoneid": "zone1", "serviceofferingid": "small",
                 "templateid": "tpl1", "name": "b%03d" % i}) for i in range(40)])
check_eq("80 start and deploy calls accepted", [200] * 80, [o[0] for o in out])
res_b = wait_jobs(out, "start and deploy")
check_eq("every start or deploy that failed found no room (533)", [],
         [r for r in res_b if r[0] != 1 and r != (2, 533)])
check_eq("the room left is filled exactly: %d Running" % ROOM, ROOM,
         q1("SELECT COUNT(*) FROM vm WHERE state = 'Running'"))
check_eq("a start that found no room left its VM Stopped", [],
         [u for u, r in zip(stop, res_b[:40]) if r[0] == 2 and
          q1("SELECT state FROM vm WHERE uuid = ?", u) != "Stopped"])
held = q1("SELECT COUNT(*) FROM vm WHERE state IN ('Running', 'Stopped')")
hosts = hosts_used()
check_eq("no host's used CPU or RAM exceeds its total", [],
         [h for h in hosts if h[1] > h[3] or h[2] > h[4]])
check_eq("used CPU and RAM = the Running VMs", (ROOM * MHZ, ROOM * RAM),
         (sum(h[1] for h in hosts), sum(h[2] for h in hosts)))
check_eq("pool used = the Running and Stopped VMs' volumes", held * DISK,
         q1("SELECT used_bytes FROM pool"))
check_eq("resource counts = the Running and Stopped VMs", {"vm": held, "cpu": held,
         "memory": held * RAM, "volume": held, "storage": held * DISK}, counts("admin"))
check_eq("reservations only for Running VMs", 0,
         q1("SELECT COUNT(*) FROM vm WHERE reserved != CASE state WHEN 'Running' THEN 1 ELSE 0 END"))
ips = sorted("%d.%d.%d.%d" % tuple((ip >> s) & 255 for s in (24, 16, 8, 0)) for (ip,) in
             q("SELECT c.ip FROM nic c JOIN vm v ON v.id = c.vm_id WHERE v.state IN ('Running', 'Stopped')"))
check_eq("vrd knows exactly the Running and Stopped VMs' IPs", ips, vr_vms())
check_eq("the domains are exactly the Running VMs'",
         sorted(r[0] for r in q("SELECT instance_name FROM vm WHERE state = 'Running'")), all_domains())
files = pool_files(os.environ["POOL"])
check_eq("one overlay per Running or Stopped VM", held,
         len([f for f in files if not f.startswith("template-")]))
EOF

# --- destroy all at once ----------------------------------------------------------------
mgr_py m <<'EOF'
vms = [r[0] for r in q("SELECT uuid FROM vm WHERE state IN ('Running', 'Stopped')")]
nerr = q1("SELECT COUNT(*) FROM vm WHERE state = 'Error'")
out = {}
def go(u):
    out[u] = admin.call("destroyVirtualMachine", id=u)
ts = [threading.Thread(target=go, args=(u,)) for u in vms]
for t in ts: t.start()
for t in ts: t.join()
check_eq("%d destroyVirtualMachine calls accepted" % len(vms), [200] * len(vms), [out[u][0] for u in vms])
deadline = time.monotonic() + 30
while True:
    st, js = admin.call("listAsyncJobs")
    pend = [j for j in body(js).get("asyncjobs", []) if j["jobstatus"] == 0]
    if st == 200 and not pend or time.monotonic() > deadline:
        break
    time.sleep(0.1)
check_eq("every destroy job finished within 30 s", [], [j["jobid"] for j in pend])
djobs = {body(out[u][1])["jobid"] for u in vms}
check_eq("every destroy job succeeded", [1] * len(djobs),
         [j["jobstatus"] for j in body(js)["asyncjobs"] if j["jobid"] in djobs])
check_eq("VM states after the destroys", {"Destroyed": len(vms), "Error": nerr},
         dict(q("SELECT state, COUNT(*) FROM vm GROUP BY state")))
check_eq("hosts' used CPU and RAM back to 0", [], [h for h in hosts_used() if h[1] or h[2]])
check_eq("pool used back to 0", 0, q1("SELECT used_bytes FROM pool"))
check_eq("admin's resource counts back to 0", {"vm": 0, "cpu": 0, "memory": 0, "volume": 0,
         "storage": 0}, counts("admin"))
check_eq("no NIC or volume rows", (0, 0), (q1("SELECT COUNT(*) FROM nic"), q1("SELECT COUNT(*) FROM volume")))
st, js = admin.call("listCapacity")
check_eq("listCapacity used all 0", {0: 0, 1: 0, 3: 0},
         {c["type"]: c["capacityused"] for c in body(js).get("capacity", [])})
st, js = admin.call("listHosts")
check_eq("listHosts allocated all 0", [], [h["name"] for h in body(js)["host"]
         if h["cpuallocatedvalue"] or h["memoryallocated"]])
check_eq("vrd has no VM", [], vr_vms())
check_eq("the pool holds only the template", ["template-tpl1.qcow2"], pool_files(os.environ["POOL"]))
check_eq("no domain on any host", [], all_domains())
st, js = admin.call("listVirtualMachines")
check_eq("listVirtualMachines hides the destroyed VMs", nerr, body(js).get("count"))
EOF
check_eq "vrctl vms --json: 0 VMs" 0 "$(vrd_vm_count)"
mgr_stop m

# --- the pool as the limit: room for 10 ROOT volumes, hosts ample --------------------
W2="$VT_TMP/p"
MGR_START_ARGS=(--workers 8)
if mgr_up p --hosts 3 --host-cores 64 --host-mhz 3000 --host-ram 262144 --template-mib 2 \
    --pool-capacity $((10 * 2 * 1024 * 1024 + 1024 * 1024)) --cidr 10.21.0.0/16 --gateway 10.21.0.1 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")"; then
	POOL="$W2/primary" mgr_py p <<'EOF'
N, ROOM, DISK = 40, 10, 2 << 20
out = [None] * N
barrier = threading.Barrier(N)
def go(i):
    barrier.wait()
    out[i] = admin.call("deployVirtualMachine", zoneid="zone1", serviceofferingid="small",
                        templateid="tpl1", name="p%03d" % i)
ts = [threading.Thread(target=go, args=(i,)) for i in range(N)]
for t in ts: t.start()
for t in ts: t.join()
check_eq("40 deploys accepted", [200] * N, [o[0] for o in out])
deadline = time.monotonic() + 30
while True:
    st, js = admin.call("listAsyncJobs")
    jobs = body(js).get("asyncjobs", [])
    if st == 200 and all(j["jobstatus"] for j in jobs) or time.monotonic() > deadline:
        break
    time.sleep(0.1)
check_eq("pool-limited: exactly 10 succeed, 30 fail with 533", (ROOM, [533] * (N - ROOM)),
         (len([j for j in jobs if j["jobstatus"] == 1]),
          [j["jobresultcode"] for j in jobs if j["jobstatus"] == 2]))
pu, pc = q("SELECT used_bytes, capacity_bytes FROM pool")[0]
check_eq("pool used = 10 volumes, within capacity", (ROOM * DISK, True), (pu, pu <= pc))
hs = hosts_used()
check_eq("hosts hold exactly the 10 VMs (no claim leaked by a lost pool claim)",
         (ROOM * 500, ROOM * 512), (sum(h[1] for h in hs), sum(h[2] for h in hs)))
check_eq("admin's counts: 10 VMs", ROOM, counts("admin")["vm"])
check_eq("10 overlays and the template in the pool", ROOM + 1, len(pool_files(os.environ["POOL"])))
check_eq("10 domains", ROOM, len(all_domains() or []))
check_eq("vrd knows 10 VMs", ROOM, len(vr_vms() or []))
for (u,) in q("SELECT uuid FROM vm WHERE state = 'Running'"):
    st, js = admin.call("destroyVirtualMachine", id=u)
    st, r = admin.wait_job(body(js).get("jobid"))
check_eq("after destroying them: pool, hosts and counts at 0", (0, 0, 0),
         (q1("SELECT used_bytes FROM pool"), sum(h[1] + h[2] for h in hosts_used()),
          counts("admin")["vm"]))
check_eq("vrd empty again", [], vr_vms())
EOF
fi

mgr_finish
