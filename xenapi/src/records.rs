//! Typed records of the XAPI classes the toolkit works with.
//!
//! Each record is what `<Class>.get_record` returns and what an XVA's `ova.xml` carries as an
//! object's `snapshot`. Field names are XAPI's (`VCPUs_max`, `PV_kernel`, …). Reading
//! ignores members a newer host adds and fills members an older host lacks with XAPI's
//! defaults; writing emits every field, so every field XAPI's importer requires is present.

mod host;
mod network;
mod storage;
mod task;
mod vm;

use std::collections::BTreeMap;

pub use host::{HostRecord, PoolRecord};
pub use network::{NetworkRecord, VifRecord};
pub use storage::{SrRecord, VbdMode, VbdRecord, VbdType, VdiRecord};
pub use task::{TaskRecord, TaskStatus};
pub use vm::{PowerState, VmRecord};

/// XAPI's `(string -> string) map`, as in `other_config` or `platform`.
pub type StringMap = BTreeMap<String, String>;
