#!/usr/bin/env bash
# bench/ab.sh BEFORE AFTER [ROUNDS]: the same benchmarks against two builds of the daemons,
# in alternating rounds (before, after, before, after ...; ROUNDS each, default 3, at least
# 3), so that slow drifts in the machine's load hit both; then per metric the two medians
# over the rounds, the ratio after / before, and each side's range (min-max).
# BEFORE and AFTER are repository trees whose daemons are built (make all: TREE/build/vrd,
# vr-metadata, vr-manager).  The benchmark code is this tree's: its scripts (bench/run.sh
# BENCH_ONLY=latency, bench/md_bench.sh BENCH_MD_ONLY=wrk, bench/mgr_bench.sh) and its bench
# programs ($BUILD/bench/*: make BUILD=... all bench binaries), pointed at each side's
# daemons through a build directory of links.  Needs root (namespaces, dnsmasq), wrk, nginx.
# Each round, per side:
#   vrd          dnsmasq running, 0 and 10,000 VMs held: one VM's batch of three commands
#                (median, p99), the three as sequential requests (median), 16 concurrent
#                clients of one-VM batches (VMs/s);
#   vr-metadata  wrk (64 keep-alive connections, VM 0's paths): requests/s, p99; md_load
#                (latencies as measured): requests/s, p99; nginx on the same files beside it;
#   vr-manager   deployments one after the other (concurrency 1): job median / p99; the
#                throughput run (1,000 hosts, concurrency 16, 8 workers): deployments/s.
# Shorter than the full benchmarks (docs/performance.md): knobs BENCH_ITERATIONS (100),
# BENCH_PER_CLIENT (25), BENCH_MD_DURATION (5), BENCH_LAT_N (50), BENCH_TP_SECONDS (5);
# BENCH_AB_PARTS ("vrd metadata manager"), BENCH_AB_SIZES (vrd's, "0 10000"). Raw output under BENCH_AB_OUT
# ($BUILD/bench/ab), the table in BENCH_AB_OUT/ab.md; BENCH_AB_TABLE=1 only prints the
# table again from BENCH_AB_OUT's raw output.
# Wall-clock figures move with the machine's other load; the CPU time per VM or request
# (vrd's, vr-metadata's, nginx's: the processes' user + system time) hardly does.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BENCH_NAME=ab
. "$ROOT/bench/lib/bench.sh"

[ $# -ge 2 ] || die "usage: bench/ab.sh BEFORE-TREE AFTER-TREE [ROUNDS]"
ROUNDS=${3:-3}
[ "$ROUNDS" -ge 3 ] || die "at least 3 rounds"
PARTS=${BENCH_AB_PARTS:-"vrd metadata manager"}
OUTDIR=${BENCH_AB_OUT:-$BUILD/bench/ab}
export BENCH_ITERATIONS=${BENCH_ITERATIONS:-100} BENCH_PER_CLIENT=${BENCH_PER_CLIENT:-25}
export BENCH_MD_DURATION=${BENCH_MD_DURATION:-5} BENCH_MD_LOAD_DURATION=${BENCH_MD_LOAD_DURATION:-5}
export BENCH_LAT_N=${BENCH_LAT_N:-50} BENCH_TP_SECONDS=${BENCH_TP_SECONDS:-5}

# side NAME TREE: $OUTDIR/NAME/build, the tree's daemons and this tree's bench programs.
side() {
	local d=$OUTDIR/$1/build b
	mkdir -p "$d/bench"
	for b in vrd vrctl vr-metadata vr-manager; do
		[ -x "$2/build/$b" ] || die "$2/build/$b not built (make -C $2 all)"
		ln -sfn "$(cd "$2" && pwd)/build/$b" "$d/$b"
	done
	for b in vrd_bench md_load md_storm mgr_load mgr_plan; do
		[ -x "$BUILD/bench/$b" ] || die "$BUILD/bench/$b not built (make BUILD=$BUILD all bench binaries)"
		ln -sfn "$BUILD/bench/$b" "$d/bench/$b"
	done
	echo "$(cd "$2" && git describe --always --dirty 2>/dev/null || echo "$2")" >"$OUTDIR/$1/commit"
}

load() { uptime | sed 's/.*load average: //'; }

# one NAME ROUND: every part against side NAME; RESULT lines in $OUTDIR/NAME/ROUND.txt.
one() {
	local b=$OUTDIR/$1/build f=$OUTDIR/$1/$2.txt raw=$OUTDIR/$1/$2.log
	echo "LOAD before=\"$(load)\"" >"$f"
	say "round $2, $1 ($(cat "$OUTDIR/$1/commit")), load $(load)"
	: >"$raw"
	case " $PARTS " in *" vrd "*)
		BUILD=$b BENCH_ONLY=latency BENCH_SIZES="${BENCH_AB_SIZES:-0 10000}" BENCH_GUARD_ROUNDS=0 \
			"$ROOT/bench/run.sh" >>"$raw" 2>&1 || die "vrd run ($1, round $2): $raw"
		grep '^RESULT mode=' "$raw" | sed 's/^RESULT /RESULT part=vrd /' >>"$f" ;;
	esac
	case " $PARTS " in *" metadata "*)
		BUILD=$b BENCH_MD_ONLY=wrk BENCH_MD_ROUNDS=1 BENCH_MD_MODES=keepalive \
			"$ROOT/bench/md_bench.sh" >>"$raw" 2>&1 || die "metadata run ($1, round $2): $raw"
		grep '^RESULT mode=\(wrk\|load\) ' "$raw" | sed 's/^RESULT /RESULT part=md /' >>"$f" ;;
	esac
	case " $PARTS " in *" manager "*)
		BUILD=$b BENCH_MGR_ONLY=latency BENCH_MGR_RUNS=1 BENCH_OUT="$OUTDIR/$1/mgr-lat.md" \
			"$ROOT/bench/mgr_bench.sh" >>"$raw" 2>&1 || die "manager latency run ($1, round $2): $raw"
		grep '^RESULT metric=' "$raw" | sed 's/^RESULT /RESULT part=mgr_lat /' >>"$f"
		: >"$raw.tp"
		BUILD=$b BENCH_MGR_ONLY=throughput BENCH_TP_SETTINGS=16/8 BENCH_SAT_N=16 \
			BENCH_OUT="$OUTDIR/$1/mgr-tp.md" "$ROOT/bench/mgr_bench.sh" >>"$raw.tp" 2>&1 ||
			die "manager throughput run ($1, round $2): $raw.tp"
		# the first throughput line is the 16/8 run's (the saturation run's follows)
		grep -m1 '^RESULT metric=throughput ' "$raw.tp" | sed 's/^RESULT /RESULT part=mgr_tp /' >>"$f"
		cat "$raw.tp" >>"$raw" && rm -f "$raw.tp" ;;
	esac
	echo "LOAD after=\"$(load)\"" >>"$f"
}

# values NAME FILTER KEY: KEY of the first line matching FILTER, one per round
# (KEY A/B: A / B x 1e6, e.g. CPU seconds per request in microseconds).
values() {
	local r
	for r in $(seq "$ROUNDS"); do
		grep -- "$2" "$OUTDIR/$1/$r.txt" | head -1 | tr ' ' '\n' |
			awk -F= -v k="$3" 'BEGIN { n = split(k, ab, "/") }
				n == 1 && $1 == k { print $2 }
				n == 2 { v[$1] = $2 }
				END { if (n == 2 && v[ab[2]] > 0) print v[ab[1]] / v[ab[2]] * 1e6 }'
	done
}

# stat: "median min max" of the numbers on stdin.
stat() {
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "- - -"; exit }
		printf "%.3f %.3f %.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}

# row LABEL FILTER KEY BETTER(lower|higher)
row() {
	local a b
	read -r -a a < <(values before "$2" "$3" | stat)
	read -r -a b < <(values after "$2" "$3" | stat)
	[ "${a[0]}" != - ] && [ "${b[0]}" != - ] || { echo "| $1 | - | - | - | not measured |"; return; }
	awk -v l="$1" -v a="${a[0]}" -v b="${b[0]}" -v amin="${a[1]}" -v amax="${a[2]}" \
		-v bmin="${b[1]}" -v bmax="${b[2]}" -v better="$4" 'BEGIN {
		r = a > 0 ? b / a : 0
		worse = better == "lower" ? r > 1.05 : r < 0.95
		printf "| %s | %s (%s-%s) | %s (%s-%s) | %.3f | %s |\n", l, a, amin, amax, b, bmin, bmax, r,
			worse ? "**worse by more than 5 %**" : "within 5 % or better"
	}'
}

table() {
	local n s
	echo "A/B: before $(cat "$OUTDIR/before/commit") ($1), after $(cat "$OUTDIR/after/commit") ($2);" \
		"$ROUNDS alternating rounds each; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs."
	echo
	echo "| metric | before: median (min-max) | after: median (min-max) | after / before | |"
	echo "|---|---:|---:|---:|---|"
	for n in 0 10000; do
		row "vrd, $n VMs: one batch of three, median ms" "part=vrd mode=one_batch vms=$n " median_ms lower
		row "vrd, $n VMs: one batch of three, p99 ms" "part=vrd mode=one_batch vms=$n " p99_ms lower
		row "vrd, $n VMs: three sequential requests, median ms" "part=vrd mode=three_requests vms=$n " median_ms lower
		row "vrd, $n VMs: 16 clients, VMs/s" "part=vrd mode=concurrent_rate vms=$n " vms_per_s higher
		row "vrd, $n VMs: vrd's CPU ms per one-batch VM" "part=vrd mode=cpu vms=$n " vrd_cpu_ms_per_vm lower
	done
	row "vr-metadata, wrk keep-alive: requests/s" "part=md mode=wrk server=vr-metadata " rps higher
	row "vr-metadata, wrk keep-alive: p99 ms" "part=md mode=wrk server=vr-metadata " p99_ms lower
	row "vr-metadata, wrk keep-alive: its CPU us per request" "part=md mode=wrk server=vr-metadata " cpu_s/requests lower
	row "vr-metadata, md_load keep-alive: requests/s" "part=md mode=load server=vr-metadata " rps higher
	row "vr-metadata, md_load keep-alive: p99 ms" "part=md mode=load server=vr-metadata " p99_ms lower
	row "(control) nginx, wrk keep-alive: requests/s" "part=md mode=wrk server=nginx " rps higher
	row "(control) nginx, wrk keep-alive: its CPU us per request" "part=md mode=wrk server=nginx " cpu_s/requests lower
	row "vr-manager, concurrency 1: job median ms" "part=mgr_lat metric=job " median_ms lower
	row "vr-manager, concurrency 1: job p99 ms" "part=mgr_lat metric=job " p99_ms lower
	row "vr-manager, concurrency 1: end to end median ms" "part=mgr_lat metric=end_to_end " median_ms lower
	row "vr-manager, 16 / 8 throughput: deployments/s" "part=mgr_tp metric=throughput " per_s higher
	echo
	printf 'Load average (1, 5, 15 min) before / after each run:'
	for n in $(seq "$ROUNDS"); do
		for s in before after; do
			printf ' %s %s: %s / %s;' "$s" "$n" \
				"$(sed -n 's/^LOAD before="\(.*\)"/\1/p' "$OUTDIR/$s/$n.txt")" \
				"$(sed -n 's/^LOAD after="\(.*\)"/\1/p' "$OUTDIR/$s/$n.txt")"
		done
	done
	echo
}

main() {
	local r start=$SECONDS
	if [ -n "${BENCH_AB_TABLE:-}" ]; then
		table "$1" "$2"
		return
	fi
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces, dnsmasq)"
	rm -rf "$OUTDIR"
	side before "$1"
	side after "$2"
	for r in $(seq "$ROUNDS"); do
		one before "$r"
		one after "$r"
	done
	table "$1" "$2" | tee "$OUTDIR/ab.md"
	say "done in $((SECONDS - start)) s; table in $OUTDIR/ab.md"
}

main "$@"
