//! `build --server`: the XVA streamed straight into a XenServer / XCP-ng pool with
//! `PUT /import` (no temporary file, bounded memory), then the new VM read from the import's
//! task.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use cli_common::{Outcome, Secret, SecretSource, UsageError};
use disk_image::Progress;
use disk_image::xva::XvaSummary;
use xenapi::{
    Endpoint, Fingerprint, Import, ImportOptions, Ref, Session, SessionOptions, TlsTrust,
};

use crate::archive::{Archive, KernelCopy, print_copy_instructions};
use crate::sftp::{self, SshArgs};

/// The environment variable the password comes from when no password file is given.
pub const PASSWORD_ENV: &str = "XVA_BUILD_PASSWORD";

/// Options of `build --server`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Import into a host (instead of -o)")]
pub struct ServerArgs {
    /// Import the VM into this XenServer / XCP-ng host (`https://host[:port]`): the XVA is
    /// streamed with PUT /import, nothing is written locally. The password comes from
    /// --password-file, else `XVA_BUILD_PASSWORD` in the environment, else a prompt.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The SR for the disks, by UUID or name (default: the pool's default SR).
    #[arg(long, value_name = "UUID|NAME", requires = "server")]
    sr: Option<String>,
    /// The XAPI user.
    #[arg(long, value_name = "USER", default_value = "root", requires = "server")]
    user: String,
    /// Read the password from this file (plain text; keep it `chmod 600`).
    #[arg(long, value_name = "FILE", requires = "server")]
    password_file: Option<PathBuf>,
    /// Read the password from this base64 file (NAUbackup's `create-password-file=`).
    #[arg(
        long,
        value_name = "FILE",
        requires = "server",
        conflicts_with = "password_file"
    )]
    password_file_base64: Option<PathBuf>,
    /// Trust the host's TLS certificate by its SHA-256 fingerprint (repeatable: list every
    /// host of the pool). Without a --tls-* option, the system's CAs are trusted.
    #[arg(long = "tls-fingerprint", value_name = "HEX", requires = "server", value_parser = parse_fingerprint)]
    tls_fingerprints: Vec<Fingerprint>,
    /// Trust the certificates of this PEM file (the pool's CA or the host's certificate).
    #[arg(
        long,
        value_name = "FILE",
        requires = "server",
        conflicts_with_all = ["tls_fingerprints", "tls_insecure"]
    )]
    tls_ca_file: Option<PathBuf>,
    /// Do not check the host's certificate (warns): the host is not authenticated.
    #[arg(long, requires = "server", conflicts_with = "tls_fingerprints")]
    tls_insecure: bool,
}

fn parse_fingerprint(text: &str) -> Result<Fingerprint, String> {
    text.parse().map_err(|e: xenapi::XenApiError| e.to_string())
}

impl ServerArgs {
    fn tls(&self) -> TlsTrust {
        if self.tls_insecure {
            TlsTrust::Insecure
        } else if let Some(file) = &self.tls_ca_file {
            TlsTrust::CaFile(file.clone())
        } else if self.tls_fingerprints.is_empty() {
            TlsTrust::SystemRoots
        } else {
            TlsTrust::Pinned(self.tls_fingerprints.clone())
        }
    }

    fn password_source(&self, endpoint: &Endpoint) -> SecretSource {
        if let Some(file) = &self.password_file {
            SecretSource::File(file.clone())
        } else if let Some(file) = &self.password_file_base64 {
            SecretSource::Base64File(file.clone())
        } else if std::env::var_os(PASSWORD_ENV).is_some() {
            SecretSource::Env(PASSWORD_ENV.to_owned())
        } else {
            SecretSource::Prompt(format!("Password of {} on {endpoint}: ", self.user))
        }
    }
}

/// Imports the archive into the host at `url`, after uploading its PV boot files when asked,
/// and prints the new VM's UUID (or, with `json`, a summary).
pub fn run(
    url: &str,
    args: &ServerArgs,
    ssh: &SshArgs,
    archive: &Archive,
    kernel_copies: &[KernelCopy],
    json: bool,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let endpoint = Endpoint::parse(url).map_err(|e| {
        let shown = xenapi::redact_credentials(url);
        UsageError(format!("--server `{shown}`: {e}"))
    })?;
    if endpoint.scheme() == xenapi::Scheme::Http {
        eprintln!("warning: --server http:// sends the XAPI password in clear text");
    }
    if ssh.upload_kernel {
        sftp::check_upload(ssh, kernel_copies)?;
    }
    let password = args.password_source(&endpoint).read()?;
    let options = SessionOptions {
        tls: args.tls(),
        ..SessionOptions::default()
    };
    let session = Session::login(url, &args.user, password.expose(), options)
        .with_context(|| format!("logging in to {endpoint} as {}", args.user))?;
    let sr = find_sr(&session, args.sr.as_deref())?;
    let uploaded = if ssh.upload_kernel {
        Some(upload_kernel(ssh, &endpoint, &password, kernel_copies)?)
    } else {
        None
    };
    let (vm, summary) = import(&session, sr, archive, progress).with_context(|| {
        format!(
            "importing VM `{}` into {}",
            archive.spec.name,
            session.endpoint()
        )
    })?;
    let kernel_files = if let Some(files) = uploaded {
        files.keep()
    } else {
        print_copy_instructions(kernel_copies);
        Vec::new()
    };
    let uuid = session
        .vm()
        .get_uuid(&vm)
        .with_context(|| format!("the VM was imported as {vm}, but reading its UUID failed"))?;
    if let Err(error) = session.logout() {
        tracing::warn!(%error, "logging out of XAPI failed");
    }
    for (copy, remote) in kernel_copies.iter().zip(&kernel_files) {
        eprintln!(
            "PV boot file: `{}` uploaded to {remote} (copy it to the pool's other hosts, if any)",
            copy.local.display()
        );
    }
    if json {
        let report = serde_json::json!({
            "vm": uuid,
            "vm_ref": vm.as_str(),
            "name": archive.spec.name,
            "server": endpoint.to_string(),
            "kernel_files": kernel_files,
            "summary": summary,
        });
        cli_common::print_json(&report)?;
    } else {
        let mut out = cli_common::Stdout::lock();
        writeln!(out, "{uuid}")?;
        out.flush()?;
    }
    Ok(Outcome::Success)
}

fn upload_kernel(
    ssh: &SshArgs,
    endpoint: &Endpoint,
    password: &Secret,
    kernel_copies: &[KernelCopy],
) -> Result<sftp::Uploaded> {
    sftp::upload(ssh, endpoint.host(), password, kernel_copies).with_context(|| {
        format!(
            "uploading the PV boot files to {} over SFTP (nothing was imported)",
            endpoint.host()
        )
    })
}

/// The SR named by `--sr` (a UUID, else a name label that must be unique); `None` without
/// it (the pool's default SR).
fn find_sr(session: &Session, wanted: Option<&str>) -> Result<Option<Ref>> {
    let Some(wanted) = wanted else {
        return Ok(None);
    };
    if uuid::Uuid::parse_str(wanted).is_ok() {
        let sr = session
            .sr()
            .get_by_uuid(wanted)
            .with_context(|| format!("finding the SR with UUID {wanted}"))?;
        return Ok(Some(sr));
    }
    let found = session
        .sr()
        .get_by_name_label(wanted)
        .with_context(|| format!("finding the SR named `{wanted}`"))?;
    match found.as_slice() {
        [sr] => Ok(Some(sr.clone())),
        [] => bail!("the pool has no SR named `{wanted}`"),
        many => bail!(
            "{} SRs are named `{wanted}`: give the UUID of one",
            many.len()
        ),
    }
}

/// Streams the XVA into `PUT /import` and returns the VM it created.
fn import(
    session: &Session,
    sr: Option<Ref>,
    archive: &Archive,
    progress: &dyn Progress,
) -> Result<(Ref, XvaSummary)> {
    let options = ImportOptions {
        sr,
        ..ImportOptions::default()
    };
    let import = session.import(&options)?;
    let name = format!("PUT {}/import", session.endpoint());
    let mut sink = Watched::new(import);
    let written = archive
        .write(&mut sink, &name, progress)
        .map(|(_, summary)| summary);
    let summary = match written {
        Ok(summary) => summary,
        // The host stopped reading: its task says why (SR_FULL, IMPORT_ERROR, …).
        Err(local) if sink.failed => {
            return Err(match sink.inner.finish() {
                Err(verdict) => anyhow!(verdict),
                Ok(_) => local,
            });
        }
        // A local failure (a disk that cannot be read): dropping the import aborts it.
        Err(local) => return Err(local),
    };
    let vms = sink.inner.finish()?;
    let vm = vms
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the import succeeded but created no VM"))?;
    Ok((vm, summary))
}

/// The import, remembering whether a write into it failed (the host gave up) as opposed to
/// the archive's own sources.
struct Watched<'s> {
    inner: Import<'s>,
    failed: bool,
}

impl<'s> Watched<'s> {
    fn new(inner: Import<'s>) -> Self {
        Watched {
            inner,
            failed: false,
        }
    }
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}
