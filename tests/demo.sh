#!/usr/bin/env bash
# tests/demo.sh - the whole flow, told for a human (`make demo`).
#
# Builds a VR network namespace (guest-facing bridge eth1), starts vrd,
# dnsmasq and vr-metadata in it, loads a demo inventory into vr-manager
# (libvirt test-driver hosts, a pool in a temp dir, a small raw template it
# makes), deploys a VM through the signed CloudStack API, prints the
# deployment's timeline, then boots the "VM": a guest namespace with the VM's
# MAC takes its DHCP lease and runs Debian's cloud-init CloudStack datasource.
# Needs root, iproute2, dnsmasq, udhcpc, cloud-init (`make deps`).  Everything
# is removed at the end, on failure and on Ctrl-C; exit status 0 on success.
# DEMO_TAP=1 prints each check as a TAP line (tests/integration/mgr_e2e.sh).
# VM=1 (`make demo VM=1`): the VM is real instead: vr-manager deploys the guest template
# (make guest-image) onto QEMU through libvirtd (tests/lib/realvm.sh, as
# tests/integration/vm_real.sh), its NIC a tap on a host bridge joined to the VR's eth1;
# the demo logs in over SSH with the deployed key once cloud-init in the guest reports
# done, and the timeline shows the real start stage and that time.  Minutes, not seconds:
# the CPU is emulated (TCG).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
VRD="$BUILD/vrd"
VRCTL="$BUILD/vrctl"
MDD="$BUILD/vr-metadata"
MGR="$BUILD/vr-manager"
PY3=/usr/bin/python3
VM=${VM:-0}
GUEST_IMG="$ROOT/build/guest/guest.qcow2"

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
if [ -n "${DEMO_TAP:-}" ]; then TICK="ok -"; fi
good() { printf '%s%s %s%s\n' "$GRN" "$TICK" "$*" "$RST"; }

D=""
dump_logs() {
	local f
	[ -n "$D" ] || return 0
	for f in "$D/vrd.log" "$D/vr-metadata.log" "$D/vr-manager.log" "$D/dnsmasq.log" "$D/g1.udhcpc.log" "$D/ci.err"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s:\n' "$(basename "$f")" >&2
		tail -n 15 "$f" | indent >&2
	done
}
die() {
	trap - ERR
	[ -z "${DEMO_TAP:-}" ] || echo "not ok - demo step $STEP ($STEP_TITLE): $*"
	printf '%sdemo FAILED in step %s (%s): %s%s\n' "$B$RED" "$STEP" "$STEP_TITLE" "$*" "$RST" >&2
	dump_logs
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces); try: sudo make demo"
for f in "$VRD" "$VRCTL" "$MDD" "$MGR"; do
	[ -x "$f" ] || die "$f is missing: run make"
done
for bin in ip dnsmasq udhcpc python3; do
	command -v "$bin" >/dev/null || die "$bin is not installed: run make deps"
done
if [ "$VM" = 1 ]; then
	for bin in libvirtd virsh qemu-system-x86_64 qemu-img ssh ssh-keygen; do
		command -v "$bin" >/dev/null || die "$bin is not installed: run make deps"
	done
	[ -s "$GUEST_IMG" ] || die "$GUEST_IMG is missing: run make guest-image"
fi

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
	[ -z "${DEMO_TAP:-}" ] || echo "not ok - demo step $STEP ($STEP_TITLE): \`$cmd\` returned $rc"
	printf '\n%sdemo FAILED in step %s (%s): `%s` returned %s (line %s%s)%s\n' "$B$RED" "$STEP" \
	    "$STEP_TITLE" "$cmd" "$rc" "$line" "${FUNCNAME[1]:+ in ${FUNCNAME[1]}}" "$RST" >&2
	dump_logs
	exit "$rc"
}
trap 'on_err $LINENO "$BASH_COMMAND"' ERR
ms() { echo $(( $(date +%s%N) / 1000000 )); }
T0=$(ms)

say "${B}vr demo${RST}: vr-manager deploys a VM; vrd, dnsmasq and vr-metadata serve it in a virtual"
if [ "$VM" = 1 ]; then
	say "router namespace; a real guest boots in QEMU (TCG), takes its lease and runs cloud-init"
	. "$ROOT/tests/lib/realvm.sh"
	say "(waiting for any other real-VM run to finish: they share libvirtd)"
	rv_lock || die "another real-VM run held /run/lock/vr-real-vm.lock for 30 minutes"
	rv_init
else
	say "router namespace; the guest takes its lease and runs cloud-init's CloudStack datasource"
fi

# --- 1 ------------------------------------------------------------------------------
section "Network namespace: the virtual router"
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
ip -n "$VR" link set eth1 down        # vrd will bring it up
ROUTER=10.1.1.1
say "VR     $VR: bridge eth1 (guest side, no address yet, down)"
if [ "$VM" = 1 ]; then
	HBR="vrb$$"
	rv_bridge "$VR" "$HBR" || die "cannot join $VR's eth1 to a host bridge"
	say "host bridge $HBR, joined to the VR's eth1 by a veth: the guest's tap goes on it"
else
	say "(the guest's namespace is made in step 7, once vr-manager has given the VM its MAC)"
fi

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
section "Start dnsmasq from vrd's dnsmasq.conf, and vr-metadata"
DM_ARGS=(--keep-in-foreground "--conf-file=$STATE/dnsmasq.conf" "--pid-file=$D/dnsmasq.pid"
	"--log-facility=$D/dnsmasq.log" --no-resolv)
cmdline "ip netns exec $VR dnsmasq ${DM_ARGS[*]}"
nt_dnsmasq_start "$STATE/dnsmasq.conf" "$D/dnsmasq.pid" "$D/dnsmasq.log" || die "dnsmasq did not start"
good "dnsmasq (pid $NT_DNSMASQ_PID) serves eth1; vrd sends it SIGHUP when its files change"
say "(it reads dnsmasq.conf only at start: on the VR a systemd path unit restarts it when vrd rewrites that file)"
MD_ARGS=(--listen 169.254.169.254:80 --listen "$ROUTER:80" --state-dir "$STATE" --user nobody)
cmdline "ip netns exec $VR $MDD ${MD_ARGS[*]}"
nt_run_bg vr "$MDD" "${MD_ARGS[@]}" 2>>"$D/vr-metadata.log"
MD_PID=$NT_LAST_PID
nt_wait_for 10 nt_exec vr "$PY3" -c 'import socket; socket.create_connection(("'"$ROUTER"'", 80), 1)' ||
	die "vr-metadata does not listen on $ROUTER:80"
good "vr-metadata (pid $MD_PID) runs as nobody on 169.254.169.254:80, $ROUTER:80 and the password server :8080"


# --- 5 ------------------------------------------------------------------------------
section "vr-manager: a demo inventory and the API"
W="$D/world"
MGR_EXTRA=()
if [ "$VM" = 1 ]; then
	rv_libvirtd "$D" >"$D/libvirtd.said" || die "$RV_ERR"
	indent <"$D/libvirtd.said"
	VSIZE=$(qemu-img info --output=json "$GUEST_IMG" | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	cmdline "tests/lib/mgr_inventory.py --dir $W --hosts 1 --host-uri $RV_URI --bridge $HBR --template-file $GUEST_IMG ..."
	"$PY3" "$ROOT/tests/lib/mgr_inventory.py" --dir "$W" --hosts 1 --host-cores 2 \
		--host-ram 4096 --host-uri "$RV_URI" --bridge "$HBR" --template-file "$GUEST_IMG" \
		--template-bytes "$VSIZE" --offering-ram 512 --vr-url "$URL" \
		--vr-token "$(cat "$TOKEN")" --cidr 10.1.1.0/24 --gateway "$ROUTER"
	say "1 real host: QEMU through libvirtd ($RV_URI), domain type qemu (TCG: no usable KVM);"
	say "a zone-wide pool in $W/primary; the guest template (Debian, cloud-init) on secondary"
	say "storage; one guest network whose VR is our vrd, on host bridge $HBR."
	mkdir -p "$D/console"
	MGR_EXTRA=(--domain-type qemu --console-dir "$D/console")
else
	cmdline "tests/lib/mgr_inventory.py --dir $W --hosts 3 --vr-url $URL ..."
	"$PY3" "$ROOT/tests/lib/mgr_inventory.py" --dir "$W" --hosts 3 --vr-url "$URL" \
		--vr-token "$(cat "$TOKEN")" --cidr 10.1.1.0/24 --gateway "$ROUTER" --template-mib 16
	say "3 hosts on libvirt's test driver (test:///…/h1.xml …, no daemon), a zone-wide pool in"
	say "$W/primary, a 16 MiB raw template on secondary storage, one guest network whose VR is our vrd."
fi
say "Accounts: admin (admin-key) and alice (alice-key / alice-secret)."
MGR_PORT=8080
MGR_URL="http://127.0.0.1:$MGR_PORT"
cmdline "vr-manager --db $D/manager.db --inventory $W/inventory.json init"
"$MGR" -c /dev/null --db "$D/manager.db" --inventory "$W/inventory.json" init 2>>"$D/vr-manager.log" | indent
MGR_ARGS=(-c /dev/null --db "$D/manager.db" --listen "127.0.0.1:$MGR_PORT" --workers 4
	"${MGR_EXTRA[@]}")
cmdline "ip netns exec $VR vr-manager ${MGR_ARGS[*]} serve"
say "(it runs in the VR's namespace so that it reaches vrd's control port on loopback; in a"
say " cloud it reaches vrd over the link-local control network)"
nt_run_bg vr "$MGR" "${MGR_ARGS[@]}" serve 2>>"$D/vr-manager.log"
MGR_PID=$NT_LAST_PID
api() { nt_exec vr "$PY3" "$ROOT/tests/lib/cs_api.py" "$@"; }
nt_wait_for 10 api "$MGR_URL" admin-key admin-secret listCapacity >/dev/null 2>&1 ||
	die "vr-manager did not answer on $MGR_URL"
good "vr-manager (pid $MGR_PID) answers the signed CloudStack API on $MGR_URL/client/api"

# --- 6 ------------------------------------------------------------------------------
section "Deploy a VM through the signed API (deployVirtualMachine, then queryAsyncJobResult)"
if [ "$VM" = 1 ]; then
	# a real guest has no mirror to install packages from: the user data writes a file
	USERDATA_TEXT=$(printf '#cloud-config\nwrite_files:\n  - path: /var/tmp/demo-mark\n    content: "hello from the user data"\n')
	ssh-keygen -q -t ed25519 -N "" -C "vr-demo" -f "$D/id" || die "ssh-keygen failed"
	SSHKEY=$(cat "$D/id.pub")
else
	USERDATA_TEXT=$(printf '#cloud-config\npackages: [htop]')
	SSHKEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyDemoKeyDemoKeyDemoKeyDemoKeyDemo demo@example"
fi
USERDATA=$(printf '%s\n' "$USERDATA_TEXT" | base64 -w0)
cmdline "cs_api.py $MGR_URL alice-key alice-secret deployVirtualMachine zoneid=zone1 templateid=tpl1 serviceofferingid=small name=vm1 userdata=… sshkey=…"
say "(the request is signed in Python, independently of vr-manager's C: HMAC-SHA1 over the"
say " sorted, lower-cased query, as CloudMonkey does)"
nt_exec vr "$PY3" - "$MGR_URL" "$USERDATA" "$SSHKEY" "$D" "$ROOT/tests/lib" <<'PYEOF'
import json, sys, time
sys.path.insert(0, sys.argv[5])
from cs_api import Client
url, ud, key, d = sys.argv[1:5]
c = Client(url, "alice-key", "alice-secret", timeout=60)
open(d + "/t_deploy_ns", "w").write(str(time.time_ns()))
t = time.monotonic()
st, js = c.call("deployVirtualMachine", zoneid="zone1", templateid="tpl1",
                serviceofferingid="small", name="vm1", userdata=ud, sshkey=key)
sync_ms = (time.monotonic() - t) * 1000
json.dump(js, open(d + "/deploy.json", "w"), indent=1)
if st != 200:
    sys.exit("deploy: HTTP %d %s" % (st, js))
st, job = c.wait_job(js["deployvirtualmachineresponse"]["jobid"], timeout=600, poll=0.05)
json.dump(job, open(d + "/job.json", "w"), indent=1)
open(d + "/sync_ms", "w").write("%.3f" % sync_ms)
PYEOF
say "${B}sync phase reply${RST}:"
{ cat "$D/deploy.json"; echo; } | indent
JOBSTATUS=$("$PY3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["queryasyncjobresultresponse"]["jobstatus"])' "$D/job.json")
[ "$JOBSTATUS" = 1 ] || { indent <"$D/job.json"; die "the deploy job failed"; }
vmf() { "$PY3" -c 'import json,sys; v=json.load(open(sys.argv[1]))["queryasyncjobresultresponse"]["jobresult"]["virtualmachine"]; print(eval(sys.argv[2]))' "$D/job.json" "$1"; }
VM_ID=$(vmf 'v["id"]') VM_IP=$(vmf 'v["nic"][0]["ipaddress"]') VM_MAC=$(vmf 'v["nic"][0]["macaddress"]')
VM_PW=$(vmf 'v["password"]') VM_HOST=$(vmf 'v["hostname"]') VM_INST=$(vmf 'v["instancename"]')
good "job succeeded: VM $VM_ID ($VM_INST) Running on $VM_HOST, NIC $VM_MAC $VM_IP"
timeline() { # [GUEST_DONE_MS]
	say ""
	say "${B}The deployment's timeline${RST} (stages as recorded by the job, beside CloudStack's"
	say "reference deployment, docs/cloudstack-timeline.md):"
	"$PY3" "$ROOT/tests/lib/mgr_timeline.py" "$(cat "$D/sync_ms")" "$D/job.json" "$@" | indent
}
if [ "$VM" = 1 ]; then
	RV_DOMAINS+=("$VM_INST")
	say "(the timeline follows once cloud-init in the guest reports done, step 8)"
else
	timeline
fi
say "What the stages left behind:"
cmdline "vrctl vms"
vrctl vms | indent
cmdline "ls -l $W/primary"
ls -l "$W/primary" | tail -n +2 | indent
ROOTVOL=$(find "$W/primary" -name '*.qcow2' ! -name 'template-*')
cmdline "qemu-img info -U $ROOTVOL"
qemu-img info -U "$ROOTVOL" | grep -E '^(image|file format|virtual size|disk size|backing file)' | indent
say "and the libvirt domain on $VM_HOST:"
api "$MGR_URL" admin-key admin-secret listHosts listdomains=true |
	"$PY3" -c 'import json,sys; [print("    %s: %s" % (h["name"], ", ".join(h.get("domains", [])) or "-")) for h in json.load(sys.stdin)["listhostsresponse"]["host"]]'

if [ "$VM" = 1 ]; then
	# --- 7 (VM=1) ------------------------------------------------------------------------
	section "The VM boots in QEMU: its lease from dnsmasq, then SSH with the deployed key"
	QEMU_PID=$(cat "/run/libvirt/qemu/$VM_INST.pid" 2>/dev/null || echo "?")
	say "QEMU pid $QEMU_PID; its serial console goes to $D/console/$VM_INST.log"
	since() { echo $(( ($(date +%s%N) - $(cat "$D/t_deploy_ns")) / 1000000 )); }
	has_lease() { grep -qi " $VM_MAC $VM_IP " "$D/dnsmasq.leases" 2>/dev/null; }
	if ! nt_wait_for 400 has_lease; then
		rv_console_dump "$D/console"
		die "the guest took no lease within 400 s"
	fi
	good "the guest took its lease $VM_IP from dnsmasq $(since) ms after the deploy request"
	SSH=(ip netns exec "$VR" ssh -q -i "$D/id" -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR
		"debian@$VM_IP")
	cmdline "ip netns exec $VR ssh -i $D/id debian@$VM_IP"
	if ! nt_wait_for 400 "${SSH[@]}" true 2>/dev/null; then
		rv_console_dump "$D/console"
		die "no SSH with the deployed key within 400 s"
	fi
	good "SSH as debian with the deployed key $(since) ms after the deploy request"

	# --- 8 (VM=1) ------------------------------------------------------------------------
	section "cloud-init in the guest (Debian's package): what it got from the VR"
	cmdline "ssh … cloud-init status --wait"
	st=$(timeout 400 "${SSH[@]}" cloud-init status --wait 2>&1 | tail -n1)
	GUEST_MS=$(since)
	say "$st" | indent
	[ "$st" = "status: done" ] || die "cloud-init in the guest ended with \"$st\""
	good "cloud-init reports done $GUEST_MS ms after the deploy request"
	printf '    %-18s %s\n' "hostname" "$("${SSH[@]}" hostname)" \
		"instance-id" "$("${SSH[@]}" cat /var/lib/cloud/data/instance-id)" \
		"data source" "$("${SSH[@]}" sudo sed -n 's/.*"datasource": "\([^"]*\)".*/\1/p' /run/cloud-init/result.json)" \
		"user data's file" "$("${SSH[@]}" cat /var/tmp/demo-mark)" \
		"authorized key" "$("${SSH[@]}" cut -c1-50 .ssh/authorized_keys)…"
	[ "$("${SSH[@]}" cat /var/lib/cloud/data/instance-id)" = "$VM_ID" ] ||
		die "cloud-init has another instance-id"
	shadow=$("${SSH[@]}" sudo getent shadow debian | cut -d: -f2)
	"$PY3" -W ignore -c 'import crypt,sys; sys.exit(0 if len(sys.argv[2]) > 3 and crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2] else 1)' \
		"$VM_PW" "$shadow" || die "debian's password is not the VM's password"
	good "debian's password in /etc/shadow is the VM's password ($VM_PW)"
	[ -e "$STATE/passwords/$VM_IP" ] && die "the password is still pending after cloud-init acknowledged it"
	good "cloud-init acknowledged the password (saved_password): the next boot gets none"
	timeline "$GUEST_MS"
else
# --- 7 ------------------------------------------------------------------------------
section "The VM boots: a guest namespace with the VM's MAC takes its lease"
nt_guest_create g1 "$VM_MAC"
G1=$(nt_ns g1)
say "guest  $G1: eth0 $VM_MAC, a port of the VR's eth1"
cmdline "ip netns exec $G1 udhcpc -f -q -n -i eth0 -O staticroutes -s <hook>"
nt_dhcp g1 5 || die "the guest got no lease"
lease() { nt_lease_get g1 "$1"; }
printf '    %-10s %s\n' "IP" "$(lease ip)/$(lease subnet)" "hostname" "$(lease hostname)" \
	"router" "$(lease router)" "DNS" "$(lease dns)" "domain" "$(lease domain)" \
	"lease" "$(lease lease) s (infinite)"
[ "$(lease ip)" = "$VM_IP" ] && [ "$(lease hostname)" = vm1 ] || die "the guest got the wrong lease"
[[ " $(lease staticroutes) " == *" 169.254.169.254/32 $ROUTER "* ]] || die "no route to 169.254.169.254"
nt_lease_apply g1 || die "cannot apply the lease in the guest"
good "the guest got the IP vr-manager allocated, its hostname, and a route to 169.254.169.254"

# --- 8 ------------------------------------------------------------------------------
section "cloud-init in the guest: Debian's DataSourceCloudStack.get_data()"
cmdline "ip netns exec $G1 /usr/bin/python3 tests/lib/ci_guest.py cloudstack --tmp …"
nt_exec g1 "$PY3" "$ROOT/tests/lib/ci_guest.py" cloudstack --tmp "$D/ci" >"$D/ci.json" 2>"$D/ci.err" ||
	die "cloud-init's CloudStack datasource failed"
cif() { "$PY3" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$D/ci.json" "$1"; }
[ "$(cif 'j["get_data"]')" = True ] || die "get_data() returned False"
printf '    %-18s %s\n' "found the VR at" "$(cif 'j["metadata_address"]')" \
	"instance-id" "$(cif 'j["instance_id"]')" "hostname" "$(cif 'j["hostname"]')" \
	"availability zone" "$(cif 'j["availability_zone"]')" \
	"public keys" "$(cif '", ".join(k[:40] + "…" for k in j["public_keys"])')" \
	"user data" "$(cif 'repr(__import__("base64").b64decode(j["userdata_b64"]).decode())')" \
	"password" "$(cif 'j["password"]')" \
	"service offering" "$(cif 'j["metadata"].get("service-offering")')"
[ "$(cif 'j["instance_id"]')" = "$VM_ID" ] || die "cloud-init got another instance-id"
[ "$(cif 'j["password"]')" = "$VM_PW" ] || die "cloud-init did not get the VM's password"
[ "$(cif '__import__("base64").b64decode(j["userdata_b64"]).decode()')" = "$(printf '#cloud-config\npackages: [htop]')" ] ||
	die "cloud-init got other user data"
good "cloud-init got the VM's instance-id, hostname, SSH key, user data and password ($VM_PW)"
[ -e "$STATE/passwords/$VM_IP" ] && die "the password is still pending after cloud-init acknowledged it"
good "cloud-init acknowledged the password (saved_password): the next boot gets none"
fi

# --- 9 ------------------------------------------------------------------------------
section "Destroy the VM (destroyVirtualMachine): everything is given back"
api --wait "$MGR_URL" alice-key alice-secret destroyVirtualMachine "id=$VM_ID" >"$D/destroy.json" ||
	{ indent <"$D/destroy.json"; die "destroy failed"; }
"$PY3" -c 'import json,sys; r=json.load(open(sys.argv[1]))["queryasyncjobresultresponse"]
print("    " + "   ".join("%s %.2f ms" % (s["name"], s["durationms"]) for s in r["stages"]))' "$D/destroy.json"
[ "$(vrctl vms --json | "$PY3" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] ||
	die "vrd still knows the VM"
api "$MGR_URL" admin-key admin-secret listCapacity | "$PY3" -c 'import json,sys
for c in json.load(sys.stdin)["listcapacityresponse"]["capacity"]:
    print("    capacity type %d: %d used of %d" % (c["type"], c["capacityused"], c["capacitytotal"]))
    assert c["capacityused"] == 0, c' || die "capacity was not given back"
good "VR entries removed, ROOT volume deleted, domain undefined, capacity back to 0"

for pid in "$MGR_PID" "$MD_PID" "$VRD_PID"; do
	nt_stop "$pid" 10
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	nt__forget_pid "$pid"
	[ "$rc" = 0 ] || die "a daemon (pid $pid) exited with status $rc on SIGTERM"
done
if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
    "$D/vrd.log" "$D/vr-manager.log" "$D/vr-metadata.log"; then
	die "sanitizer report in a daemon's stderr"
fi
good "vr-manager, vr-metadata and vrd stop on SIGTERM with status 0"

# --- 10 -----------------------------------------------------------------------------
section "Next"
say "More: tests/integration/mgr_*.sh (signing, 200 concurrent deployments, failures at each"
say "stage, restart recovery), docs/manager.md, docs/performance.md."

trap - ERR
T1=$(ms)
printf '\n%sdemo OK%s in %d.%03d s; cleaning up (namespaces, vrd, dnsmasq, %s)\n' "$B$GRN" "$RST" \
	$(((T1 - T0) / 1000)) $(((T1 - T0) % 1000)) "$D"
exit 0
