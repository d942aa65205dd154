#!/usr/bin/env bash
# bench/soak.sh: `make soak`, the long runs of docs/reliability.md, in one
# network namespace with vrd managing eth1 (as bench/md_bench.sh sets it up):
#  1. boot storm: SOAK_GUESTS (1,000) guests, each from its own address, all
#     at once run cloud-init's CloudStack sequence (bench/md_storm.c): every
#     guest must get all of its data;
#  2. vr-metadata at full load for SOAK_SECONDS (60) s: bench/md_load.c, 64
#     keep-alive connections, the whole tree of one VM, as fast as it answers;
#     zero errors, and its VmRSS (sampled every second) flat within 1 MiB
#     after the first 10 s;
#  3. vrd through SOAK_COMMANDS (100,000) commands in batches of 10 over 500
#     VMs (bench/vrd_soak.py): every answer 200, VmRSS (sampled every 5,000
#     commands) flat within 1 MiB after the first fifth.
# Prints a table, writes it to $BUILD/bench/soak_results.md, exits 1 if any
# criterion is missed.  Needs root; about 6 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
GUESTS=${SOAK_GUESTS:-1000}
SECS=${SOAK_SECONDS:-60}
COMMANDS=${SOAK_COMMANDS:-100000}
CONNS=${SOAK_CONNECTIONS:-64}
FLAT_KB=1024
VRD=$BUILD/vrd
MD=$BUILD/vr-metadata
STORM=$BUILD/bench/md_storm
LOAD=$BUILD/bench/md_load
OUT=$BUILD/bench/soak_results.md
CTL=127.0.0.1:39923
ROUTER=10.1.0.1
VM0=10.1.0.16
NS=vrsoak$$
FAILED=()

BENCH_NAME=soak
. "$ROOT/bench/lib/bench.sh"

# (not for background processes: "cmd &" must be ip netns exec itself, whose
# pid is then the command's)
in_ns() { ip netns exec "$NS" "$@"; }
vm_ip() { local n=$(($1 + 16)); echo "10.1.$((n >> 8)).$((n & 255))"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }


setup() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespace, port 80)"
	for f in "$VRD" "$MD" "$STORM" "$LOAD"; do [ -x "$f" ] || die "$f not built (make soak)"; done
	WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/soak.XXXXXX")
	chmod 0755 "$WORK"
	bench_token "$WORK/token"
	mkdir -p "$(dirname "$OUT")"
	: >"$WORK/results.txt"
	ip netns add "$NS"
	NETNS+=("$NS")
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth1 type veth peer name eth1-peer
	ip -n "$NS" link set eth1-peer up
	ip -n "$NS" link set eth1 up
	in_ns sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec "$NS" "$VRD" --config /dev/null --listen "$CTL" --state-dir "$WORK/state" \
		--token-file "$WORK/token" --dnsmasq-pid-file "$WORK/dnsmasq.pid" \
		--dnsmasq-lease-file "$WORK/dnsmasq.leases" --metadata-user nobody \
		--manage-links yes --max-body 67108864 2>"$WORK/vrd.log" &
	VRD_PID=$!
	PIDS+=("$VRD_PID")
	wait_log "$WORK/vrd.log" 'ready: listening' "$VRD_PID" 10 || die "vrd did not start"
	storm --network >/dev/null || die "guest network not added"
	for i in $(seq 0 $((GUESTS - 1))); do echo "address add $(vm_ip "$i")/32 dev lo"; done >"$WORK/addrs"
	ip -n "$NS" -batch "$WORK/addrs"
	# md_load's connections to the router come from VM 0
	ip -n "$NS" route replace table local local "$ROUTER" dev eth1 proto kernel scope host src "$VM0"
	ip netns exec "$NS" "$MD" --config /dev/null --listen "$ROUTER:80" --listen 169.254.169.254:80 \
		--password-port 8080 --state-dir "$WORK/state" --user nobody \
		--per-ip-connections 128 2>"$WORK/md.log" &
	MD_PID=$!
	PIDS+=("$MD_PID")
	wait_log "$WORK/md.log" 'ready' "$MD_PID" 10 || die "vr-metadata did not start"
	say "pushing $GUESTS VMs"
	storm --push "0,$GUESTS" --wait --timeout 60 >>"$WORK/results.txt" || die "push of $GUESTS VMs"
}

storm() { timeout 300 ip netns exec "$NS" "$STORM" --vrd "http://$CTL" --token-file "$WORK/token" "$@"; }

# field MODE KEY: KEY's value in the first RESULT line of MODE
field() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

run_storm() {
	say "boot storm: $GUESTS guests at once"
	storm --storm "$GUESTS" --timeout 10 2>"$WORK/storm.err" | tee -a "$WORK/results.txt" >&2 ||
		true
	[ "$(field storm ok)" = "$GUESTS" ] && [ "$(field storm failed)" = 0 ] ||
		FAILED+=("boot storm: $(field storm ok) of $GUESTS guests got their data")
}

run_md_soak() {
	local line t rss
	say "vr-metadata at full load for ${SECS}s ($CONNS keep-alive connections)"
	storm --storm 1 --no-bind --no-password --dump "$WORK/tree" --paths "$WORK/paths" >/dev/null ||
		die "crawl of VM 0 failed"
	in_ns "$LOAD" --paths "$WORK/paths" --connections "$CONNS" --duration 3 >/dev/null # warm-up
	: >"$WORK/md_rss"
	(
		for t in $(seq 0 "$SECS"); do
			echo "$t $(rss_kb "$MD_PID")" >>"$WORK/md_rss"
			sleep 1
		done
	) &
	local sampler=$!
	line=$(timeout $((SECS + 30)) ip netns exec "$NS" "$LOAD" --paths "$WORK/paths" \
		--connections "$CONNS" --duration "$SECS") || die "md_load failed"
	wait "$sampler" || true
	rss=$(awk -v skip=10 '$1 >= skip { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
		END { print min, max, max - min }' "$WORK/md_rss")
	read -r MD_MIN MD_MAX MD_SPREAD <<<"$rss"
	echo "${line/mode=load/mode=md_soak} rss_min_kb=$MD_MIN rss_max_kb=$MD_MAX spread_kb=$MD_SPREAD" \
		"rss_kb=$(awk '{print $2}' "$WORK/md_rss" | paste -sd, -)" | tee -a "$WORK/results.txt" >&2
	[ "$(field md_soak errors)" = 0 ] || FAILED+=("vr-metadata load: $(field md_soak errors) errors")
	[ "$MD_SPREAD" -le "$FLAT_KB" ] || FAILED+=("vr-metadata RSS moved $MD_SPREAD kB after 10 s")
}

run_vrd_soak() {
	say "vrd: $COMMANDS commands"
	in_ns python3 "$ROOT/bench/vrd_soak.py" --url "http://$CTL" --token-file "$WORK/token" \
		--pid "$VRD_PID" --commands "$COMMANDS" --vms 500 | tee -a "$WORK/results.txt" >&2 ||
		FAILED+=("vrd soak: not every answer was 200")
	[ "$(field vrd_soak steady_spread_kb)" -le "$FLAT_KB" ] ||
		FAILED+=("vrd RSS moved $(field vrd_soak steady_spread_kb) kB after the warm-up")
}

table() {
	echo "# Soak results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty \
		2>/dev/null || echo unknown); $(nproc) CPUs, kernel $(uname -r)."
	echo
	echo "| run | figures | criterion | met |"
	echo "|---|---|---|---|"
	echo "| boot storm, $GUESTS guests at once | $(field storm ok) ok, $(field storm failed) failed," \
		"$(field storm requests) requests in $(field storm total_ms) ms | every guest gets its data |" \
		"$([ "$(field storm failed)" = 0 ] && echo yes || echo NO) |"
	echo "| vr-metadata, ${SECS} s at full load ($CONNS keep-alive connections) |" \
		"$(field md_soak requests) requests, $(field md_soak rps)/s, p99 $(field md_soak p99_ms) ms," \
		"$(field md_soak errors) errors; VmRSS $(field md_soak rss_min_kb) to $(field md_soak rss_max_kb) kB" \
		"after 10 s (spread $(field md_soak spread_kb) kB) | 0 errors, RSS within 1 MiB |" \
		"$([ "$(field md_soak errors)" = 0 ] && [ "$(field md_soak spread_kb)" -le $FLAT_KB ] && echo yes || echo NO) |"
	echo "| vrd, $COMMANDS commands (batches of 10, 500 VMs) | $(field vrd_soak requests) requests in" \
		"$(field vrd_soak seconds) s ($(field vrd_soak cps) commands/s), $(field vrd_soak errors) errors;" \
		"VmRSS $(field vrd_soak rss_first_kb) kB at start, $(field vrd_soak rss_last_kb) kB at the end," \
		"spread $(field vrd_soak steady_spread_kb) kB after the first fifth | every answer 200, RSS within 1 MiB |" \
		"$([ "$(field vrd_soak errors)" = 0 ] && [ "$(field vrd_soak steady_spread_kb)" -le $FLAT_KB ] && echo yes || echo NO) |"
	echo
	echo "vr-metadata VmRSS per second (kB): $(field md_soak rss_kb)"
	echo
	echo "vrd VmRSS every 5,000 commands (kB): $(field vrd_soak samples_kb)"
}

main() {
	local start=$SECONDS f
	setup
	run_storm
	run_md_soak
	run_vrd_soak
	say "done in $((SECONDS - start)) s"
	cp "$WORK/results.txt" "${OUT%.md}.txt"
	table | tee "$OUT"
	for f in "${FAILED[@]}"; do say "FAIL: $f"; done
	[ ${#FAILED[@]} -eq 0 ]
}

main "$@"
