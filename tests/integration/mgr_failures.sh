#!/usr/bin/env bash
# tests/integration/mgr_failures.sh - a deploy failing at each stage leaves
# nothing behind, and account limits refuse in the sync phase.
#   (a) networkprep: the network's VR is a closed port -> the job fails
#       naming the VR; once a vrd listens there, the same deploy succeeds
#   (b) volumeprep: the template file is missing on secondary storage
#   (c) volumeprep: the pool is a 256 KiB tmpfs, the template bigger (ENOSPC)
#   (d) start: the host already has a domain named like the VM's instance;
#       the rollback leaves that foreign domain alone
#   (e) alice with vm=2: the third deploy gets 532 and records nothing
#   (f) alice with cpu=1 and a 2-CPU offering: 532 at once
#   (g) a /30 guest network (one free address): the second deploy gets 533
#       in the sync phase, and the address is reused after a destroy
# After each failure, one check per possible leftover: host and pool used
# back to 0, resource counts 0, NIC and volume rows gone, VM Error with a
# reason, no VR entry, no overlay in the pool, no domain on any host.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
TOKEN=$(cat "${VRD_TOKEN_FILE[vr]}")

# --- (a) the VR is unreachable, then reachable ------------------------------------
vrd_new vr2 # not started yet: its port is closed
VRD_PORT[vr2]=$(vt_free_port vr2)
VRD_URL[vr2]="http://127.0.0.1:${VRD_PORT[vr2]}"
if mgr_up a --hosts 2 --vr-url "${VRD_URL[vr2]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr2]}")"; then
	POOL="$VT_TMP/a/primary" VR_PORT="${VRD_PORT[vr2]}" mgr_py a <<'EOF'
st, js, r = deploy_wait(admin, name="vra")
check_eq("(a) deploy accepted in the sync phase", 200, st)
check_eq("(a) the job fails", 2, (r or {}).get("jobstatus"))
err = (r or {}).get("jobresult", {}).get("errortext", "")
check("(a) the reason names the VR and its address",
      "VR" in err and "127.0.0.1:" + os.environ["VR_PORT"] in err, r)
check_eq("(a) jobresultcode 530", 530, (r or {}).get("jobresultcode"))
stages = [s["name"] for s in (r or {}).get("stages", [])]
check_eq("(a) the stages run up to networkprep (volumeprep runs beside it)",
         ["planning", "reservation", "networkprep", "volumeprep"], stages)
nothing_left("(a)", body(js)["id"], os.environ["POOL"])
EOF
	if vrd_start vr2; then
		POOL="$VT_TMP/a/primary" VR_URL="${VRD_URL[vr2]}" VR_TOKEN_FILE="${VRD_TOKEN_FILE[vr2]}" \
		    mgr_py a <<'EOF'
st, js, r = deploy_wait(admin, name="vra")
check_eq("(a) the retry with the VR listening succeeds", 1, (r or {}).get("jobstatus"), )
ip = (r or {}).get("jobresult", {}).get("virtualmachine", {}).get("nic", [{}])[0].get("ipaddress")
check_eq("(a) the VR has exactly the new VM", [ip], vr_vms())
check_eq("(a) one domain", 1, len(all_domains() or []))
check_eq("(a) admin's counts: one VM", 1, counts("admin").get("vm"))
vm = body(js)["id"]
n = q1("SELECT COUNT(*) FROM vm")
for other in ("vra", "VRA"):
    st2, js2 = deploy(alice, name=other)
    check("(a) alice's deploy named %s, the name a Running VM holds in the network: 431" % other,
          st2 == 431 and "already exists" in body(js2).get("errortext", ""), st2, js2)
check_eq("(a) ... and nothing was recorded", n, q1("SELECT COUNT(*) FROM vm"))
if mgr_db.is_pg(DB):  # PostgreSQL plans tiny tables by cost: the indexes are there
    idx = [r[0] for r in q("SELECT indexname FROM pg_indexes WHERE tablename IN ('vm', 'volume')")]
    check("(a) the indexes vm_net_name and volume_vm exist", {"vm_net_name", "volume_vm"} <= set(idx),
          idx)
else:
    plan = q("EXPLAIN QUERY PLAN SELECT uuid FROM vm WHERE network_id = ? AND lower(name) ="
             " lower(?) AND state NOT IN ('Destroyed', 'Error') LIMIT 1", 1, "vra")
    check("(a) the name check (cmd_vm.c's name_taken) finds the network's VMs of that name"
          " through the index vm_net_name, not by reading every VM",
          any("vm_net_name" in str(r) for r in plan), plan)
    plan = q("EXPLAIN QUERY PLAN SELECT v.id FROM vm v LEFT JOIN volume vol ON vol.vm_id = v.id"
             " AND vol.type = 'ROOT' WHERE v.id = ?", 1)
    check("(a) a job's ROOT volume (job_vm.c's load) is found through the index volume_vm",
          any("volume_vm" in str(r) for r in plan), plan)
st, js = admin.call("destroyVirtualMachine", id=vm)
st, r = admin.wait_job(body(js).get("jobid"))
check_eq("(a) destroying it succeeds", 1, res(r).get("jobstatus"))
st2, js2, r2 = deploy_wait(alice, name="VRA")
check_eq("(a) once destroyed, its name is free again", 1, (r2 or {}).get("jobstatus"))
st2, js2 = alice.call("destroyVirtualMachine", id=body(js2).get("id"))
st2, r2 = alice.wait_job(body(js2).get("jobid"))
check_eq("(a) ... and that VM is destroyed too", 1, res(r2).get("jobstatus"))
check_eq("(a) after the destroy the VR is empty", [], vr_vms())
check_eq("(a) after the destroy: no domain", [], all_domains())
check_eq("(a) after the destroy: capacity 0", [], [h for h in hosts_used() if h[1] or h[2]])
EOF
	else
		fail "(a) vrd starts on the VR's port"
	fi
	mgr_stop a
	vrd_stop vr2
fi

export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]}

# --- (b) the template file is missing ------------------------------------------------
if mgr_up b --hosts 2 --vr-url "${VRD_URL[vr]}" --vr-token "$TOKEN"; then
	rm -f "$VT_TMP/b/secondary/template/tiny.raw"
	POOL="$VT_TMP/b/primary" mgr_py b <<'EOF'
st, js, r = deploy_wait(admin, name="vrb")
check_eq("(b) deploy accepted in the sync phase", 200, st)
check_eq("(b) the job fails", 2, (r or {}).get("jobstatus"))
err = (r or {}).get("jobresult", {}).get("errortext", "")
check("(b) the reason names the template file", "tiny.raw" in err, r)
stages = [s["name"] for s in (r or {}).get("stages", [])]
check_eq("(b) the stages run up to volumeprep",
         ["planning", "reservation", "networkprep", "volumeprep"], stages)
nothing_left("(b)", body(js)["id"], os.environ["POOL"])
check_eq("(b) no template was cached", [], pool_files(os.environ["POOL"]))
EOF
	mgr_stop b
fi

# --- (c) the pool's disk is full -------------------------------------------------------
mkdir -p "$VT_TMP/c/primary"
if mount -t tmpfs -o size=256k,mode=0755 tmpfs "$VT_TMP/c/primary"; then
	mgr_on_exit umount -l "$VT_TMP/c/primary"
	if mgr_up c --hosts 2 --template-mib 8 --vr-url "${VRD_URL[vr]}" --vr-token "$TOKEN"; then
		POOL="$VT_TMP/c/primary" mgr_py c <<'EOF'
st, js, r = deploy_wait(admin, name="vrc")
check_eq("(c) the job fails", 2, (r or {}).get("jobstatus"))
err = (r or {}).get("jobresult", {}).get("errortext", "")
check("(c) the reason is a full disk", "No space" in err or "ENOSPC" in err, r)
nothing_left("(c)", body(js)["id"], os.environ["POOL"])
left = sorted(os.listdir(os.environ["POOL"]))
check_eq("(c) no temp file or partial template left in the pool", [],
         [f for f in left if not f.endswith(".lock")])
EOF
		mgr_stop c
	fi
	umount "$VT_TMP/c/primary" || fail "(c) the tmpfs unmounts"
else
	ok "# SKIP (c) cannot mount a tmpfs"
fi

# --- (d) libvirt cannot define the domain --------------------------------------------------
# One host whose node file already holds a domain named like alice's second VM:
# alice is account row 2 (admin is the first), VMs are rows 1, 2, ... in a new DB.
D="$VT_TMP/d"
if mgr_world "$D" --hosts 1 --vr-url "${VRD_URL[vr]}" --vr-token "$TOKEN"; then
	cat >"$D/nodes/h1.xml" <<'EOF'
<node>
  <cpu><mhz>2000</mhz><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>
  <memory>8388608</memory>
  <domain type='test'>
    <name>i-2-2-VM</name>
    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
    <memory>131072</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
  </domain>
</node>
EOF
	mgr_new d
	mgr_init d "$D/inventory.json"
	check_eq "(d) init: exit 0" 0 "$MGR_RC"
	if mgr_start d; then
		POOL="$D/primary" mgr_py d <<'EOF'
check_eq("(d) the host starts with the foreign domain", ["i-2-2-VM"], all_domains())
st, js, r = deploy_wait(alice, name="vrd1")
vm1 = (r or {}).get("jobresult", {}).get("virtualmachine", {})
check_eq("(d) alice's first VM runs", 1, (r or {}).get("jobstatus"))
check_eq("(d) its instance name is i-<account row>-<vm row>-VM", "i-2-1-VM", vm1.get("instancename"))
st, js = alice.call("destroyVirtualMachine", id=vm1.get("id"))
st, r = alice.wait_job(body(js).get("jobid"))
check_eq("(d) the first VM is destroyed", 1, res(r).get("jobstatus"))
st, js, r = deploy_wait(alice, name="vrd2")
check_eq("(d) the second VM's job fails", 2, (r or {}).get("jobstatus"))
err = (r or {}).get("jobresult", {}).get("errortext", "")
check("(d) the reason names the existing domain", "i-2-2-VM" in err, r)
stages = [s["name"] for s in (r or {}).get("stages", [])]
check_eq("(d) the stages run up to start",
         ["planning", "reservation", "networkprep", "volumeprep", "start"], stages)
nothing_left("(d)", body(js)["id"], os.environ["POOL"], account="alice", keep_domains=["i-2-2-VM"])
st, js = alice.call("destroyVirtualMachine", id=body(js)["id"])
st, r = alice.wait_job(body(js).get("jobid"))
check_eq("(d) destroying the Error VM succeeds", 1, res(r).get("jobstatus"))
check_eq("(d) destroying the Error VM leaves the foreign domain alone", ["i-2-2-VM"], all_domains())
EOF
		mgr_stop d
	else
		fail "(d) vr-manager starts"
	fi
else
	fail "(d) world written"
fi

# --- (e) alice's VM limit ------------------------------------------------------------------
if mgr_up e --hosts 2 --limit vm=2 --vr-url "${VRD_URL[vr]}" --vr-token "$TOKEN"; then
	mgr_py e <<'EOF'
for i in (1, 2):
    st, js, r = deploy_wait(alice, name="e%d" % i)
    check_eq("(e) alice's deploy %d of 2 succeeds" % i, 1, (r or {}).get("jobstatus"))
rows = lambda: [q1("SELECT COUNT(*) FROM " + t) for t in ("vm", "nic", "volume", "job")]
before = rows()
st, js = deploy(alice, name="e3")
check("(e) the third deploy gets 532 in the sync phase",
      st == 532 and body(js).get("errorcode") == 532 and "jobid" not in body(js), st, js)
check("(e) the error names the VM limit", "user_vm" in body(js).get("errortext", ""), js)
check_eq("(e) no VM, NIC, volume or job row created", before, rows())
check_eq("(e) alice's vm count stays 2", 2, counts("alice")["vm"])
vm = q1("SELECT uuid FROM vm WHERE name = 'e1'")
st, js = alice.call("destroyVirtualMachine", id=vm)
st, r = alice.wait_job(body(js).get("jobid"))
check_eq("(e) destroying one succeeds", 1, res(r).get("jobstatus"))
st, js, r = deploy_wait(alice, name="e4")
check_eq("(e) then a new deploy fits under the limit again", 1, (r or {}).get("jobstatus"))
check_eq("(e) alice's vm count is 2", 2, counts("alice")["vm"])
EOF
	mgr_stop e
fi

# --- (f) alice's CPU limit below the offering -------------------------------------------------
if mgr_up f --hosts 2 --offering-cpus 2 --limit cpu=1 --vr-url "${VRD_URL[vr]}" --vr-token "$TOKEN"; then
	mgr_py f <<'EOF'
st, js = deploy(alice, name="f1")
check_eq("(f) a 2-CPU deploy with cpu=1 gets 532 at once", (532, 532),
         (st, body(js).get("errorcode")))
check("(f) the error names the cpu limit", "'cpu'" in body(js).get("errortext", ""), js)
check_eq("(f) no VM, NIC, volume or job row created", [0, 0, 0, 0],
         [q1("SELECT COUNT(*) FROM " + t) for t in ("vm", "nic", "volume", "job")])
check_eq("(f) alice's counts stay 0", {}, {k: v for k, v in counts("alice").items() if v})
st, js, r = deploy_wait(admin, name="f2")
check_eq("(f) admin (no limits) deploys the same offering", 1, (r or {}).get("jobstatus"))
EOF
	mgr_stop f
fi

# --- (g) the guest network runs out of addresses ------------------------------------------
if mgr_up g --hosts 2 --cidr 10.9.9.0/30 --gateway 10.9.9.1 --vr-url "${VRD_URL[vr]}" \
    --vr-token "$TOKEN"; then
	mgr_py g <<'EOF'
st, js, r = deploy_wait(admin, name="g1")
check_eq("(g) the first deploy in a /30 succeeds", 1, (r or {}).get("jobstatus"))
vm = body(js).get("id")
ip = (r or {}).get("jobresult", {}).get("virtualmachine", {}).get("nic", [{}])[0].get("ipaddress")
check_eq("(g) it gets the one free address", "10.9.9.2", ip)
rows = lambda: [q1("SELECT COUNT(*) FROM " + t) for t in ("vm", "nic", "volume", "job")]
before = rows()
st, js = deploy(admin, name="g2")
check_eq("(g) the second deploy gets 533 in the sync phase", (533, 533), (st, body(js).get("errorcode")))
check_eq("(g) nothing recorded", before, rows())
check_eq("(g) counts still one VM", 1, counts("admin")["vm"])
st, js = admin.call("destroyVirtualMachine", id=vm)
st, r = admin.wait_job(body(js).get("jobid"))
check_eq("(g) destroying the first succeeds", 1, res(r).get("jobstatus"))
st, js, r = deploy_wait(admin, name="g3")
ip = (r or {}).get("jobresult", {}).get("virtualmachine", {}).get("nic", [{}])[0].get("ipaddress")
check_eq("(g) a new deploy reuses the freed address", (1, "10.9.9.2"), ((r or {}).get("jobstatus"), ip))
check_eq("(g) the VR has it once", ["10.9.9.2"], vr_vms())
EOF
	mgr_stop g
fi

mgr_finish
