//! lvmbackup's own settings, in TOML (`/etc/lvmbackup.toml`, optional): what xenbackup and
//! backup-manager lack.
//!
//! ```toml
//! # where the seed tools' files are (these are the defaults)
//! xenbackup_conf = "/etc/xenbackup.conf"
//! # backup_manager_conf: default is xenbackup.conf's BM_CONFIGFILE, else /etc/backup-manager.conf
//!
//! # overrides BM_TARBALL_FILETYPE: "none" (tar), "gzip" (tar.gz) or "zstd" (tar.zst)
//! compression = "zstd"
//! zstd_level = 3        # 1-19
//! gzip_level = 6        # 1-9 (gzip's default, as `tar -z`)
//! zstd_threads = 0      # zstd worker threads (0: on the writing thread; dom0 is small)
//!
//! # volumes of different volume groups backed up at once (at most this many); the
//! # volumes of one volume group always one after the other. 1: all serial (the default)
//! concurrency = 1
//!
//! # how a volume is backed up: "tar" (GNU tar listed-incremental archives of the mounted
//! # snapshot, the default) or "image" (the snapshot's blocks, not mounted: for file
//! # systems dom0 cannot mount, NTFS, UFS, encrypted volumes); images are "zstd"
//! # (.img.zst, the default) or "none" (.img, stored sparse)
//! mode = "tar"
//! image_compression = "zstd"
//!
//! # per volume (`domU/part` of the volume list), overriding the two above
//! [volumes."win1/c"]
//! mode = "image"
//! image_compression = "none"
//!
//! # calendar retention on top of BM_ARCHIVE_TTL (retention's policy; chains are always
//! # kept whole, see lvmbackup::repository)
//! [retention]
//! keep_weekly = 4
//! keep_monthly = 6
//! # max_age_days replaces BM_ARCHIVE_TTL when set
//!
//! # the report by e-mail over SMTP (instead of xenbackup's sendmail), from EMAIL_FROM to
//! # EMAIL_TO of xenbackup.conf
//! [mail]
//! server = "mail.example.org"
//! port = 587            # the default
//! starttls = true       # the default
//! # ca_file = "/etc/ssl/my-ca.pem"
//! user = "backup"
//! password_file = "/etc/lvmbackup.smtp-password"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;
use crate::naming::FileType;

/// The compression `compression =` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// The archive file type it makes.
    pub fn filetype(self) -> FileType {
        match self {
            Compression::None => FileType::Tar,
            Compression::Gzip => FileType::TarGz,
            Compression::Zstd => FileType::TarZst,
        }
    }
}

/// How a volume is backed up (`mode =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// GNU tar listed-incremental archives of the mounted snapshot.
    #[default]
    Tar,
    /// A raw image of the snapshot, not mounted.
    Image,
}

/// A raw image's compression (`image_compression =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageCompression {
    /// `.img`, stored sparse.
    None,
    /// `.img.zst`.
    #[default]
    Zstd,
}

impl ImageCompression {
    /// The image file type it makes.
    pub fn filetype(self) -> FileType {
        match self {
            ImageCompression::None => FileType::Img,
            ImageCompression::Zstd => FileType::ImgZst,
        }
    }
}

/// `[volumes."domU/part"]`: one volume's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSettings {
    /// Overrides `mode`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Overrides `image_compression`.
    #[serde(default)]
    pub image_compression: Option<ImageCompression>,
}

/// The TOML settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// xenbackup's configuration.
    #[serde(default = "default_xenbackup_conf")]
    pub xenbackup_conf: PathBuf,
    /// backup-manager's configuration, if not xenbackup's `BM_CONFIGFILE`.
    #[serde(default)]
    pub backup_manager_conf: Option<PathBuf>,
    /// Overrides `BM_TARBALL_FILETYPE`.
    #[serde(default)]
    pub compression: Option<Compression>,
    /// zstd's level.
    #[serde(default = "default_zstd_level")]
    pub zstd_level: i32,
    /// gzip's level.
    #[serde(default = "default_gzip_level")]
    pub gzip_level: u32,
    /// zstd's worker threads.
    #[serde(default)]
    pub zstd_threads: u32,
    /// Volumes (of different volume groups) backed up at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: std::num::NonZeroUsize,
    /// The default mode.
    #[serde(default)]
    pub mode: Mode,
    /// The default image compression.
    #[serde(default)]
    pub image_compression: ImageCompression,
    /// Per-volume overrides, by `domU/part`.
    #[serde(default)]
    pub volumes: std::collections::BTreeMap<String, VolumeSettings>,
    /// Calendar retention rules added to the TTL.
    #[serde(default)]
    pub retention: retention::Policy,
    /// The e-mail report.
    #[serde(default)]
    pub mail: Option<MailConf>,
}

/// `[mail]`: the SMTP server the report goes through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConf {
    /// Host name (also the name its certificate must carry).
    pub server: String,
    /// Port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Require STARTTLS.
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// Trust only this PEM file's certificates.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH user.
    #[serde(default)]
    pub user: Option<String>,
    /// The file holding the password (never the password itself).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

fn default_concurrency() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::MIN
}

fn default_smtp_port() -> u16 {
    587
}

fn default_true() -> bool {
    true
}

fn default_xenbackup_conf() -> PathBuf {
    PathBuf::from("/etc/xenbackup.conf")
}

fn default_zstd_level() -> i32 {
    3
}

fn default_gzip_level() -> u32 {
    6
}

impl Default for Settings {
    fn default() -> Self {
        Settings::parse(Path::new("(defaults)"), "").expect("empty settings are valid")
    }
}

impl Settings {
    /// How the volume `domu_part` is backed up: `None` for tar archives, else the raw
    /// image's file type.
    pub fn image_type_of(&self, domu_part: &str) -> Option<FileType> {
        let own = self.volumes.get(domu_part).copied().unwrap_or_default();
        match own.mode.unwrap_or(self.mode) {
            Mode::Tar => None,
            Mode::Image => Some(
                own.image_compression
                    .unwrap_or(self.image_compression)
                    .filetype(),
            ),
        }
    }

    /// Reads `text`, the contents of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let settings: Settings = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(0, |span| {
                text.get(..span.start).unwrap_or(text).matches('\n').count() + 1
            });
            ConfigError::at(path, line, error.message().trim().to_owned())
        })?;
        if !(1..=19).contains(&settings.zstd_level) {
            return Err(ConfigError::at(path, 0, "zstd_level must be 1-19"));
        }
        if !(1..=9).contains(&settings.gzip_level) {
            return Err(ConfigError::at(path, 0, "gzip_level must be 1-9"));
        }
        if let Some(mail) = &settings.mail
            && mail.user.is_some() != mail.password_file.is_some()
        {
            return Err(ConfigError::at(
                path,
                0,
                "[mail] needs user and password_file together",
            ));
        }
        Ok(settings)
    }

    /// Reads `path`; a missing file at the default place means the defaults.
    pub fn read(path: &Path, must_exist: bool) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Settings::parse(path, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(Settings::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use retention::KeepCount;

    use super::*;

    #[test]
    fn settings_read_with_defaults() {
        let settings = Settings::parse(
            Path::new("/etc/lvmbackup.toml"),
            "compression = \"zstd\"\n[retention]\nkeep_weekly = 4\n",
        )
        .unwrap();
        assert_eq!(settings.compression, Some(Compression::Zstd));
        assert_eq!(settings.zstd_level, 3);
        assert_eq!(settings.retention.keep_weekly, KeepCount::Count(4));
        assert_eq!(settings.xenbackup_conf, Path::new("/etc/xenbackup.conf"));
        assert_eq!(Settings::default().compression, None);
        assert_eq!(Settings::default().concurrency.get(), 1);
        assert_eq!(Settings::default().image_type_of("a/b"), None);
    }

    #[test]
    fn image_mode_by_default_or_per_volume() {
        let path = Path::new("/etc/lvmbackup.toml");
        let settings = Settings::parse(
            path,
            "concurrency = 2\n[volumes.\"win/c\"]\nmode = \"image\"\n\
             [volumes.\"bsd/root\"]\nmode = \"image\"\nimage_compression = \"none\"\n",
        )
        .unwrap();
        assert_eq!(settings.concurrency.get(), 2);
        assert_eq!(settings.image_type_of("web/root"), None);
        assert_eq!(settings.image_type_of("win/c"), Some(FileType::ImgZst));
        assert_eq!(settings.image_type_of("bsd/root"), Some(FileType::Img));
        let all = Settings::parse(
            path,
            "mode = \"image\"\nimage_compression = \"none\"\n[volumes.\"web/root\"]\nmode = \"tar\"\n",
        )
        .unwrap();
        assert_eq!(all.image_type_of("win/c"), Some(FileType::Img));
        assert_eq!(all.image_type_of("web/root"), None);
        let error = Settings::parse(path, "[volumes.\"a/b\"]\nmod = \"image\"\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `mod`"), "{error}");
        assert!(Settings::parse(path, "concurrency = 0\n").is_err());
    }

    #[test]
    fn errors_name_file_and_line() {
        for (text, want) in [
            (
                "compression = \"zstd\"\n\ncompresion = 1\n",
                "/etc/lvmbackup.toml:3: unknown field `compresion`",
            ),
            (
                "compression = \"lz4\"\n",
                "/etc/lvmbackup.toml:1: unknown variant `lz4`",
            ),
            (
                "[retention]\nkeep_daily = \"x\"\n",
                "/etc/lvmbackup.toml:2:",
            ),
            (
                "zstd_level = 30\n",
                "/etc/lvmbackup.toml: zstd_level must be 1-19",
            ),
        ] {
            let error = Settings::parse(Path::new("/etc/lvmbackup.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(want), "{text:?}: {error}");
        }
    }
}
