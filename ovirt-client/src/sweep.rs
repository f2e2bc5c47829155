//! The leftover sweep: what runs that are gone (killed, crashed, their host rebooted) left
//! on the engine, found by the owner mark in the snapshot descriptions ([`crate::owner`]),
//! and removed — exactly those, nothing else.
//!
//! For each VM named, every snapshot whose description carries a mark of the sweeping
//! tool whose owner is gone ([`Mark::is_leftover`]) is a leftover; then, in this order:
//!
//! 1. image transfers still open that download one of its disk snapshots are finalized (a
//!    download holds nothing worth keeping; an upload is never touched here, since
//!    cancelling it deletes its disk); a transfer that names only the disk is taken when
//!    no live snapshot of ours holds that disk (whose run may own the transfer);
//! 2. its disks attached to the appliance are detached (plain detach: the disk stays);
//! 3. the snapshot is deleted and awaited until gone.
//!
//! Snapshots of live runs, of other tools, and without a mark are left alone and counted.
//! A failure on one object is recorded and the sweep goes on.
//!
//! [`sweep_unfinished_vms`] does the same for VMs a restore or a migration was building
//! when its run died (their description is still the owner mark): the uploads still open
//! into their disks are cancelled, then each VM is removed with its disks.
//! [`sweep_unfinished_disks`] then removes the disks such a build made and had not
//! attached yet (floating, or on the appliance to be fixed up), by the same mark.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::owner::{Mark, Owner};
use crate::snapshot_backup::remove_snapshot_patiently;
use crate::types::{
    Action, ImageTransfer, ImageTransferDirection, ImageTransferPhase, ImageTransfers,
};

/// One snapshot the sweep looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptSnapshot {
    /// The VM's id.
    pub vm: String,
    /// The snapshot's id.
    pub id: String,
    /// Its description.
    pub description: String,
}

/// A leftover snapshot and its disks: `(disk id, frozen image id)`.
type Leftover = (SweptSnapshot, Vec<(String, Option<String>)>);

/// What a sweep did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Leftover snapshots removed.
    pub snapshots: Vec<SweptSnapshot>,
    /// Snapshots of ours whose owner still runs (or runs elsewhere and is recent): kept.
    pub live: Vec<SweptSnapshot>,
    /// `(appliance, disk)` attachments detached.
    pub attachments: Vec<(String, String)>,
    /// Transfers finalized.
    pub transfers: Vec<String>,
    /// What could not be removed (the next sweep tries again).
    pub failures: Vec<OvirtError>,
}

impl SweepReport {
    /// Whether everything found was removed.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Removes what dead runs of `here.tool` left on the VMs `vms` (ids) and on the appliance
/// `appliance` (a VM id, when the tool reads disks there), as seen at `now`; each
/// snapshot removal may take `remove_timeout`. Only listing a VM's snapshots fails the
/// sweep (a VM that is gone is skipped); everything else is recorded in the report.
pub fn sweep_leftovers(
    connection: &Connection,
    here: &Owner,
    now: Timestamp,
    vms: &[String],
    appliance: Option<&str>,
    remove_timeout: Duration,
) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let mut leftovers = Vec::new();
    let mut live_disks = BTreeSet::new();
    for vm in vms {
        let snapshots = match connection.snapshots(vm) {
            Ok(snapshots) => snapshots,
            Err(error) if error.is_not_found() => continue, // the VM is gone
            Err(error) => return Err(error),
        };
        for snapshot in snapshots {
            let (Some(id), Some(description)) = (snapshot.id, snapshot.description) else {
                continue;
            };
            let Some(mark) = Mark::parse(&description) else {
                continue;
            };
            let seen = SweptSnapshot {
                vm: vm.clone(),
                id,
                description,
            };
            let disks: Vec<(String, Option<String>)> = connection
                .snapshot_disks(vm, &seen.id)?
                .into_iter()
                .filter_map(|d| d.id.map(|id| (id, d.image_id)))
                .collect();
            if mark.is_leftover(here, now) {
                leftovers.push((seen, disks));
            } else if mark.owner.tool == here.tool {
                live_disks.extend(disks.into_iter().map(|(id, _)| id));
                report.live.push(seen);
            }
        }
    }
    if leftovers.is_empty() {
        return Ok(report);
    }
    let held = |disk: &str| {
        leftovers
            .iter()
            .any(|(_, disks)| disks.iter().any(|(id, _)| id == disk))
    };
    finalize_transfers(connection, &leftovers, &live_disks, &mut report);
    if let Some(appliance) = appliance {
        for disk in detach_from_appliance(connection, appliance, held, &mut report.failures) {
            report.attachments.push((appliance.to_owned(), disk));
        }
    }
    for (snapshot, _) in leftovers {
        match remove_snapshot_patiently(connection, &snapshot.vm, &snapshot.id, remove_timeout) {
            Ok(()) => {
                tracing::info!(vm = %snapshot.vm, snapshot = %snapshot.id, description = %snapshot.description, "leftover snapshot removed");
                report.snapshots.push(snapshot);
            }
            Err(error) => report.failures.push(error),
        }
    }
    Ok(report)
}

/// Detaches from `appliance` every disk attached there that `held` says is a leftover's
/// (plain detach: the disk stays); returns the disks detached, records the failures.
fn detach_from_appliance(
    connection: &Connection,
    appliance: &str,
    held: impl Fn(&str) -> bool,
    failures: &mut Vec<OvirtError>,
) -> Vec<String> {
    let attachments = match connection.attachments(appliance) {
        Ok(attachments) => attachments,
        Err(error) => {
            failures.push(error);
            return Vec::new();
        }
    };
    let mut detached = Vec::new();
    for disk in attachments
        .into_iter()
        .filter_map(|a| a.id.or(a.disk.and_then(|d| d.id)))
        .filter(|disk| held(disk))
    {
        match connection.detach_disk(appliance, &disk) {
            Ok(()) => {
                tracing::info!(%disk, %appliance, "leftover disk detached from the appliance");
                detached.push(disk);
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => failures.push(error),
        }
    }
    detached
}

/// Finalizes open downloads of the leftovers' disks (not of disks a live run holds).
fn finalize_transfers(
    connection: &Connection,
    leftovers: &[Leftover],
    live_disks: &BTreeSet<String>,
    report: &mut SweepReport,
) {
    let transfers = match connection.get::<ImageTransfers>(
        "/imagetransfers",
        &Query::new(),
        "listing image transfers",
    ) {
        Ok(list) => list.items,
        Err(error) => {
            report.failures.push(error);
            return;
        }
    };
    for transfer in transfers {
        if !is_open(&transfer, ImageTransferDirection::Download) {
            continue;
        }
        let image = transfer.snapshot.as_ref().and_then(|r| r.id.as_deref());
        let disk = transfer
            .image
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .or(transfer.disk.as_ref().and_then(|d| d.id.as_deref()));
        let ours = leftovers.iter().any(|(_, disks)| {
            disks.iter().any(|(id, frozen)| match image {
                // A download of a disk snapshot: ours when the snapshot is a leftover's.
                Some(image) => frozen.as_deref() == Some(image),
                // A download naming the disk only: ours unless a live run holds the disk.
                None => disk == Some(id.as_str()) && !live_disks.contains(id),
            })
        });
        let Some(id) = transfer.id.filter(|_| ours) else {
            continue;
        };
        let what = format!("finalizing the leftover transfer {id}");
        match connection.action(
            &format!("/imagetransfers/{id}"),
            "finalize",
            &Query::new(),
            &Action::default(),
            &what,
        ) {
            Ok(_) => {
                tracing::info!(transfer = %id, "leftover transfer finalized");
                report.transfers.push(id);
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => report.failures.push(error),
        }
    }
}

/// Cancels the open uploads into the disks of the unfinished VM `vm` (a killed run's:
/// cancelling deletes the disk, which goes with the VM anyway), so that the VM can be
/// removed; a failure is recorded.
fn cancel_uploads_into(connection: &Connection, vm: &str, failures: &mut Vec<OvirtError>) {
    let disks: BTreeSet<String> = match connection.attachments(vm) {
        Ok(list) => list
            .into_iter()
            .filter_map(|a| a.disk.and_then(|d| d.id).or(a.id))
            .collect(),
        Err(error) => return failures.push(error),
    };
    cancel_uploads_into_disks(connection, &disks, failures);
}

/// Cancels the open uploads into `disks` (a killed run's); a failure is recorded.
fn cancel_uploads_into_disks(
    connection: &Connection,
    disks: &BTreeSet<String>,
    failures: &mut Vec<OvirtError>,
) {
    let transfers = match connection.get::<ImageTransfers>(
        "/imagetransfers",
        &Query::new(),
        "listing image transfers",
    ) {
        Ok(list) => list.items,
        Err(error) => return failures.push(error),
    };
    for transfer in transfers {
        let into = transfer
            .disk
            .as_ref()
            .and_then(|d| d.id.as_deref())
            .or(transfer.image.as_ref().and_then(|r| r.id.as_deref()));
        let Some(disk) = into.filter(|d| disks.contains(*d)) else {
            continue;
        };
        if !is_open(&transfer, ImageTransferDirection::Upload) {
            continue;
        }
        let Some(id) = transfer.id.as_deref() else {
            continue;
        };
        match connection.action(
            &format!("/imagetransfers/{id}"),
            "cancel",
            &Query::new(),
            &Action::default(),
            &format!("cancelling the leftover upload {id} into disk {disk}"),
        ) {
            Ok(_) => tracing::info!(transfer = %id, %disk, "leftover upload cancelled"),
            Err(error) if error.is_not_found() => {}
            Err(error) => failures.push(error),
        }
    }
}

/// Removes the disks that dead runs of `here.tool` made for a VM they were building and
/// left outside it (uploaded floating, to be fixed up on the appliance first): their
/// description is still the build's owner mark ([`crate::VmBuild`] replaces it when the VM
/// is kept). Each is detached from `appliance` (a VM id) if attached there, its open
/// upload cancelled, then removed (retried while the engine says it is busy). Run after
/// [`sweep_unfinished_vms`], which removes the disks attached to a half-made VM with it.
/// Returns the ids removed; a disk that cannot be removed is recorded as a failure.
pub fn sweep_unfinished_disks(
    connection: &Connection,
    here: &Owner,
    now: Timestamp,
    appliance: Option<&str>,
) -> Result<(Vec<String>, Vec<OvirtError>)> {
    let leftovers: BTreeSet<String> = connection
        .disks()?
        .into_iter()
        .filter(|disk| {
            disk.description
                .as_deref()
                .and_then(Mark::parse)
                .is_some_and(|m| m.is_leftover(here, now))
        })
        .filter_map(|disk| disk.id)
        .collect();
    let mut removed = Vec::new();
    let mut failures = Vec::new();
    if leftovers.is_empty() {
        return Ok((removed, failures));
    }
    if let Some(appliance) = appliance {
        let held = |disk: &str| leftovers.contains(disk);
        detach_from_appliance(connection, appliance, held, &mut failures);
    }
    cancel_uploads_into_disks(connection, &leftovers, &mut failures);
    for disk in leftovers {
        match patiently(|| connection.remove_disk(&disk), &disk, connection) {
            // Not found: the engine deleted it when its upload was cancelled.
            Err(error) if !error.is_not_found() => failures.push(error),
            _ => {
                tracing::info!(%disk, "unfinished disk of a dead run removed");
                removed.push(disk);
            }
        }
    }
    Ok((removed, failures))
}

/// How long the removal of an unfinished VM or disk may be refused as busy: disks stay
/// locked while the engine ends the uploads just cancelled.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Removes `vm` with its disks, retrying while the engine says it is busy (a disk still
/// locked), up to [`REMOVE_TIMEOUT`].
fn remove_vm_patiently(connection: &Connection, vm: &str) -> Result<()> {
    patiently(|| connection.remove_vm(vm, false), vm, connection)
}

/// Runs `remove` (of the object `id`) until the engine stops saying it is busy, up to
/// [`REMOVE_TIMEOUT`].
fn patiently(remove: impl Fn() -> Result<()>, id: &str, connection: &Connection) -> Result<()> {
    let started = std::time::Instant::now();
    let (_, pause) = connection.poll_intervals();
    loop {
        match remove() {
            Err(error) if error.is_busy() && started.elapsed() < REMOVE_TIMEOUT => {
                tracing::debug!(id, %error, "busy; retrying the removal");
                std::thread::sleep(pause);
            }
            result => return result,
        }
    }
}

/// Whether `transfer` goes in `direction` and is not over.
fn is_open(transfer: &ImageTransfer, direction: ImageTransferDirection) -> bool {
    transfer.direction == Some(direction)
        && matches!(
            transfer.phase,
            Some(
                ImageTransferPhase::Initializing
                    | ImageTransferPhase::Transferring
                    | ImageTransferPhase::Resuming
                    | ImageTransferPhase::PausedSystem
                    | ImageTransferPhase::PausedUser
            )
        )
}

/// Removes, with their disks, the VMs that dead runs of `here.tool` were building (a
/// [`crate::VmBuild`] not committed carries its owner mark as the VM's description; a
/// committed one has its final description). Returns the ids removed; a VM that cannot be
/// removed is recorded as a failure.
pub fn sweep_unfinished_vms(
    connection: &Connection,
    here: &Owner,
    now: Timestamp,
) -> Result<(Vec<String>, Vec<OvirtError>)> {
    let mut removed = Vec::new();
    let mut failures = Vec::new();
    for vm in connection.vms(None)? {
        let (Some(id), Some(description)) = (vm.id, vm.description) else {
            continue;
        };
        if !Mark::parse(&description).is_some_and(|m| m.is_leftover(here, now)) {
            continue;
        }
        cancel_uploads_into(connection, &id, &mut failures);
        match remove_vm_patiently(connection, &id) {
            Ok(()) => {
                tracing::info!(vm = %id, %description, "unfinished VM of a dead run removed");
                removed.push(id);
            }
            Err(error) if error.is_not_found() => {}
            Err(error) => failures.push(error),
        }
    }
    Ok((removed, failures))
}
