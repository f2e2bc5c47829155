//! `vmbackup verify`: re-read backups and check them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use backup_core::store::{
    BackupCheck, ListedState, MANIFEST_FILE, Manifest, backups_under, chain, list_simplebackup,
    verify_backup,
};
use clap::Args;
use cli_common::{Outcome, UsageError};
use vmbackup::backup_sr::XapiManifest;
use vmbackup::ovirt::run::seed_layout;

use super::{Output, load_settings};

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Backups to check: a backup's directory, a VM's directory (all its complete backups),
    /// or a backup directory (every VM). Default: the configuration's `backup_dir`.
    paths: Vec<PathBuf>,
    /// Take `backup_dir` from this configuration file, and the pool's connection (`host`,
    /// `password_file`, …): backup-sr backups keep disks on an SR that only the pool can
    /// check.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `verify`: exit 0 when every backup is sound, 1 naming what is not.
pub fn run(args: &VerifyArgs, output: Output) -> Result<Outcome> {
    let config = load_settings(args.config.as_deref())?;
    let roots = if args.paths.is_empty() {
        vec![config.backup_dir.clone()]
    } else {
        args.paths.clone()
    };
    let mut backups = Vec::new();
    for root in &roots {
        backups.extend(backups_under(root)?);
        for dir in vmbackup::ovirt_restore::seed::backups_under(root) {
            if !backups.contains(&dir) {
                backups.push(dir);
            }
        }
    }
    // oVirtSimpleBackup's layout written by us (with our manifest) below the backup dir.
    if args.paths.is_empty()
        && let Some(layout) = seed_layout(&config)
    {
        for vm in list_simplebackup(&config.backup_dir, &layout)? {
            backups.extend(
                vm.backups
                    .iter()
                    .filter(|b| b.state != ListedState::Incomplete)
                    .map(|b| vm.dir.join(&b.id))
                    .filter(|dir| dir.join(MANIFEST_FILE).is_file()),
            );
        }
    }
    // Each backup once, whichever listing found it first.
    let mut seen = std::collections::HashSet::new();
    backups.retain(|dir| seen.insert(dir.clone()));
    if backups.is_empty() {
        return Err(UsageError("no complete backup to verify there".into()).into());
    }
    let mut checks: Vec<BackupCheck> = Vec::new();
    let mut pool = PoolForCopies::new(&config);
    for dir in &backups {
        let mut check = if vmbackup::ovirt_restore::seed::is_seed_written(dir) {
            vmbackup::ovirt_restore::seed::verify(dir)
        } else {
            verify_backup(dir).unwrap_or_else(|error| BackupCheck {
                path: dir.clone(),
                vm: String::new(),
                files: 0,
                problems: vec![chain(&error)],
            })
        };
        check.problems.extend(pool.check(dir));
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

/// The pool, connected to once and only for backups that keep disks on a backup SR.
struct PoolForCopies<'c> {
    config: &'c vmbackup::Config,
    session: Option<std::result::Result<xenapi::Session, String>>,
}

impl<'c> PoolForCopies<'c> {
    fn new(config: &'c vmbackup::Config) -> Self {
        PoolForCopies {
            config,
            session: None,
        }
    }

    /// What is wrong with the disks the backup in `dir` keeps on a backup SR.
    fn check(&mut self, dir: &Path) -> Vec<String> {
        let manifest = match XapiManifest::read_as(dir) {
            Ok(manifest) => manifest,
            // Not readable as vmbackup's: the disks it may keep on an SR are unknown.
            Err(error) if Manifest::read(dir).is_ok() => return vec![chain(&error)],
            Err(_) => return Vec::new(), // verify_backup reported it
        };
        let copies = &manifest.extra.sr_copies;
        if copies.is_empty() {
            return Vec::new();
        }
        let config = self.config;
        let session = self.session.get_or_insert_with(|| {
            if config.host.is_none() {
                return Err(
                    "verify needs the pool for them: give --config with `host` and the password"
                        .to_owned(),
                );
            }
            super::password(config)
                .and_then(|secret| Ok(vmbackup::connect::connect(config, &secret)?))
                .map_err(|e| format!("{e:#}"))
        });
        let unchecked = |why: &str| {
            vec![format!(
                "its {} disk(s) on SR {} were not checked: {why}",
                copies.len(),
                copies[0].sr_name
            )]
        };
        match session {
            Ok(session) => vmbackup::backup_sr::check_copies(session, &manifest)
                .unwrap_or_else(|e| unchecked(&chain(&e))),
            Err(why) => unchecked(why),
        }
    }
}
