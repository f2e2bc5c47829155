//! NAUbackup's status log and summary lines, byte for byte, so that monitoring written for
//! VmBackup.py keeps parsing them.
//!
//! The status log (`status_log=`, appended, one record per line):
//!
//! ```text
//! 2019/09/05 10:33:49,vmbackup.py,xs1,begin
//! 2019/09/05 10:33:50,vm-export,xs1,begin,web01
//! 2019/09/05 10:47:02,vm-export,xs1,end,SUCCESS web01,elapse:13 size:20G
//! 2019/09/05 10:47:03,vdi-export,xs1,begin,db01
//! 2019/09/05 10:47:09,vdi-export,xs1,end,VDI-EXPORT-FAIL db01
//! 2019/09/05 10:47:09,vmbackup.py,xs1,end,ERROR,S:1 W:0 E:1
//! ```
//!
//! - The time is the backup host's local time, `YYYY/MM/DD HH:MM:SS`; the host is
//!   `uname -n` up to its first dot ([`short_host_name`]).
//! - The second field is the job kind (`vm-export`, `vdi-export`, and our
//!   `metadata-export`, `skeleton-export`); `vmbackup.py` marks the run's own lines.
//! - `elapse` is whole minutes, `size` whole GiB (both rounded down, as VmBackup.py's
//!   Python 2 integer division).
//! - A VM name is written as is (commas included, as VmBackup.py does), except that
//!   control characters become `?` so that a record stays on one line.
//!
//! On standard output VmBackup.py prefixes its lines with `YYYY-MM-DD-(HH:MM:SS) - `
//! ([`stdout_prefix`]) and ends with `VmBackup ended - Success - S:x W:y E:z`
//! ([`Counts::ended_line`]).
//!
//! The formatting functions take the time as an argument; nothing here reads the clock.
//! The log is a rendering of backup-core's run events ([`StatusLog::record`]), its results
//! of the jobs' reports ([`VmResult::of`]).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::DateTime;

use crate::config::JobKind;
use crate::error::{Result, VmBackupError};

mod events;

pub use events::{NOT_STARTED, VmEvent, VmJobReport, error_of, local_time};

/// The tool field of the run's begin and end records.
pub const RUN_FIELD: &str = "vmbackup.py";

/// The status-log time: `2019/09/05 10:33:49`.
pub fn log_timestamp(at: DateTime) -> String {
    at.strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// VmBackup.py's standard-output prefix: `2019-09-05-(10:33:49) - `.
pub fn stdout_prefix(at: DateTime) -> String {
    at.strftime("%Y-%m-%d-(%H:%M:%S) - ").to_string()
}

/// The host name as the status log writes it: the node name up to its first dot.
pub fn short_host_name(node_name: &str) -> &str {
    node_name.split('.').next().unwrap_or(node_name)
}

/// This machine's node name (`uname -n`).
pub fn node_name() -> Result<String> {
    let path = "/proc/sys/kernel/hostname";
    std::fs::read_to_string(path)
        .map(|name| name.trim_end().to_owned())
        .map_err(|e| VmBackupError::io(format!("reading the host name from `{path}`"), e))
}

/// Why a VM's backup failed: VmBackup.py's status words, plus ours for the kinds it does
/// not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The VM was not found, or its name is not unique: `ERROR verify_vm_name`.
    VerifyVmName,
    /// The VM record has no uuid: `ERROR vm-uuid not found`.
    VmUuidNotFound,
    /// `SNAPSHOT-FAIL`.
    Snapshot,
    /// Clearing `is_a_template` / `ha_always_run` on the snapshot: `TEMPLATE-PARAM-SET-FAIL`.
    TemplateParamSet,
    /// Streaming or writing the XVA: `VM-EXPORT-FAIL`.
    VmExport,
    /// Removing a leftover snapshot before the backup: `VM-UNINSTALL-FAIL-1`.
    VmUninstall,
    /// Listing the VM's boot disk: `VDI-LIST-FAIL`.
    VdiList,
    /// The VM has no boot disk (`xvda`): `ERROR xvda-uuid not found`.
    XvdaUuidNotFound,
    /// The boot disk has no name: `ERROR xvda-name-label not found`.
    XvdaNameLabelNotFound,
    /// `VDI-SNAPSHOT-FAIL`.
    VdiSnapshot,
    /// Naming the disk snapshot: `VDI-PARAM-SET-FAIL`.
    VdiParamSet,
    /// Streaming or writing the disk: `VDI-EXPORT-FAIL`.
    VdiExport,
    /// Ours: streaming or writing the metadata: `METADATA-EXPORT-FAIL`.
    MetadataExport,
    /// Ours: building the skeleton VM (disks, VIFs): `SKELETON-BUILD-FAIL`.
    SkeletonBuild,
    /// Ours: copying the disks to the backup SR: `BACKUP-SR-COPY-FAIL`.
    BackupSrCopy,
}

impl Failure {
    /// The status word(s) of the end record.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::VerifyVmName => "ERROR verify_vm_name",
            Failure::VmUuidNotFound => "ERROR vm-uuid not found",
            Failure::Snapshot => "SNAPSHOT-FAIL",
            Failure::TemplateParamSet => "TEMPLATE-PARAM-SET-FAIL",
            Failure::VmExport => "VM-EXPORT-FAIL",
            Failure::VmUninstall => "VM-UNINSTALL-FAIL-1",
            Failure::VdiList => "VDI-LIST-FAIL",
            Failure::XvdaUuidNotFound => "ERROR xvda-uuid not found",
            Failure::XvdaNameLabelNotFound => "ERROR xvda-name-label not found",
            Failure::VdiSnapshot => "VDI-SNAPSHOT-FAIL",
            Failure::VdiParamSet => "VDI-PARAM-SET-FAIL",
            Failure::VdiExport => "VDI-EXPORT-FAIL",
            Failure::MetadataExport => "METADATA-EXPORT-FAIL",
            Failure::SkeletonBuild => "SKELETON-BUILD-FAIL",
            Failure::BackupSrCopy => "BACKUP-SR-COPY-FAIL",
        }
    }
}

/// How a VM's backup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmOutcome {
    /// Backed up.
    Success,
    /// Backed up, with something to look at (a snapshot that could not be removed, an
    /// incomplete older backup).
    Warning,
    /// Not backed up.
    Failed(Failure),
}

/// The result of one VM's backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmResult {
    /// The kind of backup.
    pub kind: JobKind,
    /// The VM's name.
    pub vm: String,
    /// How it ended.
    pub outcome: VmOutcome,
    /// Time taken.
    pub elapsed: Duration,
    /// Bytes written (0 when failed).
    pub size: u64,
    /// The error or warning text, for reports.
    pub detail: Option<String>,
}

impl VmResult {
    /// The status of the end record: `SUCCESS web01,elapse:13 size:20G`, `WARNING …`, or
    /// the failure words and the name (`VM-EXPORT-FAIL web01`).
    pub fn end_status(&self) -> String {
        let vm = one_line(&self.vm);
        let measured = |word: &str| {
            format!(
                "{word} {vm},elapse:{} size:{}G",
                self.elapsed.as_secs() / 60,
                self.size >> 30
            )
        };
        match self.outcome {
            VmOutcome::Success => measured("SUCCESS"),
            VmOutcome::Warning => measured("WARNING"),
            VmOutcome::Failed(failure) => format!("{} {vm}", failure.as_str()),
        }
    }
}

/// The overall result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every VM succeeded.
    Success,
    /// No errors, some warnings.
    Warning,
    /// Some errors.
    Error,
}

impl Overall {
    /// `SUCCESS`, `WARNING` or `ERROR`, as in the run's end record.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Success => "SUCCESS",
            Overall::Warning => "WARNING",
            Overall::Error => "ERROR",
        }
    }
}

/// VmBackup.py's success, warning and error counters. A failure outside any VM (the pool
/// database dump) counts as an error too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// VMs backed up.
    pub success: usize,
    /// VMs backed up with a warning.
    pub warning: usize,
    /// Failures.
    pub error: usize,
}

impl Counts {
    /// The counts of these results.
    pub fn of(results: &[VmResult]) -> Counts {
        let mut counts = Counts::default();
        for result in results {
            match result.outcome {
                VmOutcome::Success => counts.success += 1,
                VmOutcome::Warning => counts.warning += 1,
                VmOutcome::Failed(_) => counts.error += 1,
            }
        }
        counts
    }

    /// Error if any error, else warning if any warning, else success.
    pub fn overall(&self) -> Overall {
        if self.error > 0 {
            Overall::Error
        } else if self.warning > 0 {
            Overall::Warning
        } else {
            Overall::Success
        }
    }

    /// `S:3 W:0 E:1`.
    pub fn summary(&self) -> String {
        format!("S:{} W:{} E:{}", self.success, self.warning, self.error)
    }

    /// The last line VmBackup.py prints: `VmBackup ended - Success - S:3 W:0 E:0`,
    /// `… - **WARNING(s)** - …` or `… - **ERRORS DETECTED** - …`.
    pub fn ended_line(&self) -> String {
        let word = match self.overall() {
            Overall::Success => "Success",
            Overall::Warning => "**WARNING(s)**",
            Overall::Error => "**ERRORS DETECTED**",
        };
        format!("VmBackup ended - {word} - {}", self.summary())
    }
}

/// `<time>,vmbackup.py,<host>,begin`.
pub fn run_begin_line(at: DateTime, host: &str) -> String {
    format!("{},{RUN_FIELD},{host},begin", log_timestamp(at))
}

/// `<time>,vmbackup.py,<host>,end,<SUCCESS|WARNING|ERROR>,S:x W:y E:z`.
pub fn run_end_line(at: DateTime, host: &str, counts: &Counts) -> String {
    format!(
        "{},{RUN_FIELD},{host},end,{},{}",
        log_timestamp(at),
        counts.overall().as_str(),
        counts.summary()
    )
}

/// `<time>,<kind>,<host>,begin,<vm>`.
pub fn vm_begin_line(at: DateTime, host: &str, kind: JobKind, vm: &str) -> String {
    format!("{},{kind},{host},begin,{}", log_timestamp(at), one_line(vm))
}

/// `<time>,<kind>,<host>,end,<status>` (see [`VmResult::end_status`]).
pub fn vm_end_line(at: DateTime, host: &str, result: &VmResult) -> String {
    format!(
        "{},{},{host},end,{}",
        log_timestamp(at),
        result.kind,
        result.end_status()
    )
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// An append-only status log. Each record is appended with one `write` on a file opened
/// for appending, as VmBackup.py does, so concurrent jobs do not interleave records.
#[derive(Debug, Clone)]
pub struct StatusLog {
    path: PathBuf,
    host: String,
}

impl StatusLog {
    /// The log at `path`, for records of host `host` (already shortened). Nothing is opened
    /// until the first record.
    pub fn new(path: impl Into<PathBuf>, host: impl Into<String>) -> Self {
        StatusLog {
            path: path.into(),
            host: host.into(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the run's begin record.
    pub fn run_begin(&self, at: DateTime) -> Result<()> {
        self.append(&run_begin_line(at, &self.host))
    }

    /// Appends the run's end record.
    pub fn run_end(&self, at: DateTime, counts: &Counts) -> Result<()> {
        self.append(&run_end_line(at, &self.host, counts))
    }

    /// Appends a VM's begin record.
    pub fn vm_begin(&self, at: DateTime, kind: JobKind, vm: &str) -> Result<()> {
        self.append(&vm_begin_line(at, &self.host, kind, vm))
    }

    /// Appends a VM's end record.
    pub fn vm_end(&self, at: DateTime, result: &VmResult) -> Result<()> {
        self.append(&vm_end_line(at, &self.host, result))
    }

    fn append(&self, record: &str) -> Result<()> {
        let error = |e| {
            VmBackupError::io(
                format!("appending to the status log `{}`", self.path.display()),
                e,
            )
        };
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(error)?;
        file.write_all(format!("{record}\n").as_bytes())
            .map_err(error)
    }
}

#[cfg(test)]
mod tests;
