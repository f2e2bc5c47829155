//! A run from a plain Xen source: connect to the host (or read locally), read the guest's
//! configuration and size its disks (a missing disk stops the run before anything is
//! made), plan, shut the guest down if asked (or, `--live` on the dom0, snapshot its LVM
//! volumes), then stream each disk as raw data (all-zero runs as zero ranges) into its
//! upload. A span per VM and per disk.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use cli_common::{Outcome, UsageError};
use disk_image::pieces::read_raw_pieces;
use disk_image::{Piece, PieceError};
use lvm_snap::Lvm;
use xenapi::dom0::{Dom0Options, HostKeyCheck};

use super::args::XlArgs;
use super::host::{SshTarget, XenHost, default_key};
use super::live::LiveDisks;
use super::power;
use crate::cli::Cli;
use crate::plan::PlannedDisk;
use crate::run;
use crate::source::Power;

/// `--xen-config FILE`, with or without `--ssh`.
pub fn run_xl(cli: &Cli, config: &Path, stop: &Arc<AtomicBool>) -> Result<Outcome> {
    if cli.live && cli.xl.ssh.is_some() {
        bail!(UsageError(
            "--live reads LVM snapshots on the dom0 itself: run xen2ovirt there (without \
             --ssh), or give --shutdown"
                .to_owned()
        ));
    }
    let host = connect(&cli.xl)?;
    let shown = host.show(config);
    // A configuration that cannot be read or mapped: the run cannot start as asked.
    let usage = |e: anyhow::Error| UsageError(format!("{e:#}"));
    let parsed = host.read_config(config).map_err(usage)?;
    let name = parsed.to_vm_spec().map_err(|e| usage(e.into()))?.name;
    let power = if host.domain_exists(&name, stop)? {
        Power::Running
    } else {
        Power::Halted
    };
    let source = super::source_vm(&parsed, &shown, power, &mut |path| host.disk_size(path))?;
    let span = tracing::info_span!("vm", name = %source.name, config = %shown);
    let _entered = span.enter();
    let (engine, mut plan) = run::plan(cli, &source)?;
    if cli.dry_run {
        return run::dry_run(
            cli,
            &mut plan,
            power == Power::Halted,
            stop,
            |_, planned, push| disk_pieces::<lvm_snap::SystemRunner>(&host, None, planned, push),
        );
    }
    let shut_down = if power == Power::Running && cli.shutdown {
        Some(power::shut_down(
            &host,
            &name,
            config,
            Duration::from_secs(cli.shutdown_timeout),
            cli.force_shutdown,
            stop,
        )?)
    } else {
        None
    };
    let lvm = if power == Power::Running && cli.live {
        Some(Lvm::system().context("--live needs lvm2 on the dom0")?)
    } else {
        None
    };
    let live = match &lvm {
        Some(lvm) => Some(LiveDisks::take(lvm, &source.disks)?),
        None => None,
    };
    let marker = format!(
        "xen2ovirt: migrated from Xen guest `{}` of {shown}",
        source.name
    );
    let (vm_id, disks) = run::migrate_disks(
        cli,
        &engine,
        &mut plan,
        &marker,
        stop,
        |_, planned, push| disk_pieces(&host, live.as_ref(), planned, push),
    )?;
    if let Some(shut_down) = shut_down {
        shut_down.completed();
    }
    run::finish(cli, &engine, &plan, vm_id, disks)
}

/// The pieces of the guest's disk `planned` (its path is the planned disk's source), read
/// front to back from the host (from its snapshot with `--live`), all-zero runs as zero
/// ranges; the bytes read.
pub fn disk_pieces<R: lvm_snap::CommandRunner>(
    host: &XenHost,
    live: Option<&LiveDisks<'_, R>>,
    planned: &PlannedDisk,
    push: &mut dyn FnMut(Piece) -> Result<()>,
) -> Result<u64> {
    let disk = Path::new(&planned.source_uuid);
    let path = match live {
        Some(live) => live.device(disk)?,
        None => disk.to_owned(),
    };
    let reader = host.open(&path)?;
    let name = host.show(&path);
    read_raw_pieces(reader, planned.size, &name, push).map_err(|e| match e {
        PieceError::Source(e) => anyhow::Error::new(e),
        PieceError::Sink(e) => e,
    })?;
    if let Some(live) = live {
        live.check_intact(disk)?;
    }
    Ok(planned.size)
}

/// This dom0, or the `--ssh` host with its key checked and a key login.
fn connect(args: &XlArgs) -> Result<XenHost> {
    let Some(target) = &args.ssh else {
        return Ok(XenHost::Local);
    };
    let (user, host) = target.split_once('@').unwrap_or(("root", target));
    if user.is_empty() || host.is_empty() {
        bail!(UsageError(format!("--ssh `{target}` is not USER@HOST")));
    }
    let check = if let Some(fingerprint) = args.ssh_fingerprint {
        HostKeyCheck::Fingerprint(fingerprint)
    } else if let Some(file) = &args.ssh_known_hosts {
        HostKeyCheck::KnownHosts(file.clone())
    } else {
        let home = std::env::var_os("HOME").context("HOME is not set: give --ssh-known-hosts")?;
        HostKeyCheck::KnownHosts(Path::new(&home).join(".ssh/known_hosts"))
    };
    let key = match &args.ssh_key {
        Some(key) => key.clone(),
        None => default_key().ok_or_else(|| {
            UsageError(
                "no SSH key: give --ssh-key (~/.ssh/id_ed25519 and id_rsa are missing)".to_owned(),
            )
        })?,
    };
    let mut options = Dom0Options::new(check);
    options.port = args.ssh_port;
    user.clone_into(&mut options.user);
    SshTarget {
        host: host.to_owned(),
        options,
        key,
    }
    .connect()
}
