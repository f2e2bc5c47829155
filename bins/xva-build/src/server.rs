//! `build --server`: the XVA streamed straight into a XenServer / XCP-ng pool with
//! `PUT /import` (no temporary file, bounded memory), then the new VM read from the import's
//! task.

use std::io::{self, Write};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use cli_common::{ConnectArgs, Outcome, PasswordLookup, Secret, TlsChoice, UsageError};
use disk_image::Progress;
use disk_image::xva::XvaSummary;
use xenapi::{
    Endpoint, Fingerprint, Import, ImportOptions, Ref, Session, SessionOptions, TlsTrust,
};

use crate::archive::{Archive, KernelCopy, print_copy_instructions};
use crate::sftp::{self, SshArgs};

/// The environment variable the password comes from when no password file is given.
pub const PASSWORD_ENV: &str = "XVA_BUILD_PASSWORD";

/// Where the password comes from when no password file is given.
const PASSWORD: PasswordLookup<'static> = PasswordLookup {
    what: "the XAPI password",
    env_var: PASSWORD_ENV,
    flags: cli_common::PASSWORD_FLAGS,
    elsewhere: None,
};

/// Options of `build --server`: cli-common's connection flags (each only with `--server`,
/// fingerprints checked as they are parsed) and the SR. xva-build spells the host flag
/// `--server`, as it always has; `--host` (vmbackup's spelling) is its alias.
#[derive(Debug, Args)]
#[command(next_help_heading = "Import into a host (instead of -o)")]
#[command(
    mut_arg("host", |a| a.long("server").visible_alias("host").help(
        "Import the VM into this XenServer / XCP-ng host (`https://host[:port]`): the XVA is \
         streamed with PUT /import, nothing is written locally. The password comes from \
         --password-file, else `XVA_BUILD_PASSWORD` in the environment, else a prompt"
    )),
    mut_arg("user", |a| a.help("The XAPI user (default: root)").requires("host")),
    mut_arg("password_file", |a| a.requires("host")),
    mut_arg("password_file_base64", |a| a.requires("host")),
    mut_arg("tls_fingerprints", |a| a.requires("host").value_parser(check_fingerprint)),
    mut_arg("tls_ca_file", |a| a.requires("host")),
    mut_arg("tls_insecure", |a| a.requires("host")),
)]
pub struct ServerArgs {
    /// The host, the user, the password files and the TLS trust.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The SR for the disks, by UUID or name (default: the pool's default SR).
    #[arg(long, value_name = "UUID|NAME", requires = "host")]
    sr: Option<String>,
}

/// A `--tls-fingerprint` as written, once xenapi has read it.
fn check_fingerprint(text: &str) -> Result<String, String> {
    text.parse::<Fingerprint>()
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

impl ServerArgs {
    /// The host to import into (`--server URL`), if any.
    pub fn url(&self) -> Option<&str> {
        self.connect.host.as_deref()
    }

    fn user(&self) -> &str {
        self.connect.user.as_deref().unwrap_or("root")
    }

    fn tls(&self) -> Result<TlsTrust> {
        Ok(match self.connect.tls.choice().unwrap_or_default() {
            TlsChoice::SystemRoots => TlsTrust::SystemRoots,
            TlsChoice::CaFile(file) => TlsTrust::CaFile(file),
            TlsChoice::Insecure => TlsTrust::Insecure,
            TlsChoice::Pinned(prints) => TlsTrust::Pinned(
                prints
                    .iter()
                    .map(|p| {
                        p.parse()
                            .map_err(|e| UsageError(format!("--tls-fingerprint: {e}")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
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
    let tls = args.tls()?;
    let user = args.user();
    let password = PASSWORD.read(
        args.connect.password.source().as_ref(),
        &format!("Password of {user} on {endpoint}: "),
    )?;
    let options = SessionOptions {
        tls,
        ..SessionOptions::default()
    };
    let session = Session::login(url, user, password.expose(), options)
        .with_context(|| format!("logging in to {endpoint} as {user}"))?;
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
) -> Result<xenapi::dom0::Uploaded> {
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
