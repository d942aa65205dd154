#!/usr/bin/env bash
# fuzz/run.sh: runs each libFuzzer target, built by `make FUZZ=1 fuzz-targets`
# (clang, ASan and UBSan with every report fatal, over the Makefile's own
# source lists) into build-fuzz/fuzz/, for FUZZ_SECONDS (default 60) on its
# committed corpus in fuzz/corpus/<target>/.  `make fuzz` builds them and runs
# this.  Crashes land in build-fuzz/.  Arguments, if any, name the targets to
# run (fuzz_cmd fuzz_mgr_query ...); FUZZ_TARGETS="cmd render" runs only
# those.  Each run ends with libFuzzer's final statistics (executions,
# exec/s, coverage); the figures in docs/reliability.md come from here.  Make
# each crash a regression: copy the input into fuzz/corpus/<target>/ (make
# check replays it, see tests/integration/fuzz_corpus.sh) and fix the code.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SECONDS_EACH=${FUZZ_SECONDS:-60}
cd "$ROOT"
status=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz/fuzz_*.c)
for f in "${targets[@]}"; do
	name=$(basename "$f" .c)
	target=${name#fuzz_}
	bin="$BUILD/fuzz/$name"
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $target "* ]]; then
		continue
	fi
	if [ ! -x "$bin" ]; then
		echo "$name: $bin is not built (make FUZZ=1 fuzz-targets)"
		status=1
		continue
	fi
	mkdir -p "fuzz/corpus/$target" "$BUILD/corpus-$target"
	echo "== $name: running ${SECONDS_EACH}s"
	if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$BUILD/$name-" "$BUILD/corpus-$target" "fuzz/corpus/$target" \
	    2>"$BUILD/$name.log"; then
		echo "$name: CRASH, see $BUILD/$name.log and $BUILD/$name-*"
		status=1
	fi
	grep -E '^(#[0-9]+|Done).*' "$BUILD/$name.log" | tail -n 2
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$BUILD/$name.log" |
	    tr '\n' ' '
	echo
done
exit $status
