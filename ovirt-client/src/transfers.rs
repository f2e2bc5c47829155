//! Image transfers as guards, with the official SDK's state machine.
//!
//! - Start: `POST /imagetransfers`, then poll: `transferring` goes on, `initializing` waits,
//!   `paused_system` or anything else cancels and fails, `finished_failure` or a vanished
//!   transfer fails, and a deadline cancels.
//! - A [`Download`] is finalized on every path: by [`Download::finish`], or on drop.
//! - An [`Upload`] is finalized by [`Upload::finish`] only. Dropped unfinished (an error, a
//!   panic), it is **cancelled, and cancelling an upload makes the engine delete the
//!   disk**: from the transfer's start the transfer owns the disk, and a half-written disk
//!   is not left behind. Create a fresh disk for every upload.
//! - Finalize: a refused finalize request cancels the transfer (it would hold the disk
//!   otherwise); then poll until `finished_success`; `finished_failure` fails; on engines that
//!   drop the transfer (404, before 4.4.7) the disk decides: `ok` is success, gone means the
//!   engine's verification failed and removed it.
//! - The data goes to `transfer_url` (the host's daemon); `proxy_url` (the engine's proxy)
//!   is the fallback when the host cannot be reached.

use std::time::Duration;

use disk_image::{DiskInput, DiskSink, Progress};

use crate::connection::{Connection, Query};
use crate::error::{OvirtError, Result};
use crate::imageio::{
    DownloadSummary, ExtentContext, ImageioClient, PushPiece, TransferOptions, UploadSummary,
};
use crate::types::{
    Action, DiskStatus, ImageTransfer, ImageTransferDirection, ImageTransferPhase, Ref,
};
use crate::wait::Poll;

/// How a transfer is requested and awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSettings {
    /// How long the transfer may stay `initializing`.
    pub start_timeout: Duration,
    /// How long finalizing may take.
    pub finalize_timeout: Duration,
    /// Seconds without I/O before the engine acts (`None`: the engine's default).
    pub inactivity_timeout: Option<u32>,
    /// Download this disk snapshot (a disk-snapshot id) instead of the disk's current state.
    pub snapshot: Option<String>,
    /// The VM backup the transfer belongs to (incremental backups).
    pub backup: Option<String>,
    /// Which map a download follows: all data, or (in an incremental backup) the changes.
    pub extents: ExtentContext,
}

impl Default for TransferSettings {
    fn default() -> Self {
        TransferSettings {
            start_timeout: Duration::from_secs(60),
            finalize_timeout: Duration::from_secs(300),
            inactivity_timeout: None,
            snapshot: None,
            backup: None,
            extents: ExtentContext::Zero,
        }
    }
}

/// The state both guards share.
struct Transfer<'c> {
    connection: &'c Connection,
    record: ImageTransfer,
    id: String,
    disk: String,
    settings: TransferSettings,
    open: bool,
}

impl<'c> Transfer<'c> {
    fn start(
        connection: &'c Connection,
        disk: &str,
        direction: ImageTransferDirection,
        settings: &TransferSettings,
    ) -> Result<Self> {
        let mut body = ImageTransfer::for_disk(disk, direction);
        body.inactivity_timeout = settings.inactivity_timeout;
        body.snapshot = settings.snapshot.as_deref().map(Ref::id);
        body.backup = settings.backup.as_deref().map(Ref::id);
        if body.snapshot.is_some() {
            body.disk = None; // a snapshot download names the disk snapshot instead
        }
        let what = format!("starting the {direction} of disk {disk}");
        let record: ImageTransfer =
            connection.add("/imagetransfers", &Query::new(), &body, &what)?;
        let id = record.id.clone().ok_or_else(|| OvirtError::Failed {
            what: what.clone(),
            state: "the engine returned a transfer without an id".into(),
        })?;
        let mut transfer = Transfer {
            connection,
            record,
            id,
            disk: disk.to_owned(),
            settings: settings.clone(),
            open: true,
        };
        tracing::info!(transfer = %transfer.id, disk, %direction, "image transfer started");
        match transfer.await_transferring() {
            Ok(record) => {
                transfer.record = record;
                Ok(transfer)
            }
            Err(error) => {
                if !matches!(&error, OvirtError::NotFound { .. }) {
                    transfer.cancel();
                }
                transfer.open = false;
                Err(error)
            }
        }
    }

    fn path(&self) -> String {
        format!("/imagetransfers/{}", self.id)
    }

    fn get(&self) -> Result<ImageTransfer> {
        self.connection.get(
            &self.path(),
            &Query::new(),
            &format!("getting transfer {}", self.id),
        )
    }

    fn await_transferring(&self) -> Result<ImageTransfer> {
        let what = format!("transfer {} of disk {} becoming ready", self.id, self.disk);
        self.connection
            .wait_for(&what, self.settings.start_timeout, || {
                let record = match self.get() {
                    Err(error) if error.is_not_found() => {
                        return Err(OvirtError::NotFound {
                            what: format!("transfer {}", self.id),
                        });
                    }
                    other => other?,
                };
                match record.phase {
                    Some(ImageTransferPhase::Transferring) => Ok(Poll::Ready(record)),
                    Some(ImageTransferPhase::Initializing) | None => {
                        Ok(Poll::Pending("initializing".into()))
                    }
                    Some(phase) => Err(OvirtError::Failed {
                        what: what.clone(),
                        state: phase.to_string(),
                    }),
                }
            })
    }

    /// `transfer_url`, else `proxy_url`.
    fn imageio(&self) -> Result<ImageioClient> {
        let urls = [&self.record.transfer_url, &self.record.proxy_url];
        let mut last = None;
        for url in urls.into_iter().flatten() {
            match self.connection.imageio(url) {
                Ok(client) => return Ok(client),
                Err(error @ OvirtError::Http { .. }) => {
                    tracing::warn!(transfer = %self.id, %error, "imageio URL unreachable; trying the next one");
                    last = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| OvirtError::Failed {
            what: format!("transfer {}", self.id),
            state: "neither transfer_url nor proxy_url".into(),
        }))
    }

    fn finalize(&mut self) -> Result<()> {
        self.open = false;
        let what = format!("finalizing transfer {} of disk {}", self.id, self.disk);
        if let Err(error) = self.connection.action(
            &self.path(),
            "finalize",
            &Query::new(),
            &Action::default(),
            &what,
        ) {
            // The engine refused to finalize: the transfer would stay open and hold the
            // disk. Cancel it (an upload's disk goes with it, as after any failed upload).
            if !error.is_not_found() {
                self.cancel();
            }
            return Err(error);
        }
        self.connection
            .wait_for(&what, self.settings.finalize_timeout, || match self.get() {
                Ok(record) => match record.phase {
                    Some(ImageTransferPhase::FinishedSuccess) => Ok(Poll::Ready(())),
                    Some(ImageTransferPhase::FinishedFailure) => Err(OvirtError::Failed {
                        what: what.clone(),
                        state: "finished_failure".into(),
                    }),
                    phase => Ok(Poll::Pending(
                        phase.map_or("without a phase".into(), |p| p.to_string()),
                    )),
                },
                // Older engines drop the transfer when done: the disk tells the outcome.
                Err(error) if error.is_not_found() => match self.connection.disk(&self.disk) {
                    Ok(disk) if disk.status == Some(DiskStatus::Ok) => Ok(Poll::Ready(())),
                    Ok(disk) if disk.status == Some(DiskStatus::Locked) => {
                        Ok(Poll::Pending("disk locked".into()))
                    }
                    Ok(disk) => Err(OvirtError::Failed {
                        what: what.clone(),
                        state: format!(
                            "the disk is {}",
                            disk.status
                                .map_or("without a status".into(), |s| s.to_string())
                        ),
                    }),
                    Err(error) if error.is_not_found() => Err(OvirtError::Failed {
                        what: what.clone(),
                        state: "the engine removed the disk (its verification failed)".into(),
                    }),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            })?;
        tracing::info!(transfer = %self.id, disk = %self.disk, "image transfer finalized");
        Ok(())
    }

    /// Cancels, logging (not returning) a failure: used on error paths.
    fn cancel(&mut self) {
        self.open = false;
        let what = format!("cancelling transfer {} of disk {}", self.id, self.disk);
        match self.connection.action(
            &self.path(),
            "cancel",
            &Query::new(),
            &Action::default(),
            &what,
        ) {
            Ok(_) => {
                tracing::warn!(transfer = %self.id, disk = %self.disk, "image transfer cancelled");
            }
            Err(error) => {
                tracing::error!(transfer = %self.id, %error, "could not cancel an image transfer");
            }
        }
    }
}

/// A download in progress: finalized on every path.
pub struct Download<'c>(Transfer<'c>);

/// An upload in progress: finalized by [`Upload::finish`]; cancelled when dropped
/// unfinished, **which deletes the disk**.
pub struct Upload<'c>(Transfer<'c>);

impl Download<'_> {
    /// The transfer as the engine last described it.
    pub fn transfer(&self) -> &ImageTransfer {
        &self.0.record
    }

    /// A client of the transfer's imageio URL.
    pub fn imageio(&self) -> Result<ImageioClient> {
        self.0.imageio()
    }

    /// Finalizes and waits for the engine to confirm.
    pub fn finish(mut self) -> Result<()> {
        self.0.finalize()
    }
}

impl Drop for Download<'_> {
    fn drop(&mut self) {
        if self.0.open
            && let Err(error) = self.0.finalize()
        {
            tracing::error!(transfer = %self.0.id, %error, "could not finalize a download");
        }
    }
}

impl Upload<'_> {
    /// The transfer as the engine last described it.
    pub fn transfer(&self) -> &ImageTransfer {
        &self.0.record
    }

    /// A client of the transfer's imageio URL.
    pub fn imageio(&self) -> Result<ImageioClient> {
        self.0.imageio()
    }

    /// Finalizes (the engine verifies the image) and waits for the outcome.
    pub fn finish(mut self) -> Result<()> {
        self.0.finalize()
    }

    /// Cancels now (the engine deletes the disk).
    pub fn cancel(mut self) {
        self.0.cancel();
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if self.0.open {
            tracing::warn!(transfer = %self.0.id, disk = %self.0.disk, "upload not finished: cancelling it (the engine deletes the disk)");
            self.0.cancel();
        }
    }
}

impl Connection {
    /// Starts downloading a disk (or, with `settings.snapshot`, a disk snapshot).
    pub fn start_download(&self, disk: &str, settings: &TransferSettings) -> Result<Download<'_>> {
        Transfer::start(self, disk, ImageTransferDirection::Download, settings).map(Download)
    }

    /// Starts uploading into a disk, which must be `ok`. From here the transfer owns the
    /// disk: a failed upload is cancelled and the disk deleted.
    pub fn start_upload(&self, disk: &str, settings: &TransferSettings) -> Result<Upload<'_>> {
        Transfer::start(self, disk, ImageTransferDirection::Upload, settings).map(Upload)
    }

    /// Downloads a disk of `size` bytes into `sink` (following `settings.extents`) and
    /// finalizes the transfer (also when the data path fails).
    pub fn download_disk(
        &self,
        disk: &str,
        size: u64,
        sink: &mut dyn DiskSink,
        options: &TransferOptions,
        settings: &TransferSettings,
        progress: &dyn Progress,
    ) -> Result<DownloadSummary> {
        let transfer = self.start_download(disk, settings)?;
        let summary =
            transfer
                .imageio()?
                .download(size, settings.extents, sink, options, progress)?;
        transfer.finish()?;
        Ok(summary)
    }

    /// Uploads `input` into a disk and finalizes; on any failure the transfer is cancelled
    /// (and the engine deletes the disk).
    pub fn upload_disk(
        &self,
        disk: &str,
        input: DiskInput<'_>,
        options: &TransferOptions,
        settings: &TransferSettings,
        progress: &dyn Progress,
    ) -> Result<UploadSummary> {
        let transfer = self.start_upload(disk, settings)?;
        let summary = transfer.imageio()?.upload(input, options, progress)?;
        transfer.finish()?;
        Ok(summary)
    }

    /// Uploads the pieces `produce` hands over (in any order, see
    /// [`ImageioClient::upload_pieces`]) into a disk of `size` bytes and finalizes once
    /// `produce` returned (so a source's own verdict comes before the finalize); on any
    /// failure the transfer is cancelled (and the engine deletes the disk).
    pub fn upload_pieces<T, E: From<OvirtError>>(
        &self,
        disk: &str,
        size: u64,
        options: &TransferOptions,
        settings: &TransferSettings,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut PushPiece<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(T, UploadSummary), E> {
        let transfer = self.start_upload(disk, settings)?;
        let uploaded = transfer
            .imageio()?
            .upload_pieces(size, options, progress, produce)?;
        transfer.finish()?;
        Ok(uploaded)
    }
}
