//! Raw-image mode, for volumes dom0 cannot mount (NTFS, UFS, an encrypted volume): the
//! snapshot's block device is read whole, not mounted, and streamed through backup-core's
//! [`save`] as a raw disk (`Structure::Raw` with the volume's size, so a short read is an
//! error), stored sparse (`.img`: all-zero 4 KiB blocks left as holes) or zstd-compressed
//! (`.img.zst`), its digest (XXH64 of the file as stored) computed as it passes.
//!
//! Published like the archives: written to `<name>.partial` (a [`PendingImage`], removed
//! when dropped unpublished: a failed read, an overflowed snapshot, a panic), synced, its
//! record `<name>.json` (size and digest) written durably, then renamed to its name. An
//! image is whole: retention treats it as a full backup with no chain, and a restore needs
//! only it. [`verify_image`] re-reads the file and checks its digest and its decompressed
//! size against the record; [`restore_image`] writes it onto a block device or a new file.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use backup_core::batch::{Cancel, SaveOptions, Structure, save};
use backup_core::store::digest::{FileDigest, read_digested};
use backup_core::store::{DigestKind, FileMode};
use disk_image::Progress;
use disk_image::compress::Codec;
use serde::{Deserialize, Serialize};

use crate::archive::open_archive;
use crate::error::{LvmBackupError, Result};
use crate::hashes::{partial_path, sync_parent, write_durably};
use crate::naming::{ArchiveName, FileType};

/// What `<image>.json` records: enough to check the image without the volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The logical volume it is an image of (`vg/lv`).
    pub volume: String,
    /// The volume's size: the image's size once decompressed.
    pub size: u64,
    /// The digest of the file as stored (`xxh64`).
    pub digest: FileDigest,
}

/// The record file of the image at `path`: `<image>.json`.
pub fn record_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".json");
    path.with_file_name(name)
}

/// Reads the record of the image at `path`.
pub fn read_record(path: &Path) -> Result<ImageRecord> {
    let record = record_path(path);
    let text = fs::read(&record).map_err(LvmBackupError::io(format!(
        "reading the image record {}",
        record.display()
    )))?;
    serde_json::from_slice(&text).map_err(|e| LvmBackupError::Verify {
        path: record,
        problem: format!("not an image record: {e}"),
    })
}

/// What to read and where to store it.
pub struct ImageRequest<'a> {
    /// The repository.
    pub repository: &'a Path,
    /// The image's name (its file type `.img` or `.img.zst`).
    pub name: &'a ArchiveName,
    /// The volume (`vg/lv`), for the record.
    pub volume: &'a str,
    /// The snapshot's block device.
    pub device: &'a Path,
    /// Its size in bytes.
    pub size: u64,
    /// zstd's level (for `.img.zst`).
    pub zstd_level: i32,
    /// zstd worker threads (0: on the reading thread).
    pub zstd_threads: u32,
    /// The run's stop flag.
    pub cancel: &'a Cancel,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// An image written under its temporary name, not yet published.
#[derive(Debug)]
pub struct PendingImage {
    path: PathBuf,
    partial: PathBuf,
    record: ImageRecord,
    published: bool,
}

/// Reads the whole device `request` names into `<name>.partial`.
pub fn write_image(request: &ImageRequest<'_>) -> Result<PendingImage> {
    let path = request.repository.join(request.name.file_name());
    let partial = partial_path(&path);
    remove_if_present(&partial)?;
    let codec = match request.name.filetype {
        FileType::Img => Codec::None,
        FileType::ImgZst => Codec::Zstd {
            level: request.zstd_level,
            threads: request.zstd_threads,
        },
        other => {
            return Err(LvmBackupError::Verify {
                path,
                problem: format!("{other} is not an image type"),
            });
        }
    };
    let source = fs::File::open(request.device).map_err(LvmBackupError::io(format!(
        "opening {}",
        request.device.display()
    )))?;
    // the guard exists before the first byte is written
    let mut pending = PendingImage {
        path,
        partial,
        record: ImageRecord {
            volume: request.volume.to_owned(),
            size: request.size,
            digest: FileDigest {
                kind: backup_core::store::Recorded::Known(DigestKind::Xxh64),
                value: String::new(),
                bytes: 0,
            },
        },
        published: false,
    };
    let saved = save(
        io::BufReader::with_capacity(1 << 20, source),
        Some(request.size),
        &pending.partial,
        request.volume,
        Structure::Raw {
            size: Some(request.size),
        },
        &SaveOptions {
            codec,
            digest: DigestKind::Xxh64,
            mode: FileMode::default(),
            cancel: request.cancel,
            progress: request.progress,
        },
    )?;
    fs::File::open(&pending.partial)
        .and_then(|f| f.sync_all())
        .map_err(LvmBackupError::io(format!(
            "syncing {}",
            pending.partial.display()
        )))?;
    pending.record.digest = saved.digest;
    Ok(pending)
}

impl PendingImage {
    /// Bytes stored.
    pub fn bytes(&self) -> u64 {
        self.record.digest.bytes
    }

    /// Publishes it: the record written durably, then the image renamed to its name.
    pub fn publish(mut self) -> Result<(PathBuf, ImageRecord)> {
        let json = serde_json::to_vec_pretty(&self.record).expect("a record serializes");
        write_durably(&record_path(&self.path), &json)?;
        fs::rename(&self.partial, &self.path).map_err(LvmBackupError::io(format!(
            "renaming {} to {}",
            self.partial.display(),
            self.path.display()
        )))?;
        self.published = true;
        sync_parent(&self.path)?;
        Ok((self.path.clone(), self.record.clone()))
    }
}

impl Drop for PendingImage {
    fn drop(&mut self) {
        if !self.published
            && let Err(error) = remove_if_present(&self.partial)
        {
            tracing::error!(%error, "could not remove a partial image");
        }
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(path = %path.display(), "removed a partial file");
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LvmBackupError::Io {
            action: format!("removing {}", path.display()),
            source: e,
        }),
    }
}

/// Re-reads the image at `path` (of type `filetype`): the digest of the file as stored and
/// its decompressed size must be what its record says. Returns the problems found.
pub fn verify_image(path: &Path, filetype: FileType) -> Result<Vec<String>> {
    let record = match read_record(path) {
        Ok(record) => record,
        Err(error) => return Ok(vec![error.to_string()]),
    };
    let kind = match record.digest.kind.known() {
        Ok(kind) => kind,
        Err(unknown) => return Ok(vec![format!("its record names digest {unknown:?}")]),
    };
    let mut problems = Vec::new();
    let mut size = None;
    let read = read_digested(path, kind, |stored| {
        let mut decoded: Box<dyn Read + Send> = match filetype {
            FileType::ImgZst => Box::new(
                zstd::Decoder::new(stored)
                    .map_err(|e| backup_core::store::StoreError::io("reading", path, e))?,
            ),
            _ => Box::new(stored),
        };
        size = Some(
            io::copy(&mut decoded, &mut io::sink())
                .map_err(|e| backup_core::store::StoreError::io("decompressing", path, e))?,
        );
        Ok(())
    });
    match read {
        Ok(digest) if digest.value != record.digest.value => problems.push(format!(
            "{kind} {}, its record says {}",
            digest.value, record.digest.value
        )),
        Ok(_) => {}
        Err(error) => problems.push(backup_core::store::chain(&error)),
    }
    if let Some(size) = size
        && size != record.size
    {
        problems.push(format!(
            "{size} bytes decompressed, its record says {}",
            record.size
        ));
    }
    Ok(problems)
}

/// Writes the image at `path` onto `target`: an existing block device at least the image's
/// size (a new LV), or a new file (sparse: all-zero blocks are skipped). Returns the bytes
/// written, checked against the record.
pub fn restore_image(path: &Path, filetype: FileType, target: &Path) -> Result<u64> {
    let record = read_record(path)?;
    let is_device = fs::metadata(target).is_ok_and(|m| m.file_type().is_block_device());
    let mut out = if is_device {
        fs::OpenOptions::new().write(true).open(target)
    } else {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(target)
    }
    .map_err(LvmBackupError::io(format!("opening {}", target.display())))?;
    let io_error = LvmBackupError::io(format!("writing {}", target.display()));
    let mut input = open_archive(path, filetype)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut written = 0u64;
    let result = (|| -> io::Result<()> {
        loop {
            let n = disk_image::read_full(&mut input, &mut buffer)?;
            if n == 0 {
                break;
            }
            let block = &buffer[..n];
            if !is_device && block.iter().all(|b| *b == 0) {
                out.seek(SeekFrom::Current(i64::try_from(n).expect("a 1 MiB block")))?;
            } else {
                out.write_all(block)?;
            }
            written += n as u64;
        }
        if !is_device {
            out.set_len(written)?;
        }
        out.sync_all()
    })();
    result.map_err(io_error)?;
    if written != record.size {
        return Err(LvmBackupError::Verify {
            path: path.to_owned(),
            problem: format!("held {written} bytes, its record says {}", record.size),
        });
    }
    tracing::info!(image = %path.display(), target = %target.display(), bytes = written, "restored");
    Ok(written)
}

#[cfg(test)]
mod tests;
