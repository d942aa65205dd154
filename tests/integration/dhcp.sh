#!/usr/bin/env bash
# tests/integration/dhcp.sh - vrd, the real dnsmasq and busybox udhcpc in
# network namespaces (tests/lib/netns.sh).
#
# The VR namespace holds the bridge eth1 (guests' veths are its ports), vrd
# listening on 127.0.0.1 inside it (run as root with --manage-links yes) and
# dnsmasq started from vrd's generated dnsmasq.conf.  Each push goes through
# vrctl; afterwards dnsmasq is restarted if dnsmasq.conf changed (what the
# systemd path unit does in production) and the test waits until dnsmasq has
# re-read its files.  Checks:
#   - the guestnetwork push puts 10.1.1.1/24 and 169.254.169.254/32 on eth1 and
#     brings it up (the harness never adds them);
#   - a batch that only adds default entries reaches dnsmasq without a
#     SIGHUP: vrd writes their lines to dhcphosts.d/ and hosts.d/, dnsmasq
#     reads them through inotify (its log), its SIGHUP re-read and vrd's
#     reload count stay as they were, and the guests get their leases and
#     names (DNS A queries to the router); everything else (a non-default
#     NIC, a removal, an IP given to another MAC) compacts: the whole files,
#     both directories empty, one SIGHUP;
#   - g1 (default NIC) gets exactly the pushed IP and hostname, router, DNS,
#     domain and option 121 with 169.254.169.254/32 via the router, and can
#     reach 169.254.169.254 through that route;
#   - g3 (default_entry false) gets its IP but no router, DNS, domain or
#     classless routes; its tagged entry lives in dnsmasq.conf, never in the
#     SIGHUP-reloaded dhcphosts (dnsmasq 2.90 segfaults on SIGHUP otherwise);
#   - after remove: true for g2, dnsmasq drops g2's lease (DHCPRELEASE from
#     vrd) and a fresh udhcpc in g2 gets nothing;
#   - a new MAC (g4) pushed with g2's old IP gets that IP; a further MAC (g5)
#     pushed onto g4's IP takes it over directly, and g4 gets nothing;
#   - g1's and g3's running udhcpc, renewed before and after every change,
#     keep their IP (and g3 still no router) throughout;
#   - dnsmasq never crashed (alive at the end, every stopped instance exited
#     with 0, no crash in its log), and GET /v1/state reports reloads > 0.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

vt_need --root "network namespaces" dnsmasq udhcpc ip

vt_init
nt_init                    # replaces vt_init's traps: vrd.sh's cleanup rides on nt_cleanup
nt_on_cleanup vt_cleanup
T_START=$SECONDS

ROUTER=10.1.1.1
MAC1=02:00:4c:5f:00:01 IP1=10.1.1.101   # g1: default NIC, long-running udhcpc
MAC2=02:00:4c:5f:00:02 IP2=10.1.1.102   # g2: default NIC, removed later
MAC3=02:00:4c:5f:00:03 IP3=10.1.1.103   # g3: non-default NIC, long-running udhcpc
MAC4=02:00:4c:5f:00:04                  # g4: new MAC, gets IP2 after g2's removal
MAC5=02:00:4c:5f:00:05                  # g5: new MAC, takes IP2 over from g4

# --- topology -------------------------------------------------------------------
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
ip -n "$VR" link set eth1 down       # vrd must bring it up
nt_guest_create g1 "$MAC1"
nt_guest_create g2 "$MAC2"
nt_guest_create g3 "$MAC3"
nt_guest_create g4 "$MAC4"
nt_guest_create g5 "$MAC5"

eth1_addrs() { ip -n "$VR" -4 -o addr show dev eth1 | awk '{print $4}' | sort | tr '\n' ' '; }
check_eq "eth1 has no IPv4 address before the guestnetwork push" "" "$(eth1_addrs)"

# --- vrd in the VR namespace ------------------------------------------------------
vrd_new v "$VR"
H=${VRD_HOME[v]}
STATE=${VRD_STATE[v]}
DM_PIDFILE="$H/dnsmasq.pid"
DM_LEASES="$H/dnsmasq.leases"
DM_LOG="$H/dnsmasq.log"
if vrd_start v --manage-links yes --dnsmasq-pid-file "$DM_PIDFILE" --dnsmasq-lease-file "$DM_LEASES"; then
	ok "vrd starts in the VR namespace (listening on ${VRD_URL[v]} there, --manage-links yes)"
else
	fail "vrd starts in the VR namespace"
	vt_finish
fi

F="$VT_TMP/files"
mkdir -p "$F"
cat >"$F/net.json" <<EOF
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44","router_guest_ip":"$ROUTER",
 "cidr":"10.1.1.0/24","dns":"$ROUTER,8.8.8.8","domain_name":"cloud.internal","add":true}
EOF
# entry FILE HOST MAC IP DEFAULT REMOVE
entry() {
	cat >"$F/$1" <<EOF
{"host_name":"$2","mac_address":"$3","ipv4_address":"$4","ipv6_address":null,"ipv6_duid":null,
 "dns_addresses":"$ROUTER","default_gateway":"$ROUTER","static_routes":null,"default_entry":$5,
 "remove":$6,"lease_time":null,"type":"dhcpentry","delete_from_processed_cache":false}
EOF
}
entry vm1.json vm1 "$MAC1" "$IP1" true false
entry vm2.json vm2 "$MAC2" "$IP2" true false
entry vm3.json vm3 "$MAC3" "$IP3" false false
entry vm2-remove.json vm2 "$MAC2" "$IP2" true true
entry vm4.json vm4 "$MAC4" "$IP2" true false
entry vm5.json vm5 "$MAC5" "$IP2" true false

DM_STARTED=0
READS="read $STATE/dhcpopts"        # the last file dnsmasq reads at start and on SIGHUP

ADDS_D="read $STATE/dhcphosts\.d/"  # dnsmasq read an added file (inotify)
ADDS_H="read $STATE/hosts\.d/"

# push DESC FILE...: one vrctl apply (one batch); then restart dnsmasq if
# dnsmasq.conf changed, and wait until dnsmasq has re-read its files.  With
# ADDS=1 the batch only adds entries: wait until dnsmasq has read the new
# files in dhcphosts.d/ and hosts.d/ instead, and check that it got no SIGHUP.
push() {
	local desc=$1 out n nd nh r0
	shift
	n=$(nt_dnsmasq_log_count "$READS")
	nd=$(nt_dnsmasq_log_count "$ADDS_D")
	nh=$(nt_dnsmasq_log_count "$ADDS_H")
	r0=$(reloads)
	if out=$(vt_vrctl v apply "$@" 2>&1); then
		ok "push $desc (vrctl: $out)"
	else
		fail "push $desc" "$out"
		return 1
	fi
	[ "$DM_STARTED" = 1 ] || return 0
	if nt_dnsmasq_sync; then
		diag "dnsmasq.conf: $NT_DNSMASQ_SYNCED"
	else
		fail "dnsmasq still running when $desc was pushed" "exit statuses: ${NT_DNSMASQ_EXITS[*]}" \
		    "$(tail -n 15 "$DM_LOG" 2>&1)"
		return 1
	fi
	check "dnsmasq still runs after $desc" nt_dnsmasq_alive
	if [ "${ADDS:-0}" = 1 ]; then
		if nt_dnsmasq_wait_log "$ADDS_D" "$nd" 10 && nt_dnsmasq_wait_log "$ADDS_H" "$nh" 10; then
			ok "dnsmasq read the added files in dhcphosts.d/ and hosts.d/ after $desc (inotify)"
		else
			fail "dnsmasq read the added files after $desc" "$(ls -l "$STATE/dhcphosts.d" "$STATE/hosts.d" 2>&1)" \
			    "$(tail -n 15 "$DM_LOG" 2>&1)"
		fi
		check_eq "$desc: no SIGHUP (dnsmasq re-read no whole file, vrd's reload count unchanged)" \
		    "$n $r0" "$(nt_dnsmasq_log_count "$READS") $(reloads)"
		return 0
	fi
	if nt_dnsmasq_wait_log "$READS" "$n" 5; then
		ok "dnsmasq re-read its files after $desc ($NT_DNSMASQ_SYNCED dnsmasq.conf)"
	else
		fail "dnsmasq re-read its files after $desc" "no new '$READS' line in $DM_LOG" \
		    "$(tail -n 15 "$DM_LOG" 2>&1)"
	fi
}

# reloads: vrd's count of SIGHUPs sent to dnsmasq (GET /v1/state)
reloads() {
	vt_http v GET /v1/state >/dev/null
	vt_json "$HTTP_BODY_FILE" 'j["dnsmasq"]["reloads"]'
}

# resolves DESC NAME WANT: dnsmasq answers an A query for NAME at the router
# with WANT ("" for no address)
resolves() {
	check_eq "$1" "$3" "$(nt_exec vr "$VT_PY" "$VT_LIB/dns_a.py" "$2" "$ROUTER" 2>&1)"
}

# dirs_empty WHEN: dhcphosts.d/ and hosts.d/ hold no file (after a compaction)
dirs_empty() {
	check_eq "dhcphosts.d/ and hosts.d/ are empty $1" "" \
	    "$(find "$STATE/dhcphosts.d" "$STATE/hosts.d" -type f 2>&1)"
}

# lease_is DESC GUEST KEY WANT: a key of the guest's last lease
lease_is() { check_eq "$1" "$4" "$(nt_lease_get "$2" "$3")"; }

# renew_keeps GUEST IP WHEN: the guest's running udhcpc renews and keeps IP
renew_keeps() {
	local g=$1 ip=$2 when=$3 ev
	ev=$(nt_dhcp_renew "$g" 5)
	if [ "$ev" = "renew $ip" ] && [ "$(nt_lease_get "$g" ip)" = "$ip" ]; then
		ok "$g's lease renews $when and keeps $ip"
	else
		fail "$g's lease renews $when and keeps $ip" "udhcpc event: $ev" \
		    "lease: $(tr '\n' ' ' <"$NT_DIR/$g.lease" 2>&1)" "$(tail -n 5 "$DM_LOG" 2>&1)"
	fi
}
renew_all() {
	renew_keeps g1 "$IP1" "$1"
	if [ -n "${NT_DHCP_PID[g3]:-}" ]; then
		renew_keeps g3 "$IP3" "$1"
		lease_is "g3 still has no router $1" g3 router ""
	fi
}

# no_lease GUEST WHY: a fresh udhcpc (2 DISCOVERs, 1 s apart) gets nothing
no_lease() {
	if nt_dhcp "$1" 2; then
		fail "$1 gets no lease $2" "it got: $(tr '\n' ' ' <"$NT_DIR/$1.lease")"
	else
		ok "$1 gets no lease $2 (fresh udhcpc -t 2 -T 1 fails)"
	fi
}

lease_has_mac() { grep -q " $1 " "$DM_LEASES" 2>/dev/null; }

# --- the guest network -------------------------------------------------------------
push "guestnetwork eth1 10.1.1.0/24" "$F/net.json"
check_eq "eth1 has the router address and 169.254.169.254/32 (set by vrd)" \
    "10.1.1.1/24 169.254.169.254/32 " "$(eth1_addrs)"
check "eth1 is up (brought up by vrd)" bash -c "ip -n '$VR' -o link show dev eth1 | grep -q '[<,]UP[,>]'"
check "dnsmasq.conf serves eth1 with a static range" \
    grep -qx 'dhcp-range=set:net_eth1,10.1.1.0,static,255.255.255.0,infinite' "$STATE/dnsmasq.conf"

if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts from vrd's dnsmasq.conf (pid $NT_DNSMASQ_PID = its pid file)"
	DM_STARTED=1
else
	fail "dnsmasq starts from vrd's dnsmasq.conf" "$(cat "$DM_LOG" 2>&1)"
	vt_finish
fi

# --- two default entries in one batch -----------------------------------------------
CONF0=$(cat "$STATE/dnsmasq.conf")
ADDS=1 push "dhcpentry vm1 and vm2 (default NICs)" "$F/vm1.json" "$F/vm2.json"
check_eq "default entries do not touch dnsmasq.conf (no restart needed)" "$CONF0" "$(cat "$STATE/dnsmasq.conf")"
check_eq "dhcphosts.d/1 has vm1 and vm2, dhcphosts neither (an addition)" \
    "$MAC1,$IP1,vm1,infinite $MAC2,$IP2,vm2,infinite|" \
    "$(tr '\n' ' ' <"$STATE/dhcphosts.d/1" | sed 's/ $//')|$(cat "$STATE/dhcphosts")"
check_eq "hosts.d/1 has vm1 and vm2" "$IP1 vm1 $IP2 vm2" "$(tr '\n' ' ' <"$STATE/hosts.d/1" | sed 's/ $//')"
resolves "vm1 resolves to its IP (read through inotify)" vm1 "$IP1"
resolves "vm2 resolves to its IP" vm2 "$IP2"

if nt_dhcp_bg g1; then
	ok "g1 gets a lease (long-running udhcpc)"
else
	fail "g1 gets a lease (long-running udhcpc)" "$(tail -n 20 "$NT_DIR/g1.udhcpc.log" 2>&1)" "$(tail -n 20 "$DM_LOG")"
fi
lease_is "g1: ip is the pushed IP" g1 ip "$IP1"
lease_is "g1: hostname is the pushed host_name" g1 hostname vm1
lease_is "g1: router" g1 router "$ROUTER"
lease_is "g1: dns" g1 dns "$ROUTER 8.8.8.8"
lease_is "g1: domain" g1 domain cloud.internal
lease_is "g1: subnet" g1 subnet 255.255.255.0
SR=$(nt_lease_get g1 staticroutes)
if [[ " $SR " == *" 169.254.169.254/32 $ROUTER "* ]]; then
	ok "g1: option 121 routes 169.254.169.254/32 via $ROUTER ($SR)"
else
	fail "g1: option 121 routes 169.254.169.254/32 via $ROUTER" "staticroutes: '$SR'"
fi
# the route from option 121 really reaches the metadata address on the VR
if nt_exec g1 ip route add 169.254.169.254/32 via "$ROUTER" dev eth0 2>/dev/null &&
    nt_exec g1 busybox ping -c 1 -W 2 169.254.169.254 >/dev/null 2>&1; then
	ok "g1 reaches 169.254.169.254 via $ROUTER (ping)"
else
	fail "g1 reaches 169.254.169.254 via $ROUTER (ping)" "$(nt_exec g1 ip -4 addr 2>&1; nt_exec g1 ip route 2>&1)"
fi

# --- a repeated batch changes nothing and sends no SIGHUP ---------------------------
state_of() { # prints "generation reloads" from GET /v1/state
	vt_http v GET /v1/state >/dev/null
	vt_json "$HTTP_BODY_FILE" '"%d %d" % (j["generation"], j["dnsmasq"]["reloads"])'
}
S0=$(state_of)
R0=$(nt_dnsmasq_log_count "$READS")
H0=$(tree_hash "$STATE")
if out=$(vt_vrctl v apply "$F/vm1.json" "$F/vm2.json" 2>&1); then
	ok "the same two entries pushed again ($out)"
else
	fail "the same two entries pushed again" "$out"
fi
check_eq "repeat: generation and vrd's reload count unchanged" "$S0" "$(state_of)"
check_eq "repeat: no file in the state directory changed" "$H0" "$(tree_hash "$STATE")"
check_eq "repeat: dnsmasq re-read nothing (no SIGHUP)" "$R0" "$(nt_dnsmasq_log_count "$READS")"

if nt_dhcp g2; then
	ok "g2 gets a lease"
else
	fail "g2 gets a lease" "$(tail -n 20 "$DM_LOG")"
fi
lease_is "g2: ip" g2 ip "$IP2"
lease_is "g2: hostname" g2 hostname vm2
lease_is "g2: router" g2 router "$ROUTER"

# --- a non-default NIC -----------------------------------------------------------------
renew_all "before the non-default entry"
push "dhcpentry vm3 (default_entry false)" "$F/vm3.json"
check "dnsmasq.conf carries vm3's tagged dhcp-host line" \
    grep -qx "dhcp-host=$MAC3,set:10_1_1_103,$IP3,vm3,infinite" "$STATE/dnsmasq.conf"
check_eq "dnsmasq restarted for the changed dnsmasq.conf" restarted "$NT_DNSMASQ_SYNCED"
check "no line of dhcphosts (re-read on SIGHUP) carries set:" bash -c "! grep -q 'set:' '$STATE/dhcphosts'"
dirs_empty "after the non-default entry (a compaction)"
check "dhcphosts now has vm1 and vm2" bash -c "grep -qx '$MAC1,$IP1,vm1,infinite' '$STATE/dhcphosts' && grep -qx '$MAC2,$IP2,vm2,infinite' '$STATE/dhcphosts'"
resolves "vm1 still resolves after the compaction" vm1 "$IP1"
check "dhcpopts clears options 3, 6, 15 and 121 for vm3's tag" bash -c \
    "for o in 3 6 15 121; do grep -qx \"10_1_1_103,\$o\" '$STATE/dhcpopts' || exit 1; done"
renew_all "after the non-default entry"
if nt_dhcp_bg g3; then
	ok "g3 (non-default NIC) gets a lease (long-running udhcpc)"
else
	fail "g3 (non-default NIC) gets a lease" "$(tail -n 20 "$DM_LOG")"
fi
lease_is "g3: ip is the pushed IP" g3 ip "$IP3"
lease_is "g3: hostname" g3 hostname vm3
lease_is "g3: no router" g3 router ""
lease_is "g3: no dns" g3 dns ""
lease_is "g3: no domain" g3 domain ""
lease_is "g3: no staticroutes (option 121)" g3 staticroutes ""

# --- removal of g2 ------------------------------------------------------------------------
# g3 has been served: a set: tag in a SIGHUP-reloaded file would now crash dnsmasq
renew_all "before vm2's removal"
push "dhcpentry vm2 remove: true" "$F/vm2-remove.json"
check "dnsmasq survives the SIGHUP after the tagged host was served" nt_dnsmasq_alive
check "dhcphosts has no vm2 line" bash -c "! grep -q '$MAC2' '$STATE/dhcphosts'"
dirs_empty "after vm2's removal"
resolves "vm2 resolves to nothing after its removal" vm2 ""
resolves "vm1 still resolves" vm1 "$IP1"
if nt_wait_for 5 eval '! lease_has_mac '"$MAC2"; then
	ok "dnsmasq dropped g2's lease (DHCPRELEASE from vrd)"
else
	fail "dnsmasq dropped g2's lease (DHCPRELEASE from vrd)" "leases: $(cat "$DM_LEASES")" \
	    "$(grep -i release "$DM_LOG" | tail -n 5)"
fi
check "dnsmasq logged the DHCPRELEASE of $IP2 $MAC2" grep -qE "DHCPRELEASE\(eth1\) $IP2 $MAC2" "$DM_LOG"
renew_all "after vm2's removal"
no_lease g2 "after its removal"

# --- IP reuse by a new MAC ---------------------------------------------------------------
ADDS=1 push "dhcpentry vm4 (new MAC, g2's old IP)" "$F/vm4.json"
check_eq "dhcphosts.d/1 has vm4 alone" "$MAC4,$IP2,vm4,infinite" "$(cat "$STATE/dhcphosts.d/1")"
resolves "vm4 resolves to g2's old IP" vm4 "$IP2"
resolves "vm2 still resolves to nothing" vm2 ""
if nt_dhcp g4; then
	ok "g4 (new MAC) gets a lease"
else
	fail "g4 (new MAC) gets a lease" "$(tail -n 20 "$DM_LOG")"
fi
lease_is "g4: ip is g2's old IP" g4 ip "$IP2"
lease_is "g4: hostname" g4 hostname vm4
renew_all "after vm4's push"

# --- an IP handed straight to another MAC -------------------------------------------------
push "dhcpentry vm5 (another MAC, g4's IP)" "$F/vm5.json"
dirs_empty "after vm4's IP went to vm5 (a change: a compaction)"
resolves "vm5 resolves to the IP taken from vm4" vm5 "$IP2"
resolves "vm4 resolves to nothing" vm4 ""
if nt_wait_for 5 eval '! lease_has_mac '"$MAC4"; then
	ok "dnsmasq dropped g4's lease when its IP went to another MAC"
else
	fail "dnsmasq dropped g4's lease when its IP went to another MAC" "leases: $(cat "$DM_LEASES")"
fi
no_lease g4 "after its IP went to g5"
if nt_dhcp g5; then
	ok "g5 gets a lease"
else
	fail "g5 gets a lease" "$(tail -n 20 "$DM_LOG")"
fi
lease_is "g5: ip is the IP taken from g4" g5 ip "$IP2"
lease_is "g5: hostname" g5 hostname vm5
renew_all "at the end"

# --- g1 and g3 kept their leases throughout ---------------------------------------------
for g in g1 g3; do
	ip=$IP1
	[ "$g" = g3 ] && ip=$IP3
	bad=$(grep -vE "^(deconfig |bound $ip|renew $ip)\$" "$NT_DIR/$g.events")
	nb=$(grep -c "^bound " "$NT_DIR/$g.events")
	if [ -z "$bad" ] && [ "$nb" = 1 ] && kill -0 "${NT_DHCP_PID[$g]}" 2>/dev/null; then
		ok "$g's udhcpc: bound once, only renewals of $ip since ($(grep -c '^renew' "$NT_DIR/$g.events") renewals)"
	else
		fail "$g's udhcpc: bound once, only renewals of $ip since" "$(cat "$NT_DIR/$g.events")"
	fi
done

# --- dnsmasq never crashed --------------------------------------------------------------------
if nt_dnsmasq_alive && nt__pidfile_is "$DM_PIDFILE" "$NT_DNSMASQ_PID"; then
	ok "dnsmasq (pid $NT_DNSMASQ_PID) still runs at the end"
else
	st=alive
	if [ -n "$NT_DNSMASQ_PID" ] && ! nt_dnsmasq_alive; then
		wait "$NT_DNSMASQ_PID" 2>/dev/null
		st="exited with status $? (139 = SIGSEGV)"
	fi
	fail "dnsmasq still runs at the end" "dnsmasq pid ${NT_DNSMASQ_PID:-none}: $st" "$(tail -n 20 "$DM_LOG")"
fi
bad_exit=""
for rc in "${NT_DNSMASQ_EXITS[@]}"; do
	[ "$rc" = 0 ] || bad_exit+="$rc "
done
check_eq "every dnsmasq stopped for a restart exited with status 0 (${#NT_DNSMASQ_EXITS[@]} stopped)" "" "$bad_exit"
check_eq "dnsmasq was restarted once (vm3's dnsmasq.conf change)" 1 "$NT_DNSMASQ_RESTARTS"
starts=$(nt_dnsmasq_log_count 'started, version')
exits=$(nt_dnsmasq_log_count 'exiting on receipt of SIGTERM')
check_eq "dnsmasq's log: one exit on SIGTERM per restart, no other start" "$((NT_DNSMASQ_RESTARTS + 1)) $NT_DNSMASQ_RESTARTS" "$starts $exits"
# A compaction removes the added files while dnsmasq runs: dnsmasq 2.90 tries
# to read a removed dhcphosts.d/ file ("cannot read …: No such file or
# directory"), harmlessly (the SIGHUP that follows re-reads everything).
# Any other read error counts.
bad_log=$(grep -iE 'segfault|segmentation|cannot read|failed to load|bad DHCP host|permission denied|FAILED|duplicate' "$DM_LOG" |
	grep -vE "cannot read $STATE/dhcphosts\.d/[0-9]+: No such file or directory")
check_eq "dnsmasq's log has no crash, read or host-line error" "" "$bad_log"
hups=$(nt_dnsmasq_log_count "$READS")
diag "dnsmasq read its files $hups times (starts + SIGHUPs)"

vt_http v GET /v1/state
js=$(vt_json "$HTTP_BODY_FILE" '[j["dnsmasq"]["running"], j["dnsmasq"]["pid"], j["dnsmasq"]["reloads"] > 0]' 2>&1)
check_eq "GET /v1/state: dnsmasq running, its pid, reloads > 0" "[true, $NT_DNSMASQ_PID, true]" "$js"
diag "dnsmasq reloads reported by vrd: $(vt_json "$HTTP_BODY_FILE" 'j["dnsmasq"]["reloads"]' 2>&1)"
js=$(vt_json "$HTTP_BODY_FILE" '[j["vms"], j["dhcp_entries"]]' 2>&1)
check_eq "GET /v1/state: 3 VMs with DHCP entries (vm1, vm3, vm5)" "[3, 3]" "$js"
diag "runtime $((SECONDS - T_START)) s"

vt_finish
