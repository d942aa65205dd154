#!/usr/bin/env bash
# bench/ext4_recent_delete.sh: converges 10,000 VMs on fresh loop-mounted ext4
# images with and without a journal, each with and without 20,000 files
# deleted just before, to show how ext4's no-journal inode allocator (which
# skips inodes deleted in the last 60 s, checking each) slows vrd's commit.
# Not part of `make bench`; see docs/performance.md.  Needs root and a loop device.
set -euo pipefail
shopt -s inherit_errexit
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
PORT=${BENCH_PORT:-39923}
VMS=${BENCH_CONVERGE:-10000}
BENCH_NAME=ext4_recent_delete
. "$ROOT/bench/lib/bench.sh"
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vrd-ext4ab.XXXXXX")
LOOPDEV=""
# once vrd is stopped (PIDS): the image's mount and loop device
BENCH_AT_EXIT+=('mountpoint -q "$WORK/mnt" && umount "$WORK/mnt"' '[ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV"')

[ -z "$(ss -Hltn "sport = :$PORT")" ] || die "port $PORT in use"
bench_token "$WORK/token"

# one FEATURE CHURN: prints the request time of one convergence.
one() {
	local d="$WORK/mnt/w"
	rm -f "$WORK/img"
	truncate -s 2G "$WORK/img"
	mkfs.ext4 -q -F -O "$1" "$WORK/img"
	LOOPDEV=$(losetup -f --show "$WORK/img")
	mkdir -p "$WORK/mnt"
	mount "$LOOPDEV" "$WORK/mnt"
	mkdir "$d"
	if [ "$2" = yes ]; then
		mkdir "$d/junk"
		(cd "$d/junk" && seq 20000 | xargs touch)
		sync
		rm -rf "$d/junk"
	fi
	"$BUILD/vrd" --config /dev/null --listen "127.0.0.1:$PORT" --state-dir "$d/state" \
		--token-file "$WORK/token" --dnsmasq-pid-file "$d/dnsmasq.pid" \
		--dnsmasq-lease-file "$d/leases" --metadata-user nobody --manage-links no \
		--max-body 67108864 2>"$WORK/vrd.log" &
	VRD_PID=$!
	PIDS=("$VRD_PID")
	for _ in $(seq 50); do grep -q 'ready: listening' "$WORK/vrd.log" && break; sleep 0.1; done
	"$BUILD/bench/vrd_bench" --url "http://127.0.0.1:$PORT" --token-file "$WORK/token" \
		--converge "$VMS" | sed -n 's/.*request_ms=//p'
	kill "$VRD_PID"
	wait "$VRD_PID" || true
	PIDS=()
	umount "$WORK/mnt"
	losetup -d "$LOOPDEV"
	LOOPDEV=""
}

echo "| ext4 | 20,000 files deleted just before | $VMS-VM batch, request ms |"
echo "|---|---|---:|"
for feature in has_journal ^has_journal; do
	for churn in no yes; do
		label="with journal"
		[ "$feature" = has_journal ] || label="no journal"
		ms=$(one "$feature" "$churn")
		echo "| $label | $churn | $ms |"
	done
done
