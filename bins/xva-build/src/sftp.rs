//! `build --upload-kernel` (xva.py's `--sftp`): the dom0 kernel and ramdisk of a PV guest
//! copied over SFTP to `/boot/guest/<uuid>/` on the host, where the VM's `PV_kernel` and
//! `PV_ramdisk` point. The host's key is checked (a `known_hosts` file or a pinned SHA-256
//! fingerprint) unless `--ssh-insecure` says not to. Files and directories this upload
//! created are removed again unless the import that follows succeeds. The SSH client is
//! `xenapi::dom0`; this module holds the flags.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use cli_common::{Secret, UsageError};
use xenapi::dom0::{Dom0, Dom0Options, HostFingerprint, HostKeyCheck, Login};

use crate::archive::KernelCopy;

/// Options of `build --upload-kernel`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Upload a PV guest's kernel (with --server)")]
pub struct SshArgs {
    /// Copy the --kernel and --ramdisk to `/boot/guest/<uuid>/` on the --server host over SFTP,
    /// before the import (without it, the command says where to copy them).
    #[arg(long, requires = "host")]
    pub upload_kernel: bool,
    /// Log in with this private key (without passphrase) instead of the XAPI password.
    #[arg(long, value_name = "FILE", requires = "upload_kernel")]
    ssh_key: Option<PathBuf>,
    /// The SSH user.
    #[arg(
        long,
        value_name = "USER",
        default_value = "root",
        requires = "upload_kernel"
    )]
    ssh_user: String,
    /// The SSH port.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 22,
        requires = "upload_kernel"
    )]
    ssh_port: u16,
    /// Check the host's key against this `known_hosts` file (default: `~/.ssh/known_hosts`).
    #[arg(long, value_name = "FILE", requires = "upload_kernel")]
    ssh_known_hosts: Option<PathBuf>,
    /// Accept the host key with this fingerprint (`SHA256:…`, as `ssh-keygen -lf
    /// /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host).
    #[arg(
        long,
        value_name = "SHA256",
        requires = "upload_kernel",
        conflicts_with = "ssh_known_hosts",
        value_parser = parse_host_fingerprint
    )]
    ssh_fingerprint: Option<HostFingerprint>,
    /// Accept any host key (warns): the host is not authenticated.
    #[arg(
        long,
        requires = "upload_kernel",
        conflicts_with_all = ["ssh_known_hosts", "ssh_fingerprint"]
    )]
    ssh_insecure: bool,
}

impl SshArgs {
    fn host_key_check(&self) -> Result<HostKeyCheck> {
        if self.ssh_insecure {
            return Ok(HostKeyCheck::Insecure);
        }
        if let Some(fingerprint) = self.ssh_fingerprint {
            return Ok(HostKeyCheck::Fingerprint(fingerprint));
        }
        if let Some(file) = &self.ssh_known_hosts {
            return Ok(HostKeyCheck::KnownHosts(file.clone()));
        }
        let default = std::env::var_os("HOME")
            .map(|home| Path::new(&home).join(".ssh/known_hosts"))
            .filter(|file| file.is_file());
        default.map(HostKeyCheck::KnownHosts).ok_or_else(|| {
            anyhow!(UsageError(
                "no ~/.ssh/known_hosts to check the host's SSH key against: give \
                 --ssh-fingerprint SHA256:… (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` \
                 on the host) or --ssh-known-hosts FILE"
                    .into()
            ))
        })
    }
}

/// Checks, before anything happens on the host, that there is something to upload and that
/// the local files can be read.
pub fn check_upload(args: &SshArgs, copies: &[KernelCopy]) -> Result<()> {
    if copies.is_empty() {
        bail!(UsageError(
            "--upload-kernel needs a PV guest booting a dom0 kernel (--kernel, or kernel= in \
             the configuration)"
                .into()
        ));
    }
    args.host_key_check()?;
    for local in copies
        .iter()
        .map(|c| c.local.as_path())
        .chain(args.ssh_key.as_deref())
    {
        File::open(local).with_context(|| format!("cannot read `{}`", local.display()))?;
    }
    Ok(())
}

/// Reads `--ssh-fingerprint`.
fn parse_host_fingerprint(text: &str) -> Result<HostFingerprint, String> {
    text.parse()
        .map_err(|e: xenapi::dom0::Dom0Error| e.to_string())
}

/// Connects to `host`, checks its key, logs in (with `--ssh-key`, else `password`) and
/// copies every file to its place. What was created is removed again when the returned
/// guard is dropped without [`Uploaded::keep`](xenapi::dom0::Uploaded::keep).
pub fn upload(
    args: &SshArgs,
    host: &str,
    password: &Secret,
    copies: &[KernelCopy],
) -> Result<xenapi::dom0::Uploaded> {
    let options = Dom0Options {
        port: args.ssh_port,
        user: args.ssh_user.clone(),
        ..Dom0Options::new(args.host_key_check()?)
    };
    let login = match &args.ssh_key {
        Some(key) => Login::Key(key),
        None => Login::Password(password.expose()),
    };
    let dom0 = Dom0::connect(host, &options, login)?;
    let files: Vec<(&Path, &Path)> = copies
        .iter()
        .map(|c| (c.local.as_path(), Path::new(&c.host)))
        .collect();
    Ok(dom0.upload(&files)?)
}
