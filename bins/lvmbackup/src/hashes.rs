//! `<prefix>-hashes.md5`: backup-manager's digest list, one `<md5>  <archive file name>` line
//! per archive (what `md5sum -c` reads from the repository directory). An archive made again
//! replaces its line, as backup-manager does; pruning drops the lines of removed archives.
//! The file is rewritten whole, under a temporary name, synced, then renamed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{LvmBackupError, Result};

/// The digest list of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    path: PathBuf,
    /// Lines in file order: (digest, file name); lines lvmbackup cannot read are kept as
    /// they are.
    lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Entry { md5: String, name: String },
    Other(String),
}

impl Hashes {
    /// Reads `path`; a missing file is an empty list.
    pub fn read(path: &Path) -> Result<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(LvmBackupError::Io {
                    action: format!("reading {}", path.display()),
                    source: e,
                });
            }
        };
        let lines = text
            .lines()
            .map(|line| match line.split_once("  ") {
                Some((md5, name))
                    if md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    Line::Entry {
                        md5: md5.to_ascii_lowercase(),
                        name: name.to_owned(),
                    }
                }
                _ => Line::Other(line.to_owned()),
            })
            .collect();
        Ok(Hashes {
            path: path.to_owned(),
            lines,
        })
    }

    /// The digest recorded for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.lines.iter().rev().find_map(|line| match line {
            Line::Entry { md5, name: n } if n == name => Some(md5.as_str()),
            _ => None,
        })
    }

    /// Every recorded (file name, digest).
    pub fn entries(&self) -> BTreeMap<&str, &str> {
        self.lines
            .iter()
            .filter_map(|line| match line {
                Line::Entry { md5, name } => Some((name.as_str(), md5.as_str())),
                Line::Other(_) => None,
            })
            .collect()
    }

    /// Records `md5` for `name`, replacing an older line for it.
    pub fn set(&mut self, name: &str, md5: &str) {
        self.remove(name);
        self.lines.push(Line::Entry {
            md5: md5.to_owned(),
            name: name.to_owned(),
        });
    }

    /// Drops the line of `name`.
    pub fn remove(&mut self, name: &str) {
        self.lines
            .retain(|line| !matches!(line, Line::Entry { name: n, .. } if n == name));
    }

    /// Writes the list back: temporary file, sync, rename, sync of the directory.
    pub fn save(&self) -> Result<()> {
        let mut text = String::new();
        for line in &self.lines {
            match line {
                Line::Entry { md5, name } => {
                    let _ = writeln!(text, "{md5}  {name}");
                }
                Line::Other(other) => {
                    text.push_str(other);
                    text.push('\n');
                }
            }
        }
        write_durably(&self.path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` durably: `<path>.partial`, fsync, rename, fsync of the directory.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = partial_path(path);
    let io = |action: &str| LvmBackupError::io(format!("{action} {}", temp.display()));
    let mut file = fs::File::create(&temp).map_err(io("creating"))?;
    file.write_all(bytes).map_err(io("writing"))?;
    file.sync_all().map_err(io("syncing"))?;
    drop(file);
    fs::rename(&temp, path).map_err(io("renaming"))?;
    sync_parent(path)
}

/// `<path>.partial`: where a file is written before it is renamed into place.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    path.with_file_name(name)
}

/// Syncs the directory holding `path`, so that a rename in it is durable.
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LvmBackupError::io(format!(
            "syncing directory {}",
            dir.display()
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_replaced_removed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xen-hashes.md5");
        fs::write(
            &path,
            "0123456789abcdef0123456789abcdef  xen-a.20261120.master.tar.gz\n\
             a garbled line\n\
             ffffffffffffffffffffffffffffffff  xen-a.20261121.tar.gz\n",
        )
        .unwrap();
        let mut hashes = Hashes::read(&path).unwrap();
        assert_eq!(
            hashes.get("xen-a.20261121.tar.gz"),
            Some("ffffffffffffffffffffffffffffffff")
        );
        hashes.set("xen-a.20261121.tar.gz", "00000000000000000000000000000000");
        hashes.set("xen-a.20261122.tar.gz", "11111111111111111111111111111111");
        hashes.remove("xen-a.20261120.master.tar.gz");
        hashes.save().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "a garbled line\n\
             00000000000000000000000000000000  xen-a.20261121.tar.gz\n\
             11111111111111111111111111111111  xen-a.20261122.tar.gz\n"
        );
        assert!(!partial_path(&path).exists());
        assert!(
            Hashes::read(&dir.path().join("none.md5"))
                .unwrap()
                .entries()
                .is_empty()
        );
    }
}
