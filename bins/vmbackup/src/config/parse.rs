//! The line reader and the key dispatcher: every line becomes a rule or a setting, every
//! problem an [`Issue`] at its line; then the settings are parsed, checked together (see
//! `groups`) and assembled into a [`Config`].

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;

use super::ovirt::{
    DEFAULT_OVIRT_BACKUP_DIR, DEFAULT_OVIRT_USER, ModeRule, OVIRT_SCALAR_KEYS, Platform, ReadMode,
    SEED_ALIASES, SEED_IGNORED,
};
use super::values::{boolean, fingerprint, host_url, positive, split_keep};
use super::{
    Config, DEFAULT_BACKUP_DIR, DEFAULT_STATUS_LOG, DEFAULT_USER, JobKind, Overrides, Rule,
    RuleAction,
};
use crate::error::{Issue, Location, Result, VmBackupError};
use crate::pattern::Selector;
use crate::tag::TagSelector;
use backup_core::store::{DigestKind, FileMode};
use disk_image::ImageFormat;

/// Keys that may appear once. `keep_last` is another name for `max_backups`.
const SCALAR_KEYS: &[&str] = &[
    "pool_db_backup",
    "max_backups",
    "backup_dir",
    "status_log",
    "vdi_export_format",
    "compress",
    "pre_clean",
    "ignore_extra_keys",
    "host",
    "user",
    "password_file",
    "password_file_base64",
    "tls_ca_file",
    "tls_insecure",
    "checksum",
    "compression",
    "concurrency",
    "file_mode",
    "all_disks",
    "backup_sr",
    "mail_from",
    "smtp_server",
    "smtp_user",
    "smtp_password_file",
    "smtp_ca_file",
    "smtp_starttls",
    "mail_on",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
    "keep_within",
    "keep_within_hourly",
    "keep_within_daily",
    "keep_within_weekly",
    "keep_within_monthly",
    "keep_within_yearly",
    "max_age_days",
];

/// Keys of the e-mail report other than `mail_to`.
pub(super) const MAIL_KEYS: &[&str] = &[
    "mail_from",
    "smtp_server",
    "smtp_user",
    "smtp_password_file",
    "smtp_ca_file",
    "smtp_starttls",
    "mail_on",
];

/// What a key is.
enum Key {
    Scalar(&'static str),
    Rule(RuleAction),
    MailTo,
    Fingerprint,
    /// oVirtSimpleBackup's `vms_to_backup`: a list of vm-exports.
    SeedVms,
    /// `appliance_mode=SEL`, `imageio_mode=SEL`.
    Mode(ReadMode),
    /// A seed key read and ignored, and why.
    Ignored(&'static str),
    /// A seed key refused, and why.
    Refused(&'static str),
}

fn key_kind(key: &str) -> Option<Key> {
    if key == "keep_last" {
        return Some(Key::Scalar("max_backups"));
    }
    if let Some(&(_, ours)) = SEED_ALIASES.iter().find(|(seed, _)| *seed == key) {
        return key_kind(ours);
    }
    if let Some(&(_, why)) = SEED_IGNORED.iter().find(|(seed, _)| *seed == key) {
        return Some(Key::Ignored(why));
    }
    match key {
        "email" => return Some(Key::MailTo),
        "vms_to_backup" => return Some(Key::SeedVms),
        "appliance_mode" => return Some(Key::Mode(ReadMode::Appliance)),
        "imageio_mode" => return Some(Key::Mode(ReadMode::Imageio)),
        "ovirt_pass" => {
            return Some(Key::Refused(
                "a password never goes in the configuration: write it to a file and set password_file= (or use VMBACKUP_PASSWORD)",
            ));
        }
        _ => {}
    }
    if let Some(kind) = JobKind::ALL.into_iter().find(|k| k.as_str() == key) {
        return Some(Key::Rule(RuleAction::Export(kind)));
    }
    match key {
        "exclude" => Some(Key::Rule(RuleAction::Exclude)),
        "mail_to" => Some(Key::MailTo),
        "tls_fingerprint" => Some(Key::Fingerprint),
        _ => SCALAR_KEYS
            .iter()
            .chain(OVIRT_SCALAR_KEYS)
            .find(|&&k| k == key)
            .map(|&k| Key::Scalar(k)),
    }
}

/// A known key that `key` is probably a misspelling of (case, `_` for `-` or the reverse).
fn suggestion(key: &str) -> Option<String> {
    let normal = |k: &str| k.to_ascii_lowercase().replace('-', "_");
    let all = SCALAR_KEYS
        .iter()
        .chain(OVIRT_SCALAR_KEYS)
        .copied()
        .chain(SEED_ALIASES.iter().map(|(seed, _)| *seed))
        .chain(JobKind::ALL.iter().map(|k| k.as_str()).chain([
            "exclude",
            "mail_to",
            "tls_fingerprint",
            "keep_last",
            "vms_to_backup",
            "appliance_mode",
            "imageio_mode",
            "email",
        ]));
    all.into_iter()
        .find(|k| normal(k) == normal(key))
        .map(str::to_owned)
}

/// Reads a configuration file's text.
pub(super) fn parse_file(
    text: &str,
    file: &Path,
    base: &Path,
    overrides: Overrides,
) -> Result<Config> {
    let mut reader = Reader::new(Some(file.to_owned()), Some(base.to_owned()));
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let at = Location::Line {
            file: file.to_owned(),
            line: index + 1,
        };
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                entries.push((at, key.trim(), value.trim()));
            }
            _ => reader.error(at, format!("`{line}` is not key=value")),
        }
    }
    // Unknown keys are errors unless ignore_extra_keys is true, wherever it is set.
    let ignore_extra = overrides.ignore_extra_keys.unwrap_or_else(|| {
        entries
            .iter()
            .any(|(_, key, value)| *key == "ignore_extra_keys" && boolean(value) == Ok(true))
    });
    for (at, key, value) in entries {
        reader.entry(at, key, value, ignore_extra);
    }
    reader.finish(overrides)
}

/// Reads VmBackup.py's vm-selector argument.
pub(super) fn parse_selector(selector: &str, overrides: Overrides) -> Result<Config> {
    let mut reader = Reader::new(None, None);
    let at = Location::CommandLine;
    match selector.split_once('=') {
        Some((key, value)) => match key_kind(key) {
            Some(Key::Rule(action @ RuleAction::Export(_))) => {
                reader.rule(at, action, key, value.trim());
            }
            _ if key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                reader.error(
                    at,
                    format!(
                        "`{key}=` is not a vm-selector form (use NAME-or-regex, vm-export=, vdi-export=, metadata-export= or skeleton-export=)"
                    ),
                );
            }
            _ => reader.rule(
                at,
                RuleAction::Export(JobKind::VmExport),
                "vm-export",
                selector,
            ),
        },
        None => reader.rule(
            at,
            RuleAction::Export(JobKind::VmExport),
            "vm-export",
            selector.trim(),
        ),
    }
    reader.finish(overrides)
}

/// The state of a read: rules and raw settings so far, and the problems found.
pub(super) struct Reader {
    pub(super) file: Option<PathBuf>,
    pub(super) base: Option<PathBuf>,
    pub(super) errors: Vec<Issue>,
    pub(super) warnings: Vec<Issue>,
    /// Canonical key → where it was set, the key as written, and the value.
    pub(super) scalars: BTreeMap<&'static str, (Location, String, String)>,
    pub(super) rules: Vec<Rule>,
    pub(super) mail_to: Vec<(Location, Mailbox)>,
    pub(super) fingerprints: Vec<(Location, String)>,
    /// Per-VM modes (oVirt).
    pub(super) mode_rules: Vec<ModeRule>,
}

impl Reader {
    fn new(file: Option<PathBuf>, base: Option<PathBuf>) -> Self {
        Reader {
            file,
            base,
            errors: Vec::new(),
            warnings: Vec::new(),
            scalars: BTreeMap::new(),
            rules: Vec::new(),
            mail_to: Vec::new(),
            fingerprints: Vec::new(),
            mode_rules: Vec::new(),
        }
    }

    pub(super) fn error(&mut self, at: Location, message: impl Into<String>) {
        self.errors.push(Issue::new(at, message));
    }

    pub(super) fn warn(&mut self, at: Location, message: impl Into<String>) {
        self.warnings.push(Issue::new(at, message));
    }

    fn entry(&mut self, at: Location, key: &str, value: &str, ignore_extra: bool) {
        match key_kind(key) {
            Some(Key::Rule(action)) => self.rule(at, action, key, value),
            Some(Key::SeedVms) => {
                for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    self.rule(
                        at.clone(),
                        RuleAction::Export(JobKind::VmExport),
                        "vms_to_backup",
                        name,
                    );
                }
            }
            Some(Key::Mode(mode)) => self.mode_rule(at, mode, key, value),
            Some(Key::Ignored(why)) => self.warn(at, format!("`{key}` ignored: {why}")),
            Some(Key::Refused(why)) => self.error(at, format!("`{key}`: {why}")),
            Some(Key::MailTo) => {
                for address in value.split(',').map(str::trim) {
                    match address.parse::<Mailbox>() {
                        Ok(mailbox) => self.mail_to.push((at.clone(), mailbox)),
                        Err(e) => self.error(
                            at.clone(),
                            format!("mail_to: `{address}` is not an e-mail address ({e})"),
                        ),
                    }
                }
            }
            Some(Key::Fingerprint) => {
                for pin in value.split(',').map(str::trim) {
                    match fingerprint(pin) {
                        Ok(pin) => self.fingerprints.push((at.clone(), pin)),
                        Err(e) => self.error(at.clone(), format!("tls_fingerprint: {e}")),
                    }
                }
            }
            Some(Key::Scalar(canonical)) => {
                if let Some((first, first_key, _)) = self.scalars.get(canonical) {
                    let same = if first_key == key {
                        String::new()
                    } else {
                        format!(" (`{first_key}` and `{key}` are the same setting)")
                    };
                    let message = format!(
                        "`{key}` is set twice, on {first} and here{same}: a setting may appear only once"
                    );
                    self.error(at, message);
                } else {
                    let entry = (at, key.to_owned(), value.to_owned());
                    self.scalars.insert(canonical, entry);
                }
            }
            None => {
                let hint = suggestion(key)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                if ignore_extra {
                    self.warn(at, format!("unknown key `{key}` ignored{hint}"));
                } else {
                    self.error(
                        at,
                        format!("unknown key `{key}`{hint} (ignore_extra_keys=true makes unknown keys warnings)"),
                    );
                }
            }
        }
    }

    fn rule(&mut self, at: Location, action: RuleAction, key: &str, value: &str) {
        if value.is_empty() {
            if action == RuleAction::Export(JobKind::VmExport) {
                self.error(
                    at,
                    "empty `vm-export=`: NAUbackup selected every VM; write `vm-export=.*` for that",
                );
            } else {
                self.warn(at, format!("empty `{key}=` ignored"));
            }
            return;
        }
        // `tag:NAME[:N]` (TINABS): the `:N` is looked for after the prefix.
        let tag = value.strip_prefix(TagSelector::PREFIX);
        let (text, keep) = match split_keep(tag.unwrap_or(value)) {
            Ok(split) => split,
            Err(e) => return self.error(at, format!("{key}={value}: {e}")),
        };
        if tag.is_some() {
            return self.tag_rule(at, action, key, value, text, keep);
        }
        if text.is_empty() {
            return self.error(
                at,
                format!("{key}={value}: no VM name or pattern before `:`"),
            );
        }
        if action == RuleAction::Exclude && keep.is_some() {
            return self.error(at, format!("{key}={value}: `:N` has no meaning on exclude"));
        }
        match Selector::parse(text) {
            Ok(selector) => self.rules.push(Rule {
                action,
                selector,
                keep,
                at,
            }),
            Err(e) => self.error(at, format!("{key}: {e}")),
        }
    }

    /// A per-VM mode rule (oVirt): a name, pattern or `tag:` without `:N`.
    fn mode_rule(&mut self, at: Location, mode: ReadMode, key: &str, value: &str) {
        let selector = match value.strip_prefix(TagSelector::PREFIX) {
            Some(tag) => TagSelector::parse(tag).map(Selector::Tag),
            None if value.is_empty() => Err("no VM name or pattern".to_owned()),
            None => Selector::parse(value),
        };
        match selector {
            Ok(selector) => self.mode_rules.push(ModeRule { mode, selector, at }),
            Err(e) => self.error(at, format!("{key}={value}: {e}")),
        }
    }

    /// A `tag:` rule, its `:N` split off.
    fn tag_rule(
        &mut self,
        at: Location,
        action: RuleAction,
        key: &str,
        value: &str,
        name: &str,
        keep: Option<std::num::NonZeroU32>,
    ) {
        if action == RuleAction::Exclude && keep.is_some() {
            return self.error(at, format!("{key}={value}: `:N` has no meaning on exclude"));
        }
        match TagSelector::parse(name) {
            Ok(tag) => {
                if tag.is_number() {
                    let message = format!(
                        "{key}={value} selects the VMs tagged `{name}`; NAUbackup read it as the VM named `tag` (for that, write `^tag$:{name}`)"
                    );
                    self.warn(at.clone(), message);
                }
                self.rules.push(Rule {
                    action,
                    selector: Selector::Tag(tag),
                    keep,
                    at,
                });
            }
            Err(e) => self.error(at, format!("{key}={value}: {e}")),
        }
    }

    /// Removes a setting and parses its value; a parse error is recorded.
    pub(super) fn take<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<(Location, T)> {
        let (at, written, value) = self.scalars.remove(key)?;
        if value.is_empty() {
            self.error(at, format!("`{written}` has no value"));
            return None;
        }
        match parse(&value) {
            Ok(parsed) => Some((at, parsed)),
            Err(e) => {
                self.error(at, format!("{written}: {e}"));
                None
            }
        }
    }

    /// A setting that is a path; relative paths are joined to the configuration's
    /// directory.
    pub(super) fn path(&mut self, key: &'static str) -> Option<(Location, PathBuf)> {
        let base = self.base.clone();
        self.take(key, |value| {
            let path = PathBuf::from(value);
            Ok(match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path,
            })
        })
    }

    pub(super) fn flag(&mut self, key: &'static str) -> Option<(Location, bool)> {
        self.take(key, boolean)
    }

    /// The platform's own settings: XAPI's `compress` and `host`, or the oVirt settings;
    /// the other platform's keys refused.
    fn platform_settings(
        &mut self,
        platform: Platform,
        overrides: Overrides,
    ) -> (
        bool,
        disk_image::compress::Compression,
        Option<String>,
        Option<super::OvirtSettings>,
    ) {
        match platform {
            Platform::XenServer => {
                self.refuse_ovirt_keys();
                let (compress, compression) = self.compression(overrides);
                let host = self.take("host", host_url).map(|(at, (url, plain))| {
                    if plain {
                        self.warn(at, "http:// sends the XAPI password in clear text");
                    }
                    url
                });
                (compress, compression, host, None)
            }
            Platform::Ovirt => {
                self.refuse_xapi_keys();
                if overrides.compress == Some(true) {
                    self.error(
                        Location::CommandLine,
                        "compress=True is XAPI's host-side gzip: set compression= for oVirt",
                    );
                }
                let compression = self.ovirt_compression();
                (false, compression, None, self.ovirt())
            }
        }
    }

    fn finish(mut self, overrides: Overrides) -> Result<Config> {
        let _ = self.flag("ignore_extra_keys");
        self.pre_clean(overrides);
        let platform = self.platform();
        let (compress, compression, host, ovirt) = self.platform_settings(platform, overrides);
        let (default_dir, default_user) = match platform {
            Platform::XenServer => (DEFAULT_BACKUP_DIR, DEFAULT_USER),
            Platform::Ovirt => (DEFAULT_OVIRT_BACKUP_DIR, DEFAULT_OVIRT_USER),
        };
        let password = self.password();
        let tls = self.tls();
        let mail = self.mail();
        let retention = self.retention();
        let config = Config {
            config_file: self.file.clone(),
            backup_dir: self
                .path("backup_dir")
                .map_or_else(|| default_dir.into(), |(_, p)| p),
            status_log: self
                .path("status_log")
                .map_or_else(|| DEFAULT_STATUS_LOG.into(), |(_, p)| p),
            vdi_export_format: self
                .take("vdi_export_format", |v| match v {
                    "raw" => Ok(ImageFormat::Raw),
                    "vhd" => Ok(ImageFormat::Vhd),
                    _ => Err(format!("`{v}` is not raw or vhd")),
                })
                .map(|(_, f)| f)
                .unwrap_or_default(),
            pool_db_backup: self
                .take("pool_db_backup", |v| match v {
                    "0" => Ok(false),
                    "1" => Ok(true),
                    _ => Err(format!("`{v}` is not 0 or 1")),
                })
                .is_some_and(|(_, on)| on),
            compress,
            host,
            user: self
                .take("user", |v| Ok(v.to_owned()))
                .map_or_else(|| default_user.to_owned(), |(_, u)| u),
            password,
            tls,
            checksum: self
                .take("checksum", |v| {
                    v.parse::<DigestKind>()
                        .map_err(|_| format!("`{v}` is not xxh64 or sha256"))
                })
                .map(|(_, d)| d)
                .unwrap_or_default(),
            compression,
            concurrency: self
                .take("concurrency", positive)
                .map_or(NonZeroUsize::MIN, |(_, n)| {
                    NonZeroUsize::try_from(n).expect("u32 fits in usize")
                }),
            file_mode: self
                .take("file_mode", FileMode::parse)
                .map(|(_, mode)| mode)
                .unwrap_or_default(),
            all_disks: self.flag("all_disks").is_some_and(|(_, on)| on),
            backup_sr: self.backup_sr(),
            mail,
            retention,
            rules: std::mem::take(&mut self.rules),
            platform,
            ovirt,
            warnings: Vec::new(),
        };
        debug_assert!(self.scalars.is_empty(), "untaken keys: {:?}", self.scalars);
        if self.errors.is_empty() {
            Ok(Config {
                warnings: self.warnings,
                ..config
            })
        } else {
            self.errors.sort_by(|a, b| a.at.cmp(&b.at));
            Err(VmBackupError::Config {
                issues: self.errors,
            })
        }
    }
}
