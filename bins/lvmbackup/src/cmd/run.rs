//! `lvmbackup run`: back up the volumes, print the report, write it to LOGFILE.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;
use backup_core::batch::{Cancel, SystemClock};
use backup_core::mail::{Mailer, SmtpAuth};
use clap::Args;
use cli_common::{Outcome, UsageError};
use lvm_snap::Lvm;
use lvmbackup::archive::GnuTar;
use lvmbackup::config::Config;
use lvmbackup::run::{RunParts, RunReport, run as run_volumes};

/// `run`'s flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this volume (`domU/part`, as in the volume list); repeat for several.
    #[arg(long = "volume", value_name = "DOMU/PART")]
    volumes: Vec<String>,
}

/// Runs the backup.
pub fn run(config: &Config, args: &RunArgs, json: bool) -> anyhow::Result<Outcome> {
    let cancel = Cancel::new();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, cancel.flag())
            .context("installing a signal handler")?;
    }
    let mailer = mailer(config)?;
    let lvm = Lvm::system()?;
    let report = run_volumes(
        config,
        &RunParts {
            lvm: &lvm,
            tar: GnuTar::default(),
            cancel: &cancel,
            clock: &SystemClock,
            today: super::today(),
            only: &args.volumes,
        },
    )?;
    let text = render(&report);
    let host = nix::unistd::gethostname()
        .map_or_else(|_| "?".into(), |h| h.to_string_lossy().into_owned());
    let status = if report.any_failed() {
        "FAILED"
    } else {
        "success"
    };
    let subject = format!("LVM backup on {host}: {status}");
    if let Some(mailer) = &mailer
        && let Err(error) = mailer.send(&subject, &text)
    {
        tracing::error!(error = %error, "could not send the report by e-mail");
    }
    if let Some(log) = &config.xenbackup.log_file {
        let mut mail = String::new();
        if let Some(from) = &config.xenbackup.email_from {
            let _ = writeln!(mail, "From: {from}");
        }
        if let Some(to) = &config.xenbackup.email_to {
            let _ = writeln!(mail, "To: {to}");
        }
        let host = nix::unistd::gethostname()
            .map_or_else(|_| "?".into(), |h| h.to_string_lossy().into_owned());
        let status = if report.any_failed() {
            "FAILED"
        } else {
            "success"
        };
        let _ = writeln!(mail, "Subject: LVM backup on {host}: {status}\n");
        mail.push_str(&text);
        if let Err(error) = std::fs::write(log, mail) {
            tracing::error!(log = %log.display(), %error, "could not write the log file");
        }
    }
    if json {
        cli_common::print_json(&report)?;
    } else {
        let mut out = cli_common::Stdout::lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(if report.any_failed() {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

/// The mailer of the settings' `[mail]`, from `EMAIL_FROM` to `EMAIL_TO` (addresses
/// separated by spaces or commas, as sendmail takes them); checked before the run.
fn mailer(config: &Config) -> anyhow::Result<Option<Mailer>> {
    let Some(mail) = &config.settings.mail else {
        return Ok(None);
    };
    let usage =
        |problem: String| UsageError(format!("{}: {problem}", config.xenbackup.path.display()));
    let from = config
        .xenbackup
        .email_from
        .as_deref()
        .ok_or_else(|| usage("[mail] is set but EMAIL_FROM is not".into()))?;
    let to = config
        .xenbackup
        .email_to
        .as_deref()
        .ok_or_else(|| usage("[mail] is set but EMAIL_TO is not".into()))?;
    let password = match &mail.password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the SMTP password from {}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        None => None,
    };
    Ok(Some(Mailer {
        from: from
            .parse()
            .map_err(|e| usage(format!("EMAIL_FROM={from:?}: {e}")))?,
        to: to
            .split([' ', ','])
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().map_err(|e| usage(format!("EMAIL_TO {a:?}: {e}"))))
            .collect::<Result<_, _>>()?,
        server: mail.server.clone(),
        port: mail.port,
        starttls: mail.starttls,
        ca_file: mail.ca_file.clone(),
        auth: mail
            .user
            .clone()
            .zip(password)
            .map(|(user, password)| SmtpAuth::new(user, password)),
    }))
}

/// The report as text: one line per volume, then the skipped lines and the summary.
fn render(report: &RunReport) -> String {
    let mut text = String::new();
    for volume in &report.volumes {
        let _ = write!(
            text,
            "{} ({}): {}",
            volume.name, volume.device, volume.status
        );
        if let Some(archive) = &volume.archive {
            let _ = write!(text, ", {} ({} bytes)", archive.display(), volume.bytes);
        }
        if let Some(error) = &volume.error {
            match &volume.step {
                Some(step) => {
                    let _ = write!(text, " at {step}: {error}");
                }
                None => {
                    let _ = write!(text, ": {error}");
                }
            }
        }
        text.push('\n');
        for warning in &volume.warnings {
            let _ = writeln!(text, "  warning: {warning}");
        }
        for pruned in &volume.pruned {
            let _ = writeln!(text, "  pruned: {}", pruned.display());
        }
    }
    for skipped in &report.skipped {
        let _ = writeln!(text, "skipped line {}: {}", skipped.line, skipped.why);
    }
    for warning in &report.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    let failed = report
        .volumes
        .iter()
        .filter(|v| v.status == "failed")
        .count();
    let _ = writeln!(
        text,
        "{} volume(s), {} failed",
        report.volumes.len(),
        failed
    );
    text
}
