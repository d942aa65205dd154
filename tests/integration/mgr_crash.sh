#!/usr/bin/env bash
# tests/integration/mgr_crash.sh - crash consistency of vr-manager, 20 times
# over (MGR_CRASH_ROUNDS).  Four client threads stream deploys, destroys,
# stops, starts and reboots (admin, and alice with a limit of 8 VMs) into two
# hosts with room for 24 VMs, a real vrd as the VR and four workers.  The manager is SIGKILLed at a
# random point: once the stream has had K requests accepted, K drawn from
# 1..30 each round (MGR_CRASH_SEED replays the draws; the timing within the
# jobs still varies).  Before the restart the test notes what each pending
# job had done (queued, reserved, VR entry pushed, overlay written, or a
# destroy, stop, reboot, or a start before or after its reservation); after
# it, it checks what the restart made of each: a deploy or start that had
# reserved is rolled back (530, "rolled back"; a start's VM Stopped again),
# one that had not runs again, a destroy or stop runs again and ends
# Destroyed or Stopped, a reboot ends with its VM Running; every job the
# stream saw accepted is finished; and the accounting is exact: each host's
# used CPU and RAM = its Running VMs, each pool's used bytes = the volumes on
# it (Running and Stopped VMs), the resource counts of both accounts = their
# Running and Stopped VMs, reservations only for Running VMs, NIC and volume
# rows only and always for Running and Stopped VMs, vrd's entries = their
# addresses, the pool's files = the template plus one overlay each (no temp
# file), listCapacity agrees.  The libvirt test driver's hypervisor lives inside
# vr-manager and dies with it, so domains are checked for what ran since the
# restart: no domain without a Running VM, and one for each VM started since.
# Last, everything is destroyed and every count is back to zero.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

ROUNDS=${MGR_CRASH_ROUNDS:-20}
SEED=${MGR_CRASH_SEED:-$(($(date +%s) % 32768))}
RANDOM=$SEED
echo "# MGR_CRASH_SEED=$SEED ($ROUNDS rounds)"

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
# 2 hosts x 3 cores x 2000 MHz: 12 VMs of 500 MHz each (RAM for 16)
W="$VT_TMP/m"
MGR_START_ARGS=(--workers 4 --vr-timeout 5)
mgr_up m --hosts 2 --host-cores 3 --host-mhz 2000 --host-ram 8192 \
    --offering-mhz 500 --offering-ram 512 --template-mib 2 --limit vm=8 \
    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" || mgr_finish
export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]} POOL="$W/primary"
export STATS="$VT_TMP/stats.jsonl" VT_LIB
: >"$STATS"

# The stream: 4 threads, each a random mix of 45% deploys, 20% destroys of a
# Running, Stopped or Error VM of its account, 15% stops and 10% reboots of a
# Running one and 10% starts of a Stopped one, until the manager stops
# answering (a VM with a job in progress refuses with 431: not accepted).
# Each answer is one line of ACKS: "VERB STATUS JOBID VMID".
STREAM='
import os, random, sys, threading
sys.path.insert(0, os.environ["VT_LIB"])
from cs_api import Client
import mgr_db
url, db, acks, seed = sys.argv[1:5]
rnd = int(acks.rsplit(".", 1)[1])  # names are unique within a network: one set per round
rng = random.Random(int(seed))
accounts = [("admin", Client(url, "admin-key", "admin-secret", timeout=20)),
            ("alice", Client(url, "alice-key", "alice-secret", timeout=20))]
lock = threading.Lock()
out = open(acks, "a")

def record(line):
    with lock:
        out.write(line + "\n")
        out.flush()

def victims(account, states):
    return [r[0] for r in mgr_db.query(db, "SELECT v.uuid FROM vm v JOIN account a"
            " ON a.id = v.account_id WHERE a.name = ? AND v.state IN (%s)"
            % ",".join("?" * len(states)), account, *states)]

VERBS = [(0.20, "destroy", "destroyVirtualMachine", ("Running", "Stopped", "Error")),
         (0.15, "stop", "stopVirtualMachine", ("Running",)),
         (0.10, "reboot", "rebootVirtualMachine", ("Running",)),
         (0.10, "start", "startVirtualMachine", ("Stopped",))]

def worker(k, r):
    n = 0
    while True:
        account, cl = r.choice(accounts)
        try:
            x = r.random()
            if x < 0.45:
                verb = "deploy"
                st, js = cl.call("deployVirtualMachine", zoneid="zone1",
                                 serviceofferingid="small", templateid="tpl1",
                                 name="s%d-%d-%d" % (rnd, k, n))
            else:
                x -= 0.45
                for p, verb, cmd, states in VERBS:
                    if x < p:
                        break
                    x -= p
                vs = victims(account, states)
                if not vs:
                    continue
                st, js = cl.call(cmd, id=r.choice(vs))
        except Exception as e:  # the manager is gone
            record("end %s" % type(e).__name__)
            return
        n += 1
        b = next(iter(js.values())) if js else {}
        record("%s %d %s %s" % (verb, st, b.get("jobid", "-"), b.get("id", "-")))

ts = [threading.Thread(target=worker, args=(k, random.Random(rng.random()))) for k in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
'

accepted() { grep -c '^[a-z]* 200 ' "$1"; }

for ((round = 1; round <= ROUNDS; round++)); do
	acks="$VT_TMP/acks.$round"
	: >"$acks"
	vt_bg "$VT_PY" -c "$STREAM" "${MGR_URL[m]}" "${MGR_DB[m]}" "$acks" "$RANDOM"
	cpid=$VT_LAST_PID
	k=$((RANDOM % 30 + 1))
	# bounded poll (10 ms, 60 s) for the K-th accepted request: the kill point
	for ((i = 0; i < 6000; i++)); do
		[ "$(accepted "$acks")" -ge "$k" ] && break
		if ! mgr_alive m || ! vt_alive "$cpid"; then break; fi
		sleep 0.01
	done
	if [ "$(accepted "$acks")" -lt "$k" ]; then
		fail "round $round: the stream gets $k requests accepted" "$(tail -n 5 "$acks")"
		break
	fi
	mgr_kill9 m
	wait "$cpid" 2>/dev/null
	# what each pending job had done when the manager died
	mgr_py m "$round" "$acks" <<'EOF'
import ipaddress
rnd, acks = int(sys.argv[1]), sys.argv[2]
vr = set(vr_vms() or [])
files = set(os.listdir(os.environ["POOL"]))
snap = {}
for uuid, cmd, reserved, ip, vol in q(
        "SELECT j.uuid, j.cmd, v.reserved, c.ip, vol.uuid FROM job j JOIN vm v ON v.id = j.vm_id"
        " LEFT JOIN nic c ON c.vm_id = v.id LEFT JOIN volume vol ON vol.vm_id = v.id"
        " WHERE j.status = 0"):
    if cmd in ("destroy", "stop", "reboot"):
        snap[uuid] = cmd
    elif cmd == "start":
        snap[uuid] = "start reserved" if reserved else "start queued"
    elif not reserved:
        snap[uuid] = "queued"
    elif vol + ".qcow2" in files:
        snap[uuid] = "overlay written"
    elif str(ipaddress.IPv4Address(ip)) in vr:
        snap[uuid] = "VR entry pushed"
    else:
        snap[uuid] = "reserved"
json.dump(snap, open(acks + ".pending", "w"))
hist = {}
for b in snap.values():
    hist[b] = hist.get(b, 0) + 1
n = sum(1 for l in open(acks) if l.split()[1:2] == ["200"])
print("# round %d: killed after %d accepted requests; pending: %s" % (rnd, n,
      ", ".join("%d %s" % (v, k) for k, v in sorted(hist.items())) or "none"))
with open(os.environ["STATS"], "a") as f:
    f.write(json.dumps({"round": rnd, "accepted": n, "pending": hist}) + "\n")
EOF
	npending=$("$VT_PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
	    "$acks.pending" 2>/dev/null || echo "?")
	restart_ms=$(date +%s%3N)
	if ! mgr_start m "${MGR_START_ARGS[@]}"; then
		fail "round $round: vr-manager restarts"
		break
	fi
	got=$(tac "${MGR_LOG[m]}" | sed '/^=== .* start:/q' | sed -n 's/.*recovered \([0-9]*\) unfinished jobs.*/\1/p')
	check_eq "round $round: the restart recovers the jobs pending at the kill" "$npending" "${got:-0}"
	mgr_py m "$round" "$acks" "$restart_ms" <<'EOF'
import ipaddress
rnd, acks, restart_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
P = "round %d: " % rnd
deadline = time.monotonic() + 60
while q1("SELECT COUNT(*) FROM job WHERE status = 0") and time.monotonic() < deadline:
    time.sleep(0.02)
check_eq(P + "every job finished or rolled back", 0, q1("SELECT COUNT(*) FROM job WHERE status = 0"))

snap = json.load(open(acks + ".pending"))
after = {u: (st, code, err, cmd, vstate) for u, st, code, err, cmd, vstate in q(
    "SELECT j.uuid, j.status, j.result_code, j.error_text, j.cmd, v.state FROM job j"
    " JOIN vm v ON v.id = j.vm_id")}
wrong = {}
for u, b in snap.items():
    st, code, err, cmd, vstate = after[u]
    if b == "destroy":
        good = st == 1 and vstate == "Destroyed"
    elif b == "stop":
        good = st == 1 and vstate == "Stopped"
    elif b == "reboot":  # the test driver's domains died with the manager: it may fail
        good = st in (1, 2) and vstate == "Running"
    elif b == "start queued":
        good = (st == 1 and vstate == "Running") or (st == 2 and code == 533 and vstate == "Stopped")
    elif b == "start reserved":
        good = st == 2 and code == 530 and "rolled back" in err and vstate == "Stopped"
    elif b == "queued":
        good = (st == 1 and vstate in ("Running", "Destroyed")) or (st == 2 and code == 533)
    else:
        good = st == 2 and code == 530 and "rolled back" in err and vstate in ("Error", "Destroyed")
    if not good:
        wrong[u] = (b, after[u])
check_eq(P + "each of the %d pending jobs was re-run or rolled back as its stage requires"
         % len(snap), {}, wrong)
acked = [l.split() for l in open(acks)]
acked = [a[2] for a in acked if a[0] != "end" and a[1] == "200"]
check_eq(P + "each of the %d accepted requests has its job, finished" % len(acked), [],
         [j for j in acked if after.get(j, (0,))[0] not in (1, 2)])

states = {s for (s,) in q("SELECT DISTINCT state FROM vm")}
check_eq(P + "VMs are only Running, Stopped, Error or Destroyed", set(),
         states - {"Running", "Stopped", "Error", "Destroyed"})
check_eq(P + "each Error VM says why", 0,
         q1("SELECT COUNT(*) FROM vm WHERE state = 'Error' AND error_text = ''"))
check_eq(P + "each host's used CPU and RAM = its Running VMs", [], q(
    "SELECT h.name, h.cpu_used_mhz, h.ram_used_mib, s.cpu, s.ram FROM host h LEFT JOIN"
    " (SELECT v.host_id hid, SUM(o.cpu_count * o.cpu_mhz) cpu, SUM(o.ram_mib) ram FROM vm v"
    "  JOIN offering o ON o.id = v.offering_id WHERE v.state = 'Running' GROUP BY v.host_id) s"
    " ON s.hid = h.id WHERE h.cpu_used_mhz != COALESCE(s.cpu, 0) OR h.ram_used_mib != COALESCE(s.ram, 0)"))
check_eq(P + "each pool's used bytes = the Running and Stopped VMs' volumes on it", [], q(
    "SELECT p.name, p.used_bytes, s.b FROM pool p LEFT JOIN"
    " (SELECT vol.pool_id pid, SUM(vol.size) b FROM volume vol JOIN vm v ON v.id = vol.vm_id"
    "  WHERE v.state IN ('Running', 'Stopped') GROUP BY vol.pool_id) s ON s.pid = p.id"
    " WHERE p.used_bytes != COALESCE(s.b, 0)"))
for acct in ("admin", "alice"):
    want = dict(zip(("vm", "cpu", "memory", "volume", "storage"), q(
        "SELECT COUNT(DISTINCT v.id), COALESCE(SUM(o.cpu_count), 0), COALESCE(SUM(o.ram_mib), 0),"
        " COUNT(vol.id), COALESCE(SUM(vol.size), 0) FROM vm v JOIN account a ON a.id = v.account_id"
        " JOIN offering o ON o.id = v.offering_id LEFT JOIN volume vol ON vol.vm_id = v.id"
        " WHERE a.name = ? AND v.state IN ('Running', 'Stopped')", acct)[0]))
    check_eq(P + "%s's resource counts = their Running and Stopped VMs" % acct, want, counts(acct))
check_eq(P + "reservations only for Running VMs, NICs and volumes only and always for Running"
         " and Stopped VMs", (0, 0, 0, 0, 0), (
    q1("SELECT COUNT(*) FROM vm WHERE reserved != CASE state WHEN 'Running' THEN 1 ELSE 0 END"),
    q1("SELECT COUNT(*) FROM nic c JOIN vm v ON v.id = c.vm_id"
       " WHERE v.state NOT IN ('Running', 'Stopped')"),
    q1("SELECT COUNT(*) FROM volume vol JOIN vm v ON v.id = vol.vm_id"
       " WHERE v.state NOT IN ('Running', 'Stopped')"),
    q1("SELECT COUNT(*) FROM vm v WHERE v.state IN ('Running', 'Stopped') AND NOT EXISTS"
       " (SELECT 1 FROM nic c WHERE c.vm_id = v.id)"),
    q1("SELECT COUNT(*) FROM vm v WHERE v.state IN ('Running', 'Stopped') AND NOT EXISTS"
       " (SELECT 1 FROM volume vol WHERE vol.vm_id = v.id AND vol.state = 'Ready')")))
held = q("SELECT v.instance_name, c.ip, vol.path, v.state FROM vm v JOIN nic c ON c.vm_id = v.id"
         " JOIN volume vol ON vol.vm_id = v.id WHERE v.state IN ('Running', 'Stopped')")
running = [r for r in held if r[3] == "Running"]
check_eq(P + "vrd holds exactly the %d Running and Stopped VMs' addresses" % len(held),
         sorted(str(ipaddress.IPv4Address(r[1])) for r in held), vr_vms())
files = sorted(os.listdir(os.environ["POOL"]))
# The template is cached by the first volume prep; a round whose every job was
# rolled back before one (a kill early in round 1) leaves none, and needs none.
tpl = ["template-tpl1.qcow2"] if held or "template-tpl1.qcow2" in files else []
check_eq(P + "the pool holds the template (once a VM needs it) and one overlay per Running or"
         " Stopped VM, no temp file", sorted(tpl + [os.path.basename(r[2]) for r in held]), files)
doms = set(all_domains() or [])
names = {r[0] for r in running}
started = {n for (n,) in q("SELECT v.instance_name FROM job j JOIN vm v ON v.id = j.vm_id"
                           " WHERE j.cmd IN ('deploy', 'start') AND j.status = 1"
                           " AND j.finished_ms >= ? AND v.state = 'Running'", restart_ms)}
check_eq(P + "no domain without a Running VM; each of the %d started since the restart has one"
         % len(started), (set(), set()), (doms - names, started - doms))
st, js = admin.call("listCapacity")
check_eq(P + "listCapacity agrees with the database",
         {0: q1("SELECT SUM(ram_used_mib) FROM host") << 20,
          1: q1("SELECT SUM(cpu_used_mhz) FROM host"), 3: q1("SELECT SUM(used_bytes) FROM pool")},
         {c["type"]: c["capacityused"] for c in body(js).get("capacity", [])})
EOF
done

# Over all rounds: the kills did land in the middle of jobs of every kind.
mgr_py m "$STATS" <<'EOF'
tot = {}
for l in open(sys.argv[1]):
    for k, v in json.loads(l).get("pending", {}).items():
        tot[k] = tot.get(k, 0) + v
print("# pending at the kills, all rounds: %s" % ", ".join("%d %s" % (v, k) for k, v in sorted(tot.items())))
for desc, n in (("deploys interrupted after their reservation (rolled back)",
                 sum(tot.get(k, 0) for k in ("reserved", "VR entry pushed", "overlay written"))),
                ("deploys interrupted before it (run again)", tot.get("queued", 0)),
                ("destroys interrupted (run again)", tot.get("destroy", 0)),
                ("starts, stops and reboots interrupted",
                 sum(tot.get(k, 0) for k in ("start queued", "start reserved", "stop", "reboot")))):
    check("the kills caught %d %s" % (n, desc), n > 0)
EOF

# Everything destroyed, alice's VMs by admin (their counts go back to alice,
# the VM's owner, not to the caller): back to zero.
mgr_py m <<'EOF'
destroy_all()
st, js, r = deploy_wait(alice, name="last")  # (now there is room, whatever the stream left)
check_eq("alice deploys one more VM", 1, (r or {}).get("jobstatus"))
destroy_all()
check_eq("capacity back to 0", [], [h for h in hosts_used() if h[1] or h[2]])
check_eq("pool used back to 0", 0, q1("SELECT used_bytes FROM pool"))
for acct in ("admin", "alice"):
    check_eq("%s's counts back to 0" % acct, {"vm": 0, "cpu": 0, "memory": 0, "volume": 0,
             "storage": 0}, counts(acct))
check_eq("vrd empty", [], vr_vms())
check_eq("no domain", [], all_domains())
check_eq("the pool holds only the template", ["template-tpl1.qcow2"],
         sorted(os.listdir(os.environ["POOL"])))
check_eq("no NIC or volume rows", (0, 0), (q1("SELECT COUNT(*) FROM nic"), q1("SELECT COUNT(*) FROM volume")))
EOF

mgr_finish
