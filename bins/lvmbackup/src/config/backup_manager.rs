//! `/etc/backup-manager.conf`: the backup-manager settings xenbackup relies on, read as
//! data (see [`super::shell`]; `$HOSTNAME` is this host's name, as in the bash that sources
//! it).
//!
//! | variable | meaning | when unset |
//! |---|---|---|
//! | `BM_REPOSITORY_ROOT` | where the archives go | `/var/archives` |
//! | `BM_ARCHIVE_METHOD` | must be `tarball-incremental` (what xenbackup configures) | `tarball-incremental` |
//! | `BM_ARCHIVE_TTL` | days an archive is kept (chain-aware, see [`crate::repository`]) | `5` |
//! | `BM_ARCHIVE_FREQUENCY` | must be `daily`: archives are named by day | `daily` |
//! | `BM_ARCHIVE_PREFIX` | archive names start with it | this host's name |
//! | `BM_TARBALL_FILETYPE` | `tar`, `tar.gz` or `tar.zst` | `tar.gz` |
//! | `BM_TARBALL_NAMEFORMAT` | `long` (the whole path) or `short` (its last component) | `long` |
//! | `BM_TARBALLINC_MASTERDATETYPE` | `weekly` or `monthly` | `weekly` |
//! | `BM_TARBALLINC_MASTERDATEVALUE` | weekday (0 Sunday … 6) or day of month (1 … 31) of the full archive | `1` |
//! | `BM_ARCHIVE_PURGEDUPS` | read, and not acted on: see below | `true` |
//!
//! `BM_ARCHIVE_PURGEDUPS` makes backup-manager replace an older archive whose md5 equals the
//! new one's by a symlink to the new one. lvmbackup never does that: it would make one
//! chain's file a link into another chain, and purging the newer chain would leave a
//! dangling link where an older chain needs an archive. Every archive stays a file.

use std::path::{Path, PathBuf};

use super::shell::ShellFile;
use crate::error::ConfigError;
use crate::naming::{FileType, NameFormat};
use crate::schedule::MasterSchedule;

/// The backup-manager settings lvmbackup uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupManagerConf {
    /// The file it came from.
    pub path: PathBuf,
    /// `BM_REPOSITORY_ROOT`.
    pub repository_root: PathBuf,
    /// `BM_ARCHIVE_TTL`, in days.
    pub ttl_days: u32,
    /// `BM_ARCHIVE_PREFIX`.
    pub prefix: String,
    /// `BM_TARBALL_FILETYPE`.
    pub filetype: FileType,
    /// `BM_TARBALL_NAMEFORMAT`.
    pub name_format: NameFormat,
    /// `BM_TARBALLINC_MASTERDATETYPE` and `…VALUE`.
    pub master: MasterSchedule,
    /// `BM_ARCHIVE_PURGEDUPS` (not acted on).
    pub purge_dups: bool,
}

impl BackupManagerConf {
    /// Reads `path`; `hostname` is what `$HOSTNAME` expands to.
    pub fn read(path: &Path, hostname: &str) -> Result<Self, ConfigError> {
        BackupManagerConf::from_file(&ShellFile::read(path, &[("HOSTNAME", hostname)])?, hostname)
    }

    /// Interprets a parsed file.
    pub fn from_file(file: &ShellFile, hostname: &str) -> Result<Self, ConfigError> {
        let text = |name: &str, default: &str| -> Result<String, ConfigError> {
            Ok(file
                .text(name)?
                .map_or(default, |(t, _)| t)
                .trim()
                .to_owned())
        };
        let bad = |name: &str, value: &str, want: &str| {
            file.error(name, format!("{name}={value:?}: {want}"))
        };
        let method = text("BM_ARCHIVE_METHOD", "tarball-incremental")?;
        if method != "tarball-incremental" {
            return Err(bad(
                "BM_ARCHIVE_METHOD",
                &method,
                "lvmbackup makes tarball-incremental archives only (what xenbackup configures)",
            ));
        }
        let frequency = text("BM_ARCHIVE_FREQUENCY", "daily")?;
        if frequency != "daily" {
            return Err(bad(
                "BM_ARCHIVE_FREQUENCY",
                &frequency,
                "only daily is supported: archives are named by day",
            ));
        }
        let root = text("BM_REPOSITORY_ROOT", "/var/archives")?;
        if !root.starts_with('/') {
            return Err(bad("BM_REPOSITORY_ROOT", &root, "not an absolute path"));
        }
        let ttl = text("BM_ARCHIVE_TTL", "5")?;
        let Ok(ttl_days @ 1..) = ttl.parse::<u32>() else {
            return Err(bad(
                "BM_ARCHIVE_TTL",
                &ttl,
                "expected a number of days, 1 or more",
            ));
        };
        let prefix = text("BM_ARCHIVE_PREFIX", hostname)?;
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(bad(
                "BM_ARCHIVE_PREFIX",
                &prefix,
                "expected a plain name (A-Z a-z 0-9 . _ -)",
            ));
        }
        let filetype_text = text("BM_TARBALL_FILETYPE", "tar.gz")?;
        let filetype = FileType::tarball_from_extension(&filetype_text).ok_or_else(|| {
            bad(
                "BM_TARBALL_FILETYPE",
                &filetype_text,
                "expected tar, tar.gz or tar.zst",
            )
        })?;
        let format_text = text("BM_TARBALL_NAMEFORMAT", "long")?;
        let name_format = match format_text.as_str() {
            "long" => NameFormat::Long,
            "short" => NameFormat::Short,
            _ => {
                return Err(bad(
                    "BM_TARBALL_NAMEFORMAT",
                    &format_text,
                    "expected long or short",
                ));
            }
        };
        let master = master_schedule(file)?;
        let dups = text("BM_ARCHIVE_PURGEDUPS", "true")?;
        let purge_dups = match dups.as_str() {
            "true" | "yes" => true,
            "false" | "no" | "" => false,
            _ => return Err(bad("BM_ARCHIVE_PURGEDUPS", &dups, "expected true or false")),
        };
        Ok(BackupManagerConf {
            path: file.path().to_owned(),
            repository_root: PathBuf::from(root),
            ttl_days,
            prefix,
            filetype,
            name_format,
            master,
            purge_dups,
        })
    }
}

/// `BM_TARBALLINC_MASTERDATETYPE` and `…VALUE`, the error on the line of the value if the
/// file sets one.
fn master_schedule(file: &ShellFile) -> Result<MasterSchedule, ConfigError> {
    let text = |name: &str, default: &str| -> Result<String, ConfigError> {
        Ok(file
            .text(name)?
            .map_or(default, |(t, _)| t)
            .trim()
            .to_owned())
    };
    let kind = text("BM_TARBALLINC_MASTERDATETYPE", "weekly")?;
    let value = text("BM_TARBALLINC_MASTERDATEVALUE", "1")?;
    let value = if value.is_empty() {
        "1".to_owned()
    } else {
        value
    };
    MasterSchedule::new(&kind, &value).map_err(|problem| {
        file.error(
            if file.assignment("BM_TARBALLINC_MASTERDATEVALUE").is_some() {
                "BM_TARBALLINC_MASTERDATEVALUE"
            } else {
                "BM_TARBALLINC_MASTERDATETYPE"
            },
            problem,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<BackupManagerConf, ConfigError> {
        let path = Path::new("/etc/backup-manager.conf");
        BackupManagerConf::from_file(
            &ShellFile::parse(path, text, &[("HOSTNAME", "xen1")]).unwrap(),
            "xen1",
        )
    }

    #[test]
    fn xenbackups_backup_manager_conf_reads_as_data() {
        let conf = conf(
            "export BM_REPOSITORY_ROOT=\"/backup/guests\"\n\
             export BM_TEMP_DIR=\"/tmp\"\n\
             export BM_ARCHIVE_TTL=\"5\"\n\
             export BM_ARCHIVE_FREQUENCY=\"daily\"\n\
             export BM_REPOSITORY_RECURSIVEPURGE=\"true\"\n\
             export BM_ARCHIVE_PURGEDUPS=\"true\"\n\
             export BM_ARCHIVE_STRICTPURGE=\"true\"\n\
             export BM_ARCHIVE_PREFIX=\"$HOSTNAME\"\n\
             export BM_ARCHIVE_METHOD=\"tarball-incremental\"\n\
             export BM_TARBALL_NAMEFORMAT=\"long\"\n\
             export BM_TARBALL_FILETYPE=\"tar.gz\"\n\
             export BM_TARBALL_DUMPSYMLINKS=\"false\"\n\
             export BM_TARBALL_EXTRA_OPTIONS=\"--strip=3 --strip-components=3\"\n\
             export BM_TARBALLINC_MASTERDATETYPE=\"weekly\"\n\
             export BM_TARBALLINC_MASTERDATEVALUE=\"6\"\n\
             if [ -z \"$BM_ARCHIVE_PREFIX\" ]; then BM_ARCHIVE_PREFIX=x; fi\n",
        )
        .unwrap();
        assert_eq!(
            conf,
            BackupManagerConf {
                path: "/etc/backup-manager.conf".into(),
                repository_root: "/backup/guests".into(),
                ttl_days: 5,
                prefix: "xen1".into(),
                filetype: FileType::TarGz,
                name_format: NameFormat::Long,
                master: MasterSchedule::Weekly(jiff::civil::Weekday::Saturday),
                purge_dups: true,
            }
        );
    }

    #[test]
    fn unsupported_or_bad_settings_name_file_and_line() {
        for (text, want) in [
            (
                "\nBM_ARCHIVE_METHOD=tarball\n",
                ":2: BM_ARCHIVE_METHOD=\"tarball\": lvmbackup makes",
            ),
            (
                "BM_ARCHIVE_FREQUENCY=hourly\n",
                ":1: BM_ARCHIVE_FREQUENCY=\"hourly\"",
            ),
            ("BM_ARCHIVE_TTL=0\n", ":1: BM_ARCHIVE_TTL=\"0\""),
            ("BM_ARCHIVE_TTL=five\n", ":1: BM_ARCHIVE_TTL=\"five\""),
            (
                "BM_TARBALL_FILETYPE=tar.bz2\n",
                ":1: BM_TARBALL_FILETYPE=\"tar.bz2\"",
            ),
            (
                "BM_TARBALL_NAMEFORMAT=medium\n",
                ":1: BM_TARBALL_NAMEFORMAT",
            ),
            (
                "BM_TARBALLINC_MASTERDATEVALUE=7\n",
                ":1: weekly masters need a weekday",
            ),
            (
                "BM_TARBALLINC_MASTERDATETYPE=monthly\nBM_TARBALLINC_MASTERDATEVALUE=32\n",
                ":2: monthly masters need a day of the month",
            ),
            (
                "BM_TARBALLINC_MASTERDATETYPE=daily\n",
                ":1: BM_TARBALLINC_MASTERDATETYPE",
            ),
            (
                "BM_ARCHIVE_PREFIX=\"a b\"\n",
                ":1: BM_ARCHIVE_PREFIX=\"a b\"",
            ),
            (
                "BM_REPOSITORY_ROOT=`pwd`\n",
                ":1: BM_REPOSITORY_ROOT is computed by a command",
            ),
        ] {
            let error = conf(text).unwrap_err().to_string();
            let want = format!("/etc/backup-manager.conf{want}");
            assert!(error.starts_with(&want), "{text:?}: {error}");
        }
    }

    #[test]
    fn defaults_are_backup_managers() {
        let conf = conf("").unwrap();
        assert_eq!(conf.repository_root, Path::new("/var/archives"));
        assert_eq!(
            conf.master,
            MasterSchedule::Weekly(jiff::civil::Weekday::Monday)
        );
        assert_eq!(conf.prefix, "xen1");
        assert_eq!(conf.ttl_days, 5);
    }
}
