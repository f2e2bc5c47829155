//! `build --fix-guest`: fix the Linux guest on COPIES of the disks before they are packaged
//! (guest-fixup), so the source images are never modified; `--dry-run` prints the plan as a
//! unified diff and builds nothing. guest-fixup attaches raw images to loop devices, so a VHD
//! disk is copied as a sparse raw image (the XVA then packs the fixed raw copy; with
//! `--dry-run` too, since the plan needs the guest's files).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;
use cli_common::UsageError;
use disk_image::{DiskInput, DiskSink, NoProgress, RandomAccessDisk, RawFileSink, VmSpec, vhd};
use guest_fixup::direction::drive_letters;
use guest_fixup::{Direction, FixOptions, PlanOptions, fix};

/// Options of `build` for fixing the guest.
#[derive(Debug, Args)]
pub struct FixGuestArgs {
    /// Fix the Linux guest for this target before packaging: `xenserver-pv` (xva.py's case:
    /// partition-named disks such as `sda1` become whole disks `xvda`, `xvdb` in fstab and
    /// grub), or any guest-fixup conversion (`xen-pv->kvm-virtio`, `sda1=xvda,sda2=xvdb`).
    /// The disks are copied first (a VHD as a raw image); the sources are never modified.
    #[arg(long, value_name = "TARGET")]
    pub fix_guest: Option<String>,
    /// With --fix-guest: write `UUID=` instead of new device names where the volume has one.
    #[arg(long, requires = "fix_guest")]
    pub fix_guest_uuid: bool,
    /// Where the disk copies are made (default: beside the output, else the temp directory).
    #[arg(long, value_name = "DIR", requires = "fix_guest")]
    pub fix_guest_dir: Option<PathBuf>,
    /// With --fix-guest: print the plan (a unified diff, reasons as comments) and stop.
    #[arg(long, requires = "fix_guest")]
    pub dry_run: bool,
}

/// What `--fix-guest` did.
pub enum Fixed {
    /// `--dry-run`: the plan, nothing else to do.
    Planned(String),
    /// The spec now points at fixed copies in this directory, removed when it is dropped.
    Copies {
        /// Kept only to live as long as the archive is being written.
        _work: tempfile::TempDir,
    },
}

/// The conversion `--fix-guest` asks for; `xenserver-pv` takes the xend device names when the
/// configuration gave them (`sda1` as the first disk becomes `xvda`).
fn direction(target: &str, spec: &VmSpec) -> Result<Direction> {
    if target == "xenserver-pv" {
        let named: Vec<(String, String)> = spec
            .disks
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                Some((
                    d.device.clone()?.trim_start_matches("/dev/").to_owned(),
                    format!("xvd{}", drive_letters(i)),
                ))
            })
            .collect();
        if !named.is_empty() {
            return Ok(Direction::Map(
                named.into_iter().filter(|(a, b)| a != b).collect(),
            ));
        }
    }
    target
        .parse::<Direction>()
        .map_err(|e| UsageError(format!("--fix-guest: {e}")).into())
}

/// Runs the fix-up for `spec`'s disks; `output` places the copies.
pub fn run(args: &FixGuestArgs, spec: &mut VmSpec, output: Option<&Path>) -> Result<Option<Fixed>> {
    let Some(target) = &args.fix_guest else {
        return Ok(None);
    };
    let direction = direction(target, spec)?;
    let vhds = spec
        .disks
        .iter()
        .map(|disk| Ok(vhd::probe(&disk.path)?.is_some()))
        .collect::<Result<Vec<bool>>>()?;
    let base = match (&args.fix_guest_dir, output) {
        (Some(dir), _) => dir.clone(),
        (None, Some(out)) if out.as_os_str() != "-" => out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        _ => std::env::temp_dir(),
    };
    let dir = tempfile::Builder::new()
        .prefix(".xva-build-fix-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a work directory in `{}`", base.display()))?;
    let options = FixOptions {
        plan: PlanOptions {
            use_uuid: args.fix_guest_uuid,
            ..PlanOptions::default()
        },
        dry_run: args.dry_run,
        root: dir.path().join("root"),
    };
    let sources: Vec<PathBuf> = spec.disks.iter().map(|d| d.path.clone()).collect();
    if args.dry_run && !vhds.contains(&true) {
        let report = fix(&sources, &direction, &options)?;
        return Ok(Some(Fixed::Planned(report.plan.diff())));
    }
    let mut copies = Vec::new();
    for (index, (source, is_vhd)) in sources.iter().zip(vhds).enumerate() {
        let copy = dir.path().join(format!("disk{index}.img"));
        if is_vhd {
            vhd_to_raw(source, &copy)?;
        } else {
            copy_raw(source, &copy)?;
        }
        copies.push(copy);
    }
    let report = fix(&copies, &direction, &options)?;
    if args.dry_run {
        return Ok(Some(Fixed::Planned(report.plan.diff())));
    }
    for warning in &report.plan.warnings {
        eprintln!("note: {warning}");
    }
    for (disk, copy) in spec.disks.iter_mut().zip(copies) {
        disk.path = copy;
    }
    Ok(Some(Fixed::Copies { _work: dir }))
}

fn copy_raw(source: &Path, copy: &Path) -> Result<()> {
    let status = Command::new("cp")
        .arg("--sparse=always")
        .arg(source)
        .arg(copy)
        .status()
        .context("running cp")?;
    if !status.success() {
        bail!(
            "copying `{}` to `{}` failed",
            source.display(),
            copy.display()
        );
    }
    Ok(())
}

/// Writes the disk inside the VHD `source` as the sparse raw image `copy`.
fn vhd_to_raw(source: &Path, copy: &Path) -> Result<()> {
    let disk = vhd::VhdDisk::open(source)?;
    let file = std::fs::File::create_new(copy)
        .with_context(|| format!("creating `{}`", copy.display()))?;
    let mut sink = RawFileSink::new(&file, copy.display().to_string());
    disk_image::copy_disk(
        DiskInput::Random(&disk as &dyn RandomAccessDisk),
        &mut sink as &mut dyn DiskSink,
        disk_image::chunks::default_workers(),
        &NoProgress,
    )
    .with_context(|| format!("converting the VHD `{}` to raw", source.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing `{}`", copy.display()))
}
