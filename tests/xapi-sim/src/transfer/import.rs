//! `PUT /import`: an XVA (plain, gzip or zstd) read with disk-image's reader, its disks
//! written into new VDIs, then its VMs, VBDs and VIFs created. UUIDs are kept only with
//! `restore=true`; without it MACs are regenerated. Whatever was created is removed again if
//! the import fails.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::time::Duration;

use disk_image::compress::decompressed;
use disk_image::xva::{XvaMetadata, XvaReader};
use disk_image::{DiskImageError, RawFileSink};
use xenapi::Ref;
use xenapi::records::{NetworkRecord, PowerState, VbdRecord, VbdType, VdiRecord, VifRecord};
use xenapi::rpc::{Value, encode_value, from_value};

use super::wire::{BodyReader, TaskProgress, cut_within, io_failure, is_cut};
use super::{Outcome, Transfer, transfer_headers};
use crate::error::{XapiError, XapiResult};
use crate::http::{Connection, write_head};
use crate::pool::{Pool, XAPI_VERSION, new_mac, new_ref, new_uuid};

/// The SR an upload goes to: `sr_id`, else `sr_uuid`, else the pool's default.
pub(crate) fn target_sr(pool: &Pool, transfer: &Transfer<'_>) -> XapiResult<Ref> {
    let request = transfer.request;
    if let Some(sr) = request.query("sr_id") {
        let sr = Ref::new(sr);
        pool.sr(&sr)?;
        return Ok(sr);
    }
    if let Some(uuid) = request.query("sr_uuid") {
        return pool.sr_by_uuid(uuid);
    }
    let default = pool.record.default_sr.clone();
    if pool.sr(&default).is_err() {
        return Err(XapiError::new("DEFAULT_SR_NOT_FOUND", [default.as_str()]));
    }
    Ok(default)
}

/// Refuses `Transfer-Encoding`, sends `100 Continue` when asked, then the `200` head.
pub(crate) fn accept_upload(
    transfer: &Transfer<'_>,
    connection: &mut Connection,
) -> Result<(), Outcome> {
    if transfer.request.has_transfer_encoding() {
        return Err(Outcome::refused(XapiError::new(
            "IMPORT_ERROR_CANNOT_HANDLE_CHUNKED",
            Vec::<String>::new(),
        )));
    }
    let out = connection.get_mut();
    let expects = transfer
        .request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let sent = (|| {
        if expects {
            out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        write_head(
            out,
            "HTTP/1.1",
            200,
            &transfer_headers(transfer, "text/plain"),
        )
    })();
    sent.map_err(|e| Outcome::done(Err(io_failure(&e))))
}

/// `PUT /import`.
pub(crate) fn import(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let checked = {
        let pool = transfer.ctx.shared.lock();
        target_sr(&pool, transfer)
    };
    let sr = match checked {
        Ok(sr) => sr,
        Err(error) => return Outcome::refused(error),
    };
    if let Err(outcome) = accept_upload(transfer, connection) {
        return outcome;
    }
    let length = match transfer.request.content_length() {
        Ok(length) => length,
        Err(error) => return Outcome::done(Err(io_failure(&error))),
    };
    let mut body = BodyReader::new(connection, length, transfer);
    let result = receive(transfer, &mut body, &sr);
    let cut = matches!(&result, Err(Failure::Io(e)) if is_cut(e));
    if !cut {
        drain_body(&mut body, result.is_err());
    }
    Outcome {
        result: result.map_err(Failure::into_xapi),
        head_sent: true,
        abrupt: cut,
    }
}

/// Most of a failed upload read before closing anyway.
const DRAIN_AFTER_FAILURE: u64 = 64 << 20;

/// Reads what is left of an upload (the client may still be sending, or the archive's end
/// may be unread), so that closing does not reset the connection under the client; gives
/// up after a short quiet, or after a bounded amount when the upload failed.
pub(crate) fn drain_body(body: &mut BodyReader<'_>, failed: bool) {
    body.set_timeout(Some(Duration::from_millis(500)));
    let limit = if failed {
        DRAIN_AFTER_FAILURE
    } else {
        u64::MAX
    };
    let _ = io::copy(&mut body.take(limit), &mut io::sink());
    body.set_timeout(None);
}

/// Why an import failed.
pub(crate) enum Failure {
    Io(io::Error),
    Xapi(XapiError),
}

impl Failure {
    pub(crate) fn into_xapi(self) -> XapiError {
        match self {
            Failure::Io(error) => io_failure(&error),
            Failure::Xapi(error) => error,
        }
    }
}

impl From<XapiError> for Failure {
    fn from(error: XapiError) -> Self {
        Failure::Xapi(error)
    }
}

fn import_error(error: DiskImageError) -> Failure {
    match cut_within(error) {
        Ok(cut) => Failure::Io(cut),
        Err(error) => Failure::Xapi(XapiError::new("IMPORT_ERROR", [error.to_string()])),
    }
}

fn receive(
    transfer: &Transfer<'_>,
    body: &mut BodyReader<'_>,
    sr: &Ref,
) -> Result<String, Failure> {
    let (input, _) = decompressed(&mut *body).map_err(Failure::Io)?;
    let mut reader = XvaReader::open(input, "the uploaded XVA").map_err(import_error)?;
    let metadata = reader.metadata().clone();
    let version = (metadata.version.xapi_major, metadata.version.xapi_minor);
    if version > XAPI_VERSION {
        return Err(XapiError::new("IMPORT_INCOMPATIBLE_VERSION", Vec::<String>::new()).into());
    }
    let restore = transfer.flag("restore");
    let force = transfer.flag("force");
    let shared = &transfer.ctx.shared;
    let created = shared.mutate(|pool| create_vdis(pool, &metadata, sr, restore))?;
    let streamed = stream_disks(transfer, &mut reader, &created, force);
    let result = streamed.and_then(|()| {
        shared
            .mutate(|pool| create_vms(pool, &metadata, &created, restore))
            .map_err(Failure::Xapi)
    });
    if result.is_err() {
        let _ = shared.mutate(|pool| {
            for vdi in created.values() {
                let _ = pool.destroy_vdi(vdi);
            }
            Ok(())
        });
    }
    let vms = result?;
    Ok(encode_value(&Value::Array(
        vms.into_iter().map(Value::from).collect(),
    )))
}

/// Creates a VDI on `sr` for every disk of the archive; archive id to VDI.
fn create_vdis(
    pool: &mut Pool,
    metadata: &XvaMetadata,
    sr: &Ref,
    restore: bool,
) -> XapiResult<HashMap<String, Ref>> {
    if restore {
        for (_, vm) in &metadata.vms {
            if pool.vm_by_uuid(&vm.uuid).is_ok() {
                return Err(XapiError::new("DUPLICATE_VM", [vm.uuid.as_str()]));
            }
        }
    }
    let needed: i64 = metadata.disks.iter().map(|d| d.vdi.virtual_size).sum();
    pool.check_sr_space(sr, needed)?;
    let mut created = HashMap::new();
    for disk in &metadata.disks {
        let record = VdiRecord {
            sr: sr.clone(),
            ..disk.vdi.clone()
        };
        created.insert(disk.id.clone(), pool.create_vdi(record)?);
    }
    Ok(created)
}

fn stream_disks<R: Read>(
    transfer: &Transfer<'_>,
    reader: &mut XvaReader<R>,
    created: &HashMap<String, Ref>,
    force: bool,
) -> Result<(), Failure> {
    let total = reader
        .metadata()
        .disks
        .iter()
        .map(disk_image::xva::XvaDisk::size)
        .sum();
    let progress = TaskProgress::new(transfer, total);
    while let Some(disk) = reader.next_disk().cloned() {
        let vdi = created
            .get(&disk.id)
            .ok_or_else(|| XapiError::internal(format!("no VDI for disk {}", disk.id)))?;
        let path = transfer.ctx.shared.lock().vdi_path(vdi)?;
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| XapiError::internal(format!("opening {}: {e}", path.display())))?;
        let mut sink = RawFileSink::new(&file, path.display().to_string());
        reader
            .read_disk(Some(&mut sink), !force, &progress)
            .map_err(import_error)?;
    }
    Ok(())
}

/// Creates the archive's VMs with their VBDs and VIFs; returns the new VMs.
fn create_vms(
    pool: &mut Pool,
    metadata: &XvaMetadata,
    vdis: &HashMap<String, Ref>,
    restore: bool,
) -> XapiResult<Vec<Ref>> {
    let vms: HashMap<String, Ref> = metadata
        .vms
        .iter()
        .map(|(id, _)| (id.clone(), new_ref()))
        .collect();
    let mapped = |map: &HashMap<String, Ref>, r: &Ref| {
        map.get(r.as_str()).cloned().unwrap_or_else(Ref::null)
    };
    let uuid = |kept: &str| if restore { kept.to_owned() } else { new_uuid() };
    let mut vbds = Vec::new();
    for object in metadata
        .objects
        .iter()
        .filter(|o| o.class.eq_ignore_ascii_case("VBD"))
    {
        let vbd: VbdRecord = from_value(object.snapshot.clone())
            .map_err(|e| XapiError::new("IMPORT_ERROR", [format!("VBD {}: {e}", object.id)]))?;
        let Some(vm) = vms.get(vbd.vm.as_str()) else {
            continue;
        };
        let vdi = mapped(vdis, &vbd.vdi);
        if vbd.kind == VbdType::Disk && vdi.is_null() {
            continue;
        }
        vbds.push(VbdRecord {
            uuid: uuid(&vbd.uuid),
            vm: vm.clone(),
            empty: vdi.is_null(),
            vdi,
            currently_attached: false,
            ..vbd
        });
    }
    let mut order = Vec::new();
    for (id, vm) in &metadata.vms {
        let mut record = vm.clone();
        record.uuid = uuid(&vm.uuid);
        record.power_state = PowerState::Halted;
        record.resident_on = Ref::null();
        record.domid = -1;
        record.snapshot_of = mapped(&vms, &vm.snapshot_of);
        record.parent = mapped(&vms, &vm.parent);
        record.vbds.clear();
        record.vifs.clear();
        record.snapshots.clear();
        pool.vms.insert(vms[id].clone(), record);
        order.push(vms[id].clone());
    }
    for vbd in vbds {
        pool.vbds.insert(new_ref(), vbd);
    }
    for (_, vif) in &metadata.vifs {
        let Some(vm) = vms.get(vif.vm.as_str()) else {
            continue;
        };
        let network = network_for(pool, metadata, &vif.network);
        let keep_mac = restore && !vif.mac.is_empty();
        let record = VifRecord {
            uuid: uuid(&vif.uuid),
            vm: vm.clone(),
            network,
            mac: if keep_mac { vif.mac.clone() } else { new_mac() },
            mac_autogenerated: !keep_mac || vif.mac_autogenerated,
            currently_attached: false,
            ..vif.clone()
        };
        pool.vifs.insert(new_ref(), record);
    }
    Ok(order)
}

/// The pool network for an archive network: same `name_label`, else same bridge, else a
/// new one.
fn network_for(pool: &mut Pool, metadata: &XvaMetadata, id: &Ref) -> Ref {
    let archived = metadata
        .networks
        .iter()
        .find(|(n, _)| n == id.as_str())
        .map(|(_, record)| record.clone())
        .unwrap_or_default();
    let found = pool
        .networks
        .iter()
        .find(|(_, n)| n.name_label == archived.name_label)
        .or_else(|| {
            pool.networks
                .iter()
                .find(|(_, n)| !archived.bridge.is_empty() && n.bridge == archived.bridge)
        })
        .map(|(r, _)| r.clone());
    found.unwrap_or_else(|| {
        let reference = new_ref();
        pool.networks.insert(
            reference.clone(),
            NetworkRecord {
                uuid: new_uuid(),
                vifs: Vec::new(),
                pifs: Vec::new(),
                ..archived
            },
        );
        reference
    })
}
