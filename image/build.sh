#!/usr/bin/env bash
# image/build.sh: builds the virtual router image from Debian's packages only
# (docs/image.md).  mmdebstrap makes a minimal bookworm in a directory from
# the apt sources this machine uses; the project's binaries, units and
# configuration go in with `make install`; `mkfs.ext4 -d` turns the directory
# into a file system without mounting anything (no loop device, no root
# mount) at an offset in a disk image with one MBR partition, and GRUB's
# boot.img and core.img (made by the image's own grub-mkimage, with the boot
# menu built in) go into the MBR and the gap before the partition, so the disk
# boots by itself as CloudStack's KVM agent starts it (machine pc, no
# -kernel); qemu-img makes the qcow2.  Outputs, in OUT (build/image):
#   vr.qcow2        the bootable disk (partition 1: ext4, root=UUID=...)
#   vmlinuz, initrd the kernel (linux-image-cloud-amd64) and its initramfs,
#                   also in the image's /boot (for -kernel boots)
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
	libmicrohttpd12 libjansson4 libnl-3-200 libnl-route-3-200 libsystemd0 libnftables1 libnftnl11 libmnl0 libnettle8
	openssh-server qemu-guest-agent gzip
	grub-pc-bin
)

die() { echo "image/build.sh: $*" >&2; exit 1; }

for t in mmdebstrap mkfs.ext4 sfdisk qemu-img; do
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
ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
printf 'UUID=%s / ext4 rw,noatime,errors=remount-ro 0 1\n' "$ROOT_UUID" >"$STAGE/files/fstab"
KERNEL_ARGS="root=UUID=$ROOT_UUID rw console=ttyS0 net.ifnames=0 quiet"
# CloudStack's side (docs/image.md): sshd on 3922, root by key only, on the
# control address (vr-cloud-config rewrites 20-cloud-listen.conf from the
# cmdline); binding before the address is up needs ip_nonlocal_bind.
cat >"$STAGE/files/10-cloud.conf" <<'SSHD'
# CloudStack's router: the agent connects as root with its key, port 3922
Port 3922
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
SSHD
printf 'ListenAddress 169.254.0.10:3922\n' >"$STAGE/files/20-cloud-listen.conf"
printf 'net.ipv4.ip_nonlocal_bind = 1\n' >"$STAGE/files/60-vr-nonlocal-bind.conf"
# each router makes its own host key at its first start (ed25519 only: RSA
# takes long under emulation)
cat >"$STAGE/files/ssh-hostkeys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
UNIT
printf 'url = http://127.0.0.1:3923\n' >"$STAGE/files/vrctl.conf"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvr\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$STAGE/files/hosts"
cat >"$STAGE/files/resolv.conf" <<'RESOLV'
# The router's upstream DNS servers, which dnsmasq forwards the guests'
# queries to (docs/image.md): one "nameserver IP" line each.
RESOLV

echo "image: mmdebstrap $SUITE from ${MIRRORS[*]}"
mmdebstrap_common "$APT_CACHE"
mmdebstrap "${MMDEBSTRAP_COMMON[@]}" --include="$(IFS=,; echo "${PACKAGES[*]}")" \
	--customize-hook="make -s -C '$ROOT' install BUILD='$BUILD' DESTDIR=\"\$1\" PREFIX=/usr" \
	--customize-hook='rm -f "$1"/usr/sbin/vr-manager "$1"/lib/systemd/system/vr-manager.service' \
	--customize-hook="install -m 0600 '$OUT/token' \"\$1\"/etc/vrd/token" \
	--customize-hook="install -m 0644 '$STAGE/files/10-control.network' \"\$1\"/etc/systemd/network/10-control.network" \
	--customize-hook="install -m 0644 '$STAGE/files/fstab' \"\$1\"/etc/fstab" \
	--customize-hook='echo vr >"$1"/etc/hostname' \
	--customize-hook="install -m 0644 '$STAGE/files/hosts' '$STAGE/files/resolv.conf' \"\$1\"/etc/" \
	--customize-hook="cp -r '$ROOT/image/cloud' \"\$1\"/opt/cloud" \
	--customize-hook='mv "$1"/opt/cloud "$1"/opt/cloud.d && mkdir -p "$1"/opt/cloud && mv "$1"/opt/cloud.d "$1"/opt/cloud/bin' \
	--customize-hook='mv "$1"/opt/cloud/bin/vr-cloud-config.service "$1"/opt/cloud/bin/vr-cloud-config.path "$1"/etc/systemd/system/' \
	--customize-hook='mkdir -p -m 0700 "$1"/root/.ssh && mkdir -p "$1"/var/cache/cloud/processed "$1"/etc/systemd/system/ssh.service.d' \
	--customize-hook="install -m 0644 '$STAGE/files/10-cloud.conf' '$STAGE/files/20-cloud-listen.conf' \"\$1\"/etc/ssh/sshd_config.d/" \
	--customize-hook="install -m 0644 '$STAGE/files/60-vr-nonlocal-bind.conf' \"\$1\"/etc/sysctl.d/" \
	--customize-hook="install -m 0644 '$STAGE/files/ssh-hostkeys.conf' \"\$1\"/etc/systemd/system/ssh.service.d/hostkeys.conf" \
	--customize-hook="install -m 0644 '$STAGE/files/vrctl.conf' \"\$1\"/etc/vrd/vrctl.conf" \
	--customize-hook='printf "listen = 127.0.0.1:3923\n" >>"$1"/etc/vrd/vrd.conf' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	--customize-hook='chroot "$1" systemd-sysusers' \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service vrd.service vr-metadata.service vr-dnsmasq.service vr-dnsmasq-reconf.path vr-cloud-config.path ssh.service' \
	--customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer' \
	"$SUITE" "$ROOTFS" "${MIRRORS[@]}" >"$OUT/build.log" 2>&1 ||
	{ tail -n 40 "$OUT/build.log" >&2; die "mmdebstrap failed (log: $OUT/build.log)"; }

if [ -n "${ROOT_PASSWORD:-}" ]; then
	printf 'root:%s\n' "$ROOT_PASSWORD" | chroot "$ROOTFS" chpasswd
fi
cp "$ROOTFS"/boot/vmlinuz-* "$STAGE/vmlinuz"
cp "$ROOTFS"/boot/initrd.img-* "$STAGE/initrd"
chmod 0644 "$STAGE/vmlinuz" "$STAGE/initrd"
du -xsm "$ROOTFS"/usr/* "$ROOTFS"/var "$ROOTFS"/etc 2>/dev/null | sort -rn | head -n 8 >>"$OUT/build.log"

# GRUB's core.img, made by the image's own grub-mkimage (grub-pc-bin), with
# the menu built in: no grub.cfg, no grub-install, no device needed.
KVER=$(basename "$ROOTFS"/boot/vmlinuz-*); KVER=${KVER#vmlinuz-}
cat >"$ROOTFS/tmp/early.cfg" <<GRUB
set root=(hd0,msdos1)
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
linux /boot/vmlinuz-$KVER $KERNEL_ARGS
initrd /boot/initrd.img-$KVER
boot
GRUB
chroot "$ROOTFS" grub-mkimage -O i386-pc -o /tmp/core.img -c /tmp/early.cfg \
	-p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 linux boot serial terminal ||
	die "grub-mkimage failed"
mv "$ROOTFS/tmp/core.img" "$STAGE/core.img"
cp "$ROOTFS/usr/lib/grub/i386-pc/boot.img" "$STAGE/boot.img"
rm -f "$ROOTFS/tmp/early.cfg"
[ "$(stat -c %s "$STAGE/core.img")" -lt $((2047 * 512)) ] || die "core.img over 1 MiB"

echo "image: disk of $IMAGE_SIZE (MBR, GRUB, ext4 from the directory at 1 MiB), then qcow2"
truncate -s "$IMAGE_SIZE" "$STAGE/disk.raw"
BYTES=$(stat -c %s "$STAGE/disk.raw")
mkfs.ext4 -q -F -L vr-root -U "$ROOT_UUID" -E root_owner=0:0,offset=1048576 -d "$ROOTFS" \
	"$STAGE/disk.raw" "$(( (BYTES - 1048576) / 1024 ))k"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q --wipe never "$STAGE/disk.raw" ||
	die "sfdisk failed"
# boot.img's code (not the partition table) into the MBR; core.img right after
dd if="$STAGE/boot.img" of="$STAGE/disk.raw" bs=440 count=1 conv=notrunc status=none
dd if="$STAGE/core.img" of="$STAGE/disk.raw" bs=512 seek=1 conv=notrunc status=none
qemu-img convert -c -O qcow2 "$STAGE/disk.raw" "$STAGE/vr.qcow2"
printf '%s\n' "$KERNEL_ARGS" >"$STAGE/cmdline"
mv "$STAGE/vr.qcow2" "$STAGE/vmlinuz" "$STAGE/initrd" "$STAGE/cmdline" "$OUT/"
echo "image: $OUT/vr.qcow2 ($(du -m --apparent-size "$OUT/vr.qcow2" | cut -f1) MB;" \
    "root file system $(du -sm "$ROOTFS" | cut -f1) MB), kernel and initrd" \
    "$(du -cm "$OUT/vmlinuz" "$OUT/initrd" | tail -1 | cut -f1) MB, in $((SECONDS - START)) s"
