#!/usr/bin/env bash
# image/check.sh: boots the virtual router image (image/build.sh) in qemu and
# drives it the way a manager does (docs/image.md).  TAP output.
#
# The disk is a throwaway qcow2 overlay on build/image/vr.qcow2.  Two
# user-mode NICs: eth0, the control network 169.254.0.0/16 (the router is
# 169.254.0.10, as vrd.conf and 10-control.network say), with vrd's port
# 3923 forwarded to a loopback port; eth1, a guest network 10.1.1.0/24 whose
# only "VM" is qemu's own address there, 10.1.1.2, with 169.254.169.254:80
# and :8080 forwarded to loopback ports.  The journal goes to the serial
# console too.  The test waits (bounded) for `vrctl health` through the
# forwarded port and reports the boot time; pushes a guestnetwork and sees
# dnsmasq restarted on the new dnsmasq.conf (the path unit); pushes a
# dhcpentry, vmpassword and vmdata with vrctl and the image's token
# (build/image/token) and reads them back (vrctl vms, vm); fetches 10.1.1.2's
# metadata and password from vr-metadata as that VM; cuts the power (SIGKILL)
# and boots again: the same state is served; removes the entry (DHCPRELEASE);
# and finds no failed unit and no warning in the journal.  A failure prints
# the serial console.  KVM when /dev/kvm works, else TCG.
# Environment: OUT (build/image), BUILD (build), BOOT_TIMEOUT (s, default 600),
# ACCEL (auto, kvm or tcg), KEEP=1 keeps the temporary directory, EXTRA_APPEND
# (more kernel arguments).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build/image}
BUILD=${BUILD:-$ROOT/build}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
VRCTL="$BUILD/vrctl"
FAILS=0 CHECKS=0
T="" QEMU_PID="" SERIAL=""

ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $*"; }
fail() {
	local d=$1 l
	shift
	CHECKS=$((CHECKS + 1)) FAILS=$((FAILS + 1))
	echo "not ok $CHECKS - $d"
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
check_eq() { if [ "$2" == "$3" ]; then ok "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi; }
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

serial_tail() {
	echo "# --- serial console (last ${1:-60} lines of $SERIAL):"
	tail -n "${1:-60}" "$SERIAL" 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
}

cleanup() {
	trap - EXIT
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -TERM "$QEMU_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	[ -n "$T" ] && [ -d "$T" ] && { [ -n "${KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"; }
}

finish() {
	[ "$FAILS" -gt 0 ] && serial_tail 80
	echo "# $CHECKS checks, $FAILS failed"
	cleanup
	[ "$FAILS" -eq 0 ] && exit 0
	exit 1
}

for f in vr.qcow2 vmlinuz initrd token cmdline; do
	if [ ! -s "$OUT/$f" ]; then
		fail "$OUT/$f exists (run make image)"
		finish
	fi
done
for t in qemu-system-x86_64 qemu-img python3; do
	command -v "$t" >/dev/null || { fail "$t installed (make deps-image)"; finish; }
done
[ -x "$VRCTL" ] || { fail "$VRCTL exists (run make)"; finish; }

T=$(mktemp -d /tmp/vr-image-check.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
P_CTL=$(free_port) P_MD=$(free_port) P_PW=$(free_port)
URL="http://127.0.0.1:$P_CTL"
vrctl() { "$VRCTL" -c /dev/null --url "$URL" --token-file "$OUT/token" --timeout 20 "$@"; }

qemu-img create -q -f qcow2 -b "$OUT/vr.qcow2" -F qcow2 "$T/disk.qcow2" ||
	{ fail "qcow2 overlay on $OUT/vr.qcow2"; finish; }
# start_qemu ACCEL SERIAL: boots the overlay in the background (QEMU_PID),
# the serial console going to the file SERIAL
start_qemu() {
	accel=$1
	SERIAL=$2
	START=$(date +%s.%N)
	qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -smp 1 \
		-display none -monitor none -serial "file:$SERIAL" -no-reboot \
		-kernel "$OUT/vmlinuz" -initrd "$OUT/initrd" -append "$(cat "$OUT/cmdline") panic=-1 systemd.journald.forward_to_console=1 ${EXTRA_APPEND:-}" \
		-drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=ctl,net=169.254.0.0/16,host=169.254.0.2,dhcpstart=169.254.0.100,restrict=on,hostfwd=tcp:127.0.0.1:$P_CTL-169.254.0.10:3923" \
		-device virtio-net-pci,netdev=ctl,mac=52:54:00:00:00:10 \
		-netdev "user,id=guest,net=10.1.1.0/24,host=10.1.1.2,dhcpstart=10.1.1.200,restrict=on,hostfwd=tcp:127.0.0.1:$P_MD-169.254.169.254:80,hostfwd=tcp:127.0.0.1:$P_PW-169.254.169.254:8080" \
		-device virtio-net-pci,netdev=guest,mac=52:54:00:00:01:01 \
		>"$T/qemu.log" 2>&1 &
	QEMU_PID=$!
	diag "qemu pid $QEMU_PID, accel $accel, control $URL, metadata :$P_MD, passwords :$P_PW"
}
elapsed() { awk -v s="$START" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }

# kvm_works: a kernel without a root file system panics and qemu exits
# within 10 s under KVM (nested KVM can hang or fail with "KVM internal
# error": then TCG, which takes about 3 s for the same).
kvm_works() {
	[ -w /dev/kvm ] || return 1
	timeout 10 qemu-system-x86_64 -machine q35 -accel kvm -m 256 -display none -monitor none \
	    -serial "file:$T/probe.log" -no-reboot -kernel "$OUT/vmlinuz" \
	    -append "console=ttyS0 panic=-1" >"$T/probe.qemu.log" 2>&1 &&
	    grep -q 'Kernel panic' "$T/probe.log"
}
if [ "${ACCEL:-auto}" = auto ]; then
	if kvm_works; then ACCEL=kvm; else ACCEL=tcg; diag "KVM does not work here: TCG"; fi
fi
# boot_wait: until vrctl health answers (bounded by BOOT_TIMEOUT); BOOT_S
boot_wait() {
	local ready=0
	while :; do
		if vrctl health >/dev/null 2>&1; then ready=1; break; fi
		kill -0 "$QEMU_PID" 2>/dev/null || break
		[ "$(elapsed | cut -d. -f1)" -lt "$BOOT_TIMEOUT" ] || break
		sleep 0.5
	done
	BOOT_S=$(elapsed)
	[ "$ready" = 1 ]
}
start_qemu "$ACCEL" "$T/serial.log"
if boot_wait; then
	ok "vrd answers vrctl health through the control network ${BOOT_S} s after qemu started ($accel)"
else
	fail "vrd answers vrctl health within $BOOT_TIMEOUT s" "qemu: $(tail -n 5 "$T/qemu.log")"
	finish
fi
BOOT1_S=$BOOT_S

state_json() { vrctl --json state 2>/dev/null; }
jget() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# dnsmasq_pid: the pid vrd sees running, or nothing
dnsmasq_pid() { state_json | jget 'j["dnsmasq"]["pid"] if j["dnsmasq"]["running"] else ""' 2>/dev/null; }
# journal lines (forwarded to the serial console) matching an ERE
journal_count() { tr -d '\r' <"$SERIAL" | grep -cE "$1"; }
RECONF_START='systemd\[1\]: Starting vr-dnsmasq-reconf.service'
RECONF_END='systemd\[1\]: (Finished|Failed to start) vr-dnsmasq-reconf.service'
# poll TIMEOUT_S CMD...: until CMD succeeds (every 0.5 s)
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}

dnsmasq_up() { PID0=$(dnsmasq_pid); [[ "$PID0" =~ ^[0-9]+$ ]]; }
if poll 120 dnsmasq_up; then
	ok "dnsmasq runs (pid $PID0 in /run/vrd/dnsmasq.pid) on the empty configuration"
else
	fail "dnsmasq runs on the empty configuration within 120 s" "$(state_json)"
fi

F="$T/cmds"
mkdir -p "$F"
cat >"$F/net.json" <<'J'
{"type":"guestnetwork","device":"eth1","mac_address":"52:54:00:00:01:01","router_guest_ip":"10.1.1.1",
 "cidr":"10.1.1.0/24","dns":"10.1.1.1","domain_name":"cloud.internal","add":true}
J
cat >"$F/dhcp.json" <<'J'
{"host_name":"vm1","mac_address":"52:55:0a:01:01:02","ipv4_address":"10.1.1.2","ipv6_address":null,
 "dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1","static_routes":null,"default_entry":true,
 "remove":false,"lease_time":null,"type":"dhcpentry","delete_from_processed_cache":false}
J
cat >"$F/pw.json" <<'J'
{"ip_address":"10.1.1.2","password":"hY7sd8Kq","type":"vmpassword"}
J
cat >"$F/data.json" <<'J'
{"vm_ip_address":"10.1.1.2","type":"vmdata","vm_metadata":[
 ["userdata","user-data","I2Nsb3VkLWNvbmZpZwo="],["metadata","instance-id","i-image-check"],
 ["metadata","local-hostname","vm1"],["metadata","availability-zone","zone1"]]}
J

# The guest network rewrites dnsmasq.conf: vr-dnsmasq-reconf.path runs
# vr-dnsmasq-reconf.service, which restarts dnsmasq until it runs on that file.
# Settled: a run finished after the push, none is under way, dnsmasq runs.
ends0=$(journal_count "$RECONF_END")
if out=$(vrctl apply "$F/net.json" 2>&1); then
	ok "vrctl apply guestnetwork eth1 10.1.1.0/24"
else
	fail "vrctl apply guestnetwork eth1 10.1.1.0/24" "$out"
fi
settled() {
	local ends
	ends=$(journal_count "$RECONF_END")
	[ "$ends" -gt "$ends0" ] && [ "$(journal_count "$RECONF_START")" -eq "$ends" ] &&
	    PID1=$(dnsmasq_pid) && [[ "$PID1" =~ ^[0-9]+$ ]]
}
if poll 120 settled && [ "$PID1" != "$PID0" ]; then
	ok "the path unit restarted dnsmasq on the new dnsmasq.conf (pid $PID0 -> $PID1)"
else
	fail "the path unit restarted dnsmasq on the new dnsmasq.conf" "$(state_json)" \
	    "$(tr -d '\r' <"$SERIAL" | grep -E 'reconf|dnsmasq\[' | tail -n 10)"
fi

if out=$(vrctl apply "$F/dhcp.json" "$F/pw.json" "$F/data.json" 2>&1); then
	ok "vrctl apply dhcpentry, vmpassword and vmdata for 10.1.1.2 as one batch"
else
	fail "vrctl apply dhcpentry, vmpassword and vmdata as one batch" "$out"
fi
vms=$(vrctl --json vms 2>&1)
check_eq "vrctl vms: one VM, 10.1.1.2 vm1 with a password and its metadata keys" \
    "10.1.1.2 vm1 True True ['availability-zone', 'instance-id', 'local-hostname']" \
    "$(jget '" ".join(str(x) for x in [j[0]["ip"], j[0]["hostname"], j[0]["has_password"], j[0]["has_user_data"], sorted(j[0]["metadata"])]) if len(j) == 1 else j' <<<"$vms" 2>&1)"
vm=$(vrctl vm 10.1.1.2 2>&1)
case "$vm" in
*52:55:0a:01:01:02*) ok "vrctl vm 10.1.1.2 shows its MAC" ;;
*) fail "vrctl vm 10.1.1.2 shows its MAC" "$vm" ;;
esac

# metadata and password as the VM 10.1.1.2 (qemu's address on the guest network)
http() { # PORT PATH [HEADER]
	python3 - "$@" <<'PY'
import http.client, sys
port, path = int(sys.argv[1]), sys.argv[2]
hdr = {}
if len(sys.argv) > 3:
    k, v = sys.argv[3].split(": ", 1)
    hdr[k] = v
try:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=hdr)
    r = c.getresponse()
    print(r.status, r.read().decode("utf-8", "replace"))
except Exception as e:
    print("000", e)
PY
}
md_served() { md=$(http "$P_MD" /latest/meta-data/instance-id); [ "$md" = "200 i-image-check" ]; }
poll 30 md_served
check_eq "vr-metadata serves 10.1.1.2 its instance-id on 169.254.169.254:80" "200 i-image-check" "$md"
check_eq "vr-metadata serves its user data" "200 #cloud-config" \
    "$(http "$P_MD" /latest/user-data | tr -d '\n')"
check_eq "the password server hands out the pending password" "200 hY7sd8Kq" \
    "$(http "$P_PW" / 'DomU_Request: send_my_password')"
check_eq "the guest's acknowledgement is taken (vr-metadata writes passwords/)" "200 saved_password" \
    "$(http "$P_PW" / 'DomU_Request: saved_password')"
check_eq "vrd sees the password gone" "False" \
    "$(vrctl --json vm 10.1.1.2 2>&1 | jget 'j["has_password"]' 2>&1)"

# A power cut (qemu SIGKILLed) and a boot from the same disk: every
# acknowledged batch is there, vrd re-adds eth1's addresses, dnsmasq and
# vr-metadata serve the same state.
gen=$(state_json | jget 'j["generation"]' 2>/dev/null)
vms_line() {
	vrctl --json vms 2>&1 | jget '" ".join(str(x) for x in [j[0]["ip"], j[0]["hostname"], j[0]["has_password"], j[0]["has_user_data"], sorted(j[0]["metadata"])]) if len(j) == 1 else j' 2>&1
}
before=$(vms_line)
kill -KILL "$QEMU_PID"
wait "$QEMU_PID" 2>/dev/null
start_qemu "$ACCEL" "$T/serial2.log"
if boot_wait; then
	ok "after a power cut the router boots again: vrd answers ${BOOT_S} s after qemu started"
else
	fail "after a power cut the router boots again within $BOOT_TIMEOUT s" "qemu: $(tail -n 5 "$T/qemu.log")"
	finish
fi
check_eq "the same generation after the power cut" "$gen" "$(state_json | jget 'j["generation"]' 2>&1)"
check_eq "the same VMs after the power cut" "$before" "$(vms_line)"
check_eq "the guest network is back" "1" "$(state_json | jget 'len(j["networks"])' 2>&1)"
if poll 120 dnsmasq_up; then
	ok "dnsmasq runs again (pid $PID0)"
else
	fail "dnsmasq runs again within 120 s" "$(state_json)"
fi
if poll 60 md_served; then
	ok "vr-metadata serves 10.1.1.2 again (vrd re-added 169.254.169.254 to eth1)"
else
	fail "vr-metadata serves 10.1.1.2 again" "$md"
fi
cat >"$F/rm.json" <<'J'
{"type":"dhcpentry","mac_address":"52:55:0a:01:01:02","ipv4_address":"10.1.1.2","remove":true}
J
if out=$(vrctl apply "$F/rm.json" 2>&1); then
	ok "vrctl apply dhcpentry remove (vrd sends dnsmasq a DHCPRELEASE)"
else
	fail "vrctl apply dhcpentry remove" "$out"
fi
check_eq "vrctl vms: none left" "[]" "$(vrctl --json vms 2>&1 | tr -d ' \n')"
check_eq "the removed VM's address is refused at the router (its binding went with the batch)" \
	"000" "$(http "$P_MD" /latest/meta-data/instance-id | cut -d' ' -f1)"
if poll 30 grep -q 'DHCPRELEASE(eth1) 10.1.1.2 52:55:0a:01:01:02' "$SERIAL"; then
	ok "dnsmasq got vrd's DHCPRELEASE for the removed entry"
else
	fail "dnsmasq got vrd's DHCPRELEASE for the removed entry" \
	    "$(tr -d '\r' <"$SERIAL" | grep 'dnsmasq' | tail -n 5)"
fi

# The journal reaches the serial console (systemd.journald.forward_to_console):
# no unit failed, and vrd and vr-metadata warned of nothing but the dnsmasq
# that was not running yet when vrd first started.
cat "$T"/serial*.log | sed 's/\r//' >"$T/serial.txt"
failed=$(grep -E 'FAILED|Failed to start|Main process exited, code=(exited|killed|dumped), status=[1-9]|Watchdog timeout' "$T/serial.txt")
check_eq "no unit failed during the boot and the test" "" "$failed"
warns=$(grep -E '(vrd|vr-metadata)\[[0-9]+\]: .*(warning|error)' "$T/serial.txt" |
    grep -v 'dnsmasq: not signalled (pid file /run/vrd/dnsmasq.pid: No such file')
check_eq "vrd and vr-metadata logged no warning (seccomp, capabilities, paths all suffice)" "" "$warns"
diag "boot to vrd ready: $BOOT1_S s, after the power cut $BOOT_S s ($accel)"
finish
