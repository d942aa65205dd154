#!/usr/bin/env bash
# tests/demo.sh - the virtual router's flow, told for a human (`make demo`).
#
# Builds a VR network namespace (guest-facing bridge eth1) and one guest
# namespace, starts vrd inside the VR, pushes a guest network and one VM's
# three commands (dhcpentry, vmpassword, vmdata) as one batch with vrctl,
# shows what vrd wrote, starts dnsmasq from it, and lets the guest run busybox
# udhcpc.  Needs root, iproute2, dnsmasq and udhcpc (`make deps`).  Everything
# is removed at the end, on failure and on Ctrl-C; exit status 0 on success.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
VRD="$BUILD/vrd"
VRCTL="$BUILD/vrctl"
MDD="$BUILD/vr-metadata"

if [ -t 1 ]; then
	B=$'\e[1m' DIM=$'\e[2m' GRN=$'\e[32m' RED=$'\e[31m' CYN=$'\e[36m' RST=$'\e[0m' TICK='✔'
else
	B="" DIM="" GRN="" RED="" CYN="" RST="" TICK='ok:'
fi
STEP=0 STEP_TITLE="checks"
section() { STEP=$((STEP + 1)) STEP_TITLE=$*; printf '\n%s== %d. %s%s\n' "$B$CYN" "$STEP" "$*" "$RST"; }
say() { printf '%s\n' "$*"; }
cmdline() { printf '%s$ %s%s\n' "$DIM" "$*" "$RST"; }     # a command, as typed
indent() { sed 's/^/    /'; }
good() { printf '%s%s %s%s\n' "$GRN" "$TICK" "$*" "$RST"; }

D=""
dump_logs() {
	local f
	[ -n "$D" ] || return 0
	for f in "$D/vrd.log" "$D/vr-metadata.log" "$D/dnsmasq.log" "$D/g1.udhcpc.log"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s:\n' "$(basename "$f")" >&2
		tail -n 15 "$f" | indent >&2
	done
}
die() {
	trap - ERR
	printf '%sdemo FAILED in step %s (%s): %s%s\n' "$B$RED" "$STEP" "$STEP_TITLE" "$*" "$RST" >&2
	dump_logs
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces); try: sudo make demo"
for f in "$VRD" "$VRCTL"; do
	[ -x "$f" ] || die "$f is missing: run make"
done
for bin in ip dnsmasq udhcpc python3; do
	command -v "$bin" >/dev/null || die "$bin is not installed: run make deps"
done

. "$ROOT/tests/lib/netns.sh"
nt_init      # namespaces, processes and the temp dir go away on exit, failure or Ctrl-C
trap 'printf "\n%sdemo interrupted: cleaning up%s\n" "$RED" "$RST" >&2; nt__on_signal INT 130' INT

D=$NT_DIR
# any failing command ends the demo (set -e) with its line and the logs' tails;
# failures inside the harness's own cleanup (e.g. killing a dead pid) are not ours
on_err() {
	local rc=$? line=$1 cmd=$2 f
	for f in "${FUNCNAME[@]}"; do
		case "$f" in nt_cleanup | nt__on_exit | nt__on_signal) return 0 ;; esac
	done
	trap - ERR
	printf '\n%sdemo FAILED in step %s (%s): `%s` returned %s (line %s%s)%s\n' "$B$RED" "$STEP" \
	    "$STEP_TITLE" "$cmd" "$rc" "$line" "${FUNCNAME[1]:+ in ${FUNCNAME[1]}}" "$RST" >&2
	dump_logs
	exit "$rc"
}
trap 'on_err $LINENO "$BASH_COMMAND"' ERR
ms() { echo $(( $(date +%s%N) / 1000000 )); }
T0=$(ms)

say "${B}vr demo${RST}: vrd + dnsmasq in a virtual router namespace, one guest VM (udhcpc)"

# --- 1 ------------------------------------------------------------------------------
section "Network namespaces: the virtual router and a guest"
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
ip -n "$VR" link set eth1 down        # vrd will bring it up
VM_MAC=02:00:4c:5f:00:01 VM_IP=10.1.1.101 ROUTER=10.1.1.1
nt_guest_create g1 "$VM_MAC"
G1=$(nt_ns g1)
say "VR     $VR: bridge eth1 (guest side, no address yet, down)"
say "guest  $G1: eth0 $VM_MAC, a port of the VR's eth1"

# --- 2 ------------------------------------------------------------------------------
section "Start vrd inside the VR"
STATE="$D/state"
TOKEN="$D/token"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN")
URL=http://127.0.0.1:3923
VRD_ARGS=(--listen 127.0.0.1:3923 --state-dir "$STATE" --token-file "$TOKEN"
	--dnsmasq-pid-file "$D/dnsmasq.pid" --dnsmasq-lease-file "$D/dnsmasq.leases"
	--metadata-user nobody --manage-links yes)
cmdline "ip netns exec $VR $VRD ${VRD_ARGS[*]}"
nt_run_bg vr "$VRD" "${VRD_ARGS[@]}" 2>>"$D/vrd.log"
VRD_PID=$NT_LAST_PID
vrctl() { nt_exec vr "$VRCTL" --url "$URL" --token-file "$TOKEN" "$@"; }
nt_wait_for 10 vrctl health >/dev/null 2>&1 || die "vrd did not answer on $URL within 10 s"
good "vrd (pid $VRD_PID) answers on $URL inside $VR (token: $TOKEN, 0600)"
say "below, ${B}vrctl${RST} stands for: ip netns exec $VR $VRCTL --url $URL --token-file $TOKEN"
say "(production: listen = 169.254.0.10:3923 on the link-local control NIC)"

# --- 3 ------------------------------------------------------------------------------
section "Push the guest network (guestnetwork)"
P="$D/push"
mkdir -p "$P"
cat >"$P/guest_network.json" <<EOF
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44",
 "router_guest_ip":"$ROUTER","cidr":"10.1.1.0/24","dns":"$ROUTER,8.8.8.8",
 "domain_name":"cloud.internal","add":true}
EOF
indent <"$P/guest_network.json"
cmdline "vrctl apply guest_network.json"
out=$(vrctl apply "$P/guest_network.json") || die "vrctl apply failed"
say "$out" | indent
say "vrd put the router address and the metadata address on eth1 (netlink) and brought it up:"
cmdline "ip -n $VR -4 addr show dev eth1"
ip -n "$VR" -4 addr show dev eth1 | indent
ip -n "$VR" -4 -o addr show dev eth1 | grep -q "inet 169.254.169.254/32" || die "169.254.169.254/32 missing on eth1"

# --- 4 ------------------------------------------------------------------------------
section "Start dnsmasq from vrd's dnsmasq.conf"
DM_ARGS=(--keep-in-foreground "--conf-file=$STATE/dnsmasq.conf" "--pid-file=$D/dnsmasq.pid"
	"--log-facility=$D/dnsmasq.log" --no-resolv)
cmdline "ip netns exec $VR dnsmasq ${DM_ARGS[*]}"
nt_dnsmasq_start "$STATE/dnsmasq.conf" "$D/dnsmasq.pid" "$D/dnsmasq.log" || die "dnsmasq did not start"
good "dnsmasq (pid $NT_DNSMASQ_PID) serves eth1; vrd sends it SIGHUP when its files change"
say "(it reads dnsmasq.conf only at start: on the VR a systemd path unit restarts it when vrd rewrites that file)"

# --- 5 ------------------------------------------------------------------------------
section "Push one VM: dhcpentry + vmpassword + vmdata as one batch"
cat >"$P/vm_dhcp_entry.json" <<EOF
{"host_name":"vm1","mac_address":"$VM_MAC","ipv4_address":"$VM_IP","ipv6_address":null,
 "ipv6_duid":null,"dns_addresses":"$ROUTER","default_gateway":"$ROUTER","static_routes":null,
 "default_entry":true,"remove":false,"lease_time":null,"type":"dhcpentry",
 "delete_from_processed_cache":false}
EOF
cat >"$P/vm_password.json" <<EOF
{"ip_address":"$VM_IP","password":"hY7sd8Kq","type":"vmpassword"}
EOF
USERDATA=$(printf '#cloud-config\npackages: [htop]\n' | base64 -w0)
cat >"$P/vm_metadata.json" <<EOF
{"vm_ip_address":"$VM_IP","type":"vmdata","vm_metadata":[
 ["userdata","user-data","$USERDATA"],
 ["metadata","instance-id","5d2f6c1e-9b1f-4e1a-8a55-1d3c0e7b9a01"],
 ["metadata","local-hostname","vm1"],
 ["metadata","public-keys","ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyDemoKeyDemoKeyDemoKeyDemoKeyDemo demo@example"],
 ["metadata","availability-zone","zone1"]]}
EOF
for f in vm_dhcp_entry vm_password vm_metadata; do
	say "${B}$f.json${RST}"
	indent <"$P/$f.json"
done
cmdline "vrctl apply vm_dhcp_entry.json vm_password.json vm_metadata.json"
t1=$(ms)
out=$(vrctl apply "$P/vm_dhcp_entry.json" "$P/vm_password.json" "$P/vm_metadata.json") ||
	die "vrctl apply failed"
t2=$(ms)
say "$out" | indent
good "vrctl apply took $((t2 - t1)) ms: 3 commands, one batch, durable (fsync'd) and dnsmasq signalled before the reply"
nt_dnsmasq_sync || die "dnsmasq is gone (exit status ${NT_DNSMASQ_EXITS[*]})"
[ "$NT_DNSMASQ_SYNCED" = unchanged ] || say "(dnsmasq.conf changed: dnsmasq restarted)"

# --- 6 ------------------------------------------------------------------------------
section "What vrd knows: vrctl vms, vrctl state"
cmdline "vrctl vms"
vrctl vms | indent
cmdline "vrctl state"
vrctl state | indent

# --- 7 ------------------------------------------------------------------------------
section "What vrd wrote in its state directory ($STATE)"
say "${B}dhcphosts${RST} (dnsmasq --dhcp-hostsfile, re-read on SIGHUP)"
indent <"$STATE/dhcphosts"
say "${B}hosts${RST} (dnsmasq --addn-hosts)"
indent <"$STATE/hosts"
say "${B}dnsmasq.conf${RST} (excerpt: the guest network)"
sed -n '/^# guest network on eth1/,$p' "$STATE/dnsmasq.conf" | indent
say "${B}vms/$VM_IP.json${RST} (read by vr-metadata)"
python3 -m json.tool "$STATE/vms/$VM_IP.json" | indent
say "${B}passwords/$VM_IP${RST}: $(stat -c '%A %U' "$STATE/passwords/$VM_IP"), the pending password for the password server"

# --- 8 ------------------------------------------------------------------------------
section "The guest boots: udhcpc on eth0"
cmdline "ip netns exec $G1 udhcpc -f -q -n -i eth0 -O staticroutes -s <hook>"
nt_dhcp g1 5 || die "the guest got no lease"
lease() { nt_lease_get g1 "$1"; }
printf '    %-10s %s\n' "IP" "$(lease ip)/$(lease subnet)" "hostname" "$(lease hostname)" \
	"router" "$(lease router)" "DNS" "$(lease dns)" "domain" "$(lease domain)" \
	"lease" "$(lease lease) s (infinite)"
read -r -a sr <<<"$(lease staticroutes)"
for ((i = 0; i + 1 < ${#sr[@]}; i += 2)); do
	printf '    %-10s %s via %s\n' "route" "${sr[i]}" "${sr[i + 1]}"
done
if [ "$(lease ip)" != "$VM_IP" ] || [ "$(lease hostname)" != vm1 ]; then
	die "the guest got the wrong lease"
fi
[[ " $(lease staticroutes) " == *" 169.254.169.254/32 $ROUTER "* ]] || die "no route to 169.254.169.254"
good "the guest got exactly what was pushed, and option 121 routes 169.254.169.254 via the VR"
say "dnsmasq's side:"
grep -E 'DHCP(DISCOVER|OFFER|REQUEST|ACK)' "$D/dnsmasq.log" | sed 's/^.*dnsmasq-dhcp\[[0-9]*\]: //' | indent
nt_exec g1 ip route add 169.254.169.254/32 via "$ROUTER" dev eth0
cmdline "ip netns exec $G1 ping -c 1 169.254.169.254"
if nt_exec g1 busybox ping -c 1 -W 2 169.254.169.254 >/dev/null 2>&1; then
	good "the guest reaches 169.254.169.254 through the route it was given"
else
	die "the guest cannot reach 169.254.169.254"
fi

# --- 9 ------------------------------------------------------------------------------
section "The guest asks vr-metadata (169.254.169.254 and the password server)"
MD_ARGS=(--listen 169.254.169.254:80 --listen "$ROUTER:80" --state-dir "$STATE" --user nobody)
cmdline "ip netns exec $VR $MDD ${MD_ARGS[*]}"
nt_run_bg vr "$MDD" "${MD_ARGS[@]}" 2>>"$D/vr-metadata.log"
MD_PID=$NT_LAST_PID
gw() { nt_exec g1 wget -q -T 2 -t 1 -O - "$@" 2>/dev/null; }
nt_wait_for 10 gw http://169.254.169.254/latest/meta-data/instance-id >/dev/null ||
	die "vr-metadata did not answer the guest within 10 s"
good "vr-metadata (pid $MD_PID) runs as nobody and answers the guest"
for path in /latest/meta-data/ /latest/meta-data/instance-id /latest/meta-data/public-keys/0/openssh-key /latest/user-data; do
	cmdline "guest: wget -qO- http://169.254.169.254$path"
	{ gw "http://169.254.169.254$path"; echo; } | sed '/^$/d' | indent
done
[ "$(gw http://169.254.169.254/latest/meta-data/instance-id)" = 5d2f6c1e-9b1f-4e1a-8a55-1d3c0e7b9a01 ] ||
	die "the guest got another instance-id"
cmdline "guest: wget -qO- --header 'DomU_Request: send_my_password' http://$ROUTER:8080"
pw=$(gw --header 'DomU_Request: send_my_password' "http://$ROUTER:8080")
say "    $pw"
[ "$pw" = hY7sd8Kq ] || die "the guest got no password"
cmdline "guest: wget -qO- --header 'DomU_Request: saved_password' http://$ROUTER:8080"
{ gw --header 'DomU_Request: saved_password' "http://$ROUTER:8080"; echo; } | indent
[ "$(gw --header 'DomU_Request: send_my_password' "http://$ROUTER:8080")" = saved_password ] ||
	die "the password survived its acknowledgement"
good "password fetched once, acknowledged, gone: the next boot gets 'saved_password'"
nt_stop "$MD_PID" 10
wait "$MD_PID" 2>/dev/null || true
nt__forget_pid "$MD_PID"

nt_stop "$VRD_PID" 10
vrd_rc=0
wait "$VRD_PID" 2>/dev/null || vrd_rc=$?
nt__forget_pid "$VRD_PID"
[ "$vrd_rc" = 0 ] || die "vrd exited with status $vrd_rc on SIGTERM"
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$D/vrd.log"; then
	die "sanitizer report in vrd's stderr"
fi
good "vrd stops on SIGTERM with status 0"

# --- 10 -----------------------------------------------------------------------------
section "Next"
say "(Values have no trailing newline: cloud-init would read a newline as a list.)"
say "Debian's real cloud-init reads all of this in tests/integration/metadata_cloudinit.sh."
say "${B}vr-manager${RST} (issue 4) will send the same three-command batch to vrd when it deploys"
say "a VM, instead of vrctl, and the demo will then run cloud-init in the guest."

trap - ERR
T1=$(ms)
printf '\n%sdemo OK%s in %d.%03d s; cleaning up (namespaces, vrd, dnsmasq, %s)\n' "$B$GRN" "$RST" \
	$(((T1 - T0) / 1000)) $(((T1 - T0) % 1000)) "$D"
exit 0
