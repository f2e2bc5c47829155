//! The whole job for callers that just want a guest fixed (xva-build, xen2ovirt, the example):
//! open the disks, inspect, plan, apply unless it is a dry run, close; every loop device and
//! mount is released on every path.

use std::path::PathBuf;

use serde::Serialize;

use crate::apply::{Applied, apply};
use crate::direction::Direction;
use crate::disk::{DEFAULT_ROOT, Guest, OpenOptions};
use crate::error::Result;
use crate::inspect::{Inspection, inspect};
use crate::plan::{Plan, PlanOptions, plan};
use crate::runner::HostRunner;

/// How to fix a guest.
#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Plan choices.
    pub plan: PlanOptions,
    /// Only inspect and plan (the disks are opened read-only).
    pub dry_run: bool,
    /// Where to mount the guest's root.
    pub root: PathBuf,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            plan: PlanOptions::default(),
            dry_run: false,
            root: PathBuf::from(DEFAULT_ROOT),
        }
    }
}

/// What was found, planned and done.
#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    /// The inspection.
    pub inspection: Inspection,
    /// The plan.
    pub plan: Plan,
    /// The journal of the apply (`None` on a dry run).
    pub applied: Option<Applied>,
}

/// Fixes the guest on `disks` (image files or block devices, in the guest's order).
pub fn fix(disks: &[PathBuf], direction: &Direction, options: &FixOptions) -> Result<FixReport> {
    let guest = Guest::open(
        disks,
        &OpenOptions {
            read_only: options.dry_run,
            root: options.root.clone(),
        },
    )?;
    let result = fix_open(&guest, direction, options);
    let closed = guest.close();
    let report = result?;
    closed?;
    Ok(report)
}

fn fix_open(guest: &Guest, direction: &Direction, options: &FixOptions) -> Result<FixReport> {
    let fs = guest.fs();
    let inspection = inspect(&fs)?;
    let plan = plan(&fs, &inspection, guest.facts(), direction, &options.plan)?;
    let applied = if options.dry_run {
        None
    } else {
        let chroot = guest.chroot();
        let cx = guest.apply_context(&chroot, &HostRunner, direction.target());
        Some(apply(&fs, &plan, &cx)?)
    };
    Ok(FixReport {
        inspection,
        plan,
        applied,
    })
}
