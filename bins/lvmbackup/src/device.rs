//! The backup device (`BCKDEV` on `BCKMNTP`): mounted for the run if it is not mounted
//! there already, and unmounted at the end only if this run mounted it (xenbackup unmounts
//! it whoever mounted it). A device that cannot be mounted stops the run: the archives
//! would otherwise fill the directory under the mount point, on dom0's own disk.

use std::fs;
use std::path::{Path, PathBuf};

use sys_mount::{Mount, MountFlags, Unmount, UnmountFlags};

use crate::config::BackupDevice;
use crate::error::{LvmBackupError, Result};

/// The backup device for the run: unmounted when dropped if this run mounted it.
#[derive(Debug)]
pub struct BackupMount {
    target: PathBuf,
    mount: Option<Mount>,
}

impl BackupMount {
    /// Mounts `device` on `target` unless something is mounted there already.
    pub fn ensure(device: &BackupDevice, target: &Path) -> Result<Self> {
        if is_mount_point(target)? {
            tracing::info!(target = %target.display(), "the backup device is mounted already; left as it is");
            return Ok(BackupMount {
                target: target.to_owned(),
                mount: None,
            });
        }
        let mount = Mount::builder()
            .fstype(device.fstype.as_str())
            .flags(MountFlags::NOATIME)
            .mount(&device.device, target)
            .map_err(LvmBackupError::io(format!(
                "mounting the backup device {} ({}) on {}",
                device.device.display(),
                device.fstype,
                target.display()
            )))?;
        tracing::info!(device = %device.device.display(), target = %target.display(), "backup device mounted");
        Ok(BackupMount {
            target: target.to_owned(),
            mount: Some(mount),
        })
    }

    /// Whether this run mounted it.
    pub fn mounted_by_us(&self) -> bool {
        self.mount.is_some()
    }

    /// Unmounts it if this run mounted it, reporting failure.
    pub fn finish(mut self) -> Result<()> {
        match self.mount.take() {
            Some(mount) => mount
                .unmount(UnmountFlags::empty())
                .map_err(LvmBackupError::io(format!(
                    "unmounting {}",
                    self.target.display()
                ))),
            None => Ok(()),
        }
    }
}

impl Drop for BackupMount {
    fn drop(&mut self) {
        if let Some(mount) = self.mount.take()
            && let Err(error) = mount.unmount(UnmountFlags::empty())
        {
            tracing::error!(target = %self.target.display(), %error, "could not unmount the backup device");
        }
    }
}

/// Whether `path` is a mount point in this process's mount namespace.
pub fn is_mount_point(path: &Path) -> Result<bool> {
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(LvmBackupError::io("reading /proc/self/mountinfo"))?;
    let path = fs::canonicalize(path)
        .map_err(LvmBackupError::io(format!("resolving {}", path.display())))?;
    Ok(mount_points(&info).any(|m| m == path))
}

fn mount_points(info: &str) -> impl Iterator<Item = PathBuf> + '_ {
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| {
            PathBuf::from(
                field
                    .replace("\\040", " ")
                    .replace("\\011", "\t")
                    .replace("\\134", "\\"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_read_from_mountinfo() {
        let info = "22 1 0:21 / / rw - tmpfs tmp rw\n\
                    31 22 8:19 / /backup/my\\040guests rw,relatime - ext4 /dev/sdb3 rw\n";
        let points: Vec<PathBuf> = mount_points(info).collect();
        assert_eq!(
            points,
            [PathBuf::from("/"), PathBuf::from("/backup/my guests")]
        );
        assert!(is_mount_point(Path::new("/")).unwrap());
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mount_point(dir.path()).unwrap());
    }
}
