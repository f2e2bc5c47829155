//! Saving a download from the pool into a backup file: backup-core's [`save`] streams,
//! compresses, digests and checks it (an XVA's checksums, a VHD's headers, BAT and footer,
//! a raw disk's length), then the download's task is waited for: the task's success, not
//! the transfer's, says the pool sent everything.

use std::path::Path;

use backup_core::batch::{SaveError, SaveOptions, Saved, Structure, save};
use disk_image::compress::{Codec, Compression};
use xenapi::Download;

use crate::error::{Result, VmBackupError};

/// The compressor (level, threads) a `compression=` setting stands for; its
/// [`suffix`](Codec::suffix) ends the file names.
pub fn codec(compression: Compression) -> Codec {
    let threads = u32::try_from(disk_image::chunks::default_workers()).unwrap_or(2);
    match compression {
        Compression::None => Codec::None,
        Compression::Zstd => Codec::Zstd { level: 3, threads },
        Compression::Gzip => Codec::Gzip { level: 6 },
    }
}

/// Streams `download` into `path` as `structure` (see backup-core's `save`) and waits for
/// its task. A body of the wrong size whose task failed reports the task's failure: the
/// host says why.
pub fn save_download(
    mut download: Download<'_>,
    path: &Path,
    label: &str,
    structure: Structure,
    options: &SaveOptions<'_>,
) -> Result<Saved> {
    let length = download.content_length();
    let saved = match save(&mut download, length, path, label, structure, options) {
        Err(error) if !matches!(error, SaveError::Size { .. }) => return Err(error.into()),
        result => result,
    };
    download.finish().map_err(|e| {
        VmBackupError::xapi(format!("waiting for the pool to complete `{label}`"), e)
    })?;
    Ok(saved?)
}
