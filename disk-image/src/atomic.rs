//! Output files that appear only when complete: written under a temporary name in the same
//! directory, synced, then renamed into place. Dropped before `commit`, the temporary file is
//! removed, so a failure (a full disk, a bad input, a panic) never leaves a file that looks
//! complete.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, shown};

/// A file being written under a temporary name; see the module docs.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts writing the file that will become `target`.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                crate::DiskImageError::Invalid(format!("{} is not a file name", shown(&target)))
            })?;
        let temp = dir.join(format!(
            ".{file_name}.partial-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&temp)
            .context(|| format!("creating {}", shown(&temp)))?;
        Ok(AtomicFile {
            file: Some(file),
            temp,
            target,
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        self.file
            .as_ref()
            .expect("an AtomicFile holds its file until commit")
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path (removed unless committed).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Syncs the data, renames the file into place and syncs the directory. When the sync or
    /// the rename fails, the temporary file is removed.
    pub fn commit(mut self) -> Result<()> {
        // Until the rename is done, dropping `self` removes the temporary file.
        self.file()
            .sync_all()
            .context(|| format!("syncing {}", shown(&self.temp)))?;
        fs::rename(&self.temp, &self.target)
            .context(|| format!("renaming {} to {}", shown(&self.temp), shown(&self.target)))?;
        // Renamed: nothing to remove any more.
        drop(self.file.take());
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort: some filesystems refuse to open directories for sync.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some()
            && let Err(error) = fs::remove_file(&self.temp)
        {
            tracing::warn!(path = %self.temp.display(), %error, "could not remove a partial file");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.xva");
        let atomic = AtomicFile::create(&target).unwrap();
        atomic.file().write_all(b"data").unwrap();
        assert!(!target.exists());
        atomic.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"data");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_rename_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a-folder");
        fs::create_dir(&target).unwrap();
        let atomic = AtomicFile::create(&target).unwrap();
        atomic.file().write_all(b"data").unwrap();
        assert!(atomic.commit().is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a-folder"]);
    }

    #[test]
    fn dropped_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let atomic = AtomicFile::create(dir.path().join("out.xva")).unwrap();
        atomic.file().write_all(b"partial").unwrap();
        drop(atomic);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
