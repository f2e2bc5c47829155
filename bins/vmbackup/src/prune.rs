//! Retention on one VM's directory: plan with the policy, then apply (or only show).

use std::path::Path;

use jiff::Timestamp;
use retention::{ApplyReport, Layout, Plan, Policy, ScannedDir, apply, plan, scan_vm_dir};

use crate::error::{Result, VmBackupError};

/// A plan and what applying it did.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The directory scanned.
    pub scan: ScannedDir,
    /// Keep or remove, with reasons, for every backup.
    pub plan: Plan,
    /// What was removed (or would be, on a dry run).
    pub applied: ApplyReport,
}

/// Plans `policy` over the backups in `vm_dir` and applies it (not on a `dry_run`). The
/// newest complete backup is never removed, whatever the policy.
pub fn prune_vm_dir(
    vm_dir: &Path,
    layout: &Layout,
    policy: &Policy,
    now: Timestamp,
    dry_run: bool,
) -> Result<Pruned> {
    let failed = |action: &str, source| {
        VmBackupError::retention(format!("{action} `{}`", vm_dir.display()), source)
    };
    let scan = scan_vm_dir(vm_dir, layout).map_err(|e| failed("scanning", e))?;
    let plan = plan(&scan.backups, policy, now);
    let applied = apply(&scan, &plan, dry_run).map_err(|e| failed("pruning", e))?;
    Ok(Pruned {
        scan,
        plan,
        applied,
    })
}
