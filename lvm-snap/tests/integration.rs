//! lvm-snap's decisions, driven by the recording runner with lvm2's real output (captured in
//! the QEMU guest by `tests/lvm-guest`, lvm2 2.03.16), in one test binary:
//! - `reports`: real `lvs` / `vgs` JSON decoded, failing commands, fill levels;
//! - `recorded`: snapshot lifecycles, the exact commands run, stale and foreign volumes.
//!
//! The same code on real LVM is tested in `tests/lvm-guest`.

mod integration {
    mod fixtures;
    mod recorded;
    mod reports;
}
