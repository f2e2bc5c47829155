//! What a backup keeps of a VM besides its disks: the OVF (`all_content`, as the snapshot
//! froze it when there is one) and the API's records of the VM, its disk attachments, its
//! disks and its NICs — what a restore reads back to make the VM again.
//!
//! The records are written as the engine's own XML ([`VmRecords::files`]), one file each,
//! and read back with [`VmRecords::from_files`]; elements the crate does not model are
//! not kept (the OVF keeps everything).

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::types::{Disk, DiskAttachment, DiskAttachments, Disks, Nic, Nics, Snapshot, Vm};

/// The file holding the VM record.
pub const VM_FILE: &str = "vm.xml";
/// The file holding the disk attachments.
pub const ATTACHMENTS_FILE: &str = "disk_attachments.xml";
/// The file holding the disks.
pub const DISKS_FILE: &str = "disks.xml";
/// The file holding the NICs.
pub const NICS_FILE: &str = "nics.xml";
/// The file holding the OVF.
pub const OVF_FILE: &str = "vm.ovf";

/// A VM as the engine described it at backup time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmRecords {
    /// The VM (without its OVF, which is [`VmRecords::ovf`]).
    pub vm: Vm,
    /// The OVF document.
    pub ovf: Option<String>,
    /// Its disk attachments (bootable, interface), in the engine's order.
    pub attachments: Vec<DiskAttachment>,
    /// Its disks (name, size, format), in attachment order.
    pub disks: Vec<Disk>,
    /// Its NICs (name, interface, MAC, vNIC profile).
    pub nics: Vec<Nic>,
}

impl VmRecords {
    /// Reads the records of VM `vm`; the OVF is the snapshot's when `snapshot` is given
    /// (the configuration the disks were frozen with), else the VM's.
    pub fn fetch(connection: &Connection, vm: &str, snapshot: Option<&str>) -> Result<VmRecords> {
        let mut record = connection.vm(vm, true)?;
        let vm_ovf = record
            .initialization
            .take()
            .and_then(|i| i.configuration)
            .and_then(|c| c.data);
        let ovf = match snapshot {
            Some(id) => {
                let frozen: Snapshot = connection.get(
                    &format!("/vms/{vm}/snapshots/{id}"),
                    &Query::new().all_content(),
                    &format!("getting the OVF of snapshot {id} of VM {vm}"),
                )?;
                frozen
                    .initialization
                    .and_then(|i| i.configuration)
                    .and_then(|c| c.data)
                    .or(vm_ovf)
            }
            None => vm_ovf,
        };
        let attachments = connection.attachments(vm)?;
        let mut disks = Vec::with_capacity(attachments.len());
        for attachment in &attachments {
            let id = attachment
                .disk
                .as_ref()
                .and_then(|d| d.id.as_deref())
                .or(attachment.id.as_deref())
                .ok_or_else(|| OvirtError::Failed {
                    what: format!("reading the disk attachments of VM {vm}"),
                    state: "an attachment without a disk id".into(),
                })?;
            disks.push(connection.disk(id)?);
        }
        let nics = connection.vm_nics(vm)?;
        Ok(VmRecords {
            vm: record,
            ovf,
            attachments,
            disks,
            nics,
        })
    }

    /// The files to store, as `(name, contents)`: [`VM_FILE`], [`ATTACHMENTS_FILE`],
    /// [`DISKS_FILE`], [`NICS_FILE`] and, when there is one, [`OVF_FILE`].
    pub fn files(&self) -> Result<Vec<(&'static str, String)>> {
        let mut files = vec![
            (VM_FILE, crate::xml::write(&self.vm, VM_FILE)?),
            (
                ATTACHMENTS_FILE,
                crate::xml::write(
                    &DiskAttachments::from(self.attachments.clone()),
                    ATTACHMENTS_FILE,
                )?,
            ),
            (
                DISKS_FILE,
                crate::xml::write(&Disks::from(self.disks.clone()), DISKS_FILE)?,
            ),
            (
                NICS_FILE,
                crate::xml::write(&Nics::from(self.nics.clone()), NICS_FILE)?,
            ),
        ];
        if let Some(ovf) = &self.ovf {
            files.push((OVF_FILE, ovf.clone()));
        }
        Ok(files)
    }

    /// Reads the records back; `read(name)` gives a file's contents, `None` when absent
    /// (only the OVF may be absent).
    pub fn from_files(
        mut read: impl FnMut(&str) -> std::io::Result<Option<String>>,
    ) -> Result<VmRecords> {
        let mut file = |name: &str| -> Result<Option<String>> {
            read(name).map_err(|source| OvirtError::Io {
                what: format!("reading the backup's {name}"),
                source,
            })
        };
        let mut needed = |name: &str| -> Result<String> {
            file(name)?.ok_or_else(|| OvirtError::NotFound {
                what: format!("the backup's {name}"),
            })
        };
        let vm: Vm = crate::xml::parse(&needed(VM_FILE)?, VM_FILE)?;
        let attachments: DiskAttachments =
            crate::xml::parse(&needed(ATTACHMENTS_FILE)?, ATTACHMENTS_FILE)?;
        let disks: Disks = crate::xml::parse(&needed(DISKS_FILE)?, DISKS_FILE)?;
        let nics: Nics = crate::xml::parse(&needed(NICS_FILE)?, NICS_FILE)?;
        Ok(VmRecords {
            vm,
            ovf: file(OVF_FILE)?,
            attachments: attachments.items,
            disks: disks.items,
            nics: nics.items,
        })
    }

    /// The attachment of disk `id`.
    pub fn attachment_of(&self, id: &str) -> Option<&DiskAttachment> {
        self.attachments.iter().find(|a| {
            a.disk.as_ref().and_then(|d| d.id.as_deref()) == Some(id) || a.id.as_deref() == Some(id)
        })
    }
}
