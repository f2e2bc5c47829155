//! Carrying out a plan on a scanned directory, crash-safely.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use retention::Plan;

use super::durable::sync_dir;
use super::error::{Result, StoreError};
use super::layout::DELETING_PREFIX;
use super::scan::ScannedDir;

/// What [`apply`] did, or would do in a dry run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyReport {
    /// `.deleting-*` leftovers of an interrupted apply, removed first.
    pub leftovers_removed: Vec<PathBuf>,
    /// The backup directories removed (their original paths), oldest first.
    pub removed: Vec<PathBuf>,
}

/// Removes the backups `plan` removes from the directory `scan` describes, and finishes
/// the removals an earlier, interrupted apply left behind (`scan.leftovers`). With
/// `dry_run`, changes nothing and reports what it would do.
///
/// Every backup to remove must be one the scan found; otherwise nothing is done. A plan
/// that would leave no complete backup where the scan found some is refused too (plans
/// made by [`retention::plan`] never do that).
///
/// Order, so that a crash at any point leaves only complete backups, removed backups, and
/// `.deleting-*` leftovers that the next apply finishes: first the leftovers; then, oldest
/// first, each backup is renamed to `.deleting-<name>` in the same directory (atomic), the
/// rename is flushed to disk, and the renamed directory is deleted. Stops at the first
/// failure; running apply again on a fresh scan resumes.
pub fn apply(scan: &ScannedDir, plan: &Plan, dry_run: bool) -> Result<ApplyReport> {
    let mismatch = |problem: String| StoreError::PlanMismatch {
        dir: scan.dir.clone(),
        problem,
    };
    let found: HashSet<&str> = scan.backups.iter().map(|b| b.id.as_str()).collect();
    let mut removed = Vec::new();
    let mut removed_ids = HashSet::new();
    for decision in plan.decisions.iter().rev().filter(|d| !d.keep) {
        if !found.contains(decision.id.as_str()) {
            let problem = format!(
                "backup `{}` to remove was not found by the scan",
                decision.id
            );
            return Err(mismatch(problem));
        }
        removed_ids.insert(decision.id.as_str());
        removed.push(scan.dir.join(&decision.id));
    }
    let mut complete = scan
        .backups
        .iter()
        .filter(|b| b.state.is_complete())
        .peekable();
    if complete.peek().is_some() && complete.all(|b| removed_ids.contains(b.id.as_str())) {
        return Err(mismatch("the plan removes every complete backup".into()));
    }

    let report = ApplyReport {
        leftovers_removed: scan.leftovers.clone(),
        removed,
    };
    if dry_run {
        return Ok(report);
    }
    for leftover in &report.leftovers_removed {
        tracing::info!(path = %leftover.display(), "finishing an interrupted removal");
        remove_tree(leftover)?;
    }
    for path in &report.removed {
        let name = path
            .file_name()
            .expect("a backup path ends in its id")
            .to_string_lossy();
        let parked = scan.dir.join(format!("{DELETING_PREFIX}{name}"));
        tracing::info!(path = %path.display(), "removing backup");
        fs::rename(path, &parked)
            .map_err(|e| StoreError::io(format!("renaming to `{}`", parked.display()), path, e))?;
        sync_dir(&scan.dir)?;
        remove_tree(&parked)?;
    }
    Ok(report)
}

/// Deletes a directory tree; one that is already gone is fine.
fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io("deleting", path, e)),
        _ => Ok(()),
    }
}
