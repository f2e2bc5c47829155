//! The oVirt restore's one error type: what was being done and why it failed.

use std::path::PathBuf;

/// Result with [`OvirtRestoreError`].
pub type Result<T, E = OvirtRestoreError> = std::result::Result<T, E>;

/// Why an oVirt backup could not be read, verified or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OvirtRestoreError {
    /// The engine or the imageio daemon failed.
    #[error("{what}")]
    Engine {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<ovirt_client::OvirtError>,
    },
    /// The backup is not what its manifest (or, for oVirtSimpleBackup's, its `DiskN.dat`)
    /// says: damaged, tampered with, or of a kind this version does not know.
    #[error("`{}`: {problem}", dir.display())]
    Backup {
        /// The backup's directory.
        dir: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Reading the backup failed.
    #[error("reading `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's (or a decompressor's) error.
        #[source]
        source: std::io::Error,
    },
    /// The backup store refused a path or a manifest.
    #[error(transparent)]
    Store(Box<backup_core::store::StoreError>),
    /// The restore's options do not fit the engine (an unknown cluster, profile or domain).
    #[error("{0}")]
    Usage(String),
    /// Stopped by Ctrl-C or SIGTERM; what the restore had created is removed.
    #[error("interrupted")]
    Interrupted,
}

impl OvirtRestoreError {
    /// An engine error while doing `what`.
    pub(crate) fn engine(what: impl Into<String>) -> impl FnOnce(ovirt_client::OvirtError) -> Self {
        let what = what.into();
        move |source| OvirtRestoreError::Engine {
            what,
            source: Box::new(source),
        }
    }

    /// A damaged backup in `dir`.
    pub(crate) fn backup(dir: &std::path::Path, problem: impl Into<String>) -> Self {
        OvirtRestoreError::Backup {
            dir: dir.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// A read error of `path`.
    pub(crate) fn read(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| OvirtRestoreError::Read { path, source }
    }
}

impl From<backup_core::batch::Interrupted> for OvirtRestoreError {
    fn from(_: backup_core::batch::Interrupted) -> Self {
        OvirtRestoreError::Interrupted
    }
}

impl From<backup_core::store::StoreError> for OvirtRestoreError {
    fn from(error: backup_core::store::StoreError) -> Self {
        OvirtRestoreError::Store(Box::new(error))
    }
}
