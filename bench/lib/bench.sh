# shellcheck shell=bash
# bench/lib/bench.sh - what the benchmark scripts share (bash; source it
# after setting BENCH_NAME, the prefix of their messages).  It gives:
#   say MSG...           "BENCH_NAME: MSG" on stderr
#   die MSG...           say "FAIL: MSG" and exit 1
#   bench_token FILE     a fresh token (32 random bytes in hex), mode 0600
#   wait_log FILE PATTERN PID [SECONDS]  until FILE has PATTERN (default 30 s),
#                        or PID has died: then its last lines and status 1
#   PIDS+=(PID)          stopped at exit: SIGTERM, then SIGKILL after 5 s
#   NETNS+=(NAME)        deleted at exit, once whatever runs in it is killed
#   BENCH_AT_EXIT+=(CMD) commands run at exit once those processes are stopped
#                        (pg_stop, umount ...)
#   WORK                 the work directory (the script makes it): removed at
#                        exit unless BENCH_KEEP is set
# The exit trap (also taken on INT and TERM) undoes all of that.

PIDS=()
NETNS=()
BENCH_AT_EXIT=()
WORK=""

say() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

bench_token() {
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
}

wait_log() {
	local i
	for ((i = 0; i < ${4:-30} * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$1" >&2
	return 1
}

bench_cleanup() {
	local pid ns cmd
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "${NETNS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	for cmd in "${BENCH_AT_EXIT[@]}"; do eval "$cmd"; done
	if [ -n "$WORK" ] && [ -z "${BENCH_KEEP:-}" ]; then
		rm -rf -- "$WORK"
	elif [ -n "$WORK" ]; then
		say "kept $WORK"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
