#!/usr/bin/env bash
# bench/mgr_readers.sh: does a heavy reader slow vr-manager's deployments down?  For each
# build (BUILD, and BASE_BUILD if given: a build of another commit, e.g. before the
# query-only connection), a fresh world of 1,000 hosts with a real vrd as the VR, 2,000 VMs
# deployed first (bench/mgr_load -c 16), then BENCH_READERS_SECONDS (10) of deployments at
# concurrency 4 (poll 20 ms) twice: alone, and beside a client that lists all 2,000 VMs
# (listVirtualMachines pagesize=2000) in a loop.  Prints one markdown table: sync-phase
# median / p99 / max and deployments per second for each build and mode, and the number of
# listings served.  Uses tests/lib/mgr.sh to set up (a TAP line or two go to stderr).
#   git worktree add /tmp/base REV && make -C /tmp/base
#   BASE_BUILD=/tmp/base/build bench/mgr_readers.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECONDS_EACH=${BENCH_READERS_SECONDS:-10}
BUILDS=("$BUILD")
[ -n "${BASE_BUILD:-}" ] && BUILDS=("$BASE_BUILD" "$BUILD")
for b in "${BUILDS[@]}"; do
	for f in vr-manager vrd bench/mgr_load; do
		[ -x "$b/$f" ] || { echo "mgr_readers: $b/$f missing (make all bench)" >&2; exit 1; }
	done
done

# one_build BUILD: the table rows for that build (runs in a subshell: mgr.sh's traps clean up)
one_build() (
	BUILD=$1
	. "$ROOT/tests/lib/mgr.sh"
	mgr_vt_init >/dev/null
	LOAD=$BUILD/bench/mgr_load
	vrd_new vr
	vrd_start vr >&2 || exit 1
	MGR_START_ARGS=(--workers 8 --api-threads 4)
	mgr_up m --hosts 1000 --host-cores 4 --host-mhz 2000 --host-ram 8192 --offering-mhz 500 \
	    --offering-ram 256 --template-mib 2 --cidr 10.64.0.0/16 --gateway 10.64.0.1 \
	    --vr-url "${VRD_URL[vr]}" --vr-token "$(cat "${VRD_TOKEN_FILE[vr]}")" >&2 || exit 1
	"$LOAD" --url "${MGR_URL[m]}" --poll-ms 20 --network net1 -n 2000 -c 16 >/dev/null 2>&1
	for mode in alone listing; do
		lp=""
		if [ "$mode" = listing ]; then
			MGR_URL=${MGR_URL[m]} VT_LIB=$VT_LIB "$VT_PY" - "$SECONDS_EACH" >"$VT_TMP/listings" <<'EOF' &
import os, sys, time
sys.path.insert(0, os.environ["VT_LIB"])
from cs_api import Client
c = Client(os.environ["MGR_URL"], "admin-key", "admin-secret")
end, n = time.monotonic() + float(sys.argv[1]) + 1, 0
while time.monotonic() < end:
    st, js = c.call("listVirtualMachines", pagesize="2000")
    n += st == 200 and js["listvirtualmachinesresponse"]["count"] == 2000
print(n)
EOF
			lp=$!
		fi
		out=$("$LOAD" --url "${MGR_URL[m]}" --poll-ms 20 --network net1 -n 1000000 -c 4 \
		    --duration "$SECONDS_EACH" 2>&1)
		[ -n "$lp" ] && wait "$lp"
		"$VT_PY" - "$BUILD" "$mode" "$([ -n "$lp" ] && cat "$VT_TMP/listings" || echo -)" <<EOF
import re, sys
out = """$out"""
sync = dict(re.findall(r"(\w+)_ms=([\d.]+)", next(l for l in out.splitlines()
            if l.startswith("RESULT metric=sync "))))
tp = re.search(r"RESULT metric=throughput ok=(\d+).* per_s=([\d.]+)", out)
print("| %s | %s | %s / %s / %s | %s (%s) | %s |" % (sys.argv[1], sys.argv[2], sync["median"],
      sync["p99"], sync["max"], tp.group(2), tp.group(1), sys.argv[3]))
EOF
	done
	mgr_finish >/dev/null
)

echo "| build | mode | sync median / p99 / max (ms) | deployments/s (done) | full listings |"
echo "|---|---|---:|---:|---:|"
for b in "${BUILDS[@]}"; do
	one_build "$b" || exit 1
done
