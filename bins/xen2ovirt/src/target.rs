//! The oVirt side: what the engine offers (the plan's [`Inventory`]), and the new VM with
//! its NICs and disks, held by a guard that removes it (disks included) unless the
//! migration completes.

use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use ovirt_client::types::{
    BiosType, Disk, DiskFormat, DiskInterface, NicInterface, StorageDomain, StorageDomainType,
    VmStatus, VmType,
};
use ovirt_client::{Connection, NewVm, Owner, sweep_unfinished_vms};

use crate::plan::{DiskBus, Domain, Inventory, PlannedDisk, Profile, TargetVm};
use crate::source::Firmware;

/// How long a new disk may stay `locked`.
const DISK_READY: Duration = Duration::from_secs(600);

/// Reads what the plan needs from the engine; `name` is the target VM's name.
pub fn inventory(engine: &Connection, name: &str) -> Result<Inventory> {
    let clusters = engine
        .clusters()?
        .into_iter()
        .filter_map(|c| c.name)
        .collect();
    let domains = engine
        .storage_domains()?
        .into_iter()
        .filter(|d| d.domain_type == Some(StorageDomainType::Data))
        .filter_map(|d| {
            Some(Domain {
                id: d.id?,
                name: d.name?,
                block: d
                    .storage
                    .and_then(|s| s.storage_type)
                    .is_some_and(ovirt_client::types::StorageType::is_block),
                available: d.available,
            })
        })
        .collect();
    let mut profiles = Vec::new();
    for network in engine.networks()? {
        let (Some(id), Some(network_name)) = (network.id, network.name) else {
            continue;
        };
        for profile in engine.vnic_profiles(&id)? {
            if let (Some(id), Some(name)) = (profile.id, profile.name) {
                profiles.push(Profile {
                    id,
                    name,
                    network: network_name.clone(),
                });
            }
        }
    }
    let name_taken = engine.find_vm(name, false)?.is_some();
    Ok(Inventory {
        clusters,
        domains,
        profiles,
        name_taken,
    })
}

fn bios(firmware: Firmware) -> BiosType {
    match firmware {
        Firmware::Bios => BiosType::Q35SeaBios,
        Firmware::Uefi => BiosType::Q35Ovmf,
        Firmware::UefiSecureBoot => BiosType::Q35SecureBoot,
    }
}

/// The engine's bus for the plan's.
pub fn interface(bus: DiskBus) -> DiskInterface {
    match bus {
        DiskBus::Virtio => DiskInterface::Virtio,
        DiskBus::VirtioScsi => DiskInterface::VirtioScsi,
    }
}

/// The tool name in owner marks.
pub const TOOL: &str = "xen2ovirt";
/// The label of the owner mark a VM carries while it is built.
const BUILDING: &str = "xen2ovirt-building";

/// Removes the VMs that dead runs of xen2ovirt were building (interrupted hard, their guards
/// never ran): their description is still the owner mark (see `ovirt_client::owner`). A
/// migrated VM has its final description and is never touched.
pub fn sweep(engine: &Connection) -> Result<()> {
    let here = Owner::this_process(TOOL);
    let (removed, failures) = sweep_unfinished_vms(engine, &here, Timestamp::now())?;
    for vm in removed {
        tracing::warn!(%vm, "removed the half-made VM of an interrupted xen2ovirt run");
    }
    if let Some(failure) = failures.into_iter().next() {
        return Err(anyhow::Error::new(failure)
            .context("removing the half-made VM of an interrupted xen2ovirt run"));
    }
    Ok(())
}

/// The new VM: removed with its disks when dropped, unless [`CreatedVm::keep`] was called.
pub struct CreatedVm<'c> {
    engine: &'c Connection,
    /// Its id.
    pub id: String,
    /// Its disks' ids, in the plan's order (as far as they were made).
    pub disks: Vec<String>,
    kept: bool,
    /// Keep it even when the migration fails (`--keep-failed`).
    keep_failed: bool,
}

impl CreatedVm<'_> {
    /// The migration completed: the VM gets its final `description` (replacing the owner
    /// mark, so that no sweep ever takes it) and stays.
    pub fn keep(mut self, description: &str) -> Result<()> {
        self.engine
            .set_vm_description(&self.id, description)
            .with_context(|| format!("setting the description of VM {}", self.id))?;
        self.kept = true;
        Ok(())
    }
}

/// `--start`: starts the migrated VM and waits until it is up.
pub fn start(engine: &Connection, vm: &str, name: &str, timeout: Duration) -> Result<()> {
    engine
        .start_vm(vm)
        .and_then(|()| engine.wait_vm_status(vm, VmStatus::Up, timeout))
        .map(drop)
        .with_context(|| format!("VM `{name}` was migrated but did not start"))
}

impl Drop for CreatedVm<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if self.keep_failed {
            tracing::warn!(vm = %self.id, "the migration failed: the new VM and its disks are kept, as asked");
            return;
        }
        tracing::warn!(vm = %self.id, "the migration failed: removing the new VM and its disks");
        if let Err(error) = self.engine.remove_vm(&self.id, false) {
            tracing::error!(vm = %self.id, error = %format!("{error:#}"), "could not remove the new VM: remove it by hand");
        }
    }
}

/// Creates the VM, its NICs and its (empty) disks, and waits until the disks are `ok`.
/// `marker` is the disks' description, which says where they come from and who made them.
/// With `keep_failed`, a failed migration leaves the VM as it got.
pub fn create<'c>(
    engine: &'c Connection,
    target: &TargetVm,
    marker: &str,
    keep_failed: bool,
) -> Result<CreatedVm<'c>> {
    let new = NewVm {
        name: target.name.clone(),
        cluster: target.cluster.clone(),
        description: Some(Owner::this_process(TOOL).describe(BUILDING, Timestamp::now())),
        memory: target.memory,
        guaranteed_memory: None,
        max_memory: None,
        sockets: target.sockets,
        cores: target.cores,
        threads: 1,
        os_type: target.os_type.clone(),
        vm_type: VmType::Server,
        bios: Some(bios(target.firmware)),
        boot_devices: vec!["hd".to_owned()],
    };
    let vm = engine
        .create_vm(&new)
        .with_context(|| format!("creating VM `{}`", target.name))?;
    let id = vm
        .id
        .with_context(|| format!("the engine created VM `{}` without an id", target.name))?;
    tracing::info!(vm = %id, name = %target.name, "target VM created");
    let mut created = CreatedVm {
        engine,
        id,
        disks: Vec::new(),
        kept: false,
        keep_failed,
    };
    for nic in &target.nics {
        engine
            .add_nic(
                &created.id,
                &nic.name,
                NicInterface::Virtio,
                &nic.profile.id,
                nic.mac.as_deref(),
            )
            .with_context(|| format!("adding {} to VM `{}`", nic.name, target.name))?;
    }
    for disk in &target.disks {
        let id = add_disk(engine, &created.id, target, disk, marker)?;
        created.disks.push(id);
    }
    for disk in &created.disks {
        engine.wait_disk_ok(disk, DISK_READY)?;
    }
    Ok(created)
}

fn add_disk(
    engine: &Connection,
    vm: &str,
    target: &TargetVm,
    disk: &PlannedDisk,
    marker: &str,
) -> Result<String> {
    let body = Disk {
        name: Some(disk.name.clone()),
        description: Some(format!("{marker}, source disk {}", disk.source_uuid)),
        format: Some(DiskFormat::Raw),
        sparse: Some(disk.sparse),
        provisioned_size: Some(disk.size),
        storage_domains: Some(vec![StorageDomain::with_id(&target.storage_domain.id)].into()),
        ..Disk::default()
    };
    let attachment = engine
        .attach_new_disk(vm, &body, interface(target.bus), disk.bootable)
        .with_context(|| format!("creating disk `{}`", disk.name))?;
    attachment
        .disk
        .and_then(|d| d.id)
        .or(attachment.id)
        .with_context(|| format!("the engine created disk `{}` without an id", disk.name))
}
