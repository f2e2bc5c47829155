//! Mounts as guards, and the chroot environment: the guest's filesystems at its root, then
//! `/proc` and `/sys` bound from the host, and a private `/dev` (a tmpfs holding the standard
//! character devices, the guest's own disk nodes, its logical volumes as `/dev/dm-N`,
//! `/dev/mapper/<vg>-<lv>` and `/dev/<vg>/<lv>`, and `/dev/disk/by-uuid` links). The host has
//! no udev, so without those links grub-mkconfig would write `root=/dev/loopNpM`; binding the
//! host's `/dev` instead would make the links visible to every other process.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, mknod};
use sys_mount::{Mount, MountFlags, UnmountFlags, unmount};

use crate::error::{GuestFixupError, Result};
use crate::facts::{DiskFacts, LvName};

/// A mount this crate made; unmounted by [`MountGuard::unmount`] or on drop.
#[derive(Debug)]
pub struct MountGuard {
    target: Option<PathBuf>,
}

impl MountGuard {
    /// Mounts `source` (`fstype`, `flags`, `data`) at `target`.
    pub fn mount(
        source: &Path,
        target: &Path,
        fstype: &str,
        flags: MountFlags,
        data: Option<&str>,
    ) -> Result<Self> {
        let mut builder = Mount::builder().fstype(fstype).flags(flags);
        if let Some(data) = data {
            builder = builder.data(data);
        }
        builder.mount(source, target).map_err(|e| {
            GuestFixupError::device(
                format!(
                    "mounting `{}` ({fstype}) at `{}`",
                    source.display(),
                    target.display()
                ),
                e,
            )
        })?;
        tracing::debug!(source = %source.display(), target = %target.display(), fstype, "mounted");
        Ok(Self {
            target: Some(target.to_path_buf()),
        })
    }

    /// Bind-mounts `source` at `target`.
    pub fn bind(source: &Path, target: &Path) -> Result<Self> {
        Self::mount(source, target, "none", MountFlags::BIND, None)
    }

    /// Where it is mounted.
    pub fn target(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    /// Unmounts it; if that fails, detaches it lazily (so that the mount it sits on and the
    /// loop device can still go, as on drop) and returns the error.
    pub fn unmount(mut self) -> Result<()> {
        let target = self.target.clone();
        let result = self.unmount_inner();
        if let (Err(error), Some(target)) = (&result, target) {
            let _ = unmount(&target, UnmountFlags::DETACH);
            tracing::error!(target = %target.display(), %error, "could not unmount; detached lazily");
        }
        result
    }

    fn unmount_inner(&mut self) -> Result<()> {
        let Some(target) = self.target.take() else {
            return Ok(());
        };
        // A process the guest's tools left behind (it exits moments after its parent) can
        // keep the mount busy for a little while: retry for up to about two seconds.
        let mut tries = 0;
        loop {
            match unmount(&target, UnmountFlags::empty()) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 10 => {
                    tries += 1;
                    tracing::debug!(target = %target.display(), tries, "busy; retrying the unmount");
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => {
                    return Err(GuestFixupError::device(
                        format!("unmounting `{}`", target.display()),
                        e,
                    ));
                }
            }
        }
        tracing::debug!(target = %target.display(), "unmounted");
        Ok(())
    }
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Some(target) = self.target.clone()
            && let Err(error) = self.unmount_inner()
        {
            // Last resort: detach it lazily so the loop device can still be released.
            let _ = unmount(&target, UnmountFlags::DETACH);
            tracing::error!(target = %target.display(), %error, "could not unmount; detached lazily");
        }
    }
}

/// A logical volume's nodes and links: `dm-N` and `mapper/<vg>-<lv>` nodes of the host's
/// device, `<vg>/<lv>` and `disk/by-uuid/<uuid>` links to it.
fn logical_volume(dev: &Path, host: &Path, lv: &LvName, uuid: Option<&str>) -> Result<()> {
    let io = |what: &'static str, path: &Path, e| GuestFixupError::io(what, path, e);
    let meta = fs::metadata(host).map_err(|e| io("reading", host, e))?;
    let (major, minor) = (
        nix::sys::stat::major(meta.rdev()),
        nix::sys::stat::minor(meta.rdev()),
    );
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let kernel_name = fs::canonicalize(&sys)
        .map_err(|e| io("reading", &sys, e))?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dm_name = lv.dm_name();
    let mode = Mode::from_bits_truncate(meta.mode() & 0o777);
    for dir in ["mapper".to_owned(), lv.vg.clone()] {
        fs::create_dir_all(dev.join(&dir)).map_err(|e| io("creating", &dev.join(&dir), e))?;
    }
    for node in [dev.join(&kernel_name), dev.join("mapper").join(&dm_name)] {
        mknod(&node, SFlag::S_IFBLK, mode, meta.rdev())
            .map_err(|e| io("creating the device node", &node, e.into()))?;
    }
    // The guest's grub-probe and lvm ask device-mapper about the volumes through its control node.
    let control = dev.join("mapper/control");
    if !control.exists() {
        let host = Path::new("/dev/mapper/control");
        let meta = fs::metadata(host).map_err(|e| io("reading", host, e))?;
        mknod(
            &control,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(meta.mode() & 0o777),
            meta.rdev(),
        )
        .map_err(|e| io("creating the device node", &control, e.into()))?;
    }
    let mut links = vec![(
        dev.join(&lv.vg).join(&lv.lv),
        format!("../mapper/{dm_name}"),
    )];
    if let Some(uuid) = uuid {
        links.push((
            dev.join("disk/by-uuid").join(uuid),
            format!("../../mapper/{dm_name}"),
        ));
    }
    for (link, target) in links {
        std::os::unix::fs::symlink(target, &link).map_err(|e| io("creating", &link, e))?;
    }
    Ok(())
}

const CHAR_DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Mounts `/proc`, `/sys` and a private `/dev` under `root`; returns the guards in mount order.
pub fn chroot_environment(root: &Path, facts: &DiskFacts) -> Result<Vec<MountGuard>> {
    let mut guards = Vec::new();
    for dir in ["proc", "sys", "dev"] {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(|e| GuestFixupError::io("creating", &path, e))?;
    }
    guards.push(MountGuard::bind(Path::new("/proc"), &root.join("proc"))?);
    guards.push(MountGuard::bind(Path::new("/sys"), &root.join("sys"))?);
    let dev = root.join("dev");
    guards.push(MountGuard::mount(
        Path::new("tmpfs"),
        &dev,
        "tmpfs",
        MountFlags::NOSUID,
        Some("mode=0755,size=1m"),
    )?);
    populate_dev(&dev, facts)?;
    Ok(guards)
}

fn populate_dev(dev: &Path, facts: &DiskFacts) -> Result<()> {
    let io = |what: &'static str, path: &Path, e| GuestFixupError::io(what, path, e);
    let node = |host: &Path| -> Result<()> {
        let meta = fs::metadata(host).map_err(|e| io("reading", host, e))?;
        let kind = if meta.file_type().is_block_device() {
            SFlag::S_IFBLK
        } else {
            SFlag::S_IFCHR
        };
        let target = dev.join(host.file_name().expect("a device name"));
        mknod(
            &target,
            kind,
            Mode::from_bits_truncate(meta.mode() & 0o777),
            meta.rdev(),
        )
        .map_err(|e| io("creating the device node", &target, e.into()))
    };
    for name in CHAR_DEVICES {
        node(&Path::new("/dev").join(name))?;
    }
    let by_uuid = dev.join("disk/by-uuid");
    fs::create_dir_all(&by_uuid).map_err(|e| io("creating", &by_uuid, e))?;
    for disk in facts.disks.iter().filter_map(|d| d.host_device.as_deref()) {
        node(disk)?;
    }
    for volume in &facts.volumes {
        let Some(host) = volume.host_device.as_deref() else {
            continue;
        };
        if let Some(lv) = &volume.lv {
            logical_volume(dev, host, lv, volume.uuid.as_deref())?;
            continue;
        }
        if !facts
            .disks
            .iter()
            .any(|d| d.host_device.as_deref() == Some(host))
        {
            node(host)?;
        }
        if let Some(uuid) = &volume.uuid {
            let name = host.file_name().expect("a device name").to_string_lossy();
            let link = by_uuid.join(uuid);
            std::os::unix::fs::symlink(format!("../../{name}"), &link)
                .map_err(|e| io("creating", &link, e))?;
        }
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .map_err(|e| io("creating", &dev.join(link), e))?;
    }
    fs::create_dir_all(dev.join("shm")).map_err(|e| io("creating", &dev.join("shm"), e))?;
    Ok(())
}
