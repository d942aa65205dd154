# tests/lib/metadata.sh - vr-metadata instances for the integration tests (bash).
#
# Source it after tests/lib/vrd.sh (it uses VT_TMP, VT_PY, ok/fail/diag,
# vt_alive and VT_BG_PIDS, so vt_cleanup kills what it starts).  It gives:
#   MD_WRAP=(CMD...)             a command vr-metadata runs under (e.g. valgrind ...)
#   md_new NAME [NETNS]          a home for one vr-metadata: log file, empty config, pid slot
#   md_start NAME [--key value]...   starts "$BUILD/vr-metadata -c EMPTY --key value..." (in NETNS
#                                if given) and waits (bounded, 10 s) for its "ready" line
#   md_stop NAME                 SIGTERM, bounded wait (10 s, then SIGKILL), exit status
#   md_alive NAME | md_uid NAME  running? / its real and effective uid ("65534 65534")
#   MD_PID[NAME] MD_LOG[NAME] MD_NS[NAME]
#   md_finish                    stops every instance (exit status 0 on SIGTERM checked),
#                                looks for sanitizer reports in their stderr, shows their
#                                logs if a check failed, then vt_finish (stops vrd, exits)
#   mreq NS SRC HOST PORT METHOD PATH [-H 'Key: value']... [md_client.py req options]
#                                one raw HTTP request from namespace NS bound to source
#                                SRC; sets R_STATUS (000: no response), R_CLOSED (1 when
#                                the server closed the connection), R_EXTRA (bytes after
#                                the body), R_CL (Content-Length or -), R_BODY and the files
#                                $MD_REQ_DIR/body, $MD_REQ_DIR/head, $MD_REQ_DIR/result.json
MD_BIN="$BUILD/vr-metadata"
MD_CLIENT="$VT_LIB/md_client.py"
MD_NAMES=()
MD_WRAP=()
declare -A MD_PID=() MD_LOG=() MD_NS=() MD_HOME=()
MD_REQ_DIR=""
R_STATUS="" R_CLOSED="" R_EXTRA="" R_CL="" R_BODY=""

md_new() {
	local n=$1 ns=${2:-} h="$VT_TMP/md-$1"
	mkdir -p "$h" && chmod 0755 "$h" || return 1
	MD_NAMES+=("$n")
	MD_HOME[$n]=$h
	MD_LOG[$n]="$h/vr-metadata.log"
	MD_NS[$n]=$ns
	MD_PID[$n]=""
	: >"${MD_LOG[$n]}"
	: >"$h/metadata.conf"
}

md_alive() {
	[ -n "${MD_PID[$1]:-}" ] && vt_alive "${MD_PID[$1]}"
}

# md_uid NAME: "REAL EFFECTIVE" uid of the running instance.
md_uid() {
	awk '/^Uid:/ {print $2, $3}' "/proc/${MD_PID[$1]}/status" 2>/dev/null
}

md_start() {
	local n=$1 pid i skip
	shift
	echo "=== $(date +%T.%N) start: vr-metadata $*" >>"${MD_LOG[$n]}"
	skip=$(wc -l <"${MD_LOG[$n]}")
	if [ -n "${MD_NS[$n]}" ]; then
		ip netns exec "${MD_NS[$n]}" "${MD_WRAP[@]}" "$MD_BIN" -c "${MD_HOME[$n]}/metadata.conf" "$@" >>"${MD_LOG[$n]}" 2>&1 &
	else
		"${MD_WRAP[@]}" "$MD_BIN" -c "${MD_HOME[$n]}/metadata.conf" "$@" >>"${MD_LOG[$n]}" 2>&1 &
	fi
	pid=$!
	MD_PID[$n]=$pid
	VT_BG_PIDS+=("$pid")
	# bounded readiness poll: 200 x 50 ms
	for i in $(seq 200); do
		vt_alive "$pid" || break
		if tail -n +"$((skip + 1))" "${MD_LOG[$n]}" | grep -q 'ready'; then
			return 0
		fi
		sleep 0.05
	done
	if vt_alive "$pid"; then
		echo "# vr-metadata[$n] logged no 'ready' line within 10 s" >&2
	else
		wait "$pid" 2>/dev/null
		echo "# vr-metadata[$n] exited with status $? while starting" >&2
		MD_PID[$n]=""
	fi
	sed 's/^/# | /' "${MD_LOG[$n]}" | tail -n 30 >&2
	return 1
}

md_stop() {
	local n=$1 pid=${MD_PID[$1]:-} rc
	[ -n "$pid" ] || return 0
	vt_stop_pid "$pid" "vr-metadata[$n]"
	rc=$?
	MD_PID[$n]=""
	echo "=== $(date +%T.%N) stopped, status $rc" >>"${MD_LOG[$n]}"
	return $rc
}

md_finish() {
	local n rc
	for n in "${MD_NAMES[@]}"; do
		if md_alive "$n"; then
			md_stop "$n"
			rc=$?
			if [ "$rc" -eq 0 ]; then
				ok "vr-metadata[$n] stops on SIGTERM with status 0"
			else
				fail "vr-metadata[$n] stops on SIGTERM with status 0" "status $rc"
			fi
		elif [ -n "${MD_PID[$n]}" ]; then
			fail "vr-metadata[$n] still running at the end" "$(tail -n 30 "${MD_LOG[$n]}")"
		fi
	done
	for n in "${MD_NAMES[@]}"; do
		if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer' \
		    "${MD_LOG[$n]}" 2>/dev/null; then
			fail "no sanitizer report in vr-metadata[$n]'s stderr" "$(head -n 80 "${MD_LOG[$n]}")"
		else
			ok "no sanitizer report in vr-metadata[$n]'s stderr"
		fi
	done
	if [ "$VT_FAILS" -gt 0 ]; then
		for n in "${MD_NAMES[@]}"; do
			echo "# --- vr-metadata[$n] stderr (last 40 lines of ${MD_LOG[$n]}):"
			tail -n 40 "${MD_LOG[$n]}" | sed 's/^/#   | /'
		done
	fi
	vt_finish
}

mreq() {
	local ns=$1 src=$2 host=$3 port=$4 method=$5 path=$6 line
	shift 6
	[ -n "$MD_REQ_DIR" ] || MD_REQ_DIR="$VT_TMP/mreq"
	mkdir -p "$MD_REQ_DIR"
	rm -f "$MD_REQ_DIR"/body "$MD_REQ_DIR"/head "$MD_REQ_DIR"/result.json
	if [ -n "$ns" ]; then
		line=$(ip netns exec "$ns" "$VT_PY" "$MD_CLIENT" req --src "$src" --host "$host" --port "$port" \
		    --method "$method" --path "$path" --out-dir "$MD_REQ_DIR" "$@" 2>"$MD_REQ_DIR/err")
	else
		line=$("$VT_PY" "$MD_CLIENT" req --src "$src" --host "$host" --port "$port" \
		    --method "$method" --path "$path" --out-dir "$MD_REQ_DIR" "$@" 2>"$MD_REQ_DIR/err")
	fi
	read -r R_STATUS R_CLOSED R_EXTRA R_CL <<<"$line"
	[ -n "$R_STATUS" ] || R_STATUS=000
	R_BODY=$(cat "$MD_REQ_DIR/body" 2>/dev/null)
}

# mreq_diag: one line describing the last mreq (for fail diagnostics).
mreq_diag() {
	printf 'status %s closed %s extra %s content-length %s body %q %s' "$R_STATUS" "$R_CLOSED" \
	    "$R_EXTRA" "$R_CL" "$(head -c 300 "$MD_REQ_DIR/body" 2>/dev/null)" "$(cat "$MD_REQ_DIR/err" 2>/dev/null)"
}
