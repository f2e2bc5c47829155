//! What is on disk: every VM directory under the backup directory, with its backups (ours
//! and NAUbackup's), their state and size.

use std::fs;
use std::path::{Path, PathBuf};

use retention::{Layout, scan_vm_dir};
use serde::Serialize;

use crate::error::{Result, VmBackupError};
use crate::manifest::Manifest;
use crate::names::{self, POOL_DB_DIR_PREFIX};

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
    /// `complete`, `incomplete`, `protected`, or `damaged` (its manifest is missing or
    /// cannot be read: see `problem`).
    pub state: String,
    /// `ours` or `naubackup`.
    pub layout: String,
    /// The kind of backup, from the manifest.
    pub kind: Option<String>,
    /// Bytes used.
    pub bytes: u64,
    /// What is wrong with a damaged backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Lists every VM directory of `backup_dir` (the pool database's `METADATA_*` excepted,
/// see [`POOL_DB_DIR_PREFIX`]).
pub fn list_backups(backup_dir: &Path) -> Result<Vec<VmBackups>> {
    let entries = fs::read_dir(backup_dir)
        .map_err(|e| VmBackupError::io(format!("listing `{}`", backup_dir.display()), e))?;
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

/// Lists one VM directory.
pub fn list_vm_dir(dir: &Path) -> Result<VmBackups> {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut vm = names::vm_name_of_dir(&dir_name).unwrap_or_else(|| dir_name.clone());
    let mut backups = Vec::new();
    for (layout, label) in [
        (Layout::Own, "ours"),
        (Layout::naubackup_local(), "naubackup"),
    ] {
        let scan = scan_vm_dir(dir, &layout).map_err(|source| {
            VmBackupError::retention(format!("scanning `{}`", dir.display()), source)
        })?;
        for backup in scan.backups {
            let path = dir.join(&backup.id);
            let manifest = Manifest::read(&path).ok();
            if let Some(manifest) = &manifest {
                vm.clone_from(&manifest.vm.name_label);
            }
            backups.push(ListedBackup {
                time: backup.time.to_string(),
                state: backup.state.as_str().to_owned(),
                layout: label.to_owned(),
                kind: manifest.map(|m| m.kind),
                bytes: du(&path),
                id: backup.id,
                problem: None,
            });
        }
        for damaged in scan.damaged {
            backups.push(ListedBackup {
                time: damaged.time.to_string(),
                state: "damaged".to_owned(),
                layout: label.to_owned(),
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
            .is_some_and(|n| retention::layout::parse_stamp(n).is_some())
    };
    if is_backup_name(root) || root.join(retention::layout::MANIFEST_FILE).is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let entries = fs::read_dir(root)
        .map_err(|e| VmBackupError::io(format!("listing `{}`", root.display()), e))?;
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
                .filter(|b| b.layout == "ours" && b.state != "incomplete")
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
