#!/usr/bin/env bash
# image/guest.sh: builds the guest template the real-VM test deploys (docs/image.md,
# "The guest template"): a BIOS-bootable Debian disk from Debian's packages only, with the
# packaged cloud-init, openssh-server, wget and a kernel.  No loop device and no mount:
#   - mmdebstrap makes the root file system in a directory;
#   - `mkfs.ext4 -d` turns it into partition 2 (the root, ext4) inside a file;
#   - partition 1 is a small FAT file system made with mkfs.fat on a file, holding the
#     kernel, initrd and syslinux.cfg; `syslinux --install` writes its boot record and
#     ldlinux.sys through mtools (no mount);
#   - sfdisk writes the partition table (partition 1 active) into the disk file, dd puts
#     syslinux's MBR boot code and both partitions in place; qemu-img makes the qcow2.
# Outputs in OUT (build/guest): guest.qcow2, inputs.sha256 (what it was built from: the
# next run with the same inputs reuses the image), build.log.
# Environment: OUT, SUITE (bookworm), ROOT_SIZE_MIB (1536), APT_CACHE (OUT/apt-cache),
# FORCE=1 (build even if the inputs did not change).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build/guest}
SUITE=${SUITE:-bookworm}
ROOT_SIZE_MIB=${ROOT_SIZE_MIB:-1536}
BOOT_SIZE_MIB=64
APT_CACHE=${APT_CACHE:-$OUT/apt-cache}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac

PACKAGES=(
	systemd systemd-sysv udev dbus
	linux-image-cloud-amd64 initramfs-tools
	cloud-init openssh-server wget sudo
	ifupdown isc-dhcp-client iproute2 netbase
	python3-apt
)
MBR=/usr/lib/syslinux/mbr/mbr.bin

die() { echo "image/guest.sh: $*" >&2; exit 1; }

for t in mmdebstrap mkfs.ext4 mkfs.fat syslinux mcopy sfdisk qemu-img; do
	command -v "$t" >/dev/null || die "$t missing: run make deps-image"
done
[ -r "$MBR" ] || die "$MBR missing: run make deps-image"
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode keeps file owners)"

# The inputs: this script (packages, configuration), mirrors.sh (the shared options), the
# mirrors, the suite and sizes.
. "$ROOT/image/mirrors.sh"
mkdir -p "$OUT" "$APT_CACHE"
mapfile -t MIRRORS < <(image_mirrors "$SUITE")
[ "${#MIRRORS[@]}" -gt 0 ] || die "no $SUITE entry in /etc/apt/sources.list*"
INPUTS=$( { cat "$0" "$ROOT/image/mirrors.sh"; echo "$SUITE $ROOT_SIZE_MIB ${MIRRORS[*]}"; } | sha256sum | cut -d' ' -f1)
if [ "${FORCE:-0}" != 1 ] && [ -s "$OUT/guest.qcow2" ] &&
    [ "$(cat "$OUT/inputs.sha256" 2>/dev/null)" = "$INPUTS" ]; then
	echo "guest: $OUT/guest.qcow2 is up to date"
	exit 0
fi

STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
ROOTFS="$STAGE/rootfs"
START=$SECONDS

mkdir -p "$STAGE/files"
# cloud-init: the CloudStack router is the only data source (then None, so a guest without
# one still boots); default user debian with sudo and the keys the metadata gives;
# C.UTF-8 needs no generated locale, so cloud-init ends in status "done".
cat >"$STAGE/files/90-vr.cfg" <<'CFG'
datasource_list: [ CloudStack, None ]
datasource:
  CloudStack:
    max_wait: 120
    timeout: 10
locale: C.UTF-8
system_info:
  default_user:
    name: debian
    lock_passwd: false
    gecos: Debian
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
ssh_pwauth: true
CFG
printf 'LABEL=guest-root / ext4 rw,noatime,errors=remount-ro 0 1\n' >"$STAGE/files/fstab"
printf 'auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n' \
    >"$STAGE/files/interfaces"
cat >"$STAGE/files/syslinux.cfg" <<'CFG'
DEFAULT linux
TIMEOUT 0
PROMPT 0
LABEL linux
  LINUX /vmlinuz
  INITRD /initrd
  APPEND root=LABEL=guest-root rw console=tty0 console=ttyS0,115200n8 net.ifnames=0
CFG

echo "guest: mmdebstrap $SUITE from ${MIRRORS[*]}"
mmdebstrap_common "$APT_CACHE"
mmdebstrap "${MMDEBSTRAP_COMMON[@]}" --include="$(IFS=,; echo "${PACKAGES[*]}")" \
	--customize-hook="install -m 0644 '$STAGE/files/90-vr.cfg' \"\$1\"/etc/cloud/cloud.cfg.d/90-vr.cfg" \
	--customize-hook="install -m 0644 '$STAGE/files/fstab' '$STAGE/files/interfaces' \"\$1\"/etc/" \
	--customize-hook='mv "$1"/etc/interfaces "$1"/etc/network/interfaces' \
	--customize-hook='echo debian >"$1"/etc/hostname' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook='chroot "$1" systemctl enable serial-getty@ttyS0.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer' \
	"$SUITE" "$ROOTFS" "${MIRRORS[@]}" >"$OUT/build.log" 2>&1 ||
	{ tail -n 40 "$OUT/build.log" >&2; die "mmdebstrap failed (log: $OUT/build.log)"; }

# The boot partition: kernel, initrd, syslinux.cfg; syslinux's boot record through mtools.
BOOT="$STAGE/boot.fat"
truncate -s "${BOOT_SIZE_MIB}M" "$BOOT"
mkfs.fat -F 32 -n GUESTBOOT "$BOOT" >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -i "$BOOT" "$(ls "$ROOTFS"/boot/vmlinuz-* | head -n1)" ::vmlinuz
MTOOLS_SKIP_CHECK=1 mcopy -i "$BOOT" "$(ls "$ROOTFS"/boot/initrd.img-* | head -n1)" ::initrd
MTOOLS_SKIP_CHECK=1 mcopy -i "$BOOT" "$STAGE/files/syslinux.cfg" ::syslinux.cfg
syslinux --install "$BOOT"
rm -f "$ROOTFS"/boot/vmlinuz-* "$ROOTFS"/boot/initrd.img-*

echo "guest: ext4 root of $ROOT_SIZE_MIB MiB, partition table, qcow2"
truncate -s "${ROOT_SIZE_MIB}M" "$STAGE/root.ext4"
mkfs.ext4 -q -F -L guest-root -E root_owner=0:0 -d "$ROOTFS" "$STAGE/root.ext4"
DISK="$STAGE/disk.raw"
truncate -s $((1 + BOOT_SIZE_MIB + ROOT_SIZE_MIB))M "$DISK"
sfdisk -q "$DISK" <<EOF
label: dos
start=1MiB, size=${BOOT_SIZE_MIB}MiB, type=c, bootable
start=$((1 + BOOT_SIZE_MIB))MiB, size=${ROOT_SIZE_MIB}MiB, type=83
EOF
dd if="$MBR" of="$DISK" bs=440 count=1 conv=notrunc status=none
dd if="$BOOT" of="$DISK" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$STAGE/root.ext4" of="$DISK" bs=1M seek=$((1 + BOOT_SIZE_MIB)) conv=notrunc,sparse \
    status=none
qemu-img convert -c -O qcow2 "$DISK" "$STAGE/guest.qcow2"
mv "$STAGE/guest.qcow2" "$OUT/guest.qcow2"
echo "$INPUTS" >"$OUT/inputs.sha256"
echo "guest: $OUT/guest.qcow2 ($(du -m --apparent-size "$OUT/guest.qcow2" | cut -f1) MB;" \
    "root file system $(du -sm "$ROOTFS" | cut -f1) MB) in $((SECONDS - START)) s"
