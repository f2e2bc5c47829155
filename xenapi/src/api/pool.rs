//! `pool.*` and `host.*` calls.

use std::collections::HashMap;

use super::{HostApi, PoolApi};
use crate::Ref;
use crate::error::Result;
use crate::records::{HostRecord, PoolRecord};

impl PoolApi<'_> {
    /// `pool.get_all`: the pool (there is exactly one).
    pub fn get_all(&self) -> Result<Vec<Ref>> {
        self.session.invoke("pool.get_all", &[])
    }

    /// `pool.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, PoolRecord>> {
        self.session.invoke("pool.get_all_records", &[])
    }

    /// `pool.get_master`.
    pub fn get_master(&self, pool: &Ref) -> Result<Ref> {
        self.session.invoke("pool.get_master", &[pool.into()])
    }

    /// `pool.get_default_SR` (`OpaqueRef:NULL` when none is set).
    pub fn get_default_sr(&self, pool: &Ref) -> Result<Ref> {
        self.session.invoke("pool.get_default_SR", &[pool.into()])
    }
}

impl HostApi<'_> {
    /// `host.get_all`.
    pub fn get_all(&self) -> Result<Vec<Ref>> {
        self.session.invoke("host.get_all", &[])
    }

    /// `host.get_all_records`.
    pub fn get_all_records(&self) -> Result<HashMap<Ref, HostRecord>> {
        self.session.invoke("host.get_all_records", &[])
    }

    /// `host.get_record`.
    pub fn get_record(&self, host: &Ref) -> Result<HostRecord> {
        self.session.invoke("host.get_record", &[host.into()])
    }

    /// `host.get_by_uuid` (`UUID_INVALID` when there is none).
    pub fn get_by_uuid(&self, uuid: &str) -> Result<Ref> {
        self.session.invoke("host.get_by_uuid", &[uuid.into()])
    }

    /// `host.get_address`: the management IP address.
    pub fn get_address(&self, host: &Ref) -> Result<String> {
        self.session.invoke("host.get_address", &[host.into()])
    }

    /// `host.get_name_label`.
    pub fn get_name_label(&self, host: &Ref) -> Result<String> {
        self.session.invoke("host.get_name_label", &[host.into()])
    }
}
