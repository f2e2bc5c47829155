//! What is on disk: every VM directory under the backup directory, with its backups (ours
//! and NAUbackup's), their state and size.

use std::fs;
use std::path::{Path, PathBuf};

use retention::BackupState;
use serde::Serialize;

use super::error::{Result, StoreError};
use super::layout::{Layout, MANIFEST_FILE, parse_stamp};
use super::manifest::Manifest;
use super::names::{POOL_DB_DIR_PREFIX, vm_name_of_dir};
use super::scan::scan_vm_dir;

/// One VM's backups.
#[derive(Debug, Clone, Serialize)]
pub struct VmBackups {
    /// The VM's name (from a manifest, else decoded from the directory name).
    pub vm: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its backups, newest first.
    pub backups: Vec<ListedBackup>,
}

/// One backup.
#[derive(Debug, Clone, Serialize)]
pub struct ListedBackup {
    /// The directory name.
    pub id: String,
    /// When it was taken (RFC 3339).
    pub time: String,
    /// Complete, incomplete, protected or damaged.
    pub state: ListedState,
    /// `ours`, `naubackup` or `ovirtsimplebackup` ([`Layout::label`]).
    pub layout: &'static str,
    /// The kind of backup, from the manifest.
    pub kind: Option<String>,
    /// Bytes used.
    pub bytes: u64,
    /// What is wrong with a damaged backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The state of a listed backup: retention's, or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListedState {
    /// Finished and usable.
    Complete,
    /// Being written, interrupted, or without its success marker.
    Incomplete,
    /// Pinned: never removed.
    Protected,
    /// Its manifest is missing or cannot be read (see [`ListedBackup::problem`]).
    Damaged,
}

impl ListedState {
    /// `complete`, `incomplete`, `protected` or `damaged`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListedState::Complete => "complete",
            ListedState::Incomplete => "incomplete",
            ListedState::Protected => "protected",
            ListedState::Damaged => "damaged",
        }
    }
}

impl std::fmt::Display for ListedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl From<BackupState> for ListedState {
    fn from(state: BackupState) -> Self {
        match state {
            BackupState::Complete => ListedState::Complete,
            BackupState::Incomplete => ListedState::Incomplete,
            BackupState::Protected => ListedState::Protected,
        }
    }
}

/// Lists every VM directory of `backup_dir` (the pool database's `METADATA_*` excepted,
/// see [`POOL_DB_DIR_PREFIX`]).
pub fn list_backups(backup_dir: &Path) -> Result<Vec<VmBackups>> {
    let entries = fs::read_dir(backup_dir).map_err(|e| StoreError::io("listing", backup_dir, e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(POOL_DB_DIR_PREFIX))
        })
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| list_vm_dir(dir)).collect()
}

/// Lists one VM directory (ours and NAUbackup's layouts).
pub fn list_vm_dir(dir: &Path) -> Result<VmBackups> {
    list_vm_dir_in(dir, &[Layout::Own, Layout::naubackup_local()])
}

/// The per-VM directories of oVirtSimpleBackup's layout below `root`:
/// `<root>/<VM>/<VM uuid>` (every second-level directory; hidden ones skipped), sorted.
pub fn simplebackup_vm_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let subdirs = |dir: &Path| -> Result<Vec<PathBuf>> {
        let entries = fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        found.sort();
        Ok(found)
    };
    let mut dirs = Vec::new();
    for vm in subdirs(root)? {
        dirs.extend(subdirs(&vm)?);
    }
    Ok(dirs)
}

/// Lists `root` in oVirtSimpleBackup's `layout`: one entry per `<VM>/<VM uuid>` directory
/// holding backups, named by the manifests or else by the `<VM>` directory.
pub fn list_simplebackup(root: &Path, layout: &Layout) -> Result<Vec<VmBackups>> {
    let mut vms = Vec::new();
    for dir in simplebackup_vm_dirs(root)? {
        let mut listed = list_vm_dir_in(&dir, std::slice::from_ref(layout))?;
        if listed.backups.is_empty() {
            continue;
        }
        let recorded = listed
            .backups
            .iter()
            .any(|b| Manifest::read(&dir.join(&b.id)).is_ok());
        if !recorded && let Some(parent) = dir.parent().and_then(|p| p.file_name()) {
            let parent = parent.to_string_lossy();
            listed.vm = vm_name_of_dir(&parent).unwrap_or_else(|| parent.into_owned());
        }
        vms.push(listed);
    }
    Ok(vms)
}

/// Lists one VM directory in the given layouts.
pub fn list_vm_dir_in(dir: &Path, layouts: &[Layout]) -> Result<VmBackups> {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut vm = vm_name_of_dir(&dir_name).unwrap_or_else(|| dir_name.clone());
    let mut backups = Vec::new();
    for layout in layouts {
        let label = layout.label();
        let scan = scan_vm_dir(dir, layout)?;
        for backup in scan.backups {
            let path = dir.join(&backup.id);
            let manifest = Manifest::read(&path).ok();
            if let Some(manifest) = &manifest {
                vm.clone_from(&manifest.vm.name);
            }
            backups.push(ListedBackup {
                time: backup.time.to_string(),
                state: backup.state.into(),
                layout: label,
                kind: manifest.map(|m| m.kind),
                bytes: du(&path),
                id: backup.id,
                problem: None,
            });
        }
        for damaged in scan.damaged {
            backups.push(ListedBackup {
                time: damaged.time.to_string(),
                state: ListedState::Damaged,
                layout: label,
                kind: None,
                bytes: du(&damaged.path),
                id: damaged.id,
                problem: Some(damaged.why),
            });
        }
    }
    backups.sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
    Ok(VmBackups {
        vm,
        dir: dir.to_path_buf(),
        backups,
    })
}

/// The backups (ours) at or below `root` that `verify` checks: `root` itself when it is a
/// backup (its name is a stamp, or it holds a manifest), else every complete, protected or
/// damaged backup of the VM directory `root`, or of every VM directory below the backup
/// directory `root`. Incomplete (`.partial-`) backups are not checked.
pub fn backups_under(root: &Path) -> Result<Vec<PathBuf>> {
    let is_backup_name = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| parse_stamp(n).is_some())
    };
    if is_backup_name(root) || root.join(MANIFEST_FILE).is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let entries = fs::read_dir(root).map_err(|e| StoreError::io("listing", root, e))?;
    let is_vm_dir = entries
        .filter_map(std::result::Result::ok)
        .any(|e| e.path().is_dir() && is_backup_name(&e.path()));
    let vms = if is_vm_dir {
        vec![list_vm_dir(root)?]
    } else {
        list_backups(root)?
    };
    Ok(vms
        .iter()
        .flat_map(|vm| {
            vm.backups
                .iter()
                .filter(|b| b.layout == Layout::Own.label() && b.state != ListedState::Incomplete)
                .map(|b| vm.dir.join(&b.id))
        })
        .collect())
}

/// Bytes allocated below `path` (sparse images count what they use).
fn du(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(std::result::Result::ok)
            .map(|e| du(&e.path()))
            .sum()
    })
}
