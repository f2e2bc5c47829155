//! The oVirt side: what the engine offers (the plan's [`Inventory`]), the sweep of what
//! dead runs left, and the new VM as `ovirt_client::VmBuild` builds it (a guard that removes
//! the VM and its disks unless the migration completes), `--start` last.

use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use ovirt_client::imageio::TransferOptions;
use ovirt_client::restore::BuildSettings;
use ovirt_client::types::{
    BiosType, DiskInterface, NicInterface, StorageDomainType, VmStatus, VmType,
};
use ovirt_client::{
    Connection, NewDisk, NewNic, NewVm, Owner, TargetDomain, VmBuild, sweep_unfinished_disks,
    sweep_unfinished_vms,
};

use crate::plan::{DiskBus, Domain, Inventory, PlannedDisk, Profile, TargetVm};
use crate::source::Firmware;

/// The tool name in owner marks.
pub const TOOL: &str = "xen2ovirt";
/// The label of the owner mark a VM carries while it is built.
const BUILDING: &str = "xen2ovirt-building";

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

/// Removes what dead runs of xen2ovirt (interrupted hard, their guards never ran) left on
/// the engine, found by the owner mark (see `ovirt_client::owner`): the VMs they were
/// building, with their disks (a failure stops the run: such a VM may hold the name), then
/// the disks they had uploaded but not attached yet, detached first from `appliance` (the
/// `--fixup appliance` VM) where they were being fixed up (a failure is a warning). A
/// migrated VM and its disks have their final descriptions and are never touched.
pub fn sweep(engine: &Connection, appliance: Option<&str>) -> Result<()> {
    let here = Owner::this_process(TOOL);
    let (removed, failures) = sweep_unfinished_vms(engine, &here, Timestamp::now())?;
    for vm in removed {
        tracing::warn!(%vm, "removed the half-made VM of an interrupted xen2ovirt run");
    }
    if let Some(failure) = failures.into_iter().next() {
        return Err(anyhow::Error::new(failure)
            .context("removing the half-made VM of an interrupted xen2ovirt run"));
    }
    let (removed, failures) = sweep_unfinished_disks(engine, &here, Timestamp::now(), appliance)?;
    for disk in removed {
        tracing::warn!(%disk, "removed a disk an interrupted xen2ovirt run had uploaded");
    }
    for error in failures {
        tracing::warn!(
            error = %format!("{:#}", anyhow::Error::new(error)),
            "could not remove a disk an interrupted xen2ovirt run left (one on an appliance goes with a run using --fixup appliance there)"
        );
    }
    Ok(())
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

/// The target VM being built, with what its disks need.
pub struct Target<'c> {
    /// The build: removed with its disks when dropped before [`Target::keep`] (`None`
    /// only while dropping).
    build: Option<VmBuild<'c>>,
    /// Where the disks go.
    pub domain: TargetDomain,
    /// `--keep-failed`: a failed migration leaves the VM as it got.
    keep_failed: bool,
}

/// Creates the VM (its description the owner mark while it is built) and its NICs; its
/// disks are made through [`Target::build`] from [`new_disk`]s.
pub fn create<'c>(
    engine: &'c Connection,
    target: &TargetVm,
    keep_failed: bool,
    connections: u16,
) -> Result<Target<'c>> {
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
    let nics: Vec<NewNic> = target
        .nics
        .iter()
        .map(|nic| NewNic {
            name: nic.name.clone(),
            interface: NicInterface::Virtio,
            vnic_profile: nic.profile.id.clone(),
            mac: nic.mac.clone(),
        })
        .collect();
    let settings = BuildSettings {
        options: TransferOptions {
            connections: usize::from(connections),
            ..TransferOptions::default()
        },
        ..BuildSettings::default()
    };
    let build = VmBuild::create(engine, &new, &nics, &settings)
        .with_context(|| format!("creating VM `{}`", target.name))?;
    tracing::info!(vm = %build.vm(), name = %target.name, "target VM created");
    let domain = &target.storage_domain;
    Ok(Target {
        build: Some(build),
        domain: TargetDomain {
            id: domain.id.clone(),
            name: domain.name.clone(),
            block: domain.block,
        },
        keep_failed,
    })
}

/// The disk of the build for a planned disk.
pub fn new_disk(target: &TargetVm, disk: &PlannedDisk) -> NewDisk {
    NewDisk {
        name: disk.name.clone(),
        size: disk.size,
        interface: interface(target.bus),
        bootable: disk.bootable,
        source: Some(disk.source_uuid.clone()),
    }
}

impl<'c> Target<'c> {
    /// The build.
    pub fn build(&mut self) -> &mut VmBuild<'c> {
        self.build
            .as_mut()
            .expect("the build lives until the target is dropped")
    }

    /// The migration completed: the VM gets its final `description` (replacing the owner
    /// mark, so that no sweep ever takes it) and stays; returns its id.
    pub fn keep(mut self, description: &str) -> Result<String> {
        let build = self.build.take().expect("the build lives until kept");
        let id = build.vm().to_owned();
        build
            .commit(description)
            .with_context(|| format!("setting the description of VM {id}"))
    }
}

impl Drop for Target<'_> {
    fn drop(&mut self) {
        // Otherwise the build's own drop removes the VM and its disks.
        if self.keep_failed
            && let Some(build) = self.build.take()
        {
            let vm = build.abandon();
            tracing::warn!(%vm, "the migration failed: the new VM and its disks are kept, as asked");
        }
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
