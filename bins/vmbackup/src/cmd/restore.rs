//! `vmbackup restore`: a backup back into a pool.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use cli_common::{Outcome, ProgressSet};
use vmbackup::cancel::Cancel;
use vmbackup::connect::connect_with_cancel;
use vmbackup::restore::{RestoreOptions, restore_backup};

use super::{ConnectArgs, Output, load_settings, password};

/// Options of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's directory.
    backup: PathBuf,
    /// Take the pool and its credentials from this configuration file.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Put the disks on this SR (uuid); the pool's default SR otherwise.
    #[arg(long, value_name = "UUID")]
    sr: Option<String>,
    /// Give the VM back its original identity (UUIDs, MACs): for a VM that is gone, not for
    /// a copy beside the original.
    #[arg(long)]
    preserve: bool,
    /// With --preserve: restore even though the original VM still exists (the two VMs then
    /// share a name and MAC addresses).
    #[arg(long, requires = "preserve")]
    force: bool,
    /// Read the restored disks back from the pool and compare them with the backup.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    ovirt: super::ovirt_restore::OvirtRestoreArgs,
}

/// Runs `restore`: exit 1 when a restored disk differs from the backup.
pub fn run(args: &RestoreArgs, output: Output, cancel: &Cancel) -> Result<Outcome> {
    if let Some(backup) = vmbackup::ovirt_restore::OvirtBackup::open(&args.backup)? {
        let shared = super::ovirt_restore::SharedArgs {
            config: args.config.as_deref(),
            xenserver_only: args.sr.is_some() || args.preserve,
            check: args.check,
            connect: &args.connect,
        };
        return super::ovirt_restore::run(&shared, &args.ovirt, &backup, output, cancel);
    }
    let mut config = load_settings(args.config.as_deref())?;
    args.connect.apply(&mut config)?;
    let session = connect_with_cancel(&config, &password(&config)?, cancel)?;
    let options = RestoreOptions {
        sr: args.sr.clone(),
        preserve: args.preserve,
        force: args.force,
        check: args.check,
    };
    let progress = ProgressSet::new(output.quiet || output.json).item();
    let restored = restore_backup(&session, &args.backup, &options, cancel, progress.as_ref())?;
    let all_match = restored
        .checks
        .iter()
        .all(vmbackup::restore::DiskCheck::matches);
    if output.json {
        super::print_json(&restored)?;
    } else {
        let mut out = cli_common::Stdout::lock();
        for vm in &restored.vms {
            writeln!(out, "restored VM {vm}")?;
        }
        for vdi in &restored.vdis {
            writeln!(out, "restored VDI {vdi}")?;
        }
        for check in &restored.checks {
            let verdict = if check.matches() {
                "same bytes as the backup"
            } else {
                "DIFFERS from the backup"
            };
            writeln!(out, "disk {} (VDI {}): {verdict}", check.disk, check.vdi)?;
        }
        out.flush()?;
    }
    Ok(if all_match {
        Outcome::Success
    } else {
        Outcome::PartialFailure
    })
}
