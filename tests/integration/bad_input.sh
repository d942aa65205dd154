#!/usr/bin/env bash
# tests/integration/bad_input.sh - vrd refuses bad requests and bad configuration.
#
# With a guest network (eth1 10.1.1.0/24) and one VM in place, every bad
# request gets the right status and a JSON error body {"error", "index",
# "field"} (SPEC "vrd: the control channel"), and leaves the state directory
# byte-for-byte unchanged (tree_hash) and the generation where it was.  Also:
# 413 with Content-Length and chunked bodies, 401 variants, batches that fail
# at the 3rd command, hostile JSON (deep nesting, 10 MB arrays), 404/400/405
# routes, request smuggling (two Content-Length, TE with CL, odd
# Transfer-Encodings, bad chunk sizes: 400, connection closed, the hidden
# request never applied), a slowloris client on the control channel (cut off
# at --timeout while vrctl keeps working), 409 for a device that does not exist (vrd with --manage-links yes in
# a throwaway network namespace), and exit status 2 with the key named for bad
# configuration.  Needs root (network namespace, metadata user "nobody").
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

T=$VT_TMP
NET='{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44","router_guest_ip":"10.1.1.1","cidr":"10.1.1.0/24","dns":"10.1.1.1,8.8.8.8","domain_name":"cloud.internal","add":true}'
VM='[{"type":"dhcpentry","host_name":"vm1","mac_address":"02:00:4c:5f:00:01","ipv4_address":"10.1.1.101","ipv6_address":null,"dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1","static_routes":null,"default_entry":true,"remove":false,"lease_time":null,"delete_from_processed_cache":false},
 {"type":"vmpassword","ip_address":"10.1.1.101","password":"hY7sd8Kq"},
 {"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["userdata","user-data","I2Nsb3VkLWNvbmZpZwo="],["metadata","instance-id","i-0001"],["metadata","local-hostname","vm1"]]}]'

# dhcp CMD for a new VM (10.1.1.50) with one field overridden: dhcp KEY VALUE(JSON)
dhcp() {
	"$VT_PY" -c 'import json, sys
c = {"type": "dhcpentry", "host_name": "vm50", "mac_address": "02:00:4c:5f:00:32",
     "ipv4_address": "10.1.1.50", "default_entry": True, "remove": False}
if len(sys.argv) > 2:
    c[sys.argv[1]] = json.loads(sys.argv[2])
print(json.dumps(c))' "$@"
}

# setup NAME: guest network first, then the VM; both must be 200.
setup() {
	local n=$1
	vt_http "$n" POST /v1/commands --body "$NET"
	[ "$HTTP_STATUS" = 200 ] || { fail "vrd[$n]: guestnetwork eth1 10.1.1.0/24 accepted" "$HTTP_STATUS $HTTP_BODY"; return 1; }
	vt_http "$n" POST /v1/commands --body "$VM"
	[ "$HTTP_STATUS" = 200 ] || { fail "vrd[$n]: VM 10.1.1.101 accepted" "$HTTP_STATUS $HTTP_BODY"; return 1; }
	ok "vrd[$n]: guest network and VM 10.1.1.101 set up"
}

# err_shape FILE FIELD INDEX: the body is {"error": non-empty string, "index":
# int|null, "field": string|null}; FIELD and INDEX ("null" for null) are
# checked unless "*".
err_shape() {
	"$VT_PY" - "$@" <<'EOF'
import json, sys
path, field, index = sys.argv[1:4]
try:
    j = json.load(open(path))
except Exception as e:
    sys.exit("body is not JSON: %s: %r" % (e, open(path, "rb").read()[:200]))
if not isinstance(j, dict):
    sys.exit("body is not an object: %r" % j)
for k in ("error", "index", "field"):
    if k not in j:
        sys.exit("no %r key in %r" % (k, j))
if not isinstance(j["error"], str) or not j["error"]:
    sys.exit("error is not a non-empty string: %r" % j)
if not (j["index"] is None or isinstance(j["index"], int)):
    sys.exit("index is not an integer or null: %r" % j)
if not (j["field"] is None or isinstance(j["field"], str)):
    sys.exit("field is not a string or null: %r" % j)
if field != "*" and j["field"] != (None if field == "null" else field):
    sys.exit("field is %r, want %r: %r" % (j["field"], field, j))
if index != "*" and j["index"] != (None if index == "null" else int(index)):
    sys.exit("index is %r, want %r: %r" % (j["index"], index, j))
EOF
}

# snapshot NAME: remember the instance's tree manifest and generation.
declare -A REF_GEN=()
snapshot() {
	tree_manifest "${VRD_STATE[$1]}" >"$T/$1.manifest"
	REF_GEN[$1]=$(vt_gen "$1")
}

# unchanged NAME DESC: state dir byte-for-byte as in the snapshot, generation too.
unchanged() {
	local n=$1 desc=$2 g
	if tree_manifest "${VRD_STATE[$n]}" | cmp -s - "$T/$n.manifest"; then
		ok "$desc: state directory unchanged (tree_hash $(tree_hash "${VRD_STATE[$n]}" | cut -c1-12))"
	else
		fail "$desc: state directory unchanged" \
		    "$(tree_manifest "${VRD_STATE[$n]}" | diff "$T/$n.manifest" - | head -n 20)"
	fi
	g=$(vt_gen "$n")
	check_gen "$desc: generation unchanged" "${REF_GEN[$n]}" "$g"
}

# expect NAME DESC STATUS FIELD INDEX -- METHOD PATH [vt_http options]
expect() {
	local n=$1 desc=$2 status=$3 field=$4 index=$5 why
	shift 6
	vt_http "$n" "$@"
	if [ "$HTTP_STATUS" = "$status" ]; then
		ok "$desc: status $status"
	else
		fail "$desc: status $status" "got $HTTP_STATUS: $HTTP_BODY" "$(cat "$T/http.err")"
	fi
	if why=$(err_shape "$HTTP_BODY_FILE" "$field" "$index" 2>&1); then
		ok "$desc: JSON error body (field $field, index $index)"
	else
		fail "$desc: JSON error body (field $field, index $index)" "$why"
	fi
	unchanged "$n" "$desc"
}

# body FILE CONTENT: writes a request body file
body() { printf '%s' "$2" >"$T/$1"; }

# --- the main instance (default max-body) --------------------------------------

vrd_new main
if ! vrd_start main; then
	fail "vrd starts on loopback"
	vt_finish
fi
ok "vrd starts on loopback and answers vrctl health"
setup main || vt_finish
snapshot main
TOKEN=$(cat "${VRD_TOKEN_FILE[main]}")

# malformed JSON
expect main "malformed JSON" 400 "*" null -- POST /v1/commands --body '{"type":"dhcpentry","mac_address":'
expect main "empty body" 400 "*" null -- POST /v1/commands --body ''
expect main "a JSON string, not a command" 400 "*" "*" -- POST /v1/commands --body '"dhcpentry"'

# authorization (each with a body that would change the state)
GOOD=$(dhcp)
last=${TOKEN: -1}
if [ "$last" = 0 ]; then other=1; else other=0; fi
WRONG=$("$VT_PY" -c 'import secrets; print(secrets.token_hex(32))')
expect main "no Authorization header" 401 "*" "*" -- POST /v1/commands --no-token --body "$GOOD"
expect main "wrong token" 401 "*" "*" -- POST /v1/commands --auth "Bearer $WRONG" --body "$GOOD"
expect main "token differing in the last character" 401 "*" "*" -- POST /v1/commands \
    --auth "Bearer ${TOKEN%?}$other" --body "$GOOD"
expect main "token with one character more" 401 "*" "*" -- POST /v1/commands \
    --auth "Bearer ${TOKEN}0" --body "$GOOD"
expect main "token one character short" 401 "*" "*" -- POST /v1/commands \
    --auth "Bearer ${TOKEN%?}" --body "$GOOD"
expect main "\"Bearer\" missing" 401 "*" "*" -- POST /v1/commands --auth "$TOKEN" --body "$GOOD"
expect main "empty bearer token" 401 "*" "*" -- POST /v1/commands --auth "Bearer " --body "$GOOD"
expect main "GET /v1/vms without a token" 401 "*" "*" -- GET /v1/vms --no-token
if grep -q '10.1.1.101\|hY7sd8Kq' "$HTTP_BODY_FILE"; then
	fail "401 body reveals nothing of the VMs" "$HTTP_BODY"
else
	ok "401 body reveals nothing of the VMs"
fi

# validation
expect main "host_name with a comma" 400 host_name 0 -- POST /v1/commands --body "$(dhcp host_name '"vm,50"')"
expect main "host_name with a newline" 400 host_name 0 -- POST /v1/commands --body "$(dhcp host_name '"vm\n50"')"
expect main "host_name with a space" 400 host_name 0 -- POST /v1/commands --body "$(dhcp host_name '"vm 50"')"
expect main "host_name with '#'" 400 host_name 0 -- POST /v1/commands --body "$(dhcp host_name '"vm#50"')"
expect main "bad MAC (five octets)" 400 mac_address 0 -- POST /v1/commands --body "$(dhcp mac_address '"02:00:4c:5f:00"')"
expect main "bad MAC (not hex)" 400 mac_address 0 -- POST /v1/commands --body "$(dhcp mac_address '"02:00:4c:5f:00:zz"')"
expect main "IPv4 outside every guest network" 400 ipv4_address 0 -- POST /v1/commands \
    --body "$(dhcp ipv4_address '"192.168.77.5"')"
expect main "IPv4 that does not parse" 400 ipv4_address 0 -- POST /v1/commands \
    --body "$(dhcp ipv4_address '"10.1.1.300"')"
# a refused metadata triple is left out and reported; the command's other
# triples would be stored (here there are none, so nothing changes)
skipped() {
	local n=$1 desc=$2 body=$3 why
	vt_http "$n" POST /v1/commands --body "$body"
	if [ "$HTTP_STATUS" = 200 ]; then ok "$desc: status 200"; else fail "$desc: status 200" "got $HTTP_STATUS: $HTTP_BODY"; fi
	if why=$("$VT_PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
s = j.get("skipped")
if not (isinstance(s, list) and len(s) == 1 and s[0]["index"] == 0 and s[0]["ip"] == "10.1.1.101"
        and "vm_metadata[0]" in s[0]["error"]):
    sys.exit("no skipped entry for command 0, vm_metadata[0]: %r" % j)' "$HTTP_BODY_FILE" 2>&1); then
		ok "$desc: reported as skipped"
	else
		fail "$desc: reported as skipped" "$why"
	fi
	unchanged "$n" "$desc"
}
skipped main "metadata key \"..\"" \
    '{"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["metadata","..","x"]]}'
skipped main "metadata key with a slash" \
    '{"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["metadata","a/b","x"]]}'
skipped main "metadata key with a leading space" \
    '{"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["metadata"," instance-id","x"]]}'
skipped main "invalid base64 user-data" \
    '{"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["userdata","user-data","I2Nsb3Vk*LWNvbmZpZwo="]]}'

# batches: the 3rd command is bad, the first two good; nothing of them applied
B1=$(printf '[%s,{"type":"vmpassword","ip_address":"10.1.1.50","password":"pw50"},%s]' \
    "$GOOD" "$(dhcp mac_address '"02:00:4c:5f:00"' | sed 's/10.1.1.50/10.1.1.51/')")
expect main "batch, 3rd command with a bad MAC (parse)" 400 mac_address 2 -- POST /v1/commands --body "$B1"
B2=$(printf '[%s,{"type":"vmpassword","ip_address":"10.1.1.50","password":"pw50"},%s]' \
    "$GOOD" '{"type":"vmdata","vm_ip_address":"10.1.2.9","vm_metadata":[["metadata","instance-id","x"]]}')
expect main "batch, 3rd command outside every network (apply)" 400 vm_ip_address 2 -- POST /v1/commands --body "$B2"
# the first two change the existing VM; the 3rd fails after they were applied in memory
B3='[{"type":"dhcpentry","host_name":"renamed","mac_address":"02:00:4c:5f:00:01","ipv4_address":"10.1.1.101"},
     {"type":"vmpassword","ip_address":"10.1.1.101","password":"changed"},
     {"type":"dhcpentry","host_name":"vm52","mac_address":"02:00:4c:5f:00:34","ipv4_address":"10.1.1.1"}]'
expect main "batch changing VM 10.1.1.101, 3rd command on the router IP" 400 ipv4_address 2 -- POST /v1/commands --body "$B3"
vt_http main GET /v1/vms/10.1.1.50
check_eq "VM 10.1.1.50 of the failed batches is unknown" 404 "$HTTP_STATUS"
vt_http main GET /v1/vms/10.1.1.101
h=$(vt_json "$HTTP_BODY_FILE" 'j["hostname"]' 2>&1)
check_eq "VM 10.1.1.101 keeps its hostname after the rolled-back batch" vm1 "$h"
vt_http main GET /v1/vms
n=$(vt_json "$HTTP_BODY_FILE" 'len(j)' 2>&1)
check_eq "still exactly one VM" 1 "$n"

# hostile JSON
"$VT_PY" -c 'import sys; sys.stdout.write("[" * 100000 + "]" * 100000)' >"$T/deep.json"
expect main "JSON nested 100000 deep" 400 "*" "*" -- POST /v1/commands --body-file "$T/deep.json"
"$VT_PY" -c 'import sys; sys.stdout.write("{\"a\":" * 100000 + "1" + "}" * 100000)' >"$T/deepobj.json"
expect main "JSON objects nested 100000 deep" 400 "*" "*" -- POST /v1/commands --body-file "$T/deepobj.json"
check "vrd keeps serving after deep nesting (vrctl health)" vrd_alive main
check "vrctl health answers" vt_vrctl main health
"$VT_PY" -c '
import sys
out, n, i = [], 0, 0
while n < 10 * 1000 * 1000:
    s = str(1000000 + i); out.append(s); n += len(s) + 1; i += 1
sys.stdout.write("[" + ",".join(out) + "]")' >"$T/numbers.json"
t0=$(date +%s%N)
expect main "10 MB array of numbers" 400 "*" "*" -- POST /v1/commands --body-file "$T/numbers.json"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 5000 ]; then ok "10 MB array rejected quickly (${ms} ms)"; else fail "10 MB array rejected quickly" "${ms} ms"; fi
check "vrd keeps serving after the 10 MB array" vt_vrctl main health

# request smuggling: ambiguous framing is refused with a JSON 400 and the
# connection closed; neither the request nor the one hidden after it applies
MDC="$ROOT/tests/lib/md_client.py"
PORT_MAIN=${VRD_PORT[main]}
HID='{"type":"dhcpentry","host_name":"hidden","mac_address":"02:00:4c:5f:00:77","ipv4_address":"10.1.1.77"}'
HIDDEN="POST /v1/commands HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: ${#HID}\r\nConnection: close\r\n\r\n$HID"
OUTER="POST /v1/commands HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Type: application/json\r\n"
smuggle() { # DESC RAW [mhd]  (mhd: refused by libmicrohttpd itself, with its HTML body)
	local desc=$1 line st cl ex why
	line=$("$VT_PY" "$MDC" req --src 127.0.0.1 --host 127.0.0.1 --port "$PORT_MAIN" --raw "$2" \
	    --timeout 3 --out-dir "$T" 2>"$T/smuggle.err")
	read -r st cl ex _ <<<"$line"
	if [ "$st" = 400 ] && [ "$cl" = 1 ] && [ "$ex" = 0 ]; then
		ok "smuggling, $desc: 400, connection closed, no second response"
	else
		fail "smuggling, $desc: 400, connection closed, no second response" "$line $(cat "$T/smuggle.err")" "$(head -c 300 "$T/body")"
	fi
	if [ "${3:-}" = mhd ]; then
		diag "smuggling, $desc: libmicrohttpd's own body: $(head -c 120 "$T/body")"
	elif why=$(err_shape "$T/body" "*" null 2>&1); then
		ok "smuggling, $desc: JSON error body ($(head -c 120 "$T/body"))"
	else
		fail "smuggling, $desc: JSON error body" "$why"
	fi
	unchanged main "smuggling, $desc"
}
# answered at the headers, before any body: a client without the token, or
# announcing a body over max-body, sends none and still gets its answer (vrd
# reads nothing it would refuse)
early() { # DESC STATUS RAW
	local line st
	line=$("$VT_PY" "$MDC" req --src 127.0.0.1 --host 127.0.0.1 --port "$PORT_MAIN" --raw "$3" \
	    --timeout 5 --out-dir "$T" 2>"$T/early.err")
	read -r st _ <<<"$line"
	check_eq "$1: $2 before any body is sent" "$2" "$st"
}
early "no token, 10 MB announced" 401 "POST /v1/commands HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
early "Content-Length over max-body" 413 "${OUTER}Content-Length: 1073741824\r\n\r\n"
smuggle "two Content-Length" "${OUTER}Content-Length: ${#GOOD}\r\nContent-Length: 0\r\n\r\n$GOOD$HIDDEN"
smuggle "Transfer-Encoding: chunked and Content-Length" "${OUTER}Transfer-Encoding: chunked\r\nContent-Length: ${#GOOD}\r\n\r\n0\r\n\r\n$HIDDEN"
smuggle "Content-Length and Transfer-Encoding: chunked" "${OUTER}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$HIDDEN"
smuggle "Transfer-Encoding: gzip, chunked" "${OUTER}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$HIDDEN"
smuggle "'Content-Length :' (space before the colon)" "${OUTER}Content-Length : ${#GOOD}\r\n\r\n$GOOD$HIDDEN"
smuggle "a bad chunk size" "${OUTER}Transfer-Encoding: chunked\r\n\r\n-1\r\n$GOOD\r\n0\r\n\r\n$HIDDEN" mhd
# a body that holds a whole request is only a body (and here bad JSON)
line=$("$VT_PY" "$MDC" req --src 127.0.0.1 --host 127.0.0.1 --port "$PORT_MAIN" \
    --raw "${OUTER}Content-Length: $(printf '%b' "$HIDDEN" | wc -c)\r\nConnection: close\r\n\r\n$HIDDEN" \
    --timeout 3 --out-dir "$T" 2>&1)
check_eq "a body holding a request: one answer (400 bad JSON), nothing after it" "400 1 0" "$(cut -d' ' -f1-3 <<<"$line")"
unchanged main "a body holding a request"
vt_http main GET /v1/vms/10.1.1.77
check_eq "the hidden request's VM 10.1.1.77 was never added" 404 "$HTTP_STATUS"

# routes
expect main "GET /v1/vms/<unknown IP>" 404 "*" "*" -- GET /v1/vms/10.1.1.77
expect main "GET /v1/vms/not-an-ip" 400 "*" "*" -- GET /v1/vms/not-an-ip
expect main "GET /v1/commands" 405 "*" "*" -- GET /v1/commands
expect main "PUT /v1/commands" 405 "*" "*" -- PUT /v1/commands --body "$GOOD"
expect main "DELETE /v1/commands" 405 "*" "*" -- DELETE /v1/commands
# the route table: a known path with another method, an unknown path, a path
# that only starts like a route, HEAD answered as GET
expect main "POST /v1/state" 405 "*" "*" -- POST /v1/state --body "$GOOD"
expect main "GET /v1/nothing" 404 "*" "*" -- GET /v1/nothing
expect main "GET /v1/vmsx" 404 "*" "*" -- GET /v1/vmsx
vt_http main HEAD /healthz
check_eq "HEAD /healthz is 200 with no body" "200 " "$HTTP_STATUS $HTTP_BODY"
vt_http main GET /v1/state --no-token
check_eq "GET /v1/state without a token is 401 before the route" 401 "$HTTP_STATUS"
vt_http main GET /v1/vms/10.1.1.101
check_eq "GET /v1/vms/<known IP> still 200" 200 "$HTTP_STATUS"
if grep -q 'hY7sd8Kq' "$HTTP_BODY_FILE"; then
	fail "GET /v1/vms/<ip> never shows the password" "$HTTP_BODY"
else
	ok "GET /v1/vms/<ip> never shows the password"
fi

# --- max-body 4096 ----------------------------------------------------------------

vrd_new small
if vrd_start small --max-body 4096 && setup small; then
	# exactly max-body bytes is accepted (padded with JSON whitespace)
	"$VT_PY" -c '
import json, sys
c = {"type": "vmdata", "vm_ip_address": "10.1.1.101", "vm_metadata": [["metadata", "pad", "x"]]}
s = json.dumps(c); sys.stdout.write(s + " " * (4096 - len(s)))' >"$T/exact.json"
	vt_http small POST /v1/commands --body-file "$T/exact.json"
	check_eq "body of exactly max-body (4096) bytes accepted" 200 "$HTTP_STATUS"
	snapshot small
	"$VT_PY" -c '
import json, sys
c = {"type": "vmdata", "vm_ip_address": "10.1.1.101", "vm_metadata": [["metadata", "big", "y" * 6000]]}
sys.stdout.write(json.dumps(c))' >"$T/over.json"
	"$VT_PY" -c '
import sys
s = open(sys.argv[1]).read(); sys.stdout.write(s + " " * (4097 - len(s)))' "$T/exact.json" >"$T/over1.json"
	expect small "body of max-body + 1 bytes" 413 "*" "*" -- POST /v1/commands --body-file "$T/over1.json"
	expect small "6 KB body with Content-Length over max-body 4096" 413 "*" "*" -- POST /v1/commands --body-file "$T/over.json"
	expect small "6 KB chunked body over max-body 4096" 413 "*" "*" -- POST /v1/commands --body-file "$T/over.json" --chunked --chunk-size 1000
	head -c 3000000 /dev/zero | tr '\0' ' ' >"$T/3mb.json"
	expect small "3 MB chunked body over max-body 4096" 413 "*" "*" -- POST /v1/commands --body-file "$T/3mb.json" --chunked --chunk-size 65536
	check "vrd with max-body 4096 keeps serving" vt_vrctl small health
	vrd_stop small
	rc=$?
	check_eq "vrd[small] stops with status 0" 0 "$rc"
else
	fail "vrd starts with --max-body 4096"
fi

# --- slow and oversized clients on the control channel (--timeout 2) --------------

vrd_new slow
if vrd_start slow --timeout 2; then
	J="$T/slowloris.json"
	"$VT_PY" "$MDC" slowloris --slow-src 127.0.0.1 --slow-conns 3 --idle-conns 1 --src 127.0.0.1 \
	    --host 127.0.0.1 --port "${VRD_PORT[slow]}" --path /healthz --interval 1 --max-wait 8 >"$J" 2>&1
	diag "control slowloris: cut off after $(vt_json "$J" '[s["closed_after_s"] for s in j["slow"] + j["idle"]]' 2>&1) s; other requests: $(vt_json "$J" 'j["fast_statuses"]' 2>&1), max $(vt_json "$J" 'j["max_fast_ms"]' 2>&1) ms"
	check_eq "3 slowloris and 1 idle control connections are cut off within the 2 s timeout (+1.5 s)" true \
	    "$(vt_json "$J" 'all(s["closed_after_s"] is not None and s["closed_after_s"] <= 3.5 for s in j["slow"] + j["idle"])' 2>&1)"
	check_eq "  ... while other control requests are answered in < 100 ms" true \
	    "$(vt_json "$J" 'j["max_fast_ms"] < 100 and j["fast_during"] >= 5' 2>&1)"
	for kind in header many url; do
		"$VT_PY" "$MDC" oversize --src 127.0.0.1 --host 127.0.0.1 --port "${VRD_PORT[slow]}" --kind "$kind" \
		    --size 262144 >"$T/oversize.json" 2>&1
		check_eq "control channel: oversized $kind (256 KiB) refused with 4xx, connection closed" "4 true" \
		    "$(vt_json "$T/oversize.json" '"%d %s" % (j["status"] // 100, str(j["closed"]).lower())' 2>&1)"
	done
	check "vrd keeps serving after them" vt_vrctl slow health
	vrd_stop slow
	check_eq "vrd[slow] stops with status 0" 0 "$?"
else
	fail "vrd starts with --timeout 2"
fi

# --- a device that does not exist: --manage-links yes in a network namespace -----

NS="vrdbi$$"
if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP guestnetwork on a missing device (needs root)"
elif ! vt_netns_add "$NS"; then
	fail "ip netns add $NS"
else
	vrd_new links "$NS"
	if vrd_start links --manage-links yes; then
		snapshot links
		expect links "guestnetwork on a device that does not exist" 409 device "*" -- POST /v1/commands \
		    --body "${NET//eth1/nosuch0}"
		# the same with a device that exists is accepted and sets the addresses
		if ip -n "$NS" link add eth1 type veth peer name eth1p 2>/dev/null; then
			vt_http links POST /v1/commands --body "$NET"
			check_eq "guestnetwork on an existing device (veth eth1) accepted" 200 "$HTTP_STATUS"
			a=$(ip -n "$NS" -o -4 addr show dev eth1 | awk '{print $4}' | sort | tr '\n' ' ')
			check_eq "eth1 holds the router address and 169.254.169.254/32" "10.1.1.1/24 169.254.169.254/32 " "$a"
		fi
		vrd_stop links
		rc=$?
		check_eq "vrd[links] stops with status 0" 0 "$rc"
	else
		fail "vrd starts with --manage-links yes in network namespace $NS"
	fi
	ip netns del "$NS" && VT_NETNS=()
	if ip netns list | grep -qw "$NS"; then fail "namespace $NS deleted"; else ok "namespace $NS deleted"; fi
fi

# --- configuration errors: exit 2 naming the key ------------------------------------

C="$T/cfg"
mkdir -p "$C"
(umask 077 && "$VT_PY" -c 'import secrets; print(secrets.token_hex(32))' >"$C/token")
cp "$C/token" "$C/token644" && chmod 0644 "$C/token644"
PORT=$(vt_free_port main)
BASE=(--listen "127.0.0.1:$PORT" --state-dir "$C/state" --dnsmasq-pid-file "$C/dnsmasq.pid"
      --dnsmasq-lease-file "$C/leases" --manage-links no)

# cfg_err DESC KEY ARGS...: vrd exits 2 and its message names KEY
cfg_err() {
	local desc=$1 key=$2 rc
	shift 2
	timeout 20 "$VRD_BIN" "$@" >"$C/out" 2>"$C/err"
	rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$key" "$C/err"; then
		ok "$desc: exit 2, message names $key"
	else
		fail "$desc: exit 2, message names $key" "exit $rc" "stderr: $(cat "$C/err")" "stdout: $(cat "$C/out")"
	fi
}
printf 'state-dir = %s\nbogus-key = 1\n' "$C/state" >"$C/unknown.conf"
cfg_err "unknown key in the config file" bogus-key -c "$C/unknown.conf" "${BASE[@]}" \
    --token-file "$C/token" --metadata-user nobody
cfg_err "unknown --option" no-such-option -c /dev/null "${BASE[@]}" --token-file "$C/token" \
    --metadata-user nobody --no-such-option 1
cfg_err "--max-body abc" max-body -c /dev/null "${BASE[@]}" --token-file "$C/token" \
    --metadata-user nobody --max-body abc
cfg_err "token file with mode 0644" token-file -c /dev/null "${BASE[@]}" --token-file "$C/token644" \
    --metadata-user nobody
cfg_err "missing token file" token-file -c /dev/null "${BASE[@]}" --token-file "$C/no-such-token" \
    --metadata-user nobody
cfg_err "metadata-user that does not exist" metadata-user -c /dev/null "${BASE[@]}" \
    --token-file "$C/token" --metadata-user "no-such-user-$$"
cfg_err "malformed --listen" listen -c /dev/null "${BASE[@]}" --token-file "$C/token" \
    --metadata-user nobody --listen nonsense
cfg_err "malformed --listen with -n" listen -c /dev/null "${BASE[@]}" --token-file "$C/token" \
    --metadata-user nobody --listen 127.0.0.1:99999 -n
cfg_err "missing config file given with -c" "$C/missing.conf" -c "$C/missing.conf" "${BASE[@]}" \
    --token-file "$C/token" --metadata-user nobody
[ -e "$C/state" ] && fail "no state directory created by a rejected configuration" "$(ls -la "$C/state")" \
    || ok "no state directory created by a rejected configuration"

cat >"$C/good.conf" <<EOF
# a complete vrd.conf
listen = 127.0.0.1:$PORT
state-dir = $C/state
token-file = $C/token
dnsmasq-pid-file = $C/dnsmasq.pid
dnsmasq-lease-file = $C/leases
metadata-user = nobody
max-body = 4096
manage-links = no
EOF
timeout 20 "$VRD_BIN" -c "$C/good.conf" -n >"$C/out" 2>"$C/err"
rc=$?
if [ "$rc" = 0 ] && grep -q "max-body = 4096" "$C/out"; then
	ok "vrd -n with a good config exits 0 and reports the keys"
else
	fail "vrd -n with a good config exits 0 and reports the keys" "exit $rc" "$(cat "$C/out" "$C/err")"
fi
[ -e "$C/state" ] && fail "vrd -n creates no state directory" || ok "vrd -n creates no state directory"
timeout 20 "$VRD_BIN" --help >"$C/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q -- "--max-body" "$C/out"; then ok "vrd --help exits 0"; else fail "vrd --help exits 0" "exit $rc"; fi
timeout 20 "$VRD_BIN" --version >"$C/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q '^vrd [0-9]' "$C/out"; then ok "vrd --version exits 0"; else fail "vrd --version exits 0" "exit $rc: $(cat "$C/out")"; fi

vt_finish
