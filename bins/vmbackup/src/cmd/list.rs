//! `vmbackup list`: the backups on disk.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use backup_core::store::{list_backups, list_simplebackup};
use clap::Args;
use cli_common::{Outcome, printable};
use vmbackup::ovirt::run::seed_layout;

use super::{Output, load_settings};

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Take `backup_dir` from this configuration file (with `layout=ovirtsimplebackup`, its
    /// `<VM>/<uuid>/<label><stamp>` backups are listed too).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The backup directory (instead of a configuration's).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    backup_dir: Option<PathBuf>,
}

/// Runs `list`.
pub fn run(args: &ListArgs, output: Output) -> Result<Outcome> {
    let (backup_dir, seed) = if let Some(dir) = &args.backup_dir {
        (dir.clone(), None)
    } else {
        let config = load_settings(args.config.as_deref())?;
        (config.backup_dir.clone(), seed_layout(&config))
    };
    let mut vms = list_backups(&backup_dir)?;
    // oVirtSimpleBackup's layout: `<VM>/<uuid>/<label><stamp>`, beside ours.
    if let Some(layout) = seed {
        vms.retain(|vm| !vm.backups.is_empty());
        vms.extend(list_simplebackup(&backup_dir, &layout)?);
    }
    // Backups oVirtSimpleBackup itself wrote, whatever the configuration says.
    vmbackup::ovirt_restore::seed::add_to_listing(&backup_dir, &mut vms);
    if output.json {
        super::print_json(&vms)?;
        return Ok(Outcome::Success);
    }
    let mut out = cli_common::Stdout::lock();
    for vm in &vms {
        writeln!(
            out,
            "{} ({})",
            printable(&vm.vm),
            printable(&vm.dir.display().to_string())
        )?;
        for backup in &vm.backups {
            let kind = backup.kind.as_deref().unwrap_or("-");
            writeln!(
                out,
                "  {:<28} {:<10} {:<15} {:>12} bytes  {} ({})",
                printable(&backup.id),
                backup.state,
                kind,
                backup.bytes,
                backup.time,
                backup.layout
            )?;
        }
    }
    out.flush()?;
    Ok(Outcome::Success)
}
