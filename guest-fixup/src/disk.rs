//! The device layer: a guest's disks attached ([`Attached`], loop devices and partition nodes), probed, its
//! volume groups activated where the host has device-mapper ([`lvm`]), its root filesystem
//! found and mounted with the filesystems its fstab lists, and a chroot environment set up
//! ([`MountGuard`]s). [`Guest`] owns every loop device, partition node, activated volume
//! group and mount it made; [`Guest::close`] (or drop, on any failure path or a panic)
//! releases them in reverse: mounts, then volume groups, then disks.

mod attach;
pub mod lvm;
mod mounts;
mod probe;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sys_mount::MountFlags;

pub use attach::Attached;
pub use mounts::MountGuard;

use crate::apply::ApplyContext;
use crate::direction::Target;
use crate::error::{GuestFixupError, Result};
use crate::facts::{Content, DiskFacts, Volume};
use crate::fs::{DirFs, GuestFs};
use crate::inspect;
use crate::runner::{ChrootRunner, CommandRunner, HostRunner};

/// Where the seed mounts a guest (oVirtSimpleBackup's `/mnt/linux`); tests use temp dirs.
pub const DEFAULT_ROOT: &str = "/mnt/linux";

/// How to open a guest.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Attach and mount read-only (inspect and plan only).
    pub read_only: bool,
    /// Where to mount the guest's root.
    pub root: PathBuf,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            root: PathBuf::from(DEFAULT_ROOT),
        }
    }
}

/// A guest's disks, attached and mounted at a root.
#[derive(Debug)]
pub struct Guest {
    root: PathBuf,
    facts: DiskFacts,
    mounts: Vec<MountGuard>,
    groups: Vec<lvm::VgGuard>,
    /// Why the guest's volume groups were not activated (no device-mapper), if it has any.
    no_device_mapper: Option<String>,
    disks: Vec<Attached>,
}

impl Guest {
    /// Attaches `disks` (image files or block devices, in the order the guest has them),
    /// activates the volume groups on them where the host has device-mapper ([`lvm`]), finds
    /// the root filesystem, mounts it and its fstab filesystems at `options.root`, and sets up
    /// `/proc`, `/sys` and a private `/dev` for chroot work (not when read-only).
    pub fn open(disks: &[PathBuf], options: &OpenOptions) -> Result<Self> {
        let _span = tracing::info_span!("open guest", disks = ?disks).entered();
        let mut attached = Vec::new();
        for disk in disks {
            attached.push(Attached::attach(disk, options.read_only)?);
        }
        let facts = probe::probe(&attached)?;
        let mut guest = Self {
            root: options.root.clone(),
            facts,
            mounts: Vec::new(),
            groups: Vec::new(),
            no_device_mapper: None,
            disks: attached,
        };
        guest.activate_volume_groups(options.read_only)?;
        std::fs::create_dir_all(&guest.root)
            .map_err(|e| GuestFixupError::io("creating the mount point", &guest.root, e))?;
        let root_volume = guest.find_root()?;
        let flags = if options.read_only {
            MountFlags::RDONLY
        } else {
            MountFlags::empty()
        };
        guest.mounts.push(mount_volume(
            &root_volume,
            &guest.root,
            flags,
            options.read_only,
        )?);
        guest.mount_fstab(flags, options.read_only)?;
        if !options.read_only {
            let env = mounts::chroot_environment(&guest.root, &guest.facts)?;
            guest.mounts.extend(env);
        }
        tracing::info!(root = %guest.root.display(), mounts = guest.mounts.len(), "guest open");
        Ok(guest)
    }

    /// The guest's files.
    pub fn fs(&self) -> DirFs {
        DirFs::new(&self.root)
    }

    /// Where the guest's root is mounted.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What the disks hold.
    pub fn facts(&self) -> &DiskFacts {
        &self.facts
    }

    /// Runs the guest's tools in its root.
    pub fn chroot(&self) -> ChrootRunner {
        ChrootRunner::new(&self.root)
    }

    /// What [`crate::apply()`] needs to act on these disks, for a conversion to `target`.
    pub fn apply_context<'a>(
        &self,
        guest: &'a dyn CommandRunner,
        host: &'a dyn CommandRunner,
        target: Option<Target>,
    ) -> ApplyContext<'a> {
        ApplyContext {
            guest,
            host,
            disks: self
                .disks
                .iter()
                .map(|d| d.device().to_path_buf())
                .collect(),
            host_names: self
                .facts
                .volumes
                .iter()
                    // A logical volume's host name is the guest's (`/dev/mapper/vg-lv`).
                .filter(|v| v.lv.is_none())
                .filter_map(|v| {
                    Some((
                        v.host_device.clone()?,
                        crate::plan::target_name(target, v.disk, v.partition),
                    ))
                })
                .collect(),
        }
    }

    /// The guest's volume groups this open activated (deactivated again by close or drop).
    pub fn volume_groups(&self) -> Vec<&str> {
        self.groups.iter().map(lvm::VgGuard::name).collect()
    }

    /// Unmounts everything (in reverse order), deactivates the volume groups it activated and
    /// releases the disks; the first error is returned after every release was tried.
    pub fn close(mut self) -> Result<()> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        let mut first = None;
        while let Some(mount) = self.mounts.pop() {
            if let Err(e) = mount.unmount() {
                first.get_or_insert(e);
            }
        }
        while let Some(group) = self.groups.pop() {
            if let Err(e) = group.deactivate() {
                first.get_or_insert(e);
            }
        }
        while let Some(disk) = self.disks.pop() {
            if let Err(e) = disk.release() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Activates the volume groups on the guest's physical volumes when the host has
    /// device-mapper, and adds their logical volumes to the facts; without device-mapper,
    /// notes why (an error only if the root is not found elsewhere).
    fn activate_volume_groups(&mut self, read_only: bool) -> Result<()> {
        let pvs: Vec<(usize, PathBuf)> = self
            .facts
            .volumes
            .iter()
            .filter(|v| v.content == Content::LvmMember)
            .filter_map(|v| Some((v.disk, v.host_device.clone()?)))
            .collect();
        if pvs.is_empty() {
            return Ok(());
        }
        if let Err(detail) = lvm::device_mapper() {
            tracing::warn!(%detail, "the guest has LVM physical volumes and this host no device-mapper");
            self.no_device_mapper = Some(detail);
            return Ok(());
        }
        let volumes = lvm::activate_all(Arc::new(HostRunner), &pvs, read_only, &mut self.groups)?;
        self.facts.volumes.extend(volumes);
        Ok(())
    }

    /// The volume holding `/etc/fstab` and a release file.
    fn find_root(&self) -> Result<Volume> {
        let probe_dir = tempdir_in(&self.root)?;
        let found = self.find_root_at(&probe_dir);
        let _ = std::fs::remove_dir(&probe_dir);
        found
    }

    fn find_root_at(&self, probe_dir: &Path) -> Result<Volume> {
        let mut seen = Vec::new();
        for volume in &self.facts.volumes {
            seen.push(format!(
                "{}: {}",
                volume
                    .host_device
                    .as_deref()
                    .unwrap_or(Path::new("?"))
                    .display(),
                describe(&volume.content)
            ));
            if !matches!(volume.content, Content::Filesystem(_)) {
                continue;
            }
            let guard = mount_volume(volume, probe_dir, MountFlags::RDONLY, true)?;
            let fs = DirFs::new(probe_dir);
            let is_root = fs.exists("/etc/fstab")? && inspect::OsInfo::detect(&fs)?.is_some();
            guard.unmount()?;
            if is_root {
                return Ok(volume.clone());
            }
        }
        let disks = self
            .disks
            .iter()
            .map(|d| d.source().display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let pv = self
            .facts
            .volumes
            .iter()
            .find(|v| v.content == Content::LvmMember);
        if let (Some(pv), Some(detail)) = (pv, &self.no_device_mapper) {
            return Err(GuestFixupError::NoDeviceMapper {
                device: pv.host_device.clone().unwrap_or_default(),
                detail: detail.clone(),
            });
        }
        Err(GuestFixupError::NoLinux {
            disks,
            detail: if seen.is_empty() {
                "no volumes".into()
            } else {
                seen.join("; ")
            },
        })
    }

    /// Mounts the fstab filesystems that live on the guest's disks, shallowest first.
    fn mount_fstab(&mut self, flags: MountFlags, read_only: bool) -> Result<()> {
        let fs = self.fs();
        let entries = inspect::parse_fstab(&fs.read_text("/etc/fstab")?.unwrap_or_default());
        let mut wanted: Vec<(usize, String, Volume)> = Vec::new();
        let mut used = BTreeSet::new();
        for entry in entries {
            if entry.mount_point == "/"
                || !entry.mount_point.starts_with('/')
                || entry.is_swap()
                || entry.options.split(',').any(|o| o == "noauto")
            {
                continue;
            }
            let volume = if let Some(uuid) = entry.spec.strip_prefix("UUID=") {
                self.facts.by_uuid(uuid)
            } else if let Some(label) = entry.spec.strip_prefix("LABEL=") {
                self.facts.by_label(label)
            } else {
                inspect::dev_name(&entry.spec)
                    .and_then(|n| self.facts.volume(n))
                    .or_else(|| self.facts.by_lv_path(&entry.spec))
            };
            let Some(volume) = volume.filter(|v| matches!(v.content, Content::Filesystem(_)))
            else {
                continue;
            };
            if used.insert(volume.key()) {
                wanted.push((
                    entry.mount_point.matches('/').count(),
                    entry.mount_point.clone(),
                    volume.clone(),
                ));
            }
        }
        wanted.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (_, mount_point, volume) in wanted {
            let target = fs.host_path(&mount_point)?;
            std::fs::create_dir_all(&target)
                .map_err(|e| GuestFixupError::io("creating the mount point", &target, e))?;
            self.mounts
                .push(mount_volume(&volume, &target, flags, read_only)?);
        }
        Ok(())
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Err(error) = self.release() {
            tracing::error!(root = %self.root.display(), %error, "could not release the guest");
        }
    }
}

fn describe(content: &Content) -> String {
    match content {
        Content::Filesystem(t) => format!("{t} without /etc/fstab and a release file"),
        Content::Swap => "swap".into(),
        Content::LvmMember => "an LVM physical volume".into(),
        Content::Empty => "no signature".into(),
        Content::Other(o) => o.clone(),
    }
}

/// Mounts a volume; read-only mounts never replay a journal (the image stays unchanged).
fn mount_volume(
    volume: &Volume,
    target: &Path,
    flags: MountFlags,
    read_only: bool,
) -> Result<MountGuard> {
    let Content::Filesystem(fstype) = &volume.content else {
        return Err(GuestFixupError::NoLinux {
            disks: format!("disk {}", volume.disk),
            detail: "not a filesystem".into(),
        });
    };
    let device = volume
        .host_device
        .as_deref()
        .expect("probed volumes have a device");
    let data = match (read_only, fstype.as_str()) {
        (true, "ext3" | "ext4") => Some("noload"),
        (true, "xfs") => Some("norecovery"),
        _ => None,
    };
    MountGuard::mount(device, target, fstype, flags, data)
}

/// A fresh empty directory next to `root` for probing volumes.
fn tempdir_in(root: &Path) -> Result<PathBuf> {
    let base = root.parent().unwrap_or(Path::new("/tmp"));
    let name = root
        .file_name()
        .map_or_else(|| "guest".into(), |n| n.to_string_lossy().into_owned());
    for n in 0..1000 {
        let path = base.join(format!(".{name}.probe-{}-{n}", std::process::id()));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(GuestFixupError::io("creating a probe directory", &path, e)),
        }
    }
    Err(GuestFixupError::io(
        "creating a probe directory",
        base,
        std::io::ErrorKind::AlreadyExists.into(),
    ))
}
