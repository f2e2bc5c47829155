//! The digest of a disk's contents that can be computed from pieces arriving in any block
//! order (a VHD's blocks follow the stream, not the disk) and that costs nothing for zeros:
//! the SHA-256 of the SHA-256s of each 2 MiB block in disk order (the last block may be
//! shorter), written `sha256-2m:<hex>`. An all-zero block's hash is computed once.
//!
//! The upload computes it from the source's pieces; `--verify` computes it again from a
//! download of the uploaded disk ([`DigestSink`]) and compares.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use disk_image::{DiskSink, Piece};
use sha2::{Digest, Sha256};

/// Bytes per hashed block.
pub const BLOCK: u64 = 2 << 20;

/// A digest being computed.
pub struct BlockDigest {
    size: u64,
    done: Vec<Option<[u8; 32]>>,
    /// Blocks begun but not complete: their hasher and how many bytes it has.
    open: HashMap<u64, (Sha256, u64)>,
    zero_block: [u8; 32],
}

impl BlockDigest {
    /// A digest of a disk of `size` bytes.
    pub fn new(size: u64) -> Self {
        BlockDigest {
            size,
            done: vec![None; size.div_ceil(BLOCK) as usize],
            open: HashMap::new(),
            zero_block: Sha256::digest(vec![0u8; BLOCK as usize]).into(),
        }
    }

    fn block_len(&self, index: u64) -> u64 {
        BLOCK.min(self.size - index * BLOCK)
    }

    /// Takes a piece. Within one block the bytes must come in order, without gaps.
    pub fn add(&mut self, piece: &Piece) -> Result<()> {
        let end = piece.offset() + piece.len();
        if end > self.size {
            bail!(
                "a piece ends at byte {end}, past the disk's {} bytes",
                self.size
            );
        }
        let mut at = piece.offset();
        while at < end {
            let index = at / BLOCK;
            let block_end = (index * BLOCK + self.block_len(index)).min(end);
            let len = block_end - at;
            let whole = at == index * BLOCK && len == BLOCK;
            match piece {
                Piece::Zero { .. } if whole => self.finish_block(index, self.zero_block)?,
                Piece::Zero { .. } => self.feed(index, at, &vec![0u8; len as usize])?,
                Piece::Data { offset, bytes } => {
                    let from = (at - offset) as usize;
                    self.feed(index, at, &bytes[from..from + len as usize])?;
                }
            }
            at = block_end;
        }
        Ok(())
    }

    fn feed(&mut self, index: u64, at: u64, bytes: &[u8]) -> Result<()> {
        let (hasher, filled) = self.open.entry(index).or_insert_with(|| (Sha256::new(), 0));
        if index * BLOCK + *filled != at {
            bail!(
                "the bytes of block {index} came out of order (at byte {at}, after {filled} of \
                 the block)"
            );
        }
        hasher.update(bytes);
        *filled += bytes.len() as u64;
        if *filled == self.block_len(index) {
            let (hasher, _) = self.open.remove(&index).expect("open");
            self.finish_block(index, hasher.finalize().into())?;
        }
        Ok(())
    }

    fn finish_block(&mut self, index: u64, hash: [u8; 32]) -> Result<()> {
        let slot = &mut self.done[index as usize];
        if slot.is_some() {
            bail!("block {index} was given twice");
        }
        *slot = Some(hash);
        Ok(())
    }

    /// The digest, once every byte was given.
    pub fn finish(self) -> Result<String> {
        if let Some(missing) = self.done.iter().position(Option::is_none) {
            bail!("block {missing} of the disk was never given whole");
        }
        let mut outer = Sha256::new();
        for hash in self.done.iter().flatten() {
            outer.update(hash);
        }
        Ok(format!("sha256-2m:{}", hex(&outer.finalize())))
    }
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

/// A [`DiskSink`] that computes the digest of what a download writes (what it skips is
/// zeros).
pub struct DigestSink {
    digest: Option<BlockDigest>,
    position: u64,
    result: Option<String>,
}

impl DigestSink {
    /// For a disk of `size` bytes.
    pub fn new(size: u64) -> Self {
        DigestSink {
            digest: Some(BlockDigest::new(size)),
            position: 0,
            result: None,
        }
    }

    /// The digest, after the download finished the sink.
    pub fn digest(&self) -> Option<&str> {
        self.result.as_deref()
    }

    fn take(&mut self, piece: &Piece) -> disk_image::Result<()> {
        let digest = self.digest.as_mut().ok_or_else(|| {
            disk_image::DiskImageError::Invalid("the digest sink is finished".into())
        })?;
        digest
            .add(piece)
            .map_err(|e| disk_image::DiskImageError::Invalid(format!("{e:#}")))
    }

    fn zeros_to(&mut self, to: u64) -> disk_image::Result<()> {
        if to > self.position {
            self.take(&Piece::Zero {
                offset: self.position,
                len: to - self.position,
            })?;
            self.position = to;
        }
        Ok(())
    }
}

impl DiskSink for DigestSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> disk_image::Result<()> {
        self.zeros_to(offset)?;
        self.take(&Piece::Data {
            offset,
            bytes: data.to_vec(),
        })?;
        self.position = offset + data.len() as u64;
        Ok(())
    }

    fn finish(&mut self, size: u64) -> disk_image::Result<()> {
        self.zeros_to(size)?;
        let digest = self.digest.take().ok_or_else(|| {
            disk_image::DiskImageError::Invalid("the digest sink is finished".into())
        })?;
        let result = digest
            .finish()
            .map_err(|e| disk_image::DiskImageError::Invalid(format!("{e:#}")))?;
        self.result = Some(result);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequential(disk: &[u8]) -> String {
        let mut outer = Sha256::new();
        for block in disk.chunks(BLOCK as usize) {
            outer.update(Sha256::digest(block));
        }
        format!("sha256-2m:{}", hex(&outer.finalize()))
    }

    #[test]
    fn any_block_order_and_zero_ranges_give_the_same_digest() {
        let size = 5 * (1 << 20) + 512;
        let mut disk = vec![0u8; size];
        disk[10] = 1;
        disk[(4 << 20) + 3] = 2;
        disk[size - 1] = 3;
        let expected = sequential(&disk);

        let mut digest = BlockDigest::new(size as u64);
        // The last block first, the middle block as one zero range, the first in two parts.
        digest
            .add(&Piece::Data {
                offset: 4 << 20,
                bytes: disk[4 << 20..].to_vec(),
            })
            .unwrap();
        digest
            .add(&Piece::Zero {
                offset: 2 << 20,
                len: 2 << 20,
            })
            .unwrap();
        digest
            .add(&Piece::Data {
                offset: 0,
                bytes: disk[..4096].to_vec(),
            })
            .unwrap();
        digest
            .add(&Piece::Zero {
                offset: 4096,
                len: (2 << 20) - 4096,
            })
            .unwrap();
        assert_eq!(digest.finish().unwrap(), expected);

        // The sink of a download: data at ascending offsets, gaps are zeros.
        let mut sink = DigestSink::new(size as u64);
        sink.write_at(0, &disk[..1024]).unwrap();
        sink.write_at(4 << 20, &disk[4 << 20..(4 << 20) + 8])
            .unwrap();
        sink.write_at(size as u64 - 1, &disk[size - 1..]).unwrap();
        sink.finish(size as u64).unwrap();
        assert_eq!(sink.digest(), Some(expected.as_str()));
    }

    #[test]
    fn gaps_overlaps_and_disorder_inside_a_block_fail() {
        let mut digest = BlockDigest::new(4 << 20);
        digest
            .add(&Piece::Zero {
                offset: 0,
                len: 2 << 20,
            })
            .unwrap();
        let error = digest.finish().unwrap_err().to_string();
        assert!(error.contains("block 1"), "{error}");

        let mut digest = BlockDigest::new(4 << 20);
        digest
            .add(&Piece::Zero {
                offset: 0,
                len: 2 << 20,
            })
            .unwrap();
        let error = digest
            .add(&Piece::Zero {
                offset: 0,
                len: 2 << 20,
            })
            .unwrap_err();
        assert!(error.to_string().contains("twice"), "{error}");

        let mut digest = BlockDigest::new(4 << 20);
        digest
            .add(&Piece::Zero {
                offset: 4096,
                len: 4096,
            })
            .unwrap_err();
        let error = digest
            .add(&Piece::Zero {
                offset: 4 << 20,
                len: 1,
            })
            .unwrap_err();
        assert!(error.to_string().contains("past the disk"), "{error}");
    }
}
