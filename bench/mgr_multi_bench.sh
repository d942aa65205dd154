#!/usr/bin/env bash
# bench/mgr_multi_bench.sh: several vr-managers on one PostgreSQL database (figures in
# docs/performance.md, "vr-manager: several managers on PostgreSQL").  A throw-away
# PostgreSQL cluster (tests/lib/pg.sh: Debian's initdb and pg_ctl, a Unix socket, fsync on)
# under BENCH_DIR; a fresh world of 1,000 test:/// hosts, one vrd as the VR.
#  a. throughput: 1, 2 and 3 managers on one database (BENCH_MULTI_COUNTS, "1 2 3"), one
#     bench/mgr_load per manager, together BENCH_MULTI_CONC (16) clients, each manager
#     BENCH_MULTI_WORKERS (8) workers, for BENCH_TP_SECONDS (10); beside it one manager on
#     SQLite with the same load.  Deployments/s = all loaders' successes / the longest
#     loader's time; sync p99 = the worst loader's.  Then the database is checked for
#     over-commit (no host over, sum of used = successes x offering).
#  b. takeover: 3 managers (takeover-after BENCH_TAKEOVER, 10 s), a load on manager c, c
#     SIGKILLed after 3 s: the time from the kill to c's row being taken over and to the
#     last of its pending jobs being finished by another manager.
# Writes the tables to $BUILD/bench/mgr_multi_results.md (BENCH_OUT) and prints them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
LOAD=$BUILD/bench/mgr_load
MGR=$BUILD/vr-manager
VRD=$BUILD/vrd
COUNTS=${BENCH_MULTI_COUNTS:-"1 2 3"}
CONC=${BENCH_MULTI_CONC:-16}
WORKERS=${BENCH_MULTI_WORKERS:-8}
TP_SECONDS=${BENCH_TP_SECONDS:-10}
TAKEOVER=${BENCH_TAKEOVER:-10}
OUT=${BENCH_OUT:-$BUILD/bench/mgr_multi_results.md}
PY=/usr/bin/python3 # the one Debian's python3-psycopg2 is for
. "$ROOT/tests/lib/pg.sh"

BENCH_NAME=mgr-multi-bench
. "$ROOT/bench/lib/bench.sh"
BENCH_AT_EXIT+=(pg_stop)

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }


# world DIR DB: vrd (VRD_PID), 1,000 hosts, `init` into DB.
world() {
	local d=$1 db=$2 port
	mkdir -p "$d/vrd"
	port=$(free_port)
	"$VRD" --config /dev/null --listen "127.0.0.1:$port" --state-dir "$d/vrd/state" \
		--token-file "$WORK/token" --dnsmasq-pid-file "$d/vrd/dnsmasq.pid" \
		--dnsmasq-lease-file "$d/vrd/dnsmasq.leases" --metadata-user nobody \
		--manage-links no 2>"$d/vrd.log" &
	VRD_PID=$!
	PIDS+=("$VRD_PID")
	wait_log "$d/vrd.log" 'ready: listening' "$VRD_PID" 60 || die "vrd did not start"
	$PY "$ROOT/tests/lib/mgr_inventory.py" --dir "$d/world" --hosts 1000 \
		--vr-url "http://127.0.0.1:$port" --vr-token "$(cat "$WORK/token")" \
		--cidr 10.0.0.0/12 --gateway 10.0.0.1
	"$MGR" -c /dev/null --db "$db" --inventory "$d/world/inventory.json" init \
		>/dev/null 2>"$d/init.log" || { cat "$d/init.log" >&2; die "vr-manager init"; }
}

# serve DIR DB NAME: a manager on a free port; its URL in URLS[NAME], pid in MPID[NAME].
declare -A URLS=() MPID=()
serve() {
	local d=$1 db=$2 n=$3 port
	port=$(free_port)
	"$MGR" -c /dev/null --db "$db" --listen "127.0.0.1:$port" --workers "$WORKERS" \
		--api-threads 4 --name "$n" --takeover-after "$TAKEOVER" serve 2>"$d/mgr-$n.log" &
	MPID[$n]=$!
	PIDS+=("${MPID[$n]}")
	URLS[$n]="http://127.0.0.1:$port"
	wait_log "$d/mgr-$n.log" 'serving' "${MPID[$n]}" 60 || die "vr-manager $n did not start"
}

rf() { grep "^RESULT metric=$2 " "$1" | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }

# check DB OK: over-commit check (either engine, through tests/lib/mgr_db.py).
check() {
	VT_LIB="$ROOT/tests/lib" $PY - "$1" "$2" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["VT_LIB"])
import mgr_db
db, ok = sys.argv[1], int(sys.argv[2])
over, cpu, ram, need_cpu, need_ram, running = mgr_db.query(db, "SELECT"
    " (SELECT COUNT(*) FROM host WHERE cpu_used_mhz > cpu_total_mhz OR ram_used_mib > ram_total_mib),"
    " (SELECT SUM(cpu_used_mhz) FROM host), (SELECT SUM(ram_used_mib) FROM host),"
    " (SELECT cpu_count * cpu_mhz FROM offering WHERE uuid = 'small'),"
    " (SELECT ram_mib FROM offering WHERE uuid = 'small'),"
    " (SELECT COUNT(*) FROM vm WHERE state = 'Running')")[0]
good = over == 0 and cpu == ok * need_cpu and ram == ok * need_ram and running == ok
print("hosts over: %d; cpu %d = %d x %d, ram %d = %d x %d, Running %d -> %s" % (
    over, cpu, ok, need_cpu, ram, ok, need_ram, running, "no over-commit" if good else "MISMATCH"))
EOF
}

# one_run LABEL DB N: N managers (N 0: one on SQLite) under CONC clients for TP_SECONDS.
one_run() {
	local label=$1 db=$2 n=$3 d=$WORK/$1 k names=() lp=() c ok=0 secs=0 p99=0 med=0 f
	mkdir -p "$d"
	world "$d" "$db"
	if [ "$n" = 0 ]; then names=(s); else names=(); for k in $(seq "$n"); do names+=("m$k"); done; fi
	for k in "${names[@]}"; do serve "$d" "$db" "$k"; done
	c=$((CONC / ${#names[@]}))
	say "$label: ${#names[@]} manager(s), $c clients each, $TP_SECONDS s"
	for k in "${names[@]}"; do
		"$LOAD" --url "${URLS[$k]}" --poll-ms 2 -n 1000000 -c "$c" --duration "$TP_SECONDS" \
			--prefix "$label-$k-" >"$d/load-$k.txt" &
		lp+=($!)
	done
	for k in "${lp[@]}"; do wait "$k" || true; done
	for k in "${names[@]}"; do
		f=$d/load-$k.txt
		ok=$((ok + $(rf "$f" throughput ok)))
		secs=$(awk -v a="$secs" -v b="$(rf "$f" throughput seconds)" 'BEGIN { print (b > a) ? b : a }')
		p99=$(awk -v a="$p99" -v b="$(rf "$f" sync p99_ms)" 'BEGIN { print (b > a) ? b : a }')
		med=$(awk -v a="$med" -v b="$(rf "$f" sync median_ms)" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "| $label | ${#names[@]} | $CONC ($c each) | $ok | $secs | $(awk -v o="$ok" -v s="$secs" 'BEGIN { printf "%.1f", o / s }') |" \
		"$med / $p99 | $(check "$db" "$ok") |" >>"$OUT"
	for k in "${names[@]}"; do kill -TERM "${MPID[$k]}"; wait "${MPID[$k]}" || true; done
	kill -TERM "$VRD_PID"; wait "$VRD_PID" || true
	rm -rf "$d/world/primary"
}

takeover() {
	local d=$WORK/takeover db t0 t1 t2 ids pending
	pg_createdb takeover
	db=$(pg_uri takeover)
	mkdir -p "$d"
	world "$d" "$db"
	for k in a b c; do serve "$d" "$db" "$k"; done
	"$LOAD" --url "${URLS[c]}" --poll-ms 2 -n 1000000 -c 16 --duration 20 --prefix takeover- \
		>"$d/load-c.txt" 2>&1 &
	PIDS+=($!)
	sleep 3 # the load's own time: c has queued and running jobs when it dies
	kill -KILL "${MPID[c]}"
	t0=$(date +%s.%N)
	ids=$(pg_sql takeover "SELECT string_agg(id::text, ',') FROM job WHERE status = 0 AND owner_id = (SELECT id FROM manager WHERE name = 'c')")
	pending=$(pg_sql takeover "SELECT COUNT(*) FROM job WHERE id IN (${ids:-0})")
	t1="" t2=""
	for _ in $(seq 1200); do
		if [ -z "$t1" ] && [ "$(pg_sql takeover "SELECT state FROM manager WHERE name = 'c'")" = taken ]; then
			t1=$(date +%s.%N)
		fi
		if [ "$(pg_sql takeover "SELECT COUNT(*) FROM job WHERE status = 0 AND id IN (${ids:-0})")" = 0 ]; then
			t2=$(date +%s.%N)
			break
		fi
		sleep 0.05
	done
	[ -n "$t2" ] || die "c's jobs were not finished within 60 s"
	{
		echo "### b. Takeover: 3 managers, takeover-after $TAKEOVER s, manager c SIGKILLed under load"
		echo
		echo "- c's pending jobs at the kill: $pending"
		echo "- kill -> c taken over: $(awk -v a="$t0" -v b="${t1:-$t2}" 'BEGIN { printf "%.2f", b - a }') s"
		echo "- kill -> the last of them finished by another manager: $(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s"
		echo "- how they ended: $(pg_sql takeover "SELECT string_agg(s, ', ') FROM (SELECT status || ' (' || result_code || '): ' || COUNT(*) s FROM job WHERE id IN (${ids:-0}) GROUP BY status, result_code) x")"
		echo "- $(check "$db" "$(pg_sql takeover "SELECT COUNT(*) FROM vm WHERE state = 'Running'")")"
		echo
	} >>"$OUT"
	for k in a b; do kill -TERM "${MPID[$k]}"; wait "${MPID[$k]}" || true; done
}

main() {
	local start=$SECONDS n
	for f in "$LOAD" "$MGR" "$VRD"; do [ -x "$f" ] || die "$f not built (make all bench)"; done
	WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/mgr-multi.XXXXXX")
	chmod 0755 "$WORK"
	bench_token "$WORK/token"
	mkdir -p "$(dirname "$OUT")"
	pg_start "$WORK/pg" || die "PostgreSQL did not start"
	{
		echo "## vr-manager: several managers on PostgreSQL"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown);" \
			"$(nproc) CPUs; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on a Unix socket, work dir on $(findmnt -no FSTYPE -T "$WORK")."
		echo
		echo "### a. Throughput: 1,000 hosts, $TP_SECONDS s, closed loop, $WORKERS workers per manager"
		echo
		echo "| run | managers | clients | succeeded | seconds | deployments/s | sync median / p99 ms (worst loader) | over-commit check |"
		echo "|---|---:|---:|---:|---:|---:|---:|---|"
	} >"$OUT"
	one_run sqlite "$WORK/sqlite.db" 0
	for n in $COUNTS; do
		pg_createdb "tp$n"
		one_run "pg-$n" "$(pg_uri "tp$n")" "$n"
	done
	echo >>"$OUT"
	takeover
	cat "$OUT"
	say "done in $((SECONDS - start)) s; tables in $OUT"
}

main "$@"
