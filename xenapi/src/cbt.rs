//! Changed block tracking: the bitmap `VDI.list_changed_blocks` returns.
//!
//! The answer is base64 of a bitmap with one bit per 64 KiB block of the disk, most
//! significant bit first: block `i` is bit `7 - i % 8` of byte `i / 8` (the SM driver builds
//! it with a big-endian `bitarray`, `sm:libs/sm/VDI.py`).

use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::rpc::CodecError;

/// The set of 64 KiB blocks that changed between two snapshots of a disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedBlocks {
    bitmap: Vec<u8>,
}

impl ChangedBlocks {
    /// The size of one tracked block.
    pub const BLOCK_SIZE: u64 = 64 * 1024;

    /// Decodes XAPI's base64 text (whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CodecError> {
        let compact: String = text.split_whitespace().collect();
        STANDARD
            .decode(compact.as_bytes())
            .map(Self::from_bitmap)
            .map_err(|e| CodecError::Data {
                path: Vec::new(),
                message: format!("the changed-block bitmap is not base64: {e}"),
            })
    }

    /// A bitmap already decoded from base64.
    pub fn from_bitmap(bitmap: Vec<u8>) -> Self {
        ChangedBlocks { bitmap }
    }

    /// The raw bitmap.
    pub fn as_bitmap(&self) -> &[u8] {
        &self.bitmap
    }

    /// How many blocks the bitmap covers (8 per byte; about `virtual_size / 64 KiB`).
    pub fn block_count(&self) -> u64 {
        self.bitmap.len() as u64 * 8
    }

    /// Whether block `index` changed (a block beyond the bitmap did not).
    pub fn is_changed(&self, index: u64) -> bool {
        usize::try_from(index / 8)
            .ok()
            .and_then(|byte| self.bitmap.get(byte))
            .is_some_and(|byte| byte & (0x80 >> (index % 8)) != 0)
    }

    /// How many blocks changed.
    pub fn changed_count(&self) -> u64 {
        self.bitmap.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// The indexes of the changed blocks, in order.
    pub fn changed_blocks(&self) -> impl Iterator<Item = u64> + '_ {
        self.bitmap.iter().enumerate().flat_map(|(byte, bits)| {
            (0..8u64)
                .filter(move |bit| bits & (0x80 >> bit) != 0)
                .map(move |bit| byte as u64 * 8 + bit)
        })
    }

    /// The changed bytes of the disk as ranges, adjacent blocks merged. Clip the last range
    /// to the disk's `virtual_size` if it is not a multiple of 64 KiB.
    pub fn changed_ranges(&self) -> Vec<Range<u64>> {
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for block in self.changed_blocks() {
            let start = block * Self::BLOCK_SIZE;
            match ranges.last_mut() {
                Some(last) if last.end == start => last.end = start + Self::BLOCK_SIZE,
                _ => ranges.push(start..start + Self::BLOCK_SIZE),
            }
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K64: u64 = ChangedBlocks::BLOCK_SIZE;

    #[test]
    fn msb_first_bit_order() {
        // 0b1000_0001, 0b0000_0000, 0b1100_0000: blocks 0, 7, 16, 17.
        let blocks = ChangedBlocks::from_bitmap(vec![0x81, 0x00, 0xC0]);
        let changed: Vec<u64> = blocks.changed_blocks().collect();
        assert_eq!(changed, [0, 7, 16, 17]);
        assert!(blocks.is_changed(0) && blocks.is_changed(7) && !blocks.is_changed(1));
        assert!(!blocks.is_changed(1_000_000));
        assert_eq!(blocks.block_count(), 24);
        assert_eq!(blocks.changed_count(), 4);
        assert_eq!(
            blocks.changed_ranges(),
            [0..K64, 7 * K64..8 * K64, 16 * K64..18 * K64]
        );
    }

    #[test]
    fn decodes_base64_as_xapi_sends_it() {
        // base64 of [0xFF, 0x01]: blocks 0..=7 and 15.
        let blocks = ChangedBlocks::from_base64("/wE=\n").unwrap();
        assert_eq!(blocks.as_bitmap(), [0xFF, 0x01]);
        assert_eq!(blocks.changed_ranges(), [0..8 * K64, 15 * K64..16 * K64]);
        // Ranges merge across byte boundaries: 0x01 then 0x80 = blocks 7 and 8.
        let across = ChangedBlocks::from_base64("AYA=").unwrap();
        assert_eq!(across.changed_ranges(), vec![7 * K64..9 * K64]);
        assert!(
            ChangedBlocks::from_base64("")
                .unwrap()
                .changed_ranges()
                .is_empty()
        );
        let err = ChangedBlocks::from_base64("not base64!").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }
}
