#!/usr/bin/env bash
# tests/integration/hostile.sh - a hostile tenant on the victim's own guest
# network.  vrd (--manage-links yes: it owns the guest interface, its
# addresses, neighbour entries and nftables table), the real dnsmasq and
# vr-metadata run in a VR namespace; the victim and the attacker are guests
# on the same bridge.  Each attack is played as a guest with root would play
# it, and the test checks what the attacker gets (nothing of the victim's)
# and what the victim keeps (its lease, name, metadata and password).
#
#   1. names: the attacker's entry named data-server, localhost, the router's
#      own name (400) or the victim's name (409, any case) is refused and
#      changes nothing; a DHCP client asking for the name data-server does
#      not get it; cloud-init's own get_vr_address() in the victim finds the
#      router, and data-server resolves to the router alone, every time.
#   2. address spoofing: the attacker takes the victim's IPv4 as its own
#      (victim up, and victim down) and sends gratuitous ARP for it: the
#      router's neighbour entry stays the victim's MAC, the attacker's
#      metadata, password (send_my_password and saved_password) and DNS
#      requests get no answer (refused at once), and the victim still gets its password.  The
#      bindings follow the batches (a removed VM's go, a failed batch changes
#      none) and are rebuilt from the state directory when vrd restarts.
#   3. DHCP abuse: DHCPDECLINE of the victim's address (own MAC, and the
#      victim's chaddr), DHCPRELEASE of the victim's lease (victim's chaddr),
#      DISCOVER as the victim, and a DECLINE whose type option is not first
#      never reach dnsmasq (its log); a RELEASE with the attacker's own MAC
#      and the victim's client identifier does, and releases nothing (dnsmasq
#      ignores client identifiers); the victim keeps and renews its lease;
#      the attacker's own RELEASE of its own lease does reach dnsmasq.
#   4. state the VR cannot read back: two vmdata batches within every
#      per-value limit that would grow a document past VM_DOC_MAX: the second
#      is 413 with nothing written; unloadable files planted in the state
#      directory (a corrupt document, one over the limit, a broken journal)
#      do not stop vrd or vr-metadata: moved aside, counted in /metrics and
#      /v1/state, and the victim is still served.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"

PY3=/usr/bin/python3
CI="$VT_LIB/ci_guest.py"
L2="$VT_LIB/l2_attack.py"
vt_need --root "network namespaces" dnsmasq udhcpc ip nft

vt_init
nt_init
nt_on_cleanup vt_cleanup

ROUTER=10.1.1.1
MDIP=169.254.169.254
MACV=02:00:4c:5f:20:01 IPV=10.1.1.101 HOSTV=victim     # the victim
MACA=02:00:4c:5f:20:02 IPA=10.1.1.102 HOSTA=mallory    # the attacker
MACN=02:00:4c:5f:20:03 IPN=10.1.1.103                  # a VM pushed and removed
PWV='Victim-Pw-9q2Zx'
IIDV=11111111-2222-4333-8444-555555555555
F="$VT_TMP/files"
mkdir -p "$F"

entry() { # FILE HOST MAC IP REMOVE
	cat >"$F/$1" <<EOF
{"host_name":"$2","mac_address":"$3","ipv4_address":"$4","ipv6_address":null,"ipv6_duid":null,
 "dns_addresses":"$ROUTER","default_gateway":"$ROUTER","static_routes":null,"default_entry":true,
 "remove":$5,"lease_time":null,"type":"dhcpentry","delete_from_processed_cache":false}
EOF
}
cat >"$F/net.json" <<EOF
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44","router_guest_ip":"$ROUTER",
 "cidr":"10.1.1.0/24","dns":"$ROUTER","domain_name":"cloud.internal","add":true}
EOF
entry victim.json "$HOSTV" "$MACV" "$IPV" false
entry mallory.json "$HOSTA" "$MACA" "$IPA" false
entry third.json third "$MACN" "$IPN" false
entry third-rm.json third "$MACN" "$IPN" true
printf '{"ip_address":"%s","password":"%s","type":"vmpassword"}\n' "$IPV" "$PWV" >"$F/pwv.json"
printf '{"vm_ip_address":"%s","type":"vmdata","vm_metadata":[["metadata","instance-id","%s"],["metadata","local-hostname","%s"],["metadata","availability-zone","zone-1"],["userdata","user-data","%s"]]}\n' \
	"$IPV" "$IIDV" "$HOSTV" "$(printf '#cloud-config\n# victim-ud-marker\n' | base64 -w0)" >"$F/mdv.json"

# --- topology ---------------------------------------------------------------------------
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
nt_guest_create victim "$MACV"
nt_guest_create mallory "$MACA"
GV=$(nt_ns victim) GA=$(nt_ns mallory)

vrd_new v "$VR"
H=${VRD_HOME[v]}
STATE=${VRD_STATE[v]}
DM_PIDFILE="$H/dnsmasq.pid" DM_LEASES="$H/dnsmasq.leases" DM_LOG="$H/dnsmasq.log"
VRD_ARGS=(--manage-links yes --metadata-user nobody --dnsmasq-pid-file "$DM_PIDFILE"
	--dnsmasq-lease-file "$DM_LEASES")
if ! vrd_start v "${VRD_ARGS[@]}"; then
	fail "vrd starts in the VR namespace (--manage-links yes)"
	vt_finish
fi
ok "vrd starts in the VR namespace (--manage-links yes)"
MPORT=$(vt_free_port v)
md_new m "$VR"
if ! md_start m --state-dir "$STATE" --user nobody --listen "$MDIP:80" --listen "$ROUTER:80" \
    --listen "127.0.0.1:$MPORT"; then
	fail "vr-metadata starts"
	md_finish
fi

# state_sum: everything vrd keeps (files and kernel bindings) in one line
state_sum() {
	{
		tree_hash "$STATE"
		ip netns exec "$VR" nft list table inet vrd_guard 2>&1
		ip -n "$VR" neigh show nud permanent 2>&1 | sort
	} | sha256sum | cut -c1-16
}
# refused DESC STATUS FIELD FILE...: the batch is refused with STATUS/FIELD and changes nothing
refused() {
	local desc=$1 want=$2 field=$3 before after
	shift 3
	before=$(state_sum)
	"$VT_PY" -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[2:]], open(sys.argv[1], "w"))' \
		"$F/batch.json" "$@"
	vt_http v POST /v1/commands --body-file "$F/batch.json"
	check_eq "$desc: $want on $field" "$want $field" \
		"$HTTP_STATUS $(vt_json "$HTTP_BODY_FILE" 'j.get("field")' 2>&1)"
	after=$(state_sum)
	check_eq "$desc: nothing changed (state directory, nftables table, neighbour entries)" "$before" "$after"
}
push() {
	local desc=$1 out
	shift
	if out=$(vt_vrctl v apply "$@" 2>&1); then
		ok "push $desc"
	else
		fail "push $desc" "$out"
	fi
}
bindings() { ip netns exec "$VR" nft list set inet vrd_guard bindings 2>&1 | tr -d ' \t\n'; }
# sets: the elements of the three sets as the kernel lists them, sorted
sets() {
	local s
	for s in bindings dhcp_macs dhcp_declines; do
		ip netns exec "$VR" nft list set inet vrd_guard "$s" 2>&1 | tr -d ' \t\n' |
			sed 's/.*elements={//; s/}.*//' | tr ',' '\n' | sort | sed "s/^/$s /"
	done
}
neigh_of() { ip -n "$VR" neigh show "$1" dev eth1 2>&1; }

push "the guest network" "$F/net.json"
nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp ||
	fail "dnsmasq starts" "$(cat "$DM_LOG")"
push "victim and attacker entries, the victim's password and metadata" \
	"$F/victim.json" "$F/mallory.json" "$F/pwv.json" "$F/mdv.json"
nt_dnsmasq_sync
check "the nftables table inet vrd_guard holds both bindings" \
	grep -q "$IPV.$MACV.*$IPA.$MACA\|$IPA.$MACA.*$IPV.$MACV" <<<"$(bindings)"
check_eq "the victim's address has a permanent neighbour entry with its MAC" \
	"$IPV lladdr $MACV PERMANENT" "$(neigh_of "$IPV" | sed 's/ *$//')"

for g in victim mallory; do
	if nt_dhcp "$g" 5 && nt_lease_apply "$g"; then
		ok "$g takes its lease ($(nt_lease_get "$g" ip))"
	else
		fail "$g takes its lease" "$(tail -n 20 "$DM_LOG")"
	fi
done
check_eq "the victim's lease is its address" "$IPV" "$(nt_lease_get victim ip)"

# --- 1. names ---------------------------------------------------------------------------
for name in data-server Data-Server localhost wpad; do
	entry bad.json "$name" "$MACA" "$IPA" false
	refused "1: the attacker's entry renamed $name" 400 host_name "$F/bad.json"
done
SELF=$(hostname -s)
entry bad.json "$SELF" "$MACA" "$IPA" false
refused "1: the attacker's entry named as the router ($SELF)" 400 host_name "$F/bad.json"
for name in "$HOSTV" VICTIM; do
	entry bad.json "$name" "$MACA" "$IPA" false
	refused "1: the attacker's entry renamed $name (the victim's name)" 409 host_name "$F/bad.json"
done
entry bad.json "$HOSTV" "$MACN" "$IPN" false
refused "1: a new VM named as the victim, in a batch with a valid entry first" 409 host_name \
	"$F/third.json" "$F/bad.json"
# the attacker's DHCP client asks for the name data-server (option 12)
if nt_dhcp mallory 5 -x hostname:data-server -F data-server && nt_lease_apply mallory; then
	ok "1: the attacker renews asking for the name data-server"
else
	fail "1: the attacker renews asking for the name data-server" "$(tail -n 20 "$DM_LOG")"
fi
answers=$(for i in 1 2 3 4 5 6 7 8; do
	nt_exec victim "$PY3" -c 'import socket; print(" ".join(sorted(set(a[4][0] for a in socket.getaddrinfo("data-server", 80, socket.AF_INET)))))'
done | sort | uniq -c | awk '{print $2 "x" $1}')
check_eq "1: data-server resolves to the router alone, 8 times out of 8" "${ROUTER}x8" "$answers"
J="$VT_TMP/vraddr.json"
nt_exec victim "$PY3" "$CI" vr-address >"$J" 2>"$J.err"
check_eq "1: cloud-init's get_vr_address() in the victim finds the router" "$ROUTER $ROUTER" \
	"$(vt_json "$J" '"%s %s" % (j["data_server"], j["vr_address"])' 2>&1)"
check "1: dnsmasq never gave the name data-server to a lease" \
	bash -c "! grep -iq 'data-server' '$DM_LEASES'"

# --- 2. address spoofing -----------------------------------------------------------------
# req NS SRC HOST PORT METHOD PATH ...: one request with a short timeout
req() { mreq "$@" --timeout 2; }
req "$GV" "$IPV" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "2: the victim reads its instance id" "200 $IIDV" "$R_STATUS $R_BODY"
ip -n "$GA" addr add "$IPV/24" dev eth0
nt_exec mallory "$PY3" "$L2" garp --ifname eth0 --src-mac "$MACA" --ip "$IPV" --count 3 >/dev/null
check_eq "2: after the attacker's gratuitous ARP the router still binds the victim's address to its MAC" \
	"$IPV lladdr $MACV PERMANENT" "$(neigh_of "$IPV" | sed 's/ *$//')"
for hp in "$MDIP 80 /latest/meta-data/instance-id" "$ROUTER 80 /latest/user-data"; do
	set -- $hp
	req "$GA" "$IPV" "$1" "$2" GET "$3"
	check_eq "2: the attacker as $IPV gets no answer from $1:$2$3" "000" "$R_STATUS"
done
req "$GA" "$IPV" "$ROUTER" 8080 GET / -H "DomU_Request: send_my_password"
check_eq "2: the attacker as $IPV gets no answer from the password server" "000" "$R_STATUS"
req "$GA" "$IPV" "$ROUTER" 8080 GET / -H "DomU_Request: saved_password"
check_eq "2: the attacker's saved_password as $IPV gets no answer" "000" "$R_STATUS"
check "2: ... and the victim's password is still pending" test -s "$STATE/passwords/$IPV"
dns=$(nt_exec mallory "$PY3" - "$IPV" "$ROUTER" <<'EOF' 2>&1
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(2)
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x06victim\x00\x00\x01\x00\x01"
s.sendto(q, (sys.argv[2], 53))
try:
    print("answered %d bytes" % len(s.recv(512)))
except OSError:  # a timeout, or the ICMP error of the refusal
    print("no answer")
EOF
)
check_eq "2: the attacker's DNS query as $IPV gets no answer" "no answer" "$dns"
ip -n "$GV" link set eth0 down
req "$GA" "$IPV" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "2: with the victim down, the attacker as $IPV still gets nothing" "000" "$R_STATUS"
ip -n "$GV" link set eth0 up
ip -n "$GA" addr del "$IPV/24" dev eth0
nt_lease_apply victim
req "$GA" "$IPA" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "2: the attacker as itself gets its own 404 (no metadata), not a timeout" "404" "$R_STATUS"
J="$VT_TMP/cs-victim.json"
nt_exec victim "$PY3" "$CI" cloudstack --tmp "$VT_TMP/ci-victim" >"$J" 2>"$J.err" ||
	diag "ci_guest.py: $(tail -n 20 "$J.err")"
check_eq "2: the victim's cloud-init gets its instance, user data and password" \
	"True $IIDV $PWV True" \
	"$(vt_json "$J" '"%s %s %s %s" % (j["get_data"], j.get("instance_id"), j.get("password"), "victim-ud-marker" in __import__("base64").b64decode(j.get("userdata_b64") or "").decode())' 2>&1)"
nft_before=$(bindings)
sets_before=$(sets)
check_eq "2: the bindings a batch added (libnftnl) are 2 per set" "2 2 2" \
	"$(for s in bindings dhcp_macs dhcp_declines; do grep -c "^$s " <<<"$sets_before"; done | xargs)"
push "a third VM" "$F/third.json"
check "2: its binding is added with the batch" grep -q "$IPN.$MACN" <<<"$(bindings)"
check_eq "2: and its neighbour entry" "$IPN lladdr $MACN PERMANENT" "$(neigh_of "$IPN" | sed 's/ *$//')"
entry bad.json "$HOSTV" "$MACN" "$IPN" false
refused "2: a failed batch removing the third VM, then failing" 409 host_name "$F/third-rm.json" \
	"$F/mallory.json" "$F/bad.json"
push "the third VM's removal" "$F/third-rm.json"
check_eq "2: a removed VM's binding goes with its entry" "$nft_before" "$(bindings)"
check_eq "2: and its neighbour entry" "" "$(neigh_of "$IPN")"
# vrd restarts with its table deleted and a stale permanent entry behind
vrd_stop v >/dev/null
ip netns exec "$VR" nft delete table inet vrd_guard
ip -n "$VR" neigh replace "$IPN" lladdr "$MACA" dev eth1 nud permanent
if vrd_start v "${VRD_ARGS[@]}"; then
	ok "2: vrd restarts"
else
	fail "2: vrd restarts"
fi
check_eq "2: the bindings are rebuilt from the state directory at start" "$nft_before" "$(bindings)"
check_eq "2: the elements batches added read back as the rebuild from the script writes them" \
	"$sets_before" "$(sets)"
check_eq "2: a permanent entry no VM holds is removed at start" "" "$(neigh_of "$IPN")"
check_eq "2: the victim's entry is back" "$IPV lladdr $MACV PERMANENT" "$(neigh_of "$IPV" | sed 's/ *$//')"
# the table deleted behind vrd's back: the next batch is refused with nothing
# stored, the table is rebuilt at once, and the same batch then goes through
metric() { vt_http v GET /metrics && sed -n "s/^$1 //p" "$HTTP_BODY_FILE"; }
gf0=$(metric vrd_guard_failures_total)
files0=$(tree_hash "$STATE")
ip netns exec "$VR" nft delete table inet vrd_guard
vt_http v POST /v1/commands --body-file "$F/third.json"
check_eq "2: a batch finding the table gone: 500, address bindings named" "500 true" \
	"$HTTP_STATUS $(vt_json "$HTTP_BODY_FILE" '"address bindings" in j.get("error", "")' 2>&1)"
check_eq "  ... nothing stored" "$files0" "$(tree_hash "$STATE")"
check_eq "  ... counted in vrd_guard_failures_total" "$((gf0 + 1))" "$(metric vrd_guard_failures_total)"
check_eq "  ... and the table rebuilt from the state at once" "$sets_before" "$(sets)"
push "the same batch again" "$F/third.json"
check "  ... its binding is in force" grep -q "$IPN.$MACN" <<<"$(bindings)"
push "the third VM's removal again" "$F/third-rm.json"
check_eq "  ... and gone with it" "$sets_before" "$(sets)"

# --- 3. DHCP abuse ---------------------------------------------------------------------
attack() { nt_exec mallory "$PY3" "$L2" dhcp --ifname eth0 --src-mac "$MACA" "$@" >/dev/null; }
# dnsmasq_saw PATTERN: dnsmasq's log has a line matching PATTERN (after a
# marker line from the attacker's own request, so the log is known to be read)
nlines=$(wc -l <"$DM_LOG")
attack --type decline --chaddr "$MACA" --requested "$IPV" --server "$ROUTER"
attack --type decline --chaddr "$MACV" --requested "$IPV" --server "$ROUTER"
attack --type release --chaddr "$MACV" --ciaddr "$IPV" --server "$ROUTER"
attack --type release --chaddr "$MACA" --clid "$MACV" --ciaddr "$IPV" --src-ip 0.0.0.0 --server "$ROUTER"
attack --type discover --chaddr "$MACV"
attack --type decline --chaddr "$MACA" --requested "$IPV" --server "$ROUTER" --type-option-late
attack --type decline --chaddr "$MACA" --requested "$IPA" --server "$ROUTER" --type-option-late
# the control: the attacker releases its own lease, which dnsmasq must log
attack --type release --chaddr "$MACA" --ciaddr "$IPA" --src-ip "$IPA" --server "$ROUTER"
log_since() { tail -n +"$((nlines + 1))" "$DM_LOG" | grep -q "$1"; }
if nt_wait_for 5 log_since "DHCPRELEASE(eth1) $IPA $MACA"; then
	ok "3: the attacker's release of its own lease reaches dnsmasq (the control)"
else
	fail "3: the attacker's release of its own lease reaches dnsmasq" "$(tail -n 20 "$DM_LOG")"
fi
seen=$(tail -n +"$((nlines + 1))" "$DM_LOG" | grep -E "DHCPDECLINE|DHCPDISCOVER|disabling|DHCPRELEASE\(eth1\) $IPV $MACV" | head -5)
check_eq "3: no forged DECLINE, RELEASE or DISCOVER reached dnsmasq" "" "$seen"
check "3: the victim's lease is still in dnsmasq's lease file" grep -q " $MACV $IPV " "$DM_LEASES"
if nt_dhcp victim 5 && [ "$(nt_lease_get victim ip)" = "$IPV" ]; then
	ok "3: the victim takes its address again after the attacks"
else
	fail "3: the victim takes its address again after the attacks" "$(tail -n 20 "$DM_LOG")"
fi
nt_lease_apply victim
drops=$(ip netns exec "$VR" nft list chain inet vrd_guard dhcp |
	awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }')
check "3: the guard's DHCP chain counted the dropped messages (${drops:-0})" test "${drops:-0}" -ge 5

# --- 4. state the VR cannot read back ---------------------------------------------------
"$VT_PY" - "$F" "$IPV" <<'EOF'
import json, sys
d, ip = sys.argv[1], sys.argv[2]
v = "v" * (250 * 1024)
for n, keys in ((1, range(0, 20)), (2, range(20, 40))):
    md = [["metadata", "big-%d" % k, v] for k in keys]
    json.dump({"type": "vmdata", "vm_ip_address": ip, "vm_metadata": md}, open("%s/grow%d.json" % (d, n), "w"))
EOF
push "4: the first vmdata of twenty 250 KiB values (within every limit)" "$F/grow1.json"
before=$(state_sum)
vt_http v POST /v1/commands --body-file "$F/grow2.json"
check_eq "4: the second, which would make the document over 8 MiB: 413 on vm_metadata" \
	"413 vm_metadata 0" "$HTTP_STATUS $(vt_json "$HTTP_BODY_FILE" '"%s %s" % (j.get("field"), j.get("index"))' 2>&1)"
check_eq "4: nothing changed" "$before" "$(state_sum)"
req "$GV" "$IPV" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "4: the victim is still served" "200 $IIDV" "$R_STATUS $R_BODY"
# unloadable files planted while everything is stopped
vrd_stop v >/dev/null
md_stop m >/dev/null
printf '{not json' >"$STATE/vms/10.1.1.7.json"
head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$STATE/vms/10.1.1.8.json"
printf 'VRDJ1 9\nW 1 10.1.1.9.json 5\nhel' >"$STATE/journal"
if vrd_start v "${VRD_ARGS[@]}"; then
	ok "4: vrd starts with a corrupt document, one over the limit and a broken journal"
else
	fail "4: vrd starts with unloadable files in its state directory"
fi
vt_http v GET /v1/state
check_eq "4: /v1/state counts 3 files moved aside" 3 "$(vt_json "$HTTP_BODY_FILE" 'j["quarantined"]' 2>&1)"
vt_http v GET /metrics
check "4: /metrics counts them" grep -q '^vrd_state_quarantined_total 3$' "$HTTP_BODY_FILE"
check_eq "4: they are in quarantine/, not where readers look" \
	"top-journal vms-10.1.1.7.json vms-10.1.1.8.json" "$(ls "$STATE/quarantine" | tr '\n' ' ' | sed 's/ $//')"
# vr-metadata meets a corrupt document of its own
md_start m --state-dir "$STATE" --user nobody --listen "$MDIP:80" --listen "$ROUTER:80" \
    --listen "127.0.0.1:$MPORT" || fail "4: vr-metadata restarts"
printf '{"ip": "10.1.1.9", "mac": ' >"$STATE/vms/10.1.1.9.json"
nt_wait_for 5 grep -q "vms/10.1.1.9.json" "${MD_LOG[m]}" || true
mreq "$VR" 127.0.0.1 127.0.0.1 "$MPORT" GET /metrics
check "4: vr-metadata counts the document it cannot load" \
	grep -q '^vr_metadata_documents_unreadable_total [1-9]' "$MD_REQ_DIR/body"
req "$GV" "$IPV" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "4: the victim is still served" "200 $IIDV" "$R_STATUS $R_BODY"
rm -f "$STATE/vms/10.1.1.9.json"

# --- a batch whose bindings outgrow the netlink socket's buffer ---------------------------
# 5,000 VMs in one batch: one nf_tables transaction of about 600 KB (the
# socket's default send buffer holds about 200 KB), all bound, then all gone
# (eth1 is a veth: this kernel may have no dummy driver)
BIG="vrbig$$"
if vt_netns_add "$BIG" && ip -n "$BIG" link add eth1 type veth peer name eth1p &&
    ip -n "$BIG" link set eth1p up && ip -n "$BIG" link set eth1 up; then
	vrd_new b "$BIG"
	if vrd_start b --manage-links yes --metadata-user nobody; then
		"$VT_PY" - "$F" <<'PY'
import json, sys
d = sys.argv[1]
net = {"type": "guestnetwork", "device": "eth1", "mac_address": "02:00:11:22:33:55",
       "router_guest_ip": "10.20.0.1", "cidr": "10.20.0.0/16", "dns": "10.20.0.1",
       "domain_name": "cloud.internal", "add": True}
json.dump([net], open(d + "/big-net.json", "w"))
def entries(remove):
    return [{"host_name": "b%d" % i, "mac_address": "02:01:00:00:%02x:%02x" % (i >> 8, i & 255),
             "ipv4_address": "10.20.%d.%d" % (1 + i // 250, 2 + i % 250), "default_entry": True,
             "remove": remove, "type": "dhcpentry"} for i in range(5000)]
json.dump(entries(False), open(d + "/big-add.json", "w"))
json.dump(entries(True), open(d + "/big-rm.json", "w"))
PY
		nbound() { ip netns exec "$BIG" nft list set inet vrd_guard "$1" | grep -o '02:01:00:00:' | wc -l; }
		vt_http b POST /v1/commands --body-file "$F/big-net.json"
		vt_http b POST /v1/commands --body-file "$F/big-add.json"
		check_eq "a batch of 5,000 VMs: 200" 200 "$HTTP_STATUS"
		[ "$HTTP_STATUS" = 200 ] || diag "$(head -c 500 "$HTTP_BODY_FILE"; tail -n 8 "${VRD_HOME[b]}/vrd.log")"
		check_eq "  ... every one bound in each set (bindings, dhcp_macs, dhcp_declines)" "5000 5000 5000" \
			"$(nbound bindings) $(nbound dhcp_macs) $(nbound dhcp_declines)"
		check_eq "  ... and every one has its permanent neighbour entry" 5000 \
			"$(ip -n "$BIG" neigh show nud permanent dev eth1 | grep -c '02:01:00:00:')"
		vt_http b POST /v1/commands --body-file "$F/big-rm.json"
		check_eq "their removal in one batch: 200, no binding and no entry left" "200 0 0" \
			"$HTTP_STATUS $(nbound bindings) $(ip -n "$BIG" neigh show nud permanent dev eth1 | grep -c '02:01:00:00:')"
	else
		fail "vrd[b] starts in $BIG"
	fi
else
	fail "network namespace $BIG with a veth eth1"
fi

md_finish
