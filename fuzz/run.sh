#!/usr/bin/env bash
# fuzz/run.sh: builds each fuzz/fuzz_*.c with clang's libFuzzer, ASan and
# UBSan (every report fatal) over the real sources, and runs it for FUZZ_SECONDS (default 60) on
# its committed corpus in fuzz/corpus/<target>/.  Crashes land in build-fuzz/.
# Arguments, if any, name the targets to run (fuzz_cmd fuzz_mgr_query ...).
# FUZZ_TARGETS="cmd render" runs only those.  Each run ends with libFuzzer's
# final statistics (executions, exec/s, coverage); the figures in
# docs/reliability.md come from here.  Make each crash a regression: copy the
# input into fuzz/corpus/<target>/ (make check replays it, see
# tests/integration/fuzz_corpus.sh) and fix the code.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build-fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}
PKGS="jansson libmicrohttpd libnl-3.0 libnl-route-3.0 nettle"
SRC="lib/buf.c lib/log.c lib/addr.c lib/base64.c lib/fileio.c lib/hmac.c lib/token.c state/model.c state/names.c vrd/cmd.c \
    vrd/txn.c state/doc.c dhcp/render.c metadata/route.c metadata/entry.c metadata/imds.c \
    metadata/password.c lib/httpc.c manager/query.c manager/sign.c manager/inventory.c"
mkdir -p "$OUT"
cd "$ROOT"
status=0
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz/fuzz_*.c)
for f in "${targets[@]}"; do
	f=fuzz/$(basename "$f" .c).c
	name=$(basename "$f" .c)
	target=${name#fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $target "* ]]; then
		continue
	fi
	echo "== $name: building"
	# shellcheck disable=SC2046,SC2086
	$CC -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Ilib -Istate -Ivrd -Idhcp -Imanager $(pkg-config --cflags $PKGS) "$f" $SRC \
	    -o "$OUT/$name" $(pkg-config --libs $PKGS)
	mkdir -p "fuzz/corpus/$target" "$OUT/corpus-$target"
	echo "== $name: running ${SECONDS_EACH}s"
	if ! "$OUT/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$OUT/$name-" "$OUT/corpus-$target" "fuzz/corpus/$target" \
	    2>"$OUT/$name.log"; then
		echo "$name: CRASH, see $OUT/$name.log and $OUT/$name-*"
		status=1
	fi
	grep -E '^(#[0-9]+|Done).*' "$OUT/$name.log" | tail -n 2
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$OUT/$name.log" |
	    tr '\n' ' '
	echo
done
exit $status
