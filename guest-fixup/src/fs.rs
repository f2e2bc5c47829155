//! The guest's files, behind a seam: [`GuestFs`] reads and writes paths as the guest sees them
//! (`/etc/fstab`), and [`DirFs`] is the real one, a directory on the host that holds the
//! guest's root (a mounted image, or a directory of files in tests).
//!
//! Guest symlinks are resolved as a chroot would (absolute links restart at the guest's root,
//! `..` stops there), so a link such as `/boot/grub/menu.lst -> ./grub.conf` works and a
//! hostile `/etc/fstab -> /../../host/etc/shadow` stays inside the guest.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{GuestFixupError, Result};

/// Read and write access to a guest's files, by guest path (absolute, `/`-separated).
pub trait GuestFs {
    /// The whole file, or `None` if it does not exist.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>>;
    /// At most `len` bytes from the start of the file, or `None` if it does not exist.
    fn read_head(&self, path: &str, len: usize) -> Result<Option<Vec<u8>>>;
    /// A reader over the file (for large files such as an initramfs), or `None`.
    fn open(&self, path: &str) -> Result<Option<Box<dyn Read>>>;
    /// The names in a directory, sorted; empty if the directory does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>>;
    /// Whether the path exists (after following symlinks).
    fn exists(&self, path: &str) -> Result<bool>;
    /// The file's size in bytes, or `None` if it does not exist.
    fn size(&self, path: &str) -> Result<Option<u64>>;
    /// Replaces (or creates) the file with `bytes`, atomically; an existing file keeps its mode.
    fn write(&self, path: &str, bytes: &[u8]) -> Result<()>;
    /// Copies a file, keeping its mode.
    fn copy(&self, from: &str, to: &str) -> Result<()>;
    /// Renames a file within the guest.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Removes a file (not a directory); a missing file is not an error.
    fn remove(&self, path: &str) -> Result<()>;
    /// Where the guest path is on the host (for tools that run on the host, such as mkswap).
    fn host_path(&self, path: &str) -> Result<PathBuf>;

    /// The file as text (invalid UTF-8 replaced), or `None` if it does not exist.
    fn read_text(&self, path: &str) -> Result<Option<String>> {
        Ok(self
            .read(path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

/// A guest root that is a directory on the host.
#[derive(Debug, Clone)]
pub struct DirFs {
    root: PathBuf,
}

const MAX_SYMLINKS: usize = 40;

impl DirFs {
    /// The guest whose `/` is `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The host directory holding the guest's `/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a guest path to a host path, following every symlink inside the guest.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        self.resolve_with(path, true)
    }

    /// Resolves all but the last component (which is kept as it is, link or not).
    fn resolve_parent(&self, path: &str) -> Result<PathBuf> {
        self.resolve_with(path, false)
    }

    fn resolve_with(&self, path: &str, follow_last: bool) -> Result<PathBuf> {
        let unsafe_path = |problem: &str| GuestFixupError::UnsafePath {
            path: PathBuf::from(path),
            problem: problem.to_owned(),
        };
        let mut pending: Vec<String> = components(Path::new(path)).into_iter().rev().collect();
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                done.pop();
                continue;
            }
            let candidate = self.join(&done).join(&name);
            let is_last = pending.is_empty();
            let meta = fs::symlink_metadata(&candidate);
            match meta {
                Ok(meta) if meta.file_type().is_symlink() && (follow_last || !is_last) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(unsafe_path("too many levels of symbolic links"));
                    }
                    let target = fs::read_link(&candidate)
                        .map_err(|e| GuestFixupError::io("reading the link", &candidate, e))?;
                    if target.is_absolute() {
                        done.clear();
                    }
                    pending.extend(components(&target).into_iter().rev());
                }
                _ => done.push(name),
            }
        }
        Ok(self.join(&done))
    }

    fn join(&self, names: &[String]) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(names);
        path
    }
}

/// The normal components of a path (`.` dropped, `..` kept, the root ignored).
fn components(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect()
}

fn absent<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl GuestFs for DirFs {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let host = self.resolve(path)?;
        absent(fs::read(&host)).map_err(|e| GuestFixupError::io("reading", path, e))
    }

    fn read_head(&self, path: &str, len: usize) -> Result<Option<Vec<u8>>> {
        let Some(file) = self.open(path)? else {
            return Ok(None);
        };
        let mut head = Vec::with_capacity(len);
        file.take(len as u64)
            .read_to_end(&mut head)
            .map_err(|e| GuestFixupError::io("reading", path, e))?;
        Ok(Some(head))
    }

    fn open(&self, path: &str) -> Result<Option<Box<dyn Read>>> {
        let host = self.resolve(path)?;
        match absent(fs::File::open(&host)) {
            Ok(Some(file)) if file.metadata().is_ok_and(|m| m.is_file()) => {
                Ok(Some(Box::new(file)))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(GuestFixupError::io("opening", path, e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let host = self.resolve(dir)?;
        let entries = match absent(fs::read_dir(&host)) {
            Ok(Some(entries)) => entries,
            Ok(None) => return Ok(Vec::new()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(Vec::new()),
            Err(e) => return Err(GuestFixupError::io("listing", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| GuestFixupError::io("listing", dir, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &str) -> Result<bool> {
        Ok(self.resolve(path)?.exists())
    }

    fn size(&self, path: &str) -> Result<Option<u64>> {
        let host = self.resolve(path)?;
        absent(fs::metadata(&host))
            .map(|m| m.map(|m| m.len()))
            .map_err(|e| GuestFixupError::io("reading the size of", path, e))
    }

    fn write(&self, path: &str, bytes: &[u8]) -> Result<()> {
        let host = self.resolve(path)?;
        let mode = fs::metadata(&host).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        let parent = host.parent().unwrap_or(&self.root);
        let name = host
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let temp = parent.join(format!(".{name}.guest-fixup-new"));
        let written = (|| -> io::Result<()> {
            fs::create_dir_all(parent)?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(mode)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.sync_all()?;
            fs::rename(&temp, &host)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map_err(|e| GuestFixupError::io("writing", path, e))
    }

    fn copy(&self, from: &str, to: &str) -> Result<()> {
        let source = self.resolve(from)?;
        let target = self.resolve_parent(to)?;
        fs::copy(&source, &target)
            .map(|_| ())
            .map_err(|e| GuestFixupError::io("copying", from, e))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let source = self.resolve_parent(from)?;
        let target = self.resolve_parent(to)?;
        fs::rename(&source, &target).map_err(|e| GuestFixupError::io("renaming", from, e))
    }

    fn remove(&self, path: &str) -> Result<()> {
        let host = self.resolve_parent(path)?;
        absent(fs::remove_file(&host))
            .map(|_| ())
            .map_err(|e| GuestFixupError::io("removing", path, e))
    }

    fn host_path(&self, path: &str) -> Result<PathBuf> {
        self.resolve(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_and_escaping_links_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/os-release"), "ID=debian\n").unwrap();
        symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
        symlink("/../../../../etc/hostname", root.join("etc/escape")).unwrap();
        symlink("/etc/loop", root.join("etc/loop")).unwrap();
        let guest = DirFs::new(root);
        assert_eq!(
            guest.read_text("/etc/os-release").unwrap().unwrap(),
            "ID=debian\n"
        );
        assert_eq!(
            guest.host_path("/etc/escape").unwrap(),
            root.join("etc/hostname")
        );
        assert!(guest.read("/etc/escape").unwrap().is_none());
        assert!(matches!(
            guest.read("/etc/loop"),
            Err(GuestFixupError::UnsafePath { .. })
        ));
    }

    #[test]
    fn write_keeps_the_mode_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("script"), "old").unwrap();
        fs::set_permissions(dir.path().join("script"), fs::Permissions::from_mode(0o750)).unwrap();
        let guest = DirFs::new(dir.path());
        guest.write("/script", b"new").unwrap();
        let meta = fs::metadata(dir.path().join("script")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o750);
        assert_eq!(fs::read(dir.path().join("script")).unwrap(), b"new");
        assert_eq!(guest.list("/").unwrap(), vec!["script".to_owned()]);
    }
}
