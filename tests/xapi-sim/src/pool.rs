//! The pool's state: every object's record, the users, sessions and tasks, and where each
//! VDI's bytes live. Operations that XAPI would refuse return an [`XapiError`] with XAPI's
//! code; the RPC layer only decodes parameters and calls these.
//!
//! Records are stored without their back-references (`VM.VBDs`, `VDI.snapshots`,
//! `SR.VDIs`, …); [`views`] derives those when a record is read, so they can never disagree
//! with the objects that exist.

mod bootstrap;
mod cbt;
mod datamodel;
mod network;
mod operations;
mod sessions;
mod snapshot;
mod storage;
mod views;
mod vms;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use xenapi::records::{
    HostRecord, NetworkRecord, PoolRecord, SrRecord, VbdRecord, VdiRecord, VifRecord, VmRecord,
};
use xenapi::{DateTime, Ref};

use crate::disks::DiskStore;
use crate::error::{XapiError, XapiResult};

pub(crate) use cbt::CbtLog;
pub(crate) use sessions::{Session, Task};
pub(crate) use views::Class;
pub use vms::CreatedVm;
pub(crate) use vms::power_name;

/// The XAPI version the simulated hosts report (and write into exports).
pub(crate) const XAPI_VERSION: (i64, i64) = (25, 6);

/// Everything the pool holds. The serialised part is what `--state` keeps.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Pool {
    /// The pool object's reference.
    pub reference: Ref,
    /// The pool object.
    pub record: PoolRecord,
    pub hosts: BTreeMap<Ref, HostRecord>,
    pub srs: BTreeMap<Ref, SrRecord>,
    pub networks: BTreeMap<Ref, NetworkRecord>,
    pub vms: BTreeMap<Ref, VmRecord>,
    pub vbds: BTreeMap<Ref, VbdRecord>,
    pub vdis: BTreeMap<Ref, VdiRecord>,
    pub vifs: BTreeMap<Ref, VifRecord>,
    /// Changed-block logs of VDIs with CBT enabled.
    pub cbt: BTreeMap<Ref, CbtLog>,
    /// User name to password.
    pub users: BTreeMap<String, String>,
    /// The next domain id a started VM gets.
    pub next_domid: i64,
    #[serde(skip)]
    pub sessions: BTreeMap<Ref, Session>,
    #[serde(skip)]
    pub tasks: BTreeMap<Ref, Task>,
    #[serde(skip)]
    pub store: Option<DiskStore>,
    #[serde(skip)]
    pub session_timeout: Duration,
    /// Where each host listens (its record's `address` is the IP address alone, as XAPI's).
    #[serde(skip)]
    pub listeners: BTreeMap<Ref, std::net::SocketAddr>,
}

impl Pool {
    /// How a host is named to clients that must reach it (`HOST_IS_SLAVE`, redirects) from
    /// a host listening on `from`: its address alone, as XAPI sends it, when it listens on
    /// the same port (clients keep their port, as on a real pool where every host serves
    /// 443); `address:port` otherwise (a simulator's extension: a client keeping its port
    /// would miss it).
    pub(crate) fn address_for(&self, host: &Ref, from: &Ref) -> XapiResult<String> {
        let address = self.host(host)?.address.clone();
        match (self.listeners.get(host), self.listeners.get(from)) {
            (Some(there), Some(here)) if there.port() != here.port() => Ok(there.to_string()),
            _ => Ok(address),
        }
    }

    /// A host's `address:port`, for URLs.
    pub(crate) fn authority_of(&self, host: &Ref) -> XapiResult<String> {
        match self.listeners.get(host) {
            Some(listener) => Ok(listener.to_string()),
            None => Ok(self.host(host)?.address.clone()),
        }
    }
}

/// A new `OpaqueRef:<uuid>`.
pub(crate) fn new_ref() -> Ref {
    Ref::new(format!("OpaqueRef:{}", uuid::Uuid::new_v4()))
}

/// A new random UUID.
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The current time as XAPI writes datetimes (`20240101T10:00:00Z`).
pub(crate) fn now() -> DateTime {
    DateTime(
        jiff::Timestamp::now()
            .strftime("%Y%m%dT%H:%M:%SZ")
            .to_string(),
    )
}

/// A new MAC address in Xen's `00:16:3e` range.
pub(crate) fn new_mac() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    format!(
        "00:16:3e:{:02x}:{:02x}:{:02x}",
        bytes[0] & 0x7f,
        bytes[1],
        bytes[2]
    )
}

macro_rules! lookup {
    ($get:ident, $field:ident, $record:ty, $class:literal) => {
        /// The record behind a reference, or `HANDLE_INVALID`.
        pub(crate) fn $get(&self, reference: &Ref) -> XapiResult<&$record> {
            self.$field
                .get(reference)
                .ok_or_else(|| XapiError::handle_invalid($class, reference.as_str()))
        }
    };
    ($get:ident, $get_mut:ident, $field:ident, $record:ty, $class:literal) => {
        lookup!($get, $field, $record, $class);

        /// The record behind a reference, mutable, or `HANDLE_INVALID`.
        pub(crate) fn $get_mut(&mut self, reference: &Ref) -> XapiResult<&mut $record> {
            self.$field
                .get_mut(reference)
                .ok_or_else(|| XapiError::handle_invalid($class, reference.as_str()))
        }
    };
}

impl Pool {
    lookup!(vm, vm_mut, vms, VmRecord, "VM");
    lookup!(vbd, vbds, VbdRecord, "VBD");
    lookup!(vdi, vdi_mut, vdis, VdiRecord, "VDI");
    lookup!(vif, vifs, VifRecord, "VIF");
    lookup!(sr, srs, SrRecord, "SR");
    lookup!(network, networks, NetworkRecord, "network");
    lookup!(host, host_mut, hosts, HostRecord, "host");

    /// The pool master's host reference.
    pub(crate) fn master(&self) -> &Ref {
        &self.record.master
    }

    /// The disk store (set when the pool is created or loaded).
    pub(crate) fn store(&self) -> &DiskStore {
        self.store.as_ref().expect("the disk store is set at start")
    }

    /// The file holding VDI `vdi`'s bytes.
    pub(crate) fn vdi_path(&self, vdi: &Ref) -> XapiResult<PathBuf> {
        let record = self.vdi(vdi)?;
        let sr = self.sr(&record.sr)?;
        Ok(self.store().path(&sr.uuid, &record.uuid))
    }

    /// A VM by UUID, or `UUID_INVALID`.
    pub(crate) fn vm_by_uuid(&self, uuid: &str) -> XapiResult<Ref> {
        self.vms
            .iter()
            .find(|(_, vm)| vm.uuid == uuid)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| XapiError::uuid_invalid("VM", uuid))
    }

    /// A VDI by UUID, or `UUID_INVALID`.
    pub(crate) fn vdi_by_uuid(&self, uuid: &str) -> XapiResult<Ref> {
        self.vdis
            .iter()
            .find(|(_, vdi)| vdi.uuid == uuid)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| XapiError::uuid_invalid("VDI", uuid))
    }

    /// An SR by UUID, or `UUID_INVALID`.
    pub(crate) fn sr_by_uuid(&self, uuid: &str) -> XapiResult<Ref> {
        self.srs
            .iter()
            .find(|(_, sr)| sr.uuid == uuid)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| XapiError::uuid_invalid("SR", uuid))
    }

    /// A VM given as a reference or (failing that) a UUID, as HTTP handlers accept both.
    pub(crate) fn resolve_vm(&self, text: &str) -> XapiResult<Ref> {
        let reference = Ref::new(text);
        if self.vms.contains_key(&reference) {
            return Ok(reference);
        }
        if text.starts_with("OpaqueRef:") {
            return Err(XapiError::handle_invalid("VM", text));
        }
        self.vm_by_uuid(text)
    }

    /// A VDI given as a reference or a UUID.
    pub(crate) fn resolve_vdi(&self, text: &str) -> XapiResult<Ref> {
        let reference = Ref::new(text);
        if self.vdis.contains_key(&reference) {
            return Ok(reference);
        }
        if text.starts_with("OpaqueRef:") {
            return Err(XapiError::handle_invalid("VDI", text));
        }
        self.vdi_by_uuid(text)
    }

    /// VBDs of a VM, by `userdevice` (numeric order).
    pub(crate) fn vbds_of(&self, vm: &Ref) -> Vec<Ref> {
        let mut vbds: Vec<(&Ref, &VbdRecord)> =
            self.vbds.iter().filter(|(_, vbd)| vbd.vm == *vm).collect();
        vbds.sort_by_key(|(_, vbd)| {
            (
                vbd.userdevice.parse::<u32>().unwrap_or(u32::MAX),
                vbd.userdevice.clone(),
            )
        });
        vbds.into_iter().map(|(r, _)| r.clone()).collect()
    }

    /// VIFs of a VM, by `device`.
    pub(crate) fn vifs_of(&self, vm: &Ref) -> Vec<Ref> {
        let mut vifs: Vec<(&Ref, &VifRecord)> =
            self.vifs.iter().filter(|(_, vif)| vif.vm == *vm).collect();
        vifs.sort_by_key(|(_, vif)| {
            (
                vif.device.parse::<u32>().unwrap_or(u32::MAX),
                vif.device.clone(),
            )
        });
        vifs.into_iter().map(|(r, _)| r.clone()).collect()
    }

    /// Whether a VDI is attached to a VM that is running (or paused).
    pub(crate) fn vdi_attached(&self, vdi: &Ref) -> bool {
        self.vbds
            .values()
            .any(|vbd| vbd.vdi == *vdi && vbd.currently_attached)
    }

    /// Bytes of virtual disk allocated on an SR.
    pub(crate) fn sr_allocation(&self, sr: &Ref) -> i64 {
        self.vdis
            .values()
            .filter(|vdi| vdi.sr == *sr)
            .map(|vdi| vdi.virtual_size)
            .sum()
    }

    /// Checks that `size` more bytes fit on an SR (`SR_FULL` otherwise).
    pub(crate) fn check_sr_space(&self, sr: &Ref, size: i64) -> XapiResult<()> {
        let record = self.sr(sr)?;
        let requested = self.sr_allocation(sr).saturating_add(size);
        if requested > record.physical_size {
            return Err(XapiError::new(
                "SR_FULL",
                [requested.to_string(), record.physical_size.to_string()],
            ));
        }
        Ok(())
    }
}
