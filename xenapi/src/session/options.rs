//! Session settings and credentials.

use std::fmt;
use std::time::Duration;

use crate::http::{Stop, Timeouts};
use crate::tls::TlsTrust;
use crate::transport::Protocol;

/// How a [`Session`](super::Session) connects, identifies itself and waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// XML-RPC (the default) or JSON-RPC.
    pub protocol: Protocol,
    /// Whom to trust over https; shared by calls and transfers.
    pub tls: TlsTrust,
    /// Connect and read/write timeouts.
    pub timeouts: Timeouts,
    /// A stop flag: once it is set, calls and transfers under way stop waiting for the host
    /// within a fraction of a second ([`XenApiError::Stopped`](crate::XenApiError::Stopped));
    /// what starts afterwards (cleanup) waits out its timeouts as usual.
    pub stop: Option<Stop>,
    /// The `originator` sent at login and the `User-Agent` of every request.
    pub originator: String,
    /// The first pause between two polls of a task; it doubles up to `task_poll_max`.
    pub task_poll_min: Duration,
    /// The longest pause between two polls of a task.
    pub task_poll_max: Duration,
    /// How long a transfer's `finish` waits for its task after the last byte.
    pub transfer_timeout: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            protocol: Protocol::XmlRpc,
            tls: TlsTrust::SystemRoots,
            timeouts: Timeouts::default(),
            stop: None,
            originator: concat!("vmtoolkit/", env!("CARGO_PKG_VERSION")).to_owned(),
            task_poll_min: Duration::from_millis(200),
            task_poll_max: Duration::from_secs(5),
            transfer_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Credentials for `user`.
    pub fn new(user: &str, password: &str) -> Self {
        Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let credentials = Credentials::new("root", "hunter2");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("root") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            SessionOptions::default()
                .originator
                .starts_with("vmtoolkit/")
        );
    }
}
