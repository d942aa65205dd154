#!/usr/bin/env bash
# bench/mgr_bench.sh: vr-manager's deployment benchmarks (figures in docs/performance.md,
# "vr-manager: deployment").  Each scenario gets a fresh world (tests/lib/mgr_inventory.py:
# libvirt test:/// hosts, a zone-wide pool and a raw template on disk under BENCH_DIR), fresh
# vrds on loopback as the networks' VRs (real fsyncs), a fresh SQLite database, and drives
# vr-manager with bench/mgr_load (signed deployVirtualMachine + queryAsyncJobResult, closed
# loop: each client waits for its job before the next deployment):
#  a.  latency: BENCH_LAT_N (200) deployments one after the other (concurrency 1) on 10 hosts,
#      each stage's median / p99 against CloudStack's reference timings; after each, the
#      VM is stopped and started again (mgr_load --lifecycle): the sync phase and whole job
#      of stopVirtualMachine and startVirtualMachine;
#  b.  throughput: 1,000 hosts, as many deployments as fit in BENCH_TP_SECONDS (10) at each
#      "concurrency/workers[/networks]" of BENCH_TP_SETTINGS ("8/4 16/8 16/8/4 16/16/8";
#      networks: guest networks, each with its own vrd, deployments spread over them in
#      turn; default 1), then the database is checked for over-commit (no host or pool used
#      > total; sum of used = successes x offering);
#  b2. saturation: 1,000 hosts with room for 2 VMs each, BENCH_SAT_N (2600) deployments:
#      exactly 2,000 must succeed, the rest fail with 533, no host over;
#  c.  planning with 10,000 hosts: the planning stage's duration from BENCH_PLAN_N (200)
#      deployments at concurrency 4, and bench/mgr_plan (planner_place on an in-memory
#      snapshot: empty, 90 % full, all full but one host);
#  d.  bench/mgr_volume.sh when BENCH_MGR_VOLUME=1 (it has its own section).
# BENCH_MGR_RUNS (2): repetitions of a and c; BENCH_MGR_ONLY=latency|throughput|saturation|
# planning; BENCH_MGR_ARGS: more options for vr-manager serve (e.g. "--group-commit no");
# BENCH_VRD_DIR=/dev/shm: the vrds' state on tmpfs, the manager's on BENCH_DIR (diagnostic:
# what the manager does when its VRs cost little);
# BENCH_POLL_MS (2): mgr_load's poll interval; BENCH_API_THREADS (2); BENCH_DIR
# (/var/tmp: a disk); BENCH_ALLOW_TMPFS=1 with BENCH_DIR=/dev/shm: a diagnostic run where
# fsync costs nothing; BENCH_KEEP=1 keeps the work dir.  Writes the tables to
# $BUILD/bench/mgr_results.md (BENCH_OUT).  Root not needed; uses python3 (and its sqlite3
# module for the checks).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
LOAD=$BUILD/bench/mgr_load
PLAN=$BUILD/bench/mgr_plan
MGR=$BUILD/vr-manager
VRD=$BUILD/vrd
LAT_N=${BENCH_LAT_N:-200}
TP_SECONDS=${BENCH_TP_SECONDS:-10}
TP_SETTINGS=${BENCH_TP_SETTINGS:-"8/4 16/8 16/8/4 16/16/8"}
PLAN_N=${BENCH_PLAN_N:-200}
RUNS=${BENCH_MGR_RUNS:-2}
POLL_MS=${BENCH_POLL_MS:-2}
OUT=${BENCH_OUT:-$BUILD/bench/mgr_results.md}
PY=python3

BENCH_NAME=mgr-bench
. "$ROOT/bench/lib/bench.sh"

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}


# world DIR HOSTS [mgr_inventory options]: $NETS guest networks, each with its own vrd on a
# free port (VRD_PIDS), the inventory, the database.
world() {
	local d=$1 hosts=$2 port k urls=()
	shift 2
	VRD_PIDS=()
	for k in $(seq "${NETS:-1}"); do
		if [ -n "${BENCH_VRD_DIR:-}" ]; then # vrd's files elsewhere (diagnostic)
			mkdir -p "$d" "$BENCH_VRD_DIR/$(basename "$WORK")"
			rm -rf "$d/vrd$k"
			ln -s "$(mktemp -d "$BENCH_VRD_DIR/$(basename "$WORK")/vrd.XXXXXX")" "$d/vrd$k"
		fi
		mkdir -p "$d/vrd$k"
		port=$(free_port)
		"$VRD" --config /dev/null --listen "127.0.0.1:$port" --state-dir "$d/vrd$k/state" \
			--token-file "$WORK/token" --dnsmasq-pid-file "$d/vrd$k/dnsmasq.pid" \
			--dnsmasq-lease-file "$d/vrd$k/dnsmasq.leases" --metadata-user nobody \
			--manage-links no 2>"$d/vrd$k.log" &
		VRD_PIDS+=($!)
		PIDS+=($!)
		wait_log "$d/vrd$k.log" 'ready: listening' "$!" || die "vrd did not start ($d)"
		urls+=("http://127.0.0.1:$port")
	done
	$PY "$ROOT/tests/lib/mgr_inventory.py" --dir "$d/world" --hosts "$hosts" \
		--vr-url "${urls[0]}" --vr-token "$(cat "$WORK/token")" \
		--cidr 10.0.0.0/12 --gateway 10.0.0.1 "$@"
	# more networks (net2, net3, ...), one VR each, on 10.16.0.0/12, 10.32.0.0/12, ...
	$PY - "$d/world/inventory.json" "${urls[@]}" <<'PYEOF'
import json, sys
f, urls = sys.argv[1], sys.argv[2:]
inv = json.load(open(f))
base = inv["networks"][0]
for k, url in enumerate(urls[1:], start=2):
    n = dict(base, id="net%d" % k, name="Guest net %d" % k, vr_url=url,
             cidr="10.%d.0.0/12" % (16 * (k - 1)), gateway="10.%d.0.1" % (16 * (k - 1)),
             dns="10.%d.0.1" % (16 * (k - 1)))
    inv["networks"].append(n)
json.dump(inv, open(f, "w"), indent=1)
PYEOF
	NETIDS=$(seq -f 'net%g' -s, "${NETS:-1}")
	"$MGR" -c /dev/null --db "$d/manager.db" --inventory "$d/world/inventory.json" init \
		>/dev/null 2>"$d/init.log" || { cat "$d/init.log" >&2; die "vr-manager init ($d)"; }
}

# serve DIR WORKERS: vr-manager on a free port (MGR_PID, MGR_URL).
serve() {
	local d=$1 port
	port=$(free_port)
	sync
	"$MGR" -c /dev/null --db "$d/manager.db" --listen "127.0.0.1:$port" --workers "$2" \
		--api-threads "${BENCH_API_THREADS:-2}" ${BENCH_MGR_ARGS:-} serve 2>"$d/manager.log" &
	MGR_PID=$!
	PIDS+=("$MGR_PID")
	MGR_URL="http://127.0.0.1:$port"
	wait_log "$d/manager.log" 'serving' "$MGR_PID" || die "vr-manager did not start ($d)"
}

load() { uptime | sed 's/.*load average: //'; }

# run NAME DIR WORKERS mgr_load-options...: one measured run, its output in DIR/load.txt.
run() {
	local name=$1 d=$2 w=$3 l0 p
	shift 3
	serve "$d" "$w"
	l0=$(load)
	say "$name: mgr_load $* (load before: $l0)"
	"$LOAD" --url "$MGR_URL" --poll-ms "$POLL_MS" --network "$NETIDS" "$@" >"$d/load.txt" ||
		say "$name: mgr_load reported unfinished or refused deployments"
	echo "LOAD before=\"$l0\" after=\"$(load)\"" >>"$d/load.txt"
	stop_pid "$MGR_PID"
	grep -h 'group commit:' "$d/manager.log" >>"$d/load.txt" || true
	cat "$d/load.txt" >&2
	for p in "${VRD_PIDS[@]}"; do stop_pid "$p"; done
}

# rf FILE METRIC KEY: a RESULT field.
rf() { grep "^RESULT metric=$2 " "$1" | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }

stage_table() { # FILE...: one column pair per run
	local m f cs
	printf '| ms |'; for f in "$@"; do printf ' run %s median / p99 |' "$(basename "$(dirname "$f")")"; done
	printf ' CloudStack | CloudStack / median (run 1) |\n|---|'
	for f in "$@"; do printf -- '---:|'; done; printf -- '---:|---:|\n'
	for m in sync planning reservation networkprep volumeprep start completion job queued end_to_end \
	    stop_sync stop_job start_sync start_job; do
		[ -n "$(rf "$1" "$m" median_ms)" ] || continue # (lifecycle rows: --lifecycle runs only)
		printf '| %s |' "$m"
		for f in "$@"; do printf ' %s / %s |' "$(rf "$f" "$m" median_ms)" "$(rf "$f" "$m" p99_ms)"; done
		cs=$(rf "$1" "$m" cs_ms)
		if [ "${cs:-0}" != 0 ]; then
			printf ' %s | %s |\n' "$cs" "$(awk -v a="$cs" -v b="$(rf "$1" "$m" median_ms)" \
				'BEGIN { if (b < 0.001) print "-"; else printf "%.0fx", a / b }')"
		else
			printf ' | |\n'
		fi
	done
	printf '\n'
	for f in "$@"; do
		printf -- '- run %s: %s; %s; load average before %s, after %s%s\n' \
			"$(basename "$(dirname "$f")")" "$(grep '^deployments sent' "$f")" \
			"$(grep '^ codes' "$f" | sed 's/^ codes/jobresultcode counts/')" \
			"$(sed -n 's/^LOAD before="\([^"]*\)".*/\1/p' "$f")" \
			"$(sed -n 's/^LOAD .*after="\([^"]*\)"/\1/p' "$f")" \
			"$(sed -n 's/.*\(group commit: .*\)/; \1/p' "$f")"
	done
}

# sql DB QUERY: rows '|'-separated, as the sqlite3 shell prints them (python3's module:
# the sqlite3 shell is not among the build's packages).
sql() {
	$PY -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))' "$1" "$2"
}

# overcommit DIR OK: checks the database after a throughput run.
overcommit() {
	local d=$1 ok=$2 db=$1/manager.db
	sql "$db" "SELECT
	  (SELECT COUNT(*) FROM host WHERE cpu_used_mhz > cpu_total_mhz OR ram_used_mib > ram_total_mib),
	  (SELECT COUNT(*) FROM pool WHERE used_bytes > capacity_bytes),
	  (SELECT SUM(cpu_used_mhz) FROM host), (SELECT SUM(ram_used_mib) FROM host),
	  (SELECT SUM(used_bytes) FROM pool),
	  (SELECT cpu_count * cpu_mhz FROM offering WHERE uuid = 'small'),
	  (SELECT ram_mib FROM offering WHERE uuid = 'small'),
	  (SELECT size FROM template WHERE uuid = 'tpl1'),
	  (SELECT COUNT(*) FROM vm WHERE state = 'Running'),
	  (SELECT COUNT(DISTINCT host_id) FROM vm WHERE state = 'Running'),
	  (SELECT MAX(c) FROM (SELECT COUNT(*) c FROM vm WHERE state = 'Running' GROUP BY host_id))" |
	awk -F'|' -v ok="$ok" '{
		good = $1 == 0 && $2 == 0 && $3 == ok * $6 && $4 == ok * $7 && $5 == ok * $8 && $9 == ok
		printf "hosts over: %d, pools over: %d; cpu used %d MHz = %d x %d: %s; ram used %d MiB = %d x %d: %s;" \
		  " pool used %.0f B = %d x %d: %s; Running VMs %d on %d hosts (at most %d on one) -> %s\n",
		  $1, $2, $3, ok, $6, ($3 == ok * $6) ? "yes" : "NO", $4, ok, $7, ($4 == ok * $7) ? "yes" : "NO",
		  $5, ok, $8, ($5 == ok * $8) ? "yes" : "NO", $9, $10, $11, good ? "no over-commit" : "MISMATCH"
	}'
}

preflight() {
	for f in "$LOAD" "$MGR" "$VRD"; do [ -x "$f" ] || die "$f not built (make BUILD=... all bench)"; done
	WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/mgr-bench.XXXXXX")
	# vrd's files elsewhere (BENCH_VRD_DIR) go with the work directory
	[ -n "${BENCH_VRD_DIR:-}" ] && [ -z "${BENCH_KEEP:-}" ] &&
		BENCH_AT_EXIT+=('rm -rf -- "${BENCH_VRD_DIR:?}/$(basename "$WORK")"')
	chmod 0755 "$WORK"
	case "$(findmnt -no FSTYPE -T "$WORK")" in
	tmpfs|ramfs) [ -n "${BENCH_ALLOW_TMPFS:-}" ] || die "$WORK is on tmpfs: fsync would cost nothing (BENCH_ALLOW_TMPFS=1 for a diagnostic run)" ;;
	esac
	bench_token "$WORK/token"
	mkdir -p "$(dirname "$OUT")"
}

latency() {
	local r files=()
	for r in $(seq "$RUNS"); do
		world "$WORK/lat/$r" 10 --host-cores 64 --host-ram 262144
		run "latency run $r" "$WORK/lat/$r" 4 -n "$LAT_N" -c 1 --prefix "lat$r-" --lifecycle
		files+=("$WORK/lat/$r/load.txt")
	done
	{
		echo "### a. Latency: $LAT_N deployments one after the other (concurrency 1), 10 hosts, 4 workers"
		echo
		stage_table "${files[@]}"
		echo
	} >>"$OUT"
}

throughput() {
	local s c w n d best=0 best_s="" line ok
	{
		echo "### b. Throughput: 1,000 hosts, deployments for $TP_SECONDS s, closed loop"
		echo
		echo "| concurrency / workers / networks (VRs) | succeeded | failed | seconds | deployments/s | sync median / p99 ms | job median / p99 ms | end-to-end median / p99 ms | load before / after | over-commit check |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
	} >>"$OUT"
	for s in $TP_SETTINGS; do
		IFS=/ read -r c w n <<<"$s"
		n=${n:-1}
		d=$WORK/tp/c$c-w$w-n$n
		NETS=$n world "$d" 1000
		run "throughput c=$c w=$w networks=$n" "$d" "$w" -n 1000000 -c "$c" \
			--duration "$TP_SECONDS" --prefix "tp-"
		ok=$(rf "$d/load.txt" throughput ok)
		line=$(overcommit "$d" "$ok")
		say "check: $line"
		echo "| $c / $w / $n | $ok | $(rf "$d/load.txt" throughput failed) | $(rf "$d/load.txt" throughput seconds) |" \
			"$(rf "$d/load.txt" throughput per_s) |" \
			"$(rf "$d/load.txt" sync median_ms) / $(rf "$d/load.txt" sync p99_ms) |" \
			"$(rf "$d/load.txt" job median_ms) / $(rf "$d/load.txt" job p99_ms) |" \
			"$(rf "$d/load.txt" end_to_end median_ms) / $(rf "$d/load.txt" end_to_end p99_ms) |" \
			"$(sed -n 's/^LOAD before="\([^"]*\)" after="\([^"]*\)"/\1 \/ \2/p' "$d/load.txt") |" \
			"$line |" >>"$OUT"
		if awk -v a="$(rf "$d/load.txt" throughput per_s)" -v b="$best" 'BEGIN { exit !(a > b) }'; then
			best=$(rf "$d/load.txt" throughput per_s)
			best_s="$c/$w/$n: $LOAD --url URL --poll-ms $POLL_MS --network $NETIDS -n 1000000 -c $c --duration $TP_SECONDS; vr-manager serve --workers $w"
		fi
		rm -rf "$d/world/primary" # thousands of overlays
	done
	{
		echo
		echo "Best: $best deployments/s ($best_s)."
		echo
		for s in $TP_SETTINGS; do
			IFS=/ read -r c w n <<<"$s"
			n=${n:-1}
			echo "Stages at $c / $w / $n:"
			echo
			stage_table "$WORK/tp/c$c-w$w-n$n/load.txt"
			echo
		done
	} >>"$OUT"
}

# The claim under pressure: 1,000 hosts with room for 2 VMs each (1 core x 1000 MHz, 1 GiB)
# and BENCH_SAT_N (2600) deployments at 16 / 8 / 4 networks: 2,000 must succeed, the rest
# fail with 533, and no host may hold more than 2.
saturate() {
	local d=$WORK/sat n=${BENCH_SAT_N:-2600} ok
	NETS=4 world "$d" 1000 --host-cores 1 --host-mhz 1000 --host-ram 1024
	run "saturation" "$d" 8 -n "$n" -c 16 --prefix "sat-"
	ok=$(rf "$d/load.txt" throughput ok)
	{
		echo "### b2. Saturation: 1,000 hosts with room for 2 VMs each, $n deployments at 16 / 8 / 4"
		echo
		echo "- $(grep '^deployments sent' "$d/load.txt"); $(grep '^ codes' "$d/load.txt" | sed 's/^ codes/jobresultcode counts/')"
		echo "- re-planned after a lost claim: $(sql "$d/manager.db" "SELECT COUNT(*) FROM job WHERE stages LIKE '%re-planned%'") jobs"
		echo "- database after the run: $(overcommit "$d" "$ok")"
		echo "- load average before / after: $(sed -n 's/^LOAD before="\([^"]*\)" after="\([^"]*\)"/\1 \/ \2/p' "$d/load.txt")"
		echo
	} >>"$OUT"
	rm -rf "$d/world/primary"
}

planning() {
	local r files=()
	for r in $(seq "$RUNS"); do
		world "$WORK/plan/$r" 10000
		run "planning run $r" "$WORK/plan/$r" 4 -n "$PLAN_N" -c 4 --prefix "plan$r-"
		files+=("$WORK/plan/$r/load.txt")
		rm -rf "$WORK/plan/$r/world/nodes"
	done
	{
		echo "### c. Planning with 10,000 hosts: $PLAN_N deployments at concurrency 4, 4 workers"
		echo
		echo "| run | planning median ms | p99 | max | whole job median ms | load before / after |"
		echo "|---:|---:|---:|---:|---:|---|"
		for r in $(seq "$RUNS"); do
			f=$WORK/plan/$r/load.txt
			echo "| $r | $(rf "$f" planning median_ms) | $(rf "$f" planning p99_ms) | $(rf "$f" planning max_ms) |" \
				"$(rf "$f" job median_ms) | $(sed -n 's/^LOAD before="\([^"]*\)" after="\([^"]*\)"/\1 \/ \2/p' "$f") |"
		done
		echo
		if [ -x "$PLAN" ]; then
			echo "planner_place alone (bench/mgr_plan, 10,000 hosts in memory, one zone pool):"
			echo
			"$PLAN" 10000
			echo
		fi
	} >>"$OUT"
}

main() {
	local what=${BENCH_MGR_ONLY:-all} start=$SECONDS
	preflight
	say "work dir $WORK ($(findmnt -no FSTYPE -T "$WORK")); $(nproc) CPUs; load $(load)"
	{
		echo "## vr-manager deployment benchmark"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown);" \
			"$(nproc) CPUs, kernel $(uname -r), work dir on $(findmnt -no SOURCE,FSTYPE -T "$WORK"); poll interval $POLL_MS ms."
		echo
	} >"$OUT"
	case "$what" in all | latency) latency ;; esac
	case "$what" in all | throughput) throughput ;; esac
	case "$what" in all | throughput | saturation) saturate ;; esac
	case "$what" in all | planning) planning ;; esac
	if [ "${BENCH_MGR_VOLUME:-0}" = 1 ]; then
		{ echo "### d. Volume prep (bench/mgr_volume.sh)"; echo; BUILD=$BUILD "$ROOT/bench/mgr_volume.sh"; } >>"$OUT"
	fi
	cat "$OUT"
	say "done in $((SECONDS - start)) s; tables in $OUT"
}

main "$@"
