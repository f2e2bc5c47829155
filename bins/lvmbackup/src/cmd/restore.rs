//! `lvmbackup restore`: a volume's chain up to a date, extracted by GNU tar into a directory
//! (the volume's root at the directory).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cli_common::{Outcome, UsageError};
use lvmbackup::archive::GnuTar;
use lvmbackup::config::Config;
use lvmbackup::naming::dir_name;
use lvmbackup::restore::{chain_until, extract_chain, no_chain};
use serde::Serialize;

/// `restore`'s flags.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The volume (`domU/part`, as in the volume list).
    #[arg(long, value_name = "DOMU/PART")]
    volume: String,
    /// Restore the state of this day (`YYYY-MM-DD`); default: the newest archive.
    #[arg(long, value_name = "DATE")]
    date: Option<jiff::civil::Date>,
    /// An existing, empty directory to extract into.
    #[arg(long, value_name = "DIR")]
    into: PathBuf,
}

#[derive(Serialize)]
struct Report<'a> {
    volume: &'a str,
    into: &'a std::path::Path,
    archives: Vec<&'a std::path::Path>,
}

/// Restores a volume's chain.
pub fn run(config: &Config, args: &RestoreArgs, json: bool) -> anyhow::Result<Outcome> {
    let entry = config
        .volumes
        .volumes
        .iter()
        .find(|v| format!("{}/{}", v.domu, v.part) == args.volume)
        .ok_or_else(|| UsageError(format!("no volume {} (domU/part) in the list", args.volume)))?;
    let empty = std::fs::read_dir(&args.into)
        .with_context(|| format!("reading {}", args.into.display()))?
        .next()
        .is_none();
    if !empty {
        return Err(UsageError(format!("{} is not empty", args.into.display())).into());
    }
    let mount_point = config
        .xenbackup
        .mount_source_dir
        .join(&entry.domu)
        .join(&entry.part);
    let dir = dir_name(&mount_point, config.backup_manager.name_format);
    let volumes = super::repository(config).scan()?;
    let archives = volumes.get(&dir).map_or(&[][..], Vec::as_slice);
    let until = args
        .date
        .or_else(|| archives.last().map(|a| a.name.date))
        .unwrap_or_else(super::today);
    let chain = chain_until(archives, until);
    if chain.is_empty() {
        return Err(no_chain(&dir, until).into());
    }
    let strip = mount_point.components().count() - 1;
    extract_chain(&GnuTar::default(), &chain, &args.into, strip)?;
    let report = Report {
        volume: &args.volume,
        into: &args.into,
        archives: chain.iter().map(|a| a.path.as_path()).collect(),
    };
    if json {
        cli_common::print_json(&report)?;
    } else {
        for archive in &report.archives {
            println!("extracted {}", archive.display());
        }
    }
    Ok(Outcome::Success)
}
