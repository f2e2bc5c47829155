//! Backups that oVirtSimpleBackup wrote, `/mnt/backups/<VM>/<uuid>/<label><stamp>/`
//! (ovirt-client's [`simplebackup`] reads the files): listed beside ours, verified as far
//! as a backup without digests can be (structure, sizes, decompression: see
//! [`SimpleBackup::check`]), and planned for a restore from their `data.xml` and
//! `DiskN.dat`.
//!
//! **Why here and not in backup-core's `Layout`.** The store's layouts are names a
//! backup tool writes, scans and prunes; this one is read only (vmbackup never prunes what
//! another tool wrote), its backups have no manifest, and reading them takes the OVF and
//! the seed's compressions, which ovirt-client knows and backup-core (which knows no
//! hypervisor) must not. So the listing sits on the oVirt side, and `list` and `verify`
//! add what it finds to the store's own results. Backups that vmbackup wrote in this
//! layout (`layout=ovirtsimplebackup`) have a manifest, and are verified as ours.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use backup_core::store::{BackupCheck, ListedBackup, ListedState, MANIFEST_FILE, VmBackups};
use ovirt_client::ovf::OvfVm;
use ovirt_client::simplebackup::{self, SimpleBackup, SystemLzop};
use ovirt_client::types::DiskInterface;
use ovirt_client::{RestoreChoices, RestorePlan};

use super::backup::DiskImage;
use super::error::{self, Result};

/// The layout's name in listings.
pub const LAYOUT: &str = "ovirtsimplebackup";

/// The kind of backup in listings (the seed only ever wrote whole-disk images).
pub const KIND: &str = "ovirtsimplebackup-dd";

/// The seed's backups below `root` (a backup directory such as `/mnt/backups`, a VM's or
/// a uuid's directory below it, or one backup), ours in that layout included (those with
/// a manifest), sorted.
pub fn backups_under(root: &Path) -> Vec<PathBuf> {
    if simplebackup::looks_like_backup(root) {
        return vec![root.to_path_buf()];
    }
    let mut found = Vec::new();
    let mut level = vec![root.to_path_buf()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.filter_map(std::result::Result::ok) {
                let path = entry.path();
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if simplebackup::looks_like_backup(&path) {
                    found.push(path);
                } else {
                    next.push(path);
                }
            }
        }
        level = next;
    }
    found.sort();
    found
}

/// Whether `dir` is a backup of the seed's own (no manifest of ours).
pub fn is_seed_written(dir: &Path) -> bool {
    !dir.join(MANIFEST_FILE).is_file() && simplebackup::looks_like_backup(dir)
}

/// Verifies the seed-written backup in `dir` (see [`SimpleBackup::check`]).
pub fn verify(dir: &Path) -> BackupCheck {
    let _span = tracing::info_span!("verify", backup = %dir.display()).entered();
    match SimpleBackup::open(dir) {
        Ok(backup) => {
            let check = backup.check(&SystemLzop);
            BackupCheck {
                path: dir.to_path_buf(),
                vm: backup.vm_name.clone(),
                files: backup.disks.len() + 1,
                problems: check.problems,
            }
        }
        Err(error) => BackupCheck {
            path: dir.to_path_buf(),
            vm: String::new(),
            files: 0,
            problems: vec![error.to_string()],
        },
    }
}

/// Adds the seed-written backups below `root` to a listing of the store: each VM's uuid
/// directory becomes one entry (the store's scan shows the seed's VM directories as VMs
/// without backups: those entries are dropped).
pub fn add_to_listing(root: &Path, vms: &mut Vec<VmBackups>) {
    let mut added: Vec<VmBackups> = Vec::new();
    for dir in backups_under(root) {
        if !is_seed_written(&dir) {
            continue;
        }
        let uuid_dir = dir.parent().unwrap_or(&dir).to_path_buf();
        let listed = listed(&dir);
        // Already listed by the store (a configuration with `layout=ovirtsimplebackup`).
        if vms
            .iter()
            .any(|vm| vm.dir == uuid_dir && vm.backups.iter().any(|b| b.id == listed.1.id))
        {
            continue;
        }
        match added.iter_mut().find(|vm| vm.dir == uuid_dir) {
            Some(vm) => vm.backups.push(listed.1),
            None => added.push(VmBackups {
                vm: listed.0,
                dir: uuid_dir,
                backups: vec![listed.1],
            }),
        }
    }
    for vm in &mut added {
        vm.backups
            .sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
    }
    vms.retain(|vm| !(vm.backups.is_empty() && added.iter().any(|a| a.dir.starts_with(&vm.dir))));
    vms.extend(added);
}

/// The VM's name and the listing line of one seed-written backup.
fn listed(dir: &Path) -> (String, ListedBackup) {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = allocated(dir);
    match SimpleBackup::open(dir) {
        Ok(backup) => {
            let time = backup
                .stamp
                .as_deref()
                .and_then(local_stamp)
                .unwrap_or_default();
            let problem = backup
                .disks
                .is_empty()
                .then(|| "no disk image (DiskN.img…)".to_owned());
            (
                backup.vm_name.clone(),
                ListedBackup {
                    id,
                    time,
                    state: if problem.is_some() {
                        ListedState::Damaged
                    } else {
                        ListedState::Complete
                    },
                    layout: LAYOUT,
                    kind: Some(KIND.to_owned()),
                    bytes,
                    problem,
                },
            )
        }
        Err(error) => (
            dir.parent()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ListedBackup {
                id,
                time: String::new(),
                state: ListedState::Damaged,
                layout: LAYOUT,
                kind: Some(KIND.to_owned()),
                bytes,
                problem: Some(error.to_string()),
            },
        ),
    }
}

/// The seed's stamp (`20190708_120001`, the appliance's local time) as an RFC 3339 time in
/// this system's time zone.
fn local_stamp(stamp: &str) -> Option<String> {
    let civil = jiff::civil::DateTime::strptime("%Y%m%d_%H%M%S", stamp).ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::system()).ok()?;
    Some(zoned.timestamp().to_string())
}

/// Bytes allocated by the files of a backup directory.
fn allocated(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(std::result::Result::ok)
            .filter_map(|e| e.metadata().ok())
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.blocks() * 512)
            .sum()
    })
}

/// The restore plan of a seed-written backup: the VM from `data.xml`, each disk's exact
/// size, interface and boot flag from its `DiskN.dat`. `profile` gives the vNIC profile
/// for a NIC on the named network (the OVF knows networks by name only) when `choices`
/// names none.
pub fn plan(
    backup: &SimpleBackup,
    choices: &RestoreChoices,
    profile: &dyn Fn(Option<&str>) -> Result<String>,
) -> Result<(RestorePlan, Vec<DiskImage>)> {
    let dir = &backup.path;
    let text = backup
        .ovf()
        .map_err(|e| error::backup(dir, e.to_string()))?
        .ok_or_else(|| error::backup(dir, "no data.xml: the VM's settings are unknown"))?;
    let ovf = OvfVm::parse(&text).map_err(|e| error::backup(dir, format!("data.xml: {e}")))?;
    if ovf.disks.len() != backup.disks.len() {
        return Err(error::backup(
            dir,
            format!(
                "data.xml describes {} disk(s), the backup holds {}",
                ovf.disks.len(),
                backup.disks.len()
            ),
        ));
    }
    // The old single `image.img` has no DiskN.dat: its size is what it decompresses to.
    let lone_size = match backup.disks.as_slice() {
        [disk] if disk.info.is_none() => Some(
            disk.verify(&SystemLzop)
                .map_err(|e| error::backup(dir, e.to_string()))?,
        ),
        _ => None,
    };
    let mut with_profile = choices.clone();
    with_profile.vnic_profile = Some(choices.vnic_profile.clone().unwrap_or_default());
    let mut plan = RestorePlan::from_ovf(&ovf, &with_profile, |d| {
        backup
            .disks
            .iter()
            .filter_map(|b| b.info.as_ref())
            .find(|i| d.disk_id.as_deref() == Some(i.disk_id.as_str()))
            .map(|i| i.size)
            .or(lone_size)
    })
    .map_err(|e| error::backup(dir, e.to_string()))?;
    if choices.vnic_profile.is_none() {
        for (nic, described) in plan.nics.iter_mut().zip(&ovf.nics) {
            nic.vnic_profile = profile(described.network.as_deref())?;
        }
    }
    let mut images = Vec::with_capacity(plan.disks.len());
    for disk in &mut plan.disks {
        let seed = match backup.disks.as_slice() {
            [lone] if lone.info.is_none() => lone,
            disks => disks
                .iter()
                .find(|b| b.info.as_ref().map(|i| &i.disk_id) == disk.source.as_ref())
                .ok_or_else(|| {
                    error::backup(
                        dir,
                        format!(
                            "data.xml names disk {}, no DiskN.dat describes it",
                            disk.source.as_deref().unwrap_or("?")
                        ),
                    )
                })?,
        };
        if let Some(info) = &seed.info {
            disk.interface = DiskInterface::from_str(&info.interface).map_err(|_| {
                error::backup(
                    dir,
                    format!(
                        "Disk{}.dat: `{}` is not an oVirt disk interface",
                        seed.index, info.interface
                    ),
                )
            })?;
            disk.bootable = info.bootable;
        }
        images.push(DiskImage::Seed(seed.clone()));
    }
    Ok((plan, images))
}
