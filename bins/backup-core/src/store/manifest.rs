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
//! The keys keep the spellings of the first version (written by vmbackup for XenServer):
//! backups written before this crate existed read unchanged. Their Rust names say what
//! they are on any platform (`pool` is the [`ManifestSource`], `userdevice` a disk's
//! [`slot`](ManifestDisk::slot)). Keys a platform adds (vmbackup's `sr_copies`) are its own
//! type `X` in [`Manifest::extra`], written after the others in that type's field order;
//! the store reads them as an untyped [`Extra`] map it never writes.
//!
//! **Versioning.** `format` names the version ([`MANIFEST_FORMAT`]); a manifest of another
//! format is refused before anything else of it is read. Within a version, fields are only
//! added.
//!
//! **Words.** `state`, a file's `role`, `compression` and digest `kind`, and a disk's
//! `format` are typed (see [`crate::store::words`]); a value this version does not know
//! reads as `Unknown` with its text, and `verify` reports it as a problem.
//!
//! **The job kind** (`kind`) stays the platform's own string (`vm-export`, …): the store
//! never acts on it (verify goes by role and format), and each platform has its own kinds,
//! which a store-wide enum would have to list; the platform maps it to its own type.

use std::fs;
use std::path::{Component, Path, PathBuf};

use disk_image::ImageFormat;
use disk_image::compress::Compression;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The platform's keys as the store reads them: untyped, in no particular order.
pub type Extra = serde_json::Map<String, serde_json::Value>;

use super::digest::FileDigest;
use super::error::{Result, StoreError};
use super::layout::{MANIFEST_FILE, MANIFEST_FORMAT};
use super::words::{FileRole, ManifestState, Recorded};

/// The manifest of one backup, with the platform's own keys as `X`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest<X = Extra> {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Always complete: an incomplete backup has no manifest.
    pub state: ManifestState,
    /// When the backup started (RFC 3339, UTC).
    pub created: String,
    /// When it was complete.
    pub finished: String,
    /// The backup this one depends on (none: every backup is full).
    #[serde(default)]
    pub parent: Option<String>,
    /// Labels for retention's `keep_tags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The platform's job kind (vmbackup: vm-export, vdi-export, metadata-export,
    /// skeleton-export, backup-sr-export).
    pub kind: String,
    /// The VM backed up.
    pub vm: ManifestVm,
    /// Where it came from.
    #[serde(rename = "pool")]
    pub source: ManifestSource,
    /// The tool and version that wrote the backup.
    pub tool: String,
    /// Every file of the backup except the manifest itself.
    pub files: Vec<ManifestFile>,
    /// The disks stored as images.
    #[serde(default)]
    pub disks: Vec<ManifestDisk>,
    /// The keys a platform adds (vmbackup's `sr_copies`), after the others.
    #[serde(flatten)]
    pub extra: X,
}

/// The VM of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestVm {
    /// The VM's uuid on its platform.
    pub uuid: String,
    /// Its name, exactly as the platform had it.
    #[serde(rename = "name_label")]
    pub name: String,
    /// The directory name its backups live under ([`crate::store::dir_name`] of the name).
    pub directory: String,
}

/// Where a backup was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// The URL of the platform's endpoint (a XenServer pool master, an oVirt engine).
    #[serde(rename = "master")]
    pub endpoint: String,
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
    pub compression: Recorded<Compression>,
    /// Digest of the file as stored.
    pub digest: FileDigest,
}

/// A disk stored as an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDisk {
    /// The guest device (`xvda`).
    pub device: String,
    /// The disk's slot on the VM (XenServer's VBD `userdevice`).
    #[serde(rename = "userdevice")]
    pub slot: String,
    /// The uuid of the platform's volume (XenServer's VDI) the image was read from.
    #[serde(rename = "vdi_uuid")]
    pub volume_uuid: String,
    /// The volume's name.
    #[serde(rename = "name_label")]
    pub name: String,
    /// Virtual size in bytes.
    pub virtual_size: u64,
    /// The image file (relative path).
    pub file: String,
    /// How the image is laid out.
    pub format: Recorded<ImageFormat>,
}

/// Why bytes are not a manifest of this version.
pub(crate) enum ManifestProblem {
    /// Not JSON, or not of the manifest's shape.
    NotValid(String),
    /// Another version's manifest (its `format`).
    UnknownFormat(String),
}

impl Manifest {
    /// Reads the manifest of the backup directory `dir`, the platform's keys untyped.
    pub fn read(dir: &Path) -> Result<Manifest> {
        Manifest::read_as(dir)
    }

    /// The path of the file `relative` inside the backup `dir`, refused unless it is a
    /// plain relative path that stays inside the backup (no `..`, not absolute, no
    /// symbolic link leading out). `verify` and `restore` both read files only through it.
    pub fn resolve(dir: &Path, relative: &str) -> Result<PathBuf> {
        let outside = || {
            StoreError::refused(
                dir,
                format!("the manifest names `{relative}`, a path outside the backup"),
            )
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
        let canonical_dir = fs::canonicalize(dir).map_err(|e| StoreError::io("reading", dir, e))?;
        match fs::canonicalize(&path) {
            Ok(real) if real.starts_with(&canonical_dir) => Ok(path),
            Ok(_) => Err(outside()),
            Err(e) => Err(StoreError::io("reading", &path, e)),
        }
    }
}

impl<X: DeserializeOwned> Manifest<X> {
    /// Reads the manifest of the backup directory `dir`, the platform's keys as `X`.
    pub fn read_as(dir: &Path) -> Result<Manifest<X>> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&path).map_err(|e| StoreError::io("reading", &path, e))?;
        Manifest::from_json(&path, &bytes)
    }

    /// The manifest in `bytes` (read from `path`, named in errors): its `format` checked
    /// first, so that a later version's manifest is refused as such.
    pub fn from_json(path: &Path, bytes: &[u8]) -> Result<Manifest<X>> {
        Manifest::parse(bytes).map_err(|problem| StoreError::Manifest {
            path: path.to_path_buf(),
            problem: match problem {
                ManifestProblem::NotValid(e) => format!("not a valid manifest: {e}"),
                ManifestProblem::UnknownFormat(f) => format!("unknown manifest format `{f}`"),
            },
        })
    }

    /// [`Manifest::from_json`], with the problem typed.
    pub(crate) fn parse(bytes: &[u8]) -> std::result::Result<Manifest<X>, ManifestProblem> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestProblem::NotValid(e.to_string()))?;
        match value.get("format") {
            Some(serde_json::Value::String(format)) if format == MANIFEST_FORMAT => {}
            Some(serde_json::Value::String(format)) => {
                return Err(ManifestProblem::UnknownFormat(format.clone()));
            }
            _ => return Err(ManifestProblem::NotValid("no `format`".to_owned())),
        }
        serde_json::from_value(value).map_err(|e| ManifestProblem::NotValid(e.to_string()))
    }
}

impl<X> Manifest<X> {
    /// The record of the file at `path` (relative to the backup).
    pub fn file(&self, path: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

impl<X: Serialize> Manifest<X> {
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
        assert_eq!(manifest.files[0].compression.known(), Ok(Compression::Zstd));
        assert_eq!(manifest.files[1].role, FileRole::NaubackupMetadata);
        assert_eq!(manifest.disks[0].format.known(), Ok(ImageFormat::Vhd));
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
        assert_eq!(manifest.files[0].compression.known(), Err("lz4"));
        assert_eq!(manifest.disks[0].format.known(), Err("qcow2"));
        assert_eq!(manifest.to_json(), text);
    }

    /// A platform's keys, typed.
    #[derive(Debug, Deserialize, Serialize)]
    struct Copies {
        sr_copies: Vec<serde_json::Value>,
    }

    #[test]
    fn platform_fields_are_kept_and_later_formats_refused() {
        let text = WRITTEN.replace(
            "  ]\n}",
            "  ],\n  \"sr_copies\": [\n    {\n      \"device\": \"xvda\"\n    }\n  ]\n}",
        );
        let path = Path::new("m.json");
        let manifest: Manifest = Manifest::from_json(path, text.as_bytes()).unwrap();
        assert_eq!(manifest.extra["sr_copies"][0]["device"], "xvda");
        assert_eq!(manifest.to_json(), text, "written back as read");

        let typed: Manifest<Copies> = Manifest::from_json(path, text.as_bytes()).unwrap();
        assert_eq!(typed.extra.sr_copies.len(), 1);
        assert_eq!(typed.to_json(), text);
        assert!(Manifest::<Copies>::from_json(path, WRITTEN.as_bytes()).is_err());

        let later = WRITTEN.replace("vmtoolkit-backup/1", "vmtoolkit-backup/2");
        let error = Manifest::<Extra>::from_json(path, later.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`m.json`: unknown manifest format `vmtoolkit-backup/2`"
        );
        assert!(Manifest::<Extra>::from_json(path, b"{}").is_err());
        assert!(Manifest::<Extra>::from_json(path, b"{not json").is_err());
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
