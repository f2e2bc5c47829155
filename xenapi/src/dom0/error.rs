//! The error of dom0 access: its own type, because the `dom0` feature does not need the
//! XAPI client (and its `XenApiError`) at all.

use std::io;

/// What went wrong talking to a dom0 over SSH. The message names the host (`user@host`)
/// and the path; the cause, if any, is its `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Dom0Error {
    /// Resolving the host, connecting, or reading a local file failed.
    #[error("{action}")]
    Io {
        /// For example "connecting to xs1 port 22".
        action: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// libssh2 reported an error (handshake, login, an SFTP operation).
    #[error("{action}")]
    Ssh {
        /// For example "creating root@xs1:/boot/guest/…/vmlinuz".
        action: String,
        /// libssh2's error.
        #[source]
        source: ssh2::Error,
    },
    /// The host's key is not the one expected, or cannot be checked.
    #[error("{0}")]
    HostKey(String),
    /// The host refused or reported something unusable (a login not accepted, a path that
    /// exists and is not a directory, a copy of the wrong size).
    #[error("{0}")]
    Refused(String),
}
