//! Typed XAPI calls, one view per class: `session.vm().get_all_records()`,
//! `session.vdi().snapshot(&vdi, &StringMap::new())`, `session.task().get_record(&task)`.
//!
//! Views borrow the [`Session`]; every call prepends the session ref, converts the answer
//! into its Rust type, and shares the session's re-login on `SESSION_INVALID`. Calls named
//! `*_async` are XAPI's `Async.*` variants: they return a task ref for
//! [`Session::wait_task`].

mod network;
mod pool;
mod storage;
mod task;
mod vm;

pub use task::TaskOutcome;

use crate::session::Session;

macro_rules! view {
    ($(#[$doc:meta])* $name:ident, $accessor:ident, $class:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'s> {
            session: &'s Session,
        }

        impl Session {
            #[doc = concat!("The `", $class, ".*` calls.")]
            pub fn $accessor(&self) -> $name<'_> {
                $name { session: self }
            }
        }
    };
}

view!(
    /// `VM.*`: VMs, templates and snapshots.
    VmApi, vm, "VM"
);
view!(
    /// `VBD.*`: the attachments of disks to VMs.
    VbdApi, vbd, "VBD"
);
view!(
    /// `VDI.*`: virtual disks, their snapshots, and changed block tracking.
    VdiApi, vdi, "VDI"
);
view!(
    /// `SR.*`: storage repositories.
    SrApi, sr, "SR"
);
view!(
    /// `VIF.*`: virtual network interfaces.
    VifApi, vif, "VIF"
);
view!(
    /// `network.*`: virtual networks.
    NetworkApi, network, "network"
);
view!(
    /// `host.*`: the pool's hosts.
    HostApi, host, "host"
);
view!(
    /// `pool.*`: the pool itself.
    PoolApi, pool, "pool"
);
view!(
    /// `task.*`: the progress and outcome of asynchronous calls and transfers.
    TaskApi, task, "task"
);
