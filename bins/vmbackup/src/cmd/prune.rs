//! `vmbackup prune`: retention on the backups on disk.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use backup_core::store::{
    Layout, StoreLock, dir_name, list_backups, simplebackup_vm_dirs, vm_name_of_dir,
};
use clap::Args;
use cli_common::Outcome;
use jiff::Timestamp;
use vmbackup::backup_sr::keeps_disks_on_sr;
use vmbackup::connect::connect;
use vmbackup::ovirt::run::seed_layout;
use vmbackup::prune::{offline_policy, prune_vm_dir_in_pool, vm_of_dir};

use super::{Output, load_settings, password};

/// Options of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Take `backup_dir` and the retention keys (`max_backups`, `keep_daily`, …) from this
    /// configuration file, and each VM's `:N` from its rules.
    ///
    /// A VM keeps what a run would keep: the `:N` of the last rule that selects its name
    /// (the directory's name, or the name its manifests record) replaces `max_backups`.
    /// When only the pool could tell — a rule naming a uuid the VM may have, a name that
    /// cannot be decoded, an exclude that may leave the VM out — the largest keep that may
    /// apply is used: in doubt, prune keeps more.
    ///
    /// Backups that keep disks on a backup SR (backup-sr-export) are removed only with
    /// their disks: prune connects to the configuration's `host` for them, and keeps them
    /// when it has none.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Only this VM (its name).
    #[arg(long)]
    vm: Option<String>,
    /// Prune NAUbackup's `backup-YYYY-MM-DD-(HH:MM:SS)` directories (local time) instead
    /// of ours.
    #[arg(long)]
    naubackup: bool,
    /// Show the plan; remove nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `prune`.
pub fn run(args: &PruneArgs, output: Output) -> Result<Outcome> {
    let config = load_settings(args.config.as_deref())?;
    let seed = seed_layout(&config);
    let layout = match (&seed, args.naubackup) {
        (_, true) => Layout::naubackup_local(),
        (Some(seed), false) => seed.clone(),
        (None, false) => Layout::Own,
    };
    // A dry run changes nothing: it needs no lock (and works beside a run).
    let _lock = if args.dry_run {
        None
    } else {
        Some(StoreLock::acquire(&config.backup_dir)?)
    };
    let vm_dirs: Vec<PathBuf> = match (&args.vm, &seed) {
        // oVirtSimpleBackup's layout: one directory per `<VM>/<uuid>`.
        (_, Some(_)) if !args.naubackup => simplebackup_vm_dirs(&config.backup_dir)?
            .into_iter()
            .filter(|dir| {
                args.vm.as_ref().is_none_or(|vm| {
                    dir.parent().and_then(|p| p.file_name()) == Some(dir_name(vm).as_ref())
                })
            })
            .collect(),
        (Some(vm), _) => vec![config.backup_dir.join(dir_name(vm))],
        (None, _) => list_backups(&config.backup_dir)?
            .into_iter()
            .map(|vm| vm.dir)
            .collect(),
    };
    // Backups that keep disks on a backup SR are pruned only with the pool (connected to
    // only when there are some, and the configuration names the pool).
    let session = if config.host.is_some() && vm_dirs.iter().any(|d| keeps_disks_on_sr(d)) {
        Some(connect(&config, &password(&config)?)?)
    } else {
        None
    };
    let mut reports = Vec::new();
    for dir in &vm_dirs {
        let mut vm = vm_of_dir(dir);
        if seed.is_some() && !args.naubackup {
            // `<VM>/<uuid>`: the VM's name is the parent's, its uuid the directory's.
            let parent = dir
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str());
            vm.name = parent.and_then(vm_name_of_dir);
            if let Some(uuid) = dir.file_name().and_then(|n| n.to_str()) {
                vm.uuids.insert(uuid.to_owned());
            }
        }
        if let Some(name) = &args.vm {
            vm.name = Some(name.clone());
        }
        let policy = offline_policy(&config, &vm);
        let pruned = prune_vm_dir_in_pool(
            session.as_ref(),
            dir,
            &layout,
            &policy,
            Timestamp::now(),
            args.dry_run,
        )?;
        if !output.json {
            let mut out = cli_common::Stdout::lock();
            writeln!(
                out,
                "{}{}",
                dir.display(),
                if args.dry_run { " (dry run)" } else { "" }
            )?;
            for decision in &pruned.plan.decisions {
                let verb = if decision.keep { "keep  " } else { "remove" };
                writeln!(
                    out,
                    "  {verb} {}  {}",
                    decision.id,
                    decision.reasons.join(", ")
                )?;
            }
            for ignored in &pruned.scan.ignored {
                writeln!(out, "  ignore {}  {}", ignored.path.display(), ignored.why)?;
            }
            for damaged in &pruned.scan.damaged {
                writeln!(out, "  keep   {}  damaged: {}", damaged.id, damaged.why)?;
            }
            out.flush()?;
        }
        reports.push(serde_json::json!({
            "dir": dir, "dry_run": args.dry_run,
            "plan": pruned.plan.decisions,
            "removed": pruned.applied.removed,
        }));
    }
    if output.json {
        super::print_json(&reports)?;
    }
    Ok(Outcome::Success)
}
