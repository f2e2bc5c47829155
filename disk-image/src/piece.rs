//! A piece of a disk, as a streamed source produces it: bytes at an offset, or a range that
//! reads as zeros. A dynamic VHD streamed from XAPI yields its blocks in the order they sit
//! in the stream (not the disk's order), an XVA its chunks, a staged image its data ranges;
//! an uploader (`ovirt_client::imageio`) takes pieces in any order.

/// A piece of a disk.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_knows_its_range() {
        let data = Piece::Data {
            offset: 10,
            bytes: vec![1, 2, 3],
        };
        assert_eq!((data.offset(), data.len(), data.end()), (10, 3, 13));
        let zero = Piece::Zero { offset: 4, len: 0 };
        assert!(zero.is_empty());
    }
}
