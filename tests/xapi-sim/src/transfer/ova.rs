//! `ova.xml` from the pool's records: the objects of an export (the VM, its VBDs, VDIs,
//! SRs, VIFs and networks; with snapshots for a metadata export), references rewritten to
//! archive ids, normalised as XAPI's `export.ml` does.

use std::collections::HashMap;
use std::path::PathBuf;

use disk_image::xva::{ExportVersion, XvaObject, ova_xml};
use serde::Serialize;
use xenapi::Ref;
use xenapi::records::{
    NetworkRecord, PowerState, SrRecord, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord,
};
use xenapi::rpc::to_value;

use crate::error::{XapiError, XapiResult};
use crate::pool::{Pool, XAPI_VERSION};

/// A disk whose data an export streams.
#[derive(Debug, Clone)]
pub(crate) struct StreamedDisk {
    pub vdi: Ref,
    pub path: PathBuf,
    pub size: u64,
}

/// The records of an export, taken under the pool lock; the document is written once the
/// archive ids of the streamed disks are known.
pub(crate) struct OvaPlan {
    vms: Vec<(Ref, VmRecord)>,
    vbds: Vec<(Ref, VbdRecord)>,
    vdis: Vec<(Ref, VdiRecord)>,
    srs: Vec<(Ref, SrRecord)>,
    vifs: Vec<(Ref, VifRecord)>,
    networks: Vec<(Ref, NetworkRecord)>,
    /// Streamed disks, in archive order.
    pub streamed: Vec<StreamedDisk>,
    /// A metadata export keeps snapshots and power states.
    metadata: bool,
}

impl OvaPlan {
    /// A full export of `vm`: the VM alone, its disks streamed in `userdevice` order.
    pub(crate) fn full(pool: &Pool, vm: &Ref) -> XapiResult<OvaPlan> {
        let mut plan = OvaPlan::empty(false);
        plan.add_vm(pool, vm)?;
        for (_, vbd) in plan.vbds.clone() {
            let Some((_, vdi)) = plan.vdis.iter().find(|(r, _)| *r == vbd.vdi) else {
                continue;
            };
            let on_iso = pool.sr(&vdi.sr).is_ok_and(|sr| sr.content_type == "iso");
            if vbd.kind != VbdType::CD && !on_iso {
                plan.streamed.push(StreamedDisk {
                    vdi: vbd.vdi.clone(),
                    path: pool.vdi_path(&vbd.vdi)?,
                    size: vdi.virtual_size.max(0).cast_unsigned(),
                });
            }
        }
        Ok(plan)
    }

    /// A metadata export of `vm` and its snapshots.
    pub(crate) fn metadata(pool: &Pool, vm: &Ref) -> XapiResult<OvaPlan> {
        let mut plan = OvaPlan::empty(true);
        plan.add_vm(pool, vm)?;
        let snapshots: Vec<Ref> = pool
            .vms
            .iter()
            .filter(|(_, record)| record.snapshot_of == *vm)
            .map(|(r, _)| r.clone())
            .collect();
        for snapshot in snapshots {
            plan.add_vm(pool, &snapshot)?;
        }
        Ok(plan)
    }

    fn empty(metadata: bool) -> Self {
        OvaPlan {
            vms: Vec::new(),
            vbds: Vec::new(),
            vdis: Vec::new(),
            srs: Vec::new(),
            vifs: Vec::new(),
            networks: Vec::new(),
            streamed: Vec::new(),
            metadata,
        }
    }

    fn add_vm(&mut self, pool: &Pool, vm: &Ref) -> XapiResult<()> {
        self.vms.push((vm.clone(), pool.vm(vm)?.clone()));
        for vbd_ref in pool.vbds_of(vm) {
            let vbd = pool.vbd(&vbd_ref)?.clone();
            if !vbd.vdi.is_null() && !self.vdis.iter().any(|(r, _)| *r == vbd.vdi) {
                let vdi = pool.vdi(&vbd.vdi)?.clone();
                if !self.srs.iter().any(|(r, _)| *r == vdi.sr) {
                    self.srs.push((vdi.sr.clone(), pool.sr(&vdi.sr)?.clone()));
                }
                self.vdis.push((vbd.vdi.clone(), vdi));
            }
            self.vbds.push((vbd_ref, vbd));
        }
        for vif_ref in pool.vifs_of(vm) {
            let vif = pool.vif(&vif_ref)?.clone();
            if !self.networks.iter().any(|(r, _)| *r == vif.network) {
                self.networks
                    .push((vif.network.clone(), pool.network(&vif.network)?.clone()));
            }
            self.vifs.push((vif_ref, vif));
        }
        Ok(())
    }

    /// `ova.xml`, and the archive ids of the streamed disks (in archive order).
    pub(crate) fn document(&self, date: &str) -> XapiResult<(String, Vec<String>)> {
        let ids = self.ids();
        let disk_ids = self
            .streamed
            .iter()
            .map(|d| ids.map(&d.vdi).as_str().to_owned())
            .collect();
        let mut objects = self.vm_objects(&ids)?;
        objects.extend(self.device_objects(&ids)?);
        Ok((ova_xml(&version(date), &objects), disk_ids))
    }

    /// Archive ids, zero-padded so that string order is numeric order: the streamed disks
    /// first (in archive order), then every other object.
    fn ids(&self) -> Ids {
        let streamed = self.streamed.iter().map(|d| &d.vdi);
        let others = (self.vms.iter().map(|(r, _)| r))
            .chain(self.vbds.iter().map(|(r, _)| r))
            .chain(self.vdis.iter().map(|(r, _)| r))
            .chain(self.srs.iter().map(|(r, _)| r))
            .chain(self.vifs.iter().map(|(r, _)| r))
            .chain(self.networks.iter().map(|(r, _)| r));
        let mut ids: HashMap<Ref, String> = HashMap::new();
        let count = self.vms.len()
            + self.vbds.len()
            + self.vdis.len()
            + self.srs.len()
            + self.vifs.len()
            + self.networks.len();
        let width = count.to_string().len().max(3);
        for reference in streamed.chain(others) {
            let next = ids.len();
            ids.entry(reference.clone())
                .or_insert_with(|| format!("Ref:{next:0width$}"));
        }
        Ids(ids)
    }

    fn vm_objects(&self, ids: &Ids) -> XapiResult<Vec<XvaObject>> {
        let mut objects = Vec::new();
        for (r, vm) in &self.vms {
            let mut vm = vm.clone();
            vm.vbds = owned(&self.vbds, |b| b.vm == *r, ids);
            vm.vifs = owned(&self.vifs, |v| v.vm == *r, ids);
            vm.resident_on = Ref::null();
            vm.affinity = Ref::null();
            vm.metrics = Ref::null();
            vm.guest_metrics = Ref::null();
            vm.allowed_operations.clear();
            vm.current_operations.clear();
            if self.metadata {
                vm.snapshot_of = ids.map(&vm.snapshot_of);
                vm.parent = ids.map(&vm.parent);
                vm.snapshots = owned(&self.vms, |s| s.snapshot_of == *r, ids);
            } else {
                vm.power_state = PowerState::Halted;
                vm.is_a_snapshot = false;
                vm.snapshot_of = Ref::null();
                vm.parent = Ref::null();
                vm.snapshots.clear();
                vm.domid = -1;
            }
            objects.push(object("VM", &ids.map(r), &vm)?);
        }
        Ok(objects)
    }

    fn device_objects(&self, ids: &Ids) -> XapiResult<Vec<XvaObject>> {
        let mut objects = Vec::new();
        for (r, vbd) in &self.vbds {
            let mut vbd = vbd.clone();
            vbd.vm = ids.map(&vbd.vm);
            vbd.vdi = ids.map(&vbd.vdi);
            vbd.currently_attached &= self.metadata;
            vbd.allowed_operations.clear();
            vbd.current_operations.clear();
            objects.push(object("VBD", &ids.map(r), &vbd)?);
        }
        for (r, vif) in &self.vifs {
            let mut vif = vif.clone();
            vif.vm = ids.map(&vif.vm);
            vif.network = ids.map(&vif.network);
            vif.currently_attached &= self.metadata;
            vif.allowed_operations.clear();
            vif.current_operations.clear();
            objects.push(object("VIF", &ids.map(r), &vif)?);
        }
        for (r, network) in &self.networks {
            let mut network = network.clone();
            network.vifs = owned(&self.vifs, |v| v.network == *r, ids);
            network.pifs.clear();
            objects.push(object("network", &ids.map(r), &network)?);
        }
        for (r, vdi) in &self.vdis {
            let mut vdi = vdi.clone();
            vdi.sr = ids.map(&vdi.sr);
            vdi.vbds = owned(&self.vbds, |b| b.vdi == *r, ids);
            vdi.snapshot_of = ids.map(&vdi.snapshot_of);
            vdi.snapshots = vdi
                .snapshots
                .iter()
                .filter(|s| ids.0.contains_key(*s))
                .map(|s| ids.map(s))
                .collect();
            vdi.parent = Ref::null();
            vdi.allowed_operations.clear();
            vdi.current_operations.clear();
            objects.push(object("VDI", &ids.map(r), &vdi)?);
        }
        for (r, sr) in &self.srs {
            let mut sr = sr.clone();
            sr.vdis = owned(&self.vdis, |v| v.sr == *r, ids);
            sr.pbds.clear();
            sr.allowed_operations.clear();
            sr.current_operations.clear();
            objects.push(object("SR", &ids.map(r), &sr)?);
        }
        Ok(objects)
    }
}

/// Pool references to archive ids; references to objects not exported become null.
struct Ids(HashMap<Ref, String>);

impl Ids {
    fn map(&self, reference: &Ref) -> Ref {
        self.0
            .get(reference)
            .map_or_else(Ref::null, |id| Ref::new(id.clone()))
    }
}

/// The archive ids of the exported objects that `belongs`.
fn owned<T>(objects: &[(Ref, T)], belongs: impl Fn(&T) -> bool, ids: &Ids) -> Vec<Ref> {
    objects
        .iter()
        .filter(|(_, record)| belongs(record))
        .map(|(r, _)| ids.map(r))
        .collect()
}

fn object<T: Serialize>(class: &str, id: &Ref, record: &T) -> XapiResult<XvaObject> {
    let snapshot = to_value(record)
        .map_err(|e| XapiError::internal(format!("encoding the {class} record: {e}")))?;
    Ok(XvaObject {
        class: class.to_owned(),
        id: id.as_str().to_owned(),
        snapshot,
    })
}

/// The `version` header of the simulated hosts.
fn version(date: &str) -> ExportVersion {
    let (xapi_major, xapi_minor) = XAPI_VERSION;
    ExportVersion {
        hostname: "localhost".to_owned(),
        date: date.to_owned(),
        product_version: "8.3.0".to_owned(),
        product_brand: "XCP-ng".to_owned(),
        build_number: "xapi-sim".to_owned(),
        xapi_major,
        xapi_minor,
        export_vsn: 2,
    }
}
