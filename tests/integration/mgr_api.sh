#!/usr/bin/env bash
# tests/integration/mgr_api.sh - vr-manager's command line, `init` with bad
# inventories, and the API's front door: CloudStack signatures made by an
# independent Python signer (GET and POST), every way a signature can be
# wrong (401), signatureVersion 3 expiry, admin-only commands, malformed
# and oversized requests (431, the daemon keeps serving), a wrong path (404) or
# method (405) on one keep-alive connection, and the sync
# phase's parameter errors (431, nothing recorded).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init

# --- the command line ------------------------------------------------------------

# run DESC WANT_RC ARGS...: vr-manager with stdout+stderr in $OUT
run() {
	local desc=$1 want=$2 rc
	shift 2
	OUT=$("$MGR_BIN" "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$desc: exit $want"
	else
		fail "$desc: exit $want" "exit $rc" "$OUT"
	fi
}
# has DESC NEEDLE: $OUT contains NEEDLE
has() {
	if [[ "$OUT" == *"$2"* ]]; then ok "$1"; else fail "$1" "no \"$2\" in:" "$OUT"; fi
}

run "--help" 0 --help
has "--help lists the commands and keys" "serve"
has "--help names the workers key" "--workers"
run "--version" 0 --version
has "--version prints the version" "vr-manager "
run "-n with an empty config" 0 -c /dev/null -n
has "-n reports the database key" "db = "
run "--check-config with keys on the command line" 0 -c /dev/null --workers 7 --check-config
has "--check-config shows the command-line value" "workers = 7"
run "unknown option" 2 -c /dev/null --bogus-key 1 -n
has "the unknown option is named" "bogus-key"
printf 'db = /tmp/x.db\nfrobnicate = 3\n' >"$VT_TMP/bad.conf"
run "unknown key in the config file" 2 -c "$VT_TMP/bad.conf" -n
has "the unknown config key is named" "frobnicate"
run "workers out of range" 2 -c /dev/null --workers 0 -n
has "the bad key is named" "workers"
# each key is checked once, by its type, for -n and a start alike
for bad in "--domain-type xen" "--group-commit maybe" "--console-dir relative/dir" \
    "--api-threads 65" "--listen 127.0.0.1"; do
	key=${bad%% *}
	key=${key#--}
	run "$bad with -n" 2 -c /dev/null $bad -n
	has "-n names $key" "vr-manager: $key: "
	n_out=$OUT
	run "$bad with serve" 2 -c /dev/null --db "$VT_TMP/none.db" $bad serve
	if [ "$OUT" = "$n_out" ]; then ok "serve reports $bad as -n does"
	else fail "serve reports $bad as -n does" "-n: $n_out" "serve: $OUT"; fi
done
[ ! -e "$VT_TMP/none.db" ] && ok "no database was created by a refused start" ||
	fail "no database was created by a refused start"
run "no command" 2 -c /dev/null
run "unknown command" 2 -c /dev/null --db "$VT_TMP/none.db" frobnicate
has "the unknown command is named" "frobnicate"
run "init without --inventory" 2 -c /dev/null --db "$VT_TMP/none.db" init

# --- init with bad inventories ------------------------------------------------------

W="$VT_TMP/world"
mgr_world "$W" --hosts 2 --vr-url http://127.0.0.1:9 --vr-token tok || {
	fail "mgr_inventory.py writes a world"
	mgr_finish
}
mgr_new m
INV="$W/inventory.json"

# bad_inv NAME EXPR: a copy of the inventory changed by a python statement on `j`
bad_inv() {
	"$VT_PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(j, open(sys.argv[2], "w"))' "$INV" "$VT_TMP/$1.json" "$2"
}
bad_inv unknown_key 'j["hosts"][1]["frobnicate"] = 1'
bad_inv bad_cidr 'j["networks"][0]["cidr"] = "10.1.1.0/33"'
bad_inv missing_cluster 'j["hosts"][1]["cluster"] = "cluster9"'
bad_inv bad_gateway 'j["networks"][0]["gateway"] = "10.2.0.1"'

rows() { # rows in the tables an init fills (0 when the file is absent)
	VT_LIB="$VT_LIB" "$VT_PY" -c '
import os, sys
sys.path.insert(0, os.environ["VT_LIB"])
import mgr_db
if not mgr_db.is_pg(sys.argv[1]) and not os.path.exists(sys.argv[1]):
    print(0); sys.exit()
c = mgr_db.Conn(sys.argv[1])
if c.pg and c.rows("SELECT to_regclass(?)", ("zone",))[0][0] is None:
    print(0); sys.exit()  # not migrated yet: the inventory was refused first
print(sum(c.rows("SELECT COUNT(*) FROM " + t)[0][0] for t in
          ("zone", "pod", "cluster", "host", "pool", "secondary", "template", "offering",
           "network", "account", "resource_count")))' "${MGR_DB[m]}"
}

for t in "unknown_key hosts[1].frobnicate" "bad_cidr networks[0].cidr" \
    "missing_cluster hosts[1].cluster" "bad_gateway networks[0].gateway"; do
	set -- $t
	mgr_init m "$VT_TMP/$1.json"
	check_eq "init with $1: exit 2" 2 "$MGR_RC"
	OUT=$MGR_OUT
	has "init with $1: the message names $2" "$2"
	check_eq "init with $1: nothing stored" 0 "$(rows)"
done
mgr_init m "$INV"
check_eq "init with the good inventory after the bad ones: exit 0" 0 "$MGR_RC"
check "the good inventory is stored" test "$(rows)" -gt 0
mgr_init m "$INV"
check_eq "init again with the same ids: exit 2" 2 "$MGR_RC"
OUT=$MGR_OUT
has "init again: the duplicate is named" "already in the database"

# --- the API --------------------------------------------------------------------------

if ! mgr_start m; then
	fail "vr-manager starts"
	mgr_finish
fi

mgr_admin m listHosts
check_eq "listHosts (signed GET by cs_api.py): HTTP 200" 200 "$MGR_STATUS"
check_eq "listHosts shows both hosts" 2 "$(vt_json "$VT_TMP/mgr.json" 'j["listhostsresponse"]["count"]')"
mgr_call m admin-key wrong-secret listHosts
check_eq "wrong secret: HTTP 401" 401 "$MGR_STATUS"
check_eq "wrong secret: errorcode 401" 401 \
    "$(vt_json "$VT_TMP/mgr.json" 'j["listhostsresponse"]["errorcode"]')"

mgr_py m <<'EOF'
import datetime

def code(js):
    return body(js).get("errorcode") if js else None

# signed requests, GET and POST, with values that need encoding
for meth in ("GET", "POST"):
    st, js = admin.call("listVirtualMachines", method=meth, name="a b+c&d=e%f~g*h/ü")
    check_eq("listVirtualMachines with awkward values, signed %s: 200" % meth, 200, st)
    st, js = admin.call("listCapacity", method=meth)
    check_eq("listCapacity signed %s: 200" % meth, 200, st)
    check_eq("listCapacity %s: three types" % meth, [0, 1, 3],
             sorted(c["type"] for c in body(js).get("capacity", [])))

# a parameter changed after signing
qs = admin.query("listVirtualMachines", {"name": "vm1"})
st, js = admin.raw(qs)
check_eq("untouched signed query: 200", 200, st)
st, js = admin.raw(qs.replace("name=vm1", "name=vm2"))
check_eq("a parameter changed after signing: 401", (401, 401), (st, code(js)))
st, js = admin.raw(qs + "&state=Running")
check_eq("a parameter added after signing: 401", 401, st)
st, js = admin.raw(qs, "POST")
check_eq("the signed query as a POST body: 200", 200, st)
st, js = admin.raw(qs.replace("name=vm1", "name=vm2"), "POST")
check_eq("POST with a parameter changed after signing: 401", 401, st)

st, js = Client(URL, "nobody-key", "admin-secret").call("listVirtualMachines")
check_eq("unknown apiKey: 401", (401, 401), (st, code(js)))
st, js = Client(URL, "alice-key", "admin-secret").call("listVirtualMachines")
check_eq("another account's secret: 401", 401, st)
qs = "&".join(p for p in admin.query("listVirtualMachines", {}).split("&")
              if not p.startswith("signature="))
st, js = admin.raw(qs)
check_eq("missing signature: 401", (401, 401), (st, code(js)))
st, js = admin.raw(qs + "&signature=")
check_eq("empty signature: 401", 401, st)
st, js = admin.raw("command=listVirtualMachines&response=json&signature=abc")
check_eq("missing apiKey: 401", 401, st)
st, js = alice.call("listVirtualMachines")
check_eq("alice's own signature: 200", 200, st)

def iso(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%S+0000")

st, js = admin.call("listVirtualMachines", signatureVersion="3", expires=iso(-60))
check_eq("signatureVersion=3, expires a minute ago: 401", 401, st)
st, js = admin.call("listVirtualMachines", signatureVersion="3", expires=iso(600))
check_eq("signatureVersion=3, expires in ten minutes: 200", 200, st)
st, js = admin.call("listVirtualMachines", signatureVersion="3")
check_eq("signatureVersion=3 without expires: 401", 401, st)
st, js = admin.call("listVirtualMachines", signatureVersion="3", expires="tomorrow")
check_eq("signatureVersion=3 with a malformed expires: 401", 401, st)

# roles and commands
st, js = alice.call("listHosts")
check("a user account calling listHosts is refused with 401",
      st == 401 and code(js) == 401 and "host" not in body(js), st, js)
st, js = alice.call("listCapacity")
check_eq("a user account calling listCapacity: 401", 401, st)
st, js = admin.call("frobnicateVirtualMachine")
check("unknown command: an error, not 200", st != 200 and code(js) in (401, 432), st, js)
st, js = Client(URL, "nobody-key", "x").call("frobnicateVirtualMachine")
check_eq("unknown command from a stranger: 401 (authentication first)", 401, st)

# malformed queries: 431 before anything else
good = admin.query("listVirtualMachines", {})
for desc, qs in (("bad %-escape", good + "&x=%zz"),
                 ("truncated %-escape", good + "&x=%4"),
                 ("%00 in a value", good + "&x=a%00b"),
                 ("duplicate key", good + "&apiKey=admin-key"),
                 ("duplicate key in another case", good + "&APIKEY=admin-key"),
                 ("empty key", good + "&=x"),
                 ("key with a bad character", good + "&a%20b=1")):
    for meth in ("GET", "POST"):
        st, js = admin.raw(qs, meth)
        check_eq("%s (%s): 431" % (desc, meth), (431, 431), (st, code(js)))

# oversized requests: an error, and the daemon keeps serving
big = good + "&pad=" + "x" * (70 * 1024)
st, js = admin.raw(big, "POST")
check_eq("POST body > 64 KiB: 431", (431, 431), (st, code(js)))
try:
    st, js = admin.raw(big, "GET")
except Exception as e:  # the server may also just close the connection
    st, js = -1, {"exception": repr(e)}
check("GET URL > 64 KiB: refused", st != 200, st)
many = good + "".join("&p%d=1" % i for i in range(200))
st, js = admin.raw(many, "POST")
check_eq("200 parameters: 431", 431, st)
st, js = admin.raw(good + "&pad=" + "x" * (1 << 20), "POST")
check_eq("POST body of 1 MiB: 431", 431, st)
st, js = admin.call("listHosts")
check_eq("after the oversized requests the daemon still answers: 200", 200, st)

# the HTTP adapter's own refusals (lib/httpd.c): a path other than /client/api is
# 404, a method other than GET and POST 405, in plain text; a body sent to either is
# read and dropped, and the connection still serves the next request
import http.client, urllib.parse
u = urllib.parse.urlsplit(URL)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
def plain(method, path, body=None):
    conn.request(method, path, body=body)
    r = conn.getresponse()
    return r.status, r.read()
check_eq("GET /client/other: 404 \"not found\"", (404, b"not found\n"),
         plain("GET", "/client/other?" + good))
check_eq("DELETE /client/api: 405 \"GET or POST\"", (405, b"GET or POST\n"),
         plain("DELETE", "/client/api?" + good))
check_eq("PUT /client/api/ with a body: 405", (405, b"GET or POST\n"),
         plain("PUT", "/client/api/", good))
check_eq("POST of 1 MiB to /nowhere: 404", (404, b"not found\n"),
         plain("POST", "/nowhere", "x" * (1 << 20)))
st, raw = plain("GET", "/client/api?" + admin.query("listZones", {}))
check_eq("the same keep-alive connection then answers a signed request: 200", 200, st)
conn.close()

# sync-phase parameter errors: 431 and nothing recorded
def nvm():
    return q1("SELECT COUNT(*) FROM vm") + q1("SELECT COUNT(*) FROM job") + \
        q1("SELECT COUNT(*) FROM nic") + q1("SELECT COUNT(*) FROM volume")

before = nvm()
for desc, params, needle in (
        ("missing zoneid", {"zoneid": None}, "zoneid"),
        ("unknown zoneid", {"zoneid": "zone9"}, "zone"),
        ("missing serviceofferingid", {"serviceofferingid": None}, "serviceofferingid"),
        ("unknown service offering", {"serviceofferingid": "huge"}, "service offering"),
        ("missing templateid", {"templateid": None}, "templateid"),
        ("unknown template", {"templateid": "tpl9"}, "template"),
        ("unknown network", {"networkids": "net9"}, "network"),
        ("two networks", {"networkids": "net1,net1"}, "network"),
        ("bad name", {"name": "no spaces allowed"}, "name"),
        ("reserved name data-server", {"name": "data-server"}, "reserved"),
        ("reserved name Data-Server", {"name": "Data-Server"}, "reserved"),
        ("reserved name localhost", {"name": "localhost"}, "reserved"),
        ("userdata not base64", {"userdata": "!!!"}, "userdata"),
        ("unknown keypair", {"keypair": "mykey"}, "key pair with name 'mykey'"),
        ("startvm not a boolean", {"startvm": "maybe"}, "startvm")):
    p = {"zoneid": "zone1", "serviceofferingid": "small", "templateid": "tpl1"}
    p.update(params)
    p = {k: v for k, v in p.items() if v is not None}
    st, js = admin.call("deployVirtualMachine", **p)
    check("deployVirtualMachine, %s: 431 naming %s" % (desc, needle),
          st == 431 and code(js) == 431 and needle in body(js).get("errortext", ""), st, js)
check_eq("the refused deployments recorded nothing", before, nvm())
st, js = admin.call("queryAsyncJobResult", jobid="no-such-job")
check_eq("queryAsyncJobResult of an unknown job: 431", 431, st)
st, js = admin.call("destroyVirtualMachine", id="no-such-vm")
check_eq("destroyVirtualMachine of an unknown VM: 431", 431, st)
st, js = admin.call("listVirtualMachines", pagesize="0")
check_eq("listVirtualMachines pagesize=0: 431", 431, st)
st, js = admin.call("listVirtualMachines", response="xml")
check_eq("response=xml: 431", 431, st)

# a real deploy signed as a GET whose userdata needs encoding ('+', '/', '=')
ud = "I2Nsb3VkLWNvbmZpZwp+Pz8/Pj4+Cg=="
st, js, r = deploy_wait(admin, userdata=ud, name="apivm")
check_eq("deploy with userdata holding '+', '/' and '=': accepted", 200, st)
check_eq("its job ends (the VR is unreachable: it fails)", 2, (r or {}).get("jobstatus"))
check_eq("the userdata arrived byte for byte", ud, q1("SELECT userdata FROM vm WHERE name = 'apivm'"))
vm = body(js).get("id")
st, js = alice.call("listVirtualMachines", id=vm)
check_eq("alice does not see admin's VM", 0, body(js).get("count"))
st, js = alice.call("queryAsyncJobResult", jobid=r and r["jobid"])
check_eq("alice cannot read admin's job: 431", 431, st)
EOF

mgr_finish
