//! Logging in to the pool the configuration names.

use std::str::FromStr;

use cli_common::secrets::Secret;
use xenapi::{Fingerprint, Session, SessionOptions, TlsTrust};

use crate::config::{Config, TlsChoice};
use crate::error::{Result, VmBackupError};

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
                    Fingerprint::from_str(p)
                        .map_err(|e| VmBackupError::xapi("reading tls_fingerprint", e))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// Logs in to the configuration's `host` as its `user`.
pub fn connect(config: &Config, password: &Secret) -> Result<Session> {
    let Some(host) = &config.host else {
        return Err(VmBackupError::Backup(
            "no pool to back up: set `host=` in the configuration or pass --host".to_owned(),
        ));
    };
    let options = SessionOptions {
        tls: tls_trust(&config.tls)?,
        ..SessionOptions::default()
    };
    Session::login(host, &config.user, password.expose(), options)
        .map_err(|e| VmBackupError::xapi(format!("logging in to {host} as {}", config.user), e))
}
