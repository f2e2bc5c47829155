//! Reading `ova.xml`: the export's version header and its objects, with the disks in the
//! order their data follows in the archive.

use serde::Serialize;
use serde::de::DeserializeOwned;
use xenapi::records::{
    NetworkRecord, SrRecord, VbdRecord, VbdType, VdiRecord, VifRecord, VmRecord,
};
use xenapi::rpc::{CodecError, Value, decode_value, from_value};

use crate::error::{DiskImageError, Result};

/// The `version` header of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportVersion {
    /// Host that exported (XAPI writes `localhost`).
    pub hostname: String,
    /// Export date.
    pub date: String,
    /// Product version of the exporting host.
    pub product_version: String,
    /// Product brand (`XenServer`, `XCP-ng`, `xva-build`, …).
    pub product_brand: String,
    /// Build number.
    pub build_number: String,
    /// XAPI major version; importers refuse files newer than themselves.
    pub xapi_major: i64,
    /// XAPI minor version.
    pub xapi_minor: i64,
    /// Format version (2: inline checksums only; 0 when absent).
    pub export_vsn: i64,
}

/// One object of `ova.xml`, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct XvaObject {
    /// Datamodel class (`VM`, `VBD`, `VDI`, `SR`, `VIF`, `network`, …).
    pub class: String,
    /// Archive id (`Ref:12`).
    pub id: String,
    /// The record.
    pub snapshot: Value,
}

/// A disk whose data the archive carries.
#[derive(Debug, Clone, PartialEq)]
pub struct XvaDisk {
    /// Archive id of the VDI; its chunks are named `<id>/NNNNNNNN`.
    pub id: String,
    /// The VDI record.
    pub vdi: VdiRecord,
    /// The VBD attaching it to a VM of the archive, if any.
    pub vbd: Option<VbdRecord>,
}

impl XvaDisk {
    /// Virtual size in bytes.
    pub fn size(&self) -> u64 {
        self.vdi.virtual_size.max(0).cast_unsigned()
    }

    /// The slot the disk occupies in its VM (`userdevice`), if attached.
    pub fn userdevice(&self) -> Option<u32> {
        self.vbd
            .as_ref()
            .and_then(|vbd| vbd.userdevice.parse().ok())
    }
}

/// Everything `ova.xml` says.
#[derive(Debug, Clone)]
pub struct XvaMetadata {
    /// The version header.
    pub version: ExportVersion,
    /// VMs (an export of a VM with snapshots holds several), with their archive ids.
    pub vms: Vec<(String, VmRecord)>,
    /// Disks whose data follows, in archive order (string order of their ids).
    pub disks: Vec<XvaDisk>,
    /// Network interfaces.
    pub vifs: Vec<(String, VifRecord)>,
    /// Networks.
    pub networks: Vec<(String, NetworkRecord)>,
    /// Storage repositories.
    pub srs: Vec<(String, SrRecord)>,
    /// Every object, as stored (classes the toolkit does not model included).
    pub objects: Vec<XvaObject>,
}

impl XvaMetadata {
    /// Parses `ova.xml`; `location` names the archive in errors.
    pub fn parse(xml: &str, location: &str) -> Result<Self> {
        let metadata_error = |source: CodecError| DiskImageError::Metadata {
            location: location.to_owned(),
            source,
        };
        let root = decode_value(xml).map_err(metadata_error)?;
        let version = parse_version(root.member("version")).map_err(metadata_error)?;
        let objects = parse_objects(root.member("objects")).map_err(metadata_error)?;
        let of_class = |class: &str| -> Vec<(String, Value)> {
            objects
                .iter()
                .filter(|o| o.class.eq_ignore_ascii_case(class))
                .map(|o| (o.id.clone(), o.snapshot.clone()))
                .collect()
        };
        let vms = records::<VmRecord>(of_class("VM"), "VM").map_err(metadata_error)?;
        let vbds = records::<VbdRecord>(of_class("VBD"), "VBD").map_err(metadata_error)?;
        let vdis = records::<VdiRecord>(of_class("VDI"), "VDI").map_err(metadata_error)?;
        let srs = records::<SrRecord>(of_class("SR"), "SR").map_err(metadata_error)?;
        let vifs = records::<VifRecord>(of_class("VIF"), "VIF").map_err(metadata_error)?;
        let networks =
            records::<NetworkRecord>(of_class("network"), "network").map_err(metadata_error)?;
        let disks = streamed_disks(&vbds, vdis, &srs);
        if let Some(disk) = disks.iter().find(|d| d.vdi.virtual_size < 0) {
            return Err(metadata_error(CodecError::Data {
                path: vec![format!("VDI {}", disk.id), "virtual_size".to_owned()],
                message: format!("{} is negative", disk.vdi.virtual_size),
            }));
        }
        Ok(XvaMetadata {
            version,
            vms,
            disks,
            vifs,
            networks,
            srs,
            objects,
        })
    }

    /// The disks in the order a user sees them: by VM, then by `userdevice` (the boot disk
    /// first), unattached disks last. `--disk N` counts in this order.
    pub fn listing(&self) -> Vec<&XvaDisk> {
        let mut listed: Vec<&XvaDisk> = self.disks.iter().collect();
        let vm_position = |disk: &XvaDisk| {
            disk.vbd
                .as_ref()
                .and_then(|vbd| self.vms.iter().position(|(id, _)| id == vbd.vm.as_str()))
                .unwrap_or(usize::MAX)
        };
        listed.sort_by_key(|disk| (vm_position(disk), disk.userdevice().unwrap_or(u32::MAX)));
        listed
    }
}

/// VDIs the archive streams, as XAPI's importer decides: those attached through a non-CD
/// VBD, or of type `suspend`, and not on an ISO SR; ordered by id as strings.
fn streamed_disks(
    vbds: &[(String, VbdRecord)],
    vdis: Vec<(String, VdiRecord)>,
    srs: &[(String, SrRecord)],
) -> Vec<XvaDisk> {
    let mut disks: Vec<XvaDisk> = vdis
        .into_iter()
        .filter_map(|(id, vdi)| {
            let on_iso = srs
                .iter()
                .any(|(sr_id, sr)| sr_id == vdi.sr.as_str() && sr.content_type == "iso");
            let vbd = vbds
                .iter()
                .find(|(_, vbd)| vbd.vdi.as_str() == id && vbd.kind != VbdType::CD)
                .map(|(_, vbd)| vbd.clone());
            let streamed = !on_iso && (vbd.is_some() || vdi.kind == "suspend");
            streamed.then_some(XvaDisk { id, vdi, vbd })
        })
        .collect();
    disks.sort_by(|a, b| a.id.cmp(&b.id));
    disks
}

fn records<T: DeserializeOwned>(
    objects: Vec<(String, Value)>,
    class: &str,
) -> std::result::Result<Vec<(String, T)>, CodecError> {
    objects
        .into_iter()
        .map(|(id, snapshot)| {
            from_value::<T>(snapshot)
                .map(|record| (id.clone(), record))
                .map_err(|e| prefixed(e, &format!("{class} {id}")))
        })
        .collect()
}

fn prefixed(error: CodecError, at: &str) -> CodecError {
    match error {
        CodecError::Data { mut path, message } => {
            path.insert(0, at.to_owned());
            CodecError::Data { path, message }
        }
        other => other,
    }
}

fn structure(message: &str) -> CodecError {
    CodecError::Data {
        path: Vec::new(),
        message: message.to_owned(),
    }
}

fn parse_version(value: Option<&Value>) -> std::result::Result<ExportVersion, CodecError> {
    let value = value.ok_or_else(|| structure("no `version` header"))?;
    let text = |name: &str| {
        value
            .member(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let number = |name: &str| value.member(name).and_then(Value::as_i64);
    Ok(ExportVersion {
        hostname: text("hostname"),
        date: text("date"),
        product_version: text("product_version"),
        product_brand: text("product_brand"),
        build_number: text("build_number"),
        xapi_major: number("xapi_major").ok_or_else(|| structure("version.xapi_major missing"))?,
        xapi_minor: number("xapi_minor").ok_or_else(|| structure("version.xapi_minor missing"))?,
        export_vsn: number("export_vsn").unwrap_or(0),
    })
}

fn parse_objects(value: Option<&Value>) -> std::result::Result<Vec<XvaObject>, CodecError> {
    let items = value
        .and_then(Value::as_array)
        .ok_or_else(|| structure("no `objects` array"))?;
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let text = |name: &str| item.member(name).and_then(Value::as_str).map(str::to_owned);
            Ok(XvaObject {
                class: text("class")
                    .ok_or_else(|| structure(&format!("object {n} has no class")))?,
                id: text("id").ok_or_else(|| structure(&format!("object {n} has no id")))?,
                snapshot: item
                    .member("snapshot")
                    .cloned()
                    .ok_or_else(|| structure(&format!("object {n} has no snapshot")))?,
            })
        })
        .collect()
}
