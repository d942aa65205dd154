#!/usr/bin/env bash
# tests/run.sh: runs every unit test binary and integration script and ends
# with "N passed, N failed".  Each test prints TAP lines ("ok ..." / "not ok
# ..."); a program that fails without printing "not ok" counts as one failure.
# Usage: tests/run.sh [PATTERN]   (only tests whose name contains PATTERN)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
export ROOT BUILD
pattern=${1:-}
passed=0 failed=0
log_dir=$(mktemp -d /tmp/vr-tests.XXXXXX)
trap 'rm -rf "$log_dir"' EXIT

run_one() { # name, command...
	local name=$1 out rc ok nok
	shift
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return 0
	out="$log_dir/$(basename "$name").log"
	echo "== $name"
	CMOCKA_MESSAGE_OUTPUT=TAP "$@" >"$out" 2>&1
	rc=$?
	ok=$(grep -cE '^ok ' "$out")
	nok=$(grep -cE '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ] || [ -n "${VERBOSE:-}" ]; then
		cat "$out"
	else
		grep -E '^(not )?ok ' "$out" | sed 's/^/   /'
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in "$ROOT"/tests/integration/*.sh; do
	[ -f "$t" ] && run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
