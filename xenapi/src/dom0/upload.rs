//! Files copied to a dom0, as a guard: what the copy created is removed again unless
//! [`Uploaded::keep`] says the operation that needed them succeeded.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use ssh2::{OpenFlags, OpenType};

use super::{Dom0, Dom0Error, Result};

/// The files uploaded so far, and the directories the upload created. Dropped without
/// [`Uploaded::keep`], it removes them (best effort: a failure is a warning).
#[derive(Debug)]
pub struct Uploaded {
    dom0: Dom0,
    files: Vec<PathBuf>,
    /// Outermost first.
    dirs: Vec<PathBuf>,
    kept: bool,
}

impl Uploaded {
    pub(super) fn new(dom0: Dom0) -> Self {
        Uploaded {
            dom0,
            files: Vec::new(),
            dirs: Vec::new(),
            kept: false,
        }
    }

    /// The files uploaded, as `user@host:path`.
    pub fn files(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|f| format!("{}:{}", self.dom0.authority(), f.display()))
            .collect()
    }

    /// Keeps the files (what needed them succeeded) and returns them as `user@host:path`.
    pub fn keep(mut self) -> Vec<String> {
        self.kept = true;
        self.files()
    }

    /// Copies `local` to `remote`, creating the directories above it that are missing.
    pub(super) fn copy(&mut self, local: &Path, remote: &Path) -> Result<()> {
        let parent = remote.parent().ok_or_else(|| {
            Dom0Error::Refused(format!("`{}` has no directory", remote.display()))
        })?;
        self.make_dirs(parent)?;
        let reading = |source| Dom0Error::Io {
            action: format!("reading `{}`", local.display()),
            source,
        };
        let mut source = File::open(local).map_err(reading)?;
        let size = source.metadata().map_err(reading)?.len();
        let there = format!("{}:{}", self.dom0.authority(), remote.display());
        let sftp = self.dom0.sftp();
        let file = sftp
            .open_mode(
                remote,
                OpenFlags::WRITE | OpenFlags::EXCLUSIVE,
                0o644,
                OpenType::File,
            )
            .map_err(|source| Dom0Error::Ssh {
                action: format!("creating {there}"),
                source,
            })?;
        self.files.push(remote.to_owned());
        let mut target = BufWriter::with_capacity(1 << 20, file);
        io::copy(&mut source, &mut target)
            .and_then(|_| target.flush())
            .map_err(|source| Dom0Error::Io {
                action: format!("copying `{}` to {there}", local.display()),
                source,
            })?;
        let mut file = target.into_inner().map_err(|e| Dom0Error::Io {
            action: format!("copying `{}` to {there}", local.display()),
            source: e.into_error(),
        })?;
        file.close().map_err(|source| Dom0Error::Ssh {
            action: format!("closing {there}"),
            source,
        })?;
        let written = sftp
            .stat(remote)
            .map_err(|source| Dom0Error::Ssh {
                action: format!("checking {there}"),
                source,
            })?
            .size;
        if written != Some(size) {
            return Err(Dom0Error::Refused(format!(
                "{there} holds {written:?} bytes after the copy, not the {size} of `{}`",
                local.display()
            )));
        }
        tracing::info!(local = %local.display(), remote = %there, size, "uploaded");
        Ok(())
    }

    /// `mkdir -p`, remembering the directories it made.
    fn make_dirs(&mut self, dir: &Path) -> Result<()> {
        let sftp = self.dom0.sftp();
        let authority = self.dom0.authority();
        let mut missing = Vec::new();
        for ancestor in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            match sftp.stat(ancestor) {
                Ok(stat) if stat.is_dir() => break,
                Ok(_) => {
                    return Err(Dom0Error::Refused(format!(
                        "{authority}:{} exists and is not a directory",
                        ancestor.display()
                    )));
                }
                Err(_) => missing.push(ancestor.to_owned()),
            }
        }
        for dir in missing.into_iter().rev() {
            sftp.mkdir(&dir, 0o755).map_err(|source| Dom0Error::Ssh {
                action: format!("creating the directory {authority}:{}", dir.display()),
                source,
            })?;
            self.dirs.push(dir);
        }
        Ok(())
    }
}

impl Drop for Uploaded {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let sftp = self.dom0.sftp();
        let host = self.dom0.authority();
        for file in self.files.iter().rev() {
            if let Err(error) = sftp.unlink(file) {
                tracing::warn!(%error, file = %file.display(), host, "cannot remove an uploaded file");
            }
        }
        for dir in self.dirs.iter().rev() {
            if let Err(error) = sftp.rmdir(dir) {
                tracing::warn!(%error, dir = %dir.display(), host, "cannot remove a directory the upload created");
            }
        }
    }
}
