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
use ovirt_client::imageio::{TransferOptions, UploadSummary};
use ovirt_client::{Connection, TransferSettings};
use serde::Serialize;
use xenapi::{DiskFormat, Ref, Session};

use crate::digest::{BlockDigest, DigestSink};
use crate::engine::{Target, new_disk};
use crate::plan::{PlannedDisk, TargetVm};

/// How disks move.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// Download each uploaded disk again and compare digests.
    pub verify: bool,
    /// Leave the new disks floating (not attached to the VM): the appliance fixes them
    /// first.
    pub floating: bool,
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
    /// Bytes read from the source (the VHD stream, the archive's data, the staged image).
    pub stream_bytes: u64,
    /// What went to imageio.
    pub sent: UploadSummary,
    /// The digest of the disk's contents as uploaded (`sha256-2m:…`, see `digest`).
    pub digest: String,
    /// Whether a download of the uploaded disk gave the same digest (`None`: not checked).
    pub verified: Option<bool>,
    /// Seconds the upload took (the verification not included).
    pub seconds: f64,
}

/// Reads XAPI's VHD export of `vdi` as it streams: the pieces of disk `planned`. The
/// export task's verdict comes before the function returns (so before the upload is
/// finalized).
pub fn xapi_pieces(
    session: &Session,
    vdi: &Ref,
    planned: &PlannedDisk,
    push: &mut dyn FnMut(Piece) -> Result<()>,
) -> Result<u64> {
    let name = label(planned);
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
    download
        .finish()
        .with_context(|| format!("the export of disk {name} failed on the source"))?;
    Ok(summary.stream_bytes)
}

/// How a disk is named in messages: its target name and its source UUID.
pub fn label(planned: &PlannedDisk) -> String {
    format!("{} ({})", planned.name, planned.source_uuid)
}

/// Uploads what `produce` hands over (every byte of the disk once, as data or zeros; it
/// returns the bytes it read from its source) into a new disk of the target for
/// `planned`, with the digest computed on the way; with `options.verify`, downloads it
/// again and compares digests. On failure the transfer is cancelled (and the engine
/// deletes the disk).
#[allow(clippy::too_many_arguments)] // one disk's whole context
pub fn copy_disk(
    engine: &Connection,
    target: &mut Target<'_>,
    vm: &TargetVm,
    planned: &PlannedDisk,
    marker: &str,
    options: &DataOptions,
    progress: &dyn Progress,
    produce: impl FnOnce(&mut dyn FnMut(Piece) -> Result<()>) -> Result<u64>,
) -> Result<DiskReport> {
    let started = Instant::now();
    let name = label(planned);
    let disk = new_disk(vm, planned);
    let domain = target.domain.clone();
    let description = format!("{marker}, source disk {}", planned.source_uuid);
    progress.start(&planned.name, planned.size);
    let mut digest = BlockDigest::new(planned.size);
    let pieces = |push: &mut ovirt_client::imageio::PushPiece<'_>| {
        produce(&mut |piece| {
            if options.stop.load(Ordering::SeqCst) {
                bail!("interrupted by a signal: removing what was made");
            }
            digest.add(&piece)?;
            push(piece).map_err(anyhow::Error::from)
        })
    };
    let build = target.build();
    let uploaded = if options.floating {
        build.upload_disk_pieces(&disk, &domain, &description, progress, pieces)
    } else {
        build.add_disk_pieces(&disk, &domain, &description, progress, pieces)
    };
    let (id, stream_bytes, sent) = uploaded.with_context(|| format!("copying disk {name}"))?;
    let digest = digest.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(disk = %planned.name, bytes = stream_bytes, seconds, %digest, "disk copied");
    let verified = if options.verify {
        verify(engine, &id, planned, &digest)?;
        Some(true)
    } else {
        None
    };
    Ok(DiskReport {
        name: planned.name.clone(),
        id,
        source_uuid: planned.source_uuid.clone(),
        size: planned.size,
        stream_bytes,
        sent,
        digest,
        verified,
        seconds,
    })
}

/// Downloads the uploaded disk `id` and compares its digest with `digest`.
fn verify(engine: &Connection, id: &str, planned: &PlannedDisk, digest: &str) -> Result<()> {
    let name = label(planned);
    let mut sink = DigestSink::new(planned.size);
    engine
        .download_disk(
            id,
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
    Ok(())
}
