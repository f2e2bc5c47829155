//! Building `ova.xml` for a [`VmSpec`]: typed XAPI records, serialised as XAPI does.

use xenapi::records::{
    NetworkRecord, SrRecord, StringMap, VbdMode, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord,
};
use xenapi::rpc::to_value;
use xenapi::{DateTime, Ref};

use crate::error::{DiskImageError, Result};
use crate::spec::{Boot, VmSpec};
use crate::xva::{ExportVersion, XvaObject, ova_xml};

/// The `xapi_major` / `xapi_minor` we declare: the lowest of any real export (xva.py's,
/// copied from XenServer 5.5), so every XAPI since accepts the file.
pub(crate) const XAPI_VERSION: (i64, i64) = (1, 3);

/// The format version with inline chunk checksums and no end-of-archive table.
pub(crate) const EXPORT_VSN: i64 = 2;

/// A disk as it will be packaged.
#[derive(Debug, Clone)]
pub(crate) struct PackagedDisk {
    /// Virtual size in bytes (a multiple of 512).
    pub size: u64,
    /// Bytes that hold data (for `physical_utilisation`).
    pub allocated: u64,
    /// `name_label` of the VDI.
    pub label: String,
}

/// `ova.xml` and the archive ids of the disks, in the disks' order (which is also stream
/// order: ids are zero-padded so that string order equals numeric order).
pub(crate) struct OvaDocument {
    pub xml: String,
    pub disk_ids: Vec<String>,
}

/// Hands out `Ref:NNN` ids of a fixed width.
struct Ids {
    next: usize,
    width: usize,
}

impl Ids {
    fn next(&mut self) -> String {
        let id = format!("Ref:{:0width$}", self.next, width = self.width);
        self.next += 1;
        id
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn flag(on: bool) -> String {
    if on { "true" } else { "false" }.to_owned()
}

/// Builds the document. `date` is the export date written in the version header.
pub(crate) fn build(spec: &VmSpec, disks: &[PackagedDisk], date: &str) -> Result<OvaDocument> {
    if disks.len() != spec.disks.len() {
        return Err(DiskImageError::Invalid(format!(
            "the VM has {} disks but {} were supplied",
            spec.disks.len(),
            disks.len()
        )));
    }
    let object_count = 3 + 2 * disks.len() + 2 * spec.vifs.len();
    let mut ids = Ids {
        next: 0,
        width: object_count.to_string().len().max(3),
    };
    let vm_id = ids.next();
    let sr_id = ids.next();
    let mut objects = Vec::new();
    let mut vbd_ids = Vec::new();
    let mut vdi_ids = Vec::new();

    // Disks first, so their VDI ids ascend in disk order.
    let mut userdevices = (0u32..).filter(|n| !(spec.cd_drive && *n == 3));
    for (position, (disk, packaged)) in spec.disks.iter().zip(disks).enumerate() {
        let (vbd_id, vdi_id) = (ids.next(), ids.next());
        let userdevice = userdevices.next().expect("an endless range");
        let vbd = VbdRecord {
            uuid: uuid(),
            vm: Ref::new(vm_id.clone()),
            vdi: Ref::new(vdi_id.clone()),
            device: disk.device.clone().unwrap_or_else(|| xvd_name(userdevice)),
            userdevice: userdevice.to_string(),
            bootable: position == 0,
            mode: if disk.writable {
                VbdMode::RW
            } else {
                VbdMode::RO
            },
            kind: VbdType::Disk,
            unpluggable: false,
            other_config: StringMap::from([("owner".to_owned(), "true".to_owned())]),
            ..VbdRecord::default()
        };
        let vdi = VdiRecord {
            uuid: uuid(),
            name_label: packaged.label.clone(),
            name_description: format!("Packaged by xva-build for {}", spec.name),
            sr: Ref::new(sr_id.clone()),
            vbds: vec![Ref::new(vbd_id.clone())],
            virtual_size: as_i64(packaged.size)?,
            physical_utilisation: as_i64(packaged.allocated)?,
            kind: if position == 0 { "system" } else { "user" }.to_owned(),
            read_only: !disk.writable,
            ..VdiRecord::default()
        };
        objects.push(object("VBD", &vbd_id, &vbd)?);
        objects.push(object("VDI", &vdi_id, &vdi)?);
        vbd_ids.push(vbd_id);
        vdi_ids.push(vdi_id);
    }
    if spec.cd_drive {
        let cd_id = ids.next();
        let cd = VbdRecord {
            uuid: uuid(),
            vm: Ref::new(vm_id.clone()),
            vdi: Ref::null(),
            userdevice: "3".to_owned(),
            mode: VbdMode::RO,
            kind: VbdType::CD,
            empty: true,
            ..VbdRecord::default()
        };
        objects.push(object("VBD", &cd_id, &cd)?);
        vbd_ids.push(cd_id);
    }
    let sr = SrRecord {
        uuid: uuid(),
        name_label: "Local storage".to_owned(),
        vdis: vdi_ids.iter().map(|id| Ref::new(id.clone())).collect(),
        kind: "ext".to_owned(),
        content_type: "user".to_owned(),
        ..SrRecord::default()
    };
    objects.push(object("SR", &sr_id, &sr)?);

    let vif_ids = vif_objects(spec, &mut ids, &vm_id, &mut objects)?;

    let vm = vm_record(spec, &vbd_ids, &vif_ids)?;
    objects.insert(0, object("VM", &vm_id, &vm)?);

    Ok(OvaDocument {
        xml: ova_xml(&version(date), &objects),
        disk_ids: vdi_ids,
    })
}

/// VIF and network objects of `spec`'s interfaces; returns the VIF ids.
fn vif_objects(
    spec: &VmSpec,
    ids: &mut Ids,
    vm_id: &str,
    objects: &mut Vec<XvaObject>,
) -> Result<Vec<String>> {
    let mut vif_ids = Vec::new();
    for (device, vif_spec) in spec.vifs.iter().enumerate() {
        let (vif_id, network_id) = (ids.next(), ids.next());
        let network = NetworkRecord {
            uuid: uuid(),
            name_label: vif_spec.network.clone(),
            vifs: vec![Ref::new(vif_id.clone())],
            bridge: vif_spec.network.clone(),
            ..NetworkRecord::default()
        };
        let vif = VifRecord {
            uuid: uuid(),
            device: device.to_string(),
            network: Ref::new(network_id.clone()),
            vm: Ref::new(vm_id),
            mac: vif_spec.mac.clone().unwrap_or_default(),
            mac_autogenerated: vif_spec.mac.is_none(),
            ..VifRecord::default()
        };
        objects.push(object("VIF", &vif_id, &vif)?);
        objects.push(object("network", &network_id, &network)?);
        vif_ids.push(vif_id);
    }
    Ok(vif_ids)
}

fn xvd_name(userdevice: u32) -> String {
    let letter = char::from(b'a' + (userdevice % 26) as u8);
    format!("xvd{letter}")
}

fn as_i64(value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| DiskImageError::Invalid(format!("{value} is too large for XAPI")))
}

fn object<T: serde::Serialize>(class: &str, id: &str, record: &T) -> Result<XvaObject> {
    let snapshot = to_value(record).map_err(|source| DiskImageError::Metadata {
        location: format!("{class} {id}"),
        source,
    })?;
    Ok(XvaObject {
        class: class.to_owned(),
        id: id.to_owned(),
        snapshot,
    })
}

fn version(date: &str) -> ExportVersion {
    let (xapi_major, xapi_minor) = XAPI_VERSION;
    ExportVersion {
        hostname: "localhost".to_owned(),
        date: date.to_owned(),
        product_version: env!("CARGO_PKG_VERSION").to_owned(),
        product_brand: "xva-build".to_owned(),
        build_number: env!("CARGO_PKG_VERSION").to_owned(),
        xapi_major,
        xapi_minor,
        export_vsn: EXPORT_VSN,
    }
}

fn vm_record(spec: &VmSpec, vbds: &[String], vifs: &[String]) -> Result<VmRecord> {
    let memory = as_i64(spec.memory)?;
    let max_memory = as_i64(spec.max_memory.unwrap_or(spec.memory).max(spec.memory))?;
    let vcpus = i64::from(spec.vcpus);
    let max_vcpus = i64::from(spec.max_vcpus.unwrap_or(spec.vcpus).max(spec.vcpus));
    let platform = StringMap::from([
        ("acpi".to_owned(), flag(spec.platform.acpi)),
        ("apic".to_owned(), flag(spec.platform.apic)),
        ("pae".to_owned(), flag(spec.platform.pae)),
        ("nx".to_owned(), flag(spec.platform.nx)),
        ("viridian".to_owned(), flag(spec.platform.viridian)),
    ]);
    let mut vm = VmRecord {
        uuid: uuid(),
        name_label: spec.name.clone(),
        name_description: spec.description.clone(),
        snapshot_time: DateTime::epoch(),
        memory_target: memory,
        memory_static_max: max_memory,
        memory_dynamic_max: max_memory,
        memory_dynamic_min: memory,
        memory_static_min: memory,
        vcpus_max: max_vcpus,
        vcpus_at_startup: vcpus,
        actions_after_shutdown: spec.actions.shutdown.clone(),
        actions_after_reboot: spec.actions.reboot.clone(),
        actions_after_crash: spec.actions.crash.clone(),
        vbds: vbds.iter().map(|id| Ref::new(id.clone())).collect(),
        vifs: vifs.iter().map(|id| Ref::new(id.clone())).collect(),
        platform,
        ..VmRecord::default()
    };
    match &spec.boot {
        Boot::Hvm { order } => {
            "BIOS order".clone_into(&mut vm.hvm_boot_policy);
            vm.hvm_boot_params = StringMap::from([("order".to_owned(), order.clone())]);
            "hvm".clone_into(&mut vm.domain_type);
        }
        Boot::Pv {
            bootloader,
            kernel,
            ramdisk,
            args,
        } => {
            vm.pv_bootloader = bootloader.clone().unwrap_or_default();
            vm.pv_kernel = kernel.clone().unwrap_or_default();
            vm.pv_ramdisk = ramdisk.clone().unwrap_or_default();
            vm.pv_args.clone_from(args);
            "pv".clone_into(&mut vm.domain_type);
        }
    }
    Ok(vm)
}

#[cfg(test)]
mod tests {
    use xenapi::rpc::{Value, decode_value, from_value};

    use super::*;
    use crate::spec::{DiskSpec, VifSpec};

    fn spec(disks: usize) -> VmSpec {
        let mut spec = VmSpec::new("web & db");
        spec.memory = 1 << 30;
        spec.max_memory = Some(2 << 30);
        spec.vcpus = 2;
        spec.platform.nx = true;
        spec.platform.apic = false;
        spec.disks = (0..disks)
            .map(|i| DiskSpec {
                path: format!("/d{i}").into(),
                device: None,
                writable: i != 1,
            })
            .collect();
        spec.vifs = vec![VifSpec {
            mac: Some("00:16:3e:00:00:01".into()),
            network: "xenbr0".into(),
        }];
        spec
    }

    fn packaged(n: usize) -> Vec<PackagedDisk> {
        (0..n)
            .map(|i| PackagedDisk {
                size: (i as u64 + 1) << 20,
                allocated: 4096,
                label: format!("disk{i}"),
            })
            .collect()
    }

    #[test]
    fn ids_sort_as_strings_in_disk_order() {
        let doc = build(&spec(12), &packaged(12), "2026-11-22").unwrap();
        let mut sorted = doc.disk_ids.clone();
        sorted.sort();
        assert_eq!(sorted, doc.disk_ids);
        assert_eq!(doc.disk_ids.len(), 12);
    }

    #[test]
    fn document_has_what_xapi_requires() {
        let doc = build(&spec(2), &packaged(2), "2026-11-22").unwrap();
        let value = decode_value(&doc.xml).unwrap();
        let version = value.member("version").unwrap();
        assert_eq!(version.member("xapi_major").unwrap().as_i64(), Some(1));
        assert_eq!(version.member("export_vsn").unwrap().as_i64(), Some(2));
        let objects = value.member("objects").unwrap().as_array().unwrap();
        let vm = objects
            .iter()
            .find(|o| o.member("class") == Some(&Value::from("VM")))
            .unwrap();
        let snapshot = vm.member("snapshot").unwrap();
        for field in [
            "parent",
            "PV_legacy_args",
            "recommendations",
            "domarch",
            "VCPUs_params",
        ] {
            assert!(snapshot.member(field).is_some(), "VM.{field} missing");
        }
        let record: VmRecord = from_value(snapshot.clone()).unwrap();
        assert_eq!(record.platform["nx"], "true");
        assert_eq!(record.platform["apic"], "false");
        assert_eq!(record.memory_static_max, 2 << 30);
        assert_eq!(record.memory_dynamic_min, 1 << 30);
        assert_eq!(record.vbds.len(), 3, "two disks and the CD drive");
        assert!(doc.xml.contains("<value>web &amp; db</value>"));
    }

    #[test]
    fn userdevice_three_is_left_to_the_cd() {
        let doc = build(&spec(5), &packaged(5), "2026-11-22").unwrap();
        let value = decode_value(&doc.xml).unwrap();
        let mut devices: Vec<String> = value
            .member("objects")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o.member("class") == Some(&Value::from("VBD")))
            .map(|o| from_value::<VbdRecord>(o.member("snapshot").unwrap().clone()).unwrap())
            .map(|vbd| format!("{}:{:?}", vbd.userdevice, vbd.kind))
            .collect();
        devices.sort();
        assert_eq!(
            devices,
            ["0:Disk", "1:Disk", "2:Disk", "3:CD", "4:Disk", "5:Disk"]
        );
    }
}
