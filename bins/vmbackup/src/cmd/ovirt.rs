//! `run` and `preview` of an oVirt configuration: the engine's part between the shared
//! beginning (lock, status log, progress lines) and end (summary, mail, JSON, exit code).

use std::io::Write;

use anyhow::Result;
use cli_common::secrets::Secret;
use cli_common::{Outcome, printable};
use vmbackup::Config;
use vmbackup::config::ReadMode;
use vmbackup::ovirt::inventory::OvirtInventory;
use vmbackup::ovirt::run::{appliance_of, needs_appliance, run_jobs, store_layout, sweep};
use vmbackup::resolve;
use vmbackup::run::{RunSettings, VmReport, local_now};

use super::{Output, password};

/// The appliance's id when this configuration reads some VM through it: `Ok(None)` when
/// none does (`mode=imageio` everywhere).
fn appliance_id(config: &Config) -> Option<String> {
    let ovirt = config.ovirt.as_ref()?;
    let wants = ovirt.mode == ReadMode::Appliance
        || ovirt
            .modes
            .iter()
            .any(|rule| rule.mode == ReadMode::Appliance);
    if !wants {
        return None;
    }
    appliance_of(ovirt).ok().map(|a| a.vm)
}

/// The selected VMs' backups: the sweep of dead runs' leftovers, then the jobs. Selection
/// errors and sweep problems go to `errors` (and the progress lines).
pub fn backup(
    config: &Config,
    secret: &Secret,
    settings: &RunSettings<'_>,
    errors: &mut Vec<String>,
) -> Result<Vec<VmReport>> {
    let ovirt = config.ovirt.as_ref().expect("an oVirt configuration");
    let say = settings.on_event;
    let connection = vmbackup::ovirt::connect(config, secret)?;
    let appliance = appliance_id(config);
    let inventory = OvirtInventory::fetch(&connection, appliance.as_deref())?;
    let selection = resolve(&config.rules, &inventory.vm_infos(), local_now().weekday());
    for error in &selection.errors {
        say(&format!("ERROR {error}"));
        errors.push(error.to_string());
    }
    let appliance = if needs_appliance(ovirt, &inventory, &selection.jobs) {
        appliance_of(ovirt).map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    } else {
        Err("no VM is read through the appliance".to_owned())
    };
    let swept = sweep(
        &connection,
        ovirt,
        &selection.jobs,
        appliance.as_ref().ok().map(|a| a.vm.as_str()),
    );
    for line in &swept.removed {
        say(line);
    }
    for problem in swept.problems {
        say(&format!("ERROR {problem}"));
        errors.push(problem);
    }
    let reports = run_jobs(
        &connection,
        &inventory,
        &selection.jobs,
        settings,
        appliance,
    );
    drop(connection);
    Ok(reports)
}

/// `preview` of an oVirt configuration: the settings, each VM selected with its mode, the
/// VMs excluded; exit 0 when everything checks out.
pub fn preview(config: &Config, output: Output) -> Result<Outcome> {
    let ovirt = config.ovirt.as_ref().expect("an oVirt configuration");
    let connection = vmbackup::ovirt::connect(config, &password(config)?)?;
    let appliance = appliance_id(config);
    let inventory = OvirtInventory::fetch(&connection, appliance.as_deref())?;
    drop(connection);
    let today = local_now().weekday();
    let infos = inventory.vm_infos();
    let selection = resolve(&config.rules, &infos, today);
    let mut errors: Vec<String> = selection.errors.iter().map(ToString::to_string).collect();
    if needs_appliance(ovirt, &inventory, &selection.jobs)
        && let Err(error) = appliance_of(ovirt)
    {
        errors.push(format!("{:#}", anyhow::Error::from(error)));
    }
    let warnings: Vec<String> = selection.warnings.iter().map(ToString::to_string).collect();
    let mode_of = |uuid: &str| {
        infos
            .iter()
            .find(|vm| vm.uuid == uuid)
            .map_or(ovirt.mode, |vm| ovirt.mode_for(vm, today))
    };
    let layout = store_layout(ovirt).label();
    if output.json {
        let jobs: Vec<_> = selection
            .jobs
            .iter()
            .map(|job| {
                serde_json::json!({
                    "vm": job.name, "uuid": job.uuid, "kind": job.kind.as_str(),
                    "mode": mode_of(&job.uuid).as_str(),
                    "keep": job.keep.map(std::num::NonZeroU32::get),
                })
            })
            .collect();
        let excluded: Vec<_> = selection
            .excluded
            .iter()
            .map(|vm| serde_json::json!({"vm": vm.name, "uuid": vm.uuid}))
            .collect();
        super::print_json(&serde_json::json!({
            "platform": "ovirt", "engine": ovirt.engine, "layout": layout,
            "backup_dir": config.backup_dir, "status_log": config.status_log,
            "retention": config.retention, "appliance": appliance,
            "jobs": jobs, "excluded": excluded, "errors": errors, "warnings": warnings,
        }))?;
    } else {
        let mut out = cli_common::Stdout::lock();
        writeln!(out, "engine            = {}", ovirt.engine)?;
        writeln!(out, "backup_dir        = {}", config.backup_dir.display())?;
        writeln!(out, "status_log        = {}", config.status_log.display())?;
        writeln!(out, "layout            = {layout}")?;
        writeln!(out, "compression       = {}", config.compression)?;
        writeln!(out, "concurrency       = {}", config.concurrency)?;
        writeln!(out, "disk_concurrency  = {}", ovirt.disk_concurrency)?;
        if let Some(id) = &appliance {
            writeln!(out, "appliance_vm      = {id}")?;
        }
        for job in &selection.jobs {
            let keep = job.keep.map(|k| format!(":{k}")).unwrap_or_default();
            let mode = mode_of(&job.uuid).as_str();
            writeln!(out, "{}: {}{keep} ({mode})", job.kind, printable(&job.name))?;
        }
        for vm in &selection.excluded {
            writeln!(out, "exclude: {}", printable(&vm.name))?;
        }
        out.flush()?;
        for warning in &warnings {
            eprintln!("warning: {}", printable(warning));
        }
    }
    super::run::preview_verdict(output, &errors, "engine")
}
