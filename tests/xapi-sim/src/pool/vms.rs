//! VM lifecycle: creation from a [`NewVm`], power operations and their checks, setters,
//! destruction.

use xenapi::Ref;
use xenapi::records::{PowerState, StringMap, VbdMode, VbdRecord, VbdType, VdiRecord, VmRecord};

use super::{Pool, new_ref, new_uuid};
use crate::config::NewVm;
use crate::disks;
use crate::error::{SimError, XapiError, XapiResult};

/// XAPI's lower-case name of a power state, as in `VM_BAD_POWER_STATE`.
pub(crate) fn power_name(state: PowerState) -> &'static str {
    match state {
        PowerState::Halted => "halted",
        PowerState::Paused => "paused",
        PowerState::Running => "running",
        PowerState::Suspended => "suspended",
    }
}

fn bad_power_state(vm: &Ref, expected: PowerState, actual: PowerState) -> XapiError {
    XapiError::new(
        "VM_BAD_POWER_STATE",
        [vm.as_str(), power_name(expected), power_name(actual)],
    )
}

/// What [`SimHandle::add_vm`](crate::SimHandle::add_vm) made: the VM and its disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedVm {
    /// The VM.
    pub vm: Ref,
    /// Its VDIs, in disk order.
    pub vdis: Vec<Ref>,
    /// Its VBDs, in disk order (the CD drive last).
    pub vbds: Vec<Ref>,
    /// Its VIFs.
    pub vifs: Vec<Ref>,
}

impl Pool {
    /// Creates a VM with its disks (files written with their contents), VBDs and VIFs, on
    /// the default SR and the first network.
    pub(crate) fn create_vm(&mut self, spec: &NewVm) -> Result<CreatedVm, SimError> {
        let sr = self.record.default_sr.clone();
        let network = self.networks.keys().next().cloned();
        let vm = new_ref();
        let mut created = CreatedVm {
            vm: vm.clone(),
            vdis: Vec::new(),
            vbds: Vec::new(),
            vifs: Vec::new(),
        };
        for (position, disk) in spec.disks.iter().enumerate() {
            let size = disk.size.div_ceil(512) * 512;
            let record = VdiRecord {
                name_label: disk.label.clone(),
                name_description: format!("disk {position} of {}", spec.name),
                sr: sr.clone(),
                virtual_size: i64::try_from(size)
                    .map_err(|_| XapiError::internal("disk too large"))?,
                kind: if position == 0 { "system" } else { "user" }.to_owned(),
                ..VdiRecord::default()
            };
            let vdi = self.create_vdi(record)?;
            let path = self.vdi_path(&vdi)?;
            disks::fill(&path, size, &disk.contents)
                .map_err(|e| SimError::io(format!("writing the disk {}", path.display()), e))?;
            let userdevice = if spec.cd_drive && position >= 3 {
                position + 1
            } else {
                position
            };
            let vbd = VbdRecord {
                uuid: new_uuid(),
                vm: vm.clone(),
                vdi: vdi.clone(),
                device: format!("xvd{}", char::from(b'a' + (userdevice % 26) as u8)),
                userdevice: userdevice.to_string(),
                bootable: position == 0,
                mode: VbdMode::RW,
                kind: VbdType::Disk,
                other_config: StringMap::from([("owner".to_owned(), "true".to_owned())]),
                ..VbdRecord::default()
            };
            created.vdis.push(vdi);
            created.vbds.push(self.insert_vbd(vbd));
        }
        if spec.cd_drive {
            let cd = VbdRecord {
                uuid: new_uuid(),
                vm: vm.clone(),
                userdevice: "3".to_owned(),
                device: "xvdd".to_owned(),
                mode: VbdMode::RO,
                kind: VbdType::CD,
                empty: true,
                ..VbdRecord::default()
            };
            created.vbds.push(self.insert_vbd(cd));
        }
        let mut record = VmRecord {
            uuid: new_uuid(),
            name_label: spec.name.clone(),
            name_description: spec.description.clone(),
            memory_target: spec.memory,
            memory_static_max: spec.memory,
            memory_dynamic_max: spec.memory,
            memory_dynamic_min: spec.memory,
            memory_static_min: spec.memory,
            vcpus_max: spec.vcpus,
            vcpus_at_startup: spec.vcpus,
            other_config: spec.other_config.iter().cloned().collect(),
            tags: spec.tags.clone(),
            platform: StringMap::from([
                ("acpi".to_owned(), "1".to_owned()),
                ("apic".to_owned(), "true".to_owned()),
                ("pae".to_owned(), "true".to_owned()),
                ("nx".to_owned(), "true".to_owned()),
            ]),
            ..VmRecord::default()
        };
        if spec.hvm {
            "BIOS order".clone_into(&mut record.hvm_boot_policy);
            record.hvm_boot_params = StringMap::from([("order".to_owned(), "cd".to_owned())]);
            "hvm".clone_into(&mut record.domain_type);
        } else {
            "pygrub".clone_into(&mut record.pv_bootloader);
            "pv".clone_into(&mut record.domain_type);
        }
        self.vms.insert(vm.clone(), record);
        if let Some(network) = network {
            for (device, mac) in spec.vifs.iter().enumerate() {
                created
                    .vifs
                    .push(self.create_vif_for(&vm, &network, device, mac)?);
            }
        }
        if spec.power_state != PowerState::Halted {
            self.start_vm(&vm, spec.power_state == PowerState::Paused)?;
            self.vm_mut(&vm)?.power_state = spec.power_state;
        }
        Ok(created)
    }

    fn insert_vbd(&mut self, vbd: VbdRecord) -> Ref {
        let reference = new_ref();
        self.vbds.insert(reference.clone(), vbd);
        reference
    }

    /// `VM.start(vm, start_paused, force)`.
    pub(crate) fn start_vm(&mut self, vm: &Ref, paused: bool) -> XapiResult<()> {
        let record = self.vm(vm)?;
        if record.is_a_template {
            return Err(XapiError::new("VM_IS_TEMPLATE", [vm.as_str()]));
        }
        if record.power_state != PowerState::Halted {
            return Err(bad_power_state(vm, PowerState::Halted, record.power_state));
        }
        let master = self.master().clone();
        self.next_domid += 1;
        let domid = self.next_domid;
        let record = self.vm_mut(vm)?;
        record.power_state = if paused {
            PowerState::Paused
        } else {
            PowerState::Running
        };
        record.resident_on = master;
        record.domid = domid;
        self.set_attached(vm, true);
        Ok(())
    }

    /// `VM.clean_shutdown` (Running only) or `VM.hard_shutdown` (Running or Paused).
    pub(crate) fn shutdown_vm(&mut self, vm: &Ref, hard: bool) -> XapiResult<()> {
        let record = self.vm(vm)?;
        let allowed = match record.power_state {
            PowerState::Running => true,
            PowerState::Paused => hard,
            PowerState::Halted | PowerState::Suspended => false,
        };
        if !allowed {
            return Err(bad_power_state(vm, PowerState::Running, record.power_state));
        }
        let record = self.vm_mut(vm)?;
        record.power_state = PowerState::Halted;
        record.resident_on = Ref::null();
        record.domid = -1;
        self.set_attached(vm, false);
        Ok(())
    }

    fn set_attached(&mut self, vm: &Ref, attached: bool) {
        for vbd in self.vbds.values_mut().filter(|vbd| vbd.vm == *vm) {
            vbd.currently_attached = attached && !vbd.empty;
        }
        for vif in self.vifs.values_mut().filter(|vif| vif.vm == *vm) {
            vif.currently_attached = attached;
        }
    }

    /// `VM.destroy`: the VM, its VBDs and VIFs; its VDIs stay, as in XAPI.
    pub(crate) fn destroy_vm(&mut self, vm: &Ref) -> XapiResult<()> {
        let record = self.vm(vm)?;
        if record.is_control_domain {
            return Err(XapiError::not_allowed("cannot destroy a control domain"));
        }
        if !matches!(
            record.power_state,
            PowerState::Halted | PowerState::Suspended
        ) {
            return Err(bad_power_state(vm, PowerState::Halted, record.power_state));
        }
        self.vbds.retain(|_, vbd| vbd.vm != *vm);
        self.vifs.retain(|_, vif| vif.vm != *vm);
        self.vms.remove(vm);
        for other in self.vms.values_mut() {
            if other.parent == *vm {
                other.parent = Ref::null();
            }
        }
        Ok(())
    }

    /// `VM.set_is_a_template`: making a VM a template needs it halted.
    pub(crate) fn set_is_a_template(&mut self, vm: &Ref, value: bool) -> XapiResult<()> {
        let record = self.vm(vm)?;
        if value && record.power_state != PowerState::Halted {
            return Err(bad_power_state(vm, PowerState::Halted, record.power_state));
        }
        self.vm_mut(vm)?.is_a_template = value;
        Ok(())
    }
}
