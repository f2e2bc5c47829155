#!/usr/bin/env bash
# Prints the boot facts of a converted Linux guest image, one per line, sorted, so that two
# conversions of the same image (virt-v2v's and guest-fixup's) can be compared as text:
#
#   fstab <line>                   every mount line of /etc/fstab (whitespace squeezed)
#   grub.cfg <kernel args>         the arguments of every `linux` line of /boot/grub/grub.cfg
#   default-grub <KEY>=<value>     GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT
#   console <name>                 every console= value of grub.cfg's first entry
#   resume <line>                  /etc/initramfs-tools/conf.d/resume
#   initramfs <version> <module>   every virtio / xen-blkfront module in the initramfs of each
#                                  kernel in /boot, as the guest's own lsinitramfs lists it
#
# UUIDs are replaced by <uuid:pN>, N the partition holding that UUID, and Debian kernel
# versions (6.1.0-50-amd64) by <kver>, so images built at different times compare. Attaches the image read-only (loop + partx), mounts the root
# read-only (no journal replay) and undoes it all on exit. Needs root.
#
#   guest-facts.sh IMAGE
set -euo pipefail
image=${1:?usage: guest-facts.sh IMAGE}
for tool in losetup partx blkid mount chroot; do
    command -v "$tool" >/dev/null || { echo "guest-facts.sh: $tool is missing: run scripts/install-test-deps" >&2; exit 3; }
done
mnt=$(mktemp -d)
loop=""
cleanup() {
    set +e
    for m in tmp dev proc ""; do mountpoint -q "$mnt/$m" && umount "$mnt/$m"; done
    if [ -n "$loop" ]; then partx -d "$loop" 2>/dev/null; losetup -d "$loop"; fi
    rmdir "$mnt"
}
trap cleanup EXIT
loop=$(losetup -r -f --show "$image")
partx -a "$loop" 2>/dev/null || true
uuids=""
root=""
for part in "$loop"p*; do
    [ -b "$part" ] || continue
    n=${part##*p}
    uuid=$(blkid -p -o value -s UUID "$part" 2>/dev/null || true)
    [ -n "$uuid" ] && uuids="$uuids s#$uuid#<uuid:p$n>#g;"
    type=$(blkid -p -o value -s TYPE "$part" 2>/dev/null || true)
    case "$type" in ext2|ext3|ext4|xfs) ;; *) continue ;; esac
    opts=ro; [ "$type" = xfs ] && opts=ro,norecovery || opts=ro,noload
    [ -z "$root" ] || continue
    mount -o "$opts" "$part" "$mnt"
    if [ -f "$mnt/etc/fstab" ]; then root=$part; else umount "$mnt"; fi
done
[ -n "$root" ] || { echo "guest-facts.sh: no partition of $image holds /etc/fstab" >&2; exit 1; }
{
    grep -v '^[[:space:]]*#' "$mnt/etc/fstab" | awk 'NF >= 3 { $1 = $1; print "fstab " $0 }'
    if [ -f "$mnt/boot/grub/grub.cfg" ]; then
        awk '$1 == "linux" { $1 = ""; $2 = ""; sub(/^ +/, ""); print "grub.cfg " $0 }' "$mnt/boot/grub/grub.cfg"
        awk '$1 == "linux" { for (i = 3; i <= NF; i++) if ($i ~ /^console=/) print "console " substr($i, 9); exit }' "$mnt/boot/grub/grub.cfg"
    fi
    sed -n 's/^\(GRUB_CMDLINE_LINUX\(_DEFAULT\)\?=.*\)$/default-grub \1/p' "$mnt/etc/default/grub" 2>/dev/null || true
    sed -n 's/^\(RESUME=.*\)$/resume \1/p' "$mnt/etc/initramfs-tools/conf.d/resume" 2>/dev/null || true
    # The guest's own lsinitramfs (its cpio and zstd), in a chroot with a private /tmp.
    mount -t tmpfs tmpfs "$mnt/tmp"; mount --bind /dev "$mnt/dev"; mount -t proc proc "$mnt/proc"
    # Only the initramfs of each installed kernel (not kept copies such as virt-v2v's
    # .pre-v2v or our .guest-fixup-orig).
    for kernel in "$mnt"/boot/vmlinuz-*; do
        version=${kernel##*/vmlinuz-}
        [ -f "$mnt/boot/initrd.img-$version" ] || continue
        chroot "$mnt" lsinitramfs "/boot/initrd.img-$version" \
            | sed -n 's#.*/\(virtio[^/]*\|xen-blkfront\)\.ko\(\.[a-z]*\)\?$#\1#p' | sort -u \
            | sed "s#^#initramfs $version #"
    done
} | sed -E "$uuids s#[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64#<kver>#g" | LC_ALL=C sort
