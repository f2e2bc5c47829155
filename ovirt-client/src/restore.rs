//! Making a new VM with given settings and disks, then uploading the disks: a restore
//! from a backup, or a migration whose settings come from another platform.
//!
//! - [`VmBuild::create`] creates the VM (from [`NewVm`]: memory, CPU topology, OS,
//!   firmware, boot order, a description that marks it as ours while it is built) and its
//!   NICs ([`NewNic`]: profile, model, the MAC when asked). The build is a guard: until
//!   [`VmBuild::commit`], dropping it (an error, a panic) removes the VM and every disk it
//!   made.
//! - [`VmBuild::add_disk`] creates a disk on the target domain ([`TargetDomain`]: `raw`
//!   and sparse on file storage, `raw` preallocated on block storage, which refuses sparse
//!   raw disks), waits until it is `ok`, uploads a [`DiskInput`] through an image
//!   transfer (data as `PUT`, zero ranges as `PATCH zero`, one flush; a failed upload is
//!   cancelled, which deletes the disk), and attaches it with its interface and boot flag.
//!   [`VmBuild::add_disk_pieces`] does the same from pieces in any order (a VHD as it
//!   streams), the disk made attached so that it goes with the VM whatever happens;
//!   [`VmBuild::upload_disk_pieces`] leaves it floating, to be fixed up elsewhere first.
//! - [`RestorePlan::from_records`] turns a backup's [`VmRecords`] into the settings: the
//!   source's memory, CPU topology, OS type, firmware and boot order, its NICs (their MACs
//!   with `keep_macs`, else the engine chooses), its disks' sizes, interfaces and boot flags.
//! - [`RestorePlan::from_ovf`] does the same from an OVF ([`OvfVm`]: a backup without
//!   records, such as oVirtSimpleBackup's `data.xml`); the OVF knows networks by name only,
//!   so its NICs go on the profile the caller chooses.
//!
//! xen2ovirt builds its own plan from XenServer's records and runs the same steps from
//! pieces.

use std::time::Duration;

use disk_image::{DiskInput, Progress};

use crate::connection::Connection;
use crate::error::{OvirtError, Result};
use crate::imageio::{PushPiece, TransferOptions, UploadSummary};
use crate::ovf::{OvfDisk, OvfVm};
use crate::records::VmRecords;
use crate::transfers::TransferSettings;
use crate::types::{
    Disk, DiskFormat, DiskInterface, NicInterface, StorageDomain, StorageDomains, StorageType,
    VmType,
};
use crate::vms::NewVm;

/// A NIC of the new VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNic {
    /// Its name (`nic1`).
    pub name: String,
    /// Device model.
    pub interface: NicInterface,
    /// The vNIC profile's id.
    pub vnic_profile: String,
    /// The MAC address to keep, or `None` for the engine's choice.
    pub mac: Option<String>,
}

/// A disk of the new VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDisk {
    /// Its name.
    pub name: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Its bus.
    pub interface: DiskInterface,
    /// Whether it is a boot disk.
    pub bootable: bool,
    /// The disk it restores (the id in the backup), if any.
    pub source: Option<String>,
}

/// Where new disks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDomain {
    /// The storage domain's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Block storage (iSCSI, FC): `raw` disks cannot be sparse there.
    pub block: bool,
}

impl TargetDomain {
    /// The storage domain named `name`.
    pub fn find(connection: &Connection, name: &str) -> Result<TargetDomain> {
        let domain = connection
            .storage_domains()?
            .into_iter()
            .find(|d| d.name.as_deref() == Some(name))
            .ok_or_else(|| OvirtError::NotFound {
                what: format!("storage domain `{name}`"),
            })?;
        Ok(TargetDomain {
            id: domain.id.ok_or_else(|| OvirtError::Failed {
                what: format!("storage domain `{name}`"),
                state: "without an id".into(),
            })?,
            name: name.to_owned(),
            block: domain
                .storage
                .and_then(|s| s.storage_type)
                .is_some_and(StorageType::is_block),
        })
    }

    /// The disk body for a new disk here: sparse where the domain allows it.
    fn disk(&self, disk: &NewDisk) -> Disk {
        Disk {
            name: Some(disk.name.clone()),
            format: Some(DiskFormat::Raw),
            sparse: Some(!self.block),
            provisioned_size: Some(disk.size),
            storage_domains: Some(StorageDomains::from(vec![StorageDomain::with_id(&self.id)])),
            ..Disk::default()
        }
    }
}

/// How a build waits and uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// How long a new disk may stay `locked`.
    pub disk_timeout: Duration,
    /// How uploads are started and finalized.
    pub transfer: TransferSettings,
    /// Connections and piece size of the data path.
    pub options: TransferOptions,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            disk_timeout: Duration::from_secs(600),
            transfer: TransferSettings::default(),
            options: TransferOptions::default(),
        }
    }
}

/// A disk a [`VmBuild`] made.
struct BuiltDisk {
    id: String,
    /// Its description once the VM is kept (`None`: the VM's).
    description: Option<String>,
    /// Attached to the VM yet.
    attached: bool,
}

/// A VM being built: removed with its disks when dropped before [`VmBuild::commit`].
///
/// While it is built, the VM and every disk it makes are described by the VM's owner mark
/// (when [`NewVm::description`] is one): a disk left floating by a killed run (one
/// uploaded to be fixed up elsewhere first) is found by it and removed by the next run's
/// [`crate::sweep_unfinished_disks`]. [`VmBuild::commit`] gives the disks their final
/// descriptions, then the VM its own.
pub struct VmBuild<'c> {
    connection: &'c Connection,
    vm: String,
    name: String,
    /// The VM's description while it is built (its owner mark), given to its disks too.
    mark: Option<String>,
    disks: Vec<BuiltDisk>,
    settings: BuildSettings,
    open: bool,
}

impl<'c> VmBuild<'c> {
    /// Creates the VM and its NICs.
    pub fn create(
        connection: &'c Connection,
        vm: &NewVm,
        nics: &[NewNic],
        settings: &BuildSettings,
    ) -> Result<VmBuild<'c>> {
        let made = connection.create_vm(vm)?;
        let id = made.id.ok_or_else(|| OvirtError::Failed {
            what: format!("creating VM `{}`", vm.name),
            state: "the engine returned a VM without an id".into(),
        })?;
        let build = VmBuild {
            connection,
            vm: id,
            name: vm.name.clone(),
            mark: vm.description.clone(),
            disks: Vec::new(),
            settings: settings.clone(),
            open: true,
        };
        tracing::info!(vm = %build.vm, name = %vm.name, "VM created");
        for nic in nics {
            connection.add_nic(
                &build.vm,
                &nic.name,
                nic.interface,
                &nic.vnic_profile,
                nic.mac.as_deref(),
            )?;
        }
        Ok(build)
    }

    /// The new VM's id.
    pub fn vm(&self) -> &str {
        &self.vm
    }

    /// Creates `disk` on `domain` already attached to the VM (its interface and boot flag;
    /// described like the VM once kept) and uploads `input` into it; returns the new
    /// disk's id (to download it again for a check) and what the upload did. A disk made
    /// attached goes with the VM on every path, even when the run is killed: the next run's
    /// [`crate::sweep_unfinished_vms`] cancels its upload and removes the VM with it.
    pub fn add_disk(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        input: DiskInput<'_>,
        progress: &dyn Progress,
    ) -> Result<(String, UploadSummary)> {
        self.put_disk(disk, domain, input, progress, true)
    }

    /// [`VmBuild::add_disk`] without the attachment: the disk created and uploaded, not
    /// yet attached (to fix it up elsewhere first, e.g. on the appliance; [`VmBuild::attach`]
    /// it afterwards); it belongs to the build and goes with it if the build fails.
    pub fn upload_disk(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        input: DiskInput<'_>,
        progress: &dyn Progress,
    ) -> Result<(String, UploadSummary)> {
        self.put_disk(disk, domain, input, progress, false)
    }

    fn put_disk(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        input: DiskInput<'_>,
        progress: &dyn Progress,
        attached: bool,
    ) -> Result<(String, UploadSummary)> {
        let span = tracing::info_span!("disk", name = %disk.name);
        let _entered = span.enter();
        if input.size() > disk.size {
            return Err(OvirtError::Failed {
                what: format!("restoring disk `{}` of VM `{}`", disk.name, self.name),
                state: format!(
                    "the source has {} bytes, the disk {}",
                    input.size(),
                    disk.size
                ),
            });
        }
        let id = self.new_disk(disk, domain, None, attached)?;
        let summary = self.connection.upload_disk(
            &id,
            input,
            &self.settings.options,
            &self.settings.transfer,
            progress,
        )?;
        self.connection
            .wait_disk_ok(&id, self.settings.disk_timeout)?;
        tracing::info!(disk = %id, data = summary.data_bytes, "disk uploaded");
        Ok((id, summary))
    }

    /// Creates `disk` on `domain` already attached to the VM (its interface and boot flag;
    /// described by `description` once the VM is kept), uploads the pieces `produce` hands
    /// over (in any order: see [`crate::imageio::ImageioClient::upload_pieces`]) and
    /// finalizes once `produce` returned. A disk made attached goes with the VM on every path, even when the run is
    /// killed (the next run's [`crate::sweep_unfinished_vms`] removes the half-made VM with
    /// it). Returns the disk's id, what `produce` returned and what the upload did.
    pub fn add_disk_pieces<T, E: From<OvirtError>>(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        description: &str,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut PushPiece<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(String, T, UploadSummary), E> {
        let span = tracing::info_span!("disk", name = %disk.name);
        let _entered = span.enter();
        let id = self.new_disk(disk, domain, Some(description), true)?;
        self.upload_pieces(&id, disk, progress, produce)
    }

    /// [`VmBuild::add_disk_pieces`] without the attachment: the disk stays floating (to be
    /// fixed up elsewhere first, e.g. on the appliance; [`VmBuild::attach`] it afterwards).
    /// It belongs to the build and goes with it if the build fails.
    pub fn upload_disk_pieces<T, E: From<OvirtError>>(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        description: &str,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut PushPiece<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(String, T, UploadSummary), E> {
        let span = tracing::info_span!("disk", name = %disk.name);
        let _entered = span.enter();
        let id = self.new_disk(disk, domain, Some(description), false)?;
        self.upload_pieces(&id, disk, progress, produce)
    }

    /// Creates `disk` on `domain` (attached or floating), described by the build's owner
    /// mark, else by `description`; `description` is the one it keeps (`None`: the VM's).
    fn new_disk(
        &mut self,
        disk: &NewDisk,
        domain: &TargetDomain,
        description: Option<&str>,
        attached: bool,
    ) -> Result<String> {
        let mut body = domain.disk(disk);
        body.description = self.mark.clone().or_else(|| description.map(str::to_owned));
        let id = if attached {
            let attachment =
                self.connection
                    .attach_new_disk(&self.vm, &body, disk.interface, disk.bootable)?;
            attachment.disk.and_then(|d| d.id).or(attachment.id)
        } else {
            self.connection.create_disk(&body)?.id
        };
        let id = id.ok_or_else(|| OvirtError::Failed {
            what: format!("creating disk `{}`", disk.name),
            state: "the engine returned a disk without an id".into(),
        })?;
        self.disks.push(BuiltDisk {
            id: id.clone(),
            description: description.map(str::to_owned),
            attached,
        });
        self.connection
            .wait_disk_ok(&id, self.settings.disk_timeout)?;
        Ok(id)
    }

    fn upload_pieces<T, E: From<OvirtError>>(
        &self,
        id: &str,
        disk: &NewDisk,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut PushPiece<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(String, T, UploadSummary), E> {
        let (produced, summary) = self.connection.upload_pieces(
            id,
            disk.size,
            &self.settings.options,
            &self.settings.transfer,
            progress,
            produce,
        )?;
        self.connection
            .wait_disk_ok(id, self.settings.disk_timeout)?;
        tracing::info!(disk = %id, data = summary.data_bytes, "disk uploaded");
        Ok((id.to_owned(), produced, summary))
    }

    /// The second half of [`VmBuild::add_disk`]: the uploaded disk `id` attached to the
    /// VM with `disk`'s interface and boot flag.
    pub fn attach(&mut self, id: &str, disk: &NewDisk) -> Result<()> {
        self.connection
            .attach_disk(&self.vm, id, disk.interface, disk.bootable)?;
        if let Some(built) = self.disks.iter_mut().find(|d| d.id == id) {
            built.attached = true;
        }
        tracing::info!(disk = %id, vm = %self.vm, "disk attached");
        Ok(())
    }

    /// Keeps the VM: gives its disks their final descriptions, then the VM `description`
    /// (each replacing the owner mark), and returns its id. Every disk must be attached by
    /// then: a floating one would keep the mark and be swept as a leftover.
    pub fn commit(mut self, description: &str) -> Result<String> {
        if let Some(floating) = self.disks.iter().find(|d| !d.attached) {
            return Err(OvirtError::Failed {
                what: format!("keeping VM `{}`", self.name),
                state: format!("its disk {} was never attached", floating.id),
            });
        }
        if self.mark.is_some() {
            for disk in &self.disks {
                let final_description = disk.description.as_deref().unwrap_or(description);
                self.connection.set_attached_disk_description(
                    &self.vm,
                    &disk.id,
                    final_description,
                )?;
            }
        }
        self.connection.set_vm_description(&self.vm, description)?;
        self.open = false;
        Ok(std::mem::take(&mut self.vm))
    }

    /// Leaves the unfinished VM and its disks as they are (to look at a failure) and
    /// returns its id; its description is still the owner mark, so a sweep removes it
    /// once this process is gone.
    pub fn abandon(mut self) -> String {
        self.open = false;
        tracing::warn!(vm = %self.vm, "unfinished VM left in place, as asked");
        std::mem::take(&mut self.vm)
    }

    fn remove(&mut self) {
        self.open = false;
        match self.connection.remove_vm(&self.vm, false) {
            Ok(()) => tracing::warn!(vm = %self.vm, "unfinished VM removed with its disks"),
            Err(error) if error.is_not_found() => {}
            Err(error) => {
                tracing::error!(vm = %self.vm, %error, "could not remove an unfinished VM");
            }
        }
        // Disks not attached yet (or whose VM could not be removed).
        for disk in self.disks.iter().map(|d| &d.id) {
            match self.connection.remove_disk(disk) {
                Ok(()) => tracing::warn!(disk, "unfinished disk removed"),
                Err(error) if error.is_not_found() => {}
                Err(error) => tracing::error!(disk, %error, "could not remove an unfinished disk"),
            }
        }
    }
}

impl Drop for VmBuild<'_> {
    fn drop(&mut self) {
        if self.open {
            self.remove();
        }
    }
}

/// What to restore: the VM's settings, its NICs and its disks (boot disk first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    /// The VM.
    pub vm: NewVm,
    /// Its NICs.
    pub nics: Vec<NewNic>,
    /// Its disks.
    pub disks: Vec<NewDisk>,
}

/// The choices a restore makes that the backup does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreChoices {
    /// The new VM's name.
    pub name: String,
    /// Its cluster, by name.
    pub cluster: String,
    /// Its description while it is built (an owner mark).
    pub description: String,
    /// Keep the NICs' MAC addresses (the source VM must be gone, or the engine refuses).
    pub keep_macs: bool,
    /// Put every NIC on this vNIC profile instead of its own.
    pub vnic_profile: Option<String>,
}

impl RestorePlan {
    /// The plan that makes the VM of `records` again.
    pub fn from_records(records: &VmRecords, choices: &RestoreChoices) -> Result<RestorePlan> {
        let source = records.vm.name.as_deref().unwrap_or("the backup's VM");
        let missing = |field: &str| OvirtError::Failed {
            what: format!("planning the restore of `{source}`"),
            state: format!("the backup's records have no {field}"),
        };
        let vm = &records.vm;
        let topology = vm.cpu.as_ref().and_then(|c| c.topology.as_ref());
        let memory = vm.memory.ok_or_else(|| missing("memory"))?;
        let new_vm = NewVm {
            name: choices.name.clone(),
            description: Some(choices.description.clone()),
            cluster: choices.cluster.clone(),
            memory,
            guaranteed_memory: vm
                .memory_policy
                .as_ref()
                .and_then(|p| p.guaranteed)
                .map(|g| g.min(memory)),
            max_memory: vm.memory_policy.as_ref().and_then(|p| p.max),
            sockets: topology.and_then(|t| t.sockets).unwrap_or(1),
            cores: topology.and_then(|t| t.cores).unwrap_or(1),
            threads: topology.and_then(|t| t.threads).unwrap_or(1),
            os_type: vm
                .os
                .as_ref()
                .and_then(|o| o.os_type.clone())
                .unwrap_or_else(|| "other".to_owned()),
            vm_type: vm.vm_type.unwrap_or(VmType::Server),
            bios: vm.bios.as_ref().and_then(|b| b.bios_type),
            boot_devices: vm
                .os
                .as_ref()
                .and_then(|o| o.boot.as_ref())
                .and_then(|b| b.devices.as_ref())
                .map(|d| d.items.clone())
                .unwrap_or_default(),
        };
        let mut nics = Vec::with_capacity(records.nics.len());
        for nic in &records.nics {
            let name = nic.name.clone().ok_or_else(|| missing("NIC name"))?;
            let vnic_profile = choices
                .vnic_profile
                .clone()
                .or_else(|| nic.vnic_profile.as_ref().and_then(|p| p.id.clone()))
                .ok_or_else(|| OvirtError::Failed {
                    what: format!("planning the restore of `{source}`"),
                    state: format!("NIC `{name}` has no vNIC profile: choose one"),
                })?;
            nics.push(NewNic {
                interface: nic.interface.unwrap_or(NicInterface::Virtio),
                vnic_profile,
                mac: if choices.keep_macs {
                    nic.mac.as_ref().and_then(|m| m.address.clone())
                } else {
                    None
                },
                name,
            });
        }
        let mut disks = Vec::with_capacity(records.disks.len());
        for disk in &records.disks {
            let id = disk.id.clone().ok_or_else(|| missing("disk id"))?;
            let attachment = records.attachment_of(&id);
            disks.push(NewDisk {
                name: String::new(),
                size: disk.provisioned_size.ok_or_else(|| missing("disk size"))?,
                interface: attachment
                    .and_then(|a| a.interface)
                    .unwrap_or(DiskInterface::Virtio),
                bootable: attachment.and_then(|a| a.bootable).unwrap_or(false),
                source: Some(id),
            });
        }
        Ok(RestorePlan {
            vm: new_vm,
            nics,
            disks: named(disks, &choices.name),
        })
    }

    /// The plan that makes the VM an OVF describes; `exact_size` gives a disk's size in
    /// bytes when the caller knows it (the OVF rounds to GiB), for instance from
    /// oVirtSimpleBackup's `DiskN.dat`.
    pub fn from_ovf(
        ovf: &OvfVm,
        choices: &RestoreChoices,
        exact_size: impl Fn(&OvfDisk) -> Option<u64>,
    ) -> Result<RestorePlan> {
        let source = ovf.name.as_deref().unwrap_or("the OVF's VM");
        let failed = |state: String| OvirtError::Failed {
            what: format!("planning the restore of `{source}`"),
            state,
        };
        let memory = ovf
            .memory
            .ok_or_else(|| failed("the OVF gives no memory".into()))?;
        let (sockets, cores, threads) = ovf.topology.unwrap_or((1, 1, 1));
        let vm = NewVm {
            name: choices.name.clone(),
            description: Some(choices.description.clone()),
            cluster: choices.cluster.clone(),
            memory,
            guaranteed_memory: ovf.guaranteed_memory.map(|g| g.min(memory)),
            max_memory: ovf.max_memory.filter(|&m| m >= memory),
            sockets,
            cores,
            threads,
            os_type: ovf.os_type.clone().unwrap_or_else(|| "other".to_owned()),
            vm_type: ovf.vm_type.unwrap_or(VmType::Server),
            bios: ovf.bios,
            boot_devices: Vec::new(),
        };
        let mut nics = Vec::with_capacity(ovf.nics.len());
        for nic in &ovf.nics {
            let vnic_profile = choices.vnic_profile.clone().ok_or_else(|| {
                failed(format!(
                    "NIC `{}` is on network `{}`: choose a vNIC profile",
                    nic.name,
                    nic.network.as_deref().unwrap_or("?")
                ))
            })?;
            nics.push(NewNic {
                name: nic.name.clone(),
                interface: nic.interface,
                vnic_profile,
                mac: nic.mac.clone().filter(|_| choices.keep_macs),
            });
        }
        let mut disks = Vec::with_capacity(ovf.disks.len());
        for disk in &ovf.disks {
            let size = exact_size(disk)
                .or(disk.size)
                .ok_or_else(|| failed("a disk without a size".into()))?;
            disks.push(NewDisk {
                name: String::new(),
                size,
                interface: disk.interface.unwrap_or(DiskInterface::Virtio),
                bootable: disk.bootable,
                source: disk.disk_id.clone(),
            });
        }
        Ok(RestorePlan {
            vm,
            nics,
            disks: named(disks, &choices.name),
        })
    }
}

/// Boot disks first, then named `<vm>_Disk<N>` in that order.
fn named(mut disks: Vec<NewDisk>, vm: &str) -> Vec<NewDisk> {
    disks.sort_by_key(|d| !d.bootable);
    for (index, disk) in disks.iter_mut().enumerate() {
        disk.name = format!("{vm}_Disk{}", index + 1);
    }
    disks
}
