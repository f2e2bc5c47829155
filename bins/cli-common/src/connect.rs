//! The connection flags of every tool that logs in to a host (vmbackup, xva-build, and the
//! oVirt tools to come), declared once with their conflicts, and the one password lookup.
//!
//! - [`ConnectArgs`]: `--host URL` (alias `--server`), `--user`, the password files
//!   ([`PasswordArgs`]) and the TLS trust ([`TlsArgs`]). Contradictory flags are refused by
//!   clap itself (exit 2 with its message): `--tls-fingerprint` with `--tls-ca-file` or
//!   `--tls-insecure`, `--tls-ca-file` with `--tls-insecure`, and the two password files.
//! - [`TlsChoice`]: the trust those flags (or a configuration file) choose, in neutral terms:
//!   this crate depends on no client, so each binary converts it into its client's settings
//!   (`xenapi::TlsTrust`, ovirt-client's), where the fingerprints are parsed.
//! - [`PasswordLookup::read`]: the password from the file chosen (a flag or a
//!   configuration), else the tool's environment variable, else a prompt when standard input
//!   is a terminal; with none of them, a usage error naming each way.
//!
//! A binary that needs a flag's help to say more (vmbackup's "the configuration's `host=`
//! otherwise") or a flag to require another (xva-build's `--user` only with `--server`)
//! adjusts the flattened arguments with clap's `mut_arg`, by their ids (`host`, `user`,
//! `password_file`, `password_file_base64`, `tls_fingerprints`, `tls_ca_file`,
//! `tls_insecure`).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::{Secret, SecretSource, UsageError};

/// Which certificates a TLS connection trusts. Fingerprints are kept as written: the
/// binary parses them when it converts this into its client's trust settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsChoice {
    /// The system's trust store (the default).
    #[default]
    SystemRoots,
    /// The certificates of this PEM file (a pool's or engine's CA, or the host's own
    /// certificate).
    CaFile(PathBuf),
    /// Exactly the certificates with these SHA-256 fingerprints (repeatable: list every host
    /// of a pool), as written.
    Pinned(Vec<String>),
    /// Any certificate: encrypted, not authenticated (the client warns).
    Insecure,
}

/// The host, the user, the password files and the TLS trust.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// The host to log in to (`https://host[:port]`).
    #[arg(long, visible_alias = "server", value_name = "URL")]
    pub host: Option<String>,
    /// The user to log in as (default: root).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Where the password comes from.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Which certificates to trust.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// The password files (a password never comes from the command line itself).
#[derive(Debug, Clone, Default, Args)]
pub struct PasswordArgs {
    /// Read the password from this file (plain text; keep it `chmod 600`).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from this base64 file (NAUbackup's `create-password-file=`).
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub password_file_base64: Option<PathBuf>,
}

impl PasswordArgs {
    /// The file these flags name, if any.
    pub fn source(&self) -> Option<SecretSource> {
        match (&self.password_file, &self.password_file_base64) {
            (Some(file), _) => Some(SecretSource::File(file.clone())),
            (None, Some(file)) => Some(SecretSource::Base64File(file.clone())),
            (None, None) => None,
        }
    }
}

/// The TLS trust flags; without any, the system's trust store.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// Trust only the certificates with this SHA-256 fingerprint (repeatable: list every host
    /// of the pool). Without a --tls-* option, the system's CAs are trusted.
    #[arg(
        long = "tls-fingerprint",
        value_name = "HEX",
        conflicts_with_all = ["tls_ca_file", "tls_insecure"]
    )]
    pub tls_fingerprints: Vec<String>,
    /// Trust the certificates of this PEM file (the pool's CA or the host's certificate).
    #[arg(long, value_name = "FILE", conflicts_with = "tls_insecure")]
    pub tls_ca_file: Option<PathBuf>,
    /// Accept any certificate (warns): encrypted, but the host is not authenticated.
    #[arg(long)]
    pub tls_insecure: bool,
}

impl TlsArgs {
    /// The trust these flags choose; `None` without any (the configuration's, or
    /// [`TlsChoice::SystemRoots`], applies). Clap has refused contradictory flags already.
    pub fn choice(&self) -> Option<TlsChoice> {
        if !self.tls_fingerprints.is_empty() {
            Some(TlsChoice::Pinned(self.tls_fingerprints.clone()))
        } else if let Some(file) = &self.tls_ca_file {
            Some(TlsChoice::CaFile(file.clone()))
        } else if self.tls_insecure {
            Some(TlsChoice::Insecure)
        } else {
            None
        }
    }
}

/// The password flags of [`ConnectArgs`], as [`PasswordLookup::flags`] names them.
pub const PASSWORD_FLAGS: &str = "--password-file or --password-file-base64";

/// How a tool looks for its password: [`read`](Self::read).
#[derive(Debug, Clone, Copy)]
pub struct PasswordLookup<'a> {
    /// Whose password, for messages ("the XAPI password").
    pub what: &'a str,
    /// The environment variable tried when no file is chosen (`VMBACKUP_PASSWORD`).
    pub env_var: &'a str,
    /// The tool's password flags, for the message when there is no password
    /// ([`PASSWORD_FLAGS`] for the tools that flatten [`ConnectArgs`]).
    pub flags: &'a str,
    /// Where else a file may be named, for the message when there is no password
    /// (`set password_file= in the configuration`).
    pub elsewhere: Option<&'a str>,
}

impl PasswordLookup<'_> {
    /// The password from `chosen` (a password flag, or the configuration), else from
    /// [`env_var`](Self::env_var) when it is set, else typed at a prompt showing `prompt`
    /// when standard input is a terminal. No password, or one that cannot be read (a
    /// missing or empty file), is a [`UsageError`] (exit 2) whose message says where a
    /// password may come from.
    pub fn read(&self, chosen: Option<&SecretSource>, prompt: &str) -> anyhow::Result<Secret> {
        let source = self.source(chosen, prompt, std::io::stdin().is_terminal())?;
        source
            .read()
            .map_err(anyhow::Error::new)
            .context(UsageError(format!("reading {}", self.what)))
    }

    /// Where [`read`](Self::read) takes the password from.
    fn source(
        &self,
        chosen: Option<&SecretSource>,
        prompt: &str,
        on_terminal: bool,
    ) -> Result<SecretSource, UsageError> {
        match chosen {
            Some(source) => Ok(source.clone()),
            None if std::env::var_os(self.env_var).is_some() => {
                Ok(SecretSource::Env(self.env_var.to_owned()))
            }
            None if on_terminal => Ok(SecretSource::Prompt(prompt.to_owned())),
            None => Err(UsageError(self.missing())),
        }
    }

    /// The message when no password can be had.
    fn missing(&self) -> String {
        let elsewhere = self
            .elsewhere
            .map(|e| format!(", or {e}"))
            .unwrap_or_default();
        format!(
            "no password: pass {}{elsewhere}, or set {} (a prompt needs a terminal)",
            self.flags, self.env_var
        )
    }
}

#[cfg(test)]
mod tests;
