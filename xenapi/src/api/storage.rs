//! `VBD.*`, `VDI.*` and `SR.*` calls.

use std::collections::HashMap;

use serde::Serialize;

use super::{SrApi, VbdApi, VdiApi};
use crate::Ref;
use crate::cbt::ChangedBlocks;
use crate::error::{Result, XenApiError};
use crate::records::{SrRecord, StringMap, VbdRecord, VdiRecord};
use crate::rpc::{Value, to_value};

impl VbdApi<'_> {
    /// `VBD.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, VbdRecord>> {
        self.session.invoke("VBD.get_all_records", &[])
    }

    /// `VBD.get_record`.
    pub fn get_record(&self, vbd: &Ref) -> Result<VbdRecord> {
        self.session.invoke("VBD.get_record", &[vbd.into()])
    }

    /// `VBD.create`: attaches `record.vdi` to `record.vm` (runtime fields are ignored).
    pub fn create(&self, record: &VbdRecord) -> Result<Ref> {
        self.session.invoke(
            "VBD.create",
            &[param_value("VBD record to create", record)?],
        )
    }

    /// `VBD.destroy`.
    pub fn destroy(&self, vbd: &Ref) -> Result<()> {
        self.session.invoke("VBD.destroy", &[vbd.into()])
    }
}

impl VdiApi<'_> {
    /// `VDI.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, VdiRecord>> {
        self.session.invoke("VDI.get_all_records", &[])
    }

    /// `VDI.get_record`.
    pub fn get_record(&self, vdi: &Ref) -> Result<VdiRecord> {
        self.session.invoke("VDI.get_record", &[vdi.into()])
    }

    /// `VDI.get_by_uuid` (`UUID_INVALID` when there is none).
    pub fn get_by_uuid(&self, uuid: &str) -> Result<Ref> {
        self.session.invoke("VDI.get_by_uuid", &[uuid.into()])
    }

    /// `VDI.snapshot`: a read-only copy of the disk; `driver_params` go to the SR driver.
    pub fn snapshot(&self, vdi: &Ref, driver_params: &StringMap) -> Result<Ref> {
        self.session.invoke(
            "VDI.snapshot",
            &[vdi.into(), param_value("driver_params", driver_params)?],
        )
    }

    /// `Async.VDI.snapshot`: returns the task; its result is the snapshot's ref.
    pub fn snapshot_async(&self, vdi: &Ref, driver_params: &StringMap) -> Result<Ref> {
        self.session.call_async(
            "VDI.snapshot",
            &[vdi.into(), param_value("driver_params", driver_params)?],
        )
    }

    /// `VDI.create`: a new empty disk of `record.virtual_size` bytes in `record.sr`.
    pub fn create(&self, record: &VdiRecord) -> Result<Ref> {
        self.session.invoke(
            "VDI.create",
            &[param_value("VDI record to create", record)?],
        )
    }

    /// `VDI.destroy`.
    pub fn destroy(&self, vdi: &Ref) -> Result<()> {
        self.session.invoke("VDI.destroy", &[vdi.into()])
    }

    /// `VDI.copy(vdi, sr)` as `Async.VDI.copy`, waited for at most `timeout`: XAPI creates
    /// the copy in `sr` with the source's name, size, type and `other_config`, copies the
    /// bytes on the storage side (nothing crosses the network to the client), and destroys
    /// the copy again if that fails. Returns the copy.
    pub fn copy(&self, vdi: &Ref, sr: &Ref, timeout: std::time::Duration) -> Result<Ref> {
        self.session
            .async_call_and_wait("VDI.copy", &[vdi.into(), sr.into()], timeout)?
            .reference()
    }

    /// `VDI.set_other_config`: replaces the whole map.
    pub fn set_other_config(&self, vdi: &Ref, value: &StringMap) -> Result<()> {
        self.session.invoke(
            "VDI.set_other_config",
            &[vdi.into(), param_value("other_config", value)?],
        )
    }

    /// `VDI.set_name_label`.
    pub fn set_name_label(&self, vdi: &Ref, label: &str) -> Result<()> {
        self.session
            .invoke("VDI.set_name_label", &[vdi.into(), label.into()])
    }

    /// `VDI.get_other_config`.
    pub fn get_other_config(&self, vdi: &Ref) -> Result<StringMap> {
        self.session.invoke("VDI.get_other_config", &[vdi.into()])
    }

    /// `VDI.enable_cbt` (idempotent).
    pub fn enable_cbt(&self, vdi: &Ref) -> Result<()> {
        self.session.invoke("VDI.enable_cbt", &[vdi.into()])
    }

    /// `VDI.disable_cbt` (idempotent).
    pub fn disable_cbt(&self, vdi: &Ref) -> Result<()> {
        self.session.invoke("VDI.disable_cbt", &[vdi.into()])
    }

    /// `VDI.list_changed_blocks`: the 64 KiB blocks that differ between two snapshots of a
    /// disk with CBT enabled.
    pub fn list_changed_blocks(&self, vdi_from: &Ref, vdi_to: &Ref) -> Result<ChangedBlocks> {
        let method = "VDI.list_changed_blocks";
        let text: String = self
            .session
            .invoke(method, &[vdi_from.into(), vdi_to.into()])?;
        ChangedBlocks::from_base64(&text).map_err(|source| XenApiError::Codec {
            context: format!("the answer to {method} from {}", self.session.endpoint()),
            source,
        })
    }
}

impl SrApi<'_> {
    /// `SR.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, SrRecord>> {
        self.session.invoke("SR.get_all_records", &[])
    }

    /// `SR.get_record`.
    pub fn get_record(&self, sr: &Ref) -> Result<SrRecord> {
        self.session.invoke("SR.get_record", &[sr.into()])
    }

    /// `SR.get_by_uuid` (`UUID_INVALID` when there is none).
    pub fn get_by_uuid(&self, uuid: &str) -> Result<Ref> {
        self.session.invoke("SR.get_by_uuid", &[uuid.into()])
    }

    /// `SR.get_by_name_label`.
    pub fn get_by_name_label(&self, label: &str) -> Result<Vec<Ref>> {
        self.session.invoke("SR.get_by_name_label", &[label.into()])
    }
}

/// A parameter encoded by serde (a record, a map); `what` names it in errors.
pub(crate) fn param_value(what: &str, value: &impl Serialize) -> Result<Value> {
    to_value(value).map_err(|source| XenApiError::Codec {
        context: format!("the {what}"),
        source,
    })
}
