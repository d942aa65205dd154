# tests/lib/mgr.sh - helpers for vr-manager's integration tests (bash; source it).
# shellcheck shell=bash
#
# Sources vrd.sh (TAP checks, vrd instances) and adds:
#   mgr_vt_init                vt_init, and an EXIT trap that also kills every
#                              vr-manager and runs mgr_on_exit commands (before
#                              the temp dir goes)
#   mgr_on_exit CMD...         a clean-up command run at exit (umount ...)
#   mgr_world DIR ARGS...      tests/lib/mgr_inventory.py --dir DIR ARGS...
#   mgr_new NAME               a home for one manager: MGR_DB[NAME], MGR_LOG[NAME]
#   mgr_up NAME ARGS...        mgr_world $VT_TMP/NAME ARGS..., mgr_new, mgr_init and
#                              mgr_start NAME "${MGR_START_ARGS[@]}"; 1 after a
#                              failed check if any step fails
#   mgr_init NAME INVENTORY    vr-manager init; its status in MGR_RC, output in
#                              MGR_OUT (stdout+stderr)
#   mgr_start NAME [--key v]...  serve on a free loopback port (same port on a
#                              restart); bounded poll until the API accepts
#                              connections; 1 (log shown) if it did not come up
#   mgr_stop NAME              SIGTERM, checks status 0 and no sanitizer report
#                              in its log (two TAP checks)
#   mgr_kill9 NAME | mgr_alive NAME
#   mgr_call NAME KEY SECRET COMMAND [k=v]...   one signed GET through
#                              cs_api.py: MGR_STATUS (HTTP status, 000: none),
#                              MGR_BODY (the JSON), file $VT_TMP/mgr.json
#   mgr_admin NAME COMMAND [k=v]...   mgr_call as admin-key/admin-secret
#   mgr_py NAME [ARG]... <<'EOF' ... EOF
#                              python3 with the preamble below (clients admin and
#                              alice, ok/fail/check_eq, read-only DB queries, vrd,
#                              pool and domain probes); its "ok"/"not ok" lines
#                              count as this test's checks
#   mgr_finish                 stops the managers still running, then vt_finish
#   MGR_WRAP=(CMD...)          a command init and serve run under (valgrind ...)
#   MGR_ENGINE=pg (environment) every manager's database is on a throw-away
#                              PostgreSQL cluster (tests/lib/pg.sh) that
#                              mgr_vt_init starts and the EXIT trap stops:
#                              MGR_DB[NAME] is a postgresql:// URI, one
#                              database per NAME; default: a SQLite file
#   mgr_wait_for DESC SECONDS CMD...  bounded poll (50 ms) until CMD succeeds:
#                              one check, ok or failed after SECONDS; 1 on failure
#   mgr_dbq NAME SQL [ARG]...  prints the rows of a read-only query on NAME's
#                              database (either engine; ? parameters), one a
#                              line, columns separated by |
#
# A failed check shows the tail of every manager's log too.

. "$(dirname "${BASH_SOURCE[0]}")/vrd.sh"
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

MGR_ENGINE=${MGR_ENGINE:-sqlite}

MGR_BIN="$BUILD/vr-manager"
MGR_NAMES=()
MGR_WRAP=()
MGR_EXIT_CMDS=()
declare -A MGR_HOME=() MGR_DB=() MGR_LOG=() MGR_PORT=() MGR_URL=() MGR_PID=() MGR_SANCHECK=()
MGR_LAST="" MGR_RC="" MGR_OUT="" MGR_STATUS="" MGR_BODY=""
MGR_SAN_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer'

# fail, as vrd.sh has it, plus the tail of each manager's log.
eval "vt_fail_vrd() $(declare -f fail | tail -n +2)"
fail() {
	vt_fail_vrd "$@"
	mgr_show_logs
}

# mgr_show_logs: the log tails of the managers running (or dead unexpectedly),
# else of the last one started.
mgr_show_logs() {
	local n shown=()
	for n in "${MGR_NAMES[@]}"; do
		[ -n "${MGR_PID[$n]}" ] && shown+=("$n")
	done
	if [ ${#shown[@]} -eq 0 ] && [ -n "$MGR_LAST" ]; then
		shown=("$MGR_LAST")
	fi
	for n in "${shown[@]}"; do
		if [ -n "${MGR_PID[$n]}" ] && ! vt_alive "${MGR_PID[$n]}"; then
			echo "#   vr-manager[$n] (pid ${MGR_PID[$n]}) is no longer running"
		fi
		[ -s "${MGR_LOG[$n]}" ] || continue
		echo "#   --- vr-manager[$n] stderr (last 25 lines of ${MGR_LOG[$n]}):"
		tail -n 25 "${MGR_LOG[$n]}" | sed 's/^/#   | /'
	done
}

mgr_cleanup() {
	local n p i
	for n in "${MGR_NAMES[@]}"; do
		p=${MGR_PID[$n]:-}
		if [ -n "$p" ] && vt_alive "$p"; then
			kill -9 "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	for ((i = ${#MGR_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${MGR_EXIT_CMDS[$i]}" >/dev/null 2>&1
	done
	pg_stop
}

mgr_vt_init() {
	if [ ! -x "$MGR_BIN" ]; then
		echo "not ok - $MGR_BIN exists (run make)"
		exit 1
	fi
	vt_init
	trap 'mgr_cleanup; vt_cleanup' EXIT
	if [ "$MGR_ENGINE" = pg ] && ! pg_start "$VT_TMP/pg"; then
		echo "not ok - a PostgreSQL cluster starts in $VT_TMP/pg"
		exit 1
	fi
}

mgr_on_exit() {
	MGR_EXIT_CMDS+=("$*")
}

mgr_world() {
	local dir=$1
	shift
	"$VT_PY" "$VT_LIB/mgr_inventory.py" --dir "$dir" "$@"
}

mgr_new() {
	local n=$1 h="$VT_TMP/mgr-$1"
	mkdir -p "$h" || return 1
	MGR_NAMES+=("$n")
	MGR_HOME[$n]=$h
	MGR_DB[$n]="$h/manager.db"
	if [ "$MGR_ENGINE" = pg ]; then
		pg_createdb "vrm_$n" || return 1
		MGR_DB[$n]=$(pg_uri "vrm_$n")
	fi
	MGR_LOG[$n]="$h/manager.log"
	MGR_PORT[$n]=""
	MGR_PID[$n]=""
	MGR_SANCHECK[$n]=""
	: >"${MGR_LOG[$n]}"
}

MGR_START_ARGS=()
mgr_up() {
	local n=$1
	shift
	if ! mgr_world "$VT_TMP/$n" "$@"; then
		fail "world $n written"
		return 1
	fi
	mgr_new "$n"
	mgr_init "$n" "$VT_TMP/$n/inventory.json"
	if [ "$MGR_RC" != 0 ]; then
		fail "world $n: init" "$MGR_OUT"
		return 1
	fi
	if ! mgr_start "$n" "${MGR_START_ARGS[@]}"; then
		fail "world $n: vr-manager starts"
		return 1
	fi
}

mgr_init() {
	MGR_OUT=$("${MGR_WRAP[@]}" "$MGR_BIN" -c /dev/null --db "${MGR_DB[$1]}" --inventory "$2" init 2>&1)
	MGR_RC=$?
	printf '=== init %s: exit %s\n%s\n' "$2" "$MGR_RC" "$MGR_OUT" >>"${MGR_LOG[$1]}"
	return "$MGR_RC"
}

mgr_alive() {
	[ -n "${MGR_PID[$1]:-}" ] && vt_alive "${MGR_PID[$1]}"
}

# mgr_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
mgr_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

mgr_free_port() {
	"$VT_PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

mgr_start() {
	local n=$1 attempt i pid rc
	shift
	for attempt in 1 2 3; do
		[ -n "${MGR_PORT[$n]}" ] || MGR_PORT[$n]=$(mgr_free_port)
		MGR_URL[$n]="http://127.0.0.1:${MGR_PORT[$n]}"
		echo "=== $(date +%T.%N) start: serve --listen 127.0.0.1:${MGR_PORT[$n]} $*" \
		    >>"${MGR_LOG[$n]}"
		"${MGR_WRAP[@]}" "$MGR_BIN" -c /dev/null --db "${MGR_DB[$n]}" --listen "127.0.0.1:${MGR_PORT[$n]}" \
		    "$@" serve >>"${MGR_LOG[$n]}" 2>&1 &
		pid=$!
		MGR_PID[$n]=$pid
		MGR_LAST=$n
		MGR_SANCHECK[$n]=1
		# bounded readiness poll: 400 x 50 ms (the API listens after recovery)
		for i in $(seq 400); do
			vt_alive "$pid" || break
			if mgr_port_open "${MGR_PORT[$n]}"; then
				return 0
			fi
			sleep 0.05
		done
		if vt_alive "$pid"; then
			echo "# vr-manager[$n] did not listen within 20 s" >&2
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			MGR_PID[$n]=""
			break
		fi
		wait "$pid"
		rc=$?
		MGR_PID[$n]=""
		if tail -n 3 "${MGR_LOG[$n]}" | grep -q 'listen.*in use' && [ "$attempt" -lt 3 ]; then
			MGR_PORT[$n]="" # lost a race for the port
			continue
		fi
		echo "# vr-manager[$n] exited with status $rc while starting" >&2
		break
	done
	sed 's/^/# | /' "${MGR_LOG[$n]}" | tail -n 40 >&2
	return 1
}

# mgr_san_check NAME: a TAP check that its log has no sanitizer report.
mgr_san_check() {
	local n=$1
	MGR_SANCHECK[$n]=""
	if grep -qE "$MGR_SAN_RE" "${MGR_LOG[$n]}" 2>/dev/null; then
		fail "no sanitizer report in vr-manager[$n]'s stderr" \
		    "$(grep -E -m1 -A40 "$MGR_SAN_RE" "${MGR_LOG[$n]}")"
	else
		ok "no sanitizer report in vr-manager[$n]'s stderr"
	fi
}

mgr_stop() {
	local n=$1 pid=${MGR_PID[$1]:-} rc
	[ -n "$pid" ] || return 0
	vt_stop_pid "$pid" "vr-manager[$n]"
	rc=$?
	MGR_PID[$n]=""
	echo "=== $(date +%T.%N) stopped: status $rc" >>"${MGR_LOG[$n]}"
	check_eq "vr-manager[$n] stops on SIGTERM with status 0" 0 "$rc"
	mgr_san_check "$n"
	return "$rc"
}

mgr_kill9() {
	local pid=${MGR_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	MGR_PID[$1]=""
	echo "=== $(date +%T.%N) killed with SIGKILL" >>"${MGR_LOG[$1]}"
}

mgr_finish() {
	local n
	for n in "${MGR_NAMES[@]}"; do
		if mgr_alive "$n"; then
			mgr_stop "$n"
		elif [ -n "${MGR_SANCHECK[$n]}" ]; then
			mgr_san_check "$n"
		fi
	done
	vt_finish
}

mgr_call() {
	local n=$1
	shift
	rm -f "$VT_TMP/mgr.json"
	MGR_STATUS=$(VT_LIB="$VT_LIB" MGR_JSON="$VT_TMP/mgr.json" "$VT_PY" - "${MGR_URL[$n]}" "$@" \
	    2>"$VT_TMP/mgr.err" <<'EOF'
import json, os, sys
sys.path.insert(0, os.environ["VT_LIB"])
from cs_api import Client
url, key, secret, cmd = sys.argv[1:5]
params = dict(a.split("=", 1) for a in sys.argv[5:])
try:
    st, js = Client(url, key, secret).call(cmd, **params)
except Exception as e:
    st, js = 0, {"error": "%s: %s" % (type(e).__name__, e)}
with open(os.environ["MGR_JSON"], "w") as f:
    json.dump(js, f)
print("%03d" % st)
EOF
)
	MGR_BODY=$(head -c 4000 "$VT_TMP/mgr.json" 2>/dev/null)
	[ -n "$MGR_STATUS" ] || MGR_STATUS=000
}

mgr_wait_for() {
	local desc=$1 n=$(($2 * 20)) i
	shift 2
	for ((i = 0; i < n; i++)); do
		if "$@" 2>/dev/null; then
			ok "$desc"
			return 0
		fi
		sleep 0.05
	done
	fail "$desc" "not within $((n / 20)) s: $*"
	return 1
}

mgr_dbq() {
	VT_LIB="$VT_LIB" "$VT_PY" -c 'import os, sys
sys.path.insert(0, os.environ["VT_LIB"])
import mgr_db
for r in mgr_db.query(sys.argv[1], sys.argv[2], *sys.argv[3:]):
    print("|".join("" if v is None else str(v) for v in r))' "${MGR_DB[$1]}" "${@:2}"
}

mgr_admin() {
	local n=$1
	shift
	mgr_call "$n" admin-key admin-secret "$@"
}

# The preamble of mgr_py's programs.
MGR_PY_PREAMBLE='
import glob, json, os, sqlite3, sys, threading, time, urllib.error, urllib.request
sys.path.insert(0, os.environ["VT_LIB"])
from cs_api import Client, signature
import mgr_db
URL = os.environ["MGR_URL"]
DB = os.environ["MGR_DB"]
admin = Client(URL, "admin-key", "admin-secret")
alice = Client(URL, "alice-key", "alice-secret")

def ok(desc):
    print("ok - " + desc, flush=True)

def fail(desc, *diag):
    print("not ok - " + desc)
    for d in diag:
        for line in str(d).splitlines() or [""]:
            print("#   " + line)
    sys.stdout.flush()

def check(desc, cond, *diag):
    if cond:
        ok(desc)
    else:
        fail(desc, *diag)
    return bool(cond)

def check_eq(desc, want, got):
    if want == got:
        ok(desc)
        return True
    fail(desc, "expected: %r" % (want,), "actual:   %r" % (got,))
    return False

def q(sql, *args):
    return mgr_db.query(DB, sql, *args)

def q1(sql, *args):
    r = q(sql, *args)
    return r[0][0] if r else None

def res(js):
    return js.get("queryasyncjobresultresponse", js)

def body(js):
    return next(iter(js.values())) if js else {}

def deploy(client=admin, **kw):
    p = {"zoneid": "zone1", "serviceofferingid": "small", "templateid": "tpl1"}
    p.update(kw)
    return client.call("deployVirtualMachine", **p)

def deploy_wait(client=admin, timeout=60, **kw):
    """(sync status, sync json, job result or None)"""
    st, js = deploy(client, **kw)
    if st != 200:
        return st, js, None
    st2, r = client.wait_job(body(js)["jobid"], timeout=timeout)
    return st, js, res(r)

def vr_vms(url=None, token=None):
    """IPs the VR knows (None if it does not answer)."""
    url = url or os.environ.get("VR_URL")
    token = token or open(os.environ["VR_TOKEN_FILE"]).read().strip()
    req = urllib.request.Request(url + "/v1/vms", headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            j = json.loads(r.read())
    except Exception as e:
        return None
    vms = j.get("vms", j) if isinstance(j, dict) else j
    return sorted(v["ip"] if isinstance(v, dict) else v for v in vms)

def domains():
    st, js = admin.call("listHosts", listdomains="true")
    if st != 200:
        return None
    return {h["name"]: sorted(h.get("domains", [])) for h in body(js)["host"]}

def all_domains():
    d = domains()
    return None if d is None else sorted(x for v in d.values() for x in v)

def pool_files(path):
    return sorted(f for f in os.listdir(path) if not f.startswith("."))

def hosts_used():
    return q("SELECT name, cpu_used_mhz, ram_used_mib, cpu_total_mhz, ram_total_mib FROM host ORDER BY id")

def counts(account="alice"):
    return dict(q("SELECT r.type, r.count FROM resource_count r JOIN account a ON a.id = r.account_id WHERE a.name = ?", account))

def destroy_all(timeout=60):
    """admin destroys every Running, Stopped or Error VM, whoever owns it: one check each."""
    for (u,) in q("SELECT uuid FROM vm WHERE state IN (?, ?, ?)", "Running", "Stopped", "Error"):
        st, js = admin.call("destroyVirtualMachine", id=u)
        st, r = admin.wait_job(body(js).get("jobid"), timeout=timeout)
        check_eq("admin destroys %s" % u[:8], 1, res(r).get("jobstatus"))

def nothing_left(desc, vm_uuid, pool_dir, account="admin", template_cached=None, keep_domains=()):
    """One check per kind of leftover of a failed (or destroyed) VM, everything expected at 0."""
    vm = q("SELECT id, state, error_text, instance_name FROM vm WHERE uuid = ?", vm_uuid)
    check("%s: VM row exists" % desc, len(vm) == 1, vm)
    if not vm:
        return
    vid, state, err, inst = vm[0]
    check_eq("%s: VM state" % desc, "Error", state)
    check("%s: VM has an error text" % desc, bool(err), err)
    check_eq("%s: host used CPU/RAM back to 0" % desc, [], [h for h in hosts_used() if h[1] or h[2]])
    check_eq("%s: pool used back to 0" % desc, [], q("SELECT name, used_bytes FROM pool WHERE used_bytes != 0"))
    check_eq("%s: resource counts of %s back to 0" % (desc, account), {}, {k: v for k, v in counts(account).items() if v})
    check_eq("%s: no NIC row" % desc, 0, q1("SELECT COUNT(*) FROM nic WHERE vm_id = ?", vid))
    check_eq("%s: no volume row" % desc, 0, q1("SELECT COUNT(*) FROM volume WHERE vm_id = ?", vid))
    check_eq("%s: VM not reserved" % desc, 0, q1("SELECT reserved FROM vm WHERE id = ?", vid))
    if os.environ.get("VR_URL"):
        check_eq("%s: the VR has no entry" % desc, [], vr_vms())
    files = pool_files(pool_dir)
    check_eq("%s: no overlay in the pool" % desc, [], [f for f in files if not f.startswith("template-")])
    check_eq("%s: no domain on any host" % desc, sorted(keep_domains), all_domains())
    st, js = admin.call("listVirtualMachines", id=vm_uuid)
    vms = body(js).get("virtualmachine", [])
    check("%s: listVirtualMachines shows Error with errortext" % desc,
          len(vms) == 1 and vms[0]["state"] == "Error" and vms[0].get("errortext"), js)
'

mgr_py() {
	local n=$1 out=$VT_TMP/mgr_py.out line rc nfail=0
	shift
	MGR_URL="${MGR_URL[$n]}" MGR_DB="${MGR_DB[$n]}" VT_LIB="$VT_LIB" \
	    "$VT_PY" -c "$MGR_PY_PREAMBLE
$(cat)" "$@" >"$out" 2>"$out.err"
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) VT_CHECKS=$((VT_CHECKS + 1)) ;;
		"not ok "*) VT_CHECKS=$((VT_CHECKS + 1)) VT_FAILS=$((VT_FAILS + 1)) nfail=1 ;;
		esac
		printf '%s\n' "$line"
	done <"$out"
	if [ "$rc" -ne 0 ]; then
		fail "python part of the test exits 0" "status $rc" "$(tail -n 30 "$out.err")"
	elif [ "$nfail" -ne 0 ]; then
		sed 's/^/#   stderr: /' "$out.err" | tail -n 10
		mgr_show_logs
	fi
	return $rc
}
