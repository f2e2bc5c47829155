//! Records as clients read them: stored records plus the back-references derived from the
//! objects that exist (`VM.VBDs`, `VM.snapshots`, `VDI.VBDs`, `SR.VDIs`, `network.VIFs`,
//! `host.resident_VMs`), as typed records (for the handle) or serialised to XML-RPC values
//! (for the generic getters). A serialised record also carries its `allowed_operations` and
//! every other field of XAPI's datamodel (see `datamodel`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use xenapi::Ref;
use xenapi::records::{PowerState, VdiRecord, VmRecord};
use xenapi::rpc::{Value, to_value};

use super::{Pool, datamodel, operations};
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

/// An object's reference and names, for the lookups by UUID and by name.
pub(crate) struct Identity<'a> {
    pub reference: &'a Ref,
    pub uuid: &'a str,
    /// `None` for classes without names (VBDs, VIFs).
    pub name_label: Option<&'a str>,
}

/// Back-references, computed once per read: of every object, or of the one object read.
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
    /// The back-references of every object (for reading a whole class).
    fn all(pool: &Pool) -> Self {
        Self::build(pool, None)
    }

    /// The back-references of one object only.
    fn of(pool: &Pool, class: Class, reference: &Ref) -> Self {
        Self::build(pool, Some((class, reference)))
    }

    fn build(pool: &Pool, only: Option<(Class, &Ref)>) -> Self {
        let wanted = |class: Class, key: &Ref| only.is_none_or(|(c, r)| c == class && r == key);
        let mut index = Index::default();
        let push = |map: &mut HashMap<Ref, Vec<Ref>>, key: &Ref, value: &Ref| {
            map.entry(key.clone()).or_default().push(value.clone());
        };
        let mut vbds: Vec<_> = pool
            .vbds
            .iter()
            .filter(|(_, vbd)| wanted(Class::Vm, &vbd.vm) || wanted(Class::Vdi, &vbd.vdi))
            .collect();
        vbds.sort_by_key(|(_, vbd)| vbd.userdevice.parse::<u32>().unwrap_or(u32::MAX));
        for (r, vbd) in vbds {
            if wanted(Class::Vm, &vbd.vm) {
                push(&mut index.vbds_of_vm, &vbd.vm, r);
            }
            if wanted(Class::Vdi, &vbd.vdi) {
                push(&mut index.vbds_of_vdi, &vbd.vdi, r);
            }
        }
        let mut vifs: Vec<_> = pool
            .vifs
            .iter()
            .filter(|(_, vif)| wanted(Class::Vm, &vif.vm) || wanted(Class::Network, &vif.network))
            .collect();
        vifs.sort_by_key(|(_, vif)| vif.device.parse::<u32>().unwrap_or(u32::MAX));
        for (r, vif) in vifs {
            if wanted(Class::Vm, &vif.vm) {
                push(&mut index.vifs_of_vm, &vif.vm, r);
            }
            if wanted(Class::Network, &vif.network) {
                push(&mut index.vifs_of_network, &vif.network, r);
            }
        }
        for (r, vm) in &pool.vms {
            if !vm.snapshot_of.is_null() && wanted(Class::Vm, &vm.snapshot_of) {
                push(&mut index.snapshots_of_vm, &vm.snapshot_of, r);
            }
            if !vm.resident_on.is_null() && wanted(Class::Host, &vm.resident_on) {
                push(&mut index.residents_of_host, &vm.resident_on, r);
            }
        }
        for (r, vdi) in &pool.vdis {
            if !vdi.snapshot_of.is_null() && wanted(Class::Vdi, &vdi.snapshot_of) {
                push(&mut index.snapshots_of_vdi, &vdi.snapshot_of, r);
            }
            if wanted(Class::Sr, &vdi.sr) {
                push(&mut index.vdis_of_sr, &vdi.sr, r);
                *index.allocation_of_sr.entry(vdi.sr.clone()).or_default() += vdi.virtual_size;
            }
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

    /// Every object of a class with its names, in reference order.
    pub(crate) fn identities(&self, class: Class) -> Vec<Identity<'_>> {
        fn of<'a, T>(
            records: &'a BTreeMap<Ref, T>,
            names: impl Fn(&'a T) -> (&'a str, Option<&'a str>),
        ) -> Vec<Identity<'a>> {
            records
                .iter()
                .map(|(reference, record)| {
                    let (uuid, name_label) = names(record);
                    Identity {
                        reference,
                        uuid,
                        name_label,
                    }
                })
                .collect()
        }
        match class {
            Class::Pool => vec![Identity {
                reference: &self.reference,
                uuid: &self.record.uuid,
                name_label: Some(&self.record.name_label),
            }],
            Class::Host => of(&self.hosts, |r| (&r.uuid, Some(&r.name_label))),
            Class::Vm => of(&self.vms, |r| (&r.uuid, Some(&r.name_label))),
            Class::Vbd => of(&self.vbds, |r| (&r.uuid, None)),
            Class::Vdi => of(&self.vdis, |r| (&r.uuid, Some(&r.name_label))),
            Class::Sr => of(&self.srs, |r| (&r.uuid, Some(&r.name_label))),
            Class::Vif => of(&self.vifs, |r| (&r.uuid, None)),
            Class::Network => of(&self.networks, |r| (&r.uuid, Some(&r.name_label))),
            Class::Task => of(&self.tasks, |t| {
                (&t.record.uuid, Some(&t.record.name_label))
            }),
        }
    }

    /// One record as a client reads it, or `HANDLE_INVALID`.
    pub(crate) fn record_value(&self, class: Class, reference: &Ref) -> XapiResult<Value> {
        if class == Class::Pool && *reference != self.reference {
            return Err(XapiError::handle_invalid("pool", reference.as_str()));
        }
        self.view(class, reference, &Index::of(self, class, reference))
    }

    /// Every record of a class, as a client reads them.
    pub(crate) fn record_values(&self, class: Class) -> XapiResult<Vec<(Ref, Value)>> {
        let index = Index::all(self);
        self.refs(class)
            .into_iter()
            .map(|r| self.view(class, &r, &index).map(|v| (r, v)))
            .collect()
    }

    /// A VM's record as a client reads it, or `HANDLE_INVALID`.
    pub(crate) fn vm_view(&self, vm: &Ref) -> XapiResult<VmRecord> {
        self.vm_in(vm, &Index::of(self, Class::Vm, vm))
    }

    /// Every VM's record as a client reads them.
    pub(crate) fn vm_views(&self) -> Vec<(Ref, VmRecord)> {
        let index = Index::all(self);
        self.vms
            .keys()
            .filter_map(|r| Some((r.clone(), self.vm_in(r, &index).ok()?)))
            .collect()
    }

    /// A VDI's record as a client reads it, or `HANDLE_INVALID`.
    pub(crate) fn vdi_view(&self, vdi: &Ref) -> XapiResult<VdiRecord> {
        self.vdi_in(vdi, &Index::of(self, Class::Vdi, vdi))
    }

    fn vm_in(&self, r: &Ref, index: &Index) -> XapiResult<VmRecord> {
        let mut vm = self.vm(r)?.clone();
        vm.vbds = Index::list(&index.vbds_of_vm, r);
        vm.vifs = Index::list(&index.vifs_of_vm, r);
        vm.snapshots = Index::list(&index.snapshots_of_vm, r);
        Ok(vm)
    }

    fn vdi_in(&self, r: &Ref, index: &Index) -> XapiResult<VdiRecord> {
        let mut vdi = self.vdi(r)?.clone();
        vdi.vbds = Index::list(&index.vbds_of_vdi, r);
        vdi.snapshots = Index::list(&index.snapshots_of_vdi, r);
        vdi.cbt_enabled = self.cbt.contains_key(r);
        Ok(vdi)
    }

    fn view(&self, class: Class, r: &Ref, index: &Index) -> XapiResult<Value> {
        let power_of = |vm: &Ref| {
            self.vms
                .get(vm)
                .map(|vm| vm.power_state)
                .unwrap_or_default()
        };
        let (mut record, allowed) = match class {
            Class::Pool => (value(&self.record)?, operations::POOL.to_vec()),
            Class::Host => {
                let mut host = self.host(r)?.clone();
                host.resident_vms = Index::list(&index.residents_of_host, r);
                (value(&host)?, operations::HOST.to_vec())
            }
            Class::Vm => {
                let vm = self.vm_in(r, index)?;
                (value(&vm)?, operations::vm(&vm).to_vec())
            }
            Class::Vbd => {
                let vbd = self.vbd(r)?;
                (
                    value(vbd)?,
                    operations::vbd(vbd, power_of(&vbd.vm)).to_vec(),
                )
            }
            Class::Vdi => {
                let vdi = self.vdi_in(r, index)?;
                let in_use = vdi.vbds.iter().any(|vbd| {
                    self.vbds
                        .get(vbd)
                        .is_some_and(|vbd| power_of(&vbd.vm) != PowerState::Halted)
                });
                let allowed = operations::vdi(&vdi, in_use);
                (value(&vdi)?, allowed)
            }
            Class::Sr => {
                let mut sr = self.sr(r)?.clone();
                sr.vdis = Index::list(&index.vdis_of_sr, r);
                let allocation = index.allocation_of_sr.get(r).copied().unwrap_or(0);
                sr.virtual_allocation = allocation;
                sr.physical_utilisation = allocation;
                (value(&sr)?, operations::SR.to_vec())
            }
            Class::Vif => {
                let vif = self.vif(r)?;
                let attached = vif.currently_attached || power_of(&vif.vm) == PowerState::Running;
                (value(vif)?, operations::vif(attached).to_vec())
            }
            Class::Network => {
                let mut network = self.network(r)?.clone();
                network.vifs = Index::list(&index.vifs_of_network, r);
                (value(&network)?, operations::NETWORK.to_vec())
            }
            Class::Task => {
                let task = self
                    .tasks
                    .get(r)
                    .ok_or_else(|| XapiError::handle_invalid("task", r.as_str()))?;
                (
                    value(&task.record)?,
                    operations::task(task.record.status).to_vec(),
                )
            }
        };
        set_member(
            &mut record,
            "allowed_operations",
            Value::Array(
                allowed
                    .into_iter()
                    .map(|op| Value::String(op.to_owned()))
                    .collect(),
            ),
        );
        datamodel::complete(class, &mut record);
        Ok(record)
    }
}

/// Sets (or adds) a member of a struct value.
fn set_member(record: &mut Value, name: &str, new: Value) {
    if let Value::Struct(members) = record {
        match members.iter_mut().find(|(member, _)| member == name) {
            Some((_, value)) => *value = new,
            None => members.push((name.to_owned(), new)),
        }
    }
}
