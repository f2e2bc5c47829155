//! `/disks`: floating disks (list, search, get, add with a client-chosen id, remove). A disk
//! is `locked` for a while after it is added; block domains refuse raw + sparse.

use super::{ApiRequest, boolean, collection, matches, number, search};
use crate::engine::{Engine, Handled, Reply, new_id};
use crate::model::{Disk, Format, SdKind};
use crate::storage;
use crate::views;
use crate::xml::{Node, Xml};

pub(super) fn route(engine: &mut Engine, r: &ApiRequest<'_>) -> Handled {
    match (r.method, r.segments.as_slice()) {
        ("GET", ["disks"]) => {
            let pattern = search(r, "name")?;
            let case_sensitive = r.flag("case_sensitive", true)?;
            Ok(collection("disks", |x| {
                for disk in &engine.disks {
                    if pattern.is_none_or(|p| matches(p, &disk.name, case_sensitive)) {
                        views::disk(engine, disk, x);
                    }
                }
            }))
        }
        ("POST", ["disks"]) => {
            let disk = create(engine, r.body()?)?;
            let mut x = Xml::new();
            views::disk(engine, engine.disk(&disk)?, &mut x);
            Ok(Reply::xml(201, x.finish()))
        }
        ("GET", ["disks", id]) => {
            let mut x = Xml::new();
            views::disk(engine, engine.disk(id)?, &mut x);
            Ok(Reply::xml(200, x.finish()))
        }
        ("DELETE", ["disks", id]) => {
            engine.require_unlocked(id)?;
            if engine
                .vms
                .iter()
                .any(|vm| vm.snapshots.iter().any(|s| s.disks.iter().any(|d| d == id)))
            {
                return Err(Reply::busy(
                    "Cannot remove Virtual Disk: the disk has snapshots.",
                ));
            }
            if engine
                .transfers
                .iter()
                .any(|t| t.disk == *id && !t.phase.is_over())
            {
                return Err(Reply::busy(
                    "Cannot remove Virtual Disk: an image transfer is in progress.",
                ));
            }
            engine.remove_disk_now(id);
            Ok(Reply::removed())
        }
        _ => Err(Reply::not_found()),
    }
}

/// Creates a disk from a `<disk>` body (also used by attachments that create one); returns
/// its id. The disk is `locked` for [`Timing::disk_lock`](crate::Timing::disk_lock).
pub(super) fn create(engine: &mut Engine, body: &Node) -> Result<String, Reply> {
    let incomplete = |what: &str| {
        Reply::fault(
            400,
            "Incomplete parameters",
            &format!("Disk [{what}] required for add"),
        )
    };
    let size = number(body, "provisioned_size")?.ok_or_else(|| incomplete("provisionedSize"))?;
    let format_text = body.text_at("format").ok_or_else(|| incomplete("format"))?;
    let format = Format::parse(format_text).ok_or_else(|| {
        Reply::bad_request(&format!("Invalid value '{format_text}' for 'format'"))
    })?;
    let sd_node = body
        .at("storage_domains/storage_domain")
        .ok_or_else(|| incomplete("storageDomains"))?;
    let sd = match (sd_node.attr("id"), sd_node.text_at("name")) {
        (Some(id), _) => engine.sd(id),
        (None, Some(name)) => engine.storage_domains.iter().find(|s| s.name == name),
        (None, None) => None,
    }
    .cloned()
    .ok_or_else(|| Reply::fault(404, "Not Found", "Storage domain not found"))?;
    let sparse = boolean(body, "sparse")?.unwrap_or(format == Format::Cow);
    if sd.kind == SdKind::Block && format == Format::Raw && sparse {
        return Err(Reply::bad_request(
            "Cannot add Virtual Disk. Disk configuration (RAW Sparse) is incompatible with the storage domain type.",
        ));
    }
    let incremental = match body.text_at("backup") {
        None | Some("none") => false,
        Some("incremental") if format == Format::Cow => true,
        Some("incremental") => {
            return Err(Reply::bad_request(
                "Cannot add Virtual Disk: incremental backup needs the cow format.",
            ));
        }
        Some(other) => {
            return Err(Reply::bad_request(&format!(
                "Invalid value '{other}' for 'backup'"
            )));
        }
    };
    let id = body.attr("id").map_or_else(new_id, str::to_owned);
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(Reply::bad_request(&format!("Invalid disk id '{id}'")));
    }
    if engine.disks.iter().any(|d| d.id == id) {
        return Err(Reply::fault(
            409,
            "Operation Failed",
            "A disk with this id already exists",
        ));
    }
    let image = body.text_at("image_id").map_or_else(new_id, str::to_owned);
    let volume = storage::create_volume(&sd.dir, &id, &image, format, size)
        .map_err(|e| Reply::fault(500, "Operation Failed", &e.to_string()))?;
    let name = body
        .text_at("name")
        .or_else(|| body.text_at("alias"))
        .unwrap_or_default()
        .to_owned();
    let locked_until = engine.lock_until(engine.timing.disk_lock);
    engine.disks.push(Disk {
        id: id.clone(),
        name,
        description: body.text_at("description").unwrap_or_default().to_owned(),
        sd: sd.id,
        provisioned_size: size,
        format,
        sparse,
        incremental,
        volumes: vec![volume],
        locked_until,
        bitmaps: Vec::new(),
    });
    Ok(id)
}
