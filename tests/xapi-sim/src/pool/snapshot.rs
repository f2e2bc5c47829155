//! `VM.snapshot` and `VDI.snapshot`, under the pool lock: the records a snapshot creates
//! are planned (and the space it needs checked), its disks share their sources' files
//! copy-on-write (a hard link, [`disks::share`]: instant whatever the size), then the records
//! are registered. A snapshot's bytes are the source's bytes at that moment; later writes to
//! the source never reach it.

use std::path::{Path, PathBuf};

use xenapi::Ref;
use xenapi::records::{PowerState, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord};

use super::{Pool, new_ref, new_uuid, now};
use crate::disks::{self, DiskStore};
use crate::error::{XapiError, XapiResult};

/// A VDI snapshot to make: link `to` to `from`, then register `record` as `reference`.
struct PlannedVdi {
    source: Ref,
    reference: Ref,
    record: VdiRecord,
    from: PathBuf,
    to: PathBuf,
}

/// Everything a snapshot creates.
struct SnapshotPlan {
    /// What the call returns: the snapshot VM, or the snapshot VDI.
    snapshot: Ref,
    /// The snapshot VM and the VM it is taken of (`None` for a VDI snapshot).
    vm: Option<(Ref, VmRecord, Ref)>,
    vbds: Vec<(Ref, VbdRecord)>,
    vifs: Vec<(Ref, VifRecord)>,
    vdis: Vec<PlannedVdi>,
}

impl Pool {
    /// `VM.snapshot(vm, name[, ignore_vdis])`: returns the snapshot VM, without the disks in
    /// `ignore`.
    pub(crate) fn snapshot_vm(&mut self, vm: &Ref, name: &str, ignore: &[Ref]) -> XapiResult<Ref> {
        let plan = self.plan_vm_snapshot(vm, name, ignore)?;
        self.take_snapshot(plan)
    }

    /// `VDI.snapshot(vdi)`: returns the snapshot VDI.
    pub(crate) fn snapshot_vdi(&mut self, vdi: &Ref) -> XapiResult<Ref> {
        let planned = self.plan_vdi(vdi)?;
        let plan = SnapshotPlan {
            snapshot: planned.reference.clone(),
            vm: None,
            vbds: Vec::new(),
            vifs: Vec::new(),
            vdis: vec![planned],
        };
        self.check_plan_space(&plan)?;
        self.take_snapshot(plan)
    }

    fn plan_vm_snapshot(&self, vm: &Ref, name: &str, ignore: &[Ref]) -> XapiResult<SnapshotPlan> {
        let source = self.vm(vm)?;
        if source.is_control_domain {
            return Err(XapiError::not_allowed("cannot snapshot a control domain"));
        }
        if source.is_a_template {
            return Err(XapiError::new("VM_IS_TEMPLATE", [vm.as_str()]));
        }
        let snapshot_ref = new_ref();
        let snapshot = VmRecord {
            uuid: new_uuid(),
            name_label: name.to_owned(),
            power_state: PowerState::Halted,
            is_a_template: true,
            is_default_template: false,
            is_a_snapshot: true,
            snapshot_of: vm.clone(),
            snapshot_time: now(),
            resident_on: Ref::null(),
            domid: -1,
            current_operations: xenapi::records::StringMap::default(),
            ..source.clone()
        };
        let mut plan = SnapshotPlan {
            snapshot: snapshot_ref.clone(),
            vm: Some((snapshot_ref.clone(), snapshot, vm.clone())),
            vbds: Vec::new(),
            vifs: Vec::new(),
            vdis: Vec::new(),
        };
        for vbd_ref in self.vbds_of(vm) {
            let vbd = self.vbd(&vbd_ref)?;
            if ignore.contains(&vbd.vdi) {
                // As XAPI does: an ignored VDI leaves no VBD in the snapshot.
                continue;
            }
            let vdi = if vbd.kind == VbdType::Disk && !vbd.vdi.is_null() {
                let planned = self.plan_vdi(&vbd.vdi)?;
                let reference = planned.reference.clone();
                plan.vdis.push(planned);
                reference
            } else {
                vbd.vdi.clone()
            };
            let copy = VbdRecord {
                uuid: new_uuid(),
                vm: snapshot_ref.clone(),
                vdi,
                currently_attached: false,
                ..vbd.clone()
            };
            plan.vbds.push((new_ref(), copy));
        }
        for vif_ref in self.vifs_of(vm) {
            let vif = self.vif(&vif_ref)?;
            let copy = VifRecord {
                uuid: new_uuid(),
                vm: snapshot_ref.clone(),
                currently_attached: false,
                ..vif.clone()
            };
            plan.vifs.push((new_ref(), copy));
        }
        self.check_plan_space(&plan)?;
        Ok(plan)
    }

    fn plan_vdi(&self, vdi: &Ref) -> XapiResult<PlannedVdi> {
        let source = self.vdi(vdi)?;
        let sr = self.sr(&source.sr)?;
        let uuid = new_uuid();
        let record = VdiRecord {
            uuid: uuid.clone(),
            location: uuid.clone(),
            vbds: Vec::new(),
            is_a_snapshot: true,
            snapshot_of: vdi.clone(),
            snapshots: Vec::new(),
            snapshot_time: now(),
            current_operations: xenapi::records::StringMap::default(),
            ..source.clone()
        };
        Ok(PlannedVdi {
            source: vdi.clone(),
            reference: new_ref(),
            record,
            from: self.vdi_path(vdi)?,
            to: self.store().path(&sr.uuid, &uuid),
        })
    }

    /// Checks that each SR the plan's disks go to has room for all of them (`SR_FULL`
    /// names the first SR, in disk order, that has not).
    fn check_plan_space(&self, plan: &SnapshotPlan) -> XapiResult<()> {
        let mut needed: Vec<(&Ref, i64)> = Vec::new();
        for vdi in &plan.vdis {
            let sr = &vdi.record.sr;
            match needed.iter_mut().find(|(other, _)| *other == sr) {
                Some((_, size)) => *size += vdi.record.virtual_size,
                None => needed.push((sr, vdi.record.virtual_size)),
            }
        }
        for (sr, size) in needed {
            self.check_sr_space(sr, size)?;
        }
        Ok(())
    }

    /// Shares the plan's disks with their sources and registers its records (the plan was
    /// made under the same lock: its sources exist). Returns the snapshot.
    fn take_snapshot(&mut self, plan: SnapshotPlan) -> XapiResult<Ref> {
        share_disks(&plan.vdis)?;
        for vdi in plan.vdis {
            self.vdis.insert(vdi.reference.clone(), vdi.record);
            self.cbt_snapshot_taken(&vdi.source, &vdi.reference);
        }
        self.vbds.extend(plan.vbds);
        self.vifs.extend(plan.vifs);
        if let Some((snapshot_ref, snapshot, source)) = plan.vm {
            if let Some(source) = self.vms.get_mut(&source) {
                source.parent = snapshot_ref.clone();
            }
            self.vms.insert(snapshot_ref, snapshot);
        }
        Ok(plan.snapshot)
    }
}

/// Links every planned disk to its source's file; on a failure, removes the links made.
fn share_disks(vdis: &[PlannedVdi]) -> XapiResult<()> {
    for (done, vdi) in vdis.iter().enumerate() {
        if let Err(e) = disks::share(&vdi.from, &vdi.to) {
            for made in vdis[..done].iter().map(|v| v.to.as_path()) {
                remove_quietly(made);
            }
            return Err(XapiError::internal(format!(
                "linking {} to {}: {e}",
                vdi.to.display(),
                vdi.from.display()
            )));
        }
    }
    Ok(())
}

fn remove_quietly(path: &Path) {
    if let Err(error) = DiskStore::remove(path) {
        tracing::warn!(path = %path.display(), %error, "could not remove a snapshot's disk");
    }
}
