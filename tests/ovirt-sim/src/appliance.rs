//! The backup appliance's view of an attached disk: a real loop device holding the disk's
//! bytes, linked as `<by-id dir>/virtio-<first 20 characters of the disk id>` (the serial a
//! virtio disk shows in a guest), released on detach and when the simulator stops.
//!
//! A disk attached as itself (one raw volume) is looped directly, so writes reach the disk;
//! a disk attached as a snapshot (or held in qcow2) is first converted into a scratch raw
//! copy, which plays the writable overlay vdsm puts above a snapshot and drops on unplug.
//! The loop device is made with util-linux's `losetup` (`--find --show`), which owns the
//! loop-control protocol.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::SimError;

/// An attached disk's loop device and by-id link; released on drop.
#[derive(Debug)]
pub(crate) struct LoopDevice {
    device: PathBuf,
    link: PathBuf,
    scratch: Option<PathBuf>,
}

/// The serial of a disk as a virtio guest sees it.
pub(crate) fn serial(disk_id: &str) -> String {
    disk_id.chars().take(20).collect()
}

impl LoopDevice {
    /// Loops `backing` (a raw file) and links it in `by_id` for `disk_id`; `scratch` is a
    /// copy to remove on release.
    pub(crate) fn attach(
        backing: &Path,
        scratch: Option<PathBuf>,
        by_id: &Path,
        disk_id: &str,
    ) -> Result<LoopDevice, SimError> {
        let output = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(backing)
            .output()
            .map_err(|e| SimError::Tool {
                command: "losetup".to_owned(),
                detail: format!("{e}: install util-linux"),
            })?;
        if !output.status.success() {
            return Err(SimError::Tool {
                command: format!("losetup --find --show {}", backing.display()),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let device = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let link = by_id.join(format!("virtio-{}", serial(disk_id)));
        let mut guard = LoopDevice {
            device,
            link: PathBuf::new(),
            scratch,
        };
        fs::create_dir_all(by_id)
            .map_err(|e| SimError::io(format!("creating {}", by_id.display()), e))?;
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&guard.device, &link)
            .map_err(|e| SimError::io(format!("linking {}", link.display()), e))?;
        guard.link = link;
        tracing::info!(device = %guard.device.display(), link = %guard.link.display(), "disk attached to the appliance");
        Ok(guard)
    }

    /// The loop device (`/dev/loopN`).
    pub(crate) fn device(&self) -> &Path {
        &self.device
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if !self.link.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.link);
        }
        let detached = Command::new("losetup")
            .arg("--detach")
            .arg(&self.device)
            .status();
        if !matches!(detached, Ok(status) if status.success()) {
            tracing::warn!(device = %self.device.display(), "cannot detach the loop device");
        }
        if let Some(scratch) = &self.scratch {
            let _ = fs::remove_file(scratch);
        }
    }
}
