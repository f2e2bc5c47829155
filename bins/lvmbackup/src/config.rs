//! The configuration of a run: xenbackup's files and backup-manager's settings, read as data
//! and unchanged, plus lvmbackup's own TOML. Every error names its file and line.

pub mod backup_manager;
pub mod settings;
pub mod shell;
pub mod volumes;
pub mod xenbackup;

use std::path::PathBuf;

pub use backup_manager::BackupManagerConf;
pub use settings::{Compression, ImageCompression, MailConf, Mode, Settings, VolumeSettings};
pub use volumes::{SkippedLine, VolumeEntry, VolumeList};
pub use xenbackup::{BackupDevice, IoNice, XenbackupConf};

use crate::error::ConfigError;
use crate::naming::FileType;

/// Everything a run reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// lvmbackup's settings.
    pub settings: Settings,
    /// xenbackup.conf.
    pub xenbackup: XenbackupConf,
    /// The volume list (`SBCONFIGFILE`).
    pub volumes: VolumeList,
    /// backup-manager's settings.
    pub backup_manager: BackupManagerConf,
}

impl Config {
    /// Reads the files `settings` point to. `hostname` is what `$HOSTNAME` means in
    /// backup-manager's configuration.
    pub fn from_settings(settings: Settings, hostname: &str) -> Result<Self, ConfigError> {
        let xen_file = shell::ShellFile::read(&settings.xenbackup_conf, &[])?;
        let xenbackup = XenbackupConf::from_file(&xen_file)?;
        let bm_path = match &settings.backup_manager_conf {
            Some(path) => path.clone(),
            None => match xen_file.text("BM_CONFIGFILE")? {
                Some((path, _)) if !path.is_empty() => PathBuf::from(path),
                _ => PathBuf::from("/etc/backup-manager.conf"),
            },
        };
        let backup_manager = BackupManagerConf::read(&bm_path, hostname)?;
        let volumes = VolumeList::read(&xenbackup.volumes_file)?;
        for name in settings.volumes.keys() {
            if !volumes
                .volumes
                .iter()
                .any(|v| &format!("{}/{}", v.domu, v.part) == name)
            {
                return Err(ConfigError::at(
                    &xenbackup.volumes_file,
                    0,
                    format!(
                        "lvmbackup's settings have [volumes.\"{name}\"], a volume (domU/part) this list does not have"
                    ),
                ));
            }
        }
        Ok(Config {
            settings,
            xenbackup,
            volumes,
            backup_manager,
        })
    }

    /// The archives' format: the TOML's `compression` if set, else `BM_TARBALL_FILETYPE`.
    pub fn filetype(&self) -> FileType {
        self.settings
            .compression
            .map_or(self.backup_manager.filetype, Compression::filetype)
    }

    /// The retention policy: the TOML's rules, and `BM_ARCHIVE_TTL` as `max_age_days`
    /// unless the TOML sets one.
    pub fn policy(&self) -> retention::Policy {
        let mut policy = self.settings.retention.clone();
        if policy.max_age_days.is_none() {
            policy.max_age_days = std::num::NonZeroU32::new(self.backup_manager.ttl_days);
        }
        policy
    }
}
