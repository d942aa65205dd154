#!/usr/bin/env bash
# bench/run.sh: vrd's benchmarks (method and figures in docs/performance.md).
#  0. the floor: a C loop of durable atomic replacements of one file (temporary
#     file, fsync, rename, fsync of the directory) in the same work directory;
#  1. convergence: 10,000 VMs (30,000 commands; BENCH_CONVERGE="10000 100000"
#     for more sizes) sent in batches of 5,000 on an empty vrd, in a network
#     namespace with a real dnsmasq, timed until dnsmasq answers for the last VM;
#  2. with dnsmasq running and answering, in a namespace, on a fresh vrd holding
#     0, 1,000 and 10,000 VMs (BENCH_SIZES; 100000 too if you have the time):
#     16 concurrent clients each sending new one-VM batches (VMs per second),
#     then one VM's dhcpentry+vmpassword+vmdata as three requests and as one
#     batch, then a check that dnsmasq answers for the last VM;
#  3. vrd's resident memory at each size, and per VM;
#  4. the address bindings' cost: one VM's commands on a vrd holding 0 and
#     10,000 VMs, in a namespace with dnsmasq running, with --address-bindings
#     yes (nftables and neighbour updates per batch) and no, alternating rounds;
# then bench/md_bench.sh, vr-metadata's benchmarks (against nginx, boot storm,
# propagation, memory), and bench/md_starve.sh (one guest's cloud-init while
# another tenant hoards connections).
# Prints a table and writes it to $BUILD/bench/results.md.  Needs root.
# then bench/mgr_bench.sh, vr-manager's deployment benchmarks (latency, throughput,
# planning at 10,000 hosts), bench/mgr_multi_bench.sh (1, 2, 3 managers on one
# PostgreSQL database beside one on SQLite; the takeover of a killed manager's jobs), and
# bench/vm_bench.sh, real QEMU guests (the start stage, deploy to cloud-init done, density).
# BENCH_ONLY=vrd, metadata, manager or vm runs only that part (BENCH_ONLY=multi: only
# bench/mgr_multi_bench.sh; BENCH_ONLY=latency: only step 2 at BENCH_SIZES, with the floor,
# as bench/ab.sh uses it)
# (BENCH_ONLY=guard: only the address bindings' runs, step 4; BENCH_ONLY=group:
# group commit against none, vrd with threads 1 and 16 side by side, step 2's
# runs at BENCH_GROUP_SIZES ("0 10000"), BENCH_GROUP_ROUNDS (2) rounds;
# BENCH_ONLY=compare: another build's vrd, BENCH_BASE_VRD (e.g. main's
# build/vrd), against this tree's, side by side: step 2's runs at BENCH_SIZES and a
# convergence of BENCH_CONVERGE, BENCH_GROUP_ROUNDS rounds, alternating which goes first).
# Knobs: BENCH_SIZES ("0 1000 10000"), BENCH_GUARD_SIZES ("0 10000"), BENCH_GUARD_ROUNDS (4), BENCH_ITERATIONS (200), BENCH_CONVERGE
# ("10000"), BENCH_CONVERGE_RUNS (5), BENCH_CLIENTS (16), BENCH_PER_CLIENT (50), BENCH_PORT (39923), BENCH_DIR (/var/tmp:
# a disk, not tmpfs, so that fsync costs what it costs), BENCH_QUIET_WAIT (61:
# seconds to wait before the convergence runs on ext4 without a journal).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SIZES=${BENCH_SIZES:-"0 1000 10000"}
GUARD_SIZES=${BENCH_GUARD_SIZES:-"0 10000"}
GUARD_ROUNDS=${BENCH_GUARD_ROUNDS:-4}
ITER=${BENCH_ITERATIONS:-200}
CONVERGE_SIZES=${BENCH_CONVERGE:-10000}
GROUP_SIZES=${BENCH_GROUP_SIZES:-"0 10000"}
GROUP_ROUNDS=${BENCH_GROUP_ROUNDS:-2}
RESULT_PREFIX= RESULT_TAGS=    # run_groups' marks on run_latency's RESULT lines
CLIENTS=${BENCH_CLIENTS:-16}
PER_CLIENT=${BENCH_PER_CLIENT:-50}
RUNS=${BENCH_CONVERGE_RUNS:-5}
PORT=${BENCH_PORT:-39923}
QUIET_WAIT=${BENCH_QUIET_WAIT:-61}
MAX_BODY=67108864          # a 5,000-VM batch is ~13 MB, near the default max-body of 16 MiB
VRD=$BUILD/vrd
BENCH=$BUILD/bench/vrd_bench
OUT=$BUILD/bench/results.md
CS_MS=2400                 # CloudStack VR, network prep of one VM (published figure)


BENCH_NAME=bench
. "$ROOT/bench/lib/bench.sh"

# fs_of DIR: its file system type, "ext4 (no journal)" for a journal-less ext4.
fs_of() {
	local t dev
	t=$(findmnt -no FSTYPE -T "$1")
	dev=$(basename "$(findmnt -no SOURCE -T "$1")")
	if [ "$t" = ext4 ] && [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = "<none>" ]; then
		t="ext4 (no journal)"
	fi
	echo "$t"
}

preflight() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces, dnsmasq)"
	for f in "$VRD" "$BENCH"; do [ -x "$f" ] || die "$f not built (make bench)"; done
	for c in dnsmasq ip ss findmnt timeout; do
		command -v "$c" >/dev/null || die "missing command: $c"
	done
	[ -z "$(ss -Hltn "sport = :$PORT")" ] || die "port $PORT is in use; set BENCH_PORT"
	WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vrd-bench.XXXXXX")
	chmod 0755 "$WORK"      # dnsmasq reads the state dir as an unprivileged user
	FSTYPE=$(fs_of "$WORK")
	case "$FSTYPE" in tmpfs|ramfs) die "$WORK is on $FSTYPE: fsync would cost nothing" ;; esac
	bench_token "$WORK/token"
	mkdir -p "$(dirname "$OUT")"
	: >"$WORK/results.txt"
}

# start_vrd DIR NETNS|"" MANAGE_LINKS [VRD ARGS...]: starts vrd on the state dir
# DIR/state; sets VRD_PID.
start_vrd() {
	local dir=$1 ns=$2 links=$3 pre=()
	shift 3
	mkdir -p "$dir"
	sync                    # the last scenario's dirty data is not this one's to flush
	if [ -n "$ns" ]; then
		pre=(ip netns exec "$ns")
	elif [ -n "$(ss -Hltn "sport = :$PORT")" ]; then
		die "port $PORT is in use (vrd sets SO_REUSEPORT: requests would be shared)"
	fi
	"${pre[@]}" "$VRD" --config /dev/null --listen "127.0.0.1:$PORT" --state-dir "$dir/state" \
		--token-file "$WORK/token" --dnsmasq-pid-file "$dir/dnsmasq.pid" \
		--dnsmasq-lease-file "$dir/dnsmasq.leases" --metadata-user nobody \
		--manage-links "$links" --max-body "$MAX_BODY" "$@" 2>"$dir/vrd.log" &
	VRD_PID=$!
	PIDS+=("$VRD_PID")
	for _ in $(seq 100); do
		grep -q 'ready: listening' "$dir/vrd.log" && return 0
		kill -0 "$VRD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/vrd.log" >&2
	die "vrd did not start ($dir)"
}

# stop_pid PID: SIGTERM, up to 10 s to exit (dnsmasq busy re-reading 10,000
# hosts after the last SIGHUP can take that long), then SIGKILL; reaps it.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# mem LABEL PID: appends vrd's VmRSS and VmHWM (kB) as a RESULT line.
mem() {
	local rss hwm
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$2/status")
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$2/status")
	echo "RESULT mode=memory label=$1 rss_kb=$rss hwm_kb=$hwm" | tee -a "$WORK/results.txt"
}

# run_latency N: vrd holding N VMs in a namespace with dnsmasq running (and
# the address bindings, as deployed): 16 concurrent clients, then one VM's
# commands as three requests and as one batch, then dnsmasq must answer for
# the last VM sent.
run_latency() {
	local n=$1 threads=${2:-16} ns="vrl$$-$1" dir="$WORK/lat-$1${3:+-$3}" topt
	# (a vrd from before --threads, as bench/ab.sh may run: one thread, the option left out)
	topt=(--threads "$threads")
	"$VRD" --help 2>&1 | grep -q -- '--threads' || { threads=1; topt=(); }
	say "latency: vrd holding $n VMs ($threads threads), dnsmasq in netns $ns, $CLIENTS clients x $PER_CLIENT, $ITER VMs per mode"
	converge_env "$ns" "$dir" yes "${topt[@]}"
	mem "before the preload (size $n)" "$VRD_PID"
	ip netns exec "$ns" timeout 3000 "$BENCH" --url "http://127.0.0.1:$PORT" \
		--token-file "$WORK/token" --vms "$n" --iterations "$ITER" --clients "$CLIENTS" \
		--per-client "$PER_CLIENT" --dns-server 10.1.0.1 --timeout 600 --cpu-pid "$VRD_PID" |
		sed "s/^RESULT mode=\([a-z_]*\)/RESULT mode=$RESULT_PREFIX\1$RESULT_TAGS/" |
		tee -a "$WORK/results.txt" ||
		{ tail -5 "$dir/vrd.log" "$dir/dnsmasq.log" >&2; die "latency run with $n VMs"; }
	kill -0 "$DNSMASQ_PID" 2>/dev/null || die "dnsmasq died during the latency run"
	mem "after the preload of $n VMs and the runs" "$VRD_PID"
	stop_pid "$DNSMASQ_PID"
	stop_pid "$VRD_PID"
	if [ "$n" -gt 0 ]; then   # the same state, loaded from disk at start
		mv "$dir/vrd.log" "$dir/vrd-1.log"
		start_vrd "$dir" "$ns" yes "${topt[@]}"
		mem "restarted on that state dir ($n VMs and the runs' loaded from disk)" "$VRD_PID"
		stop_pid "$VRD_PID"
	fi
	ip netns del "$ns"
}

run_floor() {
	say "floor: $ITER durable atomic replacements of one file in $WORK/floor"
	mkdir -p "$WORK/floor"
	"$BENCH" --floor "$ITER" --floor-dir "$WORK/floor" | tee -a "$WORK/results.txt" ||
		die "floor run"
}

# converge_env NS DIR [BINDINGS [VRD-OPTION...]]: namespace with lo and a veth
# named eth1 (the guest NIC), vrd in it managing links (with its address
# bindings unless BINDINGS is no, and the further options), the guest network
# added, dnsmasq started on vrd's dnsmasq.conf; sets VRD_PID and DNSMASQ_PID.
converge_env() {
	local ns=$1 dir=$2 bindings=${3:-yes} s=$2/state
	shift 2
	[ $# -gt 0 ] && shift
	ip netns add "$ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth1 type veth peer name eth1-peer
	ip -n "$ns" link set eth1-peer up
	ip -n "$ns" link set eth1 up
	start_vrd "$dir" "$ns" yes --address-bindings "$bindings" "$@"
	ip netns exec "$ns" "$BENCH" --url "http://127.0.0.1:$PORT" --token-file "$WORK/token" \
		--setup-only || die "guest network not added"
	ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file="$s/dnsmasq.conf" \
		--pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" --no-resolv &
	DNSMASQ_PID=$!
	PIDS+=("$DNSMASQ_PID")
	for _ in $(seq 100); do
		grep -q "read $s/dhcpopts" "$dir/dnsmasq.log" 2>/dev/null && return 0
		kill -0 "$DNSMASQ_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/dnsmasq.log" >&2 || true
	die "dnsmasq did not start"
}

# run_converge RUN N: one convergence of N VMs on a fresh vrd and dnsmasq.
run_converge() {
	local r=$1 CONVERGE=$2 ns="vrb$$-$1-$2" dir="$WORK/conv-$1-$2"
	say "convergence run $r: $CONVERGE VMs in batches of 5,000, dnsmasq in netns $ns"
	converge_env "$ns" "$dir"
	ip netns exec "$ns" timeout 3000 "$BENCH" --url "http://127.0.0.1:$PORT" \
		--token-file "$WORK/token" --converge "$CONVERGE" --dnsmasq-log "$dir/dnsmasq.log" \
		--state-dir "$dir/state" --dns-server 10.1.0.1 --timeout 1800 |
		sed "s/^RESULT mode=\([a-z]*\)/RESULT mode=\1 run=$r$RESULT_TAGS/" |
		tee -a "$WORK/results.txt" ||
		{ tail -5 "$dir/vrd.log" "$dir/dnsmasq.log" >&2; die "convergence run $r"; }
	kill -0 "$DNSMASQ_PID" 2>/dev/null || die "dnsmasq died during the reload"
	mem "after converging $CONVERGE VMs (run $r)" "$VRD_PID"
	stop_pid "$DNSMASQ_PID"
	stop_pid "$VRD_PID"
	ip netns del "$ns"
}

# run_guard N BINDINGS ROUND: one VM's commands on a vrd holding N VMs, in a
# namespace with dnsmasq running and vrd managing the links, with the address
# bindings (BINDINGS yes: each batch also changes the nftables table and the
# neighbour entries) or without them (no).
run_guard() {
	local n=$1 bindings=$2 r=$3 ns="vrg$$-$1-$3" dir="$WORK/guard-$2-$1-$3"
	say "bindings: vrd holding $n VMs, address-bindings $bindings, round $r"
	converge_env "$ns" "$dir" "$bindings"
	ip netns exec "$ns" timeout 300 "$BENCH" --url "http://127.0.0.1:$PORT" \
		--token-file "$WORK/token" --vms "$n" --iterations "$ITER" --cpu-pid "$VRD_PID" --remove |
		sed "s/^RESULT mode=\([a-z_]*\)/RESULT mode=guard_\1 bindings=$bindings round=$r/" |
		tee -a "$WORK/results.txt" ||
		{ tail -5 "$dir/vrd.log" >&2; die "bindings run with $n VMs"; }
	if [ "$bindings" = yes ]; then  # the bindings were in force, and none was refused
		ip netns exec "$ns" nft list table inet vrd_guard >/dev/null &&
			grep -q '^vrd: info: guard: ' "$dir/vrd.log" &&
			! grep -q 'address bindings' "$dir/vrd.log" ||
			die "the address bindings were not in force: the run measured nothing"
	fi
	kill -0 "$DNSMASQ_PID" 2>/dev/null || die "dnsmasq died during the bindings run"
	stop_pid "$DNSMASQ_PID"
	stop_pid "$VRD_PID"
	ip netns del "$ns"
}

table_guard() {
	local n mode a b ca cb
	echo "## Address bindings: one VM's commands with and without them"
	echo
	echo "vrd in a network namespace with dnsmasq running, managing the guest link; \"with\" is" \
		"--address-bindings yes (each batch also updates the nftables table inet vrd_guard and" \
		"the neighbour entries), \"without\" is --address-bindings no; medians over $GUARD_ROUNDS alternating rounds of $ITER VMs." \
		"Latency moves with the machine's other load; vrd's CPU time per VM (its one batch and" \
		"its removal) hardly does."
	echo
	echo "| VMs held | mode | without: median / p99 ms | with: median / p99 ms | with / without (median) | aim <= 1.10 |"
	echo "|---:|---|---:|---:|---:|---|"
	for n in $GUARD_SIZES; do
		for mode in one_batch three_requests; do
			a=$(median "guard_$mode" median_ms " bindings=no .*vms=$n ")
			b=$(median "guard_$mode" median_ms " bindings=yes .*vms=$n ")
			echo "| $n | ${mode/_/ } | $a / $(median "guard_$mode" p99_ms " bindings=no .*vms=$n ") |" \
				"$b / $(median "guard_$mode" p99_ms " bindings=yes .*vms=$n ") |" \
				"$(calc '%.2f' "$b / $a") | $(calc '%s' "$b / $a <= 1.10 ? \"met\" : \"missed\"") |"
		done
	done
	echo
	echo "| VMs held | vrd CPU ms per VM, without | with | with / without |"
	echo "|---:|---:|---:|---:|"
	for n in $GUARD_SIZES; do
		ca=$(median guard_cpu vrd_cpu_ms_per_vm " bindings=no .*vms=$n ")
		cb=$(median guard_cpu vrd_cpu_ms_per_vm " bindings=yes .*vms=$n ")
		echo "| $n | $ca | $cb | $(calc '%.2f' "$cb / $ca") |"
	done
}

# field MODE KEY [FILTER]: KEY's value in the first RESULT line of MODE matching FILTER.
field() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | grep -- "${3:-}" | head -1 |
		tr ' ' '\n' | sed -n "s/^$2=//p"
}

# median MODE KEY FILTER: the median of KEY over the RESULT lines of MODE matching FILTER.
median() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | grep -- "$3" | tr ' ' '\n' |
		sed -n "s/^$2=//p" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

table_latency() {
	local n mode label med p99 fl
	fl=$(median floor median_ms " vms=0 ")
	echo "## One VM's three commands, request to durable reply (ms), dnsmasq running"
	echo
	echo "In a namespace with dnsmasq running (and answering for the last VM after each size:" \
		"see below) and the address bindings on. Floor: one durable atomic file replacement" \
		"on the same directory, median $fl ms, p99 $(median floor p99_ms " vms=0 ") ms (two runs," \
		"before and after)."
	echo
	echo "| VMs held | mode | median | p99 | mean | median / floor | aim |"
	echo "|---:|---|---:|---:|---:|---:|---|"
	for n in $SIZES; do
		for mode in one_batch three_requests; do
			label=${mode/three_requests/3 requests}
			label=${label/one_batch/1 batch}
			med=$(field "$mode" median_ms " vms=$n ")
			p99=$(field "$mode" p99_ms " vms=$n ")
			if [ "$mode" = one_batch ]; then
				aim=$(calc '%s' "($med < 2 && $p99 < 5) ? \"median < 2, p99 < 5: met\" : \"median < 2, p99 < 5: missed\"")
			else
				aim=$(calc '%s' "($med < 5) ? \"median < 5: met\" : \"median < 5: missed\"")
			fi
			echo "| $n | $label | $med | $p99 | $(field "$mode" mean_ms " vms=$n ") |" \
				"$(calc '%.1f' "$med / $fl") | $aim |"
		done
	done
	echo
	echo "Per command, three-request mode (median / p99 ms), vrd's CPU per one-batch VM, and" \
		"how long after the last reply dnsmasq answered for the last VM's name:"
	echo
	echo "| VMs held | dhcpentry | vmpassword | vmdata | vrd CPU ms per VM | dnsmasq answers after (ms) |"
	echo "|---:|---:|---:|---:|---:|---:|"
	for n in $SIZES; do
		printf '| %s |' "$n"
		for mode in dhcpentry vmpassword vmdata; do
			printf ' %s / %s |' "$(field $mode median_ms " vms=$n ")" "$(field $mode p99_ms " vms=$n ")"
		done
		echo " $(field cpu vrd_cpu_ms_per_vm " vms=$n ") | $(field answers after_ms " vms=$n ") |"
	done
}

table_concurrent() {
	local n rate
	echo "## $CLIENTS concurrent clients, one new VM (three commands) per batch, dnsmasq running"
	echo
	echo "| VMs held | batches | VMs per second | request median ms | p99 ms | aim >= 2000 VMs/s |"
	echo "|---:|---:|---:|---:|---:|---|"
	for n in $SIZES; do
		rate=$(field concurrent_rate vms_per_s " vms=$n ")
		echo "| $n | $(field concurrent_rate batches " vms=$n ") | $rate |" \
			"$(field concurrent median_ms " vms=$n ") | $(field concurrent p99_ms " vms=$n ") |" \
			"$(calc '%s' "($rate >= 2000) ? \"met\" : \"missed\"") |"
	done
}

table_converge() {
	local r f dns n aim
	echo "## Convergence on an empty vrd, batches of 5,000 VMs, until dnsmasq answers for the last VM (ms)"
	echo
	echo "Times from the first request's start; state dir on $FSTYPE; started after a $WAITED s pause in which the bench deleted nothing."
	echo
	echo "| VMs | run | requests (durable replies) | dnsmasq has re-read the files | dnsmasq answers the last VM | aim |"
	echo "|---:|---:|---:|---:|---:|---|"
	for n in $CONVERGE_SIZES; do
		aim=$([ "$n" -ge 100000 ] && echo 10000 || echo 1000)
		for r in $(seq "$RUNS"); do
			f=" run=$r vms=$n "
			dns=$(field reload dns_ms "$f")
			echo "| $n | $r | $(field converge request_ms "$f") | $(field reload log_ms "$f") | $dns |" \
				"$(calc '%s' "($dns < $aim) ? \"< $aim: met\" : \"< $aim: missed\"") |"
		done
		dns=$(median reload dns_ms " vms=$n ")
		echo "| $n | median | $(median converge request_ms " vms=$n ") | $(median reload log_ms " vms=$n ") |" \
			"$dns | $(calc '%s' "($dns < $aim) ? \"< $aim: met\" : \"< $aim: missed\"") |"
	done
}

table_memory() {
	local line label rss hwm n base after
	echo "## vrd's memory"
	echo
	echo "| vrd | VmRSS MB | VmHWM (peak) MB |"
	echo "|---|---:|---:|"
	grep '^RESULT mode=memory ' "$WORK/results.txt" | while read -r line; do
		label=$(sed -n 's/.* label=\(.*\) rss_kb=.*/\1/p' <<<"$line")
		rss=$(sed -n 's/.* rss_kb=\([0-9]*\).*/\1/p' <<<"$line")
		hwm=$(sed -n 's/.* hwm_kb=\([0-9]*\).*/\1/p' <<<"$line")
		echo "| $label | $(calc '%.1f' "$rss / 1024") | $(calc '%.1f' "$hwm / 1024") |"
	done
	echo
	echo "Per VM beyond the base (VmRSS restarted on the state dir, minus VmRSS before the preload," \
		"over the VMs it holds; aim < 2 KiB):"
	echo
	echo "| VMs held | VMs after the runs | KiB per VM |"
	echo "|---:|---:|---:|"
	for n in $SIZES; do
		[ "$n" -gt 0 ] || continue
		base=$(grep "^RESULT mode=memory label=before the preload (size $n) " "$WORK/results.txt" |
			sed -n 's/.* rss_kb=\([0-9]*\).*/\1/p')
		after=$(grep "^RESULT mode=memory label=restarted on that state dir ($n VMs" "$WORK/results.txt" |
			sed -n 's/.* rss_kb=\([0-9]*\).*/\1/p')
		held=$((n + CLIENTS * PER_CLIENT + 2 * (5 + ITER)))
		echo "| $n | $held | $(calc '%.2f' "($after - $base) / $held") |"
	done
}

table() {
	echo "# vrd benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty \
		2>/dev/null || echo unknown); $(nproc) CPUs, kernel $(uname -r), / on" \
		"$(findmnt -no SOURCE,FSTYPE /), work dir on $FSTYPE; dnsmasq" \
		"$(dnsmasq --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'); $ITER VMs per mode and size."
	echo
	table_latency
	echo
	table_concurrent
	echo
	table_converge
	echo
	table_memory
	if [ "$GUARD_ROUNDS" -gt 0 ]; then
		echo
		table_guard
	fi
}

run_guards() {
	local n r
	for r in $(seq "$GUARD_ROUNDS"); do
		for n in $GUARD_SIZES; do
			if [ $((r % 2)) = 1 ]; then
				run_guard "$n" no "$r"; run_guard "$n" yes "$r"
			else
				run_guard "$n" yes "$r"; run_guard "$n" no "$r"
			fi
		done
	done
}

run_vrd() {
	local n r start=$SECONDS
	preflight
	say "work dir $WORK ($FSTYPE)"
	# Convergence first, after a quiet minute: ext4 without a journal checks
	# every inode deleted in the last 60 s before it reuses one, and that made
	# creating 20,000 files take up to 3 s more (docs/performance.md).
	WAITED=0
	if [ "$FSTYPE" = "ext4 (no journal)" ] && [ "$QUIET_WAIT" -gt 0 ]; then
		say "ext4 without a journal: sync, then $QUIET_WAIT s without deleting files"
		sync
		sleep "$QUIET_WAIT"
		WAITED=$QUIET_WAIT
	fi
	run_floor
	for n in $CONVERGE_SIZES; do
		for r in $(seq "$RUNS"); do run_converge "$r" "$n"; done
	done
	for n in $SIZES; do run_latency "$n"; done
	run_floor
	run_guards
	table | tee "$OUT"
	say "done in $((SECONDS - start)) s; table in $OUT"
}

# run_groups: group commit against none, side by side: vrd with threads 1 (one
# batch at a time, nothing to group) and 16 (the default), alternating
# which goes first, BENCH_GROUP_ROUNDS rounds at each of BENCH_GROUP_SIZES.
run_groups() {
	local n r t
	for r in $(seq "$GROUP_ROUNDS"); do
		for n in $GROUP_SIZES; do
			for t in $([ $((r % 2)) = 1 ] && echo "1 16" || echo "16 1"); do
				RESULT_PREFIX=group_ RESULT_TAGS=" threads=$t round=$r" \
					run_latency "$n" "$t" "t$t-r$r"
			done
		done
	done
}

# run_compare: BENCH_BASE_VRD against this tree's vrd, side by side: in each
# of BENCH_GROUP_ROUNDS rounds, alternating which goes first, a convergence of
# each of BENCH_CONVERGE and step 2's runs (threads 16) at each of BENCH_SIZES,
# each on a fresh state directory and dnsmasq; results tagged vrd=base or vrd=this.
run_compare() {
	local n r v this=$VRD
	[ -x "${BENCH_BASE_VRD:-}" ] || die "BENCH_BASE_VRD: the vrd to compare with (e.g. main's build/vrd)"
	for r in $(seq "$GROUP_ROUNDS"); do
		for v in $([ $((r % 2)) = 1 ] && echo "base this" || echo "this base"); do
			VRD=$([ "$v" = base ] && echo "$BENCH_BASE_VRD" || echo "$this")
			for n in $CONVERGE_SIZES; do
				RESULT_TAGS=" vrd=$v" run_converge "$v$r" "$n"
			done
		done
		for n in $SIZES; do
			for v in $([ $((r % 2)) = 1 ] && echo "base this" || echo "this base"); do
				VRD=$([ "$v" = base ] && echo "$BENCH_BASE_VRD" || echo "$this")
				RESULT_PREFIX=cmp_ RESULT_TAGS=" vrd=$v round=$r" run_latency "$n" 16 "$v-r$r"
			done
		done
	done
	VRD=$this
}

table_compare() {
	local n v
	echo "## $BENCH_BASE_VRD (base) against $VRD (this), dnsmasq running"
	echo
	echo "$GROUP_ROUNDS rounds, median (min-max) over the rounds; vrd with threads 16 and the address" \
		"bindings; $CLIENTS clients x $PER_CLIENT one-VM batches, then $ITER VMs one at a time." \
		"Floor (one durable atomic file replacement, same directory): median" \
		"$(median floor median_ms " vms=0 ") ms, p99 $(median floor p99_ms " vms=0 ") ms."
	echo
	echo "| VMs held | vrd | $CLIENTS clients: VMs/s | one batch of three: median ms | p99 ms | 3 requests: median ms | dnsmasq answers the last VM after (ms) |"
	echo "|---:|---|---:|---:|---:|---:|---|"
	for n in $SIZES; do
		for v in base this; do
			echo "| $n | $v | $(spread cmp_concurrent_rate vms_per_s " vrd=$v .* vms=$n ") |" \
				"$(spread cmp_one_batch median_ms " vrd=$v .* vms=$n ") |" \
				"$(spread cmp_one_batch p99_ms " vrd=$v .* vms=$n ") |" \
				"$(spread cmp_three_requests median_ms " vrd=$v .* vms=$n ") |" \
				"$(spread cmp_answers after_ms " vrd=$v .* vms=$n ") |"
		done
	done
	echo
	echo "| converging | vrd | requests done (ms) | dnsmasq answers for the last VM (ms) |"
	echo "|---:|---|---:|---:|"
	for n in $CONVERGE_SIZES; do
		for v in base this; do
			echo "| $n | $v | $(spread converge request_ms " vrd=$v vms=$n ") |" \
				"$(spread reload dns_ms " vrd=$v vms=$n ") |"
		done
	done
}

# spread MODE KEY FILTER: "median (min-max)" of KEY over the matching RESULT lines.
spread() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | grep -- "$3" | tr ' ' '\n' |
		sed -n "s/^$2=//p" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.2f (%.2f-%.2f)", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}

table_groups() {
	local n t
	echo "## Group commit: threads 1 (no grouping) against 16 (the default: group commit), dnsmasq running"
	echo
	echo "$GROUP_ROUNDS rounds, median (min-max) over the rounds; $CLIENTS clients x $PER_CLIENT one-VM batches," \
		"then $ITER VMs one at a time. Floor (one durable atomic file replacement, same directory):" \
		"median $(median floor median_ms " vms=0 ") ms, p99 $(median floor p99_ms " vms=0 ") ms."
	echo
	echo "| VMs held | threads | $CLIENTS clients: VMs/s | their request p99 ms | one batch of three: median ms | p99 ms | 3 requests: median ms | dnsmasq answers the last VM after (ms) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---|"
	for n in $GROUP_SIZES; do
		for t in 1 16; do
			echo "| $n | $t | $(spread group_concurrent_rate vms_per_s " threads=$t .* vms=$n ") |" \
				"$(spread group_concurrent p99_ms " threads=$t .* vms=$n ") |" \
				"$(spread group_one_batch median_ms " threads=$t .* vms=$n ") |" \
				"$(spread group_one_batch p99_ms " threads=$t .* vms=$n ") |" \
				"$(spread group_three_requests median_ms " threads=$t .* vms=$n ") |" \
				"$(spread group_answers after_ms " threads=$t .* vms=$n ") |"
		done
	done
}

main() {
	case "${BENCH_ONLY:-}" in
	"" | vrd | metadata | manager | vm | multi) ;;
	compare)
		preflight
		run_floor
		run_compare
		table_compare | tee "$BUILD/bench/compare.md"
		return ;;
	group)
		preflight
		run_floor
		run_groups
		table_groups | tee "$BUILD/bench/group.md"
		return ;;
	latency)
		preflight
		run_floor
		for n in $SIZES; do run_latency "$n"; done
		{ table_latency; echo; table_concurrent; } | tee "$BUILD/bench/latency.md"
		return ;;
	guard)
		preflight
		run_guards
		table_guard | tee "$BUILD/bench/guard.md"
		return ;;
	*) die "BENCH_ONLY: want vrd, latency, guard, group, compare, metadata, manager, multi or vm, got \"$BENCH_ONLY\"" ;;
	esac
	case "${BENCH_ONLY:-}" in "" | vrd) run_vrd ;; esac
	case "${BENCH_ONLY:-}" in "" | metadata) BUILD=$BUILD "$ROOT/bench/md_bench.sh" ;; esac
	case "${BENCH_ONLY:-}" in "" | metadata) BUILD=$BUILD "$ROOT/bench/md_starve.sh" ;; esac
	case "${BENCH_ONLY:-}" in "" | manager) BUILD=$BUILD "$ROOT/bench/mgr_bench.sh" ;; esac
	case "${BENCH_ONLY:-}" in "" | manager | multi) BUILD=$BUILD "$ROOT/bench/mgr_multi_bench.sh" ;; esac
	case "${BENCH_ONLY:-}" in "" | vm) BUILD=$BUILD "$ROOT/bench/vm_bench.sh" ;; esac
}

main "$@"
