//! Guards for what a tool does to a pool's VMs on its way (feature `client`): a VM snapshot
//! destroyed with its disks on every path ([`VmSnapshot`]), and a clean shutdown with a
//! deadline whose guard starts the VM again unless told the work completed ([`ShutDown`]).
//!
//! Both are what vmbackup and xen2ovirt share: one definition of "a snapshot of ours" and
//! of "the only change we make to a source VM".

mod shutdown;
mod snapshot;

pub use shutdown::{ShutDown, shut_down};
pub use snapshot::{VmSnapshot, destroy_vm_and_disks};
