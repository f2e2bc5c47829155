//! Real LVM: boots the QEMU guest once per scenario group with a scenario binary
//! (`lvm-snap-scenarios`, or `lvmbackup-scenarios` with the workspace's `lvmbackup`) and asserts
//! on what it reports.

mod integration {
    mod guest_fixup_guest;
    mod lvm_snap_guest;
    mod lvmbackup_guest;
}
