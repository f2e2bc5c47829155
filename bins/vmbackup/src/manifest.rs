//! `manifest.json`: the machine-readable record of one backup, written last, inside the
//! backup's directory.
//!
//! ```json
//! {
//!   "format": "vmtoolkit-backup/1",
//!   "state": "complete",
//!   "created": "2026-11-22T01:30:05Z",
//!   "finished": "2026-11-22T01:31:40Z",
//!   "parent": null,
//!   "tags": [],
//!   "kind": "vm-export",
//!   "vm": { "uuid": "…", "name_label": "web 01/a", "directory": "web 01%2Fa" },
//!   "pool": { "master": "https://xs1.example", "host": "xs1" },
//!   "tool": "vmbackup 0.1.0",
//!   "files": [
//!     { "path": "web 01%2Fa.xva.zst", "role": "xva", "compression": "zstd",
//!       "digest": { "kind": "xxh64", "value": "…", "bytes": 123 } },
//!     { "path": "DISK-xvda/vdi.cfg", "role": "metadata", … }
//!   ],
//!   "disks": [ { "device": "xvda", "userdevice": "0", "vdi_uuid": "…", "virtual_size": 1,
//!                "file": "web.raw", "format": "raw" } ]
//! }
//! ```
//!
//! The retention crate reads `format`, `state`, `created`, `parent` and `tags`; `verify`
//! checks every file against its digest, and `restore` finds what to restore here. The VM's
//! real name is `vm.name_label`: the directory name is only a safe rendering of it.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::JobKind;
use crate::digest::FileDigest;
use crate::error::{Result, VmBackupError};

/// The manifest of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`retention::layout::MANIFEST_FORMAT`].
    pub format: String,
    /// Always `complete`: an incomplete backup has no manifest.
    pub state: String,
    /// When the backup started (RFC 3339, UTC).
    pub created: String,
    /// When it was complete.
    pub finished: String,
    /// The backup this one depends on (none: every backup is full).
    pub parent: Option<String>,
    /// Labels for retention's `keep_tags`.
    pub tags: Vec<String>,
    /// vm-export, vdi-export, metadata-export or skeleton-export.
    pub kind: String,
    /// The VM backed up.
    pub vm: ManifestVm,
    /// Where it came from.
    pub pool: ManifestPool,
    /// The tool and version that wrote the backup.
    pub tool: String,
    /// Every file of the backup except the manifest itself.
    pub files: Vec<ManifestFile>,
    /// The disks exported as images (vdi-export).
    #[serde(default)]
    pub disks: Vec<ManifestDisk>,
    /// The disks kept on a backup SR (backup-sr-export), see [`crate::backup_sr`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sr_copies: Vec<crate::backup_sr::SrCopy>,
}

/// The VM of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestVm {
    /// The VM's uuid.
    pub uuid: String,
    /// Its name, exactly as XAPI had it.
    pub name_label: String,
    /// The directory name its backups live under.
    pub directory: String,
}

/// The pool a backup came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPool {
    /// The master's URL.
    pub master: String,
    /// The name of the host that ran the backup.
    pub host: String,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the backup directory.
    pub path: String,
    /// `xva` (a VM with its disks), `metadata-xva` (a VM's records only), `disk`,
    /// `metadata` or `naubackup-metadata`.
    pub role: String,
    /// `none`, `gzip` or `zstd`.
    pub compression: String,
    /// Digest of the file as stored.
    pub digest: FileDigest,
}

/// A disk exported as an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDisk {
    /// The guest device (`xvda`).
    pub device: String,
    /// The VBD's slot.
    pub userdevice: String,
    /// The original VDI's uuid.
    pub vdi_uuid: String,
    /// The VDI's name.
    pub name_label: String,
    /// Virtual size in bytes.
    pub virtual_size: u64,
    /// The image file (relative path).
    pub file: String,
    /// `raw` or `vhd`.
    pub format: String,
}

impl Manifest {
    /// The job kind of this backup.
    pub fn job_kind(&self) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == self.kind)
    }

    /// Reads the manifest of the backup directory `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(retention::layout::MANIFEST_FILE);
        let text = fs::read_to_string(&path)
            .map_err(|e| VmBackupError::io(format!("reading `{}`", path.display()), e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            VmBackupError::Backup(format!("`{}` is not a valid manifest: {e}", path.display()))
        })?;
        if manifest.format != retention::layout::MANIFEST_FORMAT {
            return Err(VmBackupError::Backup(format!(
                "`{}`: unknown manifest format `{}`",
                path.display(),
                manifest.format
            )));
        }
        Ok(manifest)
    }

    /// The record of the file at `path` (relative to the backup).
    pub fn file(&self, path: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Whether the file at `path` was compressed by vmbackup (or by the host).
    pub fn is_compressed(&self, path: &str) -> bool {
        self.file(path).is_some_and(|f| f.compression != "none")
    }

    /// The manifest as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serialises")
    }
}
