//! What the subcommands share: the connection options, loading the configuration, the
//! password, signals, and the default subcommand.

pub mod list;
pub mod prune;
pub mod restore;
pub mod run;
pub mod verify;

use std::ffi::OsString;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use cli_common::UsageError;
use cli_common::secrets::{Secret, SecretSource};
use vmbackup::cancel::Cancel;
use vmbackup::config::TlsChoice;
use vmbackup::connect::PASSWORD_ENV;
use vmbackup::{Config, Overrides};

/// How results are shown.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// A JSON report on standard output.
    pub json: bool,
    /// No progress display.
    pub quiet: bool,
}

pub use cli_common::print_json;

/// `vmbackup weekend.cfg` means `vmbackup run weekend.cfg`, as VmBackup.py was invoked; the
/// global flags (`-q`, `-v`, `--json`) may come first (`vmbackup -q weekend.cfg`).
pub fn default_to_run(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    const COMMANDS: [&str; 7] = [
        "run", "preview", "list", "verify", "restore", "prune", "help",
    ];
    let mut args: Vec<OsString> = args.collect();
    let first = args
        .iter()
        .skip(1)
        .position(|a| !a.to_str().is_some_and(is_global_flag))
        .map(|i| i + 1);
    if let Some(index) = first
        && let Some(word) = args[index].to_str()
        && !word.starts_with('-')
        && !COMMANDS.contains(&word)
    {
        args.insert(index, "run".into());
    }
    args
}

/// `--json`, `--quiet`, `--verbose`, and short clusters of `-q` / `-v` (`-qvv`).
fn is_global_flag(arg: &str) -> bool {
    matches!(arg, "--json" | "--quiet" | "--verbose")
        || arg
            .strip_prefix('-')
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c == 'q' || c == 'v'))
}

#[cfg(test)]
mod tests {
    use super::default_to_run;

    fn args(line: &str) -> Vec<String> {
        default_to_run(line.split(' ').map(Into::into))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_implied_run_goes_after_the_global_flags() {
        assert_eq!(
            args("vmbackup weekend.cfg"),
            ["vmbackup", "run", "weekend.cfg"]
        );
        assert_eq!(
            args("vmbackup -q --json -vv weekend.cfg x=1"),
            [
                "vmbackup",
                "-q",
                "--json",
                "-vv",
                "run",
                "weekend.cfg",
                "x=1"
            ]
        );
        assert_eq!(args("vmbackup --json list"), ["vmbackup", "--json", "list"]);
        assert_eq!(args("vmbackup -q --help"), ["vmbackup", "-q", "--help"]);
        assert_eq!(args("vmbackup -q"), ["vmbackup", "-q"]);
    }
}

/// Ctrl-C or SIGTERM stop the run cleanly (snapshots removed, partial backups deleted); a
/// second one ends the process at once.
pub fn stop_on_signals(cancel: &Cancel) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, cancel.flag())
            .context("installing the signal handler")?;
        signal_hook::flag::register(signal, cancel.flag())
            .context("installing the signal handler")?;
    }
    Ok(())
}

/// Options naming the pool and how to reach it; they win over the configuration.
#[derive(Debug, Args, Default)]
pub struct ConnectArgs {
    /// The pool master (`https://host[:port]`); the configuration's `host=` otherwise.
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// The XAPI user (default: the configuration's, else root).
    #[arg(long)]
    pub user: Option<String>,
    /// A file holding the password (plain text).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// A file holding the password base64-encoded (VmBackup.py's create-password-file).
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub password_file_base64: Option<PathBuf>,
    /// Trust only certificates with this SHA-256 fingerprint (repeatable).
    #[arg(
        long = "tls-fingerprint",
        value_name = "HEX",
        conflicts_with_all = ["tls_ca_file", "tls_insecure"]
    )]
    pub tls_fingerprints: Vec<String>,
    /// Trust the certificates of this PEM file.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_insecure")]
    pub tls_ca_file: Option<PathBuf>,
    /// Accept any certificate (encrypted, not authenticated; warned about).
    #[arg(long)]
    pub tls_insecure: bool,
}

impl ConnectArgs {
    /// Applies these options over the configuration's (a bad `--host` or
    /// `--tls-fingerprint` is a configuration error, its warnings are printed).
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        if let Some(host) = &self.host {
            let before = config.warnings.len();
            config.set_host(host)?;
            for warning in &config.warnings[before..] {
                eprintln!("warning: {warning}");
            }
        }
        if let Some(user) = &self.user {
            config.user.clone_from(user);
        }
        if let Some(path) = &self.password_file {
            config.password = Some(SecretSource::File(path.clone()));
        }
        if let Some(path) = &self.password_file_base64 {
            config.password = Some(SecretSource::Base64File(path.clone()));
        }
        if !self.tls_fingerprints.is_empty() {
            config.set_tls_fingerprints(&self.tls_fingerprints)?;
        } else if let Some(path) = &self.tls_ca_file {
            config.tls = TlsChoice::CaFile(path.clone());
        } else if self.tls_insecure {
            config.tls = TlsChoice::Insecure;
        }
        Ok(())
    }
}

/// The configuration a target names: an existing file is a configuration file; anything
/// else a VM selector (`NAME-or-regex`, `vm-export=…`, `vdi-export=…`) with the defaults.
/// `extra` holds VmBackup.py's `key=value` arguments (`compress=True`, …).
pub fn load_config(target: &str, extra: &[String]) -> Result<Config> {
    let mut overrides = Overrides::default();
    for arg in extra {
        overrides
            .set_from_arg(arg)
            .map_err(|problem| UsageError(format!("`{arg}`: {problem}")))?;
    }
    let path = Path::new(target);
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        bail!(UsageError(format!(
            "`{target}` is not a regular file: a configuration file or a VM selector was expected"
        )));
    }
    let config = if path.is_file() {
        Config::load(Path::new(target), overrides)?
    } else {
        Config::from_selector(target, overrides)?
    };
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(config)
}

/// A configuration file's settings without a selection (for list, verify, prune, restore).
pub fn load_settings(config: Option<&Path>) -> Result<Config> {
    match config {
        Some(path) => Ok(Config::load(path, Overrides::default())?),
        None => Ok(Config::from_selector(".*", Overrides::default())?),
    }
}

/// The XAPI password: the configured source, else `VMBACKUP_PASSWORD`, else a prompt on
/// the terminal. A password that cannot be had (a missing or empty file, no terminal) is
/// a configuration error (exit 2).
pub fn password(config: &Config) -> Result<Secret> {
    let source = match &config.password {
        Some(source) => source.clone(),
        None if std::env::var_os(PASSWORD_ENV).is_some() => {
            SecretSource::Env(PASSWORD_ENV.to_owned())
        }
        None if std::io::stdin().is_terminal() => {
            SecretSource::Prompt(format!("Password for {}: ", config.user))
        }
        None => bail!(UsageError(format!(
            "no password: set password_file= in the configuration, pass --password-file, or set {PASSWORD_ENV}"
        ))),
    };
    source
        .read()
        .map_err(|e| anyhow::Error::new(e).context(UsageError("reading the XAPI password".into())))
}
