#!/usr/bin/env bash
# image/check.sh: boots the virtual router image (image/build.sh) in qemu the
# way CloudStack's KVM agent starts a router for a shared network (role
# dhcpsrvr) and drives it as the agent and the management server do
# (docs/image.md).  TAP output.
#
# qemu runs in a network namespace the test creates (tests/lib/netns.sh):
# machine pc, no -kernel (the disk boots by itself), a throwaway qcow2
# overlay on build/image/vr.qcow2, the guest agent's virtio-serial channel
# org.qemu.guest_agent.0 on a unix socket, and two NICs in merge.py's order
# for dhcpsrvr: eth0 the guest network (a tap on a bridge whose other ports
# are two guest namespaces), eth1 the control network (user-mode,
# 169.254.0.0/16, the router's SSH port 3922 forwarded to the namespace's
# loopback).  Then, as the agent: guest-sync and guest-ping over the channel,
# guest-file-open/write/close of /root/.ssh/authorized_keys (a key made for
# the run) and /var/cache/cloud/cmdline (type=dhcpsrvr, eth0ip, eth1ip, ...);
# wait for SSH on 3922; scp payload files named as the agent names them and
# run /opt/cloud/bin/update_config.py on each; an aggregated VR-<uuid>.cfg
# through vr_cfg.sh (one vrd batch); the health scripts.  It checks what the
# router did: control address, sshd, vrd's guestnetwork, dnsmasq's files, a
# guest's DHCP lease (udhcpc) with the router first among its DNS servers and
# its DHCPv6 address and DNS servers (dhclient -6; the cmdline's eth0ip6 makes
# it dual stack, its ip6gateway another router: no router advertisement, by
# rdisc6), metadata and password served on the router's guest IP, processed
# files, and no failed unit or unexpected warning in the journal.  Before the
# first cmdline is written (as on a new router's first start), the defaults
# of a router without one, over eth0's bridge.  Then a power cut
# and a second boot with a new cmdline, as the agent writes one at each
# start: the same state is served.
# Environment: OUT (build/image), BUILD (build), BOOT_TIMEOUT (s, default
# 600), ACCEL (tcg or kvm; default kvm when /dev/kvm is writable and boots,
# else tcg), KEEP=1 keeps the temporary directory.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build/image}
BUILD=${BUILD:-$ROOT/build}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
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
check_has() { case "$3" in *"$2"*) ok "$1" ;; *) fail "$1" "expected to contain: $2" "actual: $3" ;; esac; }
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
serial_tail() {
	echo "# --- serial console (last ${1:-60} lines of $SERIAL):"
	tail -n "${1:-60}" "$SERIAL" 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
}
finish() {
	[ "$FAILS" -gt 0 ] && [ -n "$SERIAL" ] && serial_tail 60
	echo "# $CHECKS checks, $FAILS failed"
	[ "$FAILS" -eq 0 ] && exit 0
	exit 1
}

for f in vr.qcow2 token; do
	[ -s "$OUT/$f" ] || { fail "$OUT/$f exists (run make image)"; finish; }
done
for t in qemu-system-x86_64 qemu-img python3 ssh scp ssh-keygen udhcpc dhclient rdisc6 ip; do
	command -v "$t" >/dev/null || { fail "$t installed (make deps-image)"; finish; }
done

# shellcheck source=../tests/lib/netns.sh
. "$ROOT/tests/lib/netns.sh"
nt_init
T=$NT_DIR
[ -n "${KEEP:-}" ] && NT_KEEP=1
stop_qemu() {
	[ -n "$QEMU_PID" ] || return 0
	vr_exec ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" -O exit root@127.0.0.1 >/dev/null 2>&1
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=""
}
nt_on_cleanup stop_qemu

# The router's networks.  Guest network 10.1.1.0/24: the router is 10.1.1.2
# (eth0ip), the network's gateway 10.1.1.1; control 169.254.3.7/16 (eth1ip).
GIP=10.1.1.2 CIP=169.254.3.7 SSH_PORT=2222
VM1_MAC=02:00:0a:01:01:65 VM1_IP=10.1.1.101 VM2_MAC=02:00:0a:01:01:66 VM2_IP=10.1.1.102
nt_vr_create
VRNS=$NT_VR
ip -n "$VRNS" tuntap add dev tap0 mode tap
ip -n "$VRNS" link set tap0 master eth1 up
nt_guest_create g1 "$VM1_MAC"
nt_guest_create g2 "$VM2_MAC"
vr_exec() { ip netns exec "$VRNS" "$@"; }

ssh-keygen -q -t ed25519 -N '' -C image-check -f "$T/id_cloud" || { fail "ssh-keygen"; finish; }
SSH_OPTS=(-i "$T/id_cloud" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10
	-o ControlMaster=auto -o "ControlPath=$T/ssh-%C" -o ControlPersist=120)
# router_proxy.sh's call: ssh -p 3922 root@<control ip> <script> <args>
rssh() { vr_exec ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" root@127.0.0.1 "$@"; }
# createFileInVR: scp to /var/cache/cloud/<name>
rscp() { vr_exec scp -q "${SSH_OPTS[@]}" -P "$SSH_PORT" "$1" "root@127.0.0.1:/var/cache/cloud/$2"; }

qemu-img create -q -f qcow2 -b "$OUT/vr.qcow2" -F qcow2 "$T/disk.qcow2" ||
	{ fail "qcow2 overlay on $OUT/vr.qcow2"; finish; }
# kvm_works: the image's kernel without a root file system panics and qemu
# exits within 10 s under working KVM (nested KVM here hangs or fails with
# "KVM internal error": then TCG)
kvm_works() {
	[ -w /dev/kvm ] && [ -s "$OUT/vmlinuz" ] || return 1
	timeout 10 qemu-system-x86_64 -machine pc -accel kvm -m 256 -display none -monitor none \
	    -serial "file:$T/probe.log" -no-reboot -kernel "$OUT/vmlinuz" \
	    -append "console=ttyS0 panic=-1" >"$T/probe.qemu.log" 2>&1 &&
	    grep -q 'Kernel panic' "$T/probe.log"
}
if [ -z "${ACCEL:-}" ]; then
	ACCEL=tcg
	kvm_works && ACCEL=kvm
fi

# start_qemu SERIAL: boots the overlay as the agent's libvirt domain would
start_qemu() {
	SERIAL=$1
	rm -f "$T/qga.sock"
	START=$(date +%s.%N)
	nt_run_bg vr qemu-system-x86_64 -machine pc -accel "$ACCEL" -m 512 -smp 1 \
		-display none -monitor none -serial "file:$SERIAL" -no-reboot \
		-drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
		-netdev tap,id=guest,ifname=tap0,script=no,downscript=no \
		-device virtio-net-pci,netdev=guest,mac=02:00:0a:01:01:02 \
		-netdev "user,id=ctl,net=169.254.0.0/16,host=169.254.0.2,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-$CIP:3922" \
		-device virtio-net-pci,netdev=ctl,mac=0e:00:a9:fe:03:07 \
		-device virtio-serial-pci \
		-chardev "socket,id=qga0,path=$T/qga.sock,server=on,wait=off" \
		-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		>"$T/qemu.log" 2>&1
	QEMU_PID=$NT_LAST_PID
	diag "qemu pid $QEMU_PID ($ACCEL), guest agent $T/qga.sock"
}
elapsed() { awk -v s="$START" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }
qga() { python3 "$ROOT/tests/lib/qga.py" "$T/qga.sock" "$@"; }
poll() { # TIMEOUT_S CMD...: until CMD succeeds (every 0.5 s)
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		kill -0 "$QEMU_PID" 2>/dev/null || return 1
		sleep 0.5
	done
}

# check_defaults: a router without a cmdline keeps the image's defaults
# (docs/image.md): control on eth0, 169.254.0.10/16, sshd on its port 3922,
# vrd on 169.254.0.10:3923 with the image's token, vr-metadata, dnsmasq with
# no guest network.  Reached over eth0's bridge from the namespace.
check_defaults() {
	local d=169.254.0.10 out
	local dssh=(ssh -i "$T/id_cloud" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10 -p 3922 "root@$d")
	ip -n "$VRNS" addr add 169.254.0.1/16 dev eth1
	if poll "$BOOT_TIMEOUT" vr_exec "${dssh[@]}" true 2>/dev/null; then
		ok "no cmdline: SSH answers on the default control address $d:3922 (eth0) $(elapsed) s after qemu started"
	else
		fail "no cmdline: SSH answers on $d:3922" "$(vr_exec "${dssh[@]}" true 2>&1)"
		ip -n "$VRNS" addr del 169.254.0.1/16 dev eth1
		return
	fi
	out=$(vr_exec "${dssh[@]}" 'timeout 300 systemctl is-system-running --wait
		systemctl is-active vrd vr-metadata vr-dnsmasq | tr "\n" " "; echo
		ip -4 -o addr show dev eth0 | awk "{print \$4}" | tr "\n" " "; echo
		ss -Hltn | awk "{print \$4}" | grep -E ":(3922|3923|80)\$" | sort | tr "\n" " "; echo
		grep -c "^interface=lo\$" /var/lib/vrd/dnsmasq.conf
		test -e /var/cache/cloud/boot_up_done && echo configured || echo not-configured' 2>&1)
	check_eq "no cmdline: the boot ends with no failed unit" "running" "$(sed -n 1p <<<"$out")"
	check_eq "no cmdline: vrd, vr-metadata and dnsmasq run" "active active active " "$(sed -n 2p <<<"$out")"
	check_eq "no cmdline: eth0 holds the default control address" "$d/16 " "$(sed -n 3p <<<"$out")"
	check_eq "no cmdline: sshd on $d:3922, vrd on $d:3923 and loopback, vr-metadata on :80" \
	    "127.0.0.1:3923 127.0.0.1:80 169.254.0.10:3922 169.254.0.10:3923 169.254.169.254:80 " \
	    "$(sed -n 4p <<<"$out")"
	check_eq "no cmdline: dnsmasq serves no guest network yet, vr-cloud-config changed nothing" \
	    "1 not-configured" "$(sed -n 5,6p <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
	# the manager's way in (docs/image.md): vrctl with the image's token
	out=$(vr_exec "$BUILD/vrctl" --url "http://$d:3923" --token-file "$OUT/token" state 2>&1)
	if [ "$(awk '/^generation:/ {print $2}' <<<"$out")" = 0 ]; then
		ok "no cmdline: vrctl state on http://$d:3923 with the image's token: generation 0"
	else
		fail "no cmdline: vrctl state on http://$d:3923 with the image's token" "$out"
	fi
	ip -n "$VRNS" addr del 169.254.0.1/16 dev eth1
}

# boot NAME: starts qemu, then does what the agent does after the start
boot() {
	local name=$1
	start_qemu "$T/serial-$name.log"
	if qga wait "$BOOT_TIMEOUT" 2>"$T/qga.err"; then
		ok "$name: the guest agent answers guest-sync and guest-ping $(elapsed) s after qemu started"
	else
		fail "$name: the guest agent answers within $BOOT_TIMEOUT s" "$(cat "$T/qga.err")" \
		    "qemu: $(tail -n 5 "$T/qemu.log")"
		finish
	fi
	if ! qga write /root/.ssh/authorized_keys "$T/id_cloud.pub" 2>"$T/qga.err"; then
		fail "$name: authorized_keys written through the guest agent" "$(cat "$T/qga.err")"
		finish
	fi
	# the first start of a new router: its defaults, before any cmdline
	[ "$name" = boot1 ] && check_defaults
	if qga write /var/cache/cloud/cmdline "$T/cmdline-$name" 2>"$T/qga.err"; then
		ok "$name: authorized_keys and cmdline written with guest-file-open/write/close"
	else
		fail "$name: cmdline written through the guest agent" "$(cat "$T/qga.err")"
		finish
	fi
	if poll "$BOOT_TIMEOUT" rssh true 2>/dev/null; then
		ok "$name: SSH answers on $CIP:3922 with the agent's key $(elapsed) s after qemu started"
	else
		fail "$name: SSH answers on $CIP:3922" "$(rssh true 2>&1)"
		finish
	fi
	BOOT_S=$(elapsed)
	# the cmdline's guest network reaches vrd (vr-cloud-config.service), which
	# then notes that cmdline's MD5 in boot_up_done
	want=$(md5sum <"$T/cmdline-$name" | cut -d' ' -f1)
	if poll 120 rssh "grep -qx $want /var/cache/cloud/boot_up_done"; then
		ok "$name: vr-cloud-config configured the router from the cmdline"
	else
		fail "$name: vr-cloud-config configured the router" \
		    "$(rssh 'systemctl status vr-cloud-config; tail -n 20 /var/log/cloud.log' 2>&1)"
	fi
}

# CloudStack's cmdline for a shared network's DHCP router (one line)
cat >"$T/cmdline-boot1" <<EOF2
template=domP name=r-4-VM eth0ip=$GIP eth0mask=255.255.255.0 eth0ip6=fd00:1::2 eth0ip6prelen=64 gateway=10.1.1.1 ip6gateway=fd00:1::1 type=dhcpsrvr eth1ip=$CIP eth1mask=255.255.0.0 localgw=169.254.0.1 dns1=192.0.2.53 ip6dns1=2001:db8::53 ip6dns2=2001:db8::54 domain=cs1cloud.internal dhcprange=10.1.1.1 privatenetworkaddress=169.254.0.0 privatenetworkmask=255.255.0.0
EOF2
boot boot1
BOOT1_S=$BOOT_S

check_eq "the hostname is the cmdline's name" "r-4-VM" "$(rssh hostname 2>&1)"
check_has "eth1 (control) holds $CIP/16" "inet $CIP/16" "$(rssh ip -4 -o addr show dev eth1 2>&1)"
check_eq "sshd listens on the control address only, port 3922" "$CIP:3922" \
    "$(rssh "ss -Hltn 'sport = :3922'" 2>&1 | awk '{print $4}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_eq "sshd: root by key only" "passwordauthentication no permitrootlogin without-password port 3922" \
    "$(rssh "sshd -T | grep -E '^(port|permitrootlogin|passwordauthentication) ' | sort" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
nets=$(rssh cat /var/lib/vrd/networks.json 2>&1)
check_eq "vrd's state holds the guest network eth0 10.1.1.0/24, router $GIP, from the cmdline" \
    "eth0 10.1.1.0/24 $GIP" \
    "$(python3 -c 'import json,sys; n=json.load(sys.stdin); print(" ".join([n[0]["device"], n[0]["cidr"], n[0]["router_guest_ip"]]) if len(n) == 1 else n)' <<<"$nets" 2>&1)"
check_eq "dual stack from the cmdline's eth0ip6/eth0ip6prelen: fd00:1::/64, router fd00:1::2" \
    "fd00:1::/64 fd00:1::2" \
    "$(python3 -c 'import json,sys; n=json.load(sys.stdin)[0]; print(n.get("cidr6"), n.get("router_guest_ip6"))' <<<"$nets" 2>&1)"
check_eq "the cmdline's ip6gateway (another router) and ip6dns1/ip6dns2 in vrd's state" \
    "fd00:1::1 2001:db8::53,2001:db8::54" \
    "$(python3 -c 'import json,sys; n=json.load(sys.stdin)[0]; print(n.get("router_guest_ip6_gateway"), n.get("dns6"))' <<<"$nets" 2>&1)"
check_eq "resolv.conf: dns1, ip6dns1 and ip6dns2 for dnsmasq to forward to" \
    "192.0.2.53 2001:db8::53 2001:db8::54" "$(rssh "awk '/^nameserver/ {print \$2}' /etc/resolv.conf" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_has "vrd put fd00:1::2/64 on eth0" "inet6 fd00:1::2/64" "$(rssh ip -6 -o addr show dev eth0 2>&1)"
check_has "vr-metadata listens on the guest IP" "listen = $GIP:80" "$(rssh cat /etc/vrd/metadata.conf 2>&1)"

# The agent's files, in CloudStack's Gson shapes (nulls left out; type and
# delete_from_processed_cache last), each scp'd to /var/cache/cloud/<kind>.<uuid>.
F="$T/files"
mkdir -p "$F"
uuid() { cat /proc/sys/kernel/random/uuid; }
U1=$(uuid) U2=$(uuid) U3=$(uuid) U4=$(uuid)
cat >"$F/vm_dhcp_entry.json.$U1" <<J
{"host_name":"vm1","mac_address":"$VM1_MAC","ipv4_address":"$VM1_IP","ipv6_address":"fd00:1::65","dns_addresses":"$GIP,192.0.2.53","default_gateway":"10.1.1.1","default_entry":true,"remove":false,"type":"dhcpentry","delete_from_processed_cache":false}
J
cat >"$F/vm_password.json.$U2" <<J
{"ip_address":"$VM1_IP","password":"hY7sd8Kq","type":"vmpassword","delete_from_processed_cache":false}
J
# one bad triple (a key with a leading space) among good ones
cat >"$F/vm_metadata.json.$U3" <<J
{"vm_ip_address":"$VM1_IP","vm_metadata":[["userdata","user-data","I2Nsb3VkLWNvbmZpZwo="],["metadata","service-offering","Small Instance"],["metadata","availability-zone","zone1"],["metadata","local-ipv4","$VM1_IP"],["metadata","local-hostname","vm1"],["metadata","instance-id","i-2-101-VM"],["metadata"," bad-detail","x"],["metadata","vm-id","101"],["metadata","public-keys","ssh-ed25519 AAAAC3Nza image-check"],["metadata","cloud-identifier","CloudStack-{image-check}"]],"type":"vmdata","delete_from_processed_cache":false}
J
cat >"$F/firewall_rules.json.$U4" <<J
{"rules":[],"type":"firewallrules","delete_from_processed_cache":false}
J
for f in "vm_dhcp_entry.json.$U1" "vm_password.json.$U2" "vm_metadata.json.$U3" "firewall_rules.json.$U4"; do
	if ! rscp "$F/$f" "$f" 2>"$T/scp.err"; then
		fail "scp $f to /var/cache/cloud" "$(cat "$T/scp.err")"
		continue
	fi
	if out=$(rssh /opt/cloud/bin/update_config.py "$f" 2>&1); then
		ok "update_config.py ${f%.*}: $(head -n 1 <<<"$out")"
	else
		fail "update_config.py ${f%.*}" "$out"
	fi
	case $f in vm_metadata*) check_has "update_config.py reports the bad triple left out" \
	    'vm_metadata[6]: key " bad-detail"' "$out" ;; esac
done
check_eq "processed files kept as processed/<file>.gz, none left in the cache" \
    "firewall_rules.json.$U4.gz vm_dhcp_entry.json.$U1.gz vm_metadata.json.$U3.gz vm_password.json.$U2.gz|" \
    "$(rssh 'cd /var/cache/cloud && ls processed | sort | tr "\n" " " | sed "s/ \$//"; echo "|$(ls -p | grep -v / | grep -v "^cmdline$\|^boot_up_done$")"' 2>&1)"
check_has "processed/<file>.gz is the file as sent" '"password":"hY7sd8Kq"' \
    "$(rssh "zcat /var/cache/cloud/processed/vm_password.json.$U2.gz" 2>&1)"
check_has "firewall rules logged as not applicable" "firewall_rules.json.$U4: not applicable" \
    "$(rssh cat /var/log/cloud.log 2>&1)"

# The aggregated file the agent sends at router start: VM2 in one batch.
gen0=$(rssh "vrctl --json state" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
V=$(uuid) D=$(uuid) P=$(uuid) M=$(uuid) N=$(uuid)
{
	echo "#Apache CloudStack Virtual Router Config File"
	printf '<version>\n1.0\n</version>\n'
	printf '<file>\n/var/cache/cloud/vm_dhcp_entry.json.%s\n' "$D"
	echo "{\"host_name\":\"vm2\",\"mac_address\":\"$VM2_MAC\",\"ipv4_address\":\"$VM2_IP\",\"dns_addresses\":\"$GIP\",\"default_gateway\":\"10.1.1.1\",\"default_entry\":true,\"remove\":false,\"type\":\"dhcpentry\",\"delete_from_processed_cache\":false}"
	printf '</file>\n<script>\n/opt/cloud/bin/update_config.py vm_dhcp_entry.json.%s\n</script>\n' "$D"
	printf '<file>\n/var/cache/cloud/vm_password.json.%s\n' "$P"
	echo "{\"ip_address\":\"$VM2_IP\",\"password\":\"Xq9-pw2\",\"type\":\"vmpassword\",\"delete_from_processed_cache\":false}"
	printf '</file>\n<script>\n/opt/cloud/bin/update_config.py vm_password.json.%s\n</script>\n' "$P"
	printf '<file>\n/var/cache/cloud/vm_metadata.json.%s\n' "$M"
	echo "{\"vm_ip_address\":\"$VM2_IP\",\"vm_metadata\":[[\"metadata\",\"instance-id\",\"i-2-102-VM\"],[\"metadata\",\"local-hostname\",\"vm2\"]],\"type\":\"vmdata\",\"delete_from_processed_cache\":false}"
	printf '</file>\n<script>\n/opt/cloud/bin/update_config.py vm_metadata.json.%s\n</script>\n' "$M"
	printf '<file>\n/var/cache/cloud/network_acl.json.%s\n' "$N"
	echo '{"device":"eth0","ingress_rules":[],"egress_rules":[],"type":"networkacl","delete_from_processed_cache":false}'
	printf '</file>\n<script>\n/opt/cloud/bin/update_config.py network_acl.json.%s\n</script>\n' "$N"
} >"$F/VR-$V.cfg"
rscp "$F/VR-$V.cfg" "VR-$V.cfg" 2>"$T/scp.err" || fail "scp VR-$V.cfg" "$(cat "$T/scp.err")"
if out=$(rssh /opt/cloud/bin/vr_cfg.sh -c "/var/cache/cloud/VR-$V.cfg" 2>&1); then
	ok "vr_cfg.sh -c VR-$V.cfg: $(head -n 1 <<<"$out")"
else
	fail "vr_cfg.sh -c VR-$V.cfg" "$out"
fi
gen1=$(rssh "vrctl --json state" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
check_eq "the three router files were one vrd batch (generation +1)" "$((gen0 + 1))" "$gen1"
check_eq "VR-<uuid>.cfg and its files kept as processed/*.gz" "5" \
    "$(rssh "ls /var/cache/cloud/processed | grep -cE '($V|$D|$P|$M|$N)'" 2>&1)"
vms=$(rssh "vrctl --json vms" 2>&1)
check_eq "vrd holds both VMs with passwords, user data only for vm1, the bad key left out" \
    "$VM1_IP vm1 True True availability-zone,cloud-identifier,instance-id,local-hostname,local-ipv4,public-keys,service-offering,vm-id;$VM2_IP vm2 True False instance-id,local-hostname" \
    "$(python3 -c 'import json,sys
print(";".join(" ".join([v["ip"], v["hostname"], str(v["has_password"]), str(v["has_user_data"]), ",".join(sorted(v["metadata"]))]) for v in json.load(sys.stdin)))' <<<"$vms" 2>&1)"

# dnsmasq's files
check_eq "dhcphosts and the entries added since (dhcphosts.d/): both VMs, infinite leases, vm1 with its IPv6 address" \
    "$(printf '%s\n' "$VM1_MAC,$VM1_IP,[fd00:1::65],vm1,infinite" "$VM2_MAC,$VM2_IP,vm2,infinite" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(rssh 'cat /var/lib/vrd/dhcphosts; find /var/lib/vrd/dhcphosts.d -type f ! -name ".*" -exec cat {} +' 2>&1 | sort | tr '\n' ' ' | sed 's/ $//')"
conf=$(rssh cat /var/lib/vrd/dnsmasq.conf 2>&1)
check_has "dnsmasq.conf serves eth0" "interface=eth0" "$conf"
check_has "dnsmasq.conf: the router's guest address first among the DNS servers" \
    "dhcp-option=tag:net_eth0,6,$GIP,192.0.2.53" "$conf"
check_has "dnsmasq.conf: the DHCPv6 DNS servers the router's, then ip6dns1 and ip6dns2" \
    "dhcp-option=tag:net_eth0,option6:dns-server,[fd00:1::2],[2001:db8::53],[2001:db8::54]" "$conf"
case $conf in *enable-ra*) fail "dnsmasq.conf: no router advertisements (the IPv6 gateway is another router)" \
    "$(grep -n enable-ra <<<"$conf")" ;;
*) ok "dnsmasq.conf: no router advertisements (the IPv6 gateway is another router)" ;; esac
check_has "hosts: vm1 and the router as data-server" "$GIP data-server" "$(rssh cat /var/lib/vrd/hosts 2>&1)"

# A guest on the router's guest network: its lease, then its data from the
# router's guest IP.
if nt_wait_for 60 nt_dhcp g1 10; then
	ok "guest 1 gets a lease from the router"
else
	fail "guest 1 gets a lease from the router" "$(tail -n 5 "$T/g1.udhcpc.log" 2>/dev/null)"
fi
check_eq "guest 1: its address, the network's gateway, the router's DNS first, the domain" \
    "$VM1_IP 10.1.1.1 $GIP 192.0.2.53 cs1cloud.internal" \
    "$(nt_lease_get g1 ip) $(nt_lease_get g1 router) $(nt_lease_get g1 dns) $(nt_lease_get g1 domain)"
check_eq "guest 1: classless routes: metadata via the router, default via the gateway" \
    "169.254.169.254/32 $GIP 0.0.0.0/0 10.1.1.1" "$(nt_lease_get g1 staticroutes)"
# DHCPv6 (ISC dhclient -6, DUID-LL) from guest 1, nothing configured
rm -f "$T/g1.lease6"
timeout 30 ip netns exec "$(nt_ns g1)" dhclient -6 -1 -D LL -sf /bin/true -lf "$T/g1.lease6" \
    -pf "$T/g1.dhclient6.pid" eth0 >"$T/g1.dhclient6.log" 2>&1
check_eq "guest 1 gets its ipv6_address by DHCPv6 from the router" "fd00:1::65" \
    "$(sed -n 's/.*iaaddr \([^ ]*\) .*/\1/p' "$T/g1.lease6" 2>/dev/null | head -n 1)"
check_eq "and the DNS servers: the router's, then ip6dns1 and ip6dns2" \
    "fd00:1::2,2001:db8::53,2001:db8::54" \
    "$(sed -n 's/.*option dhcp6.name-servers \([^ ;]*\).*/\1/p' "$T/g1.lease6" 2>/dev/null | head -n 1)"
# rdisc6 solicits from guest 1 (3 tries): no router answers, this one
# included (the network's IPv6 gateway advertises; there is none here)
out=$(timeout 30 ip netns exec "$(nt_ns g1)" rdisc6 -m -n -r 3 -w 1500 eth0 2>&1)
check_eq "rdisc6 from guest 1: the router sends no router advertisement" \
    "" "$(grep '^ from ' <<<"$out")"
md_get() { # GUEST PORT PATH [HEADER]: status and body, from the guest
	nt_exec "$1" python3 - "$GIP" "$2" "$3" "${4:-}" <<'PY'
import http.client, sys
host, port, path, hdr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
h = dict([hdr.split(": ", 1)]) if hdr else {}
try:
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers=h)
    r = c.getresponse()
    print(r.status, r.read().decode("utf-8", "replace"))
except Exception as e:
    print("000", e)
PY
}
md_ok() { md=$(md_get g1 80 /latest/meta-data/instance-id); [ "$md" = "200 i-2-101-VM" ]; }
nt_wait_for 30 md_ok
check_eq "vr-metadata serves guest 1 its instance-id on $GIP:80" "200 i-2-101-VM" "$md"
check_eq "and its user data" "200 #cloud-config" "$(md_get g1 80 /latest/user-data | tr -d '\n')"
check_eq "the password server on $GIP:8080 hands guest 1 its password" "200 hY7sd8Kq" \
    "$(md_get g1 8080 / 'DomU_Request: send_my_password')"
check_eq "guest 1 acknowledges it" "200 saved_password" "$(md_get g1 8080 / 'DomU_Request: saved_password')"
if nt_wait_for 60 nt_dhcp g2 10; then
	check_eq "guest 2 (from VR-<uuid>.cfg) gets its lease" "$VM2_IP" "$(nt_lease_get g2 ip)"
else
	fail "guest 2 gets a lease from the router" "$(tail -n 5 "$T/g2.udhcpc.log" 2>/dev/null)"
fi
check_eq "vr-metadata serves guest 2 only its own instance-id" "200 i-2-102-VM" \
    "$(md_get g2 80 /latest/meta-data/instance-id)"

# The health scripts, each from vrd's real state
ver=$(rssh /opt/cloud/bin/get_template_version.sh 2>&1)
check_has "get_template_version.sh: the running vrd's version & a scripts signature" \
    "$(rssh 'vrd --version' 2>/dev/null | head -n 1))&" "$ver"
check_eq "checkrouter.sh" "Status: PRIMARY" "$(rssh /opt/cloud/bin/checkrouter.sh 2>&1)"
mon=$(rssh /opt/cloud/bin/getRouterMonitorResults.sh true 2>&1)
check_eq "getRouterMonitorResults.sh: every basic check passes, dhcp counts 2 hosts" \
    "True dhcp_check,disk_check,dns_check,metadata_check,vrd_check dnsmasq running with 2 hosts, as vrd holds" \
    "$(python3 -c 'import json,sys; b=json.load(sys.stdin)["basic"]
print(all(v["success"] == "true" for v in b.values()), ",".join(sorted(b)), b["dhcp_check"]["message"])' <<<"$mon" 2>&1)"
check_eq "getRouterAlerts.sh" "No Alerts" "$(rssh "/opt/cloud/bin/getRouterAlerts.sh '$(date -u '+%F %T' -d '-1 hour')'" 2>&1)"
check_eq "filesystem_writable_check.py" "Filesystem is writable" \
    "$(rssh /opt/cloud/bin/filesystem_writable_check.py 2>&1)"
check_has "cleanup.sh" "removed 0 processed file(s)" "$(rssh /opt/cloud/bin/cleanup.sh 2>&1)"
# a stopped dnsmasq is noticed
rssh systemctl stop vr-dnsmasq.service
check_has "checkrouter.sh notices dnsmasq stopped" "Status: FAULT" "$(rssh /opt/cloud/bin/checkrouter.sh 2>&1)"
check_has "getRouterAlerts.sh reports it" "dhcp: dnsmasq is not running" \
    "$(rssh /opt/cloud/bin/getRouterAlerts.sh 2>&1)"
rssh systemctl start vr-dnsmasq.service

# Removal as the agent sends it
R=$(uuid)
echo "{\"host_name\":\"vm2\",\"mac_address\":\"$VM2_MAC\",\"ipv4_address\":\"$VM2_IP\",\"default_entry\":true,\"remove\":true,\"type\":\"dhcpentry\",\"delete_from_processed_cache\":false}" \
    >"$F/vm_dhcp_entry.json.$R"
rscp "$F/vm_dhcp_entry.json.$R" "vm_dhcp_entry.json.$R" &&
    out=$(rssh /opt/cloud/bin/update_config.py "vm_dhcp_entry.json.$R" 2>&1) ||
    fail "update_config.py removal of vm2" "$out"
check_eq "vm2 removed: the router refuses its address (the binding went with the batch)" "000" \
    "$(md_get g2 80 /latest/meta-data/instance-id | cut -d' ' -f1)"
check_eq "guest 1 is still served" "200 i-2-101-VM" "$(md_get g1 80 /latest/meta-data/instance-id)"

# A power cut and the next start: the agent writes a new cmdline again
gen=$(rssh "vrctl --json state" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
before=$(rssh "vrctl --json vms" 2>&1)
stop_qemu
sed 's/name=r-4-VM/name=r-4-VM-b/' "$T/cmdline-boot1" >"$T/cmdline-boot2"
boot boot2
check_eq "boot2: the new cmdline's name" "r-4-VM-b" "$(rssh hostname 2>&1)"
after=$(rssh "vrctl --json vms" 2>&1)
check_eq "boot2: the same VMs after the power cut" "$before" "$after"
check_eq "boot2: the same generation (the cmdline's guest network changed nothing)" "$gen" \
    "$(rssh "vrctl --json state" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')"
if nt_wait_for 60 nt_dhcp g1 10 && [ "$(nt_lease_get g1 ip)" = "$VM1_IP" ]; then
	ok "boot2: guest 1 gets its lease again"
else
	fail "boot2: guest 1 gets its lease again" "$(tail -n 5 "$T/g1.udhcpc.log" 2>/dev/null)"
fi
nt_wait_for 60 md_ok
check_eq "boot2: vr-metadata serves guest 1 again" "200 i-2-101-VM" "$md"

journal=$(rssh "journalctl -b -o short --no-pager" 2>&1)
failed=$(grep -E 'FAILED|Failed to start|Main process exited, code=(exited|killed|dumped), status=[1-9]|Watchdog timeout' <<<"$journal")
check_eq "boot2: no unit failed" "" "$failed"
warns=$(grep -E '(vrd|vr-metadata)\[[0-9]+\]: .*(warning|error)' <<<"$journal" |
    grep -v 'dnsmasq: not signalled (pid file /run/vrd/dnsmasq.pid: No such file')
check_eq "boot2: vrd and vr-metadata logged no warning" "" "$warns"
diag "first boot to SSH: $BOOT1_S s; after the power cut: $BOOT_S s ($ACCEL)"
finish
