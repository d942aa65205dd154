#!/usr/bin/env bash
# tests/integration/mgr_valgrind.sh - vr-manager under valgrind's memcheck
# (--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99),
# with a real vrd as the network's VR:
#   init: a bad inventory (refused, exit 2) and the good one;
#   serve: signed and refused requests (401, 431 malformed and oversized),
#     five deploys into room for four (four Running, one 533), every list
#     command, queryAsyncJobResult, destroys, SIGTERM;
#   restart: four deploys, SIGKILL while their jobs are pending, a start
#     under valgrind that recovers them, destroys, SIGTERM.
# Each valgrind run must exit 0 (99 on any memory error or definite leak) and
# its log say "ERROR SUMMARY: 0 errors" and "definitely lost: 0 bytes" (or no
# leaks).  Unlike vrd and vr-metadata, vr-manager cannot end with nothing in
# use: libvirt and gnutls keep their global state until the process ends; the
# figure is printed, not checked.  Skipped for a sanitizer build.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/mgr.sh"
mgr_vt_init
T_START=$SECONDS

if ldd "$MGR_BIN" 2>/dev/null | grep -q libasan; then
	ok "# SKIP valgrind: $MGR_BIN is a sanitizer build"
	mgr_finish
fi
if ! command -v valgrind >/dev/null; then
	fail "valgrind is installed (make deps installs it)"
	mgr_finish
fi
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=99 --track-fds=no --num-callers=30)

# verdict LABEL RC LOG: exit status 0 and a clean valgrind log
verdict() {
	local label=$1 rc=$2 log=$3
	check_eq "$label: exit status $4 under valgrind (99: a memory error or a definite leak)" "$4" "$rc"
	if grep -q 'ERROR SUMMARY: 0 errors' "$log" &&
	    grep -qE 'definitely lost: 0 bytes|no leaks are possible' "$log"; then
		ok "$label: valgrind: ERROR SUMMARY 0 errors, definitely lost 0 bytes"
	else
		fail "$label: valgrind: ERROR SUMMARY 0 errors, definitely lost 0 bytes" \
		    "$(grep -v '^==[0-9]*== *$' "$log" | head -n 120)"
	fi
	diag "$label valgrind summary: $(grep -E 'definitely lost|no leaks are possible|ERROR SUMMARY|in use at exit' "$log" |
	    sed 's/^==[0-9]*== *//' | tr '\n' ';')"
}

vrd_new vr
if ! vrd_start vr; then
	fail "vrd starts"
	mgr_finish
fi
export VR_URL=${VRD_URL[vr]} VR_TOKEN_FILE=${VRD_TOKEN_FILE[vr]} POOL="$VT_TMP/m/primary"
# 1 host x 2 cores x 1000 MHz: room for four VMs of 500 MHz
mgr_world "$VT_TMP/m" --hosts 1 --host-cores 2 --host-mhz 1000 --offering-mhz 500 \
    --offering-ram 256 --template-mib 2 --vr-url "$VR_URL" --vr-token "$(cat "$VR_TOKEN_FILE")" || {
	fail "mgr_inventory.py writes a world"
	mgr_finish
}
mgr_new m

# init: a refused inventory, then the good one
"$VT_PY" -c 'import json, sys
inv = json.load(open(sys.argv[1]))
inv["pools"][0]["path"] = "relative/path"
json.dump(inv, open(sys.argv[2], "w"))' "$VT_TMP/m/inventory.json" "$VT_TMP/bad.json"
MGR_WRAP=("${VG[@]}" --log-file="$VT_TMP/init-bad.vg")
mgr_init m "$VT_TMP/bad.json"
verdict "init with a bad inventory" "$MGR_RC" "$VT_TMP/init-bad.vg" 2
MGR_WRAP=("${VG[@]}" --log-file="$VT_TMP/init.vg")
mgr_init m "$VT_TMP/m/inventory.json"
verdict "init" "$MGR_RC" "$VT_TMP/init.vg" 0

# serve
MGR_WRAP=("${VG[@]}" --log-file="$VT_TMP/serve.vg")
if ! mgr_start m --workers 2 --vr-timeout 20; then
	fail "vr-manager serve starts under valgrind" "$(cat "$VT_TMP/serve.vg")"
	mgr_finish
fi
ok "vr-manager serve starts under valgrind"
mgr_py m <<'EOF'
st, js = admin.call("listHosts")
check_eq("listHosts: 200", 200, st)
check_eq("a wrong secret: 401", 401, Client(URL, "admin-key", "nope").call("listHosts")[0])
check_eq("a malformed query: 431", 431, admin.raw(admin.query("listHosts", {}) + "&x=%zz")[0])
check_eq("a 1 MiB POST body: 431", 431, admin.raw(admin.query("listHosts", {}) + "&p=" + "x" * (1 << 20), "POST")[0])
check_eq("an unknown template: 431", 431, deploy(admin, templateid="tpl9")[0])
jobs = []
for i in range(5):
    st, js = deploy(admin, name="vg%d" % i, userdata="I2Nsb3VkLWNvbmZpZwo=")
    check_eq("deploy vg%d accepted" % i, 200, st)
    jobs.append(body(js).get("jobid"))
rs = [res(admin.wait_job(j, timeout=120)[1]) for j in jobs]
check_eq("four deploys succeed, one fails with 533", [1, 1, 1, 1, 533],
         sorted(r.get("jobstatus") if r.get("jobstatus") == 1 else r.get("jobresultcode") for r in rs))
for cmd, kw in (("listVirtualMachines", {}), ("listAsyncJobs", {}), ("listCapacity", {}),
                ("listHosts", {"listdomains": "true"})):
    check_eq("%s: 200" % cmd, 200, admin.call(cmd, **kw)[0])
check_eq("vrd has the four VMs", 4, len(vr_vms() or []))
destroy_all(timeout=120)
check_eq("everything given back", ([], [], 0), ([h for h in hosts_used() if h[1] or h[2]], vr_vms(),
         q1("SELECT used_bytes FROM pool")))
EOF
mgr_stop m
verdict "serve" $? "$VT_TMP/serve.vg" 0

# restart: jobs pending at a SIGKILL, recovered by a start under valgrind
MGR_WRAP=()
mgr_start m --workers 1 || fail "vr-manager starts (without valgrind)"
mgr_py m <<'EOF'
for i in range(4):
    check_eq("deploy r%d accepted" % i, 200, deploy(admin, name="r%d" % i)[0])
EOF
mgr_kill9 m
pending=$("$VT_PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM job WHERE status = 0").fetchone()[0])' \
    "${MGR_DB[m]}")
diag "$pending jobs pending at the kill"
MGR_WRAP=("${VG[@]}" --log-file="$VT_TMP/recover.vg")
if ! mgr_start m --workers 2 --vr-timeout 20; then
	fail "vr-manager restarts under valgrind" "$(cat "$VT_TMP/recover.vg")"
	mgr_finish
fi
if [ "$pending" -gt 0 ]; then
	check "the restart under valgrind recovers the $pending pending jobs" \
	    grep -q "recovered $pending unfinished jobs" "${MGR_LOG[m]}"
fi
mgr_py m <<'EOF'
deadline = time.monotonic() + 120
while q1("SELECT COUNT(*) FROM job WHERE status = 0") and time.monotonic() < deadline:
    time.sleep(0.05)
check_eq("every job finished or rolled back", 0, q1("SELECT COUNT(*) FROM job WHERE status = 0"))
destroy_all(timeout=120)
check_eq("everything given back", ([], [], 0), ([h for h in hosts_used() if h[1] or h[2]], vr_vms(),
         q1("SELECT used_bytes FROM pool")))
EOF
mgr_stop m
verdict "recovery" $? "$VT_TMP/recover.vg" 0
diag "runtime $((SECONDS - T_START)) s"
mgr_finish
