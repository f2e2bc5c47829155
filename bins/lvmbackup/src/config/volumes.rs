//! `/etc/xenback_vols`: one volume per line, `domU|part|device|fstype|options`.
//!
//! The rules, and where they differ from xenbackup's `cut -d'|' -f1..5` loop:
//! - A line whose fifth field (the mount options) is empty is **skipped**, as xenbackup
//!   skips it; the run reports it as skipped, with its line number.
//! - A line starting with `#` is a comment (xenbackup has none and would back up such a
//!   line's device under a domU named `#…`); so is an empty line.
//! - xenbackup's README shows `mydomu2|var|/dev/vgxen/mydomu1-var||ufs|ro,ufstype=44bsd`:
//!   six fields with an empty fourth. xenbackup reads it as file system `""` with options
//!   `ufs`, and its mount fails. lvmbackup reads the stray `|` as what it is: file system
//!   `ufs`, options `ro,ufstype=44bsd`, and warns. Any other field count is an error.
//! - `domU` and `part` become the mount point `MNTSOURCEDIR/<domU>/<part>` and part of the
//!   archive's name, so they must be plain names: `A-Z a-z 0-9 . _ + - @`, not `.` or `..`.
//! - The device is an LVM volume, `/dev/<vg>/<lv>` (or `<vg>/<lv>`).
//! - A `(domU, part)` pair may appear once: two volumes would share a mount point and an
//!   archive name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lvm_snap::VolumeRef;
use serde::Serialize;

use crate::error::ConfigError;

/// One volume to back up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeEntry {
    /// The guest's name.
    pub domu: String,
    /// The partition's name within the guest.
    pub part: String,
    /// The logical volume.
    #[serde(serialize_with = "display")]
    pub device: VolumeRef,
    /// Its file system, as `mount -t` names it.
    pub fstype: String,
    /// The mount options for the snapshot (read-only in any case).
    pub options: String,
    /// Its line in the volume list.
    pub line: usize,
}

fn display<S: serde::Serializer>(v: &VolumeRef, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A line that is skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    /// The line number.
    pub line: usize,
    /// Why it is skipped.
    pub why: String,
}

/// The volume list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeList {
    /// The file.
    pub path: PathBuf,
    /// The volumes, in file order.
    pub volumes: Vec<VolumeEntry>,
    /// Lines with empty mount options (xenbackup skips them too).
    pub skipped: Vec<SkippedLine>,
    /// Warnings (the README's stray `|`).
    pub warnings: Vec<String>,
}

impl VolumeList {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        VolumeList::parse(path, &text)
    }

    /// Reads `text`, the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let mut list = VolumeList {
            path: path.to_owned(),
            volumes: Vec::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
        };
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |problem: String| ConfigError::at(path, line, problem);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.split('|').map(str::trim).collect();
            let (domu, part, device, fstype, options) = match fields.as_slice() {
                [d, p, dev, fs, opts] => (*d, *p, *dev, *fs, *opts),
                [d, p, dev, "", fs, opts] => {
                    list.warnings.push(format!(
                        "{}:{line}: a stray `|` after the device (six fields, the fourth \
                         empty): read as file system {fs:?}, options {opts:?}",
                        path.display()
                    ));
                    (*d, *p, *dev, *fs, *opts)
                }
                _ => {
                    return Err(error(format!(
                        "expected 5 fields `domU|part|device|fstype|options`, found {}",
                        fields.len()
                    )));
                }
            };
            if options.is_empty() {
                list.skipped.push(SkippedLine {
                    line,
                    why: "no mount options (xenbackup skips such lines)".into(),
                });
                continue;
            }
            check_component("domU", domu).map_err(&error)?;
            check_component("part", part).map_err(&error)?;
            let device =
                VolumeRef::parse(device).map_err(|e| error(format!("device {device:?}: {e}")))?;
            if fstype.is_empty()
                || !fstype
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
            {
                return Err(error(format!("file system type {fstype:?} is not a name")));
            }
            if let Some(first) = seen.insert((domu.to_owned(), part.to_owned()), line) {
                return Err(error(format!(
                    "{domu}|{part} is listed on line {first} already (one mount point, one \
                     archive name)"
                )));
            }
            list.volumes.push(VolumeEntry {
                domu: domu.to_owned(),
                part: part.to_owned(),
                device,
                fstype: fstype.to_owned(),
                options: options.to_owned(),
                line,
            });
        }
        Ok(list)
    }
}

/// A name that becomes a path component and part of an archive name.
fn check_component(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} must be a plain name (A-Z a-z 0-9 . _ + - @, not . or ..): it \
             becomes a directory and part of the archive's name"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<VolumeList, ConfigError> {
        VolumeList::parse(Path::new("/etc/xenback_vols"), text)
    }

    #[test]
    fn the_seed_examples_read_with_the_documented_rules() {
        let list = parse(
            "mydomu1|root|/dev/vgxen/mydomu1-root|ext4|ro,noatime\n\
             mydomu2|var|/dev/vgxen/mydomu1-var||ufs|ro,ufstype=44bsd\n\
             \n\
             # old|root|/dev/vgxen/old-root|ext4|ro\n\
             mynetbsd2|root|/dev/vgxen/mynetbsd2-root|ufs|\n\
             web|data|vgxen/web-data|xfs|ro\n",
        )
        .unwrap();
        let summary: Vec<(&str, &str, String, &str, &str, usize)> = list
            .volumes
            .iter()
            .map(|v| {
                (
                    v.domu.as_str(),
                    v.part.as_str(),
                    v.device.to_string(),
                    v.fstype.as_str(),
                    v.options.as_str(),
                    v.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "mydomu1",
                    "root",
                    "vgxen/mydomu1-root".into(),
                    "ext4",
                    "ro,noatime",
                    1
                ),
                (
                    "mydomu2",
                    "var",
                    "vgxen/mydomu1-var".into(),
                    "ufs",
                    "ro,ufstype=44bsd",
                    2
                ),
                ("web", "data", "vgxen/web-data".into(), "xfs", "ro", 6),
            ]
        );
        assert_eq!(
            list.skipped,
            [SkippedLine {
                line: 5,
                why: "no mount options (xenbackup skips such lines)".into()
            }]
        );
        assert_eq!(list.warnings.len(), 1);
        assert!(list.warnings[0].starts_with("/etc/xenback_vols:2: a stray `|`"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        for (text, want) in [
            (
                "a|b|/dev/vg/lv|ext4\n",
                "/etc/xenback_vols:1: expected 5 fields",
            ),
            (
                "a|b|/dev/vg/lv|ext4|ro|x|y\n",
                "/etc/xenback_vols:1: expected 5 fields",
            ),
            (
                "a|b|/dev/vg/lv|ext4|ro|x\n",
                "/etc/xenback_vols:1: expected 5 fields",
            ),
            (
                "\n../x|b|/dev/vg/lv|ext4|ro\n",
                "/etc/xenback_vols:2: domU \"../x\"",
            ),
            (
                "a|..|/dev/vg/lv|ext4|ro\n",
                "/etc/xenback_vols:1: part \"..\"",
            ),
            (
                "a|b c|/dev/vg/lv|ext4|ro\n",
                "/etc/xenback_vols:1: part \"b c\"",
            ),
            (
                "a|b|/dev/sda1|ext4|ro\n",
                "/etc/xenback_vols:1: device \"/dev/sda1\"",
            ),
            (
                "a|b|/dev/vg/-lv|ext4|ro\n",
                "/etc/xenback_vols:1: device \"/dev/vg/-lv\"",
            ),
            (
                "a|b|/dev/vg/lv|ext4;rm|ro\n",
                "/etc/xenback_vols:1: file system type",
            ),
            (
                "a|b|/dev/vg/lv|ext4|ro\na|b|/dev/vg/lv2|ext4|ro\n",
                "/etc/xenback_vols:2: a|b is listed on line 1 already",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.starts_with(want), "{text:?}: {error}");
        }
    }
}
