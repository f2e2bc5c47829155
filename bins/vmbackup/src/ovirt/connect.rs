//! Logging in to the engine a configuration names, with its shared `user`, password and
//! TLS trust.

use std::str::FromStr;
use std::time::Duration;

use cli_common::secrets::Secret;
use ovirt_client::{ConnectOptions, Connection, Fingerprint, Trust};

use crate::config::{Config, TlsChoice};
use crate::error::{Issue, Location, Result, VmBackupError};

fn config_error(message: impl Into<String>) -> VmBackupError {
    VmBackupError::Config {
        issues: vec![Issue::new(Location::CommandLine, message)],
    }
}

/// The engine's TLS trust of a configuration: `tls_ca_file` (the engine's CA), a pinned
/// fingerprint of the engine's CA (fetched from its `pki-resource`), `tls_insecure`, or
/// the system roots. oVirt pins one CA: two fingerprints are a configuration error.
pub fn ovirt_trust(choice: &TlsChoice) -> Result<Trust> {
    Ok(match choice {
        TlsChoice::SystemRoots => Trust::SystemRoots,
        TlsChoice::CaFile(path) => Trust::CaFile(path.clone()),
        TlsChoice::Insecure => Trust::Insecure,
        TlsChoice::Pinned(prints) => match prints.as_slice() {
            [one] => Trust::PinnedCa(
                Fingerprint::from_str(one)
                    .map_err(|e| config_error(format!("tls fingerprint: {e}")))?,
            ),
            _ => {
                return Err(config_error(
                    "oVirt pins one CA: give one tls_fingerprint (the SHA-256 of the engine's CA)",
                ));
            }
        },
    })
}

/// The connection options of a configuration whose platform is oVirt.
pub fn connect_options(config: &Config) -> Result<ConnectOptions> {
    let ovirt = config
        .ovirt
        .as_ref()
        .ok_or_else(|| config_error("not an oVirt configuration (platform=ovirt, engine=)"))?;
    let mut options = ConnectOptions::new(&ovirt.engine, &config.user);
    options.trust = ovirt_trust(&config.tls)?;
    options.request_timeout = Duration::from_secs(300);
    Ok(options)
}

/// Logs in to the configuration's engine as its `user` (SSO; the token is revoked when
/// the connection is dropped).
pub fn connect(config: &Config, password: &Secret) -> Result<Connection> {
    let options = connect_options(config)?;
    let what = format!("logging in to {} as {}", options.engine, config.user);
    Connection::connect(options, password.expose()).map_err(|e| VmBackupError::ovirt(what, e))
}
