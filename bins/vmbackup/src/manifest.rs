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
//!
//! `state`, a file's `role` and `compression`, and a disk's `format` are typed
//! ([`ManifestState`], [`FileRole`], [`FileCompression`], [`ImageFormat`]) with the JSON
//! spellings above. A value this version does not know (a typo, a later version's role)
//! still reads, as the `Unknown` variant holding its text, so that `verify` reports it as
//! a problem and `restore` refuses it: an unknown value is never taken for a known one.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{ClientCompression, JobKind, VdiFormat};
use crate::digest::FileDigest;
use crate::error::{Result, VmBackupError};

/// An enum written in the manifest as one of a few strings, with an `Unknown` variant
/// that keeps any other string as it was read.
macro_rules! manifest_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version does not know, as written.
            Unknown(String),
        }

        impl $name {
            /// The manifest's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Unknown(text),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

manifest_words!(
    /// The state of a backup: only complete backups have a manifest.
    ManifestState {
        /// Every file written and checked.
        Complete = "complete",
    }
);

manifest_words!(
    /// What a file of a backup is.
    FileRole {
        /// A VM with its disks.
        Xva = "xva",
        /// A VM's records only (`/export_metadata`).
        MetadataXva = "metadata-xva",
        /// A disk image (see the manifest's `disks`).
        Disk = "disk",
        /// `vm-metadata.xml`.
        Metadata = "metadata",
        /// NAUbackup's `*.cfg` files.
        NaubackupMetadata = "naubackup-metadata",
        /// A backup-sr-export's VM records (`/export_metadata`); its disks are on the backup SR
        /// (the manifest's `sr_copies`).
        BackupSrXva = "backup-sr-xva",
    }
);

manifest_words!(
    /// How a file is compressed as stored.
    FileCompression {
        /// Not compressed.
        None = "none",
        /// gzip (by the host, or by vmbackup).
        Gzip = "gzip",
        /// zstd.
        Zstd = "zstd",
    }
);

manifest_words!(
    /// The format of a disk image.
    ImageFormat {
        /// The disk's bytes.
        Raw = "raw",
        /// A VHD (dynamic as XAPI exports it, or fixed).
        Vhd = "vhd",
    }
);

impl From<ClientCompression> for FileCompression {
    fn from(compression: ClientCompression) -> Self {
        match compression {
            ClientCompression::None => FileCompression::None,
            ClientCompression::Gzip => FileCompression::Gzip,
            ClientCompression::Zstd => FileCompression::Zstd,
        }
    }
}

impl From<VdiFormat> for ImageFormat {
    fn from(format: VdiFormat) -> Self {
        match format {
            VdiFormat::Raw => ImageFormat::Raw,
            VdiFormat::Vhd => ImageFormat::Vhd,
        }
    }
}

/// The manifest of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`retention::layout::MANIFEST_FORMAT`].
    pub format: String,
    /// Always complete: an incomplete backup has no manifest.
    pub state: ManifestState,
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
    /// What the file is.
    pub role: FileRole,
    /// How it is compressed as stored.
    pub compression: FileCompression,
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
    /// Raw or VHD.
    pub format: ImageFormat,
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

    /// The path of the file `relative` inside the backup `dir`, refused unless it is a
    /// plain relative path that stays inside the backup (no `..`, not absolute, no
    /// symbolic link leading out). `verify` and `restore` both read files only through it.
    pub fn resolve(dir: &Path, relative: &str) -> Result<std::path::PathBuf> {
        use std::path::Component;
        let outside = || {
            VmBackupError::Backup(format!(
                "`{}`: the manifest names `{relative}`, a path outside the backup",
                dir.display()
            ))
        };
        let lexical = Path::new(relative);
        if relative.is_empty()
            || !lexical
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(outside());
        }
        let path = dir.join(lexical);
        let canonical_dir = fs::canonicalize(dir)
            .map_err(|e| VmBackupError::io(format!("reading `{}`", dir.display()), e))?;
        match fs::canonicalize(&path) {
            Ok(real) if real.starts_with(&canonical_dir) => Ok(path),
            Ok(_) => Err(outside()),
            Err(e) => Err(VmBackupError::io(
                format!("reading `{}`", path.display()),
                e,
            )),
        }
    }

    /// The manifest as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest as the untyped version wrote it.
    const WRITTEN: &str = r#"{
  "format": "vmtoolkit-backup/1",
  "state": "complete",
  "created": "2026-11-22T01:30:05Z",
  "finished": "2026-11-22T01:31:40Z",
  "parent": null,
  "tags": [],
  "kind": "vdi-export",
  "vm": {
    "uuid": "u",
    "name_label": "web",
    "directory": "web"
  },
  "pool": {
    "master": "https://xs1",
    "host": "h"
  },
  "tool": "vmbackup 0.1.0",
  "files": [
    {
      "path": "web.vhd.zst",
      "role": "disk",
      "compression": "zstd",
      "digest": {
        "kind": "xxh64",
        "value": "0123456789abcdef",
        "bytes": 1
      }
    },
    {
      "path": "vm.cfg",
      "role": "naubackup-metadata",
      "compression": "none",
      "digest": {
        "kind": "xxh64",
        "value": "0123456789abcdef",
        "bytes": 1
      }
    }
  ],
  "disks": [
    {
      "device": "xvda",
      "userdevice": "0",
      "vdi_uuid": "v",
      "name_label": "system",
      "virtual_size": 1,
      "file": "web.vhd.zst",
      "format": "vhd"
    }
  ]
}"#;

    #[test]
    fn existing_manifests_read_typed_and_write_back_the_same() {
        let manifest: Manifest = serde_json::from_str(WRITTEN).unwrap();
        assert_eq!(manifest.state, ManifestState::Complete);
        assert_eq!(manifest.files[0].role, FileRole::Disk);
        assert_eq!(manifest.files[0].compression, FileCompression::Zstd);
        assert_eq!(manifest.files[1].role, FileRole::NaubackupMetadata);
        assert_eq!(manifest.disks[0].format, ImageFormat::Vhd);
        assert_eq!(manifest.to_json(), WRITTEN);
    }

    #[test]
    fn unknown_values_read_as_unknown_and_keep_their_text() {
        let text = WRITTEN
            .replace("\"disk\"", "\"qcow2-disk\"")
            .replace("\"zstd\"", "\"lz4\"")
            .replace("\"vhd\"", "\"qcow2\"")
            .replace("\"complete\"", "\"writing\"");
        let manifest: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(manifest.state, ManifestState::Unknown("writing".into()));
        assert_eq!(
            manifest.files[0].role,
            FileRole::Unknown("qcow2-disk".into())
        );
        assert_eq!(
            manifest.files[0].compression,
            FileCompression::Unknown("lz4".into())
        );
        assert_eq!(
            manifest.disks[0].format,
            ImageFormat::Unknown("qcow2".into())
        );
        assert_eq!(manifest.to_json(), text);
    }

    #[test]
    fn paths_resolve_only_inside_the_backup() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("backup");
        std::fs::create_dir_all(dir.join("DISK-xvda")).unwrap();
        std::fs::write(dir.join("DISK-xvda/vbd.cfg"), "x").unwrap();
        std::fs::write(root.path().join("outside"), "x").unwrap();
        std::os::unix::fs::symlink(root.path().join("outside"), dir.join("link")).unwrap();
        assert!(Manifest::resolve(&dir, "DISK-xvda/vbd.cfg").is_ok());
        for bad in [
            "../outside",
            "/etc/hostname",
            "link",
            "",
            "DISK-xvda/../../outside",
        ] {
            assert!(Manifest::resolve(&dir, bad).is_err(), "{bad}");
        }
    }
}
