//! The XenServer / XCP-ng side: find the VM by name or UUID and read its records into a
//! [`SourceVm`]; for a running VM, the snapshot of `--live` and the shutdown of
//! `--shutdown`, both as `xenapi::guard`s (the only changes made to the pool).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use cli_common::UsageError;
use xenapi::guard::{ShutDown, VmSnapshot};
use xenapi::records::VmRecord;
use xenapi::{Ref, Session, XenApiError};

use crate::source::{SourceDisk, SourceVm, XapiDisk};

/// A VM found in the pool, with its disks' VDI refs (in the order of [`SourceVm::disks`]).
#[derive(Debug)]
pub struct FoundVm {
    /// Its settings.
    pub source: SourceVm,
    /// The VDI of each disk of `source.disks`, in the same order.
    pub vdis: Vec<Ref>,
}

/// Whether `text` has the shape of a UUID.
fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The VM called `wanted` (a UUID, or a name that exactly one VM has: templates,
/// snapshots and control domains are not candidates).
pub fn find_vm(session: &Session, wanted: &str) -> Result<(Ref, VmRecord)> {
    if looks_like_uuid(wanted) {
        match session.vm().get_by_uuid(wanted) {
            Ok(vm) => {
                let record = session.vm().get_record(&vm)?;
                check_candidate(wanted, &record)?;
                return Ok((vm, record));
            }
            Err(XenApiError::Api { code, .. }) if code == "UUID_INVALID" => {}
            Err(e) => return Err(e).context(format!("looking up VM {wanted}")),
        }
    }
    let mut found = Vec::new();
    for vm in session
        .vm()
        .get_by_name_label(wanted)
        .with_context(|| format!("looking up VM `{wanted}`"))?
    {
        let record = session.vm().get_record(&vm)?;
        if !record.is_a_template && !record.is_a_snapshot && !record.is_control_domain {
            found.push((vm, record));
        }
    }
    match found.len() {
        0 => Err(UsageError(format!("no VM is named or has the UUID `{wanted}`")).into()),
        1 => Ok(found.pop().expect("one")),
        _ => {
            let uuids: Vec<&str> = found.iter().map(|(_, r)| r.uuid.as_str()).collect();
            Err(UsageError(format!(
                "{} VMs are named `{wanted}`: name one by its UUID ({})",
                found.len(),
                uuids.join(", ")
            ))
            .into())
        }
    }
}

fn check_candidate(wanted: &str, record: &VmRecord) -> Result<()> {
    let what = if record.is_control_domain {
        "a control domain"
    } else if record.is_a_snapshot {
        "a snapshot"
    } else if record.is_a_template {
        "a template"
    } else {
        return Ok(());
    };
    bail!(UsageError(format!("`{wanted}` is {what}, not a VM")))
}

/// Reads the VM's disks and NICs and maps them.
pub fn read_vm(session: &Session, record: &VmRecord) -> Result<FoundVm> {
    let mut slots = Vec::new();
    for vbd in &record.vbds {
        let vbd = session.vbd().get_record(vbd)?;
        let (vdi, sr_name) = if vbd.vdi.is_null() || vbd.empty {
            (None, String::new())
        } else {
            let vdi = session.vdi().get_record(&vbd.vdi)?;
            let sr_name = session.sr().get_record(&vdi.sr)?.name_label;
            (Some(vdi), sr_name)
        };
        slots.push(XapiDisk { vbd, vdi, sr_name });
    }
    let mut nics = Vec::new();
    for vif in &record.vifs {
        let vif = session.vif().get_record(vif)?;
        let network = session.network().get_record(&vif.network)?;
        nics.push((vif, network));
    }
    let source = SourceVm::from_xapi(record, &slots, &nics)?;
    let vdis = source
        .disks
        .iter()
        .map(|disk| {
            slots
                .iter()
                .find_map(|s| {
                    s.vdi
                        .as_ref()
                        .filter(|v| v.uuid == disk.uuid)
                        .map(|_| s.vbd.vdi.clone())
                })
                .expect("every mapped disk comes from a slot")
        })
        .collect();
    Ok(FoundVm { source, vdis })
}

/// `--live`: a snapshot of the running VM `vm` (called `name`), marked as this process's,
/// destroyed with its disks when the guard drops.
pub fn take_snapshot<'s>(session: &'s Session, vm: &Ref, name: &str) -> Result<VmSnapshot<'s>> {
    let label = format!("{name} (xen2ovirt snapshot)");
    let owner = format!("pid {}", std::process::id());
    let snapshot = VmSnapshot::take(session, vm, &label, &[("xen2ovirt", owner)])
        .with_context(|| format!("snapshotting VM `{name}`"))?;
    tracing::info!(snapshot = %snapshot.reference(), vm = %name, "snapshot taken");
    Ok(snapshot)
}

/// The snapshot's disk for each of `disks` (matched by position), in their order.
pub fn snapshot_vdis(snapshot: &VmSnapshot<'_>, disks: &[SourceDisk]) -> Result<Vec<Ref>> {
    let by_position = snapshot.disks()?;
    disks
        .iter()
        .map(|disk| {
            let position = disk.position.to_string();
            match by_position.iter().find(|(p, _)| *p == position) {
                Some((_, vdi)) => Ok(vdi.clone()),
                None => bail!(
                    "the snapshot has no disk at position {position} (`{}`)",
                    disk.name
                ),
            }
        })
        .collect()
}

/// `--shutdown`: the running VM `vm` (called `name`) shut down cleanly within `timeout`
/// (hard after it when `force`); the guard starts it again unless
/// [`ShutDown::completed`] is called.
pub fn shut_down<'s>(
    session: &'s Session,
    vm: &Ref,
    name: &str,
    timeout: Duration,
    force: bool,
) -> Result<ShutDown<'s>> {
    xenapi::guard::shut_down(session, vm, name, timeout, force).map_err(|error| {
        let hint = if matches!(error, XenApiError::Timeout { .. }) {
            " (give --force-shutdown for a hard shutdown after the deadline)"
        } else {
            ""
        };
        anyhow::Error::new(error).context(format!(
            "VM `{name}` did not shut down cleanly within {} s{hint}",
            timeout.as_secs()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_uuid;

    #[test]
    fn uuids_are_told_from_names() {
        assert!(looks_like_uuid("6c5e4d8f-1b9a-4c1e-9f7d-2a3b4c5d6e7f"));
        assert!(!looks_like_uuid("web-01"));
        assert!(!looks_like_uuid("6c5e4d8f-1b9a-4c1e-9f7d-2a3b4c5d6e7g"));
    }
}
