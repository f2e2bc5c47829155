//! One process at a time changes a backup directory: every command that writes or removes
//! backups (a run, a prune) holds [`StoreLock`] on the backup directory while it does, so
//! that overlapping runs (cron) do not fight over retention, and a prune never removes a
//! backup a run is about to rely on.
//!
//! The lock is `flock(2)` on `<backup_dir>/.vmbackup.lock` (the name the first version
//! used, so that old and new binaries exclude each other), taken without waiting: a second
//! process is refused with [`StoreError::Locked`]. The kernel releases it when the process
//! ends, however it ends; the file itself stays.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::error::{Result, StoreError};

/// The lock file inside the backup directory.
pub const LOCK_FILE: &str = ".vmbackup.lock";

/// The exclusive lock on a backup directory, held until dropped.
#[derive(Debug)]
pub struct StoreLock {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl StoreLock {
    /// Takes the lock on the backup directory `dir` (which must exist), or fails at once
    /// when another process holds it.
    pub fn acquire(dir: &Path) -> Result<StoreLock> {
        let path = dir.join(LOCK_FILE);
        let file = File::create(&path).map_err(|e| StoreError::io("creating", &path, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
            StoreError::Locked {
                dir: dir.to_path_buf(),
                errno,
            }
        })?;
        tracing::debug!(dir = %dir.display(), "store locked");
        Ok(StoreLock {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory locked.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path()).unwrap();
        assert_eq!(first.dir(), dir.path());
        // flock locks belong to the open file description: a second open in this process
        // contends exactly as another process would.
        let second = StoreLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(second, StoreError::Locked { errno, .. } if errno == nix::errno::Errno::EWOULDBLOCK),
            "{second}"
        );
        assert!(
            second.to_string().starts_with("another run is using `"),
            "{second}"
        );
        drop(first);
        StoreLock::acquire(dir.path()).unwrap();
        let missing = StoreLock::acquire(&dir.path().join("gone")).unwrap_err();
        assert!(matches!(missing, StoreError::Io { .. }), "{missing}");
    }
}
