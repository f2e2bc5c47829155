//! `lvmbackup`: LVM snapshot backups of a Xen host's guest volumes (xenbackup-compatible),
//! and list, verify, prune and restore of the archives.

mod cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  lvmbackup run                                  back up every volume of /etc/xenback_vols
  lvmbackup run --volume mydomu1/root --json     one volume, a JSON report on stdout
  lvmbackup list                                 the archives per volume, as chains
  lvmbackup verify                               re-read every archive (md5, GNU tar structure)
  lvmbackup prune --dry-run                      what retention would remove, and why
  lvmbackup restore --volume mydomu1/root --date 2026-11-20 --into /srv/restore
  lvmbackup restore --volume win1/c --new-lv vg0/win1-c-restored   a raw image onto a new LV
  lvmbackup restore --volume win1/c --image-to /srv/win1-c.img      … or into a new file
  lvmbackup --settings /etc/lvmbackup.toml --xenbackup-conf /etc/xenbackup.conf run
Configuration: /etc/xenbackup.conf, its volume list (SBCONFIGFILE) and backup-manager's
configuration (BM_CONFIGFILE) are read as data, never sourced; /etc/lvmbackup.toml (optional)
adds compression, raw-image mode, concurrency per volume group and calendar retention. Exit status: 0 all volumes backed up, 1 some failed,
2 usage or configuration error.";

/// LVM snapshot backups of a Xen host's guest volumes, xenbackup- and backup-manager-compatible.
#[derive(Debug, Parser)]
#[command(name = "lvmbackup", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    files: Files,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Print a JSON report on standard output (log lines go to standard error).
    #[arg(long, global = true)]
    json: bool,
}

/// Where the configuration is.
#[derive(Debug, Args)]
pub struct Files {
    /// lvmbackup's own settings (TOML); a missing file at the default place means defaults.
    #[arg(long, global = true, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// xenbackup's configuration (overrides the one the settings name).
    #[arg(long, global = true, value_name = "FILE")]
    xenbackup_conf: Option<PathBuf>,
    /// backup-manager's configuration (overrides the one xenbackup.conf and the settings name).
    #[arg(long, global = true, value_name = "FILE")]
    backup_manager_conf: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Back up the volumes: snapshot, read-only mount, archive, unmount, remove, prune.
    Run(cmd::run::RunArgs),
    /// Show the archives per volume, as chains.
    List,
    /// Re-read every archive: its md5 against <prefix>-hashes.md5, its structure through GNU tar.
    Verify,
    /// Apply retention (backup-manager's TTL and the settings' rules), whole chains only.
    Prune(cmd::prune::PruneArgs),
    /// Extract a volume's chain up to a date into a directory.
    Restore(cmd::restore::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli_common::init_logging(cli.verbose);
    cli_common::run_reporting(
        || {
            let config = cmd::load(&cli.files)?;
            match &cli.command {
                Command::Run(args) => cmd::run::run(&config, args, cli.json),
                Command::List => cmd::list::run(&config, cli.json),
                Command::Verify => cmd::verify::run(&config, cli.json),
                Command::Prune(args) => cmd::prune::run(&config, args, cli.json),
                Command::Restore(args) => cmd::restore::run(&config, args, cli.json),
            }
        },
        |error| {
            error.chain().any(|cause| {
                cause.is::<lvmbackup::ConfigError>()
                    || cause
                        .downcast_ref::<lvmbackup::LvmBackupError>()
                        .is_some_and(lvmbackup::LvmBackupError::is_configuration)
            })
        },
        cli.json,
    )
}
