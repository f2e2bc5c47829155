//! The configuration of a run: NAUbackup's `key=value` file (or VmBackup.py's vm-selector
//! argument), read as data. The format, every key and every difference from NAUbackup are
//! described in the [crate documentation](crate#the-configuration-file).

mod groups;
pub mod ovirt;
mod parse;
mod values;

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};

use backup_core::store::{DigestKind, FileMode};
use cli_common::SecretSource;
use disk_image::ImageFormat;
use disk_image::compress::Compression;
use retention::{KeepCount, Policy};

use crate::error::{Issue, Location, Result, VmBackupError};
use crate::mail::MailSettings;
use crate::pattern::Selector;

/// NAUbackup's default `backup_dir`.
pub const DEFAULT_BACKUP_DIR: &str = "/snapshots/BACKUPS";
/// NAUbackup's default `status_log`.
pub const DEFAULT_STATUS_LOG: &str = "/snapshots/NAUbackup/status.log";
/// NAUbackup's default `max_backups`, used when no retention key is given.
pub const DEFAULT_MAX_BACKUPS: u32 = 4;
/// The default `user`.
pub const DEFAULT_USER: &str = "root";

/// Everything a run needs to know, with NAUbackup's defaults filled in.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration file, or `None` for a vm-selector (NAUbackup writes its status log
    /// only when a configuration file is used).
    pub config_file: Option<PathBuf>,
    /// The selection rules (`vm-export=`, `vdi-export=`, `metadata-export=`,
    /// `skeleton-export=`, `exclude=`) in line order; see
    /// [`resolve`](crate::selection::resolve).
    pub rules: Vec<Rule>,
    /// Where backups go (`backup_dir`).
    pub backup_dir: PathBuf,
    /// NAUbackup's status log (`status_log`).
    pub status_log: PathBuf,
    /// The format of vdi-export disks (`vdi_export_format`).
    pub vdi_export_format: ImageFormat,
    /// Dump the pool database too (`pool_db_backup=1`).
    pub pool_db_backup: bool,
    /// Ask XAPI to gzip vm-exports on the host (`compress=true`, `use_compression=true`).
    pub compress: bool,
    /// The pool master's URL (`host`), `https://` unless written otherwise.
    pub host: Option<String>,
    /// The XAPI user (`user`).
    pub user: String,
    /// Where the XAPI password comes from (`password_file`, `password_file_base64`);
    /// `None` leaves the choice (environment, prompt) to the caller.
    pub password: Option<SecretSource>,
    /// Which TLS certificates to trust (`tls_fingerprint`, `tls_ca_file`, `tls_insecure`).
    pub tls: TlsChoice,
    /// The digest recorded in the manifest of every backup file (`checksum`).
    pub checksum: DigestKind,
    /// Compression done by vmbackup on the backup files (`compression`).
    pub compression: Compression,
    /// The permissions of backup files and folders and pool database dumps (`file_mode`).
    pub file_mode: FileMode,
    /// How many VMs are backed up at the same time (`concurrency`).
    pub concurrency: NonZeroUsize,
    /// vdi-export every disk of the VM, not only its boot disk (`all_disks`).
    pub all_disks: bool,
    /// The SR backup-sr-exports copy disks to (`backup_sr`): its name or uuid.
    pub backup_sr: Option<String>,
    /// The e-mail report, when `mail_to` is given.
    pub mail: Option<MailSettings>,
    /// The retention policy for every VM (`max_backups`, `keep_*`, `max_age_days`); a
    /// rule's `:N` replaces its `keep_last` ([`Config::policy_for`]).
    pub retention: Policy,
    /// The platform backed up (`platform=`, or oVirt when `engine=` is given).
    pub platform: Platform,
    /// The engine and the oVirt settings, when the platform is oVirt.
    pub ovirt: Option<OvirtSettings>,
    /// Warnings found while reading (ignored keys and settings, empty selectors, clear-text
    /// passwords), each with its line.
    pub warnings: Vec<Issue>,
}

/// A selection rule: one `vm-export=`, `vdi-export=`, `metadata-export=`,
/// `skeleton-export=` or `exclude=` line.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What the rule does with the VMs it matches.
    pub action: RuleAction,
    /// Which VMs it matches.
    pub selector: Selector,
    /// The `:N` suffix: how many backups to keep of each VM it selects.
    pub keep: Option<NonZeroU32>,
    /// Where it was written.
    pub at: Location,
}

/// What a [`Rule`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Back the matched VMs up this way.
    Export(JobKind),
    /// Never back the matched VMs up (`exclude=`), whatever the order of the lines.
    Exclude,
}

/// How a VM is backed up. The variants are in precedence order: when rules of several
/// kinds select the same VM, the first kind in this order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// `vdi-export`: the boot disk (or every disk, with `all_disks`) as a raw or VHD file.
    VdiExport,
    /// `skeleton-export` (TINABS): system disk plus empty data disks, as one XVA.
    SkeletonExport,
    /// `backup-sr-export` (TINABS 2.0): the system disk copied to the backup SR
    /// (`backup_sr`), data disks recreated blank there, the VM's metadata in the backup.
    BackupSrExport,
    /// `vm-export`: the whole VM as an XVA.
    VmExport,
    /// `metadata-export`: the VM's metadata only.
    MetadataExport,
}

impl JobKind {
    /// Every kind, in precedence order.
    pub const ALL: [JobKind; 5] = [
        JobKind::VdiExport,
        JobKind::SkeletonExport,
        JobKind::BackupSrExport,
        JobKind::VmExport,
        JobKind::MetadataExport,
    ];

    /// The configuration key, also the kind field of the status log (`vm-export`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::VdiExport => "vdi-export",
            JobKind::SkeletonExport => "skeleton-export",
            JobKind::BackupSrExport => "backup-sr-export",
            JobKind::VmExport => "vm-export",
            JobKind::MetadataExport => "metadata-export",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use cli_common::TlsChoice;
pub use ovirt::{ApplianceBus, ModeRule, OvirtLayout, OvirtSettings, Platform, ReadMode};

/// VmBackup.py's command-line settings that also exist as keys (`compress=`,
/// `ignore_extra_keys=`, `pre_clean=`); they win over the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `compress=True|False`.
    pub compress: Option<bool>,
    /// `ignore_extra_keys=True|False`.
    pub ignore_extra_keys: Option<bool>,
    /// `pre_clean=True|False` (accepted, and warned about: see the crate docs).
    pub pre_clean: Option<bool>,
}

impl Overrides {
    /// Reads one of VmBackup.py's optional arguments, `key=value` with a case-insensitive
    /// key (`compress=True`). The error says what is wrong.
    pub fn set_from_arg(&mut self, arg: &str) -> Result<(), String> {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("`{arg}` is not key=value"));
        };
        let value = values::boolean(value.trim())?;
        match key.trim().to_ascii_lowercase().as_str() {
            "compress" => self.compress = Some(value),
            "ignore_extra_keys" => self.ignore_extra_keys = Some(value),
            "pre_clean" => self.pre_clean = Some(value),
            other => return Err(format!("unknown parameter `{other}`")),
        }
        Ok(())
    }
}

impl Config {
    /// Reads a configuration file. Relative paths in it are relative to its directory.
    /// Every error found is reported, each with the file and the line.
    /// The file must be a regular file of at most 1 MiB ([`cli_common::files::CONFIG_LIMIT`]):
    /// a device, a FIFO or a larger file is a configuration error naming the path.
    pub fn load(path: &Path, overrides: Overrides) -> Result<Config> {
        let limit = cli_common::files::CONFIG_LIMIT;
        let bytes = cli_common::files::open_limited(path, limit)
            .and_then(|mut file| cli_common::files::read_limited(&mut file, limit))
            .map_err(|e| VmBackupError::Config {
                issues: vec![Issue::new(
                    Location::CommandLine,
                    format!(
                        "cannot read the configuration file `{}`: {e}",
                        path.display()
                    ),
                )],
            })?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = before.split(|&b| b == b'\n').count();
                return Err(VmBackupError::Config {
                    issues: vec![Issue::new(
                        Location::Line {
                            file: path.to_owned(),
                            line,
                        },
                        "not UTF-8 text",
                    )],
                });
            }
        };
        let base = path.parent().unwrap_or(Path::new(""));
        Config::parse(&text, path, base, overrides)
    }

    /// Reads configuration text as if it came from the file `file`; relative paths are
    /// joined to `base`.
    pub fn parse(text: &str, file: &Path, base: &Path, overrides: Overrides) -> Result<Config> {
        parse::parse_file(text, file, base, overrides)
    }

    /// The configuration VmBackup.py builds from a vm-selector argument instead of a file:
    /// `NAME-or-regex` (a vm-export), `vm-export=SEL`, `vdi-export=SEL`,
    /// `metadata-export=SEL` or `skeleton-export=SEL`, each with an optional `:N`; every
    /// other setting at its default.
    pub fn from_selector(selector: &str, overrides: Overrides) -> Result<Config> {
        parse::parse_selector(selector, overrides)
    }

    /// Sets the pool master (an oVirt configuration's engine) from the command line
    /// (`--host`): checked as `host=` is, with the same clear-text warning for `http://`.
    pub fn set_host(&mut self, value: &str) -> Result<()> {
        let (url, plain) = values::host_url(value).map_err(|message| VmBackupError::Config {
            issues: vec![Issue::new(
                Location::CommandLine,
                format!("--host: {message}"),
            )],
        })?;
        if plain {
            let whose = if self.ovirt.is_some() {
                "oVirt"
            } else {
                "XAPI"
            };
            self.warnings.push(Issue::new(
                Location::CommandLine,
                format!("--host http:// sends the {whose} password in clear text"),
            ));
        }
        match &mut self.ovirt {
            // An oVirt configuration's host is its engine.
            Some(ovirt) => ovirt.engine = url,
            None => self.host = Some(url),
        }
        Ok(())
    }

    /// Pins the host's certificate from the command line (`--tls-fingerprint`), each
    /// fingerprint checked as `tls_fingerprint=` is.
    pub fn set_tls_fingerprints(&mut self, prints: &[String]) -> Result<()> {
        let issues: Vec<Issue> = prints
            .iter()
            .filter_map(|p| values::fingerprint(p).err())
            .map(|message| {
                Issue::new(
                    Location::CommandLine,
                    format!("--tls-fingerprint: {message}"),
                )
            })
            .collect();
        if !issues.is_empty() {
            return Err(VmBackupError::Config { issues });
        }
        self.tls = TlsChoice::Pinned(prints.to_vec());
        Ok(())
    }

    /// The retention policy of a VM whose rule says `keep` (its `:N`): the configured
    /// policy with `keep_last` replaced by `keep` when there is one.
    pub fn policy_for(&self, keep: Option<NonZeroU32>) -> Policy {
        let mut policy = self.retention.clone();
        if let Some(keep) = keep {
            policy.keep_last = KeepCount::Count(keep.get());
        }
        policy
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ovirt_tests;
