//! Reading a per-VM backup directory into retention's [`Backup`]s, without touching
//! anything.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use retention::{Backup, BackupState, BackupTime};

use super::error::{Result, StoreError};
use super::layout::{
    DELETING_PREFIX, Layout, MANIFEST_FILE, NAUBACKUP_SUCCESS_MARKERS, PARTIAL_PREFIX,
    PROTECTED_MARKER, parse_naubackup_name, parse_simplebackup_name, parse_stamp,
};
use super::manifest::{Extra, Manifest, ManifestProblem};
use super::words::ManifestState;

/// What a scan found in one VM's backup directory.
#[derive(Clone, Debug)]
pub struct ScannedDir {
    /// The directory scanned.
    pub dir: PathBuf,
    /// The backups, each with its directory name as id, sorted by id.
    pub backups: Vec<Backup>,
    /// Entries that are not backups (stray files, unknown directories): reported, and
    /// never touched.
    pub ignored: Vec<Ignored>,
    /// Backup directories (by their name) that cannot be read as backups: their manifest
    /// is missing, damaged, unreadable or of an unknown format. Reported (a backup the user
    /// may still need, or must look at), and never touched: a missing manifest alone never
    /// makes a backup incomplete.
    pub damaged: Vec<Damaged>,
    /// `.deleting-*` directories left by an interrupted [`apply`](super::apply), which the
    /// next apply removes first.
    pub leftovers: Vec<PathBuf>,
}

/// A backup directory that cannot be read as a backup, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damaged {
    /// The directory.
    pub path: PathBuf,
    /// Its name (a stamp).
    pub id: String,
    /// The time its name gives.
    pub time: BackupTime,
    /// What is wrong with it.
    pub why: String,
}

/// An entry a scan did not take as a backup, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The entry.
    pub path: PathBuf,
    /// Why it is not a backup.
    pub why: String,
}

/// Lists `dir` (one VM's backups) in `layout`. Reads names, marker files and manifests;
/// never follows symbolic links and never modifies anything.
///
/// Our layout: `<stamp>` directories are complete when their manifest says so (format
/// [`MANIFEST_FORMAT`](super::MANIFEST_FORMAT), `state` `"complete"`), incomplete when it has another state;
/// `.partial-<stamp>` directories are incomplete. The time is the manifest's `created`
/// when present, else the stamp. A `<stamp>` directory whose manifest is missing, cannot
/// be read or parsed, or has another format is [damaged](ScannedDir::damaged) (reported,
/// never removed).
/// NAUbackup's layout: complete iff one of [`NAUBACKUP_SUCCESS_MARKERS`] is present.
/// Both: a [`PROTECTED_MARKER`] file makes the backup [`BackupState::Protected`], whatever
/// its completeness (a pinned backup is never removed).
pub fn scan_vm_dir(dir: &Path, layout: &Layout) -> Result<ScannedDir> {
    let mut scan = ScannedDir {
        dir: dir.to_path_buf(),
        backups: Vec::new(),
        ignored: Vec::new(),
        damaged: Vec::new(),
        leftovers: Vec::new(),
    };
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(|e| StoreError::io("inspecting", &path, e))?
            .is_dir();
        let ignore = |scan: &mut ScannedDir, why: &str| {
            tracing::debug!(path = %path.display(), why, "ignored");
            scan.ignored.push(Ignored {
                path: path.clone(),
                why: why.to_string(),
            });
        };
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            ignore(&mut scan, "name is not valid UTF-8");
            continue;
        };
        if !is_dir {
            ignore(&mut scan, "not a directory");
            continue;
        }
        if name.starts_with(DELETING_PREFIX) {
            scan.leftovers.push(path);
            continue;
        }
        let found = match layout {
            Layout::Own => read_own(&path, &name)?,
            Layout::NauBackup { time_zone } => read_naubackup(&path, &name, time_zone)?,
            Layout::OvirtSimpleBackup { label, time_zone } => {
                read_simplebackup(&path, &name, label, time_zone)?
            }
        };
        match found {
            Ok(backup) => scan.backups.push(backup),
            Err(NotABackup::Other(why)) => ignore(&mut scan, &why),
            Err(NotABackup::Damaged { time, why }) => {
                tracing::warn!(path = %path.display(), why, "a damaged backup");
                scan.damaged.push(Damaged {
                    path: path.clone(),
                    id: name,
                    time,
                    why,
                });
            }
        }
    }
    scan.backups.sort_by(|a, b| a.id.cmp(&b.id));
    scan.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    scan.damaged.sort_by(|a, b| a.id.cmp(&b.id));
    scan.leftovers.sort();
    Ok(scan)
}

/// Why an entry is not taken as a backup.
enum NotABackup {
    /// A backup directory that cannot be read as one (see [`ScannedDir::damaged`]).
    Damaged { time: BackupTime, why: String },
    /// Anything else (see [`ScannedDir::ignored`]).
    Other(String),
}

impl From<String> for NotABackup {
    fn from(why: String) -> Self {
        NotABackup::Other(why)
    }
}

/// A backup directory in our layout, or why `name` is not one.
///
/// Our backups are written as `.partial-<stamp>` and renamed once their manifest is
/// written, so a `<stamp>` directory without a readable manifest did not crash before it:
/// it was damaged afterwards, and is reported, never removed as incomplete.
fn read_own(path: &Path, name: &str) -> Result<Result<Backup, NotABackup>> {
    let (partial, stamp) = match name.strip_prefix(PARTIAL_PREFIX) {
        Some(stamp) => (true, stamp),
        None => (false, name),
    };
    let Some(stamp_time) = parse_stamp(stamp) else {
        return Ok(Err("not a backup directory name".to_owned().into()));
    };
    let time = BackupTime::utc(stamp_time);
    let damaged = |why: String| Ok(Err(NotABackup::Damaged { time, why }));
    let manifest_path = path.join(MANIFEST_FILE);
    let manifest = match fs::read(&manifest_path) {
        Ok(bytes) => Some(Manifest::<Extra>::parse(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) if !partial => return damaged(format!("{MANIFEST_FILE} cannot be read: {e}")),
        Err(e) => return Err(StoreError::io("reading", &manifest_path, e)),
    };
    let mut backup = Backup::new(name, time, BackupState::Incomplete);
    match manifest {
        // A backup being written may have no manifest, or half of one.
        None | Some(Err(_)) if partial => {}
        None => return damaged(format!("{MANIFEST_FILE} is missing")),
        Some(Err(ManifestProblem::UnknownFormat(format))) => {
            return damaged(format!("{MANIFEST_FILE} has unknown format `{format}`"));
        }
        Some(Err(ManifestProblem::NotValid(e))) => {
            return damaged(format!("{MANIFEST_FILE} is not valid: {e}"));
        }
        Some(Ok(m)) => {
            match m.created.parse::<BackupTime>() {
                Ok(time) => backup.time = time,
                Err(e) if !partial => return damaged(format!("{MANIFEST_FILE}: {e}")),
                Err(_) => {}
            }
            if m.state == ManifestState::Complete && !partial {
                backup.state = BackupState::Complete;
            }
            backup.parent = m.parent;
            backup.tags.extend(m.tags);
        }
    }
    if exists(&path.join(PROTECTED_MARKER))? {
        backup.state = BackupState::Protected;
    }
    Ok(Ok(backup))
}

/// A NAUbackup directory, or why `name` is not one.
fn read_naubackup(
    path: &Path,
    name: &str,
    time_zone: &TimeZone,
) -> Result<Result<Backup, NotABackup>> {
    let Some(local) = parse_naubackup_name(name) else {
        return Ok(Err("not a NAUbackup directory name".to_owned().into()));
    };
    let zoned = match time_zone.to_ambiguous_zoned(local).compatible() {
        Ok(zoned) => zoned,
        Err(e) => {
            return Ok(Err(
                format!("local time {local} is out of range: {e}").into()
            ));
        }
    };
    let mut state = BackupState::Incomplete;
    for marker in NAUBACKUP_SUCCESS_MARKERS {
        if exists(&path.join(marker))? {
            state = BackupState::Complete;
            break;
        }
    }
    if exists(&path.join(PROTECTED_MARKER))? {
        state = BackupState::Protected;
    }
    Ok(Ok(Backup::new(name, BackupTime::from_zoned(&zoned), state)))
}

/// An oVirtSimpleBackup directory (ours with a manifest, or the seed's own), or why `name`
/// is not one.
fn read_simplebackup(
    path: &Path,
    name: &str,
    label: &str,
    time_zone: &TimeZone,
) -> Result<Result<Backup, NotABackup>> {
    let (partial, base) = match name.strip_prefix(PARTIAL_PREFIX) {
        Some(base) => (true, base),
        None => (false, name),
    };
    let Some(local) = parse_simplebackup_name(base, label) else {
        return Ok(Err(format!(
            "not an oVirtSimpleBackup directory name (`{label}YYYYmmdd_HHMMSS`)"
        )
        .into()));
    };
    let zoned = match time_zone.to_ambiguous_zoned(local).compatible() {
        Ok(zoned) => zoned,
        Err(e) => {
            return Ok(Err(
                format!("local time {local} is out of range: {e}").into()
            ));
        }
    };
    let time = BackupTime::from_zoned(&zoned);
    let mut backup = Backup::new(name, time, BackupState::Incomplete);
    let manifest_path = path.join(MANIFEST_FILE);
    if partial {
        // Being written, or interrupted: never complete.
    } else if exists(&manifest_path)? {
        let bytes =
            fs::read(&manifest_path).map_err(|e| StoreError::io("reading", &manifest_path, e));
        match bytes.map(|b| Manifest::<Extra>::parse(&b)) {
            Ok(Ok(m)) => {
                if m.state == ManifestState::Complete {
                    backup.state = BackupState::Complete;
                }
                backup.tags.extend(m.tags);
            }
            Ok(Err(ManifestProblem::UnknownFormat(format))) => {
                let why = format!("{MANIFEST_FILE} has unknown format `{format}`");
                return Ok(Err(NotABackup::Damaged { time, why }));
            }
            Ok(Err(ManifestProblem::NotValid(e))) => {
                let why = format!("{MANIFEST_FILE} is not valid: {e}");
                return Ok(Err(NotABackup::Damaged { time, why }));
            }
            Err(e) => {
                let why = format!("{MANIFEST_FILE} cannot be read: {e}");
                return Ok(Err(NotABackup::Damaged { time, why }));
            }
        }
    } else if exists(&path.join("data.xml"))? && exists(&path.join("Disk1.dat"))? {
        backup.state = BackupState::Complete;
    }
    if exists(&path.join(PROTECTED_MARKER))? {
        backup.state = BackupState::Protected;
    }
    Ok(Ok(backup))
}

/// Whether `path` exists (without following a final symbolic link).
fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::io("inspecting", path, e)),
    }
}
