//! The dynamic disk header (1024 bytes, big-endian), the block allocation table (BAT) and the
//! layout of the dynamic VHDs this crate writes.

use super::footer::{FOOTER_LEN, Footer, be_u32, be_u64, checksum};

/// Length of the dynamic disk header.
pub(crate) const HEADER_LEN: usize = 1024;
/// Where we put the dynamic header: right after the footer copy.
pub(crate) const HEADER_OFFSET: u64 = FOOTER_LEN as u64;
/// Where we put the BAT: right after the dynamic header.
pub(crate) const BAT_OFFSET: u64 = HEADER_OFFSET + HEADER_LEN as u64;
/// The block size we write (the specification's default).
pub(crate) const BLOCK_SIZE: u64 = 2 << 20;
/// Length of the sector bitmap in front of each of our blocks: one bit per 512-byte sector
/// of a 2 MiB block (4096 bits), padded to whole sectors.
pub(crate) const BITMAP_LEN: u64 = bitmap_len(BLOCK_SIZE);
/// A BAT entry of a block that is not allocated.
pub(crate) const UNALLOCATED: u32 = u32::MAX;

const COOKIE: &[u8; 8] = b"cxsparse";
const HEADER_VERSION: u32 = 0x0001_0000;
const CHECKSUM_AT: usize = 36;

/// Length of the sector bitmap of a block of `block_size` bytes: one bit per sector, padded
/// to whole 512-byte sectors.
pub(crate) const fn bitmap_len(block_size: u64) -> u64 {
    (block_size / 512).div_ceil(8).div_ceil(512) * 512
}

/// The fields of a dynamic header that matter for a dynamic (not differencing) VHD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DynamicHeader {
    /// Absolute byte offset of the BAT.
    pub table_offset: u64,
    /// Number of BAT entries.
    pub max_table_entries: u32,
    /// Bytes per block (a multiple of 512).
    pub block_size: u32,
}

impl DynamicHeader {
    /// The 1024 bytes of this header: no parent, checksum included.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(COOKIE);
        out[8..16].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: unused
        out[16..24].copy_from_slice(&self.table_offset.to_be_bytes());
        out[24..28].copy_from_slice(&HEADER_VERSION.to_be_bytes());
        out[28..32].copy_from_slice(&self.max_table_entries.to_be_bytes());
        out[32..36].copy_from_slice(&self.block_size.to_be_bytes());
        let checksum = checksum(&out, CHECKSUM_AT);
        out[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&checksum.to_be_bytes());
        out
    }

    /// Decodes and checks a header; the error says what is wrong with it.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, String> {
        if !bytes.starts_with(COOKIE) {
            return Err(format!(
                "no dynamic disk header: the cookie is {:?}, not \"cxsparse\"",
                String::from_utf8_lossy(&bytes[0..8])
            ));
        }
        let recorded = be_u32(bytes, CHECKSUM_AT);
        let computed = checksum(bytes, CHECKSUM_AT);
        if recorded != computed {
            return Err(format!(
                "dynamic header checksum mismatch (recorded {recorded:#010x}, computed \
                 {computed:#010x})"
            ));
        }
        Ok(DynamicHeader {
            table_offset: be_u64(bytes, 16),
            max_table_entries: be_u32(bytes, 28),
            block_size: be_u32(bytes, 32),
        })
    }
}

/// Where everything goes in a dynamic VHD of a given size, as this crate writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DynamicLayout {
    /// Virtual size in bytes.
    pub size: u64,
    /// Number of 2 MiB blocks (BAT entries).
    pub blocks: u32,
}

impl DynamicLayout {
    /// The layout of a disk of `size` bytes (already checked against the VHD limits).
    pub fn new(size: u64) -> Self {
        DynamicLayout {
            size,
            blocks: u32::try_from(size.div_ceil(BLOCK_SIZE)).expect("size checked by the caller"),
        }
    }

    /// Bytes the BAT takes on disk: 4 per block, padded to whole sectors.
    pub fn bat_len(self) -> u64 {
        (u64::from(self.blocks) * 4).div_ceil(512) * 512
    }

    /// Offset of the first block: right after the BAT.
    pub fn first_block_offset(self) -> u64 {
        BAT_OFFSET + self.bat_len()
    }

    /// Bytes one allocated block takes in the file: its bitmap and its data.
    pub const fn block_len() -> u64 {
        BITMAP_LEN + BLOCK_SIZE
    }

    /// Length of the whole file when `allocated` blocks are stored.
    pub fn file_len(self, allocated: u64) -> u64 {
        self.first_block_offset() + allocated * Self::block_len() + FOOTER_LEN as u64
    }

    /// The start of the file: the footer copy, the dynamic header and the BAT (unused entries
    /// of the last sector padded with `0xFF`, as qemu and blktap do).
    pub fn encode_head(self, footer: &Footer, bat: &[u32]) -> Vec<u8> {
        debug_assert_eq!(bat.len(), self.blocks as usize);
        let mut head = Vec::with_capacity(self.first_block_offset() as usize);
        head.extend_from_slice(&footer.encode());
        let header = DynamicHeader {
            table_offset: BAT_OFFSET,
            max_table_entries: self.blocks,
            block_size: BLOCK_SIZE as u32,
        };
        head.extend_from_slice(&header.encode());
        head.extend(bat.iter().flat_map(|entry| entry.to_be_bytes()));
        head.resize(self.first_block_offset() as usize, 0xFF);
        head
    }
}

/// The BAT entry (a sector number) of a block stored at byte `offset`.
pub(crate) fn bat_entry(offset: u64) -> u32 {
    u32::try_from(offset / 512).expect("a VHD of at most 2040 GiB addresses its blocks in u32")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::footer::VhdKind;
    use super::*;

    #[test]
    fn layout_of_a_small_disk() {
        let layout = DynamicLayout::new(3 << 20);
        assert_eq!(layout.blocks, 2);
        assert_eq!(layout.bat_len(), 512);
        assert_eq!(layout.first_block_offset(), 2048);
        assert_eq!(BITMAP_LEN, 512);
        assert_eq!(layout.file_len(1), 2048 + 512 + (2 << 20) + 512);
        let footer = Footer::new(VhdKind::Dynamic, 3 << 20, HEADER_OFFSET);
        let head = layout.encode_head(&footer, &[4, UNALLOCATED]);
        assert_eq!(head.len(), 2048);
        assert_eq!(
            Footer::decode(head[..512].try_into().unwrap()).unwrap(),
            footer
        );
        let header = DynamicHeader::decode(head[512..1536].try_into().unwrap()).unwrap();
        assert_eq!(header.table_offset, 1536);
        assert_eq!(header.max_table_entries, 2);
        assert_eq!(header.block_size, 2 << 20);
        assert_eq!(&head[1536..1544], &[0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(head[1544..].iter().all(|b| *b == 0xFF));
    }

    #[test]
    fn layout_of_the_largest_disk() {
        let layout = DynamicLayout::new(2040 << 30);
        assert_eq!(layout.blocks, 1_044_480);
        let last = layout.first_block_offset() + u64::from(layout.blocks - 1) * 2_097_664;
        assert!(bat_entry(last) < UNALLOCATED);
    }

    #[test]
    fn bitmap_lengths() {
        assert_eq!(bitmap_len(512), 512);
        assert_eq!(bitmap_len(512 << 10), 512);
        assert_eq!(bitmap_len(2 << 20), 512);
        assert_eq!(bitmap_len(4 << 20), 1024);
    }

    #[test]
    fn decode_names_the_problem() {
        let header = DynamicHeader {
            table_offset: 1536,
            max_table_entries: 9,
            block_size: 2 << 20,
        };
        let mut bytes = header.encode();
        bytes[40] ^= 1;
        let err = DynamicHeader::decode(&bytes).unwrap_err();
        assert!(err.contains("dynamic header checksum mismatch"), "{err}");
        bytes[0] = 0;
        let err = DynamicHeader::decode(&bytes).unwrap_err();
        assert!(err.contains("cxsparse"), "{err}");
    }

    proptest! {
        #[test]
        fn header_round_trips(table_offset: u64, max_table_entries: u32, block_size: u32) {
            let header = DynamicHeader { table_offset, max_table_entries, block_size };
            prop_assert_eq!(DynamicHeader::decode(&header.encode()).unwrap(), header);
        }
    }
}
