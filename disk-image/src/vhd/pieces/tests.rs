use std::os::unix::fs::FileExt;

use super::*;
use crate::pieces::ZERO_GRANULE;
use crate::vhd::write_dynamic_vhd;
use crate::{FileDisk, NoProgress};

type Result<T> = std::result::Result<T, PieceError<String>>;

const MIB: usize = 1 << 20;

/// A 9 MiB disk (the last 2 MiB block is partial) with data in blocks 0, 2 and 4, and its
/// dynamic VHD as disk-image writes it (XAPI's layout).
fn disk_and_vhd() -> (Vec<u8>, Vec<u8>) {
    let mut disk = vec![0u8; 9 * MIB];
    disk[100..5000].fill(0x11);
    disk[4 * MIB + 7] = 0x22;
    disk[(9 * MIB) - 1] = 0x33;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("d.raw");
    // Sparse, so that the writer allocates only the blocks holding data.
    let file = std::fs::File::create(&raw).unwrap();
    file.set_len(disk.len() as u64).unwrap();
    for range in [100..5000, 4 * MIB + 7..4 * MIB + 8, 9 * MIB - 1..9 * MIB] {
        file.write_all_at(&disk[range.clone()], range.start as u64)
            .unwrap();
    }
    let mut vhd = Vec::new();
    write_dynamic_vhd(&FileDisk::open(&raw).unwrap(), &mut vhd, &NoProgress).unwrap();
    (disk, vhd)
}

/// The disk rebuilt from the pieces; checks every byte is covered exactly once.
fn rebuild(vhd: &[u8]) -> Result<(Vec<u8>, Vec<Piece>, VhdSummary)> {
    let mut pieces = Vec::new();
    let summary = read_dynamic_pieces(vhd, "t.vhd", &mut |p| {
        pieces.push(p);
        Ok::<(), String>(())
    })?;
    let mut disk = vec![0xEEu8; summary.size as usize];
    let mut covered = vec![false; summary.size as usize];
    for piece in &pieces {
        let range = piece.offset() as usize..(piece.offset() + piece.len()) as usize;
        assert!(covered[range.clone()].iter().all(|c| !c), "{range:?} twice");
        covered[range.clone()].fill(true);
        match piece {
            Piece::Data { bytes, .. } => disk[range].copy_from_slice(bytes),
            Piece::Zero { .. } => disk[range].fill(0),
        }
    }
    assert!(covered.iter().all(|c| *c), "some bytes were never given");
    Ok((disk, pieces, summary))
}

#[test]
fn a_dynamic_vhd_becomes_its_disk_with_zero_ranges() {
    let (disk, vhd) = disk_and_vhd();
    let (rebuilt, pieces, summary) = rebuild(&vhd).unwrap();
    assert_eq!(rebuilt, disk);
    assert_eq!(summary.size, 9 * MIB as u64);
    assert_eq!(summary.blocks, 3);
    assert_eq!(summary.stream_bytes, vhd.len() as u64);
    let data: u64 = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Data { .. }))
        .map(Piece::len)
        .sum();
    assert_eq!(
        data,
        3 * ZERO_GRANULE as u64,
        "only the granules holding data"
    );
    // The two unallocated blocks form two zero ranges given before any block.
    assert_eq!(
        pieces[..2],
        [
            Piece::Zero {
                offset: 2 * MIB as u64,
                len: 2 * MIB as u64
            },
            Piece::Zero {
                offset: 6 * MIB as u64,
                len: 2 * MIB as u64
            }
        ]
    );
}

#[test]
fn clear_bitmap_bits_read_as_zeros_and_blocks_may_come_in_any_order() {
    let (disk, mut vhd) = disk_and_vhd();
    let bat = 1536;
    let entry = |vhd: &[u8], i: usize| {
        u32::from_be_bytes(vhd[bat + 4 * i..bat + 4 * i + 4].try_into().unwrap())
    };
    // Clear the bit of sector 0 of block 0: bytes 100..512 read as zeros.
    let block0 = entry(&vhd, 0) as usize * 512;
    vhd[block0] &= 0x7F;
    // Swap the BAT entries of blocks 2 and 4: block 4's data now comes first in the stream.
    let (two, four) = (entry(&vhd, 2), entry(&vhd, 4));
    vhd[bat + 8..bat + 12].copy_from_slice(&four.to_be_bytes());
    vhd[bat + 16..bat + 20].copy_from_slice(&two.to_be_bytes());
    let (rebuilt, _, _) = rebuild(&vhd).unwrap();
    let mut expected = disk.clone();
    expected[..512].fill(0);
    // Block 2 (4..6 MiB) reads what block 4 stored: the disk's last MiB, then the zeros
    // that pad the last block; block 4 (8..9 MiB) reads the first MiB block 2 stored.
    expected[4 * MIB..5 * MIB].copy_from_slice(&disk[8 * MIB..9 * MIB]);
    expected[5 * MIB..6 * MIB].fill(0);
    expected[8 * MIB..9 * MIB].copy_from_slice(&disk[4 * MIB..5 * MIB]);
    assert_eq!(rebuilt.len(), expected.len());
    assert!(rebuilt == expected, "the rebuilt disk differs");
}

#[test]
fn cut_damaged_and_unsupported_streams_fail() {
    let (_, vhd) = disk_and_vhd();
    for cut in [0, 700, 1600, vhd.len() / 2, vhd.len() - 512, vhd.len() - 1] {
        let error = rebuild(&vhd[..cut]).unwrap_err().to_string();
        assert!(error.contains("t.vhd"), "cut at {cut}: {error}");
    }
    let mut fixed = vhd.clone();
    fixed[60..64].copy_from_slice(&2u32.to_be_bytes());
    let error = rebuild(&fixed).unwrap_err().to_string();
    assert!(error.contains("disk type 2"), "{error}");
    let error = rebuild(&vec![0u8; 4096]).unwrap_err().to_string();
    assert!(error.contains("only dynamic VHDs"), "{error}");
    // Two BAT entries naming the same block: the second goes backwards.
    let mut twice = vhd.clone();
    let first: [u8; 4] = twice[1536..1540].try_into().unwrap();
    twice[1536 + 8..1536 + 12].copy_from_slice(&first);
    let error = rebuild(&twice).unwrap_err().to_string();
    assert!(error.contains("one pass"), "{error}");
    // A sink's failure stops the read.
    let error = read_dynamic_pieces(&vhd[..], "t.vhd", &mut |_| {
        Err("the upload failed".to_owned())
    })
    .unwrap_err();
    assert!(matches!(error, PieceError::Sink(e) if e == "the upload failed"));
}
