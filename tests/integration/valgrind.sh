#!/usr/bin/env bash
# tests/integration/valgrind.sh - vrd and vr-metadata under valgrind's
# memcheck (--leak-check=full --errors-for-leak-kinds=definite
# --error-exitcode=99), driven with real requests, stopped with SIGTERM:
#   vrd: a guest network and a batch of VMs (entries, passwords, metadata,
#     user data), a replacement, a removal, every read-only view, refused
#     requests (401, 400, 404, 405, 413, 409 none: manage-links no), a SIGHUP
#     that re-reads the token;
#   vr-metadata (in a network namespace, VMs' addresses on lo): the EC2 and
#     OpenStack trees (crawl), IMDSv2 token issue and use, a foreign token,
#     the password server's send and acknowledgement, unknown addresses, bad
#     methods, an oversized header, health and metrics, and documents that
#     change and disappear while it runs (inotify).
# Each daemon must exit 0 (valgrind's exit code would be 99 on any memory
# error or definite leak), and its valgrind log must say "ERROR SUMMARY: 0
# errors" and either "definitely lost: 0 bytes" or "no leaks are possible";
# and since both free everything at shutdown, "in use at exit: 0 bytes".
# Skipped for a sanitizer build (ASan and valgrind do not mix).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"
vt_init
T_START=$SECONDS

if ldd "$VRD_BIN" 2>/dev/null | grep -q libasan; then
	ok "# SKIP valgrind: $VRD_BIN is a sanitizer build"
	vt_finish
fi
if ! command -v valgrind >/dev/null; then
	fail "valgrind is installed (make deps installs it)"
	vt_finish
fi
if [ "$(id -u)" != 0 ]; then
	fail "valgrind.sh runs as root (network namespace)"
	vt_finish
fi

VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=99 --track-fds=no --num-callers=30)
NS="vrvg$$"
vt_netns_add "$NS" || { fail "network namespace $NS"; vt_finish; }
ROUTER=10.1.1.1 A=10.1.1.101 B=10.1.1.102 C=10.1.1.103 NOVM=10.1.1.250
for ip in $ROUTER $A $B $C $NOVM; do
	ip -n "$NS" addr add "$ip/32" dev lo
done

vrd_new v "$NS"
STATE=${VRD_STATE[v]}
VRD_WRAP=("${VG[@]}" --log-file="$VT_TMP/vrd.vg")
if vrd_start v --metadata-user nobody --max-body 16384; then
	ok "vrd starts under valgrind"
else
	fail "vrd starts under valgrind" "$(cat "$VT_TMP/vrd.vg" 2>/dev/null)"
	vt_finish
fi
VRD_WRAP=()

b64() { printf '%s' "$1" | base64 -w0; }
post() { # DESC WANT BODY [vt_http options]
	local desc=$1 want=$2 body=$3
	shift 3
	vt_http v POST /v1/commands --body "$body" "$@"
	check_eq "vrd: $desc" "$want" "$HTTP_STATUS"
}
post "guest network" 200 '{"type":"guestnetwork","device":"eth1","router_guest_ip":"10.1.1.1","cidr":"10.1.1.0/24","dns":"10.1.1.1","domain_name":"cloud.internal","add":true}'
VMS="["
for i in 101 102 103 104 105; do
	VMS+=$(printf '{"type":"dhcpentry","host_name":"vm%s","mac_address":"02:00:4c:5f:00:%02x","ipv4_address":"10.1.1.%s","default_entry":%s,"lease_time":%s},' \
		"$i" "$i" "$i" "$([ "$i" = 105 ] && echo false || echo true)" "$([ "$i" = 104 ] && echo 3600 || echo null)")
	VMS+=$(printf '{"type":"vmpassword","ip_address":"10.1.1.%s","password":"pw-%s"},' "$i" "$i")
	VMS+=$(printf '{"type":"vmdata","vm_ip_address":"10.1.1.%s","vm_metadata":[["userdata","user-data","%s"],["metadata","instance-id","i-%s"],["metadata","local-hostname","vm%s"],["metadata","public-keys","ssh-ed25519 AAAAkey%s one@h\\nssh-rsa AAAAother%s"],["metadata","availability-zone","zone1"]]},' \
		"$i" "$(b64 "#cloud-config for $i")" "$i" "$i" "$i" "$i")
done
VMS="${VMS%,}]"
post "a batch of five VMs (15 commands)" 200 "$VMS"
post "a repeated batch (idempotent)" 200 "$VMS"
post "a replaced entry and new metadata" 200 '[{"type":"dhcpentry","host_name":"renamed","mac_address":"02:00:4c:5f:00:68","ipv4_address":"10.1.1.104"},{"type":"vmdata","vm_ip_address":"10.1.1.104","vm_metadata":[["metadata","instance-id",""],["metadata","note",null]]}]'
post "a removal" 200 '{"type":"dhcpentry","mac_address":"02:00:4c:5f:00:69","ipv4_address":"10.1.1.105","remove":true}'
post "malformed JSON" 400 '{"type":'
post "a batch failing at its 2nd command" 400 '[{"type":"vmpassword","ip_address":"10.1.1.101","password":"x"},{"type":"dhcpentry","mac_address":"zz","ipv4_address":"10.1.1.9"}]'
post "deep nesting" 400 "$(printf '%*s' 5000 '' | tr ' ' '[')"
post "no token" 401 '{"type":"vmpassword","ip_address":"10.1.1.101","password":"x"}' --no-token
post "a body over max-body" 413 "$(printf '{"type":"vmpassword","ip_address":"10.1.1.101","password":"%s"}' "$(head -c 20000 /dev/zero | tr '\0' x)")" --chunked --chunk-size 1000
for p in /v1/vms /v1/vms/10.1.1.101 /v1/state /metrics /healthz; do
	vt_http v GET "$p"
	check_eq "vrd: GET $p" 200 "$HTTP_STATUS"
done
vt_http v GET /v1/vms/10.1.1.77
check_eq "vrd: GET an unknown VM" 404 "$HTTP_STATUS"
vt_http v DELETE /v1/commands
check_eq "vrd: DELETE /v1/commands" 405 "$HTTP_STATUS"
kill -HUP "${VRD_PID[v]}"
vt_http v GET /healthz
check_eq "vrd: answers after SIGHUP (token re-read)" 200 "$HTTP_STATUS"

MD_WRAP=("${VG[@]}" --log-file="$VT_TMP/md.vg")
md_new m "$NS"
if md_start m --state-dir "$STATE" --user nobody --listen "$ROUTER:80" --password-port 8080 --threads 2; then
	ok "vr-metadata starts under valgrind"
else
	fail "vr-metadata starts under valgrind" "$(cat "$VT_TMP/md.vg" 2>/dev/null)"
	md_finish
fi
MD_WRAP=()

req() { mreq "$NS" "$@"; }
req "$A" "$ROUTER" 80 GET /latest/meta-data/instance-id --timeout 10
check_eq "vr-metadata: instance-id of $A" "200 i-101" "$R_STATUS $R_BODY"
J="$VT_TMP/crawl.json"
ip netns exec "$NS" "$VT_PY" "$MD_CLIENT" crawl --src "$B" --host "$ROUTER" --port 80 --pw-port 8080 \
	--forbid i-101 --forbid pw-101 --timeout 10 >"$J" 2>"$VT_TMP/crawl.err"
n=$(vt_json "$J" 'sum(1 for r in j["responses"].values() if r["status"] == 200)' 2>&1)
if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 20 ]; then
	ok "vr-metadata: $B crawls both trees ($n answers 200)"
else
	fail "vr-metadata: $B crawls both trees" "$n" "$(head -c 600 "$J") $(cat "$VT_TMP/crawl.err")"
fi
req "$A" "$ROUTER" 80 PUT /latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60" --timeout 10
TOK=$R_BODY
check_eq "vr-metadata: token issued" 200 "$R_STATUS"
req "$A" "$ROUTER" 80 GET /latest/user-data -H "X-aws-ec2-metadata-token: $TOK" --timeout 10
check_eq "vr-metadata: user data with the token" "200 #cloud-config for 101" "$R_STATUS $R_BODY"
req "$B" "$ROUTER" 80 GET /latest/user-data -H "X-aws-ec2-metadata-token: $TOK" --timeout 10
check_eq "vr-metadata: $A's token from $B" 401 "$R_STATUS"
req "$A" "$ROUTER" 8080 GET / -H "DomU_Request: send_my_password" --timeout 10
check_eq "vr-metadata: password fetched" "200 pw-101" "$R_STATUS $R_BODY"
req "$A" "$ROUTER" 8080 GET / -H "DomU_Request: saved_password" --timeout 10
check_eq "vr-metadata: password acknowledged" "200 saved_password" "$R_STATUS $R_BODY"
check "  ... and its file removed" test ! -e "$STATE/passwords/$A"
req "$B" "$ROUTER" 8080 GET / -H "DomU_Request: bogus" --timeout 10
check_eq "vr-metadata: bad DomU_Request" 400 "$R_STATUS"
req "$NOVM" "$ROUTER" 80 GET /latest/meta-data/ --timeout 10
check_eq "vr-metadata: an address with no VM" 404 "$R_STATUS"
req "$A" "$ROUTER" 80 DELETE /latest/meta-data/ --timeout 10
check_eq "vr-metadata: DELETE" 405 "$R_STATUS"
req "$A" "$ROUTER" 80 GET /latest/meta-data/ -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' b)" --timeout 10
if [[ "$R_STATUS" == 4* ]]; then ok "vr-metadata: a 20 KB header is refused ($R_STATUS)"; else fail "vr-metadata: a 20 KB header is refused" "$(mreq_diag)"; fi
req 127.0.0.1 "$ROUTER" 80 GET /metrics --timeout 10
diag "metrics from 127.0.0.1 to $ROUTER: $R_STATUS"
# documents that change and disappear while it runs
post "new metadata for $C" 200 '{"type":"vmdata","vm_ip_address":"10.1.1.103","vm_metadata":[["metadata","instance-id","i-103-b"]]}'
ip netns exec "$NS" "$VT_PY" "$MD_CLIENT" poll --src "$C" --host "$ROUTER" --path /latest/meta-data/instance-id \
	--want 200 --want-body i-103-b --max 10 >"$J" 2>&1
check_eq "vr-metadata: $C's new instance-id is served" 200 "$(vt_json "$J" 'j["status"]' 2>&1)"
post "removal of $C" 200 '{"type":"dhcpentry","mac_address":"02:00:4c:5f:00:67","ipv4_address":"10.1.1.103","remove":true}'
ip netns exec "$NS" "$VT_PY" "$MD_CLIENT" poll --src "$C" --host "$ROUTER" --path /latest/meta-data/instance-id \
	--want 404 --max 10 >"$J" 2>&1
check_eq "vr-metadata: removed $C gets 404" 404 "$(vt_json "$J" 'j["status"]' 2>&1)"

# verdict LABEL RC LOG: exit status 0 and a clean valgrind log
verdict() {
	local label=$1 rc=$2 log=$3
	check_eq "$label exits 0 on SIGTERM under valgrind (99: a memory error or a definite leak)" 0 "$rc"
	if grep -q 'ERROR SUMMARY: 0 errors' "$log" &&
	    grep -qE 'definitely lost: 0 bytes|no leaks are possible' "$log" &&
	    ! grep -qE 'Invalid (read|write|free)|uninitialised|Mismatched free' "$log"; then
		ok "$label: valgrind: ERROR SUMMARY 0 errors, definitely lost 0 bytes"
	else
		fail "$label: valgrind: ERROR SUMMARY 0 errors, definitely lost 0 bytes" "$(grep -v '^==[0-9]*== *$' "$log" | head -n 100)"
	fi
	if grep -qE 'in use at exit: 0 bytes in 0 blocks|All heap blocks were freed' "$log"; then
		ok "$label frees every block before it exits (in use at exit: 0 bytes)"
	else
		fail "$label frees every block before it exits (in use at exit: 0 bytes)" "$(grep -E 'in use at exit|lost|reachable' "$log")"
	fi
	diag "$label valgrind summary: $(grep -E 'definitely lost|no leaks are possible|ERROR SUMMARY|in use at exit' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
}
md_stop m
verdict vr-metadata $? "$VT_TMP/md.vg"
vrd_stop v
verdict vrd $? "$VT_TMP/vrd.vg"
diag "runtime $((SECONDS - T_START)) s"
md_finish
