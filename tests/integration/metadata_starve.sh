#!/usr/bin/env bash
# tests/integration/metadata_starve.sh - issue 11, class 5: a hostile tenant
# hoarding connections must not starve another guest of its metadata and
# password (docs/reliability.md).
#
#   VR netns: eth1 (bridge; vrd puts 10.1.1.1/24 and 169.254.169.254/32 on it),
#             vrd, the real dnsmasq, vr-metadata under a descriptor limit of
#             1024 (systemd's default; prlimit) on 169.254.169.254:80,
#             10.1.1.1:80 and loopback, password server on :8080 of each
#   victim    10.1.1.101 by DHCP, a known VM with user data and a password
#   attacker  40 known VMs (10.1.1.150-189, a macvlan each with its own MAC:
#             vrd's address bindings refuse an address without its VM's MAC),
#             played by one namespace, holding (tests/lib/md_hog.py) 3,000 idle
#             connections and 300 slowloris ones (one header byte a second) to
#             10.1.1.1:80, 10.1.1.1:8080 and 169.254.169.254:80, reopening each
#             as soon as the server closes it
# Checks, while the hog presses:
#   - vr-metadata sizes its listeners under the descriptor limit (its log and
#     /metrics), and the attack fills them (open connections near the budget)
#   - the victim's real cloud-init (DataSourceCloudStack.get_data(), which finds
#     the router through dnsmasq's data-server name) gets its instance id,
#     hostname, keys, exact user data and password, and acknowledges it
#     (passwords/<ip> removed); then cloud-init's EC2 crawl over
#     169.254.169.254 gets every key and the user data, three times over
#   - idle connections were evicted for it (vr_metadata_connections_evicted_total
#     and the hog's count of server closes)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"

PY3=/usr/bin/python3
CI="$VT_LIB/ci_guest.py"
HOG="$VT_LIB/md_hog.py"
vt_need dnsmasq udhcpc ip wget prlimit
if ! "$PY3" -c 'import cloudinit.sources.DataSourceCloudStack' 2>/dev/null; then
	echo "not ok - Debian's cloud-init is installed for $PY3 (apt-get install cloud-init)"
	exit 1
fi
if [ ! -x "$MD_BIN" ] || [ "$(id -u)" != 0 ]; then
	echo "not ok - $MD_BIN exists (run make) and the test runs as root"
	exit 1
fi

vt_init
nt_init
nt_on_cleanup vt_cleanup
T_START=$SECONDS

ROUTER=10.1.1.1
MDIP=169.254.169.254
MACV=02:00:4c:5f:30:01 IPV=10.1.1.101 HOSTV=vm-victim
MACA=02:00:4c:5f:30:66 IPA=10.1.1.150 HOSTA=vm-attacker
IIDV=7d0e3c1a-1111-4c2e-9a55-5a5a5a5a5a5a
IIDA=0a0a0a0a-2222-4c2e-9a55-a0a0a0a0a0a0
PWV='Victim-Pw-4q8Lz'
KEYV="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVictimKeyVictimKeyVictimKeyVictimKey01 victim@desk"
IDLE=${MD_STARVE_IDLE:-3000}
SLOW=${MD_STARVE_SLOW:-300}

F="$VT_TMP/files"
mkdir -p "$F"
printf '#cloud-config\n# victim-ud-marker\nruncmd:\n  - [echo, "victim"]\n' >"$F/udv"
entry() { # FILE HOST MAC IP
	cat >"$F/$1" <<EOF
{"host_name":"$2","mac_address":"$3","ipv4_address":"$4","default_entry":true,"remove":false,
 "lease_time":null,"type":"dhcpentry"}
EOF
}
cat >"$F/net.json" <<EOF
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44","router_guest_ip":"$ROUTER",
 "cidr":"10.1.1.0/24","dns":"$ROUTER","domain_name":"cloud.internal","add":true}
EOF
entry vmv.json "$HOSTV" "$MACV" "$IPV"
entry vma.json "$HOSTA" "$MACA" "$IPA"
"$VT_PY" -c 'import base64, json, sys
ud = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
json.dump({"type": "vmdata", "vm_ip_address": sys.argv[2], "vm_metadata": [
  ["userdata", "user-data", ud], ["metadata", "instance-id", sys.argv[3]],
  ["metadata", "local-hostname", sys.argv[4]], ["metadata", "availability-zone", "zone-s"],
  ["metadata", "public-keys", sys.argv[5]]]}, open(sys.argv[6], "w"))' \
	"$F/udv" "$IPV" "$IIDV" "$HOSTV" "$KEYV" "$F/mdv.json"
printf '{"type":"vmdata","vm_ip_address":"%s","vm_metadata":[["metadata","instance-id","%s"]]}\n' \
	"$IPA" "$IIDA" >"$F/mda.json"
printf '{"ip_address":"%s","password":"%s","type":"vmpassword"}\n' "$IPV" "$PWV" >"$F/pwv.json"

# --- topology, vrd, dnsmasq, vr-metadata -----------------------------------------------
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
nt_guest_create victim "$MACV"
nt_guest_create attacker "$MACA"
vrd_new v "$VR"
H=${VRD_HOME[v]}
STATE=${VRD_STATE[v]}
DM_PIDFILE="$H/dnsmasq.pid" DM_LOG="$H/dnsmasq.log"
if vrd_start v --manage-links yes --metadata-user nobody --dnsmasq-pid-file "$DM_PIDFILE" \
    --dnsmasq-lease-file "$H/dnsmasq.leases"; then
	ok "vrd starts in the VR namespace"
else
	fail "vrd starts in the VR namespace"
	vt_finish
fi
vt_vrctl v apply "$F/net.json" >/dev/null 2>&1 || fail "push the guest network"
if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG"; then
	ok "dnsmasq starts from vrd's dnsmasq.conf"
else
	fail "dnsmasq starts from vrd's dnsmasq.conf" "$(cat "$DM_LOG" 2>&1)"
	md_finish
fi
READS="read $STATE/(dhcpopts|dhcphosts\\.d/)" # a SIGHUP re-read, or an addition read through inotify
n=$(nt_dnsmasq_log_count "$READS")
if out=$(vt_vrctl v apply "$F/vmv.json" "$F/vma.json" "$F/mdv.json" "$F/mda.json" "$F/pwv.json" 2>&1); then
	ok "push the victim and the attacker VMs ($out)"
else
	fail "push the victim and the attacker VMs" "$out"
fi
nt_dnsmasq_sync >/dev/null && nt_dnsmasq_wait_log "$READS" "$n" 5 ||
	fail "dnsmasq re-read its files" "$(tail -n 15 "$DM_LOG")"

MPORT=$(vt_free_port v)
MD_WRAP=(prlimit --nofile=1024:1024 --)
md_new m "$VR"
md_start m --state-dir "$STATE" --user nobody --listen "$MDIP:80" --listen "$ROUTER:80" \
	--listen "127.0.0.1:$MPORT" || { fail "vr-metadata starts under a 1024-descriptor limit"; md_finish; }
ok "vr-metadata starts under a 1024-descriptor limit (prlimit)"
check_eq "vr-metadata's descriptor limit is 1024" 1024 \
	"$(awk '/^Max open files/ {print $4}' "/proc/${MD_PID[m]}/limits")"
diag "$(grep -m1 'connections:' "${MD_LOG[m]}")"
metric() { # NAME{LABELS}: its value on vr-metadata's /metrics (empty if absent)
	mreq "$VR" 127.0.0.1 127.0.0.1 "$MPORT" GET /metrics >/dev/null
	awk -v k="$1" '$1 == k {print $2}' "$MD_REQ_DIR/body"
}
BUDGET=$(metric vr_metadata_connection_budget)
if [ -n "$BUDGET" ] && [ "$BUDGET" -ge 64 ] && [ $((6 * BUDGET)) -lt 1024 ]; then
	ok "six listeners of $BUDGET connections each fit under 1024 descriptors"
else
	fail "six listeners' connection budgets fit under 1024 descriptors" "budget '${BUDGET}'"
fi

# --- guests ---------------------------------------------------------------------------
if nt_dhcp victim 5 && nt_lease_apply victim; then
	ok "the victim gets its lease ($(nt_lease_get victim ip)) and applies it"
else
	fail "the victim gets its lease and applies it" "$(tail -n 20 "$DM_LOG")"
fi
check_eq "the victim's lease is its pushed address" "$IPV" "$(nt_lease_get victim ip)"
# The attacker is 40 VMs: vrd binds each address to its entry's MAC and refuses
# anything else, so an address alone reaches nothing.  One namespace plays
# them all: a macvlan per VM with its own MAC and address, and a routing rule
# per address so that each VM's packets leave by its own MAC.
GA=$(nt_ns attacker)
SRCS=() ENTRIES=()
for i in $(seq 150 189); do
	dev=eth0                      # 10.1.1.150, the attacker VM pushed above
	if [ "$i" != 150 ]; then
		dev=mv$i
		mac=$(printf '02:00:4c:5f:31:%02x' "$i")
		ip -n "$GA" link add link eth0 name "$dev" address "$mac" type macvlan mode bridge
		ip -n "$GA" link set "$dev" up
		entry "hog$i.json" "hog$i" "$mac" "10.1.1.$i"
		ENTRIES+=("$F/hog$i.json")
	fi
	ip -n "$GA" addr add "10.1.1.$i/32" dev "$dev"
	ip -n "$GA" rule add from "10.1.1.$i" table "$i"
	ip -n "$GA" route add 10.1.1.0/24 dev "$dev" src "10.1.1.$i" table "$i"
	ip -n "$GA" route add "$MDIP/32" via "$ROUTER" dev "$dev" table "$i"
	SRCS+=(--src "10.1.1.$i")
done
if out=$(vt_vrctl v apply "${ENTRIES[@]}" 2>&1); then
	ok "push the attacker's 40 VMs (one MAC and address each) ($out)"
else
	fail "push the attacker's 40 VMs" "$out"
fi
check_eq "the attacker holds 40 addresses of the guest subnet, each behind its own MAC" 40 \
	"$(ip -n "$GA" -4 -o addr show | grep -cE ' (eth0|mv1[5-8][0-9]) +inet 10\.1\.1\.1[5-8][0-9]/32')"

# --- the hog --------------------------------------------------------------------------
READY="$VT_TMP/hog.ready" STATS="$VT_TMP/hog.stats"
nt_run_bg attacker prlimit --nofile=16384:16384 -- "$VT_PY" "$HOG" --target "$ROUTER:80" \
	--target "$ROUTER:8080" --target "$MDIP:80" "${SRCS[@]}" --idle "$IDLE" --slow "$SLOW" \
	--ready "$READY" --stats "$STATS" --duration 600
HOG_PID=$NT_LAST_PID
if nt_wait_for 60 test -s "$READY"; then
	ok "the attacker opened $IDLE idle and $SLOW slowloris connections from 40 addresses ($(cat "$READY"))"
else
	fail "the attacker opened its connections within 60 s" "$(cat "$READY" 2>&1)"
fi
# the listeners are full: the hog presses against every one of them
full() { [ "$(metric 'vr_metadata_connections_open{server="metadata"}')" -ge $((2 * BUDGET * 7 / 8)) ]; }
if nt_wait_for 30 full; then
	ok "the attack fills the metadata listeners ($(metric 'vr_metadata_connections_open{server="metadata"}') open, budget $BUDGET each)"
else
	fail "the attack fills the metadata listeners" "$(grep '^vr_metadata_conn' "$MD_REQ_DIR/body")"
fi

# ci NAME OUT ARGS...: ci_guest.py in a guest namespace, its JSON in OUT
ci() {
	local g=$1 out=$2
	shift 2
	nt_exec "$g" "$PY3" "$CI" "$@" >"$out" 2>"$out.err"
	vt_json "$out" 1 >/dev/null 2>&1 || fail "ci_guest.py $* in $g prints JSON" "$(tail -n 30 "$out.err")"
}
jq_() { vt_json "$1" "$2" 2>&1; }
UDV=$(base64 -w0 <"$F/udv")

T0=$SECONDS
J="$VT_TMP/cs.json"
ci victim "$J" cloudstack --tmp "$VT_TMP/ci-victim"
check_eq "during the attack: the victim's CloudStack get_data() finds the router and succeeds" \
	"true http://$ROUTER/" "$(jq_ "$J" '"%s %s" % (str(j["get_data"]).lower(), j["metadata_address"])')"
check_eq "  ... its instance id, hostname and key" "$IIDV $HOSTV [\"$KEYV\"]" \
	"$(jq_ "$J" '"%s %s %s" % (j.get("instance_id"), j.get("hostname"), json.dumps(j.get("public_keys")))')"
check_eq "  ... its user data, exact bytes" "$UDV" "$(jq_ "$J" 'j.get("userdata_b64")')"
check_eq "  ... its password (cloud-init's wget against $ROUTER:8080)" "$PWV" "$(jq_ "$J" 'j.get("password")')"
if [ -e "$STATE/passwords/$IPV" ]; then
	fail "  ... and the acknowledgement (saved_password) removed passwords/$IPV" "$(ls -l "$STATE/passwords/")"
else
	ok "  ... and the acknowledgement (saved_password) removed passwords/$IPV"
fi
diag "CloudStack sequence under attack: $((SECONDS - T0)) s"
for k in 1 2 3; do
	J="$VT_TMP/ec2-$k.json"
	ci victim "$J" ec2 --url "http://$MDIP/"
	check_eq "during the attack: cloud-init's EC2 crawl #$k over $MDIP: instance id, hostname, key, user data" \
		"$IIDV $HOSTV [\"$KEYV\"] $UDV" \
		"$(jq_ "$J" '"%s %s %s %s" % (j["metadata"].get("instance-id"), j["metadata"].get("local-hostname"), json.dumps(list((j["metadata"].get("public-keys") or {}).values())), j["userdata_b64"])')"
done
check "the hog still runs after the victim's sequences" kill -0 "$HOG_PID"
EV=$(metric 'vr_metadata_connections_evicted_total{server="metadata"}')
EVP=$(metric 'vr_metadata_connections_evicted_total{server="password"}')
diag "evicted: metadata $EV, password $EVP; expired (header deadline): $(metric 'vr_metadata_connections_expired_total{server="metadata"}')"
check "idle connections were evicted on the metadata listeners (vr_metadata_connections_evicted_total > 0)" \
	test "${EV:-0}" -gt 0
check "  ... and on the password listener" test "${EVP:-0}" -gt 0
nt_stop "$HOG_PID" 15
if nt_wait_for 10 test -s "$STATS"; then
	diag "hog: $(cat "$STATS")"
	check_eq "the hog saw its connections closed by the server" true \
		"$(jq_ "$STATS" 'str(j["closed_by_server"] > 0).lower()')"
else
	fail "the hog writes its totals on SIGTERM"
fi
mreq "$(nt_ns victim)" "$IPV" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "after the attack: the victim's instance-id" "200 $IIDV" "$R_STATUS $R_BODY"
check "vr-metadata still runs" md_alive m
diag "runtime $((SECONDS - T_START)) s"
md_finish
