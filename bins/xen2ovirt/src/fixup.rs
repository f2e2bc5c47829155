//! `--fixup local`: the guest fixed before its first boot, on a local stage.
//!
//! Each disk's pieces are written into a sparse file of a fresh directory under
//! `--work-dir` (only the data takes space: zero ranges stay holes; the free space is
//! checked against the source's allocated bytes first, and a too-small work directory is
//! refused before anything is read). guest-fixup then attaches the files to loop devices,
//! mounts the guest's root at `--fixup-root`, inspects it, plans the conversion for the
//! source's virtualisation (`xen-pv->kvm-virtio`, `xen-hvm->kvm-virtio`) and applies it;
//! every loop device and mount is released on every path. The fixed files are uploaded
//! from their data ranges, and the stage is removed on every path ([`Stage`]'s drop).
//!
//! A guest in which the inspection finds no Linux (Windows) is refused: its drivers are out
//! of scope (install the virtio drivers in it before the migration and give `--no-fixup`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use disk_image::{FileDisk, Piece, RandomAccessDisk};
use guest_fixup::{Direction, FixOptions, FixReport, GuestFixupError, PlanOptions};
use serde::Serialize;

use crate::source::Virtualisation;

/// How the guest is fixed up before its first boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FixupMode {
    /// Stage the disks in a local sparse work directory, fix them there, upload the result.
    Local,
    /// Upload first, then fix the new disks attached to the oVirt VM xen2ovirt runs on.
    Appliance,
}

/// The conversion for a source's virtualisation.
pub fn direction(virtualisation: Virtualisation) -> Direction {
    match virtualisation {
        Virtualisation::Pv | Virtualisation::Pvh => Direction::XenPvToKvmVirtio,
        Virtualisation::Hvm => Direction::XenHvmToKvmVirtio,
    }
}

/// Slack over the source's allocated bytes the stage needs: a new initramfs, grub files,
/// file-system metadata the fix-up writes.
const SLACK: u64 = 256 << 20;

/// The local stage: a directory of sparse disk files, removed with everything in it when
/// dropped.
pub struct Stage {
    dir: PathBuf,
    disks: Vec<PathBuf>,
}

impl Stage {
    /// A new stage for `disks` disks of the VM `uuid` under `work_dir`, after checking that
    /// the file system there has `needed` bytes (plus slack) free.
    pub fn create(work_dir: &Path, uuid: &str, disks: usize, needed: u64) -> Result<Stage> {
        let stat = nix::sys::statvfs::statvfs(work_dir)
            .with_context(|| format!("the work directory {}", work_dir.display()))?;
        let free = stat.blocks_available() * stat.fragment_size();
        if free < needed + SLACK {
            bail!(
                "the work directory {} has {} MiB free; staging the disks needs {} MiB (their \
                 data, {} MiB, and {} MiB for the fix-up): choose another with --work-dir",
                work_dir.display(),
                free >> 20,
                (needed + SLACK) >> 20,
                needed >> 20,
                SLACK >> 20
            );
        }
        let dir = work_dir.join(format!(
            "xen2ovirt-stage-{}-{}",
            safe(uuid),
            std::process::id()
        ));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let disks = (0..disks)
            .map(|n| dir.join(format!("disk{n}.raw")))
            .collect();
        tracing::info!(stage = %dir.display(), free, needed, "disks staged locally");
        Ok(Stage { dir, disks })
    }

    /// The staged disk files, in the plan's order.
    pub fn disks(&self) -> &[PathBuf] {
        &self.disks
    }

    /// Writes disk `index` (of `size` bytes) from what `produce` hands over; returns what
    /// `produce` returned.
    pub fn write<T>(
        &self,
        index: usize,
        size: u64,
        produce: impl FnOnce(&mut dyn FnMut(Piece) -> Result<()>) -> Result<T>,
    ) -> Result<T> {
        let path = &self.disks[index];
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        file.set_len(size)
            .with_context(|| format!("sizing {}", path.display()))?;
        let produced = produce(&mut |piece| match piece {
            Piece::Data { offset, bytes } => file
                .write_all_at(&bytes, offset)
                .with_context(|| format!("writing {} at offset {offset}", path.display())),
            // A new sparse file reads as zeros; every byte comes once.
            Piece::Zero { .. } => Ok(()),
        })?;
        file.sync_all()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(produced)
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => tracing::info!(stage = %self.dir.display(), "stage removed"),
            Err(error) => {
                tracing::error!(stage = %self.dir.display(), %error, "could not remove the stage: remove it by hand");
            }
        }
    }
}

/// A UUID or name as one path component.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// Inspects, plans and (unless `dry_run`) applies the fix-up of the guest on `disks`,
/// mounting it at `root`.
pub fn fix(
    disks: &[PathBuf],
    direction: &Direction,
    root: &Path,
    dry_run: bool,
) -> Result<FixReport> {
    let options = FixOptions {
        plan: PlanOptions::default(),
        dry_run,
        root: root.to_path_buf(),
    };
    match guest_fixup::fix(disks, direction, &options) {
        Ok(report) => Ok(report),
        Err(error @ GuestFixupError::NoLinux { .. }) => Err(anyhow::Error::new(error).context(
            "the guest is not Linux (Windows?): xen2ovirt fixes Linux guests only; install \
             the virtio drivers in a Windows guest before the migration (the virtio-win \
             drivers, and remove the Xen PV drivers), then migrate it with --no-fixup",
        )),
        Err(error) => Err(anyhow::Error::new(error).context(format!(
            "fixing the guest up for KVM ({})",
            direction_name(direction)
        ))),
    }
}

/// The direction as the command line of guest-fixup spells it.
pub fn direction_name(direction: &Direction) -> &'static str {
    match direction {
        Direction::XenPvToKvmVirtio => "xen-pv->kvm-virtio",
        Direction::XenHvmToKvmVirtio => "xen-hvm->kvm-virtio",
        _ => "another direction",
    }
}

/// The pieces of a staged (fixed) disk: its data ranges read in 4 MiB pieces, the rest as
/// zero ranges. Returns the bytes read.
pub fn staged_pieces(path: &Path, push: &mut dyn FnMut(Piece) -> Result<()>) -> Result<u64> {
    const PIECE: u64 = 4 << 20;
    let disk = FileDisk::open(path)?;
    let size = disk.size();
    let ranges = disk
        .data_ranges()
        .with_context(|| format!("mapping {}", path.display()))?;
    let (mut at, mut read) = (0, 0);
    for range in ranges {
        let (start, end) = (range.start.min(size), range.end.min(size));
        if start > at {
            push(Piece::Zero {
                offset: at,
                len: start - at,
            })?;
        }
        let mut offset = start.max(at);
        while offset < end {
            let len = (end - offset).min(PIECE);
            let mut bytes = vec![0u8; usize::try_from(len)?];
            disk.read_exact_at(&mut bytes, offset)
                .with_context(|| format!("reading {} at offset {offset}", path.display()))?;
            push(Piece::Data { offset, bytes })?;
            offset += len;
            read += len;
        }
        at = at.max(end);
    }
    if at < size {
        push(Piece::Zero {
            offset: at,
            len: size - at,
        })?;
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_written_sparse_read_back_as_pieces_and_removed() {
        let work = tempfile::tempdir().unwrap();
        let stage = Stage::create(work.path(), "uuid/../x", 1, 1 << 20).unwrap();
        let size = 16u64 << 20;
        stage
            .write(0, size, |push| {
                push(Piece::Zero {
                    offset: 0,
                    len: 8 << 20,
                })?;
                push(Piece::Data {
                    offset: 8 << 20,
                    bytes: vec![7; 4096],
                })?;
                push(Piece::Zero {
                    offset: (8 << 20) + 4096,
                    len: size - (8 << 20) - 4096,
                })
            })
            .unwrap();
        let path = stage.disks()[0].clone();
        assert!(path.starts_with(work.path()), "{}", path.display());
        let mut pieces = Vec::new();
        let read = staged_pieces(&path, &mut |p| {
            pieces.push(p);
            Ok(())
        })
        .unwrap();
        assert!(read >= 4096 && read < size, "{read}");
        let covered: u64 = pieces.iter().map(Piece::len).sum();
        assert_eq!(covered, size);
        let data: Vec<u8> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Data { offset, bytes } if *offset <= 8 << 20 && p.end() > 8 << 20 => {
                    Some(bytes[usize::try_from((8 << 20) - offset).unwrap()])
                }
                _ => None,
            })
            .collect();
        assert_eq!(data, [7]);
        drop(stage);
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_work_directory_without_the_space_is_refused() {
        let work = tempfile::tempdir().unwrap();
        let error = Stage::create(work.path(), "u", 1, u64::MAX / 4)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("--work-dir"), "{error}");
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
    }
}
