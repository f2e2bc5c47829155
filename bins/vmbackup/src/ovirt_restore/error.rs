//! How the oVirt restore reports failures: the crate's one error type
//! ([`VmBackupError`]), built here with the restore's context.

use std::path::Path;

use crate::error::{Issue, Location, VmBackupError};

/// Result with the crate's error.
pub type Result<T, E = VmBackupError> = std::result::Result<T, E>;

/// An engine (or imageio) failure while doing `what`.
pub(crate) fn engine(
    what: impl Into<String>,
) -> impl FnOnce(ovirt_client::OvirtError) -> VmBackupError {
    let what = what.into();
    move |source| VmBackupError::ovirt(what, source)
}

/// A backup in `dir` that is not what it says it is (damaged, tampered with, or holding a
/// value this version does not know).
pub(crate) fn backup(dir: &Path, problem: impl Into<String>) -> VmBackupError {
    VmBackupError::Backup(format!("`{}`: {}", dir.display(), problem.into()))
}

/// A read error of `path`.
pub(crate) fn read(path: &Path) -> impl FnOnce(std::io::Error) -> VmBackupError {
    let action = format!("reading `{}`", path.display());
    move |source| VmBackupError::io(action, source)
}

/// A restore option that does not fit the engine (an unknown cluster, profile): a
/// configuration error (exit 2).
pub(crate) fn usage(text: impl Into<String>) -> VmBackupError {
    VmBackupError::Config {
        issues: vec![Issue::new(Location::CommandLine, text)],
    }
}
