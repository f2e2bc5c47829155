//! `vmbackup restore` of an oVirt backup (ours or oVirtSimpleBackup's): the flags only an
//! oVirt restore has, the engine's login, and the report.

use std::io::Write as _;

use anyhow::Result;
use clap::Args;
use cli_common::{Outcome, PasswordLookup, ProgressSet, UsageError};
use vmbackup::cancel::Cancel;
use vmbackup::connect::PASSWORD_ENV;
use vmbackup::ovirt_restore::engine::{DEFAULT_USER, EngineLogin};
use vmbackup::ovirt_restore::{OvirtBackup, OvirtRestoreOptions, engine, restore};

use super::{ConnectArgs, Output};

/// What the XenServer restore's flags say to an oVirt restore.
#[derive(Debug)]
pub struct SharedArgs<'a> {
    /// `--config`.
    pub config: Option<&'a std::path::Path>,
    /// `--sr` or `--preserve` given (XenServer only).
    pub xenserver_only: bool,
    /// `--check`.
    pub check: bool,
    /// The connection flags.
    pub connect: &'a ConnectArgs,
}

/// Options of an oVirt restore.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "oVirt")]
pub struct OvirtRestoreArgs {
    /// oVirt: the new VM's name (default: the backup's VM name with `-restored`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// oVirt: the cluster of the new VM (default: the engine's only cluster).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// oVirt: the storage domain of the new disks (required for an oVirt backup).
    #[arg(long, value_name = "NAME")]
    storage_domain: Option<String>,
    /// oVirt: keep the NICs' MAC addresses (the source VM must be gone).
    #[arg(long)]
    keep_macs: bool,
    /// oVirt: put every NIC on this vNIC profile (NAME, NETWORK/NAME or id); default: the
    /// NIC's own profile, or for oVirtSimpleBackup's backups the profile named like the
    /// NIC's network.
    #[arg(long, value_name = "PROFILE")]
    vnic_profile: Option<String>,
}

/// Where the engine password comes from.
const PASSWORD: PasswordLookup<'static> = PasswordLookup {
    what: "the engine password",
    env_var: PASSWORD_ENV,
    flags: cli_common::PASSWORD_FLAGS,
    elsewhere: None,
};

/// Runs the restore of an oVirt `backup`.
pub fn run(
    args: &SharedArgs<'_>,
    ovirt: &OvirtRestoreArgs,
    backup: &OvirtBackup,
    output: Output,
    cancel: &Cancel,
) -> Result<Outcome> {
    if args.xenserver_only {
        return Err(UsageError(
            "--preserve and --sr are XenServer options: an oVirt backup restores into a new VM \
             (--name, --keep-macs, --storage-domain)"
                .into(),
        )
        .into());
    }
    let config = super::load_settings(args.config)?;
    let settings = config.ovirt.as_ref();
    let Some(storage_domain) = ovirt
        .storage_domain
        .clone()
        .or_else(|| settings.and_then(|o| o.storage_domain.clone()))
    else {
        return Err(UsageError(
            "an oVirt backup needs --storage-domain NAME (or storage_domain= in the configuration)"
                .into(),
        )
        .into());
    };
    let shared = &args.connect.shared;
    let Some(url) = shared
        .host
        .clone()
        .or_else(|| settings.map(|o| o.engine.clone()))
    else {
        return Err(UsageError(
            "no engine to restore to: pass --host https://ENGINE or --config with engine=".into(),
        )
        .into());
    };
    let login = EngineLogin {
        url,
        user: shared.user.clone().unwrap_or_else(|| {
            if settings.is_some() {
                config.user.clone()
            } else {
                DEFAULT_USER.to_owned()
            }
        }),
        tls: shared.tls.choice().unwrap_or_else(|| config.tls.clone()),
    };
    let source = shared.password.source().or_else(|| config.password.clone());
    let password = PASSWORD.read(
        source.as_ref(),
        &format!("Password for {} on {}: ", login.user, login.url),
    )?;
    let connection = engine::connect(&login, &password)?;
    let options = OvirtRestoreOptions {
        name: ovirt.name.clone(),
        cluster: ovirt
            .cluster
            .clone()
            .or_else(|| settings.and_then(|o| o.cluster.clone())),
        storage_domain,
        keep_macs: ovirt.keep_macs,
        vnic_profile: ovirt.vnic_profile.clone(),
        check: args.check,
        ..OvirtRestoreOptions::default()
    };
    let progress = ProgressSet::new(output.quiet || output.json).item();
    let restored = restore(&connection, backup, &options, cancel, progress.as_ref())?;
    if output.json {
        super::print_json(&restored)?;
    } else {
        let mut out = cli_common::Stdout::lock();
        writeln!(out, "restored VM {} ({})", restored.name, restored.vm)?;
        for disk in &restored.disks {
            writeln!(out, "restored disk {disk}")?;
        }
        for check in &restored.checks {
            writeln!(
                out,
                "disk {} ({}): same bytes as the backup",
                check.disk, check.id
            )?;
        }
        out.flush()?;
    }
    Ok(Outcome::Success)
}
