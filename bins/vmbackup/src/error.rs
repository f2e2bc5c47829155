//! The crate's one error type, and the [`Location`] and [`Issue`] that configuration and
//! selection problems are reported with.

use std::fmt::{self, Write as _};
use std::io;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = VmBackupError> = std::result::Result<T, E>;

/// Where a selection rule or setting was written: a line of a configuration file, or the
/// vm-selector given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// Line `line` (1-based) of the configuration file `file`.
    Line {
        /// The configuration file, as given.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// The command line: the vm-selector argument, or one of VmBackup.py's optional
    /// `key=value` arguments.
    CommandLine,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line { file, line } => write!(f, "{} line {line}", file.display()),
            Location::CommandLine => f.write_str("the command line"),
        }
    }
}

/// One problem (or warning) found in a configuration or while resolving its rules, and
/// where the rule or setting responsible was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where.
    pub at: Location,
    /// What, in a sentence without the location.
    pub message: String,
}

impl Issue {
    /// An issue at `at`.
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        Issue {
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmBackupError {
    /// An I/O operation failed; `action` says which, and on what.
    #[error("{action}")]
    Io {
        /// For example "reading the configuration file `/etc/vmbackup/weekend.cfg`".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The configuration has errors; every one is listed, each with its file and line.
    #[error("invalid configuration:{}", issue_lines(issues))]
    Config {
        /// The errors, in line order.
        issues: Vec<Issue>,
    },
    /// The e-mail report could not be built or sent; `action` says which step failed.
    #[error("e-mail report: {action}")]
    Mail {
        /// For example "sending through `smtp.example.org:587`".
        action: String,
        /// The SMTP client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A XAPI call or transfer failed; `action` says which, for which VM.
    #[error("{action}")]
    Xapi {
        /// For example "web01: snapshotting the VM".
        action: String,
        /// What XAPI (or the connection) reported.
        #[source]
        source: Box<xenapi::XenApiError>,
    },
    /// An oVirt engine call, transfer or appliance step failed; `action` says which, for
    /// which VM.
    #[error("{action}")]
    Ovirt {
        /// For example "web01: snapshotting the VM".
        action: String,
        /// What the engine (or the connection, or imageio) reported.
        #[source]
        source: Box<ovirt_client::OvirtError>,
    },
    /// Reading or writing an archive or disk image failed.
    #[error("{action}")]
    Image {
        /// For example "verifying `/backups/web01/…/web01.xva`".
        action: String,
        /// What the disk-image library reported.
        #[source]
        source: Box<disk_image::DiskImageError>,
    },
    /// The backup store failed: reading, writing, locking, listing, verifying or pruning
    /// backups (the store's error names the path).
    #[error(transparent)]
    Store(#[from] backup_core::store::StoreError),
    /// The run was interrupted (Ctrl-C or SIGTERM); what was in progress was cleaned up.
    #[error("interrupted")]
    Interrupted,
    /// Saving a stream into a backup file failed (writing, verifying, its size).
    #[error(transparent)]
    Save(Box<backup_core::batch::SaveError>),
    /// A backup on disk is not what its manifest says, or a request cannot be met.
    #[error("{0}")]
    Backup(String),
}

impl VmBackupError {
    /// An I/O error with its context: `action` describes what was being done.
    pub fn io(action: impl Into<String>, source: io::Error) -> Self {
        VmBackupError::Io {
            action: action.into(),
            source,
        }
    }

    /// A XAPI failure while doing `action`.
    pub fn xapi(action: impl Into<String>, source: xenapi::XenApiError) -> Self {
        VmBackupError::Xapi {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// An oVirt failure while doing `action`.
    pub fn ovirt(action: impl Into<String>, source: ovirt_client::OvirtError) -> Self {
        VmBackupError::Ovirt {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// A disk-image failure while doing `action`.
    pub fn image(action: impl Into<String>, source: disk_image::DiskImageError) -> Self {
        VmBackupError::Image {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// An e-mail report failure while doing `action`.
    pub(crate) fn mail(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        VmBackupError::Mail {
            action: action.into(),
            source: source.into(),
        }
    }
}

impl From<backup_core::batch::Interrupted> for VmBackupError {
    fn from(_: backup_core::batch::Interrupted) -> Self {
        VmBackupError::Interrupted
    }
}

impl From<backup_core::batch::SaveError> for VmBackupError {
    fn from(error: backup_core::batch::SaveError) -> Self {
        match error {
            backup_core::batch::SaveError::Interrupted => VmBackupError::Interrupted,
            other => VmBackupError::Save(Box::new(other)),
        }
    }
}

fn issue_lines(issues: &[Issue]) -> String {
    issues.iter().fold(String::new(), |mut text, issue| {
        let _ = write!(text, "\n  {issue}");
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_list_every_issue_with_its_place() {
        let file = PathBuf::from("weekend.cfg");
        let err = VmBackupError::Config {
            issues: vec![
                Issue::new(
                    Location::Line {
                        file: file.clone(),
                        line: 3,
                    },
                    "unknown key `max_backup`",
                ),
                Issue::new(Location::CommandLine, "empty selector"),
            ],
        };
        assert_eq!(
            err.to_string(),
            "invalid configuration:\n  weekend.cfg line 3: unknown key `max_backup`\n  the command line: empty selector"
        );
    }
}
