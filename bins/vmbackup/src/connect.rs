//! Logging in to the pool the configuration names.

use std::str::FromStr;

use cli_common::secrets::Secret;
use xenapi::{Fingerprint, Session, SessionOptions, TlsTrust};

use crate::cancel::{Cancel, XapiStop};
use crate::config::{Config, TlsChoice};
use crate::error::{Issue, Location, Result, VmBackupError};

/// The environment variable a password may come from when the configuration names no
/// password file.
pub const PASSWORD_ENV: &str = "VMBACKUP_PASSWORD";

/// The TLS trust of a configuration.
pub fn tls_trust(choice: &TlsChoice) -> Result<TlsTrust> {
    Ok(match choice {
        TlsChoice::SystemRoots => TlsTrust::SystemRoots,
        TlsChoice::CaFile(path) => TlsTrust::CaFile(path.clone()),
        TlsChoice::Insecure => TlsTrust::Insecure,
        TlsChoice::Pinned(prints) => TlsTrust::Pinned(
            prints
                .iter()
                .map(|p| {
                    Fingerprint::from_str(p).map_err(|e| VmBackupError::Config {
                        issues: vec![Issue::new(
                            Location::CommandLine,
                            format!("tls fingerprint: {e}"),
                        )],
                    })
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// Logs in to the configuration's `host` as its `user`.
pub fn connect(config: &Config, password: &Secret) -> Result<Session> {
    login(config, password, None)
}

/// Logs in as [`connect`] does; a stop asked for on `cancel` (Ctrl-C, SIGTERM) ends the
/// login, and any call or transfer of the session under way then, within a fraction of a
/// second (a stalled host is not waited for). What starts after the stop (the cleanup of
/// snapshots and tasks) still waits for the host as usual.
pub fn connect_with_cancel(config: &Config, password: &Secret, cancel: &Cancel) -> Result<Session> {
    login(config, password, Some(cancel.stop()))
}

fn login(config: &Config, password: &Secret, stop: Option<xenapi::Stop>) -> Result<Session> {
    let Some(host) = &config.host else {
        return Err(VmBackupError::Config {
            issues: vec![Issue::new(
                Location::CommandLine,
                "no pool to back up: set `host=` in the configuration or pass --host",
            )],
        });
    };
    let options = SessionOptions {
        tls: tls_trust(&config.tls)?,
        stop,
        ..SessionOptions::default()
    };
    Session::login(host, &config.user, password.expose(), options)
        .map_err(|e| VmBackupError::xapi(format!("logging in to {host} as {}", config.user), e))
}
