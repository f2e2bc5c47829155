//! A disk as the pieces a one-pass reader hands on: data at an offset, or a range reading as
//! zeros. A reader of a stream ([`read_raw_pieces`], [`crate::vhd::read_dynamic_pieces`], an
//! XVA's chunks) produces every byte of the disk exactly once, in any order of blocks, and a
//! consumer (an imageio upload, a digest) takes them as they come: nothing is held but one
//! block, whatever the disk's size. An uploader (`ovirt_client::imageio`) takes pieces in
//! any order.

use std::io::{self, Read};

use crate::error::DiskImageError;

/// All-zero runs of this size inside a block are handed on as zero ranges.
pub const ZERO_GRANULE: usize = 64 << 10;

/// Bytes a raw stream is read in.
const RAW_BLOCK: usize = 2 << 20;

/// A piece of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These bytes at this offset.
    Data {
        /// Where they go.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `len` bytes reading as zeros at `offset`.
    Zero {
        /// Where.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
}

impl Piece {
    /// Its first byte.
    pub fn offset(&self) -> u64 {
        match self {
            Piece::Data { offset, .. } | Piece::Zero { offset, .. } => *offset,
        }
    }

    /// Its length.
    pub fn len(&self) -> u64 {
        match self {
            Piece::Data { bytes, .. } => bytes.len() as u64,
            Piece::Zero { len, .. } => *len,
        }
    }

    /// Whether it covers no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past its last byte.
    pub fn end(&self) -> u64 {
        self.offset() + self.len()
    }
}

/// Why reading pieces stopped: the source was not what it should be, or the sink (the
/// consumer of the pieces) failed and its error is handed back whole.
#[derive(Debug)]
pub enum PieceError<E> {
    /// The source: cut, damaged, or not the format expected.
    Source(DiskImageError),
    /// The sink's own error.
    Sink(E),
}

impl<E> From<DiskImageError> for PieceError<E> {
    fn from(error: DiskImageError) -> Self {
        PieceError::Source(error)
    }
}

impl<E: std::fmt::Display> std::fmt::Display for PieceError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PieceError::Source(error) => error.fmt(f),
            PieceError::Sink(error) => error.fmt(f),
        }
    }
}

/// Hands the bytes `data` found at `start` to `sink` as data runs and all-zero runs of
/// [`ZERO_GRANULE`].
pub fn split<E>(
    start: u64,
    data: &[u8],
    sink: &mut dyn FnMut(Piece) -> Result<(), E>,
) -> Result<(), E> {
    let zero: Vec<bool> = data.chunks(ZERO_GRANULE).map(crate::is_zero).collect();
    let mut from = 0;
    while from < zero.len() {
        let mut to = from;
        while to < zero.len() && zero[to] == zero[from] {
            to += 1;
        }
        let (a, b) = (from * ZERO_GRANULE, (to * ZERO_GRANULE).min(data.len()));
        let offset = start + a as u64;
        sink(if zero[from] {
            Piece::Zero {
                offset,
                len: (b - a) as u64,
            }
        } else {
            Piece::Data {
                offset,
                bytes: data[a..b].to_vec(),
            }
        })?;
        from = to;
    }
    Ok(())
}

/// Reads a raw disk of `size` bytes from `reader` (called `name` in messages) front to back
/// and hands it to `sink` as pieces, all-zero runs as zero ranges. A stream that ends before
/// `size` bytes, or goes on after them, fails.
pub fn read_raw_pieces<E>(
    mut reader: impl Read,
    size: u64,
    name: &str,
    sink: &mut dyn FnMut(Piece) -> Result<(), E>,
) -> Result<(), PieceError<E>> {
    let mut block = vec![0u8; RAW_BLOCK];
    let mut at = 0u64;
    while at < size {
        let want = RAW_BLOCK.min(usize::try_from(size - at).unwrap_or(RAW_BLOCK));
        let filled = fill(&mut reader, &mut block[..want])
            .map_err(|e| DiskImageError::io(format!("reading `{name}` at byte {at}"), e))?;
        if filled < want {
            return Err(PieceError::Source(DiskImageError::format(
                format!("`{name}`"),
                format!(
                    "ends at byte {}, the disk has {size}: the stream was cut",
                    at + filled as u64
                ),
            )));
        }
        split(at, &block[..want], sink).map_err(PieceError::Sink)?;
        at += want as u64;
    }
    let mut one = [0u8; 1];
    if fill(&mut reader, &mut one)
        .map_err(|e| DiskImageError::io(format!("reading `{name}` at byte {size}"), e))?
        > 0
    {
        return Err(PieceError::Source(DiskImageError::format(
            format!("`{name}`"),
            format!("holds more than the disk's {size} bytes"),
        )));
    }
    Ok(())
}

/// Reads until `buf` is full or the stream ends; the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(data: &[u8], size: u64) -> Result<Vec<Piece>, PieceError<String>> {
        let mut pieces = Vec::new();
        read_raw_pieces(data, size, "d.img", &mut |p| {
            pieces.push(p);
            Ok::<(), String>(())
        })?;
        Ok(pieces)
    }

    #[test]
    fn a_raw_stream_becomes_data_and_zero_ranges() {
        let mut disk = vec![0u8; 5 << 20];
        disk[10] = 1;
        disk[(4 << 20) + 5] = 2;
        let pieces = collect(&disk, disk.len() as u64).unwrap();
        let data: u64 = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Data { .. }))
            .map(Piece::len)
            .sum();
        assert_eq!(data, 2 * ZERO_GRANULE as u64);
        assert_eq!(pieces.iter().map(Piece::len).sum::<u64>(), 5 << 20);
        let mut rebuilt = vec![0xEEu8; disk.len()];
        for piece in &pieces {
            let at = piece.offset() as usize;
            match piece {
                Piece::Data { bytes, .. } => rebuilt[at..at + bytes.len()].copy_from_slice(bytes),
                Piece::Zero { len, .. } => rebuilt[at..at + *len as usize].fill(0),
            }
        }
        assert!(rebuilt == disk);
    }

    #[test]
    fn short_and_long_streams_fail_and_sink_errors_come_back_whole() {
        let disk = vec![1u8; 3 << 20];
        let error = collect(&disk[..100], 3 << 20).unwrap_err().to_string();
        assert!(
            error.contains("d.img") && error.contains("ends at byte 100"),
            "{error}"
        );
        let error = collect(&disk, 2 << 20).unwrap_err().to_string();
        assert!(error.contains("more than"), "{error}");
        let error = read_raw_pieces(&disk[..], 3 << 20, "d.img", &mut |_| {
            Err("the upload failed".to_owned())
        })
        .unwrap_err();
        assert!(matches!(error, PieceError::Sink(e) if e == "the upload failed"));
    }
}
