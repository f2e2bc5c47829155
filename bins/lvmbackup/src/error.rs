//! The crate's errors: [`ConfigError`] for the configuration files (always naming file and
//! line), [`LvmBackupError`] for everything else, with the volume, path or command it
//! concerns.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias of this crate.
pub type Result<T, E = LvmBackupError> = std::result::Result<T, E>;

/// A problem in a configuration file: exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that cannot be used, at `location` (`file:line`, or `file` when the problem
    /// is a missing setting).
    #[error("{location}: {problem}")]
    At {
        /// `file:line` or `file`.
        location: String,
        /// What is wrong.
        problem: String,
    },
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl ConfigError {
    /// A problem on `line` (1-based; 0 for the file as a whole) of `path`.
    pub fn at(path: &Path, line: usize, problem: impl Into<String>) -> Self {
        let location = if line == 0 {
            path.display().to_string()
        } else {
            format!("{}:{line}", path.display())
        };
        ConfigError::At {
            location,
            problem: problem.into(),
        }
    }
}

/// Everything else that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum LvmBackupError {
    /// A configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// lvm2 or a snapshot mount failed.
    #[error(transparent)]
    Lvm(#[from] lvm_snap::LvmError),
    /// A file-system operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done, with the path.
        action: String,
        /// Why it failed.
        source: io::Error,
    },
    /// An external command (GNU tar, mount, renice …) failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
        /// What it printed on standard error (trimmed).
        stderr: String,
    },
    /// A snapshot overflowed while it was read: its archive is not published.
    #[error("snapshot {snapshot} overflowed while it was read ({fill}); the archive was discarded")]
    Overflowed {
        /// The snapshot.
        snapshot: String,
        /// Its fill level.
        fill: String,
    },
    /// A raw image could not be saved (its source, its file, its size).
    #[error("saving a raw image")]
    Save(#[from] backup_core::batch::SaveError),
    /// The mount point holds something that is not the snapshot.
    #[error("{}: {problem}", path.display())]
    MountPoint {
        /// The mount point.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An archive in the repository failed verification.
    #[error("{}: {problem}", path.display())]
    Verify {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl LvmBackupError {
    /// An I/O error while doing `action`.
    pub fn io(action: impl Into<String>) -> impl FnOnce(io::Error) -> LvmBackupError {
        let action = action.into();
        move |source| LvmBackupError::Io { action, source }
    }

    /// Whether it is a configuration problem (exit status 2).
    pub fn is_configuration(&self) -> bool {
        matches!(self, LvmBackupError::Config(_))
    }
}
