#!/usr/bin/env bash
# tests/integration/fuzz_corpus.sh - every committed fuzz corpus entry (seeds
# and crash regressions, fuzz/corpus/<target>/) through its target, built
# without libFuzzer by make unit ($BUILD/fuzz/replay_<target>, gcc, with
# ASan+UBSan under SANITIZE=1): each target's invariants hold for each entry.
# Then the renderer's output for every payload of the cmd and render corpora
# is handed to the real dnsmasq: `dnsmasq --test -C check.conf` (dnsmasq.conf
# plus each dhcphosts line as dhcp-host= and each dhcpopts line as
# dhcp-option=) must say "syntax check OK" - and, so that the check can
# fail, a second dhcp-host line for one of those hosts must be refused.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vrd.sh"
vt_init

CORPUS="$ROOT/fuzz/corpus"
for src in "$ROOT"/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	bin="$BUILD/fuzz/replay_$t"
	n=$(find "$CORPUS/$t" -maxdepth 1 -type f 2>/dev/null | wc -l)
	if [ ! -x "$bin" ]; then
		fail "replay_$t is built (make unit)"
		continue
	fi
	if [ "$n" -eq 0 ]; then
		fail "fuzz/corpus/$t holds seeds"
		continue
	fi
	out=$("$bin" "$CORPUS/$t" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = "replayed $n inputs" ]; then
		ok "fuzz_$t: all $n corpus entries hold the target's invariants"
	else
		fail "fuzz_$t: all $n corpus entries hold the target's invariants" "exit $rc" "$(tail -n 30 <<<"$out")"
	fi
done

if ! command -v dnsmasq >/dev/null; then
	ok "# SKIP dnsmasq --test on the rendered files: dnsmasq not installed"
	vt_finish
fi
R="$VT_TMP/render"
mkdir -p "$R"
n=$(find "$CORPUS/render" "$CORPUS/cmd" -maxdepth 1 -type f | wc -l)
out=$(FUZZ_RENDER_OUT="$R" "$BUILD/fuzz/replay_render" "$CORPUS/render" "$CORPUS/cmd" 2>&1)
check_eq "the renderer wrote the files of all $n render and cmd corpus payloads" \
	"replayed $n inputs / $n" "$out / $(find "$R" -mindepth 1 -maxdepth 1 -type d | wc -l)"
bad=() hostlines=0 distinct=0
declare -A seen=()
for d in "$R"/*/; do
	# many payloads render the same files: dnsmasq checks each distinct set once
	h=$(tail -n +2 "$d/check.conf" | cat "$d/dnsmasq.conf" - | sha256sum | cut -c1-32)
	[ -n "${seen[$h]:-}" ] && continue
	seen[$h]=1
	distinct=$((distinct + 1))
	res=$(dnsmasq --test -C "$d/check.conf" 2>&1)
	[[ "$res" == *"syntax check OK"* ]] || bad+=("${d%/}: $res" "$(head -c 2000 "$d/check.conf")")
	hostlines=$((hostlines + $(grep -c '^dhcp-host=' "$d/check.conf" "$d/dnsmasq.conf" | awk -F: '{s += $2} END {print s}')))
done
if [ ${#bad[@]} -eq 0 ]; then
	ok "dnsmasq --test accepts the rendered configuration of every payload ($n payloads, $distinct distinct configurations, $hostlines dhcp-host lines)"
else
	fail "dnsmasq --test accepts the rendered configuration of every payload" "${bad[@]}"
fi
[ "$hostlines" -gt 0 ] || fail "the corpus renders some dhcp-host lines" "none"

# teeth: one host's line again, with another MAC, is refused
d=$(grep -l '^dhcp-host=' "$R"/*/check.conf | head -n 1)
if [ -n "$d" ]; then
	line=$(grep -m1 '^dhcp-host=' "$d")
	{ cat "$d"; sed 's/^dhcp-host=..:/dhcp-host=0e:/' <<<"$line"; } >"$R/twice.conf"
	res=$(dnsmasq --test -C "$R/twice.conf" 2>&1)
	if [[ "$res" != *"syntax check OK"* ]]; then
		ok "dnsmasq --test refuses a second dhcp-host line for one host ($(tr "\n" " " <<<"$res"))"
	else
		fail "dnsmasq --test refuses a second dhcp-host line for one host" "$res"
	fi
else
	fail "a rendered check.conf with a dhcp-host line exists"
fi
vt_finish
