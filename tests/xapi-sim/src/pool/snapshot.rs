//! `VM.snapshot` and `VDI.snapshot`, in two steps around the copy of the disk files: a plan
//! made under the pool lock, the copies made without it (they may take seconds), and a
//! commit under the lock again. A snapshot's bytes are the source's bytes at the copy; later
//! writes to the source never reach it.

use std::path::PathBuf;

use xenapi::Ref;
use xenapi::records::{PowerState, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord};

use super::{Pool, new_ref, new_uuid, now};
use crate::error::{XapiError, XapiResult};

/// A VDI snapshot to make: copy `from` to `to`, then register `record` as `reference`.
#[derive(Debug, Clone)]
pub(crate) struct PlannedVdi {
    pub source: Ref,
    pub reference: Ref,
    pub record: VdiRecord,
    pub from: PathBuf,
    pub to: PathBuf,
}

/// Everything a snapshot creates, decided before the disks are copied.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotPlan {
    /// The snapshot VM and the VM it is taken of (`None` for a VDI snapshot).
    vm: Option<(Ref, VmRecord, Ref)>,
    vbds: Vec<(Ref, VbdRecord)>,
    vifs: Vec<(Ref, VifRecord)>,
    vdis: Vec<PlannedVdi>,
}

impl SnapshotPlan {
    /// The disk copies to make.
    pub(crate) fn copies(&self) -> impl Iterator<Item = (&PathBuf, &PathBuf)> {
        self.vdis.iter().map(|vdi| (&vdi.from, &vdi.to))
    }
}

impl Pool {
    /// Plans `VM.snapshot(vm, name)`.
    pub(crate) fn plan_vm_snapshot(&self, vm: &Ref, name: &str) -> XapiResult<SnapshotPlan> {
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
            vm: Some((snapshot_ref.clone(), snapshot, vm.clone())),
            vbds: Vec::new(),
            vifs: Vec::new(),
            vdis: Vec::new(),
        };
        for vbd_ref in self.vbds_of(vm) {
            let vbd = self.vbd(&vbd_ref)?;
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

    /// Plans `VDI.snapshot(vdi)`.
    pub(crate) fn plan_vdi_snapshot(&self, vdi: &Ref) -> XapiResult<SnapshotPlan> {
        let plan = SnapshotPlan {
            vm: None,
            vbds: Vec::new(),
            vifs: Vec::new(),
            vdis: vec![self.plan_vdi(vdi)?],
        };
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

    fn check_plan_space(&self, plan: &SnapshotPlan) -> XapiResult<()> {
        for vdi in &plan.vdis {
            let needed: i64 = plan
                .vdis
                .iter()
                .filter(|other| other.record.sr == vdi.record.sr)
                .map(|other| other.record.virtual_size)
                .sum();
            self.check_sr_space(&vdi.record.sr, needed)?;
        }
        Ok(())
    }

    /// Registers what a plan created, once its disks are copied. Returns the snapshot (the
    /// VM for a VM snapshot, the VDI for a VDI snapshot).
    pub(crate) fn commit_snapshot(&mut self, plan: SnapshotPlan) -> XapiResult<Ref> {
        if let Some((_, _, source)) = &plan.vm {
            self.vm(source)?;
        }
        for vdi in &plan.vdis {
            self.vdi(&vdi.source)?;
        }
        let mut result = None;
        for vdi in plan.vdis {
            self.vdis.insert(vdi.reference.clone(), vdi.record);
            self.cbt_snapshot_taken(&vdi.source, &vdi.reference);
            result.get_or_insert(vdi.reference);
        }
        self.vbds.extend(plan.vbds);
        self.vifs.extend(plan.vifs);
        if let Some((snapshot_ref, snapshot, source)) = plan.vm {
            self.vm_mut(&source)?.parent = snapshot_ref.clone();
            self.vms.insert(snapshot_ref.clone(), snapshot);
            return Ok(snapshot_ref);
        }
        result.ok_or_else(|| XapiError::internal("a VDI snapshot plan without a VDI"))
    }
}
