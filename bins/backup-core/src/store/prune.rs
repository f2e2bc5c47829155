//! Retention on one VM's directory: scan, plan with the policy ([`retention::plan`]), let
//! the platform settle what only it can remove ([`PruneHook`]), then apply crash-safely
//! ([`apply`](super::apply)), or only show on a dry run.
//!
//! The caller holds the backup directory's [`StoreLock`](super::StoreLock): a prune must
//! not remove what a run is writing next to.

use std::path::Path;

use jiff::Timestamp;
use retention::{Plan, Policy, plan};

use super::apply::{ApplyReport, apply};
use super::error::Result;
use super::layout::Layout;
use super::scan::{ScannedDir, scan_vm_dir};

/// What a platform does to a plan before it is applied. A backup may hold data outside
/// the store (vmbackup's backup-SR variant keeps disks on the pool's storage): the hook
/// removes that first, and keeps the backup (`keep = true`, with a reason) when it cannot,
/// so that no directory goes while its data outside remains.
pub trait PruneHook {
    /// Settles `plan` (made over `scan`) before it is applied; on a `dry_run`, changes
    /// nothing outside the plan.
    fn settle(&self, scan: &ScannedDir, plan: &mut Plan, dry_run: bool);
}

/// The hook of a platform whose backups hold nothing outside the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl PruneHook for NoHook {
    fn settle(&self, _: &ScannedDir, _: &mut Plan, _: bool) {}
}

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

/// Plans `policy` over the backups in `vm_dir` (in `layout`) at `now`, lets `hook` settle
/// the plan, and applies it (not on a `dry_run`). The newest complete backup is never
/// removed, whatever the policy; damaged backups and entries that are not backups are
/// never touched.
pub fn prune_vm_dir(
    vm_dir: &Path,
    layout: &Layout,
    policy: &Policy,
    now: Timestamp,
    dry_run: bool,
    hook: &dyn PruneHook,
) -> Result<Pruned> {
    let _span = tracing::info_span!("prune", dir = %vm_dir.display()).entered();
    let scan = scan_vm_dir(vm_dir, layout)?;
    let mut plan = plan(&scan.backups, policy, now);
    hook.settle(&scan, &mut plan, dry_run);
    let applied = apply(&scan, &plan, dry_run)?;
    Ok(Pruned {
        scan,
        plan,
        applied,
    })
}
