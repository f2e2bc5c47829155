//! The subcommands, one file each, and what they share.

pub mod list;
pub mod prune;
pub mod restore;
pub mod run;
pub mod verify;

use std::path::Path;

use anyhow::Context as _;
use lvmbackup::config::{Config, Settings};
use lvmbackup::repository::Repository;

use crate::Files;

/// The default place of lvmbackup's settings.
const SETTINGS: &str = "/etc/lvmbackup.toml";

/// Reads the configuration the flags point to.
pub fn load(files: &Files) -> anyhow::Result<Config> {
    let hostname = nix::unistd::gethostname()
        .context("reading this host's name")?
        .to_string_lossy()
        .into_owned();
    let settings_path = files.settings.as_deref().unwrap_or(Path::new(SETTINGS));
    let mut settings = Settings::read(settings_path, files.settings.is_some())?;
    if let Some(path) = &files.xenbackup_conf {
        settings.xenbackup_conf.clone_from(path);
    }
    if let Some(path) = &files.backup_manager_conf {
        settings.backup_manager_conf = Some(path.clone());
    }
    let config = Config::from_settings(settings, &hostname)?;
    for warning in &config.volumes.warnings {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

/// The repository the configuration names.
pub fn repository(config: &Config) -> Repository {
    Repository::new(
        &config.backup_manager.repository_root,
        &config.backup_manager.prefix,
    )
}

/// Today, in this host's time zone (archives are named by the local day).
pub fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}
