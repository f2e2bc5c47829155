//! `build --upload-kernel` (xva.py's `--sftp`): the dom0 kernel and ramdisk of a PV guest
//! copied over SFTP to `/boot/guest/<uuid>/` on the host, where the VM's `PV_kernel` and
//! `PV_ramdisk` point. The host's key is checked (a `known_hosts` file or a pinned SHA-256
//! fingerprint) unless `--ssh-insecure` says not to. Files and directories this upload
//! created are removed again unless the import that follows succeeds.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use cli_common::{Secret, UsageError};
use ssh2::{OpenFlags, OpenType};

use crate::archive::KernelCopy;
use host_key::{HostFingerprint, HostKeyCheck, parse_host_fingerprint};

mod host_key;

/// How long connecting, and then any one SSH operation, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

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

/// Connects to `host`, checks its key, logs in (with `--ssh-key`, else `password`) and
/// copies every file to its place. What was created is removed again when the returned
/// guard is dropped without [`Uploaded::keep`].
pub fn upload(
    args: &SshArgs,
    host: &str,
    password: &Secret,
    copies: &[KernelCopy],
) -> Result<Uploaded> {
    let session = connect(args, host, password)?;
    let sftp = session.sftp().context("starting the SFTP subsystem")?;
    let mut uploaded = Uploaded {
        sftp,
        session,
        authority: format!("{}@{host}", args.ssh_user),
        files: Vec::new(),
        dirs: Vec::new(),
        kept: false,
    };
    for copy in copies {
        uploaded.copy(&copy.local, Path::new(&copy.host))?;
    }
    Ok(uploaded)
}

fn connect(args: &SshArgs, host: &str, password: &Secret) -> Result<ssh2::Session> {
    let addresses = (host, args.ssh_port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut tcp = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, TIMEOUT) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp
        .ok_or(last)
        .with_context(|| format!("connecting to {host} port {}", args.ssh_port))?;
    let mut session = ssh2::Session::new().context("starting libssh2")?;
    session.set_timeout(TIMEOUT.as_millis().try_into().unwrap_or(u32::MAX));
    host_key::prefer_openssh_order(&session)?;
    session.set_tcp_stream(tcp);
    session
        .handshake()
        .with_context(|| format!("SSH handshake with {host} port {}", args.ssh_port))?;
    host_key::check(&session, &args.host_key_check()?, host, args.ssh_port)?;
    match &args.ssh_key {
        Some(key) => session
            .userauth_pubkey_file(&args.ssh_user, None, key, None)
            .with_context(|| {
                format!(
                    "logging in as {} with the key `{}`",
                    args.ssh_user,
                    key.display()
                )
            })?,
        None => session
            .userauth_password(&args.ssh_user, password.expose())
            .with_context(|| format!("logging in as {} with the password", args.ssh_user))?,
    }
    if !session.authenticated() {
        bail!("{host} did not accept the login of {}", args.ssh_user);
    }
    Ok(session)
}

/// The files uploaded so far, and the directories the upload created. Dropped without
/// [`Uploaded::keep`], it removes them (best effort: a failure is a warning).
pub struct Uploaded {
    // Declared before `session`: the SFTP channel closes before the connection.
    sftp: ssh2::Sftp,
    session: ssh2::Session,
    /// `user@host`, for messages.
    authority: String,
    files: Vec<PathBuf>,
    /// Outermost first.
    dirs: Vec<PathBuf>,
    kept: bool,
}

impl Uploaded {
    /// Copies `local` to `remote`, creating the directories above it that are missing.
    fn copy(&mut self, local: &Path, remote: &Path) -> Result<()> {
        let parent = remote
            .parent()
            .ok_or_else(|| anyhow!("`{}` has no directory", remote.display()))?;
        self.make_dirs(parent)?;
        let mut source =
            File::open(local).with_context(|| format!("reading `{}`", local.display()))?;
        let size = source.metadata()?.len();
        let there = || format!("{}:{}", self.authority, remote.display());
        let file = self
            .sftp
            .open_mode(
                remote,
                OpenFlags::WRITE | OpenFlags::EXCLUSIVE,
                0o644,
                OpenType::File,
            )
            .with_context(|| format!("creating {}", there()))?;
        self.files.push(remote.to_owned());
        let mut target = BufWriter::with_capacity(1 << 20, file);
        io::copy(&mut source, &mut target)
            .and_then(|_| target.flush())
            .with_context(|| format!("copying `{}` to {}", local.display(), there()))?;
        let mut file = target
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.close()
            .with_context(|| format!("closing {}", there()))?;
        let written = self
            .sftp
            .stat(remote)
            .with_context(|| format!("checking {}", there()))?
            .size;
        if written != Some(size) {
            bail!(
                "{} holds {written:?} bytes after the copy, not the {size} of `{}`",
                there(),
                local.display()
            );
        }
        tracing::info!(local = %local.display(), remote = %there(), size, "uploaded");
        Ok(())
    }

    /// `mkdir -p`, remembering the directories it made.
    fn make_dirs(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        for ancestor in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            match self.sftp.stat(ancestor) {
                Ok(stat) if stat.is_dir() => break,
                Ok(_) => bail!(
                    "{}:{} exists and is not a directory",
                    self.authority,
                    ancestor.display()
                ),
                Err(_) => missing.push(ancestor.to_owned()),
            }
        }
        for dir in missing.into_iter().rev() {
            self.sftp.mkdir(&dir, 0o755).with_context(|| {
                format!(
                    "creating the directory {}:{}",
                    self.authority,
                    dir.display()
                )
            })?;
            self.dirs.push(dir);
        }
        Ok(())
    }

    /// Keeps the files (the import succeeded) and returns them as `user@host:path`.
    pub fn keep(mut self) -> Vec<String> {
        self.kept = true;
        self.files
            .iter()
            .map(|f| format!("{}:{}", self.authority, f.display()))
            .collect()
    }
}

impl Drop for Uploaded {
    fn drop(&mut self) {
        if !self.kept {
            for file in self.files.iter().rev() {
                if let Err(error) = self.sftp.unlink(file) {
                    tracing::warn!(%error, file = %file.display(), host = %self.authority, "cannot remove an uploaded file");
                }
            }
            for dir in self.dirs.iter().rev() {
                if let Err(error) = self.sftp.rmdir(dir) {
                    tracing::warn!(%error, dir = %dir.display(), host = %self.authority, "cannot remove a directory the upload created");
                }
            }
        }
        if let Err(error) = self.session.disconnect(None, "done", None) {
            tracing::debug!(%error, "closing the SSH connection");
        }
    }
}
