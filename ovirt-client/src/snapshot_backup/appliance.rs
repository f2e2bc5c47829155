//! `mode=appliance`: the backup runs on a VM inside oVirt (the appliance), attaches each
//! snapshot disk to itself, reads it as a local block device, and detaches it.
//!
//! - The appliance's own VM id is given, or read from the SMBIOS uuid the engine gives
//!   its VMs ([`Appliance::this_vm`], `/sys/class/dmi/id/product_uuid`).
//! - The attached disk is found by its serial under a by-id directory, never by device
//!   letter: a virtio disk shows the first 20 characters of the disk id as its serial
//!   (`virtio-<serial>`), a virtio-scsi one as `scsi-0QEMU_QEMU_HARDDISK_<serial>`. The
//!   wait for it has a deadline; a disk that never shows up is detached and the backup
//!   fails.
//! - The device is read front to back in pieces; all-zero blocks are not handed to the
//!   sink (a sparse sink leaves holes), so the backup follows the data, not the size.
//! - Only what this run attached is detached, always as a plain detach
//!   (`detach_only=true`): removing a snapshot disk would remove the original disk.
//! - [`Appliance::attach_disk`] plugs a disk itself (not a snapshot) the same way, for a
//!   migration that fixes a new disk up through its device before the first boot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use disk_image::{DiskSink, FileDisk, Progress, RandomAccessDisk, is_zero};

use super::{SnapshotBackup, SnapshotDisk};
use crate::connection::Connection;
use crate::error::{OvirtError, Result};
use crate::types::DiskInterface;

/// Where SMBIOS tells a VM its own id.
pub const PRODUCT_UUID: &str = "/sys/class/dmi/id/product_uuid";
/// Where udev links disks by serial.
pub const BY_ID_DIR: &str = "/dev/disk/by-id";

/// Zero detection granularity.
const BLOCK: usize = 64 << 10;
/// Bytes read at a time.
const PIECE: usize = 4 << 20;

/// The VM a backup runs on, and how disks are plugged into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appliance {
    /// Its VM id.
    pub vm: String,
    /// Where its disks appear by serial ([`BY_ID_DIR`]).
    pub by_id_dir: PathBuf,
    /// The bus to plug snapshot disks on.
    pub interface: DiskInterface,
    /// How long an attached disk may take to appear.
    pub appear_timeout: Duration,
}

impl Appliance {
    /// The appliance `vm`, disks on virtio under [`BY_ID_DIR`], a minute to appear.
    pub fn new(vm: impl Into<String>) -> Appliance {
        Appliance {
            vm: vm.into(),
            by_id_dir: PathBuf::from(BY_ID_DIR),
            interface: DiskInterface::Virtio,
            appear_timeout: Duration::from_secs(60),
        }
    }

    /// The id of the VM this runs on, from its SMBIOS product uuid (`product_uuid`:
    /// [`PRODUCT_UUID`], another path in tests), lower-cased as the engine writes ids.
    pub fn this_vm(product_uuid: &Path) -> Result<String> {
        let text = std::fs::read_to_string(product_uuid).map_err(|source| OvirtError::Io {
            what: format!(
                "reading this VM's id from {} (run on the oVirt VM, or give its id)",
                product_uuid.display()
            ),
            source,
        })?;
        let id = text.trim().to_ascii_lowercase();
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(OvirtError::Failed {
                what: format!("reading this VM's id from {}", product_uuid.display()),
                state: format!("`{id}` is not a uuid"),
            });
        }
        Ok(id)
    }

    /// The by-id path of a disk plugged on this appliance's bus.
    pub fn device_of(&self, disk_id: &str) -> PathBuf {
        let serial: String = disk_id.chars().take(20).collect();
        let name = match self.interface {
            DiskInterface::VirtioScsi => format!("scsi-0QEMU_QEMU_HARDDISK_{serial}"),
            _ => format!("virtio-{serial}"),
        };
        self.by_id_dir.join(name)
    }
}

/// What an appliance read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplianceSummary {
    /// The disk size.
    pub size: u64,
    /// Bytes handed to the sink (the rest was zero).
    pub data_bytes: u64,
}

/// A disk attached to the appliance by this run, with its device: detached when dropped
/// (a plain detach: the disk stays), unless [`ApplianceDisk::detach`] did it.
pub struct ApplianceDisk<'c> {
    connection: &'c Connection,
    vm: String,
    disk: String,
    device: PathBuf,
    open: bool,
}

impl ApplianceDisk<'_> {
    /// The device under the by-id directory.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Detaches now.
    pub fn detach(mut self) -> Result<()> {
        self.detach_now()
    }

    fn detach_now(&mut self) -> Result<()> {
        self.open = false;
        match self.connection.detach_disk(&self.vm, &self.disk) {
            Ok(()) => {
                tracing::info!(appliance = %self.vm, disk = %self.disk, "disk detached from the appliance");
                Ok(())
            }
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }
}

impl Drop for ApplianceDisk<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.detach_now()
        {
            tracing::error!(appliance = %self.vm, disk = %self.disk, %error, "could not detach a disk from the appliance; the next run's leftover sweep will");
        }
    }
}

impl Appliance {
    /// Attaches the disk `disk` itself (a disk this run made, such as a migrated disk to
    /// fix up before its first boot: writes reach it) to the appliance, and waits until
    /// its device shows up. `stop` ends the wait with [`OvirtError::Cancelled`].
    pub fn attach_disk<'c>(
        &self,
        connection: &'c Connection,
        disk: &str,
        stop: Option<&AtomicBool>,
    ) -> Result<ApplianceDisk<'c>> {
        connection.attach_disk(&self.vm, disk, self.interface, false)?;
        self.plugged(connection, disk, stop)
    }

    /// The guard of a disk just attached: waits for its device (detaching it if the wait
    /// fails).
    fn plugged<'c>(
        &self,
        connection: &'c Connection,
        disk: &str,
        stop: Option<&AtomicBool>,
    ) -> Result<ApplianceDisk<'c>> {
        let mut attached = ApplianceDisk {
            connection,
            vm: self.vm.clone(),
            disk: disk.to_owned(),
            device: self.device_of(disk),
            open: true,
        };
        tracing::info!(appliance = %self.vm, disk, "disk attached to the appliance");
        let what = format!("disk {disk} showing up on the appliance {}", self.vm);
        let started = Instant::now();
        let (_, pause) = connection.poll_intervals();
        while !attached.device.exists() {
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(OvirtError::Cancelled { what });
            }
            if started.elapsed() >= self.appear_timeout {
                let error = OvirtError::Timeout {
                    what,
                    state: format!("{} not there", attached.device.display()),
                    waited: started.elapsed(),
                };
                attached.detach_now()?;
                return Err(error);
            }
            std::thread::sleep(pause.min(self.appear_timeout.saturating_sub(started.elapsed())));
        }
        Ok(attached)
    }
}

impl SnapshotBackup<'_> {
    /// Attaches `disk` as the snapshot froze it to `appliance`, waits for it under the
    /// by-id directory, reads it into `sink` (zero blocks skipped), and detaches it (on
    /// every path). The stop flag ends it with [`OvirtError::Cancelled`].
    pub fn read_through_appliance(
        &self,
        appliance: &Appliance,
        disk: &SnapshotDisk,
        sink: &mut dyn DiskSink,
        progress: &dyn Progress,
    ) -> Result<ApplianceSummary> {
        let span = tracing::info_span!("disk", id = %disk.id, name = %disk.name);
        let _entered = span.enter();
        let what = format!(
            "reading disk {} of VM {} on the appliance {}",
            disk.id,
            self.snapshot.vm(),
            appliance.vm
        );
        if self.settings.stopped() {
            return Err(OvirtError::Cancelled { what });
        }
        self.connection.attach_disk_snapshot(
            &appliance.vm,
            &disk.id,
            self.snapshot.id(),
            appliance.interface,
        )?;
        let attached =
            appliance.plugged(self.connection, &disk.id, self.settings.stop.as_deref())?;
        let device = FileDisk::open(attached.device()).map_err(|source| OvirtError::Disk {
            what: what.clone(),
            source,
        })?;
        let summary = self.read_device(&device, disk, sink, progress, &what)?;
        drop(device);
        attached.detach()?;
        Ok(summary)
    }

    fn read_device(
        &self,
        device: &FileDisk,
        disk: &SnapshotDisk,
        sink: &mut dyn DiskSink,
        progress: &dyn Progress,
        what: &str,
    ) -> Result<ApplianceSummary> {
        if device.size() != disk.size {
            return Err(OvirtError::Failed {
                what: what.to_owned(),
                state: format!(
                    "the device {} has {} bytes, the disk {}",
                    device.name(),
                    device.size(),
                    disk.size
                ),
            });
        }
        let mut summary = ApplianceSummary {
            size: disk.size,
            data_bytes: 0,
        };
        let mut buf = vec![0u8; PIECE];
        progress.start(&disk.name, disk.size);
        let mut offset = 0u64;
        while offset < disk.size {
            if self
                .settings
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::SeqCst))
            {
                return Err(OvirtError::Cancelled {
                    what: what.to_owned(),
                });
            }
            let len = (disk.size - offset).min(PIECE as u64) as usize;
            let piece = &mut buf[..len];
            device
                .read_exact_at(piece, offset)
                .map_err(|source| OvirtError::Io {
                    what: format!("{what}: reading {} at offset {offset}", device.name()),
                    source,
                })?;
            for (index, block) in piece.chunks(BLOCK).enumerate() {
                if is_zero(block) {
                    continue;
                }
                let at = offset + (index * BLOCK) as u64;
                sink.write_at(at, block)
                    .map_err(|source| OvirtError::Disk {
                        what: format!("{what}: writing at offset {at}"),
                        source,
                    })?;
                summary.data_bytes += block.len() as u64;
            }
            progress.advance(len as u64);
            offset += len as u64;
        }
        sink.finish(disk.size).map_err(|source| OvirtError::Disk {
            what: what.to_owned(),
            source,
        })?;
        progress.finish();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_by_serial_and_the_vm_id_is_read_from_smbios() {
        let mut appliance = Appliance::new("vm");
        appliance.by_id_dir = PathBuf::from("/d");
        let disk = "0123456789abcdef0123456789";
        assert_eq!(
            appliance.device_of(disk),
            Path::new("/d/virtio-0123456789abcdef0123")
        );
        appliance.interface = DiskInterface::VirtioScsi;
        assert_eq!(
            appliance.device_of(disk),
            Path::new("/d/scsi-0QEMU_QEMU_HARDDISK_0123456789abcdef0123")
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("product_uuid");
        std::fs::write(&file, "4C4C4544-0051-3010-8056-B4C04F4E4B32\n").unwrap();
        assert_eq!(
            Appliance::this_vm(&file).unwrap(),
            "4c4c4544-0051-3010-8056-b4c04f4e4b32"
        );
        std::fs::write(&file, "Not Settable\n").unwrap();
        assert!(Appliance::this_vm(&file).is_err());
        assert!(Appliance::this_vm(&dir.path().join("missing")).is_err());
    }
}
