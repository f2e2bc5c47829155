//! guest-fixup's integration tests: golden plans of synthetic roots, apply and undo, real
//! loop devices and mounts, and QEMU boots of real Debian images.

mod integration {
    pub mod apply;
    pub mod boot;
    pub mod boot_entries;
    pub mod devices;
    pub mod plans;
    pub mod synthetic;
    pub mod virt_v2v_golden;
}
