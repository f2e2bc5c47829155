//! The e-mail report of a run: NAUbackup's subject and a plain-text body, sent by
//! backup-core's mailer (SMTP with STARTTLS over rustls, AUTH PLAIN or LOGIN).
//!
//! The subject is VmBackup.py's: `Success <host> VmBackup.py`, `WARNING <host> VmBackup.py`
//! or `ERROR <host> VmBackup.py` (`<host>` the backup host's name as the status log writes
//! it: the node name up to its first dot). The body is plain text: the summary line, then
//! one line per VM (status, kind, size, time, name) and the error or warning under it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use backup_core::mail::{Mailer, SmtpAuth};
use cli_common::SecretSource;
use jiff::civil::DateTime;
use lettre::message::Mailbox;

use crate::error::{Result, VmBackupError};
use crate::status_log::{Counts, Overall, VmOutcome, VmResult};

/// When to send the report (`mail_on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MailOn {
    /// After every run (`always`, the default).
    #[default]
    Always,
    /// Only when a run has a warning or an error (`failure`).
    Failure,
}

/// Where and how to send the report.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Recipients (`mail_to`).
    pub to: Vec<Mailbox>,
    /// Sender (`mail_from`).
    pub from: Mailbox,
    /// SMTP server host name (`smtp_server`); also the name its certificate must carry.
    pub server: String,
    /// SMTP port (`smtp_server=host:port`; 587 with STARTTLS, 25 without).
    pub port: u16,
    /// Require STARTTLS (`smtp_starttls`, default true).
    pub starttls: bool,
    /// SMTP user (`smtp_user`), for AUTH.
    pub user: Option<String>,
    /// Where the SMTP password comes from (`smtp_password_file`).
    pub password: Option<SecretSource>,
    /// Trust only the certificates of this PEM file instead of the system's
    /// (`smtp_ca_file`).
    pub ca_file: Option<PathBuf>,
    /// When to send (`mail_on`).
    pub on: MailOn,
}

impl MailSettings {
    /// Whether a run that ended `overall` gets a report.
    pub fn wanted(&self, overall: Overall) -> bool {
        self.on == MailOn::Always || overall != Overall::Success
    }
}

/// What the report says.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The backup host's name as the status log writes it: `uname -n` up to its first dot
    /// ([`short_host_name`](crate::status_log::short_host_name)).
    pub host: String,
    /// When the run started (local time).
    pub started: DateTime,
    /// When it ended (local time).
    pub finished: DateTime,
    /// Every VM's result, in the order they were backed up.
    pub results: Vec<VmResult>,
    /// The run's counters (which may count failures outside VMs, such as the pool
    /// database dump).
    pub counts: Counts,
}

/// `Success xs1 VmBackup.py`, `WARNING …` or `ERROR …`.
pub fn subject(report: &RunReport) -> String {
    let word = match report.counts.overall() {
        Overall::Success => "Success",
        Overall::Warning => "WARNING",
        Overall::Error => "ERROR",
    };
    format!("{word} {} VmBackup.py", report.host)
}

/// The plain-text body.
pub fn body(report: &RunReport) -> String {
    let mut text = format!(
        "vmbackup on {}: {} to {}\n{}\n\n",
        report.host,
        report.started.strftime("%Y-%m-%d %H:%M:%S"),
        report.finished.strftime("%Y-%m-%d %H:%M:%S"),
        report.counts.ended_line()
    );
    if !report.results.is_empty() {
        text.push_str("STATUS   KIND             SIZE        TIME      VM\n");
    }
    for result in &report.results {
        let status = match result.outcome {
            VmOutcome::Success => "SUCCESS".to_owned(),
            VmOutcome::Warning => "WARNING".to_owned(),
            VmOutcome::Failed(_) => "ERROR".to_owned(),
        };
        let _ = writeln!(
            text,
            "{status:<8} {:<16} {:>10}  {:>8}  {}",
            result.kind.as_str(),
            human_size(result.size),
            human_duration(result.elapsed),
            result.vm
        );
        let why = match (result.outcome, &result.detail) {
            (VmOutcome::Failed(failure), Some(detail)) => {
                Some(format!("{}: {detail}", failure.as_str()))
            }
            (VmOutcome::Failed(failure), None) => Some(failure.as_str().to_owned()),
            (_, Some(detail)) => Some(detail.clone()),
            (_, None) => None,
        };
        if let Some(why) = why {
            let _ = writeln!(text, "         {why}");
        }
    }
    text
}

/// Sends the report through backup-core's [`Mailer`]. The password is read from its
/// source here, just before sending, and only handed to the SMTP client.
pub fn send_report(settings: &MailSettings, report: &RunReport) -> Result<()> {
    let auth = match (&settings.user, &settings.password) {
        (Some(user), Some(source)) => {
            let password = source
                .read()
                .map_err(|e| VmBackupError::mail("reading the SMTP password", e))?;
            Some(SmtpAuth::new(user.clone(), password.expose()))
        }
        _ => None,
    };
    let mailer = Mailer {
        from: settings.from.clone(),
        to: settings.to.clone(),
        server: settings.server.clone(),
        port: settings.port,
        starttls: settings.starttls,
        ca_file: settings.ca_file.clone(),
        auth,
    };
    mailer
        .send(&subject(report), &body(report))
        .map_err(|e| VmBackupError::mail(e.to_string(), e.into_source()))
}

/// `512 B`, `1.5 KiB`, `12.3 GiB`; `-` for nothing.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes == 0 {
        return "-".to_owned();
    }
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024 * 1024 && unit + 1 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    // One decimal, rounded, computed on integers (tenths of the unit).
    let tenths = (value * 10 + 512) / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `42s`, `14m05s`, `2h03m09s`.
fn human_duration(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JobKind;
    use crate::status_log::Failure;
    use jiff::civil::date;

    pub(crate) fn report(results: Vec<VmResult>) -> RunReport {
        RunReport {
            host: "xs1.example.org".into(),
            started: date(2026, 11, 22).at(2, 0, 0, 0),
            finished: date(2026, 11, 22).at(3, 12, 10, 0),
            counts: Counts::of(&results),
            results,
        }
    }

    #[test]
    fn subject_and_body_summarise_the_run() {
        let results = vec![
            VmResult {
                kind: JobKind::VmExport,
                vm: "web01".into(),
                outcome: VmOutcome::Success,
                elapsed: Duration::from_secs(845),
                size: 13_207_024_435,
                detail: None,
            },
            VmResult {
                kind: JobKind::VdiExport,
                vm: "DEV mySql".into(),
                outcome: VmOutcome::Failed(Failure::VdiExport),
                elapsed: Duration::from_secs(12),
                size: 0,
                detail: Some("No space left on device".into()),
            },
            VmResult {
                kind: JobKind::SkeletonExport,
                vm: "app".into(),
                outcome: VmOutcome::Warning,
                elapsed: Duration::from_secs(7449),
                size: 1536,
                detail: Some("snapshot OpaqueRef:9 could not be destroyed".into()),
            },
        ];
        let report = report(results);
        assert_eq!(subject(&report), "ERROR xs1.example.org VmBackup.py");
        assert_eq!(
            body(&report),
            "vmbackup on xs1.example.org: 2026-11-22 02:00:00 to 2026-11-22 03:12:10\n\
             VmBackup ended - **ERRORS DETECTED** - S:1 W:1 E:1\n\
             \n\
             STATUS   KIND             SIZE        TIME      VM\n\
             SUCCESS  vm-export          12.3 GiB    14m05s  web01\n\
             ERROR    vdi-export                -       12s  DEV mySql\n\
             \x20        VDI-EXPORT-FAIL: No space left on device\n\
             WARNING  skeleton-export     1.5 KiB  2h04m09s  app\n\
             \x20        snapshot OpaqueRef:9 could not be destroyed\n"
        );
        let empty = RunReport {
            counts: Counts::default(),
            ..report
        };
        assert_eq!(subject(&empty), "Success xs1.example.org VmBackup.py");
    }

    #[test]
    fn mail_on_failure_skips_clean_runs() {
        let mut settings = MailSettings {
            to: vec!["ops@example.org".parse().unwrap()],
            from: "backup@example.org".parse().unwrap(),
            server: "mail.example.org".into(),
            port: 587,
            starttls: true,
            user: None,
            password: None,
            ca_file: None,
            on: MailOn::Always,
        };
        assert!(settings.wanted(Overall::Success));
        settings.on = MailOn::Failure;
        assert!(!settings.wanted(Overall::Success));
        assert!(settings.wanted(Overall::Warning));
        assert!(settings.wanted(Overall::Error));
    }

    #[test]
    fn sizes_and_durations_read_well() {
        for (bytes, text) in [
            (0, "-"),
            (512, "512 B"),
            (1024, "1.0 KiB"),
            (1_047_552, "1023.0 KiB"),
            (1_048_575, "1024.0 KiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "16384.0 PiB"),
        ] {
            assert_eq!(human_size(bytes), text, "{bytes}");
        }
        assert_eq!(human_duration(Duration::from_secs(42)), "42s");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h00m00s");
    }
}
