//! An oVirt run: the leftovers of dead runs swept from the selected VMs (and the
//! appliance), then every VM as an [`OvirtJob`] for backup-core's runner, with the same
//! events, status log, reports and retention as XenServer's runs.

use std::path::{Path, PathBuf};

use backup_core::batch::{BoxError, Clock, SystemClock, run_batch};
use backup_core::store::{Layout, NoHook, prune_vm_dir};
use ovirt_client::snapshot_backup::appliance::Appliance;
use ovirt_client::{Connection, Owner, sweep_leftovers};

use super::inventory::OvirtInventory;
use super::job::{Engine, OvirtJob};
use super::layout::vm_dir;
use crate::config::{OvirtLayout, OvirtSettings, ReadMode};
use crate::error::{Result, VmBackupError};
use crate::run::{RunSettings, VmReport, local_now, render};
use crate::selection::Job;
use crate::status_log::VmEvent;

/// The tool name in snapshot descriptions' owner mark.
pub const TOOL: &str = "vmbackup";

/// The store layout of an oVirt layout (for listing and retention).
pub fn store_layout(ovirt: &OvirtSettings) -> Layout {
    match ovirt.layout {
        OvirtLayout::Own => Layout::Own,
        OvirtLayout::OvirtSimpleBackup => Layout::OvirtSimpleBackup {
            label: ovirt.label.clone(),
            time_zone: jiff::tz::TimeZone::system(),
        },
    }
}

/// The store layout of a configuration that writes oVirtSimpleBackup's layout.
pub fn seed_layout(config: &crate::Config) -> Option<Layout> {
    config
        .ovirt
        .as_ref()
        .filter(|o| o.layout == OvirtLayout::OvirtSimpleBackup)
        .map(store_layout)
}

/// The appliance of a configuration: `appliance_vm=`, else this VM's SMBIOS uuid.
pub fn appliance_of(ovirt: &OvirtSettings) -> Result<Appliance> {
    let id = match &ovirt.appliance_vm {
        Some(id) => id.clone(),
        None => Appliance::this_vm(&ovirt.product_uuid_file).map_err(|e| {
            VmBackupError::ovirt(
                "mode=appliance: finding this VM's id (set appliance_vm=)",
                e,
            )
        })?,
    };
    let mut appliance = Appliance::new(id);
    appliance.by_id_dir.clone_from(&ovirt.by_id_dir);
    appliance.appear_timeout = ovirt.device_timeout;
    appliance.interface = match ovirt.bus {
        crate::config::ApplianceBus::Virtio => ovirt_client::types::DiskInterface::Virtio,
        crate::config::ApplianceBus::VirtioScsi => ovirt_client::types::DiskInterface::VirtioScsi,
    };
    Ok(appliance)
}

/// What the sweep before the backups found: lines for the run's output, and problems.
#[derive(Debug, Default)]
pub struct Swept {
    /// What was removed.
    pub removed: Vec<String>,
    /// What could not be (the next run tries again).
    pub problems: Vec<String>,
}

/// Removes what dead runs of vmbackup left on the VMs of `jobs` and on the appliance.
pub fn sweep(
    connection: &Connection,
    ovirt: &OvirtSettings,
    jobs: &[Job],
    appliance: Option<&str>,
) -> Swept {
    let owner = Owner::this_process(TOOL);
    let vms: Vec<String> = jobs.iter().map(|job| job.uuid.clone()).collect();
    let mut swept = Swept::default();
    match sweep_leftovers(
        connection,
        &owner,
        jiff::Timestamp::now(),
        &vms,
        appliance,
        ovirt.remove_timeout,
    ) {
        Ok(report) => {
            for s in &report.snapshots {
                swept.removed.push(format!(
                    "removed the snapshot `{}` a dead run left on VM {}",
                    s.description, s.vm
                ));
            }
            for (vm, disk) in &report.attachments {
                swept
                    .removed
                    .push(format!("detached disk {disk} a dead run left on VM {vm}"));
            }
            for t in &report.transfers {
                swept
                    .removed
                    .push(format!("finalized transfer {t} a dead run left"));
            }
            for failure in &report.failures {
                swept
                    .problems
                    .push(format!("removing what a dead run left: {failure}"));
            }
        }
        Err(error) => swept
            .problems
            .push(format!("looking for what dead runs left: {error}")),
    }
    swept
}

/// Backs up every job's VM; a report per job, in the jobs' order.
pub fn run_jobs(
    connection: &Connection,
    inventory: &OvirtInventory,
    jobs: &[Job],
    settings: &RunSettings<'_>,
    appliance: std::result::Result<Appliance, String>,
) -> Vec<VmReport> {
    let config = settings.config;
    let ovirt = config.ovirt.as_ref().expect("an oVirt configuration");
    let clock = SystemClock;
    let engine = Engine {
        connection,
        config,
        ovirt,
        appliance,
        owner: Owner::this_process(TOOL),
        host_name: settings.host_name,
    };
    let infos = inventory.vm_infos();
    let today = local_now().weekday();
    let ovirt_jobs: Vec<OvirtJob<'_>> = jobs
        .iter()
        .map(|job| OvirtJob {
            engine: &engine,
            job,
            mode: infos
                .iter()
                .find(|vm| vm.uuid == job.uuid)
                .map_or(ovirt.mode, |vm| ovirt.mode_for(vm, today)),
        })
        .collect();
    let events = |event: &VmEvent<'_>| render(event, settings);
    let layout = store_layout(ovirt);
    let retention = |job: &OvirtJob<'_>, _: &Path| -> std::result::Result<Vec<PathBuf>, BoxError> {
        let dir = vm_dir(
            ovirt.layout,
            &config.backup_dir,
            &job.job.name,
            &job.job.uuid,
        );
        let policy = config.policy_for(job.job.keep);
        let pruned = prune_vm_dir(&dir, &layout, &policy, clock.now(), false, &NoHook)?;
        Ok(pruned.applied.removed)
    };
    let reports = run_batch(
        &ovirt_jobs,
        &backup_core::batch::Batch {
            concurrency: config.concurrency,
            cancel: settings.cancel,
            clock: &clock,
            progress: &|job: &OvirtJob<'_>| (settings.progress_for)(&job.job.name),
            events: &events,
            retention: Some(&retention),
        },
    );
    jobs.iter()
        .zip(&reports)
        .map(|(job, report)| VmReport::of(job, report))
        .collect()
}

/// Whether any selected VM is read through the appliance.
pub fn needs_appliance(ovirt: &OvirtSettings, inventory: &OvirtInventory, jobs: &[Job]) -> bool {
    let today = local_now().weekday();
    let infos = inventory.vm_infos();
    jobs.iter().any(|job| {
        infos
            .iter()
            .find(|vm| vm.uuid == job.uuid)
            .map_or(ovirt.mode, |vm| ovirt.mode_for(vm, today))
            == ReadMode::Appliance
    })
}
