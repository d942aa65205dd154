#!/usr/bin/env bash
# bench/md_bench.sh: vr-metadata's benchmarks (method and figures in
# docs/performance.md), all in one network namespace with vrd managing eth1:
#  1. wrk, 64 connections, keep-alive and "Connection: close": vr-metadata
#     against nginx serving the same VM's tree as static files; then the same
#     with bench/md_load.c, whose latencies are not corrected as wrk's are;
#  2. a boot storm: 1,000 guests, each from its own address, all at once run
#     cloud-init's CloudStack sequence (bench/md_storm.c); any guest without
#     its data makes the script exit 1, after the table;
#  3. propagation: one VM's vmdata pushed to vrd, timed from vrd's reply until
#     vr-metadata serves the new value, with 1,000 and 10,000 VMs loaded;
#  4. vr-metadata's resident memory with 0, 1,000 and 10,000 VMs.
# Prints a table and writes it to $BUILD/bench/md_results.md (raw lines in
# md_results.txt).  Needs root, wrk and nginx (Debian's nginx-light).  Called
# by bench/run.sh; about 2 minutes.
# Knobs: BENCH_MD_DURATION (10 s per wrk run), BENCH_MD_ROUNDS (2),
# BENCH_MD_CONNECTIONS (64), BENCH_MD_LOAD_DURATION (5 s per md_load run),
# BENCH_MD_GUESTS (1000), BENCH_MD_VMS (10000), BENCH_MD_PUSHES (100),
# BENCH_MD_MODES ("keepalive close": wrk's and md_load's connection modes),
# BENCH_MD_ONLY=wrk (only step 1: no storm, propagation or memory; as bench/ab.sh uses it),
# BENCH_MD_ARGS (extra vr-metadata options; default "--per-ip-connections
# 128"), BENCH_DIR (/var/tmp).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DUR=${BENCH_MD_DURATION:-10}
ROUNDS=${BENCH_MD_ROUNDS:-2}
CONNS=${BENCH_MD_CONNECTIONS:-64}
GUESTS=${BENCH_MD_GUESTS:-1000}
VMS=${BENCH_MD_VMS:-10000}
PUSHES=${BENCH_MD_PUSHES:-100}
MODES=${BENCH_MD_MODES:-"keepalive close"}
# wrk's 64 connections all come from one guest address: at the default
# per-ip-connections (64) about 1 % of its reconnections are refused
# (docs/performance.md), so the limit is raised above wrk's count.
read -r -a MD_EXTRA <<<"${BENCH_MD_ARGS---per-ip-connections 128}"
VRD=$BUILD/vrd
MD=$BUILD/vr-metadata
STORM=$BUILD/bench/md_storm
LOAD=$BUILD/bench/md_load
LOAD_DUR=${BENCH_MD_LOAD_DURATION:-5}
LUA=$ROOT/bench/md_wrk.lua
OUT=$BUILD/bench/md_results.md
CTL=127.0.0.1:39923        # vrd's control address, inside the namespace
ROUTER=10.1.0.1            # the guest network's router IP (vrd puts it on eth1)
VM0=10.1.0.16              # VM 0: the source address wrk's connections carry
NGINX_PORT=8081
NS=vrm$$

STORM_FAILED=""

BENCH_NAME=md_bench
. "$ROOT/bench/lib/bench.sh"

# (not for background processes: "cmd &" must be ip netns exec itself, whose
# pid is then the command's)
in_ns() { ip netns exec "$NS" "$@"; }

# vm_ip I: VM I's address (10.1.0.16 + I), as md_storm numbers them.
vm_ip() { local n=$(($1 + 16)); echo "10.1.$((n >> 8)).$((n & 255))"; }

preflight() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespace, ports 80 and 8080)"
	for f in "$VRD" "$MD" "$STORM" "$LOAD"; do [ -x "$f" ] || die "$f not built (make bench)"; done
	for c in wrk nginx ip ss timeout; do
		command -v "$c" >/dev/null ||
			die "missing command: $c (Debian packages wrk, nginx-light, iproute2)"
	done
	getent passwd nobody >/dev/null || die "no user nobody"
	WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/md-bench.XXXXXX")
	chmod 0755 "$WORK"          # vr-metadata and nginx's workers run as nobody
	bench_token "$WORK/token"
	mkdir -p "$(dirname "$OUT")"
	: >"$WORK/results.txt"
}

# The namespace: lo, and a veth pair whose end eth1 is the guest network's
# device (vrd puts 10.1.0.1/16 and 169.254.169.254/32 on it).
make_ns() {
	ip netns add "$NS"
	NETNS+=("$NS")
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth1 type veth peer name eth1-peer
	ip -n "$NS" link set eth1-peer up
	ip -n "$NS" link set eth1 up
	in_ns sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}

# Guests I..J-1 (and any extra index) as /32 addresses on lo; then the local
# routes of the router IP and 169.254.169.254 get VM 0's address as their
# source, so that an unbound connect() (wrk's) comes from VM 0.
guest_addrs() {
	local i
	for i in "$@"; do echo "address add $(vm_ip "$i")/32 dev lo"; done >"$WORK/addrs"
	ip -n "$NS" -batch "$WORK/addrs"
}

route_src_vm0() {
	local a
	for a in "$ROUTER" 169.254.169.254; do
		ip -n "$NS" route replace table local local "$a" dev eth1 proto kernel \
			scope host src "$VM0"
	done
	[ "$(ip -n "$NS" -o route get "$ROUTER" | sed -n 's/.* src \([0-9.]*\).*/\1/p')" = "$VM0" ] ||
		die "connections to $ROUTER would not come from $VM0"
}

start_vrd() {
	ip netns exec "$NS" "$VRD" --config /dev/null --listen "$CTL" --state-dir "$WORK/state" \
		--token-file "$WORK/token" --dnsmasq-pid-file "$WORK/dnsmasq.pid" \
		--dnsmasq-lease-file "$WORK/dnsmasq.leases" --metadata-user nobody \
		--manage-links yes --max-body 67108864 2>"$WORK/vrd.log" &
	PIDS+=("$!")
	wait_log "$WORK/vrd.log" 'ready: listening' "$!" 10 || die "vrd did not start"
}


storm() { timeout 120 ip netns exec "$NS" "$STORM" --vrd "http://$CTL" --token-file "$WORK/token" "$@"; }

# start_md LOG: vr-metadata on the router IP and 169.254.169.254, as nobody;
# sets MD_PID and MD_START_MS (start until its "ready" line).
start_md() {
	local t0=$EPOCHREALTIME
	ip netns exec "$NS" "$MD" --config /dev/null --listen "$ROUTER:80" --listen 169.254.169.254:80 \
		--password-port 8080 --state-dir "$WORK/state" --user nobody "${MD_EXTRA[@]}" \
		2>"$1" &
	MD_PID=$!
	PIDS+=("$MD_PID")
	wait_log "$1" 'ready' "$MD_PID" 10 || die "vr-metadata did not start"
	MD_START_MS=$(awk "BEGIN { printf \"%.0f\", ($EPOCHREALTIME - $t0) * 1000 }")
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# mem LABEL: vr-metadata's VmRSS and VmHWM (kB) as a RESULT line.
mem() {
	local rss hwm
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$MD_PID/status")
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$MD_PID/status")
	echo "RESULT mode=memory label=$1 rss_kb=$rss hwm_kb=$hwm" | tee -a "$WORK/results.txt"
}

# snmp TABLE FIELD: a counter of the namespace's /proc/net/snmp or netstat.
snmp() {
	in_ns cat /proc/net/snmp /proc/net/netstat | awk -v t="$1:" -v f="$2" '
		$1 == t && !h { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1; next }
		$1 == t && h { print $c; exit }'
}

# cpu_ticks PID...: user+system clock ticks of those processes, all threads.
cpu_ticks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}

# The nginx peer: the same files, a comparable configuration.
start_nginx() {
	mkdir -p "$WORK/nginx-tmp"
	cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
user nobody nogroup;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    types { }
    default_type text/plain;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    server {
        listen $ROUTER:$NGINX_PORT;
        root $WORK/tree;
        index .listing;
    }
}
EOF
	ip netns exec "$NS" nginx -c "$WORK/nginx.conf" -p "$WORK/" -e "$WORK/nginx-error.log" \
		-g 'daemon off;' 2>>"$WORK/nginx-error.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	for _ in $(seq 100); do
		[ -n "$(in_ns ss -Hltn "sport = :$NGINX_PORT")" ] && return 0
		kill -0 "$NGINX_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/nginx-error.log" >&2
	die "nginx did not start"
}

# The tree both servers serve: cloud-init's crawl of VM 0's metadata over an
# unbound connection (so it also proves the source address is VM 0's), then
# the same crawl of nginx, compared byte for byte.
make_tree() {
	storm --storm 1 --no-bind --no-password --dump "$WORK/tree" --paths "$WORK/paths" \
		>"$WORK/crawl.txt" || die "crawl of VM 0 from an unbound socket failed"
	find "$WORK/tree" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
	start_nginx
	storm --storm 1 --no-bind --no-password --port "$NGINX_PORT" --dump "$WORK/tree-nginx" \
		>/dev/null || die "crawl of nginx failed"
	diff -r "$WORK/tree" "$WORK/tree-nginx" >&2 || die "nginx serves other bytes"
	say "tree: $(wc -l <"$WORK/paths") paths, $(find "$WORK/tree" -type f -printf '%s\n' |
		awk '{ s += $1 } END { print s }') bytes; same bytes from nginx"
}

# wrk_run SERVER PORT MODE ROUND: one wrk run, with connections accepted and
# the server's CPU time.
wrk_run() {
	local server=$1 port=$2 mode=$3 round=$4 hdr=() opens t0 pids line
	[ "$mode" = close ] && hdr=(-H 'Connection: close')
	if [ "$server" = nginx ]; then
		mapfile -t pids < <(pgrep -P "$NGINX_PID")
		pids+=("$NGINX_PID")
	else
		pids=("$MD_PID")
	fi
	opens=$(snmp Tcp PassiveOpens)
	t0=$(cpu_ticks "${pids[@]}")
	line=$(timeout $((DUR + 30)) ip netns exec "$NS" env MD_PATHS="$WORK/paths" wrk -t2 \
		-c"$CONNS" -d"${DUR}s" --latency -s "$LUA" "${hdr[@]}" "http://$ROUTER:$port/" |
		tee "$WORK/wrk-$server-$mode-$round.txt" | grep '^RESULT mode=wrk ') ||
		{ cat "$WORK/wrk-$server-$mode-$round.txt" >&2; die "wrk against $server failed"; }
	echo "${line/mode=wrk/mode=wrk server=$server conn=$mode round=$round}" \
		"accepted=$(($(snmp Tcp PassiveOpens) - opens))" \
		"cpu_s=$(awk "BEGIN { print ($(cpu_ticks "${pids[@]}") - $t0) / $(getconf CLK_TCK) }")" |
		tee -a "$WORK/results.txt"
	grep -q ' err_status=0 ' <<<"$line" || die "$server answered non-2xx statuses"
}

run_wrk() {
	local mode r s name port
	say "wrk warm-up, 2 s each"
	for s in "vr-metadata 80" "nginx $NGINX_PORT"; do
		read -r name port <<<"$s"
		in_ns env MD_PATHS="$WORK/paths" wrk -t2 -c"$CONNS" -d2s -s "$LUA" \
			"http://$ROUTER:$port/" >/dev/null
	done
	for mode in $MODES; do
		for r in $(seq "$ROUNDS"); do   # alternate who goes first
			say "wrk $mode, round $r: ${DUR}s each"
			if [ $((r % 2)) = 1 ]; then
				wrk_run vr-metadata 80 "$mode" "$r"
				wrk_run nginx "$NGINX_PORT" "$mode" "$r"
			else
				wrk_run nginx "$NGINX_PORT" "$mode" "$r"
				wrk_run vr-metadata 80 "$mode" "$r"
			fi
		done
	done
}

# The storm's failures are recorded, reported in the table, and make the
# script fail at the end (STORM_FAILED), after the other measurements.
run_storm() {
	local ov dr rt
	say "boot storm: $GUESTS guests at once"
	ov=$(snmp TcpExt ListenOverflows) dr=$(snmp TcpExt ListenDrops) rt=$(snmp Tcp RetransSegs)
	storm --storm "$GUESTS" --timeout 10 2>"$WORK/storm.err" | tee -a "$WORK/results.txt" ||
		{ STORM_FAILED=1; cat "$WORK/storm.err" >&2; }
	echo "RESULT mode=storm_tcp listen_overflows=$(($(snmp TcpExt ListenOverflows) - ov))" \
		"listen_drops=$(($(snmp TcpExt ListenDrops) - dr))" \
		"retrans_segs=$(($(snmp Tcp RetransSegs) - rt))" | tee -a "$WORK/results.txt"
}

# md_load: the same paths and connections as wrk, every response's latency
# recorded as measured (wrk corrects its latencies for coordinated omission).
load_run() {   # SERVER PORT MODE
	local arg=() line
	[ "$3" = close ] && arg=(--close)
	line=$(timeout $((LOAD_DUR + 20)) ip netns exec "$NS" "$LOAD" --paths "$WORK/paths" \
		--port "$2" --connections "$CONNS" --duration "$LOAD_DUR" "${arg[@]}") ||
		die "md_load against $1 failed"
	echo "${line/mode=load/mode=load server=$1 conn=$3}" | tee -a "$WORK/results.txt"
}

run_load() {
	local mode
	for mode in $MODES; do
		say "md_load $mode: ${LOAD_DUR}s each"
		load_run vr-metadata 80 "$mode"
		load_run nginx "$NGINX_PORT" "$mode"
	done
}

run_propagate() {
	say "propagation: $PUSHES pushes of VM 0's vmdata, $1 VMs loaded"
	storm --propagate "$PUSHES" --warmup 5 |
		sed "s/^RESULT mode=\([a-z_]*\)/RESULT mode=\1 vms=$1/" | tee -a "$WORK/results.txt" ||
		die "propagation with $1 VMs"
}

push_vms() {   # FIRST COUNT
	say "pushing VMs $1..$(($1 + $2 - 1)) to vrd"
	storm --push "$1,$2" --wait --timeout 60 |
		sed "s/^RESULT mode=\([a-z_]*\)/RESULT mode=\1 vms=$(($1 + $2))/" |
		tee -a "$WORK/results.txt" || die "push of VMs $1..$(($1 + $2 - 1))"
}

# field MODE KEY [FILTER]: KEY's value in the first RESULT line of MODE matching FILTER.
field() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | grep -- "${3:-}" | head -1 |
		tr ' ' '\n' | sed -n "s/^$2=//p"
}

# mean MODE KEY FILTER: the mean of KEY over the RESULT lines of MODE matching FILTER.
mean() {
	grep "^RESULT mode=$1 " "$WORK/results.txt" | grep -- "$3" | tr ' ' '\n' |
		sed -n "s/^$2=//p" | awk '{ s += $1; n++ } END { printf "%.3f", n ? s / n : 0 }'
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

table_wrk() {
	local mode r s f label rps_v rps_n p99_v p99_n
	echo "## wrk: $CONNS connections, 2 threads, ${DUR} s per run, $(wc -l <"$WORK/paths") paths of VM 0 in turn"
	echo
	echo "| connection | round | server | requests/s | p50 ms | p90 ms | p99 ms | TCP connections accepted | requests per connection | server CPU s |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	for mode in $MODES; do
		label=${mode/keepalive/keep-alive}
		label=${label/close/Connection: close}
		for r in $(seq "$ROUNDS"); do
			for s in vr-metadata nginx; do
				f=" server=$s conn=$mode round=$r "
				echo "| $label | $r | $s | $(calc '%.0f' "$(field wrk rps "$f")") |" \
					"$(field wrk p50_ms "$f") | $(field wrk p90_ms "$f") | $(field wrk p99_ms "$f") |" \
					"$(field wrk accepted "$f") |" \
					"$(calc '%.1f' "$(field wrk requests "$f") / $(field wrk accepted "$f")") |" \
					"$(field wrk cpu_s "$f") |"
			done
		done
	done
	echo
	echo "| connection | vr-metadata requests/s | nginx requests/s | ratio | vr-metadata p99 ms | nginx p99 ms | ratio | aim: >= nginx's rate, <= its p99 |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
	for mode in $MODES; do
		label=${mode/keepalive/keep-alive}
		label=${label/close/Connection: close}
		rps_v=$(mean wrk rps " server=vr-metadata conn=$mode ")
		rps_n=$(mean wrk rps " server=nginx conn=$mode ")
		p99_v=$(mean wrk p99_ms " server=vr-metadata conn=$mode ")
		p99_n=$(mean wrk p99_ms " server=nginx conn=$mode ")
		echo "| $label (mean of $ROUNDS) | $(calc '%.0f' "$rps_v") | $(calc '%.0f' "$rps_n") |" \
			"$(calc '%.2fx' "$rps_v / $rps_n") | $(calc '%.3f' "$p99_v") | $(calc '%.3f' "$p99_n") |" \
			"$(calc '%.2fx' "$p99_v / $p99_n") |" \
			"$(calc '%s' "($rps_v >= $rps_n && $p99_v <= $p99_n) ? \"met\" : \"missed\"") |"
	done
}

table_load() {
	local mode label s f
	echo "## md_load: the same $CONNS connections and paths, latency as measured (not corrected), ${LOAD_DUR} s per run"
	echo
	echo "| connection | server | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	for mode in $MODES; do
		label=${mode/keepalive/keep-alive (from the request)}
		label=${label/close/one connection per request (from connect)}
		for s in vr-metadata nginx; do
			f=" server=$s conn=$mode "
			echo "| $label | $s | $(calc '%.0f' "$(field load rps "$f")") | $(field load p50_ms "$f") |" \
				"$(field load p90_ms "$f") | $(field load p99_ms "$f") | $(field load p999_ms "$f") |" \
				"$(field load errors "$f") |"
		done
	done
}

table_storm() {
	echo "## Boot storm: $GUESTS guests at once, each from its own address, cloud-init's CloudStack sequence"
	echo
	echo "| guests | ok | failed | requests | total ms | per request median / p99 / max ms | per guest median / p99 / max ms | listen queue overflows | TCP retransmissions |"
	echo "|---:|---:|---:|---:|---:|---|---|---:|---:|"
	echo "| $(field storm guests) | $(field storm ok) | $(field storm failed) |" \
		"$(field storm requests) | $(field storm total_ms) |" \
		"$(field storm_request median_ms) / $(field storm_request p99_ms) / $(field storm_request max_ms) |" \
		"$(field storm_guest median_ms) / $(field storm_guest p99_ms) / $(field storm_guest max_ms) |" \
		"$(field storm_tcp listen_overflows) | $(field storm_tcp retrans_segs) |"
}

table_propagate() {
	local n
	echo "## Propagation: vrd's reply to the new value served (ms)"
	echo
	echo "| VMs loaded | pushes | median | p99 | max | polls per push | vrd request median / p99 |"
	echo "|---:|---:|---:|---:|---:|---:|---|"
	for n in "$GUESTS" "$VMS"; do
		echo "| $n | $(field propagate n " vms=$n ") | $(field propagate median_ms " vms=$n ") |" \
			"$(field propagate p99_ms " vms=$n ") | $(field propagate max_ms " vms=$n ") |" \
			"$(field propagate_polls polls_per_push " vms=$n ") |" \
			"$(field propagate_vrd_request median_ms " vms=$n ") / $(field propagate_vrd_request p99_ms " vms=$n ") |"
	done
	echo
	echo "| batch pushed | vrd request ms | its last VM served, after vrd's reply, ms |"
	echo "|---|---:|---:|"
	for n in "$GUESTS" "$VMS"; do
		echo "| VMs $(field push first " vms=$n ") to $((n - 1)) ($(field push count " vms=$n ") VMs) |" \
			"$(field push request_ms " vms=$n ") | $(field push_visible after_reply_ms " vms=$n ") |"
	done
}

table_memory() {
	local line label rss hwm
	echo "## vr-metadata's memory"
	echo
	echo "| vr-metadata | VmRSS MB | VmHWM (peak) MB |"
	echo "|---|---:|---:|"
	grep '^RESULT mode=memory ' "$WORK/results.txt" | while read -r line; do
		label=$(sed -n 's/.* label=\(.*\) rss_kb=.*/\1/p' <<<"$line")
		rss=$(sed -n 's/.* rss_kb=\([0-9]*\).*/\1/p' <<<"$line")
		hwm=$(sed -n 's/.* hwm_kb=\([0-9]*\).*/\1/p' <<<"$line")
		echo "| $label | $(calc '%.1f' "$rss / 1024") | $(calc '%.1f' "$hwm / 1024") |"
	done
	echo
	echo "Start to \"ready\": $(field start ready_ms " vms=0 ") ms with 0 VMs," \
		"$(field start ready_ms " vms=$VMS ") ms with $VMS VMs in the state directory."
}

table() {
	echo "# vr-metadata benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty \
		2>/dev/null || echo unknown); $(nproc) CPUs, kernel $(uname -r); $(nginx -v 2>&1 |
		sed 's/.*: //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); vr-metadata" \
		"options: defaults${MD_EXTRA[*]:+ but ${MD_EXTRA[*]}}."
	echo
	table_wrk
	echo
	table_load
	echo
	table_storm
	echo
	table_propagate
	echo
	table_memory
}

main() {
	local start=$SECONDS
	preflight
	say "work dir $WORK, namespace $NS"
	make_ns
	start_vrd
	storm --network || die "guest network not added"
	guest_addrs $(seq 0 $((GUESTS - 1))) $((VMS - 1))
	route_src_vm0
	start_md "$WORK/md.log"
	echo "RESULT mode=start vms=0 ready_ms=$MD_START_MS" >>"$WORK/results.txt"
	mem "0 VMs, just started"
	push_vms 0 "$GUESTS"
	mem "$GUESTS VMs, received through inotify"
	make_tree
	run_wrk
	run_load
	if [ "${BENCH_MD_ONLY:-}" = wrk ]; then
		say "done in $((SECONDS - start)) s (BENCH_MD_ONLY=wrk)"
		return
	fi
	run_storm
	mem "$GUESTS VMs, after the wrk runs and the storm"
	run_propagate "$GUESTS"
	push_vms "$GUESTS" $((VMS - GUESTS))
	mem "$VMS VMs, received through inotify"
	run_propagate "$VMS"
	mem "$VMS VMs, after the propagation runs"
	stop_pid "$MD_PID"
	start_md "$WORK/md-2.log"
	echo "RESULT mode=start vms=$VMS ready_ms=$MD_START_MS" >>"$WORK/results.txt"
	mem "$VMS VMs, loaded at start"
	say "done in $((SECONDS - start)) s"
	cp "$WORK/results.txt" "${OUT%.md}.txt"
	table | tee "$OUT"
	[ -z "$STORM_FAILED" ] || die "boot storm: not every guest got its data (table above)"
}

main "$@"
