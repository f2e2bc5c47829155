//! One disk's way: its pieces from the source (XAPI's `/export_raw_vdi?format=vhd` read as
//! it streams, or an XVA's chunks) into an imageio upload of the new disk, its digest
//! computed on the way; the source's verdict before the transfer is finalized; with
//! `--verify`, the uploaded disk downloaded again and its digest compared. Nothing is held
//! whole in memory or written locally.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use disk_image::vhd::read_dynamic_pieces;
use disk_image::{NoProgress, Piece, PieceError, Progress};
use ovirt_client::imageio::TransferOptions;
use ovirt_client::{Connection, TransferSettings};
use serde::Serialize;
use xenapi::{DiskFormat, Ref, Session};

use crate::digest::{BlockDigest, DigestSink};
use crate::plan::PlannedDisk;
use crate::upload::{Sent, upload};

/// How disks move.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// imageio connections per disk, at most (the server may allow fewer).
    pub connections: usize,
    /// Download each uploaded disk again and compare digests.
    pub verify: bool,
    /// Set by SIGINT or SIGTERM: the copy stops at the next piece and the guards clean up.
    pub stop: Arc<AtomicBool>,
}

/// What happened to one disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskReport {
    /// Its name on the engine.
    pub name: String,
    /// Its id on the engine.
    pub id: String,
    /// The source disk's UUID.
    pub source_uuid: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Bytes of the VHD stream read from the source.
    pub stream_bytes: u64,
    /// What went to imageio.
    pub sent: Sent,
    /// The digest of the disk's contents (`sha256-2m:…`, see `digest`).
    pub digest: String,
    /// Whether a download of the uploaded disk gave the same digest (`None`: not checked).
    pub verified: Option<bool>,
    /// Seconds the copy took (the verification not included).
    pub seconds: f64,
}

/// Streams the source disk `vdi` (XAPI's VHD export) into the engine's disk `disk_id`.
pub fn copy_xapi_disk(
    session: &Session,
    vdi: &Ref,
    engine: &Connection,
    disk_id: &str,
    planned: &PlannedDisk,
    options: &DataOptions,
    progress: &dyn Progress,
) -> Result<DiskReport> {
    let name = label(planned);
    copy_disk(engine, disk_id, planned, options, progress, |push| {
        let mut download = session
            .export_raw_vdi(vdi, DiskFormat::Vhd, None)
            .with_context(|| format!("exporting disk {name} from the source"))?;
        let summary = read_dynamic_pieces(&mut download, &name, push).map_err(|e| match e {
            PieceError::Source(e) => anyhow::Error::new(e),
            PieceError::Sink(e) => e,
        })?;
        ensure!(
            summary.size == planned.size,
            "the export of disk {name} holds {} bytes, the disk has {}",
            summary.size,
            planned.size
        );
        // The task's verdict, before the upload is flushed and finalized.
        download
            .finish()
            .with_context(|| format!("the export of disk {name} failed on the source"))?;
        Ok(summary.stream_bytes)
    })
}

/// How a disk is named in messages: its target name and its source UUID.
pub fn label(planned: &PlannedDisk) -> String {
    format!("{} ({})", planned.name, planned.source_uuid)
}

/// Uploads what `produce` hands over (every byte of the disk once, as data or zeros; it
/// returns the bytes it read from the source) into the engine's disk `disk_id`, with the
/// digest computed on the way; finalizes; with `options.verify`, downloads it again and
/// compares digests. On failure the transfer is cancelled (and the engine deletes the disk).
pub fn copy_disk(
    engine: &Connection,
    disk_id: &str,
    planned: &PlannedDisk,
    options: &DataOptions,
    progress: &dyn Progress,
    produce: impl FnOnce(&mut dyn FnMut(Piece) -> Result<()>) -> Result<u64>,
) -> Result<DiskReport> {
    let started = Instant::now();
    let name = label(planned);
    let transfer = engine
        .start_upload(disk_id, &TransferSettings::default())
        .with_context(|| format!("disk {name}"))?;
    let first = transfer.imageio()?;
    let connections = options.connections.min(first.server().max_writers).max(1);
    let mut clients = vec![first];
    for _ in 1..connections {
        clients.push(transfer.imageio()?);
    }
    progress.start(&planned.name, planned.size);
    let mut digest = BlockDigest::new(planned.size);
    let (stream_bytes, sent) = upload(&clients, progress, |push| {
        produce(&mut |piece| {
            if options.stop.load(Ordering::SeqCst) {
                bail!("interrupted by a signal: removing what was made");
            }
            digest.add(&piece)?;
            push(piece)
        })
    })
    .with_context(|| format!("copying disk {name}"))?;
    progress.finish();
    let digest = digest.finish()?;
    transfer
        .finish()
        .with_context(|| format!("finalizing the upload of disk {name}"))?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(disk = %planned.name, bytes = stream_bytes, seconds, %digest, "disk copied");
    let verified = if options.verify {
        let mut sink = DigestSink::new(planned.size);
        engine
            .download_disk(
                disk_id,
                planned.size,
                &mut sink,
                &TransferOptions::default(),
                &TransferSettings::default(),
                &NoProgress,
            )
            .with_context(|| format!("downloading disk {name} to verify it"))?;
        let again = sink.digest().unwrap_or_default();
        if again != digest {
            bail!("disk {name} differs after the upload: {digest} sent, {again} read back");
        }
        tracing::info!(disk = %planned.name, "verified");
        Some(true)
    } else {
        None
    };
    Ok(DiskReport {
        name: planned.name.clone(),
        id: disk_id.to_owned(),
        source_uuid: planned.source_uuid.clone(),
        size: planned.size,
        stream_bytes,
        sent,
        digest,
        verified,
        seconds,
    })
}
