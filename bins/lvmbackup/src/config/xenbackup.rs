//! `/etc/xenbackup.conf`: xenbackup's settings, read as data (see [`super::shell`]).
//!
//! | variable | meaning | when unset |
//! |---|---|---|
//! | `BCKDEV`, `BCKDEV_FS` | the backup device and its file system, mounted on `BCKMNTP` for the run (empty `BCKDEV`: none) | none |
//! | `BCKMNTP` | its mount point | `/backup/guests` |
//! | `MNTSOURCEDIR` | snapshots are mounted at `MNTSOURCEDIR/<domU>/<part>` | `/4backup` |
//! | `SBCONFIGFILE` | the volume list | `/etc/xenback_vols` |
//! | `SNAPSIZE` | copy-on-write space per snapshot: lvm2 sizes (`7G`, `512M`, `1T`; no unit: MiB), or `N%ORIGIN` | `7G` |
//! | `SNAPMOUNTDELAY` | seconds to wait before each snapshot | `10` |
//! | `NICEOPT`, `IONICEOPT` | `nice` / `ionice` options applied to lvmbackup itself (`-n 19`, `-c2 -n6`) | not changed |
//! | `LOGFILE` | the run's log (the text report) | none |
//! | `EMAIL_FROM`, `EMAIL_TO` | the report's sender and recipient | none |
//!
//! Other variables (`HOSTN`, `BIN_*`, `CMD_FULLNICE`, `CONFIGURED`, …) are xenbackup's own
//! plumbing and are not read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lvm_snap::SnapshotSize;

use super::shell::ShellFile;
use crate::error::ConfigError;

/// The backup device mounted for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupDevice {
    /// The block device (`BCKDEV`).
    pub device: PathBuf,
    /// Its file system (`BCKDEV_FS`).
    pub fstype: String,
}

/// `ionice` settings: scheduling class and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoNice {
    /// 1 real time, 2 best effort, 3 idle.
    pub class: u8,
    /// 0 (highest) to 7, for classes 1 and 2.
    pub level: Option<u8>,
}

/// What xenbackup.conf says.
#[derive(Debug, Clone, PartialEq)]
pub struct XenbackupConf {
    /// The file it came from.
    pub path: PathBuf,
    /// The device to mount on [`XenbackupConf::backup_mount_point`], if any.
    pub backup_device: Option<BackupDevice>,
    /// `BCKMNTP`.
    pub backup_mount_point: PathBuf,
    /// `MNTSOURCEDIR`.
    pub mount_source_dir: PathBuf,
    /// `SBCONFIGFILE`.
    pub volumes_file: PathBuf,
    /// `SNAPSIZE`.
    pub snapshot_size: SnapshotSize,
    /// `SNAPMOUNTDELAY`.
    pub mount_delay: Duration,
    /// `NICEOPT`: the niceness to set.
    pub nice: Option<i32>,
    /// `IONICEOPT`.
    pub ionice: Option<IoNice>,
    /// `LOGFILE`.
    pub log_file: Option<PathBuf>,
    /// `EMAIL_FROM`.
    pub email_from: Option<String>,
    /// `EMAIL_TO`.
    pub email_to: Option<String>,
}

impl XenbackupConf {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        XenbackupConf::from_file(&ShellFile::read(path, &[])?)
    }

    /// Interprets the assignments of a parsed file.
    pub fn from_file(file: &ShellFile) -> Result<Self, ConfigError> {
        let text = |name: &str| -> Result<Option<String>, ConfigError> {
            Ok(file
                .text(name)?
                .map(|(t, _)| t.trim().to_owned())
                .filter(|t| !t.is_empty()))
        };
        let absolute = |name: &str, default: &str| -> Result<PathBuf, ConfigError> {
            let value = text(name)?.unwrap_or_else(|| default.to_owned());
            if !value.starts_with('/') {
                return Err(file.error(name, format!("{name}={value:?} is not an absolute path")));
            }
            Ok(PathBuf::from(value))
        };
        let backup_device = match text("BCKDEV")? {
            None => None,
            Some(device) => {
                let fstype = text("BCKDEV_FS")?.ok_or_else(|| {
                    file.error(
                        "BCKDEV",
                        "BCKDEV is set but BCKDEV_FS (its file system) is not",
                    )
                })?;
                if !device.starts_with("/dev/") {
                    return Err(
                        file.error("BCKDEV", format!("BCKDEV={device:?} is not under /dev"))
                    );
                }
                Some(BackupDevice {
                    device: PathBuf::from(device),
                    fstype,
                })
            }
        };
        let snapshot_size = match text("SNAPSIZE")? {
            None => SnapshotSize::Bytes(7 << 30),
            Some(size) => parse_snapshot_size(&size).map_err(|problem| {
                file.error("SNAPSIZE", format!("SNAPSIZE={size:?}: {problem}"))
            })?,
        };
        let mount_delay = match text("SNAPMOUNTDELAY")? {
            None => Duration::from_secs(10),
            Some(delay) => Duration::from_secs(delay.parse().map_err(|_| {
                file.error(
                    "SNAPMOUNTDELAY",
                    format!("SNAPMOUNTDELAY={delay:?} is not a whole number of seconds"),
                )
            })?),
        };
        let nice = match text("NICEOPT")? {
            None => None,
            Some(options) => Some(
                parse_nice(&options)
                    .map_err(|p| file.error("NICEOPT", format!("NICEOPT={options:?}: {p}")))?,
            ),
        };
        let ionice = match text("IONICEOPT")? {
            None => None,
            Some(options) => Some(
                parse_ionice(&options)
                    .map_err(|p| file.error("IONICEOPT", format!("IONICEOPT={options:?}: {p}")))?,
            ),
        };
        Ok(XenbackupConf {
            path: file.path().to_owned(),
            backup_device,
            backup_mount_point: absolute("BCKMNTP", "/backup/guests")?,
            mount_source_dir: absolute("MNTSOURCEDIR", "/4backup")?,
            volumes_file: absolute("SBCONFIGFILE", "/etc/xenback_vols")?,
            snapshot_size,
            mount_delay,
            nice,
            ionice,
            log_file: match text("LOGFILE")? {
                Some(_) => Some(absolute("LOGFILE", "")?),
                None => None,
            },
            email_from: text("EMAIL_FROM")?,
            email_to: text("EMAIL_TO")?,
        })
    }
}

/// lvm2's size syntax as `lvcreate -L` reads it (binary units, MiB without one), or
/// `N%ORIGIN`.
pub fn parse_snapshot_size(text: &str) -> Result<SnapshotSize, String> {
    if let Some(percent) = text.strip_suffix("%ORIGIN") {
        return match percent.parse::<u8>() {
            Ok(p @ 1..=100) => Ok(SnapshotSize::PercentOfOrigin(p)),
            _ => Err("the percentage must be 1-100".into()),
        };
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| "expected a size such as 7G, 512M or 20%ORIGIN".to_owned())?;
    let shift = match unit {
        "b" | "B" => 0,
        "s" | "S" => 9,
        "k" | "K" => 10,
        "" | "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        _ => return Err(format!("unknown unit {unit:?} (b, s, k, m, g, t, p)")),
    };
    #[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]
    let bytes = (number * (1u64 << shift) as f64).ceil() as u64;
    if bytes == 0 {
        return Err("a snapshot needs some space".into());
    }
    Ok(SnapshotSize::Bytes(bytes))
}

/// `nice`'s options: `-n N`, `-nN`, `--adjustment=N`, or `-N`.
fn parse_nice(options: &str) -> Result<i32, String> {
    let words: Vec<&str> = options.split_whitespace().collect();
    let value = match words.as_slice() {
        ["-n" | "--adjustment", n] => *n,
        [one] => one
            .strip_prefix("--adjustment=")
            .or_else(|| one.strip_prefix("-n"))
            .or_else(|| one.strip_prefix('-'))
            .ok_or("expected -n N")?,
        _ => return Err("expected -n N".into()),
    };
    let n: i32 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if !(-20..=19).contains(&n) {
        return Err("niceness must be -20 to 19".into());
    }
    Ok(n)
}

/// `ionice`'s options: `-c CLASS` and `-n LEVEL`, joined or apart.
fn parse_ionice(options: &str) -> Result<IoNice, String> {
    let mut class = None;
    let mut level = None;
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let (flag, inline) = match word {
            w if w.starts_with("--class") || w.starts_with("--classdata") => {
                let (f, v) = w.split_once('=').map_or((w, None), |(f, v)| (f, Some(v)));
                (if f == "--class" { 'c' } else { 'n' }, v)
            }
            w if w.starts_with("-c") => ('c', Some(&w[2..]).filter(|v| !v.is_empty())),
            w if w.starts_with("-n") => ('n', Some(&w[2..]).filter(|v| !v.is_empty())),
            other => return Err(format!("unknown option {other:?} (expected -c N -n N)")),
        };
        let value = match inline {
            Some(v) => v,
            None => words.next().ok_or(format!("-{flag} needs a value"))?,
        };
        let n: u8 = value
            .parse()
            .map_err(|_| format!("{value:?} is not a number"))?;
        match flag {
            'c' => class = Some(n),
            _ => level = Some(n),
        }
    }
    let class = class.ok_or("no class (-c)")?;
    if !(1..=3).contains(&class) {
        return Err("the class must be 1 (real time), 2 (best effort) or 3 (idle)".into());
    }
    if level.is_some_and(|l| l > 7) {
        return Err("the level must be 0-7".into());
    }
    Ok(IoNice { class, level })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<XenbackupConf, ConfigError> {
        XenbackupConf::from_file(
            &ShellFile::parse(Path::new("/etc/xenbackup.conf"), text, &[]).unwrap(),
        )
    }

    #[test]
    fn the_seed_defaults_file_reads_as_data() {
        let conf = conf(
            "# backup target device\n\
             BCKDEV=\"/dev/sdb3\"\n\
             BCKDEV_FS=\"ext4\"\n\
             BCKMNTP=\"/backup/guests\"\n\
             MNTSOURCEDIR=\"/4backup\"\n\
             SBCONFIGFILE=\"/etc/xenback_vols\"\n\
             SNAPMOUNTDELAY=\"10\"\n\
             NICEOPT=\"-n 19\"\n\
             IONICEOPT=\"-c2 -n6\"\n\
             CMD_FULLNICE=\"nice $NICEOPT ionice $IONICEOPT\"\n\
             LOGFILE=\"/var/log/xenbackup.log\"\n\
             HOSTN=`hostname`\n\
             DOMAINN=`hostname -d`\n\
             SNAPSIZE=\"7G\"\n\
             EMAIL_FROM=\"xen@example.org\"\n\
             EMAIL_TO=\"admin@example.org\"\n\
             BIN_SENDMAIL=$(which sendmail) || $(which ssmtp)\n\
             BM_CONFIGFILE=\"/etc/backup-manager.conf\"\n\
             CONFIGURED=true\n",
        )
        .unwrap();
        assert_eq!(
            conf.backup_device,
            Some(BackupDevice {
                device: "/dev/sdb3".into(),
                fstype: "ext4".into()
            })
        );
        assert_eq!(conf.backup_mount_point, Path::new("/backup/guests"));
        assert_eq!(conf.mount_source_dir, Path::new("/4backup"));
        assert_eq!(conf.snapshot_size, SnapshotSize::Bytes(7 << 30));
        assert_eq!(conf.mount_delay, Duration::from_secs(10));
        assert_eq!(conf.nice, Some(19));
        assert_eq!(
            conf.ionice,
            Some(IoNice {
                class: 2,
                level: Some(6)
            })
        );
        assert_eq!(
            conf.log_file.as_deref(),
            Some(Path::new("/var/log/xenbackup.log"))
        );
        assert_eq!(conf.email_to.as_deref(), Some("admin@example.org"));
    }

    #[test]
    fn unset_values_take_xenbackups_defaults() {
        let conf = conf("").unwrap();
        assert_eq!(conf.backup_device, None);
        assert_eq!(conf.volumes_file, Path::new("/etc/xenback_vols"));
        assert_eq!(conf.snapshot_size, SnapshotSize::Bytes(7 << 30));
        assert_eq!(conf.nice, None);
    }

    #[test]
    fn bad_values_name_file_and_line() {
        for (text, want) in [
            (
                "A=1\nSNAPSIZE=7Q\n",
                "/etc/xenbackup.conf:2: SNAPSIZE=\"7Q\": unknown unit",
            ),
            (
                "SNAPSIZE=120%ORIGIN\n",
                "/etc/xenbackup.conf:1: SNAPSIZE=\"120%ORIGIN\"",
            ),
            (
                "BCKDEV=/dev/sdb3\n",
                "/etc/xenbackup.conf:1: BCKDEV is set but BCKDEV_FS",
            ),
            (
                "MNTSOURCEDIR=4backup\n",
                "/etc/xenbackup.conf:1: MNTSOURCEDIR=\"4backup\" is not an absolute path",
            ),
            (
                "SNAPMOUNTDELAY=soon\n",
                "/etc/xenbackup.conf:1: SNAPMOUNTDELAY",
            ),
            (
                "\nNICEOPT=\"-n 40\"\n",
                "/etc/xenbackup.conf:2: NICEOPT=\"-n 40\": niceness",
            ),
            (
                "IONICEOPT=\"-c9\"\n",
                "/etc/xenbackup.conf:1: IONICEOPT=\"-c9\": the class",
            ),
            (
                "BCKMNTP=`mktemp -d`\n",
                "/etc/xenbackup.conf:1: BCKMNTP is computed by a command",
            ),
        ] {
            let error = conf(text).unwrap_err().to_string();
            assert!(error.starts_with(want), "{text:?}: {error}");
        }
    }

    #[test]
    fn sizes_read_like_lvcreate() {
        assert_eq!(
            parse_snapshot_size("512"),
            Ok(SnapshotSize::Bytes(512 << 20))
        );
        assert_eq!(
            parse_snapshot_size("1.5g"),
            Ok(SnapshotSize::Bytes(3 << 29))
        );
        assert_eq!(
            parse_snapshot_size("64K"),
            Ok(SnapshotSize::Bytes(64 << 10))
        );
        assert_eq!(
            parse_snapshot_size("20%ORIGIN"),
            Ok(SnapshotSize::PercentOfOrigin(20))
        );
        assert!(parse_snapshot_size("0").is_err());
        assert!(parse_snapshot_size("G").is_err());
    }

    #[test]
    fn nice_and_ionice_options_in_their_spellings() {
        assert_eq!(parse_nice("-n 19"), Ok(19));
        assert_eq!(parse_nice("-n19"), Ok(19));
        assert_eq!(parse_nice("--adjustment=5"), Ok(5));
        assert_eq!(parse_nice("-10"), Ok(10));
        assert_eq!(
            parse_ionice("-c 3"),
            Ok(IoNice {
                class: 3,
                level: None
            })
        );
        assert_eq!(
            parse_ionice("--class=2 --classdata=7"),
            Ok(IoNice {
                class: 2,
                level: Some(7)
            })
        );
        assert!(parse_ionice("-n 4").is_err());
        assert!(parse_ionice("-x").is_err());
    }
}
