#!/usr/bin/env bash
# tests/integration/faults.sh - vrd, dnsmasq and vr-metadata when what they
# stand on fails.
#   1. full disk: vrd's state directory on a 2 MiB tmpfs mounted by the test
#      and filled up: a new VM's batch and a change to an existing VM get 507
#      with a JSON error, and the state directory is byte for byte as before
#      (no journal, no temporary file left), the generation too; vrd keeps
#      serving; once space is freed the same batch gets 200.
#   2. dnsmasq killed (SIGKILL) and started again: the guest's lease is in
#      the lease file, its running udhcpc renews the same IP from the new
#      dnsmasq, and a VM pushed while dnsmasq was down gets its IP from the
#      new one.
#   3. vr-metadata restarted (SIGTERM, start) while four guests fetch in a
#      loop (tests/lib/md_loop.py): at most the requests in flight are lost
#      (lost <= 4, the loop's concurrency), every answer is the guest's own,
#      the guests are served again after the restart, and an IMDSv2 token
#      issued before the restart is refused after it (new key per start).
# Needs root (mount, network namespaces).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"

vt_need --root "mount, network namespaces" dnsmasq udhcpc ip
vt_init
nt_init                    # replaces vt_init's traps: vrd.sh's cleanup rides on nt_cleanup
nt_on_cleanup vt_cleanup
T_START=$SECONDS

# --- 1. a full disk ------------------------------------------------------------------------------
MNT=$(mktemp -d /tmp/vrd-full.XXXXXX)
umount_full() {
	mountpoint -q "$MNT" && umount -l "$MNT"
	rmdir "$MNT" 2>/dev/null
}
nt_on_cleanup umount_full
if mount -t tmpfs -o size=2m,mode=0755 tmpfs "$MNT"; then
	ok "a 2 MiB tmpfs is mounted for the state directory"
else
	fail "a 2 MiB tmpfs is mounted for the state directory"
	vt_finish
fi
vrd_new full
VRD_STATE[full]="$MNT/state"
vrd_start full || { fail "vrd starts with its state directory on the tmpfs"; vt_finish; }
vm_batch() { # IP N USERDATA_BYTES
	printf '[{"type":"dhcpentry","host_name":"vm%s","mac_address":"02:00:4c:5f:00:%02x","ipv4_address":"%s"},' "$2" "$2" "$1"
	printf '{"type":"vmpassword","ip_address":"%s","password":"pw-%s"},' "$1" "$2"
	printf '{"type":"vmdata","vm_ip_address":"%s","vm_metadata":[["metadata","instance-id","i-%s"],["userdata","user-data","%s"]]}]' \
		"$1" "$2" "$(head -c "$3" /dev/urandom | base64 -w0)"
}
vt_http full POST /v1/commands --body '{"type":"guestnetwork","device":"eth1","router_guest_ip":"10.1.1.1","cidr":"10.1.1.0/24","dns":"10.1.1.1","domain_name":"cloud.internal","add":true}'
check_eq "guest network accepted" 200 "$HTTP_STATUS"
vm_batch 10.1.1.101 101 20000 >"$VT_TMP/vm1.json"
vt_http full POST /v1/commands --body-file "$VT_TMP/vm1.json"
check_eq "a VM with 20 KB of user data accepted" 200 "$HTTP_STATUS"

# fill the file system up (the filler sits beside the state directory)
dd if=/dev/zero of="$MNT/filler" bs=4096 >/dev/null 2>&1
avail=$(df --output=avail -B1 "$MNT" | tail -n 1 | tr -d ' ')
check_eq "the tmpfs is full (0 bytes available)" 0 "$avail"
tree_manifest "$MNT/state" >"$VT_TMP/full.manifest"
G_FULL=$(vt_gen full)

vm_batch 10.1.1.102 102 20000 >"$VT_TMP/vm2.json"
# full_refused DESC VT_HTTP_ARGS...: 507, JSON error, nothing changed
full_refused() {
	local desc=$1
	shift
	vt_http full POST /v1/commands "$@"
	check_eq "disk full: $desc gets 507" 507 "$HTTP_STATUS"
	check_eq "  ... with a JSON error that says so" true \
		"$(vt_json "$HTTP_BODY_FILE" '"disk full" in j["error"] and set(j) == {"error", "index", "field"}' 2>&1)"
	if tree_manifest "$MNT/state" | cmp -s - "$VT_TMP/full.manifest"; then
		ok "  ... the state directory is byte for byte as before (no journal, no temporary file)"
	else
		fail "  ... the state directory is byte for byte as before" \
		    "$(tree_manifest "$MNT/state" | diff "$VT_TMP/full.manifest" - | head -n 20)"
	fi
	check_gen "  ... the generation is unchanged" "$G_FULL" "$(vt_gen full)"
}
full_refused "a new VM's batch" --body-file "$VT_TMP/vm2.json"
full_refused "new metadata for the existing VM" --body \
	'{"type":"vmdata","vm_ip_address":"10.1.1.101","vm_metadata":[["metadata","instance-id","i-101-new"]]}'
full_refused "a new password for the existing VM" --body \
	'{"type":"vmpassword","ip_address":"10.1.1.101","password":"another-pw"}'
check "vrd still runs" vrd_alive full
vt_http full GET /v1/vms
check_eq "GET /v1/vms: still exactly the one VM" "200 10.1.1.101" \
	"$HTTP_STATUS $(vt_json "$HTTP_BODY_FILE" '" ".join(v["ip"] for v in j)' 2>&1)"
vt_http full GET /healthz
diag "GET /healthz with the disk full: $HTTP_STATUS $HTTP_BODY"
rm -f "$MNT/filler"
vt_http full POST /v1/commands --body-file "$VT_TMP/vm2.json"
check_eq "space freed: the same batch gets 200" 200 "$HTTP_STATUS"
check "  ... and its files are there" test -s "$MNT/state/vms/10.1.1.102.json" -a -s "$MNT/state/passwords/10.1.1.102"
vrd_stop full
check_eq "vrd stops on SIGTERM with status 0" 0 "$?"

# --- 2. dnsmasq killed and started again ---------------------------------------------------------
ROUTER=10.1.1.1
MAC1=02:00:4c:5f:10:01 IP1=10.1.1.101
MAC2=02:00:4c:5f:10:02 IP2=10.1.1.102
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
nt_guest_create g1 "$MAC1"
nt_guest_create g2 "$MAC2"
vrd_new v "$VR"
H=${VRD_HOME[v]}
STATE=${VRD_STATE[v]}
DM_PIDFILE="$H/dnsmasq.pid" DM_LEASES="$H/dnsmasq.leases" DM_LOG="$H/dnsmasq.log"
vrd_start v --manage-links yes --dnsmasq-pid-file "$DM_PIDFILE" --dnsmasq-lease-file "$DM_LEASES" ||
	{ fail "vrd starts in the VR namespace"; vt_finish; }
entry() { # HOST MAC IP
	printf '{"type":"dhcpentry","host_name":"%s","mac_address":"%s","ipv4_address":"%s","default_entry":true,"lease_time":null}' "$@"
}
vt_http v POST /v1/commands --body "[{\"type\":\"guestnetwork\",\"device\":\"eth1\",\"router_guest_ip\":\"$ROUTER\",\"cidr\":\"10.1.1.0/24\",\"dns\":\"$ROUTER\",\"domain_name\":\"cloud.internal\",\"add\":true},$(entry vm1 "$MAC1" "$IP1")]"
check_eq "guest network and vm1 pushed" 200 "$HTTP_STATUS"
if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts from vrd's dnsmasq.conf"
else
	fail "dnsmasq starts from vrd's dnsmasq.conf" "$(cat "$DM_LOG" 2>&1)"
	vt_finish
fi
if nt_dhcp_bg g1; then ok "g1 gets a lease"; else fail "g1 gets a lease" "$(tail -n 20 "$DM_LOG")"; fi
check_eq "g1's lease is $IP1" "$IP1" "$(nt_lease_get g1 ip)"
DM_OLD=$NT_DNSMASQ_PID
kill -KILL "$DM_OLD"
nt_dnsmasq_stop
check_eq "dnsmasq killed with SIGKILL (exit status 137)" 137 "${NT_DNSMASQ_EXITS[-1]}"
check "the lease file holds g1's lease" grep -q " $MAC1 $IP1 " "$DM_LEASES"
# a VM pushed while dnsmasq is down: vrd stores it and says so
vt_http v POST /v1/commands --body "$(entry vm2 "$MAC2" "$IP2")"
check_eq "vm2 pushed while dnsmasq is down: 200" 200 "$HTTP_STATUS"
if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts again (pid $NT_DNSMASQ_PID, was $DM_OLD)"
else
	fail "dnsmasq starts again" "$(tail -n 20 "$DM_LOG" 2>&1)"
	vt_finish
fi
ev=$(nt_dhcp_renew g1 10)
check_eq "g1's running udhcpc renews from the new dnsmasq and keeps $IP1" "renew $IP1 $IP1" "$ev $(nt_lease_get g1 ip)"
if nt_dhcp g2 5; then ok "g2 (pushed while dnsmasq was down) gets a lease"; else fail "g2 gets a lease" "$(tail -n 20 "$DM_LOG")"; fi
check_eq "g2's lease is $IP2" "$IP2" "$(nt_lease_get g2 ip)"
check "the lease file holds both leases" bash -c "grep -q ' $MAC1 $IP1 ' '$DM_LEASES' && grep -q ' $MAC2 $IP2 ' '$DM_LEASES'"
kill -TERM "${NT_DHCP_PID[g1]}" 2>/dev/null

# --- 3. vr-metadata restarted while guests fetch -------------------------------------------------
GUESTS=(10.1.1.111 10.1.1.112 10.1.1.113 10.1.1.114)
b=""
for ip in "${GUESTS[@]}"; do
	n=${ip##*.}
	b+="$(entry "vm$n" "$(printf '02:00:4c:5f:20:%02x' "$n")" "$ip"),{\"type\":\"vmdata\",\"vm_ip_address\":\"$ip\",\"vm_metadata\":[[\"metadata\",\"instance-id\",\"i-$n\"]]},"
	ip -n "$VR" addr add "$ip/32" dev lo
done
vt_http v POST /v1/commands --body "[${b%,}]"
check_eq "four guests pushed" 200 "$HTTP_STATUS"
md_new m "$VR"
MDARGS=(--state-dir "$STATE" --user nobody --listen "$ROUTER:80" --password-port 8080)
md_start m "${MDARGS[@]}" || { fail "vr-metadata starts"; md_finish; }
req() { mreq "$VR" "$@"; }
req "${GUESTS[0]}" "$ROUTER" 80 PUT /latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 600"
TOK=$R_BODY
req "${GUESTS[0]}" "$ROUTER" 80 GET /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $TOK"
check_eq "a token from the first instance works" "200 i-111" "$R_STATUS $R_BODY"

L="$VT_TMP/loop"
mkdir -p "$L"
pairs=()
for ip in "${GUESTS[@]}"; do pairs+=("$ip=i-${ip##*.}"); done
vt_bg ip netns exec "$VR" "$VT_PY" "$VT_LIB/md_loop.py" --host "$ROUTER" --port 80 --workdir "$L" "${pairs[@]}"
LOOP=$VT_LAST_PID
progress() { awk -v k="$1" '{for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1)}' "$L/progress" 2>/dev/null || echo 0; }
wait_ok() { # N: until the loop has N answers ok (bounded: 20 s)
	local i
	for i in $(seq 1000); do
		[ "$(progress ok)" -ge "$1" ] 2>/dev/null && return 0
		vt_alive "$LOOP" || return 1
		sleep 0.02
	done
	return 1
}
wait_ok 200 && ok "the guests fetch in a loop ($(cat "$L/progress"))" || fail "the guests fetch in a loop" "$(cat "$L/progress" 2>&1)"
before=$(progress ok)
md_stop m
check_eq "vr-metadata stops on SIGTERM with status 0 while the guests fetch" 0 "$?"
md_start m "${MDARGS[@]}" || { fail "vr-metadata starts again"; md_finish; }
ok "vr-metadata starts again"
wait_ok $((before + 400)) && ok "the guests are served again after the restart" ||
	fail "the guests are served again after the restart" "$(cat "$L/progress" 2>&1)"
touch "$L/stop"
for i in $(seq 500); do vt_alive "$LOOP" || break; sleep 0.02; done
wait "$LOOP" 2>/dev/null
J="$L/result.json"
diag "restart under load: $(vt_json "$J" 'j["counts"]' 2>&1); lost: $(vt_json "$J" 'j["lost"]' 2>&1)"
check_eq "at most the requests in flight are lost (lost <= ${#GUESTS[@]}, the loop's concurrency)" true \
	"$(vt_json "$J" 'j["counts"]["lost"] <= j["threads"] and j["threads"] == 4' 2>&1)"
check_eq "  ... and the guests got their own data every other time (ok > 600)" true \
	"$(vt_json "$J" 'j["counts"]["ok"] > 600' 2>&1)"
req "${GUESTS[0]}" "$ROUTER" 80 GET /latest/meta-data/instance-id -H "X-aws-ec2-metadata-token: $TOK"
check_eq "a token issued before the restart is refused after it (replay)" 401 "$R_STATUS"
req "${GUESTS[1]}" "$ROUTER" 80 GET /latest/meta-data/instance-id
check_eq "  ... while tokenless requests are served" "200 i-112" "$R_STATUS $R_BODY"
check "dnsmasq still runs" nt_dnsmasq_alive
nt_dnsmasq_stop
check_eq "dnsmasq stops on SIGTERM with status 0" 0 "$?"
diag "runtime $((SECONDS - T_START)) s"
md_finish
