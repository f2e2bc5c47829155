//! `VIF.*` and `network.*` calls.

use std::collections::HashMap;

use super::storage::param_value;
use super::{NetworkApi, VifApi};
use crate::Ref;
use crate::error::Result;
use crate::records::{NetworkRecord, VifRecord};

impl VifApi<'_> {
    /// `VIF.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, VifRecord>> {
        self.session.invoke("VIF.get_all_records", &[])
    }

    /// `VIF.get_record`.
    pub fn get_record(&self, vif: &Ref) -> Result<VifRecord> {
        self.session.invoke("VIF.get_record", &[vif.into()])
    }

    /// `VIF.create`: plugs `record.vm` into `record.network` (runtime fields are ignored;
    /// an empty MAC lets XAPI choose one).
    pub fn create(&self, record: &VifRecord) -> Result<Ref> {
        self.session.invoke(
            "VIF.create",
            &[param_value("VIF record to create", record)?],
        )
    }

    /// `VIF.destroy`.
    pub fn destroy(&self, vif: &Ref) -> Result<()> {
        self.session.invoke("VIF.destroy", &[vif.into()])
    }
}

impl NetworkApi<'_> {
    /// `network.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, NetworkRecord>> {
        self.session.invoke("network.get_all_records", &[])
    }

    /// `network.get_record`.
    pub fn get_record(&self, network: &Ref) -> Result<NetworkRecord> {
        self.session.invoke("network.get_record", &[network.into()])
    }
}
