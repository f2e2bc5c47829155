#!/usr/bin/env bash
# Builds real Debian guest images for guest-fixup's boot tests, cached by recipe.
#
#   guest-image.sh rootfs          -> prints the cached rootfs tarball (debootstrap of bookworm
#                                     with its kernel, grub-pc, initramfs-tools, xfsprogs)
#   guest-image.sh image LAYOUT    -> prints the cached raw disk image of LAYOUT, laid out as
#                                     the guest was on Xen (see `layout_*` below)
#
# The cache keys are SHA-256 sums of the recipe (see `recipe` below), so editing it rebuilds; the cache lives in ${GUEST_IMAGE_CACHE:-~/.cache/vmtoolkit/guest-images}.
# A flock serialises concurrent builders. Needs root (loop devices, mounts, chroot).
# This host kernel has no partition parsers: `partx -a` adds the partition nodes and
# `partx -d` removes them again before `losetup -d` (see the cleanup trap).
set -euo pipefail

cache=${GUEST_IMAGE_CACHE:-$HOME/.cache/vmtoolkit/guest-images}
# The rootfs is keyed by its own recipe (the `rootfs` function), an image by the whole file.
recipe=$(sha256sum "$0" | cut -c1-16)
rootfs_recipe=$(sed -n '/^rootfs() {/,/^}/p' "$0" | sha256sum | cut -c1-16)
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache"

for tool in debootstrap sfdisk partx mkfs.ext4 mkfs.xfs mkswap losetup chroot; do
    command -v "$tool" >/dev/null || { echo "guest-image.sh: $tool is missing: run scripts/install-test-deps" >&2; exit 3; }
done

work=""
loop=""
cleanup() {
    set +e
    if [ -n "$work" ]; then
        for m in dev/pts dev proc sys ""; do
            mountpoint -q "$work/mnt/$m" && umount "$work/mnt/$m"
        done
        mountpoint -q "$work/mnt" && umount "$work/mnt"
    fi
    if [ -n "$loop" ]; then partx -d "$loop" 2>/dev/null; losetup -d "$loop"; fi
    [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT

rootfs() {
    local out="$cache/rootfs-$rootfs_recipe.tar"
    [ -s "$out" ] && { echo "$out"; return; }
    work=$(mktemp -d "$cache/.build-rootfs.XXXXXX")
    debootstrap --variant=minbase --include=linux-image-amd64,grub-pc,initramfs-tools,xfsprogs \
        bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    # The marker the boot test looks for: mounts what fstab lists, activates swap, prints one
    # line on the console and powers off (kernel `init=`).
    cat >"$work/root/usr/local/sbin/boot-marker" <<'MARKER'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys
mount -o remount,rw /
mount -a
swapon -a
swaps=$(awk 'NR > 1 { n++ } END { print n + 0 }' /proc/swaps)
root=$(awk '$2 == "/" { r = $1 } END { print r }' /proc/mounts)
echo "@@BOOTED root=$root swaps=$swaps"
echo 1 >/proc/sys/kernel/sysrq; echo o >/proc/sysrq-trigger
sleep 30
MARKER
    chmod 755 "$work/root/usr/local/sbin/boot-marker"
    rm -f "$work/root/var/cache/apt/archives/"*.deb
    tar -C "$work/root" -cf "$work/rootfs.tar" .
    mv "$work/rootfs.tar" "$out"
    rm -rf "$work"; work=""
    echo "$out"
}

# layout_NAME sets: label, parts (sfdisk lines), rootfs_type, the guest's names and options.
layout_xen-pv() {      # pygrub-booted PV guest: xvda1 root, xvda5 swap, console hvc0, no MBR code
    parts=$'start=2048, size=3670016, type=83\nstart=3672064, type=5\nstart=3674112, type=82'
    root_part=1 swap_part=5 fs=ext4 dev=xvda use_uuid=0 wipe_swap=0 mbr=0 xen_kernel=0
    cmdline="console=hvc0 resume=/dev/xvda5"
    modules="xen-blkfront ext4 crc32c_generic"
}
layout_xen-hvm() {     # HVM guest: sda1 root, sda2 swap, serial console, grub in the MBR
    parts=$'start=2048, size=3670016, type=83, bootable\nstart=3672064, type=82'
    root_part=1 swap_part=2 fs=ext4 dev=sda use_uuid=0 wipe_swap=0 mbr=1 xen_kernel=0
    cmdline="console=tty0 console=ttyS0,115200 resume=/dev/sda2"
    modules="ata_piix sd_mod xen-blkfront ext4 crc32c_generic"
}
layout_xen-pv-xfs() {  # PV guest, XFS root, UUID= in fstab, its swap partition wiped, and
                       # grub's default entry on a Xen-only kernel (see xen_kernel below)
    parts=$'start=2048, size=3670016, type=83, bootable\nstart=3672064, type=82'
    root_part=1 swap_part=2 fs=xfs dev=xvda use_uuid=1 wipe_swap=1 mbr=1 xen_kernel=1
    cmdline="console=hvc0"
    modules="xen-blkfront xfs libcrc32c crc32c_generic"
}

image() {
    local name=$1
    declare -F "layout_$name" >/dev/null || { echo "guest-image.sh: unknown layout $name" >&2; exit 2; }
    "layout_$name"
    local out="$cache/$name-$recipe.img"
    [ -s "$out" ] && { echo "$out"; return; }
    local tarball; tarball=$(rootfs)
    work=$(mktemp -d "$cache/.build-$name.XXXXXX")
    local img="$work/disk.img"
    truncate -s 2G "$img"
    printf 'label: dos\nunit: sectors\n%s\n' "$parts" | sfdisk -q "$img"
    loop=$(losetup -f --show "$img")
    partx -a "$loop"
    local rootdev=${loop}p$root_part swapdev=${loop}p$swap_part
    if [ "$fs" = xfs ]; then mkfs.xfs -q -m bigtime=0,inobtcount=0 "$rootdev"; else mkfs.ext4 -q "$rootdev"; fi
    mkswap -q -L swap "$swapdev" >/dev/null
    local root_uuid swap_uuid
    root_uuid=$(blkid -o value -s UUID "$rootdev"); swap_uuid=$(blkid -o value -s UUID "$swapdev")
    mkdir "$work/mnt"; mount "$rootdev" "$work/mnt"
    tar -C "$work/mnt" -xpf "$tarball"
    local root_spec="/dev/${dev}${root_part}" swap_spec="/dev/${dev}${swap_part}"
    if [ "$use_uuid" = 1 ]; then root_spec="UUID=$root_uuid" swap_spec="UUID=$swap_uuid"; fi
    printf '%s / %s defaults 0 1\n%s none swap sw 0 0\n' "$root_spec" "$fs" "$swap_spec" >"$work/mnt/etc/fstab"
    echo "$name" >"$work/mnt/etc/hostname"
    sed -i 's/^MODULES=.*/MODULES=list/' "$work/mnt/etc/initramfs-tools/initramfs.conf"
    printf '%s\n' $modules >>"$work/mnt/etc/initramfs-tools/modules"
    echo "RESUME=$swap_spec" >"$work/mnt/etc/initramfs-tools/conf.d/resume"
    cat >"$work/mnt/etc/default/grub" <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="rootdelay=10 init=/usr/local/sbin/boot-marker"
GRUB_CMDLINE_LINUX="$cmdline"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
    for m in dev proc sys dev/pts; do mount --bind "/$m" "$work/mnt/$m"; done
    local kver; kver=$(ls "$work/mnt/lib/modules" | sort -V | tail -1)
    chroot "$work/mnt" update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 \
        || { tail -20 "$work/initramfs.log" >&2; exit 1; }
    if [ "$xen_kernel" = 1 ]; then
        # A Xen-only kernel flavour beside the real one, as xenified kernels sat on Xen PV
        # guests: grub sorts it first, so its default entry boots it, and it cannot boot on KVM
        # (here it is not a kernel at all: grub refuses it, the boot stops).
        local xver=${kver%-amd64}-xen
        echo "stands for a xenified kernel: not bootable" >"$work/mnt/boot/vmlinuz-$xver"
        printf 'CONFIG_X86_64_XEN=y\nCONFIG_XEN_BLKDEV_FRONTEND=y\n' >"$work/mnt/boot/config-$xver"
    fi
    chroot "$work/mnt" update-grub >"$work/grub.log" 2>&1 || { tail -20 "$work/grub.log" >&2; exit 1; }
    if [ "$mbr" = 1 ]; then
        chroot "$work/mnt" grub-install --target=i386-pc "$loop" >>"$work/grub.log" 2>&1 \
            || { tail -20 "$work/grub.log" >&2; exit 1; }
    fi
    # No udev here: grub-mkconfig wrote the loop partition; put the name the guest had on Xen.
    sed -i "s#root=[^ ]*#root=/dev/${dev}${root_part}#" "$work/mnt/boot/grub/grub.cfg"
    for m in dev/pts dev proc sys; do umount "$work/mnt/$m"; done
    umount "$work/mnt"
    [ "$wipe_swap" = 1 ] && wipefs -q -a "$swapdev"
    partx -d "$loop"; losetup -d "$loop"; loop=""
    mv "$img" "$out"
    echo "$out"
}

exec 9>"$cache/.lock"
flock 9
case "${1:-}" in
    rootfs) rootfs ;;
    image) image "${2:?layout}" ;;
    *) echo "usage: guest-image.sh rootfs | image xen-pv|xen-hvm|xen-pv-xfs" >&2; exit 2 ;;
esac
