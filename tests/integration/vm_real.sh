#!/usr/bin/env bash
# tests/integration/vm_real.sh - a real VM, end to end (docs/testing.md).
#
# The VR as in the other tests: vrd, real dnsmasq and vr-metadata in a network namespace
# whose guest bridge eth1 is joined by a veth to a bridge on the host.  vr-manager deploys
# the guest template (make guest-image: Debian with the packaged cloud-init) through the
# signed API with an SSH key, user data and a password onto a real QEMU host: libvirtd
# (started here if none runs, without systemd) with QEMU under TCG; the guest's NIC is a tap
# on that host bridge, with libvirt's clean-traffic filter.  Inside the guest, cloud-init
# takes its lease from dnsmasq and everything else from vr-metadata; the test checks it from
# outside as a user: SSH with the key, hostname, the user data's mark, cloud-init's status
# and result, the password in /etc/shadow, the password server's acknowledgement; that a
# guest sending with another MAC or IP reaches nothing on the VR; that destroy leaves no
# QEMU process, tap, overlay, console file or domain.  A guest that does not come up has its
# serial console printed.  Not under SANITIZE=1 (one real boot is enough: the suite runs
# twice in CI).  Timeouts are generous: the machine is shared and QEMU emulates the CPU.
# Environment: VM_DOMAIN_TYPE (qemu; auto picks kvm where libvirt offers it, but nested
# KVM on these machines fails to run guests), VM_TIMEOUT (300 s per wait).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
case "$BUILD" in
*build-san*)
	echo "ok - real VM test skipped under SANITIZE=1 (it runs once, in the plain make check) # SKIP"
	exit 0 ;;
esac
PY3=/usr/bin/python3
TIMEOUT=${VM_TIMEOUT:-300}
DOMAIN_TYPE=${VM_DOMAIN_TYPE:-qemu}
URI=qemu:///system # RV_URI
NCHECK=0 NFAIL=0
ok() { NCHECK=$((NCHECK + 1)); echo "ok - $*"; }
nok() {
	NCHECK=$((NCHECK + 1)) NFAIL=$((NFAIL + 1))
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
check() { # DESC CMD...: ok if CMD succeeds
	local d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d" "command: $*"; fi
}
check_eq() { # DESC WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "expected: $2" "actual:   $3"; fi
}
bail() { nok "$@"; finish; }
finish() {
	echo "1..$NCHECK"
	[ "$NFAIL" -eq 0 ]
	exit
}

for bin in ip dnsmasq qemu-img qemu-system-x86_64 libvirtd virtlogd virsh ssh ssh-keygen \
    ebtables; do
	command -v "$bin" >/dev/null || bail "$bin is installed (make deps)"
done
for f in vrd vrctl vr-metadata vr-manager; do
	[ -x "$BUILD/$f" ] || bail "$BUILD/$f exists (make)"
done

. "$ROOT/tests/lib/netns.sh"
. "$ROOT/tests/lib/realvm.sh"
rv_lock || bail "the lock /run/lock/vr-real-vm.lock (another real-VM run) is free within 30 min"

# The guest template, built once and reused while its inputs are unchanged.
if ! guest_out=$(OUT="$ROOT/build/guest" bash "$ROOT/image/guest.sh" 2>&1); then
	bail "make guest-image builds build/guest/guest.qcow2" "$guest_out"
fi
ok "guest template: ${guest_out##*$'\n'}"
GUEST_IMG="$ROOT/build/guest/guest.qcow2"

nt_init
rv_init
D=$NT_DIR
HBR="vrb$$"
console_dump() { rv_console_dump "$D/console"; }
logs_dump() {
	local f
	for f in "$D/vr-manager.log" "$D/dnsmasq.log" "$D/vr-metadata.log" "$D/vrd.log"; do
		[ -s "$f" ] || continue
		echo "#   --- last lines of $(basename "$f"):"
		tail -n 15 "$f" | sed 's/^/#   | /'
	done
}

# --- the hypervisor: libvirtd with the QEMU and nwfilter drivers -------------------------
# The embedded driver (qemu:///embed) would need no daemon, but it applies network filters
# only through virtnwfilterd, which Debian 12 does not ship: libvirtd does both.
rv_libvirtd "$D" >"$D/libvirtd.said" || bail "libvirtd answers on $URI" "$RV_ERR"
ok "$(cat "$D/libvirtd.said")"
check "libvirt has the clean-traffic filter" \
    sh -c "virsh -q -c $URI nwfilter-dumpxml clean-traffic >/dev/null"

# --- the VR, its guest bridge joined to a host bridge ------------------------------------
rv_vr_start "$D" "$HBR" || bail "the VR: vrd, dnsmasq, vr-metadata" "$RV_ERR"
VR=$RV_VR STATE=$RV_STATE TOKEN=$RV_TOKEN VRD_URL=$RV_VRD_URL ROUTER=$RV_ROUTER
vrctl() { rv_vrctl "$@"; }
ok "VR: vrd, dnsmasq and vr-metadata in $VR; eth1 joined to host bridge $HBR"

# --- vr-manager on the real host ----------------------------------------------------------
VSIZE=$(qemu-img info --output=json "$GUEST_IMG" | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
"$PY3" "$ROOT/tests/lib/mgr_inventory.py" --dir "$D/world" --hosts 1 --host-cores 2 \
	--host-ram 4096 --host-uri "$URI" --bridge "$HBR" --template-file "$GUEST_IMG" \
	--template-bytes "$VSIZE" --offering-ram 512 --vr-url "$VRD_URL" \
	--vr-token "$(cat "$TOKEN")" || bail "inventory written"
"$BUILD/vr-manager" -c /dev/null --db "$D/manager.db" --inventory "$D/world/inventory.json" \
	init >>"$D/vr-manager.log" 2>&1 || bail "vr-manager init" "$(tail "$D/vr-manager.log")"
mkdir -p "$D/console"
MGR_URL=http://127.0.0.1:8080
nt_run_bg vr "$BUILD/vr-manager" -c /dev/null --db "$D/manager.db" --listen 127.0.0.1:8080 \
	--domain-type "$DOMAIN_TYPE" --console-dir "$D/console" serve 2>>"$D/vr-manager.log"
MGR_PID=$NT_LAST_PID
api() { nt_exec vr "$PY3" "$ROOT/tests/lib/cs_api.py" "$@"; }
nt_wait_for 20 api "$MGR_URL" admin-key admin-secret listCapacity >/dev/null 2>&1 ||
	bail "vr-manager answers" "$(tail -n 20 "$D/vr-manager.log")"

# --- deploy --------------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N "" -C "vm-real-test" -f "$D/id" || bail "ssh-keygen"
MARK="vm-real-mark-$$-$RANDOM"
USERDATA=$(printf '#cloud-config\nwrite_files:\n  - path: /var/tmp/user-data-mark\n    content: "%s"\nruncmd:\n  - [sh, -c, "echo ran >/var/tmp/runcmd-mark"]\n' "$MARK" | base64 -w0)
T_DEPLOY=$(date +%s%N)
nt_exec vr "$PY3" - "$MGR_URL" "$USERDATA" "$(cat "$D/id.pub")" "$D" "$ROOT/tests/lib" \
    "$TIMEOUT" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[5])
from cs_api import Client
url, ud, key, d = sys.argv[1:5]
c = Client(url, "alice-key", "alice-secret", timeout=60)
st, js = c.call("deployVirtualMachine", zoneid="zone1", templateid="tpl1",
                serviceofferingid="small", name="vm1", userdata=ud, sshkey=key)
json.dump(js, open(d + "/deploy.json", "w"))
if st == 200:
    st, js = c.wait_job(js["deployvirtualmachineresponse"]["jobid"], timeout=int(sys.argv[6]))
    json.dump(js, open(d + "/job.json", "w"), indent=1)
PYEOF
jfile() { # FILE EXPR: EXPR over a job's result (r) and its virtual machine (v)
	"$PY3" -c 'import json,sys
r = json.load(open(sys.argv[1])).get("queryasyncjobresultresponse", {})
v = r.get("jobresult", {}).get("virtualmachine", {})
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
jf() { jfile "$D/job.json" "$1"; }
if [ "$(jf 'r["jobstatus"]')" != 1 ]; then
	nok "deploy job succeeds" "$(cat "$D/deploy.json" "$D/job.json" 2>/dev/null)"
	logs_dump
	console_dump
	finish
fi
VM_ID=$(jf 'v["id"]') VM_IP=$(jf 'v["nic"][0]["ipaddress"]') VM_MAC=$(jf 'v["nic"][0]["macaddress"]')
VM_PW=$(jf 'v["password"]') VM_INST=$(jf 'v["instancename"]')
RV_DOMAINS+=("$VM_INST")
ok "deploy job succeeds: $VM_INST, $VM_MAC $VM_IP"
START_DETAIL=$(jf '[s["detail"] for s in r["stages"] if s["name"] == "start"][0]')
START_MS=$(jf '"%.0f" % [s["durationms"] for s in r["stages"] if s["name"] == "start"][0]')
VNC=$(printf '%s\n' "$START_DETAIL" | sed -n 's/.*, vnc \([0-9.]*:[0-9]*\)$/\1/p')
if [ -n "$VNC" ] && "$PY3" -c 'import socket,sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)), 10); s.settimeout(10)
sys.exit(0 if s.recv(12).startswith(b"RFB ") else 1)' "$VNC"; then
	ok "the start stage ($START_MS ms) reports the VNC console $VNC, and it speaks RFB"
else
	nok "the start stage reports a VNC console that answers" "detail: $START_DETAIL"
fi
XML=$(virsh -c "$URI" dumpxml "$VM_INST" 2>&1)
check_eq "the domain runs with type $DOMAIN_TYPE" "$DOMAIN_TYPE" \
    "$(printf '%s\n' "$XML" | sed -n "1s/^<domain type='\([a-z]*\)'.*/\1/p")"
TAP=$(printf '%s\n' "$XML" | sed -n "s/.*<target dev='\(vnet[0-9]*\)'.*/\1/p" | head -n1)
check "its NIC is a tap ($TAP) on host bridge $HBR" \
    test "$(basename "$(readlink "/sys/class/net/$TAP/master" 2>/dev/null)")" = "$HBR"
check "clean-traffic is applied to $TAP (ebtables rules for it)" \
    sh -c "ebtables -t nat -L 2>/dev/null | grep -q 'libvirt-[IO]-$TAP'"
OVERLAY=$(find "$D/world/primary" -name '*.qcow2' ! -name 'template-*')
QEMU_PID=$(cat "/run/libvirt/qemu/$VM_INST.pid" 2>/dev/null)
qemu_gone() { ! kill -0 "$QEMU_PID" 2>/dev/null; }
check "QEMU (pid $QEMU_PID) has the overlay open ($(basename "$OVERLAY"))" \
    sh -c "ls -l /proc/$QEMU_PID/fd 2>/dev/null | grep -q '$OVERLAY'"

# --- the guest boots: lease, SSH -----------------------------------------------------------
has_lease() { grep -qi " $VM_MAC $VM_IP " "$D/dnsmasq.leases" 2>/dev/null; }
if nt_wait_for "$TIMEOUT" has_lease; then
	ok "the guest took its lease $VM_IP from dnsmasq $(( ($(date +%s%N) - T_DEPLOY) / 1000000000 )) s after the deploy request"
else
	nok "the guest takes its lease within $TIMEOUT s"
	console_dump
	logs_dump
	finish
fi
SSH=(ip netns exec "$VR" ssh -q -i "$D/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR "debian@$VM_IP")
if nt_wait_for "$TIMEOUT" "${SSH[@]}" true 2>/dev/null; then
	ok "SSH as debian with the deployed key $(( ($(date +%s%N) - T_DEPLOY) / 1000000000 )) s after the deploy request"
else
	nok "SSH as debian with the deployed key within $TIMEOUT s"
	console_dump
	finish
fi
status=$(timeout "$TIMEOUT" "${SSH[@]}" cloud-init status --wait 2>&1 | tail -n1)
T_DONE=$(date +%s%N)
check_eq "cloud-init in the guest ends in status done" "status: done" "$status"
echo "# deploy request -> cloud-init done in the guest: $(( (T_DONE - T_DEPLOY) / 1000000 )) ms"
check_eq "the hostname is the VM's name" "vm1" "$("${SSH[@]}" hostname)"
check_eq "the user data's file is there" "$MARK" "$("${SSH[@]}" cat /var/tmp/user-data-mark)"
check_eq "the user data's runcmd ran" "ran" "$("${SSH[@]}" cat /var/tmp/runcmd-mark)"
"${SSH[@]}" sudo cat /run/cloud-init/result.json >"$D/result.json" 2>&1
check "result.json: data source CloudStack, no errors" "$PY3" -c 'import json,sys
r = json.load(open(sys.argv[1]))["v1"]
sys.exit(0 if "CloudStack" in r["datasource"] and r["errors"] == [] else 1)' "$D/result.json"
check_eq "cloud-init's instance id is the VM's id" "$VM_ID" \
    "$("${SSH[@]}" cat /var/lib/cloud/data/instance-id)"
"${SSH[@]}" cat .ssh/authorized_keys >"$D/authorized_keys" 2>&1
check "the deployed key is in debian's authorized_keys" \
    grep -qF "$(cut -d' ' -f2 "$D/id.pub")" "$D/authorized_keys"
shadow=$("${SSH[@]}" sudo getent shadow debian | cut -d: -f2)
check "debian's password in /etc/shadow is the VM's password" "$PY3" -W ignore -c \
    'import crypt,sys; sys.exit(0 if len(sys.argv[2]) > 3 and crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2] else 1)' \
    "$VM_PW" "$shadow"
check "the password server got the acknowledgement (no password pending for $VM_IP)" \
    test ! -e "$STATE/passwords/$VM_IP"

# --- anti-spoofing: another IP or MAC reaches nothing on the VR -----------------------------
# wget's exit status: 0 fetched, 4 network failure (nothing came back), 8 an HTTP error.
META=http://$ROUTER/latest/meta-data/instance-id
check_eq "from its own MAC and IP the guest reaches vr-metadata" 0 \
    "$("${SSH[@]}" "wget -q -T 5 -t 1 -O /dev/null $META; echo \$?")"
SPOOF_IP=10.1.1.250
check_eq "from another IP ($SPOOF_IP) the guest reaches nothing" 4 \
    "$("${SSH[@]}" "sudo ip addr add $SPOOF_IP/24 dev eth0; wget -q -T 5 -t 1 --bind-address=$SPOOF_IP -O /dev/null $META; echo \$?; sudo ip addr del $SPOOF_IP/24 dev eth0")"
check_eq "with another MAC the guest reaches nothing" 4 \
    "$("${SSH[@]}" "sudo sh -c 'ip link set eth0 address 02:00:de:ad:be:ef; ip neigh flush dev eth0; wget -q -T 5 -t 1 -O /dev/null $META; echo \$?; ip link set eth0 address $VM_MAC'")"
check_eq "back on its own MAC the guest reaches vr-metadata again" 0 \
    "$("${SSH[@]}" "wget -q -T 5 -t 1 -O /dev/null $META; echo \$?")"

# --- stop, start and reboot on the real hypervisor -------------------------------------------
# Each job is waited for with a poll every 0.5 s (QEMU needs the CPU more than the API does).
lc() { # COMMAND [key=value]...: VM's job, its result in $D/COMMAND.json; ok if it succeeds
	local c=$1
	shift
	CS_API_WAIT=$((TIMEOUT + 120)) CS_API_POLL=0.5 api --wait "$MGR_URL" alice-key \
	    alice-secret "$c" "id=$VM_ID" "$@" >"$D/$c.json" 2>&1 &&
		[ "$(jfile "$D/$c.json" 'r["jobstatus"]')" = 1 ]
}
stage_of() { # FILE STAGE: that stage's "detail (N ms)"
	jfile "$1" '[s["detail"] + " (%.0f ms)" % s["durationms"] for s in r["stages"] if s["name"] == "'"$2"'"][0]'
}
boot_id() { "${SSH[@]}" cat /proc/sys/kernel/random/boot_id 2>/dev/null; }
# What the password server tells the VM now, asked from inside the guest as cloud-init asks.
pw_server() {
	"${SSH[@]}" "wget -q -T 10 -t 1 -O - --header 'DomU_Request: send_my_password' http://$ROUTER:8080/"
}
ssh_up() { # TEXT: waits for SSH with the key after a boot, then for cloud-init
	local t0=$(date +%s%N) st
	if ! nt_wait_for "$TIMEOUT" "${SSH[@]}" true 2>/dev/null; then
		nok "SSH with the key again $1 within $TIMEOUT s"
		console_dump
		logs_dump
		finish
	fi
	ok "SSH with the key again $1, $(( ($(date +%s%N) - t0) / 1000000000 )) s after the job"
	st=$(timeout "$TIMEOUT" "${SSH[@]}" cloud-init status --wait 2>&1 | tail -n1)
	check_eq "cloud-init ends in status done $1" "status: done" "$st"
}
same_vm() { # TEXT: the guest is the same VM with the same data, and no second password
	check_eq "$1: same hostname" "vm1" "$("${SSH[@]}" hostname)"
	check_eq "$1: same address $VM_IP on eth0" "$VM_IP" \
	    "$("${SSH[@]}" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)"
	check_eq "$1: same instance id" "$VM_ID" "$("${SSH[@]}" cat /var/lib/cloud/data/instance-id)"
	check_eq "$1: the user data's file is still there" "$MARK" \
	    "$("${SSH[@]}" cat /var/tmp/user-data-mark)"
	check_eq "$1: the password server tells it saved_password (no second password)" \
	    "saved_password" "$(pw_server)"
	check_eq "$1: debian's password hash in /etc/shadow is unchanged" "$shadow" \
	    "$("${SSH[@]}" sudo getent shadow debian | cut -d: -f2)"
}
BOOT1=$(boot_id)
[ -n "$BOOT1" ] || nok "the guest's boot id is readable"

T0=$(date +%s%N)
if lc stopVirtualMachine; then
	ok "stop job succeeds in $(( ($(date +%s%N) - T0) / 1000000 )) ms: $(stage_of "$D/stopVirtualMachine.json" stop)"
else
	nok "stop job succeeds" "$(cat "$D/stopVirtualMachine.json")"
fi
check "the guest powered itself off on the ACPI request (not destroyed after the timeout)" \
    grep -q 'shut down (ACPI)' "$D/stopVirtualMachine.json"
check "libvirt's log for $VM_INST: QEMU ended with reason=shutdown (the guest's own)" \
    sh -c "tail -n 5 /var/log/libvirt/qemu/$VM_INST.log | grep -q 'reason=shutdown'"
check "stopped: no QEMU process for $VM_INST (pid $QEMU_PID)" nt_wait_for 30 qemu_gone
check "stopped: no domain $VM_INST on the host" \
    sh -c "! virsh -q -c $URI list --all --name | grep -qx '$VM_INST'"
check "stopped: no tap $TAP" test ! -e "/sys/class/net/$TAP"
check "stopped: the overlay stays" test -e "$OVERLAY"

T0=$(date +%s%N)
if lc startVirtualMachine; then
	ok "start job succeeds in $(( ($(date +%s%N) - T0) / 1000000 )) ms: $(stage_of "$D/startVirtualMachine.json" start)"
else
	nok "start job succeeds" "$(cat "$D/startVirtualMachine.json")"
	logs_dump
	finish
fi
check "started: no password pending at the VR for $VM_IP (the start sent none)" \
    test ! -e "$STATE/passwords/$VM_IP"
check_eq "started: the same address in the job's result" "$VM_IP" \
    "$(jfile "$D/startVirtualMachine.json" 'v["nic"][0]["ipaddress"]')"
QEMU_PID=$(cat "/run/libvirt/qemu/$VM_INST.pid" 2>/dev/null)
check "started: QEMU (pid $QEMU_PID) has the same overlay open" \
    sh -c "ls -l /proc/$QEMU_PID/fd 2>/dev/null | grep -q '$OVERLAY'"
TAP=$(virsh -c "$URI" dumpxml "$VM_INST" 2>&1 | sed -n "s/.*<target dev='\(vnet[0-9]*\)'.*/\1/p" | head -n1)
ssh_up "after the start"
BOOT2=$(boot_id)
check "started: a new boot ($BOOT2)" test -n "$BOOT2" -a "$BOOT2" != "$BOOT1"
same_vm "after the start"

if lc rebootVirtualMachine; then
	ok "reboot job succeeds: $(stage_of "$D/rebootVirtualMachine.json" reboot)"
else
	nok "reboot job succeeds" "$(cat "$D/rebootVirtualMachine.json")"
fi
rebooted() { local b=$(boot_id); [ -n "$b" ] && [ "$b" != "$BOOT2" ]; }
T0=$(date +%s%N)
if nt_wait_for "$TIMEOUT" rebooted; then
	ok "rebooted: SSH with the key in a new boot $(( ($(date +%s%N) - T0) / 1000000000 )) s after the job"
else
	nok "rebooted: SSH with the key in a new boot within $TIMEOUT s"
	console_dump
	finish
fi
check "rebooted: the same QEMU process (pid $QEMU_PID)" kill -0 "$QEMU_PID"
st=$(timeout "$TIMEOUT" "${SSH[@]}" cloud-init status --wait 2>&1 | tail -n1)
check_eq "cloud-init ends in status done after the reboot" "status: done" "$st"
same_vm "after the reboot"

# --- destroy ---------------------------------------------------------------------------------
api --wait "$MGR_URL" alice-key alice-secret destroyVirtualMachine "id=$VM_ID" >"$D/destroy.json" 2>&1
check "destroy job succeeds" grep -q '"jobstatus": 1' "$D/destroy.json"
check "no domain $VM_INST on the host" sh -c "! virsh -q -c $URI list --all --name | grep -qx '$VM_INST'"
check "no QEMU process for $VM_INST (pid $QEMU_PID)" nt_wait_for 30 qemu_gone
check "no tap $TAP" test ! -e "/sys/class/net/$TAP"
check "no overlay $(basename "$OVERLAY")" test ! -e "$OVERLAY"
check "no console file" test ! -e "$D/console/$VM_INST.log"
check_eq "the VR has no entry" 0 "$(vrctl vms --json | "$PY3" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
nt_stop "$MGR_PID" 20
wait "$MGR_PID" 2>/dev/null
check_eq "vr-manager stops on SIGTERM with status 0" 0 "$?"
nt__forget_pid "$MGR_PID"
[ "$NFAIL" -eq 0 ] || logs_dump
finish
