//! What the subcommands share: the connection options, loading the configuration, the
//! password, signals, and the default subcommand.

pub mod list;
pub mod ovirt;
pub mod ovirt_restore;
pub mod prune;
pub mod restore;
pub mod run;
pub mod verify;

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use cli_common::secrets::Secret;
use cli_common::{PasswordLookup, TlsChoice, UsageError};
use vmbackup::cancel::Cancel;
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

/// Options naming the pool and how to reach it (cli-common's, with vmbackup's help texts);
/// they win over the configuration.
#[derive(Debug, Args, Default)]
#[group(skip)]
#[command(
    mut_arg("host", |a| a.help("The pool master (`https://host[:port]`); the configuration's `host=` otherwise")),
    mut_arg("user", |a| a.help("The XAPI user (default: the configuration's, else root)")),
    mut_arg("password_file_base64", |a| a.help(
        "A file holding the password base64-encoded (VmBackup.py's create-password-file)"
    )),
)]
pub struct ConnectArgs {
    /// The shared connection flags.
    #[command(flatten)]
    pub shared: cli_common::ConnectArgs,
}

impl ConnectArgs {
    /// Applies these options over the configuration's (a bad `--host` or
    /// `--tls-fingerprint` is a configuration error, its warnings are printed).
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        let args = &self.shared;
        if let Some(host) = &args.host {
            let before = config.warnings.len();
            config.set_host(host)?;
            for warning in &config.warnings[before..] {
                eprintln!("warning: {warning}");
            }
        }
        if let Some(user) = &args.user {
            config.user.clone_from(user);
        }
        if let Some(source) = args.password.source() {
            config.password = Some(source);
        }
        match args.tls.choice() {
            Some(TlsChoice::Pinned(prints)) => config.set_tls_fingerprints(&prints)?,
            Some(choice) => config.tls = choice,
            None => {}
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

/// Where the XAPI password comes from when the configuration names no file.
const PASSWORD: PasswordLookup<'static> = PasswordLookup {
    what: "the XAPI password",
    env_var: PASSWORD_ENV,
    flags: cli_common::PASSWORD_FLAGS,
    elsewhere: Some("set password_file= in the configuration"),
};

/// The XAPI password: the configured source (a flag wins over the file), else
/// `VMBACKUP_PASSWORD`, else a prompt on the terminal. A password that cannot be had (a
/// missing or empty file, no terminal) is a configuration error (exit 2).
pub fn password(config: &Config) -> Result<Secret> {
    PASSWORD.read(
        config.password.as_ref(),
        &format!("Password for {}: ", config.user),
    )
}
