#!/usr/bin/env bash
# bench/mgr_volume.sh: vr-manager's volume prep (figures in docs/performance.md).
#  1. the one-time copy of a 10 GiB sparse raw template (BENCH_DATA_MB of data, 64 KiB blocks
#     at spread offsets) into the pool by volume_template_ensure (qemu-img convert to qcow2,
#     fsync, rename), against `cp --sparse=always` (+ sync) and a bare `qemu-img convert -O qcow2`;
#  2. ROOT overlay creation (rendered natively, fsynced, directory fsynced): median and p99
#     over BENCH_OVERLAYS (1000) overlays on 1, 10 and 100 GiB templates, and the rendering
#     alone (qcow2_overlay_render, no I/O).
# Prints a markdown table.  Needs $BUILD/bench/mgr_volume (make bench, or MGR_VOLUME=path).
# BENCH_DIR (/var/tmp: a disk, not tmpfs, so that fsync costs what it costs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DRIVER=${MGR_VOLUME:-$BUILD/bench/mgr_volume}
N=${BENCH_OVERLAYS:-1000}
DATA_MB=${BENCH_DATA_MB:-8}
QEMU_IMG=${QEMU_IMG:-qemu-img}

BENCH_NAME=bench
. "$ROOT/bench/lib/bench.sh"

[ -x "$DRIVER" ] || die "$DRIVER missing (make bench)"
command -v "$QEMU_IMG" >/dev/null || die "qemu-img missing (apt-get install qemu-utils)"
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/mgr-volume.XXXXXX")
mkdir "$WORK/src" "$WORK/pool" "$WORK/vols"

# A sparse raw file of $2 GiB with $DATA_MB MiB of random data in 64 KiB blocks spread evenly.
sparse_template() {
	local f=$1 gib=$2 blocks=$((DATA_MB * 16)) i
	truncate -s "${gib}G" "$f"
	for ((i = 0; i < blocks; i++)); do
		echo $(((gib * 16384 - 1) * i / (blocks - 1)))
	done | while read -r off; do
		head -c 65536 /dev/urandom | dd of="$f" bs=64K seek="$off" conv=notrunc status=none
	done
	sync "$f"
}

elapsed() { # milliseconds taken by "$@" (the template is in the page cache for every method)
	local t0 t1
	sync
	t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{printf "%.0f", ($2 - $1) * 1e3}'
}

kib() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") / 1024 )); }

say "10 GiB sparse raw template with $DATA_MB MiB of data"
sparse_template "$WORK/src/t10.raw" 10
t_ensure=$(elapsed "$DRIVER" ensure "$WORK/pool" t10 "$WORK/src/t10.raw")
t_ensure_again=$("$DRIVER" ensure "$WORK/pool" t10 "$WORK/src/t10.raw" | awk '{printf "%.3f", $1 * 1e3}')
t_cp=$(elapsed sh -c "cp --sparse=always '$WORK/src/t10.raw' '$WORK/cp.raw' && sync '$WORK/cp.raw'")
t_conv=$(elapsed "$QEMU_IMG" convert -f raw -O qcow2 "$WORK/src/t10.raw" "$WORK/conv.qcow2")

echo "| volume prep, 10 GiB sparse raw template ($DATA_MB MiB data) | time | allocated |"
echo "|---|---:|---:|"
echo "| volume_template_ensure (qemu-img convert, fsync, rename, fsync dir) | ${t_ensure} ms | $(kib "$WORK/pool/template-t10.qcow2") KiB |"
echo "| volume_template_ensure again (cached) | ${t_ensure_again} ms | |"
echo "| cp --sparse=always + sync | ${t_cp} ms | $(kib "$WORK/cp.raw") KiB |"
echo "| qemu-img convert -O qcow2 (no fsync) | ${t_conv} ms | $(kib "$WORK/conv.qcow2") KiB |"
rm -f "$WORK/cp.raw" "$WORK/conv.qcow2"
echo
echo "| ROOT overlay ($N per size, fsync + dir fsync) | median | p99 |"
echo "|---|---:|---:|"
for gib in 1 10 100; do
	if [ "$gib" = 10 ]; then
		cached=$WORK/pool/template-t10.qcow2
	else
		truncate -s "${gib}G" "$WORK/src/t$gib.raw"
		"$DRIVER" ensure "$WORK/pool" "t$gib" "$WORK/src/t$gib.raw" >/dev/null
		cached=$WORK/pool/template-t$gib.qcow2
	fi
	read -r med p99 < <("$DRIVER" overlays "$cached" "$WORK/vols" "$N")
	echo "| $gib GiB template | $med ms | $p99 ms |"
done
read -r med p99 < <("$DRIVER" render 100 "$N")
echo "| of which rendering the bytes (100 GiB, no I/O) | $med ms | $p99 ms |"
