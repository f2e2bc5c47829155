//! The store's one error type. Its message names what failed and where (which directory,
//! which file, which manifest); the underlying cause, if any, is its `source()`.

use std::io;
use std::path::{Path, PathBuf};

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything that can go wrong reading or changing a backup store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O operation on `path` failed; `action` says which.
    #[error("{action} `{}`", path.display())]
    Io {
        /// For example "renaming to `…/.deleting-2026-11-22T013005Z`": what was being done.
        action: String,
        /// The file or directory it was done on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A manifest that cannot be used: not JSON, not a manifest, of an unknown format.
    #[error("`{}`: {problem}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A request the store refuses: a path that leaves the backup, a file written twice.
    #[error("`{}`: {problem}", path.display())]
    Refused {
        /// The path concerned.
        path: PathBuf,
        /// Why it is refused.
        problem: String,
    },
    /// Another process holds the store's lock.
    #[error("another run is using `{}` ({errno})", dir.display())]
    Locked {
        /// The directory locked.
        dir: PathBuf,
        /// What `flock` reported (`EWOULDBLOCK` when another process holds it).
        errno: nix::errno::Errno,
    },
    /// A plan that does not match the directory it is applied to (a backup to remove that
    /// the scan did not find, or one that would remove every complete backup).
    #[error("`{}`: cannot apply the plan: {problem}", dir.display())]
    PlanMismatch {
        /// The per-VM backup directory.
        dir: PathBuf,
        /// What does not match.
        problem: String,
    },
    /// A file of a backup does not check out (digest, size, structure, compression).
    #[error("`{}`: {problem}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Reading an archive or disk image failed.
    #[error("{action} `{}`", path.display())]
    Image {
        /// For example "verifying".
        action: String,
        /// The file.
        path: PathBuf,
        /// What the disk-image library reported.
        #[source]
        source: Box<disk_image::DiskImageError>,
    },
}

impl StoreError {
    /// An I/O error doing `action` on `path`.
    pub fn io(action: impl Into<String>, path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            action: action.into(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// A refused request about `path`.
    pub fn refused(path: &Path, problem: impl Into<String>) -> Self {
        StoreError::Refused {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// A file of a backup that does not check out.
    pub fn damaged(path: &Path, problem: impl Into<String>) -> Self {
        StoreError::Damaged {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// A disk-image failure doing `action` on `path`.
    pub fn image(
        action: impl Into<String>,
        path: &Path,
        source: disk_image::DiskImageError,
    ) -> Self {
        StoreError::Image {
            action: action.into(),
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}

/// `error` and its sources, joined with `: ` (how problems are listed in a report).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
