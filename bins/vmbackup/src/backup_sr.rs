//! TINABS 2.0's backup-SR variant (`backup-sr-export=VM` with `backup_sr=NAME|UUID`): the
//! data stays on the storage side. The snapshot of the system disk is copied to the backup
//! SR (`VDI.copy`), the data disks are recreated blank there, and only the VM's metadata
//! (an `ova.xml`-only archive of the VM with those disks) goes into the backup directory;
//! the manifest records every disk on the SR ([`SrCopy`]).
//!
//! The disks on the backup SR are the backup's as much as its files are:
//! - each is marked as ours in its `other_config` ([`Marks`]: the VM's uuid, the backup's
//!   `created` time, the host and VM directory that made it, the backup's directory name)
//!   and is only ever destroyed, or trusted, when those marks say it belongs to the backup
//!   at hand — a manifest naming someone else's VDI cannot make vmbackup destroy it;
//! - until the backup is published they are held by a [`CopyGuard`]: a failure at any step
//!   destroys them; what a killed run left (its backup never published) is swept by the
//!   next run of the VM into the same directory ([`leftovers`]);
//! - pruning a backup destroys its disks first and removes its directory only once they
//!   are gone ([`settle_plan`]); without the pool (`vmbackup prune` with no `host` in its
//!   configuration) such backups are kept for the next run; the newest complete backup is
//!   never removed;
//! - `verify` checks that each still exists, marked, with its size ([`check_copies`]);
//! - `restore` imports the metadata with blank disks, then puts a copy of the system disk
//!   from the backup SR in its slot ([`restore`]).

mod restore;

use std::collections::HashMap;
use std::path::Path;

use backup_core::store::{Manifest, PruneHook, ScannedDir, chain};
use serde::{Deserialize, Serialize};
use xenapi::records::{SrRecord, StringMap, VdiRecord};
use xenapi::{Ref, Session};

use crate::error::{Result, VmBackupError};
use crate::inventory::Inventory;

pub use restore::restore;

/// `other_config` key on every disk we put on the backup SR: the uuid of the VM backed up.
pub const MARK_VM: &str = "vmbackup-backup-sr-vm";
/// `other_config` key on every disk we put on the backup SR: the backup's `created` time.
pub const MARK_BACKUP: &str = "vmbackup-backup-sr-created";
/// `other_config` key on every disk we put on the backup SR: `<host>:<VM directory>` of
/// the run that made it.
pub const MARK_OWNER: &str = "vmbackup-backup-sr-owner";
/// `other_config` key on every disk we put on the backup SR: the backup's directory name.
pub const MARK_STAMP: &str = "vmbackup-backup-sr-stamp";

/// Every mark of [`Marks`], the keys a restored disk loses.
pub const MARK_KEYS: [&str; 4] = [MARK_VM, MARK_BACKUP, MARK_OWNER, MARK_STAMP];

/// The manifest's key ([`XapiFields::sr_copies`]) of the disks a backup keeps on the
/// backup SR.
pub const SR_COPIES_FIELD: &str = "sr_copies";

/// The keys vmbackup adds to the store's manifest (its [`Manifest::extra`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XapiFields {
    /// The disks kept on a backup SR (backup-sr-export); absent for other kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sr_copies: Vec<SrCopy>,
}

/// The manifest vmbackup writes and reads.
pub type XapiManifest = Manifest<XapiFields>;

/// A disk a backup keeps on the backup SR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrCopy {
    /// The guest device (`xvda`), as the pool named it.
    pub device: String,
    /// The VBD's slot.
    pub userdevice: String,
    /// The uuid of the VM's disk it stands for.
    pub source_vdi_uuid: String,
    /// The uuid of the disk on the backup SR.
    pub vdi_uuid: String,
    /// The backup SR's uuid.
    pub sr_uuid: String,
    /// The backup SR's name, for messages.
    pub sr_name: String,
    /// Virtual size in bytes.
    pub virtual_size: u64,
    /// True for a data disk recreated blank; false for the system disk's copy.
    pub blank: bool,
}

/// What a disk of a backup on the backup SR carries in its `other_config`.
#[derive(Debug, Clone)]
pub struct Marks {
    /// The VM's uuid ([`MARK_VM`]).
    pub vm_uuid: String,
    /// The backup's `created` time ([`MARK_BACKUP`]).
    pub created: String,
    /// `<host>:<VM directory>` ([`MARK_OWNER`]).
    pub owner: String,
    /// The backup's directory name ([`MARK_STAMP`]).
    pub stamp: String,
}

impl Marks {
    /// The owner mark of runs on `host` into `vm_dir`.
    pub fn owner_of(host: &str, vm_dir: &Path) -> String {
        format!("{host}:{}", vm_dir.display())
    }

    /// `other_config` with the marks added.
    pub fn applied(&self, mut other_config: StringMap) -> StringMap {
        for (key, value) in [
            (MARK_VM, &self.vm_uuid),
            (MARK_BACKUP, &self.created),
            (MARK_OWNER, &self.owner),
            (MARK_STAMP, &self.stamp),
        ] {
            other_config.insert(key.to_owned(), value.clone());
        }
        other_config
    }
}

/// Disks that a run of the VM `vm_uuid` from this host into `vm_dir` (`owner`, see
/// [`Marks::owner_of`]) made and never published: marked so, but whose backup directory
/// does not exist (the run was killed, its `.partial-` directory is no backup). Only the
/// run holding `vm_dir`'s lock may remove them; a damaged backup keeps its disks.
pub fn leftovers(inventory: &Inventory, vm_uuid: &str, owner: &str, vm_dir: &Path) -> Vec<Ref> {
    inventory
        .vdis
        .iter()
        .filter(|(_, vdi)| {
            let mark = |key: &str| vdi.other_config.get(key).map(String::as_str);
            mark(MARK_VM) == Some(vm_uuid)
                && mark(MARK_OWNER) == Some(owner)
                && mark(MARK_STAMP)
                    .is_some_and(|stamp| is_stamp(stamp) && !vm_dir.join(stamp).exists())
        })
        .map(|(r, _)| r.clone())
        .collect()
}

/// A directory name a backup can have (no separator, not `.`/`..`).
fn is_stamp(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// Whether `vdi` carries the marks of the backup described by `manifest`.
fn is_ours(vdi: &VdiRecord, manifest: &XapiManifest) -> bool {
    vdi.other_config.get(MARK_VM) == Some(&manifest.vm.uuid)
        && vdi.other_config.get(MARK_BACKUP) == Some(&manifest.created)
}

/// The SR `backup_sr` names: by uuid, else by its exact name (which must be unique).
pub fn find_sr<'i>(inventory: &'i Inventory, backup_sr: &str) -> Result<(Ref, &'i SrRecord)> {
    if let Some((r, sr)) = inventory
        .srs
        .iter()
        .find(|(_, sr)| sr.uuid.eq_ignore_ascii_case(backup_sr))
    {
        return Ok((r.clone(), sr));
    }
    let named: Vec<(&Ref, &SrRecord)> = inventory
        .srs
        .iter()
        .filter(|(_, sr)| sr.name_label == backup_sr)
        .collect();
    match named.as_slice() {
        [(r, sr)] => Ok(((*r).clone(), sr)),
        [] => Err(VmBackupError::Backup(format!(
            "backup_sr `{backup_sr}`: no SR has this uuid or name"
        ))),
        several => {
            let mut uuids: Vec<&str> = several.iter().map(|(_, sr)| sr.uuid.as_str()).collect();
            uuids.sort_unstable();
            Err(VmBackupError::Backup(format!(
                "backup_sr `{backup_sr}`: {} SRs have this name ({}); give its uuid",
                several.len(),
                uuids.join(", ")
            )))
        }
    }
}

/// The disks on the backup SR made for one backup, destroyed when dropped unless
/// [`CopyGuard::keep`] was called (once the backup is published). A disk already gone (it
/// went with the snapshot it was attached to) is skipped quietly.
pub struct CopyGuard<'s> {
    session: &'s Session,
    made: Vec<(Ref, SrCopy)>,
}

impl<'s> CopyGuard<'s> {
    /// An empty guard.
    pub fn new(session: &'s Session) -> Self {
        CopyGuard {
            session,
            made: Vec::new(),
        }
    }

    /// Guards `vdi`, which `copy` describes.
    pub fn add(&mut self, vdi: Ref, copy: SrCopy) {
        self.made.push((vdi, copy));
    }

    /// What the manifest records.
    pub fn copies(&self) -> Vec<SrCopy> {
        self.made.iter().map(|(_, copy)| copy.clone()).collect()
    }

    /// The backup is published: its disks stay.
    pub fn keep(mut self) {
        self.made.clear();
    }
}

impl Drop for CopyGuard<'_> {
    fn drop(&mut self) {
        for (vdi, copy) in self.made.drain(..) {
            if self.session.vdi().get_record(&vdi).is_err() {
                continue;
            }
            match self.session.vdi().destroy(&vdi) {
                Ok(()) => tracing::debug!(%vdi, device = %copy.device, "backup-SR disk removed"),
                Err(error) => {
                    tracing::error!(%vdi, %error, "could not remove a disk from the backup SR");
                }
            }
        }
    }
}

/// Where a backup's disk on the backup SR is: its ref and record, or why it cannot be used.
type Located = std::result::Result<(Ref, VdiRecord), String>;

/// The backup's disks on the backup SR, looked up by uuid in one read of the pool: each
/// with its ref and record when it exists and carries this backup's marks, else why not.
fn locate(session: &Session, manifest: &XapiManifest) -> Result<Vec<(SrCopy, Located)>> {
    let vdis: HashMap<Ref, VdiRecord> = session
        .vdi()
        .get_all_records()
        .map_err(|e| VmBackupError::xapi("reading the pool's VDIs", e))?;
    let srs = session
        .sr()
        .get_all_records()
        .map_err(|e| VmBackupError::xapi("reading the pool's SRs", e))?;
    Ok(manifest
        .extra
        .sr_copies
        .iter()
        .map(|copy| {
            let found = vdis.iter().find(|(_, v)| v.uuid == copy.vdi_uuid);
            let located = match found {
                None => Err(format!(
                    "disk {} ({}) is gone from SR {}",
                    copy.device, copy.vdi_uuid, copy.sr_name
                )),
                Some((_, vdi)) if !is_ours(vdi, manifest) => Err(format!(
                    "disk {} ({}) does not carry this backup's marks: not ours",
                    copy.device, copy.vdi_uuid
                )),
                Some((_, vdi))
                    if srs.get(&vdi.sr).map(|sr| sr.uuid.as_str()) != Some(&copy.sr_uuid) =>
                {
                    Err(format!(
                        "disk {} ({}) is no longer on SR {}",
                        copy.device, copy.vdi_uuid, copy.sr_name
                    ))
                }
                Some((_, vdi)) if vdi.virtual_size.max(0).cast_unsigned() != copy.virtual_size => {
                    Err(format!(
                        "disk {} ({}) holds {} bytes, the manifest says {}",
                        copy.device, copy.vdi_uuid, vdi.virtual_size, copy.virtual_size
                    ))
                }
                Some((r, vdi)) => Ok((r.clone(), vdi.clone())),
            };
            (copy.clone(), located)
        })
        .collect())
}

/// What is wrong with the backup's disks on the backup SR (empty: every one exists, is
/// ours, on its SR, with its size).
pub fn check_copies(session: &Session, manifest: &XapiManifest) -> Result<Vec<String>> {
    Ok(locate(session, manifest)?
        .into_iter()
        .filter_map(|(_, located)| located.err())
        .collect())
}

/// Whether a backup in `vm_dir` keeps disks on a backup SR (pruning it needs the pool).
pub fn keeps_disks_on_sr(vm_dir: &Path) -> bool {
    std::fs::read_dir(vm_dir)
        .into_iter()
        .flatten()
        .any(|entry| {
            entry
                .ok()
                .and_then(|e| Manifest::read(&e.path()).ok())
                .is_some_and(|m| m.extra.contains_key(SR_COPIES_FIELD))
        })
}

/// The store's [`PruneHook`] for backups with disks on the backup SR: [`settle_plan`] with
/// the pool, when there is one.
#[derive(Clone, Copy)]
pub struct BackupSrHook<'s> {
    /// The pool; without it such backups are kept.
    pub session: Option<&'s Session>,
}

impl PruneHook for BackupSrHook<'_> {
    fn settle(&self, scan: &ScannedDir, plan: &mut retention::Plan, dry_run: bool) {
        settle_plan(self.session, scan, plan, dry_run);
    }
}

/// Why a backup with disks on the backup SR was kept.
const KEPT_OFFLINE: &str =
    "its disks on the backup SR need the pool to be removed (a run prunes it)";

/// Before a plan is applied to `scan`: every backup to remove that keeps disks on a backup
/// SR has them destroyed first (those still there and marked as ours; on a `dry_run`,
/// nothing is touched); when that fails, or there is no pool to do it, the backup is kept,
/// with the reason. Backups without such disks are left to the plan.
pub fn settle_plan(
    session: Option<&Session>,
    scan: &ScannedDir,
    plan: &mut retention::Plan,
    dry_run: bool,
) {
    for decision in plan.decisions.iter_mut().filter(|d| !d.keep) {
        let dir = scan.dir.join(&decision.id);
        let manifest = match XapiManifest::read_as(&dir) {
            Ok(manifest) if manifest.extra.sr_copies.is_empty() => continue,
            Ok(manifest) => Ok(manifest),
            // Records of disks on the SR that cannot be read: kept for a look.
            Err(error)
                if Manifest::read(&dir).is_ok_and(|m| m.extra.contains_key(SR_COPIES_FIELD)) =>
            {
                Err(chain(&error))
            }
            Err(_) => continue,
        };
        let kept = match (session, manifest) {
            (_, Err(why)) => Some(why),
            (None, Ok(_)) => Some(KEPT_OFFLINE.to_owned()),
            (Some(_), Ok(manifest)) if dry_run => {
                decision.reasons.push(format!(
                    "its {} disk(s) on the backup SR go too",
                    manifest.extra.sr_copies.len()
                ));
                None
            }
            (Some(session), Ok(manifest)) => destroy_copies(session, &manifest).err(),
        };
        if let Some(why) = kept {
            tracing::warn!(backup = %decision.id, %why, "backup kept");
            decision.keep = true;
            decision.reasons.push(format!("kept: {why}"));
        }
    }
}

/// Destroys the backup's disks that are still on the backup SR and ours; the error says
/// what could not be destroyed. When one of them is there but does not check out (not
/// ours, moved, resized), nothing is destroyed: the backup is kept for a look.
fn destroy_copies(session: &Session, manifest: &XapiManifest) -> std::result::Result<(), String> {
    let located = locate(session, manifest).map_err(|e| chain(&e))?;
    let mut doubtful = Vec::new();
    let mut ours = Vec::new();
    for (copy, found) in located {
        match found {
            Ok((vdi, _)) => ours.push((copy, vdi)),
            // Gone already (an earlier prune stopped half-way): nothing to do.
            Err(_) if !vdi_exists(session, &copy.vdi_uuid) => {}
            Err(why) => doubtful.push(why),
        }
    }
    if !doubtful.is_empty() {
        return Err(doubtful.join("; "));
    }
    let failed: Vec<String> = ours
        .into_iter()
        .filter_map(|(copy, vdi)| {
            session
                .vdi()
                .destroy(&vdi)
                .err()
                .map(|error| format!("disk {} ({}): {error}", copy.device, copy.vdi_uuid))
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

fn vdi_exists(session: &Session, uuid: &str) -> bool {
    session.vdi().get_by_uuid(uuid).is_ok()
}
