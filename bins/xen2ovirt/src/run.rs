//! A run: connect to both sides, read the source, plan, and (unless `--dry-run`) create
//! the target and stream the disks, with a tracing span per VM and per disk.

use anyhow::{Context, Result};
use disk_image::{NoProgress, Piece};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cli_common::{Outcome, PasswordLookup, SecretSource, Stdout, UsageError, print_json};
use ovirt_client::{ConnectOptions, Connection, Trust};
use serde::Serialize;
use xenapi::{Session, SessionOptions, TlsTrust};

use crate::cli::{Cli, OvirtArgs, XenArgs};
use crate::fixup::{FixupMode, Stage};
use crate::migrate::{self, DataOptions, DiskReport, copy_disk, xapi_pieces};
use crate::plan::{self, Choices, Plan, PlannedDisk, WhenRunning};
use crate::source::{Power, SourceVm};
use crate::xva::PieceSink;
use crate::{appliance, engine, staged, xapi, xva};

/// Where the XAPI password comes from without `--xen-password-file`.
pub const XEN_PASSWORD_ENV: &str = "XEN2OVIRT_XEN_PASSWORD";
/// Where the engine password comes from without `--ovirt-password-file`.
pub const OVIRT_PASSWORD_ENV: &str = "XEN2OVIRT_OVIRT_PASSWORD";

/// The XAPI password: `--xen-password-file`, else [`XEN_PASSWORD_ENV`], else a prompt.
const XEN_PASSWORD: PasswordLookup<'static> = PasswordLookup {
    what: "the XAPI password",
    env_var: XEN_PASSWORD_ENV,
    flags: "--xen-password-file",
    elsewhere: None,
};
/// The engine password: `--ovirt-password-file`, else [`OVIRT_PASSWORD_ENV`], else a prompt.
const OVIRT_PASSWORD: PasswordLookup<'static> = PasswordLookup {
    what: "the engine password",
    env_var: OVIRT_PASSWORD_ENV,
    flags: "--ovirt-password-file",
    elsewhere: None,
};

/// A password file flag as the lookup's chosen source.
fn file_source(file: Option<&std::path::PathBuf>) -> Option<SecretSource> {
    file.map(|file| SecretSource::File(file.clone()))
}

fn connect_xen(args: &XenArgs, url: &str, stop: &Arc<AtomicBool>) -> Result<Session> {
    let tls = if args.insecure {
        TlsTrust::Insecure
    } else if let Some(file) = &args.ca_file {
        TlsTrust::CaFile(file.clone())
    } else if args.fingerprints.is_empty() {
        TlsTrust::SystemRoots
    } else {
        TlsTrust::Pinned(args.fingerprints.clone())
    };
    let secret = XEN_PASSWORD.read(
        file_source(args.password_file.as_ref()).as_ref(),
        &format!("Password of {} on {url}: ", args.user),
    )?;
    let options = SessionOptions {
        tls,
        stop: Some(xenapi::Stop::from_flag(Arc::clone(stop))),
        ..SessionOptions::default()
    };
    Session::login(url, &args.user, secret.expose(), options)
        .with_context(|| format!("logging in to {url} as {}", args.user))
}

fn connect_ovirt(args: &OvirtArgs) -> Result<Connection> {
    let mut options = ConnectOptions::new(&args.url, &args.user);
    options.trust = if args.insecure {
        Trust::Insecure
    } else if let Some(file) = &args.ca_file {
        Trust::CaFile(file.clone())
    } else if let Some(fingerprint) = args.ca_fingerprint {
        Trust::PinnedCa(fingerprint)
    } else {
        Trust::SystemRoots
    };
    let secret = OVIRT_PASSWORD.read(
        file_source(args.password_file.as_ref()).as_ref(),
        &format!("Password of {} on {}: ", args.user, args.url),
    )?;
    Connection::connect(options, secret.expose())
        .with_context(|| format!("connecting to {} as {}", args.url, args.user))
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Report<'a> {
    /// `--dry-run`: the plan only.
    Plan { plan: &'a Plan },
    /// The VM was migrated.
    Migrated {
        plan: &'a Plan,
        vm_id: String,
        disks: Vec<DiskReport>,
    },
}

fn choices(cli: &Cli) -> Choices {
    Choices {
        name: cli.target.name.clone(),
        cluster: cli.target.cluster.clone(),
        storage_domain: cli.target.storage_domain.clone(),
        networks: cli.target.networks.clone(),
        keep_macs: !cli.target.no_keep_macs,
        bus: cli.target.disk_interface,
        os_type: cli.target.os_type.clone(),
        fixup: cli.fixup,
        no_fixup: cli.no_fixup,
        running: if cli.shutdown {
            WhenRunning::ShutDown
        } else if cli.live {
            WhenRunning::Snapshot
        } else {
            WhenRunning::Refuse
        },
    }
}

/// The whole run.
pub fn run(cli: &Cli) -> Result<Outcome> {
    let stop = stop_on_signals()?;
    if let Some(config) = &cli.xl.xen_config {
        return crate::xl::run::run_xl(cli, config, &stop);
    }
    if let Some(dir) = &cli.backup {
        return crate::backup::run::run_backup(cli, dir, &stop);
    }
    match &cli.xva {
        Some(path) => run_xva(cli, path, &stop),
        None => run_xapi(cli, &stop),
    }
}

/// Connects to the engine and plans; prints the plan (as text; JSON comes at the end).
pub(crate) fn plan(cli: &Cli, source: &SourceVm) -> Result<(Connection, Plan)> {
    let engine = connect_ovirt(&cli.ovirt)?;
    if !cli.dry_run {
        // Before the plan: a half-made VM of a dead run may hold the name.
        let appliance = appliance_of(cli)?;
        engine::sweep(&engine, appliance.as_ref().map(|a| a.vm.as_str()))?;
    }
    let choices = choices(cli);
    let name = plan::planned_name(source, choices.name.as_deref());
    let inventory = engine::inventory(&engine, &name)?;
    let plan = Plan::build(source, &inventory, &choices).map_err(|p| UsageError(p.to_string()))?;
    if !cli.json {
        write!(Stdout::lock(), "{plan}")?;
    }
    Ok((engine, plan))
}

/// The appliance of `--fixup appliance`, found before anything is made.
fn appliance_of(cli: &Cli) -> Result<Option<ovirt_client::snapshot_backup::appliance::Appliance>> {
    (cli.fixup == Some(FixupMode::Appliance))
        .then(|| appliance::appliance(cli))
        .transpose()
}

/// The end of a dry run: the plan as JSON when asked (the text was shown already).
fn planned(cli: &Cli, plan: &Plan) -> Result<Outcome> {
    if cli.json {
        print_json(&Report::Plan { plan })?;
    }
    Ok(Outcome::Success)
}

pub(crate) fn data_options(cli: &Cli, stop: &Arc<AtomicBool>) -> DataOptions {
    DataOptions {
        verify: cli.verify,
        floating: cli.fixup == Some(FixupMode::Appliance),
        stop: Arc::clone(stop),
    }
}

/// The first SIGINT or SIGTERM sets the flag (the run stops and cleans up); a second one
/// ends the process at once (exit 130).
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .context("installing the signal handler")?;
        signal_hook::flag::register(signal, Arc::clone(&flag))
            .context("installing the signal handler")?;
    }
    Ok(flag)
}

/// A VM of a XenServer / XCP-ng pool.
fn run_xapi(cli: &Cli, stop: &Arc<AtomicBool>) -> Result<Outcome> {
    let url = cli
        .xen
        .url
        .as_deref()
        .context("--xen or --xva is required")?;
    let wanted = cli.vm.as_deref().context("the source VM is required")?;
    let session = connect_xen(&cli.xen, url, stop)?;
    let (vm, record) = xapi::find_vm(&session, wanted)?;
    let found = xapi::read_vm(&session, &record)?;
    let source = &found.source;
    let span = tracing::info_span!("vm", name = %source.name, uuid = %source.uuid);
    let _entered = span.enter();
    let (engine, mut plan) = plan(cli, source)?;
    let running = source.power == Power::Running;
    if cli.dry_run {
        return dry_run(cli, &mut plan, !running, stop, |index, planned, push| {
            xapi_pieces(&session, &found.vdis[index], planned, push)
        });
    }
    let snapshot = if running && cli.live {
        Some(xapi::take_snapshot(&session, &vm, &source.name)?)
    } else {
        None
    };
    let vdis = match &snapshot {
        Some(snapshot) => xapi::snapshot_vdis(snapshot, &source.disks)?,
        None => found.vdis.clone(),
    };
    let shut_down = if running && cli.shutdown {
        Some(xapi::shut_down(
            &session,
            &vm,
            &source.name,
            Duration::from_secs(cli.shutdown_timeout),
            cli.force_shutdown,
        )?)
    } else {
        None
    };
    let marker = format!(
        "xen2ovirt: migrated from XenServer VM {} (`{}`) of {url}",
        source.uuid, source.name
    );
    let (vm_id, disks) = migrate_disks(
        cli,
        &engine,
        &mut plan,
        &marker,
        stop,
        |index, planned, push| xapi_pieces(&session, &vdis[index], planned, push),
    )?;
    if let Some(shut_down) = shut_down {
        shut_down.completed();
    }
    finish(cli, &engine, &plan, vm_id, disks)
}

/// What a disk source hands over: the pieces of the plan's disk `index` (`planned`), every
/// byte once, pushed in any order; it returns the bytes it read from the source.
type DiskPieces<'a> =
    dyn FnMut(usize, &PlannedDisk, &mut dyn FnMut(Piece) -> Result<()>) -> Result<u64> + 'a;

/// The end of `--dry-run`: with `--fixup local`, the disks are staged (when `readable`: a
/// running guest's are not) to show the fix-up's plan; then the plan as JSON when asked.
pub(crate) fn dry_run(
    cli: &Cli,
    plan: &mut Plan,
    readable: bool,
    stop: &Arc<AtomicBool>,
    mut pieces: impl FnMut(usize, &PlannedDisk, &mut dyn FnMut(Piece) -> Result<()>) -> Result<u64>,
) -> Result<Outcome> {
    if cli.fixup == Some(FixupMode::Local) {
        if readable {
            let stage = stage_disks(cli, plan, stop, &mut pieces)?;
            staged::fix(cli, plan, &stage, true)?;
        } else {
            tracing::warn!("the fix-up's plan needs the disks of the halted VM: not shown");
        }
    }
    planned(cli, plan)
}

/// The disks of the plan moved into a new VM, whatever the source (`pieces` reads disk N),
/// as `--fixup` asks: staged, fixed and uploaded (`local`); uploaded, then fixed through
/// the appliance (`appliance`); or uploaded as they are. Returns the kept VM's id and the
/// disks' reports; on failure nothing is left on the target (unless `--keep-failed`).
pub(crate) fn migrate_disks(
    cli: &Cli,
    engine: &Connection,
    plan: &mut Plan,
    marker: &str,
    stop: &Arc<AtomicBool>,
    mut pieces: impl FnMut(usize, &PlannedDisk, &mut dyn FnMut(Piece) -> Result<()>) -> Result<u64>,
) -> Result<(String, Vec<DiskReport>)> {
    if cli.fixup == Some(FixupMode::Local) {
        let stage = stage_disks(cli, plan, stop, &mut pieces)?;
        staged::fix(cli, plan, &stage, false)?;
        return staged::upload(cli, engine, plan, &stage, marker, &data_options(cli, stop));
    }
    let appliance = appliance_of(cli)?;
    let mut target = engine::create(engine, &plan.target, cli.keep_failed, cli.connections)?;
    let progress = cli_common::ProgressSet::new(cli.quiet || cli.json);
    let mut disks = Vec::new();
    for (index, planned) in plan.target.disks.iter().enumerate() {
        let span = tracing::info_span!("disk", name = %planned.name, source = %planned.source_uuid);
        let _entered = span.enter();
        let report = copy_disk(
            engine,
            &mut target,
            &plan.target,
            planned,
            marker,
            &data_options(cli, stop),
            progress.item().as_ref(),
            |push| pieces(index, planned, push),
        )?;
        disks.push(report);
    }
    if let Some(appliance) = &appliance {
        appliance::fix_and_attach(cli, engine, appliance, &mut target, plan, &disks)?;
    }
    let vm_id = target.keep(marker)?;
    Ok((vm_id, disks))
}

/// A stage holding the plan's disks, each read through `pieces`.
fn stage_disks(
    cli: &Cli,
    plan: &Plan,
    stop: &Arc<AtomicBool>,
    pieces: &mut DiskPieces<'_>,
) -> Result<Stage> {
    let stage = staged::new_stage(cli, plan)?;
    for (index, planned) in plan.target.disks.iter().enumerate() {
        staged::stage_disk(&stage, index, planned, stop, |push| {
            pieces(index, planned, push)
        })?;
    }
    Ok(stage)
}

/// The VM of an XVA file: its disks in archive order, each checksum verified; with
/// `--fixup local` staged first.
fn run_xva(cli: &Cli, path: &Path, stop: &Arc<AtomicBool>) -> Result<Outcome> {
    let (reader, source) = xva::open(path)?;
    let origin = path.display().to_string();
    run_xva_from(cli, reader, &source, &origin, || Ok(()), stop)
}

/// The VM `source` of the archive `reader` (read from `origin`); `end` checks what holds
/// the archive (a backup's manifest digest) once it was read, before the VM is kept.
pub(crate) fn run_xva_from(
    cli: &Cli,
    mut reader: disk_image::xva::XvaReader<Box<dyn std::io::Read + Send>>,
    source: &SourceVm,
    origin: &str,
    end: impl FnOnce() -> Result<()>,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome> {
    let span = tracing::info_span!("vm", name = %source.name, uuid = %source.uuid);
    let _entered = span.enter();
    let (engine, mut plan) = plan(cli, source)?;
    if cli.dry_run && cli.fixup != Some(FixupMode::Local) {
        return planned(cli, &plan);
    }
    let marker = format!(
        "xen2ovirt: migrated from XenServer VM {} (`{}`) of {origin}",
        source.uuid, source.name
    );
    let stage = (cli.fixup == Some(FixupMode::Local))
        .then(|| staged::new_stage(cli, &plan))
        .transpose()?;
    let appliance = appliance_of(cli)?;
    let mut target = match stage {
        Some(_) => None,
        None => Some(engine::create(
            &engine,
            &plan.target,
            cli.keep_failed,
            cli.connections,
        )?),
    };
    let progress = cli_common::ProgressSet::new(cli.quiet || cli.json);
    let mut disks: Vec<Option<DiskReport>> = vec![None; plan.target.disks.len()];
    let mut staged_disks = vec![false; plan.target.disks.len()];
    while let Some(next) = reader.next_disk().map(|d| d.vdi.uuid.clone()) {
        let Some(index) = plan.target.disks.iter().position(|d| d.source_uuid == next) else {
            xva::skip_disk(&mut reader)?;
            continue;
        };
        let planned = &plan.target.disks[index];
        let span = tracing::info_span!("disk", name = %planned.name, source = %planned.source_uuid);
        let _entered = span.enter();
        match (&stage, target.as_mut()) {
            (Some(stage), _) => {
                staged::stage_disk(stage, index, planned, stop, |push| {
                    xva_pieces(&mut reader, push)
                })?;
                staged_disks[index] = true;
            }
            (None, Some(target)) => {
                let report = copy_disk(
                    &engine,
                    target,
                    &plan.target,
                    planned,
                    &marker,
                    &data_options(cli, stop),
                    progress.item().as_ref(),
                    |push| xva_pieces(&mut reader, push),
                )?;
                disks[index] = Some(report);
            }
            (None, None) => unreachable!("a target is made when nothing is staged"),
        }
    }
    reader
        .finish()
        .with_context(|| format!("reading the end of {origin}"))?;
    end()?;
    let missing = |planned: &PlannedDisk| {
        format!(
            "the archive holds no data for disk {}",
            migrate::label(planned)
        )
    };
    if let Some(stage) = stage {
        if let Some(planned) = plan
            .target
            .disks
            .iter()
            .zip(&staged_disks)
            .find_map(|(planned, staged)| (!staged).then_some(planned))
        {
            anyhow::bail!(missing(planned));
        }
        return fix_and_upload(cli, &engine, &mut plan, &stage, &marker, stop);
    }
    let disks = disks
        .into_iter()
        .zip(&plan.target.disks)
        .map(|(report, planned)| report.with_context(|| missing(planned)))
        .collect::<Result<Vec<_>>>()?;
    let mut target = target.context("a target is made when nothing is staged")?;
    if let Some(appliance) = &appliance {
        appliance::fix_and_attach(cli, &engine, appliance, &mut target, &mut plan, &disks)?;
    }
    let vm_id = target.keep(&marker)?;
    finish(cli, &engine, &plan, vm_id, disks)
}

/// The staged disks fixed up, then (unless `--dry-run`) uploaded into the new VM.
fn fix_and_upload(
    cli: &Cli,
    engine: &Connection,
    plan: &mut Plan,
    stage: &Stage,
    marker: &str,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome> {
    staged::fix(cli, plan, stage, cli.dry_run)?;
    if cli.dry_run {
        return planned(cli, plan);
    }
    let (vm_id, disks) =
        staged::upload(cli, engine, plan, stage, marker, &data_options(cli, stop))?;
    finish(cli, engine, plan, vm_id, disks)
}

/// The pieces of the archive's next disk (its chunks, each checksum verified); returns the
/// data bytes read.
fn xva_pieces(
    reader: &mut disk_image::xva::XvaReader<Box<dyn std::io::Read + Send>>,
    push: &mut dyn FnMut(disk_image::Piece) -> Result<()>,
) -> Result<u64> {
    let mut sink = PieceSink::new(push);
    let read = reader.read_disk(Some(&mut sink), true, &NoProgress);
    if let Some(failure) = sink.failure() {
        return Err(failure);
    }
    let report = read?.context("the archive ended before the disk")?;
    Ok(report.data_bytes)
}

/// `--start`, then the result.
pub(crate) fn finish(
    cli: &Cli,
    engine: &Connection,
    plan: &Plan,
    vm_id: String,
    disks: Vec<DiskReport>,
) -> Result<Outcome> {
    if cli.start {
        let timeout = Duration::from_secs(cli.start_timeout);
        engine::start(engine, &vm_id, &plan.target.name, timeout)?;
    }
    print_result(cli.json, plan, vm_id, disks)?;
    Ok(Outcome::Success)
}

/// What a completed migration prints.
fn print_result(json: bool, plan: &Plan, vm_id: String, disks: Vec<DiskReport>) -> Result<()> {
    if json {
        print_json(&Report::Migrated { plan, vm_id, disks })?;
    } else {
        let mut out = Stdout::lock();
        for disk in &disks {
            writeln!(
                out,
                "disk `{}` ({}): {} bytes streamed, {}{}",
                disk.name,
                disk.id,
                disk.stream_bytes,
                disk.digest,
                if disk.verified == Some(true) {
                    ", verified"
                } else {
                    ""
                }
            )?;
        }
        writeln!(out, "migrated: VM `{}` ({vm_id})", plan.target.name)?;
    }
    Ok(())
}
