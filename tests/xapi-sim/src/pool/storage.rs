//! VDIs and VBDs: creation, destruction and the checks XAPI makes.

use xenapi::Ref;
use xenapi::records::{VbdRecord, VbdType, VdiRecord};

use super::{Pool, new_ref, new_uuid};
use crate::disks::DiskStore;
use crate::error::{XapiError, XapiResult};

impl Pool {
    /// `VDI.create`: registers the VDI and creates its (empty, sparse) disk file.
    pub(crate) fn create_vdi(&mut self, record: VdiRecord) -> XapiResult<Ref> {
        let sr = self.sr(&record.sr)?.clone();
        if record.virtual_size <= 0 {
            return Err(XapiError::new(
                "INVALID_VALUE",
                ["virtual_size".to_owned(), record.virtual_size.to_string()],
            ));
        }
        let size = (record.virtual_size + 511) / 512 * 512;
        self.check_sr_space(&record.sr, size)?;
        let uuid = new_uuid();
        let path = self.store().path(&sr.uuid, &uuid);
        DiskStore::create(&path, size.cast_unsigned())
            .map_err(|e| XapiError::internal(format!("creating {}: {e}", path.display())))?;
        let reference = new_ref();
        self.vdis.insert(
            reference.clone(),
            VdiRecord {
                uuid: uuid.clone(),
                location: uuid,
                virtual_size: size,
                physical_utilisation: 0,
                vbds: Vec::new(),
                is_a_snapshot: false,
                snapshot_of: Ref::null(),
                snapshots: Vec::new(),
                cbt_enabled: false,
                ..record
            },
        );
        Ok(reference)
    }

    /// `VDI.destroy`: refused while attached to a running VM; the VBDs pointing at it go
    /// too, as in XAPI, and so does its file.
    pub(crate) fn destroy_vdi(&mut self, vdi: &Ref) -> XapiResult<()> {
        self.vdi(vdi)?;
        if self.vdi_attached(vdi) {
            return Err(XapiError::new("VDI_IN_USE", [vdi.as_str(), "destroy"]));
        }
        let path = self.vdi_path(vdi)?;
        self.vbds.retain(|_, vbd| vbd.vdi != *vdi);
        self.cbt_forget(vdi);
        self.vdis.remove(vdi);
        DiskStore::remove(&path)
            .map_err(|e| XapiError::internal(format!("removing {}: {e}", path.display())))
    }

    /// `VBD.create`.
    pub(crate) fn create_vbd(&mut self, record: VbdRecord) -> XapiResult<Ref> {
        self.vm(&record.vm)?;
        let needs_vdi = !(record.kind == VbdType::CD && (record.empty || record.vdi.is_null()));
        if needs_vdi {
            self.vdi(&record.vdi)?;
        }
        let used: Vec<String> = self
            .vbds
            .values()
            .filter(|vbd| vbd.vm == record.vm)
            .map(|vbd| vbd.userdevice.clone())
            .collect();
        let userdevice = if record.userdevice == "autodetect" || record.userdevice.is_empty() {
            (0..=used.len())
                .map(|n| n.to_string())
                .find(|n| !used.contains(n))
                .expect("one of len + 1 numbers is free")
        } else if used.contains(&record.userdevice) {
            return Err(XapiError::new("DEVICE_ALREADY_EXISTS", [record.userdevice]));
        } else {
            record.userdevice.clone()
        };
        let reference = new_ref();
        self.vbds.insert(
            reference.clone(),
            VbdRecord {
                uuid: new_uuid(),
                userdevice,
                empty: !needs_vdi,
                vdi: if needs_vdi {
                    record.vdi.clone()
                } else {
                    Ref::null()
                },
                currently_attached: false,
                ..record
            },
        );
        Ok(reference)
    }

    /// `VBD.destroy`: refused while attached.
    pub(crate) fn destroy_vbd(&mut self, vbd: &Ref) -> XapiResult<()> {
        if self.vbd(vbd)?.currently_attached {
            return Err(XapiError::not_allowed(format!(
                "VBD {vbd} is attached to a running VM"
            )));
        }
        self.vbds.remove(vbd);
        Ok(())
    }
}
