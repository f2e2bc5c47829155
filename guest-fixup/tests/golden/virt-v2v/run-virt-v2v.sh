#!/usr/bin/env bash
# Converts a copy of guest-image.sh's xen-pv image with Debian's virt-v2v (libguestfs forced
# to TCG, in the chroot scripts/lib/virt-v2v-root builds; about 10 minutes here) and prints
# the converted raw image. The result is cached beside the chroot, keyed by the source
# image's name (which holds its recipe hash), so regenerating the facts re-runs nothing.
# Needs root. Used by regenerate.sh; never a CI step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
src=$("$repo/guest-fixup/tests/support/guest-image.sh" image xen-pv)
v2v_root=$("$repo/scripts/lib/virt-v2v-root")
cache=${VIRT_V2V_CACHE:-$HOME/.cache/vmtoolkit/virt-v2v}
out=$cache/converted-$(basename "$src" .img).img
[ -s "$out" ] && { echo "$out"; exit 0; }
work=$(mktemp -d "$cache/.convert.XXXXXX")
cleanup() {
    for m in imgs dev/pts dev proc sys; do mountpoint -q "$v2v_root/$m" && umount "$v2v_root/$m"; done
    rm -rf "$work"
}
trap cleanup EXIT
cp --sparse=always "$src" "$work/guest.img"
mkdir -p "$work/out" "$v2v_root/imgs"
for m in dev proc sys dev/pts; do mount --bind "/$m" "$v2v_root/$m"; done
mount --bind "$work" "$v2v_root/imgs"
chroot "$v2v_root" env LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg LC_ALL=C.UTF-8 HOME=/root \
    virt-v2v -v -x -i disk /imgs/guest.img -o local -os /imgs/out -of raw >"$cache/convert.log" 2>&1 \
    || { tail -20 "$cache/convert.log" >&2; echo "virt-v2v failed (log: $cache/convert.log)" >&2; exit 1; }
mv "$work/out/guest-sda" "$out"
echo "$out"
