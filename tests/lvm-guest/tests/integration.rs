//! Real LVM: boots the QEMU guest once per scenario group with the static
//! `lvm-snap-scenarios` binary and asserts on what it reports.

mod integration {
    mod lvm_snap_guest;
}
