#!/usr/bin/env bash
# bench/vm_bench.sh: real QEMU guests (TCG) deployed by vr-manager through the signed API onto
# libvirtd, with the VR as in tests/integration/vm_real.sh (tests/lib/realvm.sh); figures in
# docs/performance.md ("A real VM").
#  1. deploy request -> cloud-init done in the guest (SSH with the deployed key, then
#     `cloud-init status --wait`), for the first VM;
#  2. the job's `start` stage (define + create the domain: QEMU started, CPUs running), the
#     deploy's and then BENCH_VM_STARTS - 1 more starts of the same VM after a forced stop:
#     min, median, max;
#  3. density (BENCH_VM_DENSITY > 0): more guests deployed one after the other, each kept
#     running, until one does not reach cloud-init done within BENCH_VM_BOOT_TIMEOUT or
#     BENCH_VM_DENSITY guests run, or the host's available memory would fall under
#     BENCH_VM_MEM_FLOOR with one more guest (what each guest holds is measured: QEMU's
#     resident memory, its RAM and its TCG translation cache); it reports the QEMU processes'
#     resident memory per guest.
# Knobs: BENCH_VM_STARTS (10), BENCH_VM_DENSITY (0: skipped; it takes long), BENCH_VM_BOOT_TIMEOUT
# (600 s), BENCH_VM_RAM (512 MiB per guest), BENCH_VM_MEM_FLOOR (4096 MiB).  Writes
# $BUILD/bench/vm.md.  Needs root, make deps, make guest-image.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
STARTS=${BENCH_VM_STARTS:-10}
DENSITY=${BENCH_VM_DENSITY:-0}
BOOT_TIMEOUT=${BENCH_VM_BOOT_TIMEOUT:-600}
RAM=${BENCH_VM_RAM:-512}
MEM_FLOOR=${BENCH_VM_MEM_FLOOR:-4096}
PY3=/usr/bin/python3
GUEST_IMG="$ROOT/build/guest/guest.qcow2"
OUT="$BUILD/bench/vm.md"

BENCH_NAME="bench vm"
. "$ROOT/bench/lib/bench.sh"   # say, die (nt_init below takes the exit trap over)
[ -s "$GUEST_IMG" ] || die "$GUEST_IMG missing: make guest-image"
. "$ROOT/tests/lib/netns.sh"
. "$ROOT/tests/lib/realvm.sh"
rv_lock || die "another real-VM run held /run/lock/vr-real-vm.lock for 30 minutes"
nt_init
rv_init
D=$NT_DIR
RV_DOMAINS_FILE="$D/domains"
mkdir -p "$BUILD/bench" "$D/console"
rv_libvirtd "$D" >&2 || die "$RV_ERR"
rv_vr_start "$D" "vrb$$" || die "$RV_ERR"
VSIZE=$(qemu-img info --output=json "$GUEST_IMG" | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
# One host with room for the density run: CPU over-committed 16 times, RAM as the machine has.
"$PY3" "$ROOT/tests/lib/mgr_inventory.py" --dir "$D/world" --hosts 1 --host-cores 2 \
	--cpu-op 16 --host-ram $(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 )) \
	--host-uri "$RV_URI" --bridge "vrb$$" --template-file "$GUEST_IMG" --template-bytes "$VSIZE" \
	--offering-ram "$RAM" --vr-url "$RV_VRD_URL" --vr-token "$(cat "$RV_TOKEN")" \
	>/dev/null || die "inventory"
"$BUILD/vr-manager" -c /dev/null --db "$D/manager.db" --inventory "$D/world/inventory.json" \
	init >>"$D/vr-manager.log" 2>&1 || die "vr-manager init"
MGR_URL=http://127.0.0.1:8080
nt_run_bg vr "$BUILD/vr-manager" -c /dev/null --db "$D/manager.db" --listen 127.0.0.1:8080 \
	--domain-type qemu --console-dir "$D/console" serve 2>>"$D/vr-manager.log"
nt_wait_for 20 nt_exec vr "$PY3" "$ROOT/tests/lib/cs_api.py" "$MGR_URL" admin-key admin-secret \
	listCapacity >/dev/null 2>&1 || die "vr-manager does not answer"
ssh-keygen -q -t ed25519 -N "" -C vm-bench -f "$D/id" || die "ssh-keygen"

# job NAME COMMAND key=value...: runs a job as alice, waits (polling every 0.5 s), prints the
# start stage's milliseconds (or "-") and the VM's id, ip, instance name; status 1 if it fails.
job() {
	nt_exec vr "$PY3" - "$ROOT/tests/lib" "$MGR_URL" "$BOOT_TIMEOUT" "$@" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from cs_api import Client
url, timeout, cmd = sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = Client(url, "alice-key", "alice-secret", timeout=60)
st, js = c.call(cmd, **dict(a.split("=", 1) for a in sys.argv[5:]))
if st == 200:
    st, js = c.wait_job(next(iter(js.values()))["jobid"], timeout=timeout, poll=0.5)
r = js.get("queryasyncjobresultresponse", {})
if st != 200 or r.get("jobstatus") != 1:
    sys.exit("%s: %s" % (cmd, json.dumps(js)[:600]))
start = [s["durationms"] for s in r.get("stages", []) if s["name"] == "start"]
v = r.get("jobresult", {}).get("virtualmachine", {})
nic = (v.get("nic") or [{}])[0]
print("%s %s %s %s" % ("%.1f" % start[0] if start else "-", v.get("id", "-"),
                       nic.get("ipaddress", "-"), v.get("instancename", "-")))
PYEOF
}
# deploy_ready NAME: deploys NAME with the key, waits for cloud-init done in it; prints
# "START_MS ID IP INSTANCE READY_MS" (READY_MS: deploy request -> cloud-init done).
deploy_ready() {
	local t0 line ip st
	t0=$(date +%s%N)
	line=$(job deployVirtualMachine zoneid=zone1 templateid=tpl1 serviceofferingid=small \
		"name=$1" "sshkey=$(cat "$D/id.pub")") || return 1
	set -- $line
	echo "$4" >>"$RV_DOMAINS_FILE"
	ip=$3
	nt_wait_for "$BOOT_TIMEOUT" rv_ssh "$D/id" "$ip" true 2>/dev/null || return 1
	st=$(RV_SSH_TIMEOUT=$BOOT_TIMEOUT rv_ssh "$D/id" "$ip" cloud-init status --wait 2>&1 | tail -n1)
	[ "$st" = "status: done" ] || return 1
	echo "$line $(( ($(date +%s%N) - t0) / 1000000 ))"
}
# qemu_rss_mib: the resident memory of all QEMU processes (the run holds the real-VM lock, so
# they are its guests), MiB
qemu_rss_mib() { ps -C qemu-system-x86_64 -o rss= | awk '{s += $1} END {print int(s / 1024)}'; }
mem_available_mib() { awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

say "1. deploy -> cloud-init done (vm1)"
line=$(deploy_ready vm1) || { rv_console_dump "$D/console" >&2; die "vm1 did not become ready"; }
set -- $line
VM1=$2 READY_MS=$5
echo "$1" >"$D/starts"
say "   start stage $1 ms, cloud-init done after $READY_MS ms"
say "2. $((STARTS - 1)) more starts of vm1 after a forced stop"
for i in $(seq 2 "$STARTS"); do
	job stopVirtualMachine "id=$VM1" forced=true >/dev/null || die "stop $i"
	s=$(job startVirtualMachine "id=$VM1") || die "start $i"
	echo "${s%% *}" >>"$D/starts"
	say "   start $i: ${s%% *} ms"
done
S_MIN=$(sort -n "$D/starts" | head -n1) S_MAX=$(sort -n "$D/starts" | tail -n1)
S_MED=$(median <"$D/starts")

DENS="not run (BENCH_VM_DENSITY=0)"
if [ "$DENSITY" -gt 1 ]; then
	say "3. density: up to $DENSITY guests, each ready within $BOOT_TIMEOUT s"
	n=1 last="" why=""
	for i in $(seq 2 "$DENSITY"); do
		per=$(( $(qemu_rss_mib) / n ))
		if [ $(( $(mem_available_mib) - per )) -lt "$MEM_FLOOR" ]; then
			why="memory: $(mem_available_mib) MiB available, a guest holds $per MiB, floor $MEM_FLOOR MiB"
			break
		fi
		if line=$(deploy_ready "vm$i"); then
			n=$i last=$(echo "$line" | awk '{print $5}')
			say "   vm$i ready after ${last} ms ($(cut -d' ' -f1-3 /proc/loadavg) load," \
			    "QEMU $(( $(qemu_rss_mib) / n )) MiB per guest, $(mem_available_mib) MiB available)"
		else
			why="guest $i not ready within $BOOT_TIMEOUT s"
			break
		fi
	done
	DENS="$n guests ready (the last after $((${last:-$READY_MS} / 1000)) s), QEMU $(( $(qemu_rss_mib) / n )) MiB resident per guest"
	[ -n "$why" ] && DENS="$DENS; stopped by $why"
	[ "$n" -eq "$DENSITY" ] && DENS="$DENS: all asked for (BENCH_VM_DENSITY=$DENSITY)"
	say "   $DENS"
fi

{
	echo "| real VM (TCG, $RAM MiB, 1 vCPU) | figure |"
	echo "|---|---|"
	echo "| VM START stage, $STARTS starts: min / median / max | $S_MIN / $S_MED / $S_MAX ms |"
	echo "| deploy request -> cloud-init done in the guest (vm1) | $READY_MS ms |"
	echo "| density | $DENS |"
} | tee "$OUT"
