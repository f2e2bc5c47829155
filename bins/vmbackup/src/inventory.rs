//! What the pool holds, read once per run: VMs and their disks and interfaces.

use std::collections::HashMap;

use xenapi::records::{
    NetworkRecord, PoolRecord, SrRecord, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord,
};
use xenapi::{Ref, Session};

use jiff::Timestamp;

use crate::error::{Result, VmBackupError};
use crate::owner::{Owner, is_leftover, parse_xapi_time};
use crate::selection::VmInfo;

/// The pool's records.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every VM, template and snapshot.
    pub vms: HashMap<Ref, VmRecord>,
    /// Every VBD.
    pub vbds: HashMap<Ref, VbdRecord>,
    /// Every VDI.
    pub vdis: HashMap<Ref, VdiRecord>,
    /// Every VIF.
    pub vifs: HashMap<Ref, VifRecord>,
    /// Every network.
    pub networks: HashMap<Ref, NetworkRecord>,
    /// Every SR.
    pub srs: HashMap<Ref, SrRecord>,
    /// The pool.
    pub pool: PoolRecord,
}

/// A disk of a VM: its slot and the virtual disk in it.
#[derive(Debug, Clone)]
pub struct VmDisk {
    /// The VBD.
    pub vbd_ref: Ref,
    /// Its record.
    pub vbd: VbdRecord,
    /// The VDI.
    pub vdi_ref: Ref,
    /// Its record.
    pub vdi: VdiRecord,
}

impl Inventory {
    /// Reads every record the backup needs.
    pub fn fetch(session: &Session) -> Result<Self> {
        let read = |what: &str, e| VmBackupError::xapi(format!("reading the pool's {what}"), e);
        Ok(Inventory {
            vms: session.vm().get_all_records().map_err(|e| read("VMs", e))?,
            vbds: session
                .vbd()
                .get_all_records()
                .map_err(|e| read("VBDs", e))?,
            vdis: session
                .vdi()
                .get_all_records()
                .map_err(|e| read("VDIs", e))?,
            vifs: session
                .vif()
                .get_all_records()
                .map_err(|e| read("VIFs", e))?,
            networks: session
                .network()
                .get_all_records()
                .map_err(|e| read("networks", e))?,
            srs: session.sr().get_all_records().map_err(|e| read("SRs", e))?,
            pool: session
                .pool()
                .get_all_records()
                .map_err(|e| read("pool", e))?
                .into_values()
                .next()
                .unwrap_or_default(),
        })
    }

    /// The VMs as selection sees them.
    pub fn vm_infos(&self) -> Vec<VmInfo> {
        let mut infos: Vec<VmInfo> = self
            .vms
            .values()
            .map(|vm| VmInfo {
                uuid: vm.uuid.clone(),
                name_label: vm.name_label.clone(),
                is_a_template: vm.is_a_template,
                is_a_snapshot: vm.is_a_snapshot,
                is_control_domain: vm.is_control_domain,
                tags: vm.tags.clone(),
            })
            .collect();
        infos.sort_by(|a, b| a.name_label.cmp(&b.name_label).then(a.uuid.cmp(&b.uuid)));
        infos
    }

    /// The VM with this uuid.
    pub fn vm_by_uuid(&self, uuid: &str) -> Result<(Ref, &VmRecord)> {
        self.vms
            .iter()
            .find(|(_, vm)| vm.uuid == uuid)
            .map(|(r, vm)| (r.clone(), vm))
            .ok_or_else(|| VmBackupError::Backup(format!("no VM with uuid {uuid} in the pool")))
    }

    /// The disks (not CD drives, not empty slots) of a VM, by slot.
    pub fn disks_of(&self, vm: &VmRecord) -> Vec<VmDisk> {
        let mut disks: Vec<VmDisk> = vm
            .vbds
            .iter()
            .filter_map(|vbd_ref| {
                let vbd = self.vbds.get(vbd_ref)?;
                if vbd.kind != VbdType::Disk || vbd.empty || vbd.vdi.is_null() {
                    return None;
                }
                let vdi = self.vdis.get(&vbd.vdi)?;
                Some(VmDisk {
                    vbd_ref: vbd_ref.clone(),
                    vbd: vbd.clone(),
                    vdi_ref: vbd.vdi.clone(),
                    vdi: vdi.clone(),
                })
            })
            .collect();
        disks.sort_by_key(|d| {
            (
                d.vbd.userdevice.parse::<u32>().unwrap_or(u32::MAX),
                d.vbd.userdevice.clone(),
            )
        });
        disks
    }

    /// The boot disk: the bootable disk, else the one at slot 0 or device `xvda`.
    pub fn boot_disk(&self, vm: &VmRecord) -> Option<VmDisk> {
        let disks = self.disks_of(vm);
        disks
            .iter()
            .find(|d| d.vbd.bootable)
            .or_else(|| {
                disks
                    .iter()
                    .find(|d| d.vbd.userdevice == "0" || d.vbd.device == "xvda")
            })
            .cloned()
    }

    /// The VIFs of a VM with their networks, by device.
    pub fn vifs_of(&self, vm: &VmRecord) -> Vec<(VifRecord, Option<NetworkRecord>)> {
        let mut vifs: Vec<_> = vm
            .vifs
            .iter()
            .filter_map(|r| self.vifs.get(r))
            .map(|vif| (vif.clone(), self.networks.get(&vif.network).cloned()))
            .collect();
        vifs.sort_by(|a, b| a.0.device.cmp(&b.0.device));
        vifs
    }

    /// Leftovers of interrupted runs of `vm`: its snapshots, and the snapshots of its
    /// disks, that [`is_leftover`] says are no longer anybody's. `vm_prefix` and
    /// `disk_prefix` start the names vmbackup gives them (for snapshots without an owner).
    pub fn leftovers(
        &self,
        vm: &Ref,
        vm_prefix: &str,
        disk_prefix: &str,
        here: &Owner,
        now: Timestamp,
    ) -> Leftovers {
        let vms = self
            .vms
            .iter()
            .filter(|(_, s)| {
                s.is_a_snapshot
                    && &s.snapshot_of == vm
                    && is_leftover(
                        &s.other_config,
                        parse_xapi_time(&s.snapshot_time.0),
                        s.name_label.starts_with(vm_prefix),
                        here,
                        now,
                    )
            })
            .map(|(r, _)| r.clone())
            .collect();
        let disks: Vec<Ref> = self
            .vms
            .get(vm)
            .map(|record| self.disks_of(record))
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.vdi_ref)
            .collect();
        let vdis = self
            .vdis
            .iter()
            .filter(|(_, d)| {
                d.is_a_snapshot
                    && disks.contains(&d.snapshot_of)
                    && is_leftover(
                        &d.other_config,
                        parse_xapi_time(&d.snapshot_time.0),
                        d.name_label.starts_with(disk_prefix),
                        here,
                        now,
                    )
            })
            .map(|(r, _)| r.clone())
            .collect();
        Leftovers { vms, vdis }
    }
}

/// Snapshots an interrupted run left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// VM snapshots (destroyed with their disks).
    pub vms: Vec<Ref>,
    /// Disk snapshots.
    pub vdis: Vec<Ref>,
}
