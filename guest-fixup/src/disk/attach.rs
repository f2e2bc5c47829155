//! One disk of the guest, attached: an image file on a loop device (loopdev), or a block
//! device used as it is; its partitions added with `partx -a` when the kernel made no nodes
//! (this host's kernel has no partition parsers) and removed with `partx -d` when released.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::error::{GuestFixupError, Result};
use crate::runner::{CommandRunner, HostRunner};

/// An attached disk; [`Attached::release`] (or drop) removes the partition nodes it added and
/// detaches its loop device.
#[derive(Debug)]
pub struct Attached {
    source: PathBuf,
    device: PathBuf,
    loop_device: Option<loopdev::LoopDevice>,
    added_partitions: bool,
}

impl Attached {
    /// Attaches `source` (an image file or a block device), read-only if asked.
    pub fn attach(source: &Path, read_only: bool) -> Result<Self> {
        let meta =
            fs::metadata(source).map_err(|e| GuestFixupError::io("opening the disk", source, e))?;
        let canonical = fs::canonicalize(source)
            .map_err(|e| GuestFixupError::io("opening the disk", source, e))?;
        if meta.file_type().is_block_device() {
            check_not_mounted(&canonical, &canonical)?;
            let mut disk = Self {
                source: canonical.clone(),
                device: canonical,
                loop_device: None,
                added_partitions: false,
            };
            disk.add_partitions()?;
            return Ok(disk);
        }
        if !meta.is_file() {
            return Err(GuestFixupError::NoLinux {
                disks: source.display().to_string(),
                detail: "not an image file or a block device".into(),
            });
        }
        if let Some(device) = loops_backed_by(&canonical)?.into_iter().next() {
            check_not_mounted(&device, &canonical)?;
            return Err(GuestFixupError::Busy {
                device: canonical,
                detail: format!("attached to {}", device.display()),
            });
        }
        let control = loopdev::LoopControl::open()
            .map_err(|e| GuestFixupError::device("opening /dev/loop-control", e))?;
        let mut last = None;
        for _ in 0..5 {
            let device = control
                .next_free()
                .map_err(|e| GuestFixupError::device("finding a free loop device", e))?;
            match device
                .with()
                .read_only(read_only)
                .autoclear(false)
                .attach(&canonical)
            {
                Ok(()) => {
                    let path = device.path().ok_or_else(|| {
                        GuestFixupError::device(
                            "naming the loop device",
                            std::io::ErrorKind::NotFound.into(),
                        )
                    })?;
                    tracing::info!(image = %canonical.display(), device = %path.display(), read_only, "attached");
                    let mut disk = Self {
                        source: canonical,
                        device: path,
                        loop_device: Some(device),
                        added_partitions: false,
                    };
                    disk.add_partitions()?;
                    return Ok(disk);
                }
                // Another process took the same free device between the two calls: retry.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => last = Some(e),
                Err(e) => {
                    return Err(GuestFixupError::device(
                        format!("attaching `{}` to a loop device", canonical.display()),
                        e,
                    ));
                }
            }
        }
        Err(GuestFixupError::device(
            format!("attaching `{}` to a loop device", canonical.display()),
            last.expect("a retry happened"),
        ))
    }

    /// The device (`/dev/loop3`, or the block device itself).
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// The image or device this disk was opened from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The partition nodes that exist for this disk, by number.
    pub fn partitions(&self) -> Result<Vec<(u32, PathBuf)>> {
        let name = self
            .device
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sys = Path::new("/sys/class/block").join(&name);
        let mut parts = Vec::new();
        let entries = fs::read_dir(&sys)
            .map_err(|e| GuestFixupError::io("listing partitions of", &sys, e))?;
        for entry in entries.flatten() {
            let child = entry.file_name().to_string_lossy().into_owned();
            let number = fs::read_to_string(entry.path().join("partition"))
                .ok()
                .and_then(|n| n.trim().parse().ok());
            if let Some(number) = number {
                parts.push((number, PathBuf::from("/dev").join(child)));
            }
        }
        parts.sort();
        Ok(parts)
    }

    /// Adds partition nodes if the kernel made none (partx reads the table; a disk without
    /// one, or with a table partx cannot read, gets none and is probed whole).
    fn add_partitions(&mut self) -> Result<()> {
        if !self.partitions()?.is_empty() {
            return Ok(());
        }
        let argv = ["partx", "-a", &*self.device.to_string_lossy()].map(str::to_owned);
        match HostRunner.run(&argv) {
            Ok(_) => self.added_partitions = !self.partitions()?.is_empty(),
            Err(e) => {
                tracing::info!(device = %self.device.display(), error = %e, "no partitions added");
            }
        }
        Ok(())
    }

    /// Removes the partition nodes it added and detaches the loop device.
    pub fn release(mut self) -> Result<()> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<()> {
        if self.added_partitions {
            self.added_partitions = false;
            HostRunner.run(&["partx", "-d", &*self.device.to_string_lossy()].map(str::to_owned))?;
        }
        if let Some(device) = self.loop_device.take() {
            device.detach().map_err(|e| {
                GuestFixupError::device(format!("detaching {}", self.device.display()), e)
            })?;
            tracing::info!(device = %self.device.display(), "detached");
        }
        Ok(())
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let Err(error) = self.release_inner() {
            tracing::error!(device = %self.device.display(), %error, "could not release a guest disk");
        }
    }
}

/// The loop devices whose backing file is `image`.
fn loops_backed_by(image: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries =
        fs::read_dir("/sys/block").map_err(|e| GuestFixupError::io("listing", "/sys/block", e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        if let Ok(backing) = fs::read_to_string(entry.path().join("loop/backing_file"))
            && Path::new(backing.trim()) == image
        {
            found.push(PathBuf::from("/dev").join(name));
        }
    }
    Ok(found)
}

/// Fails if the device or one of its partitions is mounted.
fn check_not_mounted(device: &Path, source: &Path) -> Result<()> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| GuestFixupError::io("reading", "/proc/self/mountinfo", e))?;
    let device = device.to_string_lossy();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let mounted = fields.get(dash + 2).copied().unwrap_or("");
        let is_partition = mounted.strip_prefix(&*device).is_some_and(|rest| {
            rest.trim_start_matches('p')
                .chars()
                .all(|c| c.is_ascii_digit())
        });
        if mounted == device || is_partition {
            return Err(GuestFixupError::Busy {
                device: source.to_path_buf(),
                detail: format!(
                    "{mounted} is mounted at {}",
                    fields.get(4).copied().unwrap_or("?")
                ),
            });
        }
    }
    Ok(())
}
