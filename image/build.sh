#!/usr/bin/env bash
# image/build.sh: builds the virtual router image from Debian's packages only
# (docs/image.md).  mmdebstrap makes a minimal bookworm in a directory from
# the apt sources this machine uses; the project's binaries, units and
# configuration go in with `make install`; `mkfs.ext4 -d` turns the directory
# into a file system without mounting anything (no loop device, no root
# mount), and qemu-img makes the qcow2.  Outputs, in OUT (build/image):
#   vr.qcow2        the root file system (ext4 on the whole disk: root=/dev/vda)
#   vmlinuz, initrd the kernel (linux-image-cloud-amd64) and its initramfs
#   token           vrd's control token, also in the image as /etc/vrd/token
#   cmdline         the kernel command line to boot with
#   build.log       mmdebstrap's output
# Environment: OUT, BUILD (where make put the binaries), SUITE (bookworm),
# IMAGE_SIZE (ext4 size, 1G), TOKEN_FILE (a token to use instead of a new
# one), ROOT_PASSWORD (root's password on the serial console; default: locked),
# APT_CACHE (.debs kept between builds; default OUT/apt-cache).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build/image}
BUILD=${BUILD:-$ROOT/build}
SUITE=${SUITE:-bookworm}
IMAGE_SIZE=${IMAGE_SIZE:-1G}
APT_CACHE=${APT_CACHE:-$OUT/apt-cache}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac

PACKAGES=(
	systemd systemd-sysv udev dbus
	linux-image-cloud-amd64 initramfs-tools
	dnsmasq-base iproute2
	libmicrohttpd12 libjansson4 libnl-3-200 libnl-route-3-200 libnftables1 libsystemd0
)

die() { echo "image/build.sh: $*" >&2; exit 1; }

for t in mmdebstrap mkfs.ext4 qemu-img; do
	command -v "$t" >/dev/null || die "$t missing: run make deps-image"
done
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode keeps file owners)"
for b in vrd vrctl vr-metadata; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b missing: run make"
done

. "$ROOT/image/mirrors.sh"

mkdir -p "$OUT" "$APT_CACHE"
mapfile -t MIRRORS < <(image_mirrors "$SUITE")
[ "${#MIRRORS[@]}" -gt 0 ] || die "no $SUITE entry in /etc/apt/sources.list*"

if [ -n "${TOKEN_FILE:-}" ]; then
	install -m 0600 "$TOKEN_FILE" "$OUT/token"
elif [ ! -s "$OUT/token" ]; then
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$OUT/token")
fi

STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
ROOTFS="$STAGE/rootfs"
START=$SECONDS

# Files the customize hook copies in.
mkdir -p "$STAGE/files"
cat >"$STAGE/files/10-control.network" <<'NET'
# The control interface (docs/image.md): vrd listens on 169.254.0.10:3923
# (/etc/vrd/vrd.conf).  Edit Address= for another control address (and
# vrd.conf's listen), or replace it with DHCP=ipv4.  Guest interfaces (eth1...)
# are vrd's: networkd leaves them alone.
[Match]
Name=eth0

[Network]
Address=169.254.0.10/16
LinkLocalAddressing=no
IPv6AcceptRA=no
NET
printf '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1\n' >"$STAGE/files/fstab"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvr\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$STAGE/files/hosts"
cat >"$STAGE/files/resolv.conf" <<'RESOLV'
# The router's upstream DNS servers, which dnsmasq forwards the guests'
# queries to (docs/image.md): one "nameserver IP" line each.
RESOLV

echo "image: mmdebstrap $SUITE from ${MIRRORS[*]}"
mmdebstrap --variant=minbase --mode=root --format=directory \
	--include="$(IFS=,; echo "${PACKAGES[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--skip=essential/unlink \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
	--setup-hook="sync-in '$APT_CACHE' /var/cache/apt/archives/" \
	--customize-hook="sync-out /var/cache/apt/archives '$APT_CACHE'" \
	--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages "$1"/var/lib/apt/lists/*_InRelease' \
	--customize-hook="make -s -C '$ROOT' install BUILD='$BUILD' DESTDIR=\"\$1\" PREFIX=/usr" \
	--customize-hook='rm -f "$1"/usr/sbin/vr-manager "$1"/lib/systemd/system/vr-manager.service' \
	--customize-hook="install -m 0600 '$OUT/token' \"\$1\"/etc/vrd/token" \
	--customize-hook="install -m 0644 '$STAGE/files/10-control.network' \"\$1\"/etc/systemd/network/10-control.network" \
	--customize-hook="install -m 0644 '$STAGE/files/fstab' \"\$1\"/etc/fstab" \
	--customize-hook='echo vr >"$1"/etc/hostname' \
	--customize-hook="install -m 0644 '$STAGE/files/hosts' '$STAGE/files/resolv.conf' \"\$1\"/etc/" \
	--customize-hook='chroot "$1" systemd-sysusers' \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service vrd.service vr-metadata.service vr-dnsmasq.service vr-dnsmasq-reconf.path' \
	--customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer' \
	"$SUITE" "$ROOTFS" "${MIRRORS[@]}" >"$OUT/build.log" 2>&1 ||
	{ tail -n 40 "$OUT/build.log" >&2; die "mmdebstrap failed (log: $OUT/build.log)"; }

if [ -n "${ROOT_PASSWORD:-}" ]; then
	printf 'root:%s\n' "$ROOT_PASSWORD" | chroot "$ROOTFS" chpasswd
fi
cp "$ROOTFS"/boot/vmlinuz-* "$STAGE/vmlinuz"
cp "$ROOTFS"/boot/initrd.img-* "$STAGE/initrd"
chmod 0644 "$STAGE/vmlinuz" "$STAGE/initrd"
# qemu boots the kernel and initrd given to it: the image needs no copies
rm -f "$ROOTFS"/boot/vmlinuz-* "$ROOTFS"/boot/initrd.img-*
du -xsm "$ROOTFS"/usr/* "$ROOTFS"/var "$ROOTFS"/etc 2>/dev/null | sort -rn | head -n 8 >>"$OUT/build.log"

echo "image: ext4 of $IMAGE_SIZE from the directory, then qcow2"
truncate -s "$IMAGE_SIZE" "$STAGE/root.raw"
mkfs.ext4 -q -F -L vr-root -E root_owner=0:0 -d "$ROOTFS" "$STAGE/root.raw"
qemu-img convert -c -O qcow2 "$STAGE/root.raw" "$STAGE/vr.qcow2"
printf 'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet\n' >"$STAGE/cmdline"
mv "$STAGE/vr.qcow2" "$STAGE/vmlinuz" "$STAGE/initrd" "$STAGE/cmdline" "$OUT/"
echo "image: $OUT/vr.qcow2 ($(du -m --apparent-size "$OUT/vr.qcow2" | cut -f1) MB;" \
    "root file system $(du -sm "$ROOTFS" | cut -f1) MB), kernel and initrd" \
    "$(du -cm "$OUT/vmlinuz" "$OUT/initrd" | tail -1 | cut -f1) MB, in $((SECONDS - START)) s"
