//! Read-only mounts of snapshots, as guards. The options depend on the file system: a
//! snapshot of a mounted ext3/ext4 volume is mounted `ro,noload` (its journal is not
//! replayed: that would write into the snapshot), XFS `ro,nouuid,norecovery` (its UUID is
//! the mounted origin's, and log recovery writes); any other file system gets the user's
//! options. Always read-only: `rw` is refused. `unmount` unmounts and reports failure;
//! `Drop` is the backstop, and detaches lazily when the mount is busy so that nothing of
//! ours stays in the mount table.

use std::fs;
use std::path::{Path, PathBuf};

use sys_mount::{Mount, MountFlags, Unmount, UnmountFlags};

use crate::error::{LvmError, Result};

/// The flags and file-system data a read-only mount of `fstype` gets from the user's
/// `options` (comma-separated, as in fstab).
pub fn read_only_options(
    device: &Path,
    fstype: &str,
    options: &str,
) -> Result<(MountFlags, String)> {
    let mut flags = MountFlags::RDONLY;
    let mut data: Vec<&str> = Vec::new();
    for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let refuse = |problem| LvmError::MountOption {
            device: device.to_owned(),
            option: option.to_owned(),
            problem,
        };
        match option {
            "rw" => return Err(refuse("a snapshot is only ever mounted read-only")),
            "remount" | "bind" | "rbind" | "move" | "loop" => {
                return Err(refuse("not an option of a plain device mount"));
            }
            "ro" | "defaults" | "async" | "atime" | "diratime" | "dev" | "suid" | "exec"
            | "auto" | "noauto" | "nouser" => {}
            "noatime" => flags |= MountFlags::NOATIME,
            "nodiratime" => flags |= MountFlags::NODIRATIME,
            "relatime" => flags |= MountFlags::RELATIME,
            "strictatime" => flags |= MountFlags::STRICTATIME,
            "nodev" => flags |= MountFlags::NODEV,
            "nosuid" => flags |= MountFlags::NOSUID,
            "noexec" => flags |= MountFlags::NOEXEC,
            "sync" => flags |= MountFlags::SYNCHRONOUS,
            "dirsync" => flags |= MountFlags::DIRSYNC,
            other => {
                if !data.contains(&other) {
                    data.push(other);
                }
            }
        }
    }
    let ours: &[&str] = match fstype {
        "ext3" | "ext4" => &["noload"],
        "xfs" => &["nouuid", "norecovery"],
        _ => &[],
    };
    for option in ours {
        if !data.contains(option) {
            data.push(option);
        }
    }
    Ok((flags, data.join(",")))
}

/// A read-only mount, unmounted when dropped. The lifetime ties it to the snapshot it
/// mounts: the snapshot cannot be removed while the mount exists.
#[derive(Debug)]
pub struct ReadOnlyMount<'s> {
    mount: Option<Mount>,
    device: PathBuf,
    target: PathBuf,
    _snapshot: std::marker::PhantomData<&'s ()>,
}

impl ReadOnlyMount<'_> {
    /// Mounts `device` (a file system of type `fstype`) read-only on `target`.
    pub(crate) fn new(device: &Path, target: &Path, fstype: &str, options: &str) -> Result<Self> {
        let (flags, data) = read_only_options(device, fstype, options)?;
        let mount = Mount::builder()
            .fstype(fstype)
            .flags(flags)
            .data(&data)
            .mount(device, target)
            .map_err(|source| LvmError::Io {
                action: format!(
                    "mounting {} ({fstype}, ro,{data}) on {}",
                    device.display(),
                    target.display()
                ),
                source,
            })?;
        tracing::debug!(device = %device.display(), target = %target.display(), fstype, data, "snapshot mounted");
        Ok(ReadOnlyMount {
            mount: Some(mount),
            device: device.to_owned(),
            target: target.to_owned(),
            _snapshot: std::marker::PhantomData,
        })
    }

    /// Where it is mounted.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The device it mounts.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Unmounts now. On failure the error is returned and the mount is detached lazily.
    pub fn unmount(mut self) -> Result<()> {
        let Some(mount) = self.mount.take() else {
            return Ok(());
        };
        match mount.unmount(UnmountFlags::empty()) {
            Ok(()) => Ok(()),
            Err(source) => {
                self.mount = Some(mount);
                Err(LvmError::Io {
                    action: format!("unmounting {}", self.target.display()),
                    source,
                })
            }
        }
    }
}

impl Drop for ReadOnlyMount<'_> {
    fn drop(&mut self) {
        if let Some(mount) = self.mount.take()
            && let Err(error) = mount.unmount(UnmountFlags::empty())
        {
            tracing::error!(target = %self.target.display(), %error, "could not unmount a snapshot; detaching it lazily");
            if let Err(error) = mount.unmount(UnmountFlags::DETACH) {
                tracing::error!(target = %self.target.display(), %error, "could not detach a snapshot mount");
            }
        }
    }
}

/// The mount points (in this process's mount namespace) of the file system on device
/// `major:minor`, read from /proc/self/mountinfo.
pub fn mounts_of(major: u32, minor: u32) -> Result<Vec<PathBuf>> {
    let text = fs::read_to_string("/proc/self/mountinfo").map_err(|source| LvmError::Io {
        action: "reading /proc/self/mountinfo".into(),
        source,
    })?;
    Ok(mounts_in(&text, major, minor))
}

fn mounts_in(mountinfo: &str, major: u32, minor: u32) -> Vec<PathBuf> {
    let wanted = format!("{major}:{minor}");
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let device = fields.nth(2)?;
            let target = fields.nth(1)?;
            (device == wanted).then(|| PathBuf::from(unescape(target)))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(octal) = field.get(i + 1..i + 4)
            && octal.bytes().all(|b| (b'0'..=b'7').contains(&b))
            && let Ok(byte) = u8::from_str_radix(octal, 8)
        {
            out.push(byte);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(fstype: &str, user: &str) -> (MountFlags, String) {
        read_only_options(Path::new("/dev/vg0/x.back"), fstype, user).unwrap()
    }

    #[test]
    fn each_file_system_gets_its_read_only_options() {
        assert_eq!(
            options("ext4", "ro,noatime"),
            (MountFlags::RDONLY | MountFlags::NOATIME, "noload".into())
        );
        assert_eq!(options("ext3", ""), (MountFlags::RDONLY, "noload".into()));
        assert_eq!(
            options("xfs", "ro"),
            (MountFlags::RDONLY, "nouuid,norecovery".into())
        );
        assert_eq!(
            options("xfs", "nouuid,logbufs=8"),
            (MountFlags::RDONLY, "nouuid,logbufs=8,norecovery".into())
        );
        assert_eq!(
            options("ufs", "ro,ufstype=44bsd"),
            (MountFlags::RDONLY, "ufstype=44bsd".into())
        );
        assert_eq!(
            options("btrfs", "nodev,nosuid,noexec,subvol=root"),
            (
                MountFlags::RDONLY | MountFlags::NODEV | MountFlags::NOSUID | MountFlags::NOEXEC,
                "subvol=root".into()
            )
        );
    }

    #[test]
    fn writable_or_foreign_mounts_are_refused() {
        for user in ["rw", "ro,rw", "remount", "bind", "loop"] {
            let error = read_only_options(Path::new("/dev/vg0/x.back"), "ext4", user).unwrap_err();
            assert!(
                matches!(error, LvmError::MountOption { .. }),
                "{user}: {error}"
            );
        }
    }

    #[test]
    fn mountinfo_lines_are_matched_by_device_number() {
        let info = "22 1 0:21 / / rw - tmpfs tmp rw\n\
                    31 22 253:3 / /4backup/web\\040one/root ro,relatime - ext4 /dev/mapper/vg0-web.back ro,noload\n\
                    32 22 253:30 / /other rw - ext4 /dev/vdb rw\n";
        assert_eq!(
            mounts_in(info, 253, 3),
            [PathBuf::from("/4backup/web one/root")]
        );
        assert!(mounts_in(info, 253, 4).is_empty());
    }
}
