//! A run with `--fixup local`: the disks staged (see [`crate::fixup::Stage`]), the guest
//! inspected and fixed there (its OS type taken from the inspection unless `--os-type` was
//! given), then the target VM made and the fixed disks uploaded from their data ranges.
//! The target VM is created only after the fix-up succeeded, so a failed fix-up leaves
//! nothing on the engine; the stage goes on every path.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use cli_common::Stdout;
use disk_image::Piece;
use guest_fixup::FixReport;
use ovirt_client::Connection;

use crate::cli::Cli;
use crate::engine;
use crate::fixup::{self, Stage, staged_pieces};
use crate::migrate::{DataOptions, DiskReport, copy_disk};
use crate::os_type::os_type;
use crate::plan::{Plan, PlannedDisk};

/// A stage for the plan's disks under `--work-dir`, its free space checked against the
/// source disks' allocated bytes.
pub fn new_stage(cli: &Cli, plan: &Plan) -> Result<Stage> {
    let needed = plan.source.disks.iter().map(|d| d.allocated).sum();
    Stage::create(
        &cli.work_dir,
        &plan.source.uuid,
        plan.target.disks.len(),
        needed,
    )
}

/// Stages disk `index` of the plan from what `produce` hands over, stopping at a signal.
pub fn stage_disk(
    stage: &Stage,
    index: usize,
    planned: &PlannedDisk,
    stop: &Arc<AtomicBool>,
    produce: impl FnOnce(&mut dyn FnMut(Piece) -> Result<()>) -> Result<u64>,
) -> Result<u64> {
    let span = tracing::info_span!("stage", disk = %planned.name, source = %planned.source_uuid);
    let _entered = span.enter();
    let read = stage.write(index, planned.size, |push| {
        produce(&mut |piece| {
            if stop.load(Ordering::SeqCst) {
                bail!("interrupted by a signal: removing what was made");
            }
            push(piece)
        })
    })?;
    tracing::info!(bytes = read, "disk staged");
    Ok(read)
}

/// Inspects, plans and (unless `dry_run`) applies the fix-up on the staged disks; the
/// plan gets the fix-up's details and (unless chosen) the inspected OS type, and the text
/// output shows them.
pub fn fix(cli: &Cli, plan: &mut Plan, stage: &Stage, dry_run: bool) -> Result<()> {
    let direction = fixup::direction(plan.source.virtualisation);
    let span = tracing::info_span!("fixup", direction = fixup::direction_name(&direction));
    let _entered = span.enter();
    let report = fixup::fix(stage.disks(), &direction, &cli.fixup_root, dry_run)?;
    record(cli, plan, &report, !dry_run)
}

/// The fix-up's details in the plan (and, unless chosen, the inspected OS type), shown in
/// the text output.
pub fn record(cli: &Cli, plan: &mut Plan, report: &FixReport, applied: bool) -> Result<()> {
    let inspected = os_type(&report.inspection);
    if let Some(planned) = plan.fixup.as_mut() {
        planned.guest = Some(report.inspection.os.name.clone());
        planned.diff = Some(report.plan.diff());
        if planned.os_type_inspected {
            plan.target.os_type.clone_from(&inspected);
        }
        if !cli.json {
            writeln!(
                Stdout::lock(),
                "{planned}target OS type: {}",
                plan.target.os_type
            )?;
        }
    }
    tracing::info!(os = %report.inspection.os.name, os_type = %inspected, applied, "guest fixed up");
    Ok(())
}

/// Creates the target VM and uploads the staged (fixed) disks into it; returns the VM's id
/// and the disks' reports.
pub fn upload(
    cli: &Cli,
    engine: &Connection,
    plan: &Plan,
    stage: &Stage,
    marker: &str,
    options: &DataOptions,
) -> Result<(String, Vec<DiskReport>)> {
    let mut target = engine::create(engine, &plan.target, cli.keep_failed, cli.connections)?;
    let progress = cli_common::ProgressSet::new(cli.quiet || cli.json);
    let mut disks = Vec::new();
    for (planned, path) in plan.target.disks.iter().zip(stage.disks()) {
        let span = tracing::info_span!("disk", name = %planned.name, source = %planned.source_uuid);
        let _entered = span.enter();
        let report = copy_disk(
            engine,
            &mut target,
            &plan.target,
            planned,
            marker,
            options,
            progress.item().as_ref(),
            |push| staged_pieces(path, push),
        )?;
        disks.push(report);
    }
    let vm_id = target.keep(marker)?;
    Ok((vm_id, disks))
}
