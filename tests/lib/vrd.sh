# tests/lib/vrd.sh - shared helpers for vrd's integration tests (bash).
#
# Source it, then call vt_init.  It gives:
#   TAP checks      ok DESC | fail DESC [DIAG...] | check DESC CMD... | check_eq DESC WANT GOT
#                   check_gen DESC WANT GOT (generations; "?" never passes)   (count failures)
#                   vt_finish: stops every vrd still running (SIGTERM, exit 0 checked),
#                   checks the logs for sanitizer reports, exits 1 if any check failed.
#   VRD_WRAP=(CMD...)   a command vrd runs under (e.g. valgrind ...); empty by default
#   vrd instances   vrd_new NAME [NETNS]    temp home: state dir, 0600 hex token, empty
#                                           config, dnsmasq pid/lease file paths
#                   vrd_start NAME [--key value]...   start on a free loopback port, wait
#                                           (bounded poll of `vrctl health`) until ready
#                   vrd_stop NAME | vrd_kill9 NAME | vrd_alive NAME
#                   VRD_STATE[NAME] VRD_URL[NAME] VRD_TOKEN_FILE[NAME] VRD_LOG[NAME] ...
#   clients         vt_vrctl NAME ARGS...       vrctl against that instance
#                   vt_http NAME METHOD PATH [--no-token] [vrhttp.py options]
#                         sets HTTP_STATUS, HTTP_BODY, HTTP_BODY_FILE
#                   vt_json FILE|- EXPR         python expression over the JSON `j`
#                   vt_gen NAME                 generation from GET /v1/state
#   state           tree_hash DIR / tree_manifest DIR   (path, type, mode, owner, group,
#                   size, link target and sha256 of every entry, recursively)
#
# vrd's stderr goes to $VT_TMP/<name>/vrd.log; it is shown after a failed check.
# Everything started here is killed and every temp dir removed on exit
# (VT_KEEP=1 keeps the temp dir).  Uses bash, python3 and coreutils only.

if [ -z "${ROOT:-}" ]; then
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
VRD_BIN="$BUILD/vrd"
VRCTL_BIN="$BUILD/vrctl"
VT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -x /usr/bin/python3 ]; then VT_PY=/usr/bin/python3; else VT_PY=$(command -v python3); fi

VT_TMP=""
VT_FAILS=0
VT_CHECKS=0
VT_NAMES=()          # instances created, in order
VT_NETNS=()          # network namespaces created by vt_netns_add
VT_BG_PIDS=()        # other background processes (vt_bg)
VRD_WRAP=()          # prefix of vrd's command line (valgrind.sh)
declare -A VRD_HOME=() VRD_STATE=() VRD_TOKEN_FILE=() VRD_PORT=() VRD_URL=() VRD_PID=()
declare -A VRD_LOG=() VRD_NS=() VRD_CONF=()
HTTP_STATUS="" HTTP_BODY="" HTTP_BODY_FILE=""

# --- TAP ----------------------------------------------------------------------

ok() {
	VT_CHECKS=$((VT_CHECKS + 1))
	echo "ok - $*"
}

# fail DESC [DIAGNOSTIC...]: a failed check, its diagnostics, and the tail of the
# log of every vrd started so far.
fail() {
	local desc=$1 line n
	shift
	VT_CHECKS=$((VT_CHECKS + 1))
	VT_FAILS=$((VT_FAILS + 1))
	echo "not ok - $desc"
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
	for n in "${VT_NAMES[@]}"; do
		if [ -n "${VRD_PID[$n]}" ] && ! vt_alive "${VRD_PID[$n]}"; then
			echo "#   vrd[$n] (pid ${VRD_PID[$n]}) is no longer running"
		fi
		[ -s "${VRD_LOG[$n]}" ] || continue
		echo "#   --- vrd[$n] stderr (last 25 lines of ${VRD_LOG[$n]}):"
		tail -n 25 "${VRD_LOG[$n]}" | sed 's/^/#   | /'
	done
}

# check DESC CMD...: ok when CMD succeeds; its output is shown if it fails.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		fail "$desc" "command: $*" "${out:-(no output)}"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

# check_gen DESC EXPECTED ACTUAL: generations, equal and both whole numbers
# (vt_gen gives "?" when vrd does not answer: never a pass)
check_gen() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" == "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected generation: $2" "actual generation:   $3"
	fi
}

diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# --- set-up and tear-down -----------------------------------------------------

# vt_need [--root WHY] BIN...: one "not ok" and exit 1 unless every BIN is installed and, with
# --root, unless the test runs as root (WHY: what needs it).
vt_need() {
	local why="" bin
	if [ "$1" = --root ]; then
		why=$2
		shift 2
	fi
	for bin in "$@"; do
		command -v "$bin" >/dev/null && continue
		echo "not ok - $bin is installed (make deps)"
		exit 1
	done
	if [ -n "$why" ] && [ "$(id -u)" != 0 ]; then
		echo "not ok - $(basename "$0") runs as root ($why)"
		exit 1
	fi
}

vt_init() {
	if [ ! -x "$VRD_BIN" ] || [ ! -x "$VRCTL_BIN" ]; then
		echo "not ok - $VRD_BIN and $VRCTL_BIN exist (run make)"
		exit 1
	fi
	VT_TMP=$(mktemp -d /tmp/vrd-it.XXXXXX)
	chmod 0755 "$VT_TMP"
	HTTP_BODY_FILE="$VT_TMP/http.body"
	trap 'vt_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# vt_alive PID: the process exists and is not a zombie.
vt_alive() {
	local st
	st=$(cut -d')' -f2- "/proc/$1/stat" 2>/dev/null | awk '{print $1}')
	[ -n "$st" ] && [ "$st" != Z ]
}

vt_cleanup() {
	local n p ns
	trap - EXIT
	for n in "${VT_NAMES[@]}"; do
		p=${VRD_PID[$n]:-}
		if [ -n "$p" ] && vt_alive "$p"; then
			kill -9 "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	for p in "${VT_BG_PIDS[@]}"; do
		if vt_alive "$p"; then
			kill -9 "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	for ns in "${VT_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$VT_TMP" ] && [ -d "$VT_TMP" ]; then
		if [ -n "${VT_KEEP:-}" ]; then
			echo "# kept $VT_TMP" >&2
		else
			rm -rf "$VT_TMP"
		fi
	fi
}

# vt_bg CMD...: runs CMD in the background, killed at exit; pid in VT_LAST_PID.
vt_bg() {
	"$@" &
	VT_LAST_PID=$!
	VT_BG_PIDS+=("$VT_LAST_PID")
}

# vt_netns_add NAME: a throwaway network namespace with lo up, deleted at exit.
vt_netns_add() {
	ip netns add "$1" || return 1
	VT_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# vt_finish: stop what runs, look for sanitizer reports, exit with the verdict.
vt_finish() {
	local n rc hits=""
	for n in "${VT_NAMES[@]}"; do
		if vrd_alive "$n"; then
			vrd_stop "$n"
			rc=$?
			if [ "$rc" -eq 0 ]; then
				ok "vrd[$n] stops on SIGTERM with status 0"
			else
				fail "vrd[$n] stops on SIGTERM with status 0" "status $rc"
			fi
		fi
	done
	for n in "${VT_NAMES[@]}"; do
		if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer' \
		    "${VRD_LOG[$n]}" 2>/dev/null; then
			hits+="$n "
			echo "# --- sanitizer report in vrd[$n]'s stderr:"
			sed 's/^/# | /' "${VRD_LOG[$n]}" | head -n 80
		fi
	done
	if [ -z "$hits" ]; then
		ok "no sanitizer report in vrd's stderr"
	else
		VT_CHECKS=$((VT_CHECKS + 1)) VT_FAILS=$((VT_FAILS + 1))
		echo "not ok - no sanitizer report in vrd's stderr (see vrd[$hits] above)"
	fi
	echo "# $VT_CHECKS checks, $VT_FAILS failed"
	[ "$VT_FAILS" -eq 0 ] && exit 0
	exit 1
}

# --- vrd instances -------------------------------------------------------------

# vrd_new NAME [NETNS]: a home for one vrd (not started).
vrd_new() {
	local n=$1 ns=${2:-} h="$VT_TMP/$1"
	mkdir -p "$h" && chmod 0755 "$h" || return 1
	VT_NAMES+=("$n")
	VRD_HOME[$n]=$h
	VRD_STATE[$n]="$h/state"
	VRD_TOKEN_FILE[$n]="$h/token"
	VRD_CONF[$n]="$h/vrd.conf"
	VRD_LOG[$n]="$h/vrd.log"
	VRD_NS[$n]=$ns
	VRD_PORT[$n]=""
	VRD_PID[$n]=""
	: >"${VRD_CONF[$n]}"
	: >"$h/vrctl.conf"
	(umask 077 && "$VT_PY" -c 'import secrets; print(secrets.token_hex(32))' >"${VRD_TOKEN_FILE[$n]}")
	chmod 0600 "${VRD_TOKEN_FILE[$n]}"
}

# vrd_router NAME NS [ARGS...]: vrd NAME started in NS as its guest network's
# router (--manage-links yes, dnsmasq's pid and lease files in its home),
# with H, STATE, DM_PIDFILE, DM_LEASES and DM_LOG set; a vrd that does not
# start ends the test.
vrd_router() {
	local name=$1 ns=$2
	shift 2
	vrd_new "$name" "$ns"
	H=${VRD_HOME[$name]}
	STATE=${VRD_STATE[$name]}
	DM_PIDFILE="$H/dnsmasq.pid" DM_LEASES="$H/dnsmasq.leases" DM_LOG="$H/dnsmasq.log"
	if vrd_start "$name" --manage-links yes --dnsmasq-pid-file "$DM_PIDFILE" \
	    --dnsmasq-lease-file "$DM_LEASES" "$@"; then
		ok "vrd starts in the VR namespace (--manage-links yes)"
	else
		fail "vrd starts in the VR namespace"
		vt_finish
	fi
}

# vt_in NAME CMD...: runs CMD in the instance's network namespace (if any).
vt_in() {
	local n=$1
	shift
	if [ -n "${VRD_NS[$n]}" ]; then
		ip netns exec "${VRD_NS[$n]}" "$@"
	else
		"$@"
	fi
}

# vt_free_port NAME: a TCP port free on 127.0.0.1 (in the instance's namespace).
vt_free_port() {
	vt_in "$1" "$VT_PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

vrd_alive() {
	[ -n "${VRD_PID[$1]:-}" ] && vt_alive "${VRD_PID[$1]}"
}

# vrd_start NAME [--key value]...: starts vrd (same port as last time if it ran
# before) and waits until `vrctl health` answers.  Extra --key value pairs
# replace the defaults below.  Returns 1 (after printing the log) if it did not
# come up within 15 s.
vrd_start() {
	local n=$1 h=${VRD_HOME[$1]} attempt i key pid rc
	shift
	local -A opt=(
		[state-dir]="${VRD_STATE[$n]}"
		[token-file]="${VRD_TOKEN_FILE[$n]}"
		[metadata-user]=nobody
		[manage-links]=no
		[dnsmasq-pid-file]="$h/dnsmasq.pid"
		[dnsmasq-lease-file]="$h/dnsmasq.leases"
	)
	local -a extra=() args=()
	while [ $# -gt 0 ]; do
		key=${1#--}
		if [ -n "${opt[$key]+x}" ] && [ $# -ge 2 ]; then
			opt[$key]=$2
			shift 2
		else
			extra+=("$1")
			shift
		fi
	done
	for key in "${!opt[@]}"; do
		args+=("--$key" "${opt[$key]}")
	done
	for attempt in 1 2 3; do
		[ -n "${VRD_PORT[$n]}" ] || VRD_PORT[$n]=$(vt_free_port "$n")
		VRD_URL[$n]="http://127.0.0.1:${VRD_PORT[$n]}"
		echo "=== $(date +%T.%N) start: vrd --listen 127.0.0.1:${VRD_PORT[$n]} ${args[*]} ${extra[*]}" \
		    >>"${VRD_LOG[$n]}"
		if [ -n "${VRD_NS[$n]}" ]; then
			ip netns exec "${VRD_NS[$n]}" "${VRD_WRAP[@]}" "$VRD_BIN" -c "${VRD_CONF[$n]}" \
			    --listen "127.0.0.1:${VRD_PORT[$n]}" "${args[@]}" "${extra[@]}" \
			    2>>"${VRD_LOG[$n]}" >>"${VRD_LOG[$n]}" &
		else
			"${VRD_WRAP[@]}" "$VRD_BIN" -c "${VRD_CONF[$n]}" --listen "127.0.0.1:${VRD_PORT[$n]}" \
			    "${args[@]}" "${extra[@]}" 2>>"${VRD_LOG[$n]}" >>"${VRD_LOG[$n]}" &
		fi
		pid=$!
		VRD_PID[$n]=$pid
		# bounded readiness poll: 300 x 50 ms
		for i in $(seq 300); do
			if ! vt_alive "$pid"; then
				break
			fi
			if vt_vrctl "$n" --timeout 2 health >/dev/null 2>&1; then
				return 0
			fi
			sleep 0.05
		done
		if vt_alive "$pid"; then
			echo "# vrd[$n] did not answer /healthz within 15 s" >&2
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			break
		fi
		wait "$pid"
		rc=$?
		VRD_PID[$n]=""
		if grep -q 'cannot listen' "${VRD_LOG[$n]}" && [ "$attempt" -lt 3 ]; then
			VRD_PORT[$n]="" # lost a race for the port: try another
			continue
		fi
		echo "# vrd[$n] exited with status $rc while starting" >&2
		break
	done
	sed 's/^/# | /' "${VRD_LOG[$n]}" | tail -n 40 >&2
	return 1
}

# vt_stop_pid PID LABEL: SIGTERM, wait (bounded, 10 s; then SIGKILL), reap,
# and return the process's exit status.
vt_stop_pid() {
	local pid=$1 label=$2 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 200); do
		vt_alive "$pid" || break
		sleep 0.05
	done
	if vt_alive "$pid"; then
		echo "# $label still running 10 s after SIGTERM: killing it" >&2
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

# vrd_stop NAME: stop vrd NAME, return its exit status.
vrd_stop() {
	local n=$1 pid=${VRD_PID[$1]:-} rc
	[ -n "$pid" ] || return 0
	vt_stop_pid "$pid" "vrd[$n]"
	rc=$?
	VRD_PID[$n]=""
	return $rc
}

# vrd_kill9 NAME: SIGKILL and reap.
vrd_kill9() {
	local pid=${VRD_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	VRD_PID[$1]=""
	echo "=== $(date +%T.%N) killed with SIGKILL" >>"${VRD_LOG[$1]}"
	return 0
}

# --- clients -------------------------------------------------------------------

# vt_vrctl NAME ARGS...: vrctl with that instance's URL and token.
vt_vrctl() {
	local n=$1
	shift
	vt_in "$n" "$VRCTL_BIN" -c "${VRD_HOME[$n]}/vrctl.conf" --url "${VRD_URL[$n]}" \
	    --token-file "${VRD_TOKEN_FILE[$n]}" "$@"
}

# vt_http NAME METHOD PATH [--no-token] [vrhttp.py options]: one request; sets
# HTTP_STATUS (000 if no response), HTTP_BODY and the file HTTP_BODY_FILE.
vt_http() {
	local n=$1 method=$2 path=$3 a
	shift 3
	local -a opts=(--out "$HTTP_BODY_FILE") tok=(--token-file "${VRD_TOKEN_FILE[$n]}")
	for a in "$@"; do
		case "$a" in
		--no-token) tok=() ;;
		--auth) tok=(); opts+=("$a") ;;
		*) opts+=("$a") ;;
		esac
	done
	rm -f "$HTTP_BODY_FILE"
	HTTP_STATUS=$(vt_in "$n" "$VT_PY" "$VT_LIB/vrhttp.py" "${VRD_URL[$n]}" "$method" "$path" \
	    "${tok[@]}" "${opts[@]}" 2>"$VT_TMP/http.err")
	HTTP_BODY=$(head -c 4000 "$HTTP_BODY_FILE" 2>/dev/null)
	[ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
}

# vt_json FILE|- EXPR: evaluates EXPR (python, the document is `j`); prints a
# string as is, anything else as JSON.  Exit 1 if the input is not JSON or
# the expression fails.
vt_json() {
	"$VT_PY" -c '
import json, sys
src, expr = sys.argv[1], sys.argv[2]
try:
    j = json.load(sys.stdin if src == "-" else open(src))
    r = eval(expr)
except Exception as e:
    print("vt_json: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))
' "$1" "$2"
}

# vt_gen NAME: the generation vrd reports in GET /v1/state ("?" if unknown).
vt_gen() {
	vt_http "$1" GET /v1/state
	if [ "$HTTP_STATUS" = 200 ]; then
		vt_json "$HTTP_BODY_FILE" 'j["generation"]' 2>/dev/null || echo "?"
	else
		echo "?"
	fi
}

# --- the state directory ---------------------------------------------------------

# tree_manifest DIR: one line per entry under DIR (relative path, type, mode,
# owner, group; for non-directories size, link target and sha256 of the content).
tree_manifest() {
	(
		cd "$1" || exit 1
		find . -type d -printf '%p\td\t%m\t%u\t%g\n'
		find . ! -type d -printf '%p\t%y\t%m\t%u\t%g\t%s\t%l\n'
		find . -type f -print0 | xargs -0r sha256sum
	) | LC_ALL=C sort
}

# tree_hash DIR: sha256 of tree_manifest.
tree_hash() {
	tree_manifest "$1" | sha256sum | cut -d' ' -f1
}
