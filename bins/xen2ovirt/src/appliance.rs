//! `--fixup appliance` (the seed's way): the disks are uploaded first (as they stream, not
//! attached to the new VM yet), then attached to the oVirt VM xen2ovirt runs on (its id from
//! `--appliance-vm`, else its SMBIOS uuid), found by serial under the by-id directory, fixed
//! by guest-fixup through those devices (the guest's root mounted at `--fixup-root`), and
//! detached again — only what this run attached, and on every path (the guards of
//! `ovirt_client::snapshot_backup::appliance`). Then they are attached to the new VM.
//!
//! The new VM exists before its disks are inspected here: it is made with `--os-type` or
//! `other_linux`, and without `--os-type` it gets the inspected OS type once the fix-up
//! is done.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use guest_fixup::{Direction, FixReport};
use ovirt_client::Connection;
use ovirt_client::snapshot_backup::appliance::{Appliance, PRODUCT_UUID};

use crate::cli::Cli;
use crate::engine::{Target, new_disk};
use crate::fixup;
use crate::migrate::DiskReport;
use crate::plan::Plan;
use crate::staged;

/// The appliance of the run: `--appliance-vm`, else this machine's SMBIOS uuid.
pub fn appliance(cli: &Cli) -> Result<Appliance> {
    let vm = match &cli.appliance_vm {
        Some(vm) => vm.clone(),
        None => Appliance::this_vm(Path::new(PRODUCT_UUID))
            .context("--fixup appliance runs on an oVirt VM (or give --appliance-vm)")?,
    };
    let mut appliance = Appliance::new(vm);
    appliance.by_id_dir.clone_from(&cli.by_id_dir);
    Ok(appliance)
}

/// Attaches the uploaded `disks` (ids, in the guest's order) to `appliance`, fixes the
/// guest through their devices, and detaches them again (also when the fix-up fails).
pub fn fix(
    engine: &Connection,
    appliance: &Appliance,
    disks: &[String],
    direction: &Direction,
    root: &Path,
) -> Result<FixReport> {
    let span = tracing::info_span!("appliance", vm = %appliance.vm);
    let _entered = span.enter();
    let mut attached = Vec::with_capacity(disks.len());
    for disk in disks {
        attached.push(
            appliance
                .attach_disk(engine, disk, None)
                .with_context(|| format!("attaching disk {disk} to the appliance"))?,
        );
    }
    let devices = attached
        .iter()
        .map(|a| {
            std::fs::canonicalize(a.device())
                .with_context(|| format!("the device {}", a.device().display()))
        })
        .collect::<Result<Vec<PathBuf>>>()?;
    let fixed = fixup::fix(&devices, direction, root, false);
    let mut detached = Ok(());
    for disk in attached {
        if let Err(error) = disk.detach() {
            detached =
                Err(anyhow::Error::new(error).context("detaching a disk from the appliance"));
        }
    }
    let report = fixed?;
    detached?;
    Ok(report)
}

/// After the upload: the new disks fixed on `appliance`, the fix-up recorded in the plan,
/// then the disks attached to the new VM (boot disk first).
pub fn fix_and_attach(
    cli: &Cli,
    engine: &Connection,
    appliance: &Appliance,
    target: &mut Target<'_>,
    plan: &mut Plan,
    disks: &[DiskReport],
) -> Result<()> {
    let ids: Vec<String> = disks.iter().map(|d| d.id.clone()).collect();
    let direction = fixup::direction(plan.source.virtualisation);
    let report = fix(engine, appliance, &ids, &direction, &cli.fixup_root)?;
    staged::record(cli, plan, &report, true)?;
    if plan.fixup.as_ref().is_some_and(|f| f.os_type_inspected) {
        // The VM was made before the inspection: its OS type follows now.
        engine
            .set_vm_os_type(target.build().vm(), &plan.target.os_type)
            .context("setting the new VM's OS type from the inspection")?;
    }
    for (planned, id) in plan.target.disks.iter().zip(&ids) {
        target
            .build()
            .attach(id, &new_disk(&plan.target, planned))
            .with_context(|| format!("attaching disk {id} to the new VM"))?;
    }
    Ok(())
}
