//! A VM backed up from a snapshot, the oVirt platform's own steps for a backup tool's job:
//!
//! 1. [`VmSnapshot::take`]: a snapshot without memory whose description carries the
//!    caller's label and its owner ([`crate::owner`]), waited until `ok` (deadline and stop
//!    flag); a guard that deletes the snapshot and waits until it is gone on every path
//!    (an error, a panic, a stop), retrying while the engine says it is busy.
//! 2. [`SnapshotBackup::start`]: the snapshot plus the VM's records and OVF
//!    ([`VmRecords`]) and its disks in backup order ([`SnapshotDisk`]: boot disk first,
//!    then attachment order, as oVirtSimpleBackup numbers `DiskN`).
//! 3. Each disk read one of two ways:
//!    - [`SnapshotBackup::download`] (`mode=imageio`): an image transfer of the disk
//!      snapshot (`format=raw`, the NBD backend: guest data and extents), its data extents
//!      fetched into any [`DiskSink`] (a sparse raw file, a stream, a [`SeekSink`]), the
//!      transfer finalized on every path ([`crate::Download`]);
//!    - [`SnapshotBackup::read_through_appliance`] (`mode=appliance`, [`appliance`]): the
//!      snapshot disk attached to the VM this runs on, found by serial, read with zero
//!      detection, detached.
//! 4. [`SnapshotBackup::finish`]: the snapshot deleted and waited until gone (its error
//!    returned; dropping the backup does the same and logs the error).
//!
//! The digest is the caller's: wrap the sink's writer (a [`disk_image::RawStreamSink`]
//! writes every byte, zeros included, in order). Disks are read one after another here;
//! a caller may read disks of one backup from several threads (`&self`).

pub mod appliance;

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use disk_image::{DiskImageError, DiskSink, Progress};

use crate::connection::Connection;
use crate::error::{OvirtError, Result};
use crate::imageio::{DownloadSummary, ExtentContext, TransferOptions};
use crate::records::VmRecords;
use crate::transfers::TransferSettings;
use crate::types::{Disk, DiskFormat, DiskInterface, Snapshot, SnapshotStatus};
use crate::wait::Poll;

/// A flag the caller raises to stop a backup (SIGTERM, a `stop` file): waits and data
/// transfers end with [`OvirtError::Cancelled`]; cleanup still runs.
pub type StopFlag = Arc<AtomicBool>;

/// How a snapshot backup waits and moves data.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// How long the snapshot may stay `locked` after it is taken.
    pub snapshot_timeout: Duration,
    /// How long deleting the snapshot may take (the engine merges it back), busy answers
    /// retried meanwhile.
    pub remove_timeout: Duration,
    /// How transfers are started and finalized (`snapshot` is set per disk).
    pub transfer: TransferSettings,
    /// Connections and piece size of the data path.
    pub options: TransferOptions,
    /// The caller's stop flag.
    pub stop: Option<StopFlag>,
    /// Snapshot only these disks (ids; `None`: all). Shareable and direct-LUN disks
    /// cannot be snapshotted: leave them out.
    pub disks: Option<Vec<String>>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            snapshot_timeout: Duration::from_secs(600),
            remove_timeout: Duration::from_secs(1800),
            transfer: TransferSettings::default(),
            options: TransferOptions::default(),
            stop: None,
            disks: None,
        }
    }
}

impl BackupSettings {
    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }
}

/// A snapshot of ours: deleted (and awaited until gone) when dropped, unless
/// [`VmSnapshot::remove`] did it already.
pub struct VmSnapshot<'c> {
    connection: &'c Connection,
    vm: String,
    id: String,
    description: String,
    remove_timeout: Duration,
    open: bool,
}

impl<'c> VmSnapshot<'c> {
    /// Snapshots all disks of `vm` without memory, with `description` (make it unique and
    /// marked: [`crate::owner::Owner::describe`]), and waits until it is `ok`. When the
    /// answer to the request is lost, the snapshot is looked up by its description so that
    /// it is still removed.
    pub fn take(
        connection: &'c Connection,
        vm: &str,
        description: &str,
        settings: &BackupSettings,
    ) -> Result<VmSnapshot<'c>> {
        if settings.stopped() {
            return Err(OvirtError::Cancelled {
                what: format!("snapshotting VM {vm}"),
            });
        }
        let only: Option<Vec<&str>> = settings
            .disks
            .as_ref()
            .map(|ids| ids.iter().map(String::as_str).collect());
        let created = connection.create_snapshot(vm, description, only.as_deref(), None);
        let record = match created {
            Ok(record) => record,
            Err(error @ OvirtError::Http { .. }) => {
                match find_by_description(connection, vm, description)? {
                    Some(found) => found,
                    None => return Err(error),
                }
            }
            Err(error) => return Err(error),
        };
        let id = record.id.clone().ok_or_else(|| OvirtError::Failed {
            what: format!("snapshotting VM {vm}"),
            state: "the engine returned a snapshot without an id".into(),
        })?;
        let snapshot = VmSnapshot {
            connection,
            vm: vm.to_owned(),
            id,
            description: description.to_owned(),
            remove_timeout: settings.remove_timeout,
            open: true,
        };
        tracing::info!(vm, snapshot = %snapshot.id, description, "snapshot taken");
        let what = format!("snapshot {} of VM {vm} becoming ok", snapshot.id);
        connection.wait_for_unless(
            &what,
            settings.snapshot_timeout,
            settings.stop.as_deref(),
            || {
                let seen = connection.snapshot(vm, &snapshot.id)?;
                Ok(match seen.snapshot_status {
                    Some(SnapshotStatus::Ok) => Poll::Ready(()),
                    other => {
                        Poll::Pending(other.map_or("without a status".into(), |s| s.to_string()))
                    }
                })
            },
        )?;
        Ok(snapshot)
    }

    /// The VM's id.
    pub fn vm(&self) -> &str {
        &self.vm
    }

    /// The snapshot's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its disks (each with the `image_id` of its frozen volume).
    pub fn disks(&self) -> Result<Vec<Disk>> {
        self.connection.snapshot_disks(&self.vm, &self.id)
    }

    /// Deletes the snapshot and waits until it is gone.
    pub fn remove(mut self) -> Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<()> {
        self.open = false;
        remove_snapshot_patiently(self.connection, &self.vm, &self.id, self.remove_timeout)?;
        tracing::info!(vm = %self.vm, snapshot = %self.id, "snapshot removed");
        Ok(())
    }
}

impl Drop for VmSnapshot<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.remove_now()
        {
            tracing::error!(vm = %self.vm, snapshot = %self.id, %error, "could not remove a snapshot; the next run's leftover sweep will");
        }
    }
}

/// Deletes a snapshot and waits until it is gone, retrying while the engine is busy (the
/// snapshot still `locked`, a disk locked) until `timeout`; a snapshot already gone is
/// success.
pub(crate) fn remove_snapshot_patiently(
    connection: &Connection,
    vm: &str,
    id: &str,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    let (_, pause) = connection.poll_intervals();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match connection.remove_snapshot(vm, id, left) {
            Ok(()) => return Ok(()),
            Err(error) if error.is_not_found() => return Ok(()),
            Err(error) if error.is_busy() && !left.is_zero() => {
                tracing::debug!(vm, snapshot = id, %error, "snapshot busy; retrying its removal");
                std::thread::sleep(pause.min(left));
            }
            Err(error) => return Err(error),
        }
    }
}

/// The snapshot of `vm` with exactly this description, if any.
fn find_by_description(
    connection: &Connection,
    vm: &str,
    description: &str,
) -> Result<Option<Snapshot>> {
    Ok(connection
        .snapshots(vm)?
        .into_iter()
        .find(|s| s.description.as_deref() == Some(description)))
}

/// One disk of a snapshot backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDisk {
    /// The disk's id.
    pub id: String,
    /// The id of its frozen volume (what an image transfer of the snapshot names).
    pub image_id: String,
    /// Its name (alias), as the engine has it; make it a safe file name before use.
    pub name: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Whether it is a boot disk.
    pub bootable: bool,
    /// Its bus in the VM.
    pub interface: Option<DiskInterface>,
    /// Its format on storage.
    pub format: Option<DiskFormat>,
}

/// A snapshot of a VM with its records, ready to read its disks. Dropping it deletes the
/// snapshot (logging a failure); [`SnapshotBackup::finish`] returns it.
pub struct SnapshotBackup<'c> {
    connection: &'c Connection,
    // Declared last among the guards: dropped after anything borrowed from `self`.
    snapshot: VmSnapshot<'c>,
    records: VmRecords,
    disks: Vec<SnapshotDisk>,
    settings: BackupSettings,
}

impl<'c> SnapshotBackup<'c> {
    /// Takes the snapshot ([`VmSnapshot::take`]), then reads the VM's records (the OVF as
    /// the snapshot froze it) and the snapshot's disks.
    pub fn start(
        connection: &'c Connection,
        vm: &str,
        description: &str,
        settings: &BackupSettings,
    ) -> Result<SnapshotBackup<'c>> {
        let snapshot = VmSnapshot::take(connection, vm, description, settings)?;
        let records = VmRecords::fetch(connection, vm, Some(snapshot.id()))?;
        let disks = ordered_disks(&snapshot.disks()?, &records, vm)?;
        Ok(SnapshotBackup {
            connection,
            snapshot,
            records,
            disks,
            settings: settings.clone(),
        })
    }

    /// The VM's records and OVF.
    pub fn records(&self) -> &VmRecords {
        &self.records
    }

    /// The disks, boot disk first.
    pub fn disks(&self) -> &[SnapshotDisk] {
        &self.disks
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &VmSnapshot<'c> {
        &self.snapshot
    }

    /// Downloads `disk` as the snapshot froze it into `sink` through an image transfer
    /// (finalized on every path); zero extents are never fetched (a sparse sink keeps
    /// them as holes). The stop flag ends it with [`OvirtError::Cancelled`].
    pub fn download(
        &self,
        disk: &SnapshotDisk,
        sink: &mut dyn DiskSink,
        progress: &dyn Progress,
    ) -> Result<DownloadSummary> {
        let span = tracing::info_span!("disk", id = %disk.id, name = %disk.name);
        let _entered = span.enter();
        let what = format!("downloading disk {} of VM {}", disk.id, self.snapshot.vm());
        if self.settings.stopped() {
            return Err(OvirtError::Cancelled { what });
        }
        let settings = TransferSettings {
            snapshot: Some(disk.image_id.clone()),
            extents: ExtentContext::Zero,
            ..self.settings.transfer.clone()
        };
        let transfer = self.connection.start_download(&disk.id, &settings)?;
        let mut guarded = StopSink {
            inner: sink,
            stop: self.settings.stop.as_deref(),
        };
        let result = transfer.imageio().and_then(|client| {
            client.download(
                disk.size,
                ExtentContext::Zero,
                &mut guarded,
                &self.settings.options,
                progress,
            )
        });
        let summary = match result {
            Ok(summary) => summary,
            Err(_) if self.settings.stopped() => return Err(OvirtError::Cancelled { what }),
            Err(error) => return Err(error),
        };
        transfer.finish()?;
        tracing::info!(
            data = summary.data_bytes,
            size = disk.size,
            "disk downloaded"
        );
        Ok(summary)
    }

    /// Deletes the snapshot and waits until it is gone.
    pub fn finish(self) -> Result<()> {
        self.snapshot.remove()
    }
}

/// The snapshot's disks joined with their attachments, boot disks first.
fn ordered_disks(frozen: &[Disk], records: &VmRecords, vm: &str) -> Result<Vec<SnapshotDisk>> {
    let mut disks = Vec::with_capacity(frozen.len());
    for disk in frozen {
        let missing = |field: &str| OvirtError::Failed {
            what: format!("reading the snapshot disks of VM {vm}"),
            state: format!("a disk without {field}"),
        };
        let id = disk.id.clone().ok_or_else(|| missing("an id"))?;
        let attachment = records.attachment_of(&id);
        let size = disk
            .provisioned_size
            .ok_or_else(|| missing("a provisioned size"))?;
        disks.push(SnapshotDisk {
            image_id: disk
                .image_id
                .clone()
                .ok_or_else(|| missing("an image id"))?,
            name: disk
                .alias
                .clone()
                .or_else(|| disk.name.clone())
                .unwrap_or_else(|| id.clone()),
            size,
            bootable: attachment.and_then(|a| a.bootable).unwrap_or(false),
            interface: attachment.and_then(|a| a.interface),
            format: disk.format,
            id,
        });
    }
    let order = |d: &SnapshotDisk| {
        records
            .attachments
            .iter()
            .position(|a| a.disk.as_ref().and_then(|x| x.id.as_deref()) == Some(d.id.as_str()))
            .unwrap_or(usize::MAX)
    };
    disks.sort_by_key(|d| (!d.bootable, order(d)));
    Ok(disks)
}

/// A sink that refuses more data once the stop flag is raised.
struct StopSink<'a> {
    inner: &'a mut dyn DiskSink,
    stop: Option<&'a AtomicBool>,
}

impl DiskSink for StopSink<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(DiskImageError::io(
                format!("writing at offset {offset}"),
                std::io::Error::new(std::io::ErrorKind::Interrupted, "stopped on request"),
            ));
        }
        self.inner.write_at(offset, data)
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.inner.finish(size)
    }
}

/// A raw image written into any `Write + Seek` (a file, a block device, a cursor): gaps
/// are skipped by seeking, so a file stays sparse; the end is written so that the image
/// has its full size.
pub struct SeekSink<W> {
    out: W,
    end: u64,
    name: String,
}

impl<W: Write + Seek> SeekSink<W> {
    /// Writes into `out` from its offset 0; `name` is used in messages.
    pub fn new(out: W, name: impl Into<String>) -> Self {
        SeekSink {
            out,
            end: 0,
            name: name.into(),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Seek> DiskSink for SeekSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        let failed = |source| {
            DiskImageError::io(
                format!("writing `{}` at offset {offset}", self.name),
                source,
            )
        };
        self.out.seek(SeekFrom::Start(offset)).map_err(failed)?;
        self.out.write_all(data).map_err(failed)?;
        self.end = self.end.max(offset + data.len() as u64);
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        let failed = |source| DiskImageError::io(format!("finishing `{}`", self.name), source);
        if self.end < size {
            self.out.seek(SeekFrom::Start(size - 1)).map_err(failed)?;
            self.out.write_all(&[0]).map_err(failed)?;
            self.end = size;
        }
        self.out.flush().map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seek_sink_skips_gaps_and_writes_the_end() {
        let mut sink = SeekSink::new(std::io::Cursor::new(Vec::new()), "test");
        sink.write_at(2, &[1, 2]).unwrap();
        sink.write_at(6, &[3]).unwrap();
        sink.finish(10).unwrap();
        assert_eq!(
            sink.into_inner().into_inner(),
            [0, 0, 1, 2, 0, 0, 3, 0, 0, 0]
        );
    }
}
