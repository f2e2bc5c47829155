//! `lvmbackup restore`: a volume's chain up to a date, extracted by GNU tar into a directory
//! (the volume's root at the directory); or a volume's raw image (the newest on or before
//! the date) written onto a new logical volume of its size (`lvcreate`) or into a new file.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cli_common::{Outcome, UsageError};
use lvmbackup::archive::GnuTar;
use lvmbackup::config::{Config, VolumeEntry};
use lvmbackup::image::read_record;
use lvmbackup::naming::dir_name;
use lvmbackup::restore::{chain_until, extract_chain, image_until, no_chain};
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
    /// An existing, empty directory to extract a chain of tar archives into.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["image_to", "new_lv"])]
    into: Option<PathBuf>,
    /// Write the raw image into this new file (or onto this existing block device).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["into", "new_lv"])]
    image_to: Option<PathBuf>,
    /// Create this logical volume (`VG/LV`, the image's size) and write the raw image onto it.
    #[arg(long, value_name = "VG/LV", conflicts_with_all = ["into", "image_to"])]
    new_lv: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    volume: &'a str,
    into: &'a std::path::Path,
    archives: Vec<&'a std::path::Path>,
}

#[derive(Serialize)]
struct ImageReport<'a> {
    volume: &'a str,
    image: &'a std::path::Path,
    target: &'a std::path::Path,
    bytes: u64,
}

/// Restores a volume's chain.
pub fn run(config: &Config, args: &RestoreArgs, json: bool) -> anyhow::Result<Outcome> {
    let entry = config
        .volumes
        .volumes
        .iter()
        .find(|v| format!("{}/{}", v.domu, v.part) == args.volume)
        .ok_or_else(|| UsageError(format!("no volume {} (domU/part) in the list", args.volume)))?;
    let Some(into) = &args.into else {
        return restore_image(config, entry, args, json);
    };
    let empty = std::fs::read_dir(into)
        .with_context(|| format!("reading {}", into.display()))?
        .next()
        .is_none();
    if !empty {
        return Err(UsageError(format!("{} is not empty", into.display())).into());
    }
    let mount_point = mount_point(config, entry);
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
    extract_chain(&GnuTar::default(), &chain, into, strip)?;
    let report = Report {
        volume: &args.volume,
        into,
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

/// Where a volume's snapshot is mounted, which names its archives.
fn mount_point(config: &Config, entry: &VolumeEntry) -> PathBuf {
    config
        .xenbackup
        .mount_source_dir
        .join(&entry.domu)
        .join(&entry.part)
}

/// `--image-to` / `--new-lv`: the newest raw image on or before the date, written out.
fn restore_image(
    config: &Config,
    entry: &VolumeEntry,
    args: &RestoreArgs,
    json: bool,
) -> anyhow::Result<Outcome> {
    let dir = dir_name(
        &mount_point(config, entry),
        config.backup_manager.name_format,
    );
    let volumes = super::repository(config).scan()?;
    let archives = volumes.get(&dir).map_or(&[][..], Vec::as_slice);
    let until = args.date.unwrap_or_else(super::today);
    let image = image_until(archives, until)
        .ok_or_else(|| anyhow::anyhow!("no raw image of {} on or before {until}", args.volume))?;
    let target = match (&args.image_to, &args.new_lv) {
        (Some(path), _) => path.clone(),
        (None, Some(lv)) => {
            let size = read_record(&image.path)?.size;
            new_volume(lv, size)?
        }
        (None, None) => unreachable!("clap requires one of --into, --image-to, --new-lv"),
    };
    let bytes = lvmbackup::image::restore_image(&image.path, image.name.filetype, &target)?;
    let report = ImageReport {
        volume: &args.volume,
        image: &image.path,
        target: &target,
        bytes,
    };
    if json {
        cli_common::print_json(&report)?;
    } else {
        println!(
            "wrote {} onto {} ({bytes} bytes)",
            image.path.display(),
            target.display()
        );
    }
    Ok(Outcome::Success)
}

/// Creates `vg/lv` of `size` bytes (`lvcreate -L <size>b`); returns its device. The new
/// volume is the user's, not tagged as ours.
fn new_volume(lv: &str, size: u64) -> anyhow::Result<PathBuf> {
    let reference =
        lvm_snap::VolumeRef::parse(lv).map_err(|e| UsageError(format!("--new-lv {lv}: {e}")))?;
    let argv: Vec<String> = [
        "lvcreate",
        "-y",
        "-L",
        &format!("{size}b"),
        "-n",
        reference.lv(),
        reference.vg(),
    ]
    .map(str::to_owned)
    .to_vec();
    let output = lvm_snap::CommandRunner::run(&lvm_snap::SystemRunner, &argv)
        .context("running lvcreate (install lvm2)")?;
    if !output.success() {
        anyhow::bail!("`{}` failed: {}", argv.join(" "), output.stderr.trim());
    }
    Ok(PathBuf::from("/dev")
        .join(reference.vg())
        .join(reference.lv()))
}
