//! Records as clients read them: stored records plus the back-references derived from the
//! objects that exist (`VM.VBDs`, `VM.snapshots`, `VDI.VBDs`, `SR.VDIs`, `network.VIFs`,
//! `host.resident_VMs`), serialised to XML-RPC values for the generic getters.

use std::collections::HashMap;

use serde::Serialize;
use xenapi::Ref;
use xenapi::rpc::{Value, to_value};

use super::Pool;
use crate::error::{XapiError, XapiResult};

/// The classes the simulator serves records of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Pool,
    Host,
    Vm,
    Vbd,
    Vdi,
    Sr,
    Vif,
    Network,
    Task,
}

impl Class {
    /// The class of an XAPI class name (`VM`, `network`, …).
    pub(crate) fn parse(name: &str) -> Option<Class> {
        Some(match name {
            "pool" => Class::Pool,
            "host" => Class::Host,
            "VM" => Class::Vm,
            "VBD" => Class::Vbd,
            "VDI" => Class::Vdi,
            "SR" => Class::Sr,
            "VIF" => Class::Vif,
            "network" => Class::Network,
            "task" => Class::Task,
            _ => return None,
        })
    }

    /// XAPI's name of the class, as in `HANDLE_INVALID`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Pool => "pool",
            Class::Host => "host",
            Class::Vm => "VM",
            Class::Vbd => "VBD",
            Class::Vdi => "VDI",
            Class::Sr => "SR",
            Class::Vif => "VIF",
            Class::Network => "network",
            Class::Task => "task",
        }
    }
}

/// Back-references, computed once per read.
#[derive(Default)]
struct Index {
    vbds_of_vm: HashMap<Ref, Vec<Ref>>,
    vifs_of_vm: HashMap<Ref, Vec<Ref>>,
    snapshots_of_vm: HashMap<Ref, Vec<Ref>>,
    vbds_of_vdi: HashMap<Ref, Vec<Ref>>,
    snapshots_of_vdi: HashMap<Ref, Vec<Ref>>,
    vdis_of_sr: HashMap<Ref, Vec<Ref>>,
    allocation_of_sr: HashMap<Ref, i64>,
    vifs_of_network: HashMap<Ref, Vec<Ref>>,
    residents_of_host: HashMap<Ref, Vec<Ref>>,
}

impl Index {
    fn new(pool: &Pool) -> Self {
        let mut index = Index::default();
        let push = |map: &mut HashMap<Ref, Vec<Ref>>, key: &Ref, value: &Ref| {
            map.entry(key.clone()).or_default().push(value.clone());
        };
        let mut vbds: Vec<_> = pool.vbds.iter().collect();
        vbds.sort_by_key(|(_, vbd)| vbd.userdevice.parse::<u32>().unwrap_or(u32::MAX));
        for (r, vbd) in vbds {
            push(&mut index.vbds_of_vm, &vbd.vm, r);
            push(&mut index.vbds_of_vdi, &vbd.vdi, r);
        }
        let mut vifs: Vec<_> = pool.vifs.iter().collect();
        vifs.sort_by_key(|(_, vif)| vif.device.parse::<u32>().unwrap_or(u32::MAX));
        for (r, vif) in vifs {
            push(&mut index.vifs_of_vm, &vif.vm, r);
            push(&mut index.vifs_of_network, &vif.network, r);
        }
        for (r, vm) in &pool.vms {
            if !vm.snapshot_of.is_null() {
                push(&mut index.snapshots_of_vm, &vm.snapshot_of, r);
            }
            if !vm.resident_on.is_null() {
                push(&mut index.residents_of_host, &vm.resident_on, r);
            }
        }
        for (r, vdi) in &pool.vdis {
            if !vdi.snapshot_of.is_null() {
                push(&mut index.snapshots_of_vdi, &vdi.snapshot_of, r);
            }
            push(&mut index.vdis_of_sr, &vdi.sr, r);
            *index.allocation_of_sr.entry(vdi.sr.clone()).or_default() += vdi.virtual_size;
        }
        index
    }

    fn list(map: &HashMap<Ref, Vec<Ref>>, key: &Ref) -> Vec<Ref> {
        map.get(key).cloned().unwrap_or_default()
    }
}

fn value<T: Serialize>(record: &T) -> XapiResult<Value> {
    to_value(record).map_err(|e| XapiError::internal(format!("encoding a record: {e}")))
}

impl Pool {
    /// References of every object of a class.
    pub(crate) fn refs(&self, class: Class) -> Vec<Ref> {
        match class {
            Class::Pool => vec![self.reference.clone()],
            Class::Host => self.hosts.keys().cloned().collect(),
            Class::Vm => self.vms.keys().cloned().collect(),
            Class::Vbd => self.vbds.keys().cloned().collect(),
            Class::Vdi => self.vdis.keys().cloned().collect(),
            Class::Sr => self.srs.keys().cloned().collect(),
            Class::Vif => self.vifs.keys().cloned().collect(),
            Class::Network => self.networks.keys().cloned().collect(),
            Class::Task => self.tasks.keys().cloned().collect(),
        }
    }

    /// One record as a client reads it, or `HANDLE_INVALID`.
    pub(crate) fn record_value(&self, class: Class, reference: &Ref) -> XapiResult<Value> {
        if class == Class::Pool && *reference != self.reference {
            return Err(XapiError::handle_invalid("pool", reference.as_str()));
        }
        self.view(class, reference, &Index::new(self))
    }

    /// Every record of a class, as a client reads them.
    pub(crate) fn record_values(&self, class: Class) -> XapiResult<Vec<(Ref, Value)>> {
        let index = Index::new(self);
        self.refs(class)
            .into_iter()
            .map(|r| self.view(class, &r, &index).map(|v| (r, v)))
            .collect()
    }

    fn view(&self, class: Class, r: &Ref, index: &Index) -> XapiResult<Value> {
        match class {
            Class::Pool => value(&self.record),
            Class::Host => {
                let mut host = self.host(r)?.clone();
                host.resident_vms = Index::list(&index.residents_of_host, r);
                value(&host)
            }
            Class::Vm => {
                let mut vm = self.vm(r)?.clone();
                vm.vbds = Index::list(&index.vbds_of_vm, r);
                vm.vifs = Index::list(&index.vifs_of_vm, r);
                vm.snapshots = Index::list(&index.snapshots_of_vm, r);
                value(&vm)
            }
            Class::Vbd => value(self.vbd(r)?),
            Class::Vdi => {
                let mut vdi = self.vdi(r)?.clone();
                vdi.vbds = Index::list(&index.vbds_of_vdi, r);
                vdi.snapshots = Index::list(&index.snapshots_of_vdi, r);
                vdi.cbt_enabled = self.cbt.contains_key(r);
                value(&vdi)
            }
            Class::Sr => {
                let mut sr = self.sr(r)?.clone();
                sr.vdis = Index::list(&index.vdis_of_sr, r);
                let allocation = index.allocation_of_sr.get(r).copied().unwrap_or(0);
                sr.virtual_allocation = allocation;
                sr.physical_utilisation = allocation;
                value(&sr)
            }
            Class::Vif => value(self.vif(r)?),
            Class::Network => {
                let mut network = self.network(r)?.clone();
                network.vifs = Index::list(&index.vifs_of_network, r);
                value(&network)
            }
            Class::Task => {
                let task = self
                    .tasks
                    .get(r)
                    .ok_or_else(|| XapiError::handle_invalid("task", r.as_str()))?;
                value(&task.record)
            }
        }
    }
}
