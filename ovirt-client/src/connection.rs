//! A connection to an engine: `https://ENGINE/ovirt-engine/api`, `Version: 4`, XML in and
//! out, the official SDK's header set, an SSO token (or Basic auth), one re-login on 401,
//! busy faults retried with backoff, and the token revoked when the connection is dropped.

mod request;
mod sso;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{OvirtError, Result};
use crate::tls::{Roots, Trust};

pub(crate) use request::Query;

/// How to authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMethod {
    /// An OAuth token from the engine's SSO service (`scope=ovirt-app-api`), renewed once
    /// when the engine answers 401, revoked on drop.
    #[default]
    Sso,
    /// `Authorization: Basic` on every request (deprecated by oVirt, still supported).
    Basic,
}

/// How busy faults ("Disk is locked", "Related operation is currently in progress", 409)
/// are retried: waits start at `first`, double up to `max`, and stop at `deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Give up after this long.
    pub deadline: Duration,
    /// First wait.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            deadline: Duration::from_secs(120),
            first: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }
}

/// How status polls are spaced: from `min`, doubling up to `max` (every wait also has its
/// own deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// First interval.
    pub min: Duration,
    /// Longest interval.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            min: Duration::from_millis(250),
            max: Duration::from_secs(2),
        }
    }
}

/// Everything but the password.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The engine: `https://engine.example`, optionally with `/ovirt-engine/api`.
    pub engine: String,
    /// The user, with its profile: `admin@internal`.
    pub user: String,
    /// SSO token or Basic auth.
    pub auth: AuthMethod,
    /// Whom to trust.
    pub trust: Trust,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Busy-fault retries.
    pub retry: RetryPolicy,
    /// Status polls.
    pub poll: PollPolicy,
}

impl ConnectOptions {
    /// SSO, system roots, default timeouts.
    pub fn new(engine: impl Into<String>, user: impl Into<String>) -> Self {
        ConnectOptions {
            engine: engine.into(),
            user: user.into(),
            auth: AuthMethod::Sso,
            trust: Trust::SystemRoots,
            request_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
        }
    }
}

/// A secret string that never shows in `Debug` output or logs.
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A logged-in connection to an engine. Safe to share between threads.
pub struct Connection {
    http: reqwest::blocking::Client,
    roots: Roots,
    origin: String,
    options: ConnectOptions,
    password: Secret,
    token: Mutex<Option<Secret>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("engine", &self.origin)
            .field("user", &self.options.user)
            .field("auth", &self.options.auth)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects and logs in (SSO: fetches a token; Basic: checks the credentials with
    /// `GET /ovirt-engine/api`).
    pub fn connect(options: ConnectOptions, password: &str) -> Result<Self> {
        let origin = origin_of(&options.engine)?;
        let roots = Roots::resolve(&options.trust, &origin)?;
        let http = roots
            .builder()?
            .timeout(options.request_timeout)
            .user_agent(concat!(
                "vmtoolkit-ovirt-client/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| OvirtError::http("building the HTTP client", e))?;
        let connection = Connection {
            http,
            roots,
            origin,
            options,
            password: Secret(password.to_owned()),
            token: Mutex::new(None),
        };
        match connection.options.auth {
            AuthMethod::Sso => connection.login()?,
            AuthMethod::Basic => connection.test()?,
        }
        tracing::debug!(engine = %connection.origin, user = %connection.options.user, "connected");
        Ok(connection)
    }

    /// `https://host[:port]` of the engine.
    pub fn engine(&self) -> &str {
        &self.origin
    }

    /// The options this connection was made with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Checks that the API answers (`GET /ovirt-engine/api`).
    pub fn test(&self) -> Result<()> {
        self.get_text("", &Query::new(), "checking the API")
            .map(|_| ())
    }

    /// Logs out now (revokes the SSO token), reporting a failure; dropping the connection
    /// does the same but can only log it.
    pub fn close(self) -> Result<()> {
        self.logout()
    }

    /// The roots this connection trusts (also used for the imageio daemons).
    pub(crate) fn roots(&self) -> &Roots {
        &self.roots
    }

    pub(crate) fn api_url(&self, path: &str) -> String {
        format!("{}/ovirt-engine/api{path}", self.origin)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Err(error) = self.logout() {
            tracing::warn!(engine = %self.origin, %error, "could not revoke the SSO token");
        }
    }
}

/// `https://host[:port]` from what the user typed.
fn origin_of(engine: &str) -> Result<String> {
    let text = if engine.contains("://") {
        engine.to_owned()
    } else {
        format!("https://{engine}")
    };
    let url = url::Url::parse(&text)
        .map_err(|e| OvirtError::Settings(format!("`{engine}` is not an engine URL: {e}")))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(OvirtError::Settings(format!(
            "`{engine}`: the engine URL must be https"
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| OvirtError::Settings(format!("`{engine}` names no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("engine.example").unwrap(),
            "https://engine.example"
        );
        assert_eq!(
            origin_of("https://engine.example:8443/ovirt-engine/api").unwrap(),
            "https://engine.example:8443"
        );
        assert_eq!(origin_of("https://[::1]:443/x").unwrap(), "https://[::1]");
        assert!(origin_of("ftp://engine").is_err());
    }

    #[test]
    fn secrets_do_not_show() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "***");
    }
}
