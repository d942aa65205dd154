#!/usr/bin/env bash
# tests/integration/vrctl.sh - the operator CLI against a running vrd.
#
# vrctl apply of several files (objects and arrays) as one batch, the human
# and --json outputs of vms, vm IP and state, update-config with CloudStack
# file names (type inferred from the name, file moved to cache/processed/),
# an identical re-apply that changes no file and no generation, a failing
# multi-file apply that changes nothing, and removal (remove: true) that
# deletes one VM's files and nothing of the others.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

F="$VT_TMP/files"
mkdir -p "$F"
cat >"$F/net.json" <<'EOF'
{"type":"guestnetwork","device":"eth1","mac_address":"02:00:11:22:33:44","router_guest_ip":"10.1.1.1",
 "cidr":"10.1.1.0/24","dns":"10.1.1.1,8.8.8.8","domain_name":"cloud.internal","add":true}
EOF
cat >"$F/vm1-dhcp.json" <<'EOF'
{"host_name":"vm1","mac_address":"02:00:4c:5f:00:01","ipv4_address":"10.1.1.101","ipv6_address":null,
 "ipv6_duid":"00:03:00:01:02:00:4c:5f:00:01","dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1",
 "static_routes":null,"default_entry":true,"remove":false,"lease_time":null,"type":"dhcpentry",
 "delete_from_processed_cache":false}
EOF
cat >"$F/vm1-pw.json" <<'EOF'
{"ip_address":"10.1.1.101","password":"hY7sd8Kq","type":"vmpassword"}
EOF
cat >"$F/vm1-data.json" <<'EOF'
{"vm_ip_address":"10.1.1.101","type":"vmdata","vm_metadata":[
 ["userdata","user-data","I2Nsb3VkLWNvbmZpZwo="],["metadata","instance-id","i-101"],
 ["metadata","local-hostname","vm1"],["metadata","availability-zone","zone1"]]}
EOF
# a file holding an array: a non-default NIC with metadata, no password
cat >"$F/vm2.json" <<'EOF'
[{"type":"dhcpentry","host_name":"vm2","mac_address":"02:00:4c:5f:00:02","ipv4_address":"10.1.1.102",
  "default_entry":false,"lease_time":3600},
 {"type":"vmdata","vm_ip_address":"10.1.1.102","vm_metadata":[["metadata","instance-id","i-102"]]}]
EOF

vrd_new v
if ! vrd_start v; then
	fail "vrd starts"
	vt_finish
fi
STATE=${VRD_STATE[v]}

# run DESC WANT_RC ARGS...: vrctl with its stdout in $OUT, stderr in $ERR
run() {
	local desc=$1 want=$2 rc
	shift 2
	vt_vrctl v "$@" >"$VT_TMP/out" 2>"$VT_TMP/err"
	rc=$?
	OUT=$(cat "$VT_TMP/out")
	ERR=$(cat "$VT_TMP/err")
	if [ "$rc" = "$want" ]; then
		ok "$desc: exit $want"
	else
		fail "$desc: exit $want" "exit $rc" "stdout: $OUT" "stderr: $ERR"
	fi
}

# has DESC REGEX: $OUT has a line matching REGEX (extended)
has() {
	if grep -qE -- "$2" <<<"$OUT"; then ok "$1"; else fail "$1" "no line matches: $2" "output:" "$OUT"; fi
}

# js DESC EXPR WANT: python EXPR over the JSON in $OUT equals WANT
js() {
	local got
	got=$(vt_json - "$2" <<<"$OUT" 2>&1)
	check_eq "$1" "$3" "$got"
}

# --- apply ---------------------------------------------------------------------

run "apply net.json" 0 apply "$F/net.json"
has "apply net.json reports 1 command, generation 1" '^applied 1 command\(s\), generation 1$'
run "apply of 4 files (3 objects and an array of 2) as one batch" 0 apply \
    "$F/vm1-dhcp.json" "$F/vm1-pw.json" "$F/vm1-data.json" "$F/vm2.json"
has "one batch: 5 commands applied, generation 2 (raised once)" '^applied 5 command\(s\), generation 2$'
check "vms/10.1.1.101.json written" test -f "$STATE/vms/10.1.1.101.json"
check "passwords/10.1.1.101 written, mode 0600" test "$(stat -c %a "$STATE/passwords/10.1.1.101" 2>&1)" = 600
check "dhcphosts has vm1" grep -q '02:00:4c:5f:00:01,10.1.1.101,vm1' "$STATE/dhcphosts"
check "vm2 (non-default NIC) is a tagged dhcp-host in dnsmasq.conf" grep -qE '^dhcp-host=02:00:4c:5f:00:02,set:10_1_1_102,10.1.1.102,vm2,3600$' "$STATE/dnsmasq.conf"
check "vm2 (non-default NIC) is not in dhcphosts (dnsmasq 2.90 crashes re-reading set: there)" bash -c "! grep -q '02:00:4c:5f:00:02' '$STATE/dhcphosts'"
check "dhcpopts clears options 3, 6, 15, 121 for vm2's tag" test "$(cat "$STATE/dhcpopts")" = "$(printf '10_1_1_102,3\n10_1_1_102,6\n10_1_1_102,15\n10_1_1_102,121')"

# a multi-file apply whose second file is bad changes nothing
H0=$(tree_hash "$STATE")
cat >"$F/bad.json" <<'EOF'
{"type":"dhcpentry","host_name":"vm9","mac_address":"02:00:4c:5f:00","ipv4_address":"10.1.1.109"}
EOF
cat >"$F/vm9-pw.json" <<'EOF'
{"type":"vmpassword","ip_address":"10.1.1.109","password":"pw9"}
EOF
run "apply of a good and a bad file" 1 apply "$F/vm9-pw.json" "$F/bad.json"
if grep -q 'command 1' <<<"$ERR" && grep -q 'mac_address' <<<"$ERR"; then
	ok "the error names command 1 and field mac_address"
else
	fail "the error names command 1 and field mac_address" "stderr: $ERR"
fi
check_eq "the failed apply changes no file" "$H0" "$(tree_hash "$STATE")"
run "apply of a file that is not JSON" 1 apply "$F/vm9-pw.json" /dev/null
run "apply without a file" 2 apply

# --- vms -------------------------------------------------------------------------

run "vms" 0 vms
has "vms: header" '^IP +MAC +HOSTNAME +PASSWORD +DEFAULT +METADATA-KEYS$'
has "vms: vm1 row (pending password, default NIC, 3 metadata keys)" \
    '^10\.1\.1\.101 +02:00:4c:5f:00:01 +vm1 +pending +yes +3$'
has "vms: vm2 row (no password, non-default NIC, 1 metadata key)" \
    '^10\.1\.1\.102 +02:00:4c:5f:00:02 +vm2 +- +no +1$'
has "vms: count line" '^2 VM\(s\)$'
run "vms --json" 0 --json vms
js "vms --json: the VMs' IPs" 'sorted(v["ip"] for v in j)' '["10.1.1.101", "10.1.1.102"]'
js "vms --json: vm1" '[(v["mac"], v["hostname"], v["has_password"], v["default_entry"], v["has_user_data"], sorted(v["metadata"])) for v in j if v["ip"] == "10.1.1.101"]' \
    '[["02:00:4c:5f:00:01", "vm1", true, true, true, ["availability-zone", "instance-id", "local-hostname"]]]'
js "vms --json: vm2" '[(v["mac"], v["hostname"], v["has_password"], v["default_entry"], v["lease_time"], v["metadata"]) for v in j if v["ip"] == "10.1.1.102"]' \
    '[["02:00:4c:5f:00:02", "vm2", false, false, 3600, ["instance-id"]]]'
js "vms --json: no password value anywhere" '"hY7sd8Kq" in json.dumps(j)' 'false'

# --- vm IP ------------------------------------------------------------------------

run "vm 10.1.1.101" 0 vm 10.1.1.101
has "vm: ip" '^ip: +10\.1\.1\.101$'
has "vm: mac" '^mac: +02:00:4c:5f:00:01$'
has "vm: hostname" '^hostname: +vm1$'
has "vm: default entry" '^default entry: +yes$'
has "vm: password pending" '^password: +pending$'
has "vm: user data" '^user data: +yes$'
has "vm: metadata keys" '^metadata: .*instance-id'
if grep -E '^metadata:' <<<"$OUT" | grep -q local-hostname && grep -E '^metadata:' <<<"$OUT" | grep -q availability-zone; then
	ok "vm: all three metadata keys listed"
else
	fail "vm: all three metadata keys listed" "$OUT"
fi
run "vm 10.1.1.102 --json" 0 vm 10.1.1.102 --json
js "vm --json: vm2's fields" '[j["ip"], j["mac"], j["hostname"], j["has_password"], j["default_entry"], j["has_user_data"], j["metadata"]]' \
    '["10.1.1.102", "02:00:4c:5f:00:02", "vm2", false, false, false, ["instance-id"]]'
run "vm of an unknown IP" 1 vm 10.1.1.77
if grep -q 404 <<<"$ERR"; then ok "vm of an unknown IP: the error says 404"; else fail "vm of an unknown IP: the error says 404" "$ERR"; fi
run "vm not-an-ip" 2 vm not-an-ip

# --- state ----------------------------------------------------------------------

run "state" 0 state
has "state: generation" '^generation: +2$'
has "state: counts" '^VMs: +2 \(2 DHCP entries, 1 pending passwords\)$'
has "state: state directory" "^state directory: +$STATE\$"
has "state: guest network" '^guest network: +eth1 10\.1\.1\.0/24 router 10\.1\.1\.1$'
has "state: dnsmasq" '^dnsmasq: +not running$'
run "state --json" 0 --json state
js "state --json: generation and counts" '[j["generation"], j["vms"], j["dhcp_entries"], j["pending_passwords"]]' '[2, 2, 2, 1]'
js "state --json: paths" '[j["paths"]["state_dir"], j["paths"]["dhcphosts"], j["paths"]["dnsmasq_pid_file"]]' \
    "[\"$STATE\", \"$STATE/dhcphosts\", \"${VRD_HOME[v]}/dnsmasq.pid\"]"
js "state --json: the network" '[(n["device"], n["cidr"], n["router_guest_ip"], n["domain_name"]) for n in j["networks"]]' \
    '[["eth1", "10.1.1.0/24", "10.1.1.1", "cloud.internal"]]'
js "state --json: dnsmasq not running" '[j["dnsmasq"]["running"], j["dnsmasq"]["pid"]]' '[false, null]'

# --- update-config: CloudStack file names in the cache dir -------------------------

C="$VT_TMP/cache"
mkdir -p "$C"
U1=0f8fad5b-d9cb-469f-a165-70867728950e
U2=7c9e6679-7425-40de-944b-e07fc1f90ae7
U3=16fd2706-8baf-433b-82eb-8c7fada847da
cat >"$C/vm_dhcp_entry.json.$U1" <<'EOF'
{"host_name":"vm3","mac_address":"02:00:4c:5f:00:03","ipv4_address":"10.1.1.103","ipv6_address":null,
 "ipv6_duid":null,"dns_addresses":"10.1.1.1","default_gateway":"10.1.1.1","static_routes":null,
 "default_entry":true,"remove":false,"lease_time":null,"delete_from_processed_cache":false}
EOF
cat >"$C/vm_password.json.$U2" <<'EOF'
{"ip_address":"10.1.1.103","password":"Pw3-secret"}
EOF
cat >"$C/vm_metadata.json.$U3" <<'EOF'
{"vm_ip_address":"10.1.1.103","vm_metadata":[["metadata","instance-id","i-103"],["metadata","vm-id","103"]]}
EOF
G=$(vt_gen v)
run "update-config vm_dhcp_entry.json.<uuid> (no \"type\" key)" 0 --cache-dir "$C" update-config "vm_dhcp_entry.json.$U1"
check "the dhcp entry file moved to <cache>/processed/" test -f "$C/processed/vm_dhcp_entry.json.$U1"
check "the dhcp entry file is gone from <cache>/" test ! -e "$C/vm_dhcp_entry.json.$U1"
vt_http v GET /v1/vms/10.1.1.103
js_out=$(vt_json "$HTTP_BODY_FILE" '[j["mac"], j["hostname"]]' 2>&1)
check_eq "VM 10.1.1.103 known as a dhcpentry" '["02:00:4c:5f:00:03", "vm3"]' "$js_out"
run "update-config vm_password.json.<uuid>" 0 --cache-dir "$C" update-config "vm_password.json.$U2"
run "update-config vm_metadata.json.<uuid>" 0 --cache-dir "$C" update-config "vm_metadata.json.$U3"
check "both moved to <cache>/processed/" test -f "$C/processed/vm_password.json.$U2" -a -f "$C/processed/vm_metadata.json.$U3"
check_eq "passwords/10.1.1.103 holds the password" "Pw3-secret" "$(cat "$STATE/passwords/10.1.1.103" 2>&1)"
vt_http v GET /v1/vms/10.1.1.103
js_out=$(vt_json "$HTTP_BODY_FILE" '[j["has_password"], sorted(j["metadata"])]' 2>&1)
check_eq "VM 10.1.1.103 has its password and metadata" '[true, ["instance-id", "vm-id"]]' "$js_out"
if [[ "$G" =~ ^[0-9]+$ ]]; then G=$((G + 3)); fi
check_gen "three update-config calls, three generations" "$G" "$(vt_gen v)"
# a path (not a bare name) is applied where it is and not moved
cp "$C/processed/vm_metadata.json.$U3" "$F/vm_metadata.json.$U3"
sed -i 's/"103"\]/"103"],["metadata","service-offering","small"]/' "$F/vm_metadata.json.$U3"
run "update-config with a path" 0 --cache-dir "$C" update-config "$F/vm_metadata.json.$U3"
check "a file given by path stays where it is" test -f "$F/vm_metadata.json.$U3"
# a failing update-config leaves the file in the cache
cat >"$C/vm_dhcp_entry.json.bad" <<'EOF'
{"host_name":"vm 4","mac_address":"02:00:4c:5f:00:04","ipv4_address":"10.1.1.104"}
EOF
run "update-config of a bad entry" 1 --cache-dir "$C" update-config vm_dhcp_entry.json.bad
check "a rejected file stays in <cache>/" test -f "$C/vm_dhcp_entry.json.bad" -a ! -e "$C/processed/vm_dhcp_entry.json.bad"

# --- an identical re-apply changes nothing -----------------------------------------

H1=$(tree_manifest "$STATE")
G1=$(vt_gen v)
run "identical re-apply of the 4 files" 0 apply "$F/vm1-dhcp.json" "$F/vm1-pw.json" "$F/vm1-data.json" "$F/vm2.json"
has "identical re-apply reports the same generation" "^applied 5 command\\(s\\), generation $G1\$"
H2=$(tree_manifest "$STATE")
if [ "$H1" == "$H2" ]; then
	ok "identical re-apply changes no file (tree_hash $(tree_hash "$STATE" | cut -c1-12))"
else
	fail "identical re-apply changes no file" "$(diff <(echo "$H1") <(echo "$H2"))"
fi
check_gen "identical re-apply leaves the generation" "$G1" "$(vt_gen v)"
run "identical re-apply of the network" 0 apply "$F/net.json"
check_eq "identical network re-apply changes no file" "$H1" "$(tree_manifest "$STATE")"

# --- removal --------------------------------------------------------------------------

cat >"$F/vm1-remove.json" <<'EOF'
{"host_name":"vm1","mac_address":"02:00:4c:5f:00:01","ipv4_address":"10.1.1.101","default_entry":true,
 "remove":true,"type":"dhcpentry"}
EOF
keep() { (cd "$STATE" && sha256sum vms/10.1.1.102.json vms/10.1.1.103.json passwords/10.1.1.103 && stat -c '%n %a %U %G' vms/10.1.1.102.json vms/10.1.1.103.json passwords/10.1.1.103) 2>&1; }
K0=$(keep)
run "apply remove: true for vm1" 0 apply "$F/vm1-remove.json"
check "vms/10.1.1.101.json deleted" test ! -e "$STATE/vms/10.1.1.101.json"
check "passwords/10.1.1.101 deleted" test ! -e "$STATE/passwords/10.1.1.101"
check_eq "the other VMs' files are untouched" "$K0" "$(keep)"
check "dhcphosts has no vm1 line" bash -c "! grep -q '02:00:4c:5f:00:01' '$STATE/dhcphosts'"
check "vm2 and vm3 keep their entries" bash -c "grep -q '10.1.1.102,vm2' '$STATE/dnsmasq.conf' && grep -q '10.1.1.103,vm3' '$STATE/dhcphosts'"
check "hosts has no vm1 line" bash -c "! grep -qw vm1 '$STATE/hosts'"
vt_http v GET /v1/vms/10.1.1.101
check_eq "GET /v1/vms/10.1.1.101 is 404 after removal" 404 "$HTTP_STATUS"
run "vms after removal" 0 --json vms
js "vms after removal: vm2 and vm3 remain" 'sorted(v["ip"] for v in j)' '["10.1.1.102", "10.1.1.103"]'
run "state after removal" 0 --json state
js "state after removal: 2 VMs, 1 pending password" '[j["vms"], j["pending_passwords"]]' '[2, 1]'
H3=$(tree_manifest "$STATE")
G3=$(vt_gen v)
run "removing it again" 0 apply "$F/vm1-remove.json"
check_eq "removing a removed VM changes no file" "$H3" "$(tree_manifest "$STATE")"
check_gen "removing a removed VM leaves the generation" "$G3" "$(vt_gen v)"

vt_finish
