//! `vmbackup run` and `vmbackup preview`.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use backup_core::store::StoreLock;
use clap::Args;
use cli_common::{Outcome, ProgressSet, UsageError, printable};
use jiff::civil::DateTime;
use serde::Serialize;
use vmbackup::backup_sr::find_sr;
use vmbackup::cancel::Cancel;
use vmbackup::config::Platform;
use vmbackup::connect::connect_with_cancel;
use vmbackup::inventory::Inventory;
use vmbackup::mail::{RunReport, send_report};
use vmbackup::pool_db::dump_pool_db;
use vmbackup::run::{RunSettings, VmReport, chain, local_now, run_jobs};
use vmbackup::status_log::{
    Counts, StatusLog, VmOutcome, node_name, short_host_name, stdout_prefix,
};
use vmbackup::tag::weekday_tag;
use vmbackup::{Config, JobKind, Selection, Selector, resolve};

use super::{ConnectArgs, Output, load_config, password};

/// Options of `run` and `preview`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A configuration file (NAUbackup's format), or a VM selector: `NAME-or-regex`,
    /// `vm-export=SEL` or `vdi-export=SEL`.
    target: String,
    /// VmBackup.py's optional settings: `compress=True|False`, `ignore_extra_keys=…`,
    /// `pre_clean=…`.
    #[arg(value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Where backups go (instead of the configuration's `backup_dir`).
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// The JSON report of a run.
#[derive(Debug, Serialize)]
struct Report<'a> {
    status: &'a str,
    summary: String,
    vms: &'a [VmReport],
    pool_db: Option<String>,
    errors: Vec<String>,
}

fn configure(args: &RunArgs) -> Result<Config> {
    let mut config = load_config(&args.target, &args.settings)?;
    args.connect.apply(&mut config)?;
    if let Some(dir) = &args.backup_dir {
        config.backup_dir.clone_from(dir);
    }
    Ok(config)
}

/// Checks the backup directory exists and is writable, as VmBackup.py's write probe did.
pub(super) fn check_backup_dir(dir: &Path) -> Result<()> {
    let probe = dir.join("00VMbackupWriteTest");
    fs::write(&probe, b"")
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|e| {
            UsageError(format!(
                "backup_dir `{}` is not a writable directory: {e}",
                dir.display()
            ))
        })?;
    Ok(())
}

/// Creates the status log's folder when it is missing (NAUbackup's default
/// `/snapshots/NAUbackup` often is on a new backup host).
fn prepare_status_log(path: &Path) -> Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        fs::create_dir_all(folder).with_context(|| {
            format!(
                "cannot create the status log's folder `{}`",
                folder.display()
            )
        })?;
    }
    Ok(())
}

/// What `preview` says of the status log: `Err` when it cannot be written, a note when its
/// folder will be created by the run.
fn check_status_log(path: &Path) -> Result<Option<String>> {
    let unwritable = |e: std::io::Error| {
        UsageError(format!(
            "the status log `{}` cannot be written: {e}",
            path.display()
        ))
    };
    if path.exists() {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(unwritable)?;
        return Ok(None);
    }
    let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let mut existing = folder;
    while !existing.exists() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => return Ok(None),
        }
    }
    if !existing.is_dir() {
        return Err(unwritable(std::io::Error::other(format!(
            "`{}` is not a folder",
            existing.display()
        )))
        .into());
    }
    nix::unistd::access(existing, nix::unistd::AccessFlags::W_OK)
        .map_err(|e| unwritable(std::io::Error::from(e)))?;
    Ok((existing != folder).then(|| {
        format!(
            "the status log's folder `{}` does not exist: the run will create it",
            folder.display()
        )
    }))
}

/// Resolves the selection against the pool; `tag:%a` takes the weekday of `now`.
fn select(config: &Config, inventory: &Inventory, now: DateTime) -> Selection {
    resolve(&config.rules, &inventory.vm_infos(), now.weekday())
}

/// `preview`: the settings, the VMs selected and those excluded; exit 0 when everything
/// checks out.
pub fn preview(args: &RunArgs, output: Output, cancel: &Cancel) -> Result<Outcome> {
    let config = configure(args)?;
    check_backup_dir(&config.backup_dir)?;
    if config.config_file.is_some()
        && let Some(note) = check_status_log(&config.status_log)?
    {
        eprintln!("warning: {note}");
    }
    if config.platform == Platform::Ovirt {
        return super::ovirt::preview(&config, output);
    }
    let session = connect_with_cancel(&config, &password(&config)?, cancel)?;
    let inventory = Inventory::fetch(&session)?;
    let now = local_now();
    let selection = select(&config, &inventory, now);
    let jobs: Vec<_> = selection
        .jobs
        .iter()
        .map(|job| {
            serde_json::json!({
                "vm": job.name, "uuid": job.uuid, "kind": job.kind.as_str(),
                "keep": job.keep.map(std::num::NonZeroU32::get),
            })
        })
        .collect();
    let excluded: Vec<_> = selection
        .excluded
        .iter()
        .map(|vm| serde_json::json!({"vm": vm.name, "uuid": vm.uuid}))
        .collect();
    let mut errors: Vec<String> = selection.errors.iter().map(ToString::to_string).collect();
    let warnings: Vec<String> = selection.warnings.iter().map(ToString::to_string).collect();
    // The SR backup-sr-exports copy to must exist, and be the one meant.
    let backup_sr = config.backup_sr.as_deref().filter(|_| {
        selection
            .jobs
            .iter()
            .any(|job| job.kind == JobKind::BackupSrExport)
    });
    let backup_sr = backup_sr.and_then(|name| match find_sr(&inventory, name) {
        Ok((_, sr)) => Some(format!("{} ({})", sr.name_label, sr.uuid)),
        Err(error) => {
            errors.push(error.to_string());
            None
        }
    });
    // The weekday `tag:%a` stands for, when a rule uses it.
    let weekday = config
        .rules
        .iter()
        .any(|rule| matches!(&rule.selector, Selector::Tag(tag) if tag.is_dated()))
        .then(|| weekday_tag(now.weekday()));
    if output.json {
        super::print_json(&serde_json::json!({
            "backup_dir": config.backup_dir, "status_log": config.status_log,
            "compress": config.compress, "retention": config.retention,
            "jobs": jobs, "excluded": excluded, "errors": errors, "warnings": warnings,
            "weekday_tag": weekday, "backup_sr": backup_sr,
        }))?;
    } else {
        let mut out = cli_common::Stdout::lock();
        print_settings(&mut out, &config)?;
        if let Some(sr) = &backup_sr {
            writeln!(out, "backup_sr         = {sr}")?;
        }
        if let Some(day) = weekday {
            writeln!(out, "tag:%a            = tag:{day} (today)")?;
        }
        for job in &selection.jobs {
            let keep = job.keep.map(|k| format!(":{k}")).unwrap_or_default();
            writeln!(out, "{}: {}{keep}", job.kind.as_str(), printable(&job.name))?;
        }
        for vm in &selection.excluded {
            writeln!(out, "exclude: {}", printable(&vm.name))?;
        }
        out.flush()?;
        for warning in &warnings {
            eprintln!("warning: {}", printable(warning));
        }
    }
    preview_verdict(output, &errors, "pool")
}

/// The end of a preview: the configuration's `errors` against the `platform` (`pool`,
/// `engine`) refuse it (exit 2; with `--json` the preview document was printed already),
/// else NAUbackup's success line.
pub(crate) fn preview_verdict(
    output: Output,
    errors: &[String],
    platform: &str,
) -> Result<Outcome> {
    if !errors.is_empty() {
        let shown: Vec<_> = errors.iter().map(|e| printable(e)).collect();
        let text = format!(
            "the configuration does not fit the {platform}:\n  {}",
            shown.join("\n  ")
        );
        if output.json {
            // The JSON preview (with its errors) is the one document on standard output.
            eprintln!("error: {text}");
            return Ok(Outcome::ConfigurationProblem);
        }
        bail!(UsageError(text));
    }
    if !output.json {
        let mut out = cli_common::Stdout::lock();
        writeln!(out, "SUCCESS preview of parameters")?;
        out.flush()?;
    }
    Ok(Outcome::Success)
}

/// The settings `preview` shows, one `key = value` a line.
pub(super) fn print_settings(out: &mut impl Write, config: &Config) -> std::io::Result<()> {
    writeln!(out, "backup_dir        = {}", config.backup_dir.display())?;
    writeln!(out, "status_log        = {}", config.status_log.display())?;
    writeln!(out, "compress          = {}", config.compress)?;
    writeln!(
        out,
        "vdi_export_format = {}",
        config.vdi_export_format.as_str()
    )?;
    writeln!(
        out,
        "pool_db_backup    = {}",
        u8::from(config.pool_db_backup)
    )?;
    writeln!(out, "concurrency       = {}", config.concurrency)
}

/// `run`: back up every selected VM.
pub fn run(args: &RunArgs, output: Output, cancel: &Cancel) -> Result<Outcome> {
    let config = configure(args)?;
    check_backup_dir(&config.backup_dir)?;
    let _lock = StoreLock::acquire(&config.backup_dir)?;
    let secret = password(&config)?;
    let node = node_name().unwrap_or_else(|_| "localhost".to_owned());
    let host = short_host_name(&node).to_owned();
    // NAUbackup writes its status log only for runs from a configuration file.
    let status_log = config
        .config_file
        .as_ref()
        .map(|_| StatusLog::new(&config.status_log, host.clone()));
    let started = local_now();
    // A status log that cannot be written never stops the backups: it is warned about,
    // recorded in the report, and the run exits 2 at the end (monitoring would miss it).
    let mut status_log_problem = None;
    if let Some(log) = &status_log
        && let Err(error) =
            prepare_status_log(log.path()).and_then(|()| Ok(log.run_begin(started)?))
    {
        let text = format!("{error:#}");
        eprintln!("warning: {}; backing up anyway", printable(&text));
        status_log_problem = Some(text);
    }
    // VmBackup.py's progress lines. Pool names are escaped (a name must not forge a line);
    // a closed standard output does not stop the backups.
    let say = |text: &str| {
        let line = format!("{}{}", stdout_prefix(local_now()), printable(text));
        if output.json {
            eprintln!("{line}");
        } else {
            let mut out = cli_common::Stdout::lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    };
    say("VmBackup running");
    let progress = ProgressSet::new(output.quiet || output.json);
    let settings = RunSettings {
        config: &config,
        cancel,
        progress_for: &|_| progress.item(),
        status_log: status_log.as_ref(),
        host_name: &host,
        on_event: &say,
    };
    let mut errors: Vec<String> = Vec::new();
    let (reports, pool_db) = match config.platform {
        Platform::XenServer => xapi_backups(&config, &secret, &settings, &mut errors)?,
        Platform::Ovirt => (
            super::ovirt::backup(&config, &secret, &settings, &mut errors)?,
            None,
        ),
    };
    let results: Vec<_> = reports.iter().map(|r| r.result.clone()).collect();
    let mut counts = Counts::of(&results);
    counts.error += errors.len();
    if let Some(log) = &status_log
        && let Err(error) = log.run_end(local_now(), &counts)
        && status_log_problem.is_none()
    {
        let text = chain(&error);
        eprintln!("warning: {}", printable(&text));
        status_log_problem = Some(text);
    }
    errors.extend(status_log_problem.clone());
    say(&counts.ended_line());
    if let Some(mail) = &config.mail
        && mail.wanted(counts.overall())
    {
        let report = RunReport {
            host: host.clone(),
            started,
            finished: local_now(),
            results,
            counts,
        };
        if let Err(error) = send_report(mail, &report) {
            // The error names the e-mail report itself.
            errors.push(chain(&error));
            say(&format!("ERROR {}", chain(&error)));
        }
    }
    if output.json {
        super::print_json(&Report {
            status: counts.overall().as_str(),
            summary: counts.summary(),
            vms: &reports,
            pool_db: pool_db.map(|p| p.display().to_string()),
            errors: errors.clone(),
        })?;
    }
    if cancel.is_cancelled() {
        // Not an error: the report (and with --json its JSON) is out already.
        eprintln!("error: interrupted: what was in progress was cleaned up");
        return Ok(Outcome::PartialFailure);
    }
    let failed = reports
        .iter()
        .any(|r| matches!(r.result.outcome, VmOutcome::Failed(_)))
        || !errors.is_empty();
    Ok(if status_log_problem.is_some() {
        Outcome::ConfigurationProblem
    } else if failed {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

/// The XenServer part of a run: the pool's selection, its database, the VMs' backups.
/// Selection and database errors go to `errors` (and the progress lines).
fn xapi_backups(
    config: &Config,
    secret: &cli_common::secrets::Secret,
    settings: &RunSettings<'_>,
    errors: &mut Vec<String>,
) -> Result<(Vec<VmReport>, Option<std::path::PathBuf>)> {
    let say = settings.on_event;
    let cancel = settings.cancel;
    let session = connect_with_cancel(config, secret, cancel)?;
    let inventory = Inventory::fetch(&session)?;
    let selection = select(config, &inventory, local_now());
    for error in &selection.errors {
        say(&format!("ERROR {error}"));
        errors.push(error.to_string());
    }
    let pool_db = dump_db_if_asked(config, &session, &inventory, cancel, errors, say);
    let reports = run_jobs(&session, &inventory, &selection.jobs, settings);
    Ok((reports, pool_db))
}

/// `pool_db_backup=1`: the master's database, once per run. A failure is recorded and the
/// VMs are still backed up.
fn dump_db_if_asked(
    config: &Config,
    session: &xenapi::Session,
    inventory: &Inventory,
    cancel: &Cancel,
    errors: &mut Vec<String>,
    say: &dyn Fn(&str),
) -> Option<std::path::PathBuf> {
    if !config.pool_db_backup {
        return None;
    }
    let master = session
        .host()
        .get_name_label(&inventory.pool.master)
        .unwrap_or_else(|_| "master".to_owned());
    match dump_pool_db(session, config, &master, local_now(), cancel) {
        Ok(path) => {
            say(&format!("pool database saved to {}", path.display()));
            Some(path)
        }
        Err(error) => {
            let text = format!("pool database backup: {}", chain(&error));
            say(&format!("ERROR {text}"));
            errors.push(text);
            None
        }
    }
}
