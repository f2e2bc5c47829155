//! `vmbackup verify`: re-read backups and check them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use cli_common::{Outcome, UsageError};
use vmbackup::listing::list_backups;
use vmbackup::verify::{BackupCheck, verify_backup};

use super::{Output, load_settings};

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Backups to check: a backup's directory, a VM's directory (all its complete backups),
    /// or a backup directory (every VM). Default: the configuration's `backup_dir`.
    paths: Vec<PathBuf>,
    /// Take `backup_dir` from this configuration file.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `verify`: exit 0 when every backup is sound, 1 naming what is not.
pub fn run(args: &VerifyArgs, output: Output) -> Result<Outcome> {
    let roots = if args.paths.is_empty() {
        vec![load_settings(args.config.as_deref())?.backup_dir]
    } else {
        args.paths.clone()
    };
    let mut backups = Vec::new();
    for root in &roots {
        backups.extend(backups_under(root)?);
    }
    if backups.is_empty() {
        return Err(UsageError("no complete backup to verify there".into()).into());
    }
    let mut checks: Vec<BackupCheck> = Vec::new();
    for dir in &backups {
        let check = verify_backup(dir).unwrap_or_else(|error| BackupCheck {
            path: dir.clone(),
            vm: String::new(),
            files: 0,
            problems: vec![vmbackup::run::chain(&error)],
        });
        if !output.json {
            let verdict = if check.ok() {
                "ok".to_owned()
            } else {
                check.problems.join("; ")
            };
            let mut out = cli_common::Stdout::lock();
            writeln!(out, "{}: {verdict}", check.path.display())?;
            out.flush()?;
        }
        checks.push(check);
    }
    let sound = checks.iter().all(BackupCheck::ok);
    if output.json {
        super::print_json(&serde_json::json!({ "ok": sound, "backups": checks }))?;
    }
    Ok(if sound {
        Outcome::Success
    } else {
        Outcome::PartialFailure
    })
}

/// The complete backups (ours) at or below `root`.
fn backups_under(root: &Path) -> Result<Vec<PathBuf>> {
    if root.join(retention::layout::MANIFEST_FILE).is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let is_vm_dir = std::fs::read_dir(root)?
        .filter_map(std::result::Result::ok)
        .any(|e| e.path().join(retention::layout::MANIFEST_FILE).is_file());
    let vms = if is_vm_dir {
        vec![vmbackup::listing::list_vm_dir(root)?]
    } else {
        list_backups(root)?
    };
    Ok(vms
        .iter()
        .flat_map(|vm| {
            vm.backups
                .iter()
                .filter(|b| b.layout == "ours" && b.state != "incomplete")
                .map(|b| vm.dir.join(&b.id))
        })
        .collect())
}
