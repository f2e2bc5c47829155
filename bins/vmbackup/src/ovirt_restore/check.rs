//! `--check`: a restored disk downloaded again through imageio (its data extents only) and
//! its bytes' XXH64 compared with the one computed as the backup was read.

use disk_image::{DiskSink, NoProgress};
use ovirt_client::Connection;
use ovirt_client::imageio::TransferOptions;
use ovirt_client::transfers::TransferSettings;
use serde::Serialize;
use xxhash_rust::xxh64::Xxh64;

use super::error::{self, Result};

/// One restored disk compared with the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskCheck {
    /// The new disk's name.
    pub disk: String,
    /// Its id.
    pub id: String,
    /// XXH64 of the backup's disk bytes.
    pub backup: String,
    /// XXH64 of the restored disk's bytes, read back from the engine.
    pub restored: String,
}

impl DiskCheck {
    /// Whether the restored disk holds the backup's bytes.
    pub fn matches(&self) -> bool {
        self.backup == self.restored
    }
}

/// XXH64 over a whole disk: what is written, zeros for what is not.
struct HashSink {
    hasher: Xxh64,
    position: u64,
}

impl HashSink {
    fn zeros_until(&mut self, offset: u64) {
        static ZEROS: [u8; 1 << 16] = [0; 1 << 16];
        while self.position < offset {
            let n = usize::try_from(offset - self.position)
                .unwrap_or(usize::MAX)
                .min(ZEROS.len());
            self.hasher.update(&ZEROS[..n]);
            self.position += n as u64;
        }
    }
}

impl DiskSink for HashSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        self.zeros_until(offset);
        self.hasher.update(data);
        self.position += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.zeros_until(size);
        Ok(())
    }
}

/// XXH64 of the bytes of disk `id` (`size` bytes) as the engine serves them.
pub(crate) fn engine_digest(
    connection: &Connection,
    id: &str,
    size: u64,
    options: &TransferOptions,
) -> Result<String> {
    let mut sink = HashSink {
        hasher: Xxh64::new(0),
        position: 0,
    };
    connection
        .download_disk(
            id,
            size,
            &mut sink,
            options,
            &TransferSettings::default(),
            &NoProgress,
        )
        .map_err(error::engine(format!(
            "reading the restored disk {id} back"
        )))?;
    sink.zeros_until(size);
    Ok(format!("{:016x}", sink.hasher.digest()))
}
