#!/usr/bin/env bash
# tests/integration/metadata_cloudinit.sh - vr-metadata as real guests see it:
# vrd, the real dnsmasq and vr-metadata in a VR network namespace, guests in
# their own namespaces taking DHCP leases with busybox udhcpc, and Debian's
# cloud-init (22.4, run with /usr/bin/python3 through tests/lib/ci_guest.py)
# reading the metadata and the password.  Every piece of state is pushed
# through vrd with vrctl; the test never writes the state directory.
#
#   VR netns: eth1 (bridge; vrd puts 10.1.1.1/24 and 169.254.169.254/32 on it)
#             vrd on 127.0.0.1, dnsmasq (from vrd's dnsmasq.conf), vr-metadata
#             (--user nobody) on 169.254.169.254:80, 10.1.1.1:80 and loopback,
#             password server on :8080 of each
#   g1 10.1.1.101, g2 10.1.1.102 (removed later), g3 (new MAC, gets 10.1.1.102)
#
# Each guest applies its lease as a guest would (tests/lib/netns.sh
# nt_lease_apply): the option 121 routes (169.254.169.254/32 and the default
# route via the router) and a resolv.conf naming the router's dnsmasq.
# Checks:
#   a. DataSourceCloudStack finds the router itself: get_vr_address() is NOT
#      patched; it resolves "data-server" through the router's dnsmasq (vrd's
#      hosts file maps the router IP to data-server), its first method.  Its
#      get_data() gives the instance id, hostname, zone, both public keys, the
#      exact user-data bytes and the password (cloud-init's own client runs the
#      real wget against 10.1.1.1:8080 and acknowledges); a second get_data()
#      (second boot) gets no password.
#   b. cloudinit.sources.helpers.ec2 (cloud-init 22.4 has no cloudinit.ec2_utils)
#      get_instance_metadata/get_instance_userdata over 169.254.169.254: every
#      pushed key, public keys as cloud-init builds them ({name: key}), placement,
#      a dated version, and the same with an IMDSv2 token (headers_cb).
#   c. the OpenStack MetadataReader / read_metadata_service: versions, uuid,
#      name, hostname, zone, keys, user data, vendor and network data.
#   e. the trees' raw shape from g1: listings, no trailing newlines, public-keys/
#      N=NAME, placement, versions (runs before d)
#   d. isolation: g2 crawls both trees and the password server and only ever
#      sees its own data; an address no VM has is refused everywhere (vrd's
#      address bindings); when the removal of g2's entry returns, its binding
#      is gone and its address is refused; a new VM pushed on g2's old IP
#      sees only its own data (no key of the old VM survives).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/metadata.sh"

PY3=/usr/bin/python3
CI="$VT_LIB/ci_guest.py"
vt_need dnsmasq udhcpc ip wget
if ! "$PY3" -c 'import cloudinit.sources.DataSourceCloudStack' 2>/dev/null; then
	echo "not ok - Debian's cloud-init is installed for $PY3 (apt-get install cloud-init)"
	exit 1
fi
if [ ! -x "$MD_BIN" ]; then
	echo "not ok - $MD_BIN exists (run make)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "not ok - metadata_cloudinit.sh runs as root (network namespaces)"
	exit 1
fi

vt_init
nt_init                    # replaces vt_init's traps: vrd.sh's cleanup rides on nt_cleanup
nt_on_cleanup vt_cleanup
T_START=$SECONDS

ROUTER=10.1.1.1
MDIP=169.254.169.254
SPARE=10.1.1.250                                        # an address no VM has
MAC1=02:00:4c:5f:10:01 IP1=10.1.1.101 HOST1=vm-alpha    # g1
MAC2=02:00:4c:5f:10:02 IP2=10.1.1.102 HOST2=vm-beta     # g2, removed later
MAC3=02:00:4c:5f:10:03 HOST3=vm-gamma                   # g3: new VM on IP2
IID1=6f0c2a1e-51a7-4a51-9c5e-a1a1a1a1a1a1
IID2=0b7e44d2-2c9f-4e0b-8f11-b2b2b2b2b2b2
IID3=c3d1f0aa-9e61-4d7c-a0c2-c3c3c3c3c3c3
PW1='Alpha-Pw-7s9dQ'
PW2='Beta-Pw-3k2jZ'
KEY1A="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqTnA5ixY4v1Eakd7h4dI1mGzV2OepbVbS1m0X4cE9x alice@workstation"
KEY1B="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDAlphaSecondKeyOfVmAlphaBobLaptop0123456789abcdefXYZ bob@laptop"
KEY2="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBetaOnlyKeyBetaOnlyKeyBetaOnlyKeyBetaOnly0 carol@beta"
KEY3="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGammaKeyGammaKeyGammaKeyGammaKeyGammaKey0 dave@gamma"

F="$VT_TMP/files"
mkdir -p "$F"
# user data: g1 UTF-8 text pushed as base64 without padding; g2 gzip'd (binary)
printf '#cloud-config\n# alpha-ud-marker: \303\274n\303\257c\303\270d\303\251 \342\234\223\nruncmd:\n  - [echo, "alpha"]\n' >"$F/ud1"
printf '#!/bin/sh\necho beta-ud-marker\n' | gzip -n -9 >"$F/ud2"
UD1_B64=$(base64 -w0 <"$F/ud1" | tr -d '=')
UD2_B64=$(base64 -w0 <"$F/ud2")
UD1_STD=$(base64 -w0 <"$F/ud1")       # what the checks compare (cloud-init's bytes, base64)
UD2_STD=$UD2_B64

# json_of ARGS...: a JSON array of the arguments, sorted (compared with vt_json's output)
json_sorted() { "$VT_PY" -c 'import json, sys; print(json.dumps(sorted(sys.argv[1:]), sort_keys=True))' "$@"; }

# vmdata FILE IP [FOLDER NAME CONTENT]...
vmdata() {
	local f=$1
	shift
	"$VT_PY" -c 'import json, sys
a = sys.argv[2:]
t = [[a[i], a[i + 1], a[i + 2]] for i in range(1, len(a), 3)]
json.dump({"vm_ip_address": a[0], "vm_metadata": t, "type": "vmdata"}, open(sys.argv[1], "w"))' "$f" "$@"
}
# entry FILE HOST MAC IP REMOVE
entry() {
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
entry vm1.json "$HOST1" "$MAC1" "$IP1" false
entry vm2.json "$HOST2" "$MAC2" "$IP2" false
entry vm2-remove.json "$HOST2" "$MAC2" "$IP2" true
entry vm3.json "$HOST3" "$MAC3" "$IP2" false
printf '{"ip_address":"%s","password":"%s","type":"vmpassword"}\n' "$IP1" "$PW1" >"$F/pw1.json"
printf '{"ip_address":"%s","password":"%s","type":"vmpassword"}\n' "$IP2" "$PW2" >"$F/pw2.json"
vmdata "$F/md1.json" "$IP1" \
	userdata user-data "$UD1_B64" \
	metadata instance-id "$IID1" \
	metadata vm-id 101 \
	metadata local-hostname "$HOST1" \
	metadata availability-zone zone-east \
	metadata public-keys "$KEY1A"$'\n'"$KEY1B" \
	metadata service-offering "Small Instance" \
	metadata local-ipv4 "$IP1" \
	metadata public-ipv4 203.0.113.101 \
	metadata cloud-identifier "CloudStack-alpha-cloud-id" \
	metadata alpha-only alpha-custom-marker
vmdata "$F/md2.json" "$IP2" \
	userdata user-data "$UD2_B64" \
	metadata instance-id "$IID2" \
	metadata vm-id 102 \
	metadata local-hostname "$HOST2" \
	metadata availability-zone zone-west \
	metadata public-keys "$KEY2" \
	metadata service-offering "Medium Instance" \
	metadata local-ipv4 "$IP2" \
	metadata legacy-note beta-legacy-marker
vmdata "$F/md3.json" "$IP2" \
	metadata instance-id "$IID3" \
	metadata vm-id 103 \
	metadata local-hostname "$HOST3" \
	metadata availability-zone zone-west \
	metadata public-keys "$KEY3" \
	metadata service-offering "Tiny Instance" \
	metadata local-ipv4 "$IP2"
# strings of g1's that no other VM may ever be served; the same for the old g2
FORBID1=(--forbid "$IID1" --forbid "$HOST1" --forbid "${KEY1A#ssh-ed25519 }" --forbid "alice@workstation"
	--forbid "bob@laptop" --forbid alpha-ud-marker --forbid "$PW1" --forbid alpha-custom-marker
	--forbid zone-east --forbid alpha-cloud-id --forbid "$IP1")
FORBID2=(--forbid "$IID2" --forbid "$HOST2" --forbid "carol@beta" --forbid "${KEY2#ssh-ed25519 }"
	--forbid "$PW2" --forbid beta-legacy-marker --forbid "Medium Instance")

# --- topology, vrd, vr-metadata ------------------------------------------------------
nt_vr_create 02:00:11:22:33:44
VR=$NT_VR
ip -n "$VR" link set eth1 down       # vrd must bring it up
nt_guest_create g1 "$MAC1"
nt_guest_create g2 "$MAC2"
G1=$(nt_ns g1) G2=$(nt_ns g2)

vrd_new v "$VR"
H=${VRD_HOME[v]}
STATE=${VRD_STATE[v]}
DM_PIDFILE="$H/dnsmasq.pid"
DM_LEASES="$H/dnsmasq.leases"
DM_LOG="$H/dnsmasq.log"
if vrd_start v --manage-links yes --metadata-user nobody --dnsmasq-pid-file "$DM_PIDFILE" \
    --dnsmasq-lease-file "$DM_LEASES"; then
	ok "vrd starts in the VR namespace (--manage-links yes, --metadata-user nobody)"
else
	fail "vrd starts in the VR namespace"
	vt_finish
fi

# vr-metadata starts before the guest network exists: IP_FREEBIND binds
# 169.254.169.254 and 10.1.1.1 before vrd puts them on eth1
MPORT=$(vt_free_port v)
md_new m "$VR"
if md_start m --state-dir "$STATE" --user nobody --listen "$MDIP:80" --listen "$ROUTER:80" \
    --listen "127.0.0.1:$MPORT"; then
	ok "vr-metadata starts and logs 'ready' before its addresses exist (IP_FREEBIND)"
else
	fail "vr-metadata starts and logs 'ready' before its addresses exist (IP_FREEBIND)"
	md_finish
fi
check_eq "vr-metadata runs as nobody (real and effective uid)" "65534 65534" "$(md_uid m)"

DM_STARTED=0
# dnsmasq re-read its files (on SIGHUP), or read a batch's added entries
# (dhcphosts.d/, through inotify: a batch that only adds sends no SIGHUP)
READS="read $STATE/(dhcpopts|dhcphosts\.d/)"
# push DESC FILE...: one vrctl batch; restart dnsmasq if dnsmasq.conf changed
# and wait until dnsmasq has read the batch's changes
push() {
	local desc=$1 out n
	shift
	n=$(nt_dnsmasq_log_count "$READS")
	if out=$(vt_vrctl v apply "$@" 2>&1); then
		ok "push $desc (vrctl: $out)"
	else
		fail "push $desc" "$out"
		return 1
	fi
	[ "$DM_STARTED" = 1 ] || return 0
	if ! nt_dnsmasq_sync; then
		fail "dnsmasq still running when $desc was pushed" "$(tail -n 15 "$DM_LOG" 2>&1)"
		return 1
	fi
	nt_dnsmasq_wait_log "$READS" "$n" 5 ||
		fail "dnsmasq re-read its files after $desc" "$(tail -n 15 "$DM_LOG" 2>&1)"
}

push "guestnetwork eth1 10.1.1.0/24" "$F/net.json"
if nt_dnsmasq_start "$STATE/dnsmasq.conf" "$DM_PIDFILE" "$DM_LOG" --log-dhcp; then
	ok "dnsmasq starts from vrd's dnsmasq.conf"
	DM_STARTED=1
else
	fail "dnsmasq starts from vrd's dnsmasq.conf" "$(cat "$DM_LOG" 2>&1)"
	md_finish
fi
push "vm1 and vm2: dhcpentry, vmpassword, vmdata (one batch)" \
	"$F/vm1.json" "$F/vm2.json" "$F/pw1.json" "$F/pw2.json" "$F/md1.json" "$F/md2.json"

mreq "$VR" 127.0.0.1 127.0.0.1 "$MPORT" GET /healthz
check_eq "GET /healthz from loopback: 200" 200 "$R_STATUS"

# --- guests take their leases ---------------------------------------------------------
for g in g1 g2; do
	if nt_dhcp "$g" 5; then
		ok "$g gets a DHCP lease ($(nt_lease_get "$g" ip), routes: $(nt_lease_get "$g" staticroutes))"
	else
		fail "$g gets a DHCP lease" "$(tail -n 20 "$DM_LOG")"
	fi
	if nt_lease_apply "$g"; then
		ok "$g applies the lease's option 121 routes and DNS"
	else
		fail "$g applies the lease's option 121 routes and DNS" "$(nt_exec "$g" ip route 2>&1)"
	fi
done
check_eq "g1's lease: the pushed IP" "$IP1" "$(nt_lease_get g1 ip)"
check_eq "g2's lease: the pushed IP" "$IP2" "$(nt_lease_get g2 ip)"
check_eq "g1 routes 169.254.169.254 via the router (from option 121)" "$ROUTER" \
	"$(nt_exec g1 ip -4 route get "$MDIP" | sed -n 's/.* via \([0-9.]*\) .*/\1/p')"

# ci NS OUT ARGS...: ci_guest.py in a guest namespace, its JSON in OUT
ci() {
	local g=$1 out=$2
	shift 2
	nt_exec "$g" "$PY3" "$CI" "$@" >"$out" 2>"$out.err"
	if ! vt_json "$out" '1' >/dev/null 2>&1; then
		fail "ci_guest.py $* in $g prints JSON" "$(tail -n 30 "$out.err")" "$(head -c 2000 "$out")"
		return 1
	fi
}
jq_() { vt_json "$1" "$2" 2>&1; }

# --- a. the CloudStack datasource ---------------------------------------------------
J="$VT_TMP/vraddr.json"
ci g1 "$J" vr-address
check_eq "a: get_vr_address() (unpatched) finds the router through data-server DNS" \
	"$ROUTER $ROUTER" "$(jq_ "$J" '"%s %s" % (j["data_server"], j["vr_address"])')"

J="$VT_TMP/cs1.json"
ci g1 "$J" cloudstack --tmp "$VT_TMP/ci-g1"
check_eq "a: CloudStack get_data() succeeds against http://$ROUTER/" "true http://$ROUTER/" \
	"$(jq_ "$J" '"%s %s" % (str(j["get_data"]).lower(), j["metadata_address"])')"
check_eq "a: instance id" "$IID1" "$(jq_ "$J" 'j.get("instance_id")')"
check_eq "a: hostname (get_hostname, local-hostname)" "$HOST1 $HOST1" \
	"$(jq_ "$J" '"%s %s" % (j.get("hostname"), j.get("local_hostname"))')"
check_eq "a: availability zone" zone-east "$(jq_ "$J" 'j.get("availability_zone")')"
check_eq "a: both public keys" "$(json_sorted "$KEY1A" "$KEY1B")" "$(jq_ "$J" 'sorted(j.get("public_keys") or [])')"
check_eq "a: user data, exact bytes" "$UD1_STD" "$(jq_ "$J" 'j.get("userdata_b64")')"
check_eq "a: the password (real wget against $ROUTER:8080)" "$PW1" "$(jq_ "$J" 'j.get("password")')"
check_eq "a: cloud-init's config from the password" "true false" \
	"$(jq_ "$J" '"%s %s" % (str(j["cfg"].get("ssh_pwauth")).lower(), str(j["cfg"].get("chpasswd", {}).get("expire")).lower())')"
check_eq "a: instance-data.json written under the temp run_dir" true "$(jq_ "$J" 'str(j.get("instance_data_written")).lower()')"
if [ -e "$STATE/passwords/$IP1" ]; then
	fail "a: the acknowledgement (saved_password) removed passwords/$IP1" "$(ls -l "$STATE/passwords/")"
else
	ok "a: the acknowledgement (saved_password) removed passwords/$IP1"
fi
J="$VT_TMP/cs2.json"
ci g1 "$J" cloudstack --tmp "$VT_TMP/ci-g1"
check_eq "a: second boot: get_data() again, same instance, no password" "true $IID1 None {}" \
	"$(jq_ "$J" '"%s %s %s %s" % (str(j["get_data"]).lower(), j.get("instance_id"), j.get("password"), json.dumps(j.get("cfg")))')"

# --- b. the EC2 helpers ---------------------------------------------------------------
WANT_MD1=$("$VT_PY" -c 'import json, sys
a = sys.argv[1:]
print(json.dumps({"instance-id": a[0], "vm-id": "101", "local-hostname": a[1],
  "availability-zone": "zone-east", "placement": {"availability-zone": "zone-east"},
  "service-offering": "Small Instance", "local-ipv4": a[2], "public-ipv4": "203.0.113.101",
  "cloud-identifier": "CloudStack-alpha-cloud-id", "alpha-only": "alpha-custom-marker"}, sort_keys=True))' \
	"$IID1" "$HOST1" "$IP1")
# md_check TAG FILE: the crawled metadata of g1 in FILE
md_check_g1() {
	local tag=$1 J=$2
	check_eq "$tag: every pushed key with its value (public-keys aside)" "$WANT_MD1" \
		"$(jq_ "$J" '{k: v for k, v in j["metadata"].items() if k in '"$WANT_MD1"'}')"
	check_eq "$tag: public-keys as cloud-init builds them: {name: key}, both keys" \
		"$(json_sorted "$KEY1A" "$KEY1B")" "$(jq_ "$J" 'sorted(j["metadata"]["public-keys"].values())')"
	check_eq "$tag: user data, exact bytes" "$UD1_STD" "$(jq_ "$J" 'j["userdata_b64"]')"
}
J="$VT_TMP/ec2.json"
ci g1 "$J" ec2 --url "http://$MDIP/"
md_check_g1 "b: ec2 latest" "$J"
diag "public-keys: $(jq_ "$J" 'j["metadata"].get("public-keys")')"
diag "meta-data keys: $(jq_ "$J" 'sorted(j["metadata"])')"
J="$VT_TMP/ec2-dated.json"
ci g1 "$J" ec2 --url "http://$MDIP/" --version 2009-04-04
md_check_g1 "b: ec2 2009-04-04" "$J"
J="$VT_TMP/ec2-v2.json"
ci g1 "$J" ec2 --url "http://$MDIP/" --imdsv2 300
check_eq "b: IMDSv2: PUT /latest/api/token gives a token (urllib, from g1)" "200 true" \
	"$(jq_ "$J" '"%s %s" % (j["token_status"], str(j["token_len"] > 0).lower())')"
check_eq "b: IMDSv2: a GET with the token" "[200, \"$IID1\"]" "$(jq_ "$J" 'j["with_token"]')"
check_eq "b: IMDSv2: a GET with a wrong token is 401" 401 "$(jq_ "$J" 'j["bad_token_status"]')"
md_check_g1 "b: ec2 with the token in headers_cb" "$J"

# --- c. the OpenStack helpers --------------------------------------------------------
J="$VT_TMP/os.json"
ci g1 "$J" openstack --url "http://$MDIP/"
check_eq "c: read_metadata_service succeeds" "" "$(jq_ "$J" 'j.get("error", "")')"
check_eq "c: MetadataReader finds the dated versions and selects 2018-08-27" "true 2018-08-27" \
	"$(jq_ "$J" '"%s %s" % (str("2012-08-10" in (j["versions"] or []) and "2018-08-27" in (j["versions"] or [])).lower(), j["selected"])')"
diag "openstack versions: $(jq_ "$J" 'j["versions"]') $(jq_ "$J" 'j.get("versions_error", "")')"
check_eq "c: meta_data.json uuid, name, hostname, availability_zone, launch_index" \
	"$IID1 $HOST1 $HOST1 zone-east 0" \
	"$(jq_ "$J" '" ".join(str(j["metadata"].get(k)) for k in ("uuid", "name", "hostname", "availability_zone", "launch_index"))')"
check_eq "c: cloud-init's copies: instance-id and local-hostname" "$IID1 $HOST1" \
	"$(jq_ "$J" '"%s %s" % (j["metadata"].get("instance-id"), j["metadata"].get("local-hostname"))')"
check_eq "c: public_keys {name: key}, both keys" "$(json_sorted "$KEY1A" "$KEY1B")" \
	"$(jq_ "$J" 'sorted((j["metadata"].get("public_keys") or {}).values())')"
check_eq "c: user_data, exact bytes" "$UD1_STD" "$(jq_ "$J" 'j["userdata_b64"]')"
check_eq "c: vendor_data.json is {}" "{}" "$(jq_ "$J" 'j.get("vendordata")')"
check_eq "c: network_data.json is a JSON object" true "$(jq_ "$J" 'str(isinstance(j.get("networkdata"), dict)).lower()')"
check_eq "c: the ec2 metadata read alongside has g1's instance-id" "$IID1" "$(jq_ "$J" 'j.get("ec2_instance_id")')"

# --- e. the trees' shape, raw (g1 has user data and two keys; g2 is checked in d) ---
# raw PATH: GET from g1 via 169.254.169.254 (sets R_STATUS, R_BODY; body file in $MD_REQ_DIR/body)
raw() { mreq "$G1" "$IP1" "$MDIP" 80 GET "$1"; }
raw_is() { # DESC PATH WANT_STATUS WANT_BODY: exact body bytes (no trailing newline added)
	raw "$2"
	if [ "$R_STATUS" = "$3" ] && printf '%s' "$4" | cmp -s - "$MD_REQ_DIR/body"; then
		ok "e: $1"
	else
		fail "e: $1" "GET $2: $(mreq_diag)" "wanted $3 $(printf '%q' "$4")"
	fi
}
raw_status() { # DESC PATH WANT_STATUS
	raw "$2"
	check_eq "e: $1" "$3" "$R_STATUS"
}
missing_lines() { # WORD...: those that are not a line of the last body
	local w out=""
	for w in "$@"; do grep -qx -- "$w" "$MD_REQ_DIR/body" || out+="$w "; done
	echo "${out:-none}"
}
raw /
check_eq "e: / lists latest and the dated versions (200, missing: none)" "200 none" \
	"$R_STATUS $(missing_lines latest 2009-04-04 2016-09-02 2018-09-24 2021-03-23)"
raw_is "/latest: meta-data and user-data" /latest 200 $'meta-data\nuser-data'
raw_is "/latest/: meta-data and user-data" /latest/ 200 $'meta-data\nuser-data'
raw /latest/meta-data/
if [ "$R_STATUS" = 200 ] && [ -n "$R_BODY" ] && [ "$(tail -c 1 "$MD_REQ_DIR/body" | od -An -c | tr -d ' ')" != '\n' ] &&
    ! grep -qx '' "$MD_REQ_DIR/body"; then
	ok "e: /latest/meta-data/: one key per line, no empty line, no trailing newline"
else
	fail "e: /latest/meta-data/: one key per line, no empty line, no trailing newline" "$(mreq_diag)"
fi
check_eq "e: /latest/meta-data/ lists the keys, placement/ and public-keys/ as directories" \
	"alpha-only availability-zone cloud-identifier instance-id local-hostname local-ipv4 placement/ public-ipv4 public-keys/ service-offering vm-id" \
	"$(grep -vx 'hostname\|public-hostname' "$MD_REQ_DIR/body" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
raw /latest/meta-data/public-keys/
if [ "$R_STATUS" = 200 ] && "$VT_PY" -c 'import re, sys
b = open(sys.argv[1], "rb").read().decode()
m = re.fullmatch(r"0=([^\n=/]+)\n1=([^\n=/]+)", b)
sys.exit(0 if m and m.group(1) != m.group(2) else 1)' "$MD_REQ_DIR/body"; then
	ok "e: public-keys/: exactly '0=NAME' and '1=NAME' with distinct names ($(tr '\n' ' ' <"$MD_REQ_DIR/body"))"
else
	fail "e: public-keys/: exactly '0=NAME' and '1=NAME' with distinct names" "$(mreq_diag)"
fi
raw_is "public-keys/0/: openssh-key" /latest/meta-data/public-keys/0/ 200 openssh-key
raw_is "public-keys/0/openssh-key: the first key, exactly" /latest/meta-data/public-keys/0/openssh-key 200 "$KEY1A"
raw_is "public-keys/1/openssh-key: the second key, exactly" /latest/meta-data/public-keys/1/openssh-key 200 "$KEY1B"
raw_status "public-keys/2/openssh-key: 404" /latest/meta-data/public-keys/2/openssh-key 404
raw_is "placement/: availability-zone" /latest/meta-data/placement/ 200 availability-zone
raw_is "placement/availability-zone" /latest/meta-data/placement/availability-zone 200 zone-east
raw_is "availability-zone (CloudStack's leaf)" /latest/meta-data/availability-zone 200 zone-east
raw_is "service-offering: a value with a space, no trailing newline" /latest/meta-data/service-offering 200 "Small Instance"
raw_is "/latest/user-data: the decoded bytes" /latest/user-data 200 "$(cat "$F/ud1")"$'\n'
raw_is "/2016-09-02/meta-data/instance-id" /2016-09-02/meta-data/instance-id 200 "$IID1"
raw /openstack/
check_eq "e: /openstack/ lists 2012-08-10 ... 2018-08-27 and latest (200, missing: none)" "200 none" \
	"$R_STATUS $(missing_lines 2012-08-10 2013-04-04 2013-10-17 2015-10-15 2016-06-30 2016-10-06 2017-02-22 2018-08-27 latest)"
raw /openstack/2012-08-10/meta_data.json
check_eq "e: /openstack/2012-08-10/meta_data.json: uuid, name, launch_index" "$IID1 $HOST1 0" \
	"$(vt_json "$MD_REQ_DIR/body" '"%s %s %s" % (j.get("uuid"), j.get("name"), j.get("launch_index"))' 2>&1)"
raw /openstack/latest/vendor_data.json
check_eq "e: /openstack/latest/vendor_data.json: 200 {}" "200 {}" "$R_STATUS $(vt_json "$MD_REQ_DIR/body" j 2>&1)"
raw_status "an unknown key: 404" /latest/meta-data/nonexistent-key 404
raw_status "a path below a leaf (openssh-key/x): 404" /latest/meta-data/public-keys/0/openssh-key/x 404

# --- d. isolation ------------------------------------------------------------------------
# crawl NS SRC OUT ARGS...: md_client.py crawl of both listen addresses and the
# password servers from namespace NS with source SRC
crawl() {
	local g=$1 src=$2 out=$3
	shift 3
	nt_exec "$g" "$VT_PY" "$MD_CLIENT" crawl --src "$src" --host "$MDIP" --host "$ROUTER" --pw-port 8080 \
		--path /latest/meta-data/alpha-only --path /latest/meta-data/legacy-note "$@" >"$out" 2>"$out.err"
	vt_json "$out" 1 >/dev/null 2>&1 || fail "md_client.py crawl from $g ($src) prints JSON" "$(tail -n 20 "$out.err")"
}
# vt_json_b OUT KEY: "STATUS BODY" of a crawled response (body as text)
vt_json_b() { "$VT_PY" -c 'import base64, json, sys
j = json.load(open(sys.argv[1]))
k = sys.argv[2]
r = j["responses"].get(k)
print("(not crawled)" if r is None else "%d %s" % (r["status"], base64.b64decode(r["body_b64"]).decode("utf-8", "replace")))' "$1" "$2"; }
# vt_json_b64 OUT KEY: "STATUS BODY_BASE64"
vt_json_b64() { "$VT_PY" -c 'import json, sys
j = json.load(open(sys.argv[1])); r = j["responses"].get(sys.argv[2])
print("(not crawled)" if r is None else "%d %s" % (r["status"], r["body_b64"]))' "$1" "$2"; }

J="$VT_TMP/crawl-g2.json"
crawl g2 "$IP2" "$J" "${FORBID1[@]}"
check_eq "d: g2's crawl of both trees, both addresses and the password server: nothing of g1" "[]" \
	"$(jq_ "$J" 'j["forbid_hits"]')"
diag "g2 crawled $(jq_ "$J" 'j["count"]') paths; statuses $(jq_ "$J" 'j["statuses"]')"
for h in "$MDIP" "$ROUTER"; do
	check_eq "d: g2 via $h: its own instance-id" "200 $IID2" "$(vt_json_b "$J" "$h/latest/meta-data/instance-id")"
	check_eq "d: g2 via $h: its own user data (gzip, exact bytes)" "200 $UD2_STD" "$(vt_json_b64 "$J" "$h/latest/user-data")"
	check_eq "d: g2 via $h: g1's custom key is 404" "404" "$(vt_json_b "$J" "$h/latest/meta-data/alpha-only" | cut -d' ' -f1)"
	check_eq "d: g2 via $h: its own custom key" "200 beta-legacy-marker" "$(vt_json_b "$J" "$h/latest/meta-data/legacy-note")"
	check_eq "d: g2 via $h:8080: its own password" "200 $PW2" "$(vt_json_b "$J" "pw:$h:8080")"
	check_eq "d: g2 via $h: openstack meta_data.json uuid" "$IID2" \
		"$(vt_json_b "$J" "$h/openstack/latest/meta_data.json" | cut -d' ' -f2- | vt_json - 'j.get("uuid")')"
	check_eq "d: g2 via $h: its own public key" "200 $KEY2" "$(vt_json_b "$J" "$h/latest/meta-data/public-keys/0/openssh-key")"
	check_eq "d: g2 via $h: no second public key" "404" "$(vt_json_b "$J" "$h/latest/meta-data/public-keys/1/openssh-key" | cut -d' ' -f1)"
done
J="$VT_TMP/ec2-g2.json"
ci g2 "$J" ec2 --url "http://$MDIP/"
check_eq "d: cloud-init's crawl from g2: its instance-id, key and exact gzip'd user data" \
	"$IID2 [\"$KEY2\"] $UD2_STD" \
	"$(jq_ "$J" '"%s %s %s" % (j["metadata"]["instance-id"], json.dumps(list(j["metadata"]["public-keys"].values())), j["userdata_b64"])')"

# an address no VM has: vrd's address bindings refuse it at the router (a
# TCP reset at once) before vr-metadata sees it; no data, no password
nt_exec g2 ip addr add "$SPARE/24" dev eth0
J="$VT_TMP/crawl-spare.json"
crawl g2 "$SPARE" "$J" "${FORBID1[@]}" "${FORBID2[@]}"
check_eq "d: from $SPARE (no VM): every path of both trees on both addresses is refused" \
	'{"0": '"$(jq_ "$J" 'j["count"]')"'}' "$(jq_ "$J" 'j["statuses"]')"
check_eq "d: from $SPARE: no VM's data anywhere (password server included)" "[]" "$(jq_ "$J" 'j["forbid_hits"]')"
nt_exec g2 ip addr del "$SPARE/24" dev eth0

# g2's entry removed: its binding goes with the batch, its address is refused at once
if out=$(vt_vrctl v apply "$F/vm2-remove.json" 2>&1); then
	ok "push dhcpentry vm2 remove: true ($out)"
else
	fail "push dhcpentry vm2 remove: true" "$out"
fi
if ip netns exec "$VR" nft list set inet vrd_guard bindings | grep -q "$IP2 "; then
	fail "d: when vrctl returns, g2's address binding is gone" \
		"$(ip netns exec "$VR" nft list set inet vrd_guard bindings 2>&1)"
else
	ok "d: when vrctl returns, g2's address binding is gone"
fi
nt_dnsmasq_sync >/dev/null || fail "dnsmasq still runs after the removal"
J="$VT_TMP/crawl-removed.json"
crawl g2 "$IP2" "$J" "${FORBID1[@]}" "${FORBID2[@]}"
check_eq "d: removed g2: every path of both trees is refused" \
	'{"0": '"$(jq_ "$J" 'j["count"]')"'}' "$(jq_ "$J" 'j["statuses"]')"
check_eq "d: removed g2: no data of its own or g1's anywhere, no password" "[]" "$(jq_ "$J" 'j["forbid_hits"]')"
check "d: vrd dropped g2's pending password file" test ! -e "$STATE/passwords/$IP2"

# a new VM on g2's old IP
nt_exec g2 ip -4 addr flush dev eth0    # g2 is gone: its address must not answer ARP
nt_guest_create g3 "$MAC3"
push "vm3: new MAC and instance on $IP2 (dhcpentry, vmdata)" "$F/vm3.json" "$F/md3.json"
if nt_dhcp g3 5 && nt_lease_apply g3; then
	ok "g3 gets a lease ($(nt_lease_get g3 ip)) and applies it"
else
	fail "g3 gets a lease and applies it" "$(tail -n 20 "$DM_LOG")"
fi
check_eq "g3's lease: g2's old IP" "$IP2" "$(nt_lease_get g3 ip)"
J="$VT_TMP/crawl-g3.json"
crawl g3 "$IP2" "$J" "${FORBID1[@]}" "${FORBID2[@]}"
check_eq "d: new VM g3: nothing of the old VM on its IP, nor of g1, anywhere" "[]" "$(jq_ "$J" 'j["forbid_hits"]')"
check_eq "d: g3: its own instance-id" "200 $IID3" "$(vt_json_b "$J" "$MDIP/latest/meta-data/instance-id")"
check_eq "d: g3: the old VM's custom key is 404" "404" "$(vt_json_b "$J" "$MDIP/latest/meta-data/legacy-note" | cut -d' ' -f1)"
check_eq "d: g3: no user data (the old VM's is gone)" "404 404" \
	"$(vt_json_b "$J" "$MDIP/latest/user-data" | cut -d' ' -f1) $(vt_json_b "$J" "$ROUTER/openstack/latest/user_data" | cut -d' ' -f1)"
check_eq "d: g3: no password (the old VM's pending one is gone)" "200 saved_password" "$(vt_json_b "$J" "pw:$ROUTER:8080")"
mreq "$(nt_ns g3)" "$IP2" "$MDIP" 80 GET /latest
check_eq "d: g3 (no user data): /latest lists only meta-data" "200 meta-data" "$R_STATUS $R_BODY"
J="$VT_TMP/ec2-g3.json"
ci g3 "$J" ec2 --url "http://$MDIP/"
check_eq "d: cloud-init's crawl from g3: no key beyond the new VM's own (and placement)" "[]" \
	"$(jq_ "$J" 'sorted(set(j["metadata"]) - {"availability-zone", "instance-id", "local-hostname", "local-ipv4", "placement", "public-keys", "service-offering", "vm-id"})')"
check_eq "d: cloud-init's crawl from g3: instance-id, its one key, no user data" "$IID3 [\"$KEY3\"] ''" \
	"$(jq_ "$J" '"%s %s %r" % (j["metadata"]["instance-id"], json.dumps(list(j["metadata"]["public-keys"].values())), j["userdata_b64"])')"
J="$VT_TMP/cs-g3.json"
ci g3 "$J" cloudstack --tmp "$VT_TMP/ci-g3"
check_eq "d: g3's CloudStack datasource: new instance, its hostname, no password" "true $IID3 $HOST3 None" \
	"$(jq_ "$J" '"%s %s %s %s" % (str(j["get_data"]).lower(), j.get("instance_id"), j.get("hostname"), j.get("password"))')"

mreq "$G1" "$IP1" "$MDIP" 80 GET /latest/meta-data/instance-id
check_eq "g1 still gets its own instance-id at the end" "200 $IID1" "$R_STATUS $R_BODY"
check "dnsmasq still runs at the end" nt_dnsmasq_alive
check "vr-metadata still runs at the end" md_alive m
diag "runtime $((SECONDS - T_START)) s"
md_finish
