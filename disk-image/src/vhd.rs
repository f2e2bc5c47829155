//! VHD images (Microsoft's Virtual Hard Disk format, which XenServer's file SRs store and its
//! `/export_raw_vdi?format=vhd` serves): write dynamic (sparse) and fixed VHDs, read both.
//!
//! - [`DynamicVhdSink`] and [`FixedVhdSink`] are [`DiskSink`](crate::DiskSink)s writing a VHD
//!   file at disk speed.
//! - [`write_dynamic_vhd`] and [`write_fixed_vhd`] stream a VHD into any `Write` (an HTTP
//!   response) without a temporary file; [`DynamicVhd`] also gives the length beforehand.
//! - [`VhdDisk`] reads a fixed or dynamic VHD as a [`RandomAccessDisk`](crate::RandomAccessDisk);
//!   [`probe`] tells whether a file is a VHD; [`VhdCheck`] checks one as its bytes stream
//!   past (a compressed VHD, a download); [`read_dynamic_pieces`] reads a dynamic VHD as it
//!   streams, in one pass, into the disk's [`Piece`](crate::Piece)s.
//!
//! # Layout
//!
//! Every integer is big-endian; offsets count bytes from the start of the file; a sector is
//! 512 bytes.
//!
//! A **fixed** VHD (disk type 2) is the disk's bytes followed by the footer at offset `size`.
//! We leave all-zero 4 KiB runs of the data as holes.
//!
//! A **dynamic** VHD (disk type 3), as written here:
//!
//! | offset | length | content |
//! |---|---|---|
//! | 0 | 512 | copy of the footer |
//! | 512 | 1024 | dynamic header |
//! | 1536 | 4 per block, padded with `0xFF` to a whole sector | BAT |
//! | after the BAT | 512 + 2 MiB per allocated block | sector bitmap, then the block's data |
//! | file length - 512 | 512 | footer |
//!
//! Footer (offset: field = what we write): 0: cookie = `conectix`; 8: features = 2 (the
//! reserved bit); 12: format version = `0x00010000`; 16: data offset = 512, the dynamic
//! header (`0xFFFFFFFFFFFFFFFF` for fixed); 24: timestamp = seconds since 2000-01-01 UTC;
//! 28: creator application = `tap\0`; 32: creator version = `0x00010003`; 36: creator host
//! OS = 0; 40: original size and 48: current size = the virtual size; 56: geometry =
//! cylinders (u16), heads (u8), sectors per track (u8); 60: disk type; 64: checksum;
//! 68: unique id = a random UUID; 84: saved state = 0; the remaining 427 bytes are zero.
//!
//! Dynamic header: 0: cookie = `cxsparse`; 8: data offset = `0xFFFFFFFFFFFFFFFF`; 16: table
//! offset = 1536; 24: header version = `0x00010000`; 28: max table entries = the number of
//! blocks; 32: block size = 2 MiB; 36: checksum; 40..1024: parent fields, zero (no parent).
//!
//! Checksums (footer and dynamic header alike) are the one's complement of the sum of the
//! structure's bytes, the checksum field left out.
//!
//! BAT: one `u32` per 2 MiB block, the sector number of the block's bitmap, or `0xFFFFFFFF`
//! for a block that is not allocated and reads as zeros. Sector bitmap: one bit per sector
//! of the block, most significant bit first (bit 7 of byte 0 is sector 0); a set bit means
//! the sector is stored, a clear one reads as zeros. We allocate only blocks holding non-zero
//! data, give every allocated block a full bitmap, and leave zero 4 KiB runs inside allocated
//! blocks as holes in the file. The last block is stored whole even when the disk ends
//! inside it.
//!
//! # Size: creator application and geometry
//!
//! The virtual size is the footer's `current_size`. Some readers derive it from the CHS
//! geometry instead, which rounds down (qemu does for the creators `vpc `, `qemu` and
//! XAPI's `caml`). We write the creator `tap\0` of XenServer's blktap (`vhd-util`), for which
//! qemu uses `current_size`, as it does for Hyper-V; libvhdi (`vhdiinfo`) and XenServer
//! always do. The geometry is the specification's CHS computation (never more than the size,
//! at most 65535 x 16 x 255), so a reader that insists on CHS gets at most the true size.
//! Thus `qemu-img info`, `vhdiinfo` and XAPI report exactly the size written.
//!
//! Sizes must be whole sectors and at most [`MAX_SIZE`] (2040 GiB: the limit of qemu and
//! Hyper-V, and about the most a `u32` BAT of 2 MiB blocks can address).

mod check;
mod footer;
mod header;
mod pieces;
mod reader;
mod sink;
mod stream;

pub use check::VhdCheck;
pub use footer::VhdKind;
pub use pieces::{VhdSummary, read_dynamic_pieces};
pub use reader::{VhdDisk, probe};
pub use sink::{DynamicVhdSink, FixedVhdSink};
pub use stream::{DynamicVhd, write_dynamic_vhd, write_fixed_vhd};

use std::path::PathBuf;

use crate::error::{DiskImageError, Result};

/// The largest virtual size a VHD may have: 2040 GiB.
pub const MAX_SIZE: u64 = 2040 << 30;

/// Checks that a disk named `name` of `size` bytes can be written as a VHD.
fn check_size(name: &str, size: u64) -> Result<()> {
    if size == 0 {
        return Err(DiskImageError::Invalid(format!(
            "`{name}` is empty: a VHD holds at least one 512-byte sector"
        )));
    }
    if !size.is_multiple_of(512) {
        return Err(DiskImageError::UnalignedSize {
            path: PathBuf::from(name),
            size,
            hint: "a VHD holds whole 512-byte sectors: pad the disk",
        });
    }
    if size > MAX_SIZE {
        return Err(DiskImageError::Invalid(format!(
            "`{name}` is {size} bytes, more than the {MAX_SIZE} bytes (2040 GiB) a VHD can hold"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_a_vhd_can_hold() {
        check_size("d", 512).unwrap();
        check_size("d", MAX_SIZE).unwrap();
        let err = check_size("disk.img", 1000).unwrap_err().to_string();
        assert!(
            err.contains("disk.img") && err.contains("multiple of 512"),
            "{err}"
        );
        let err = check_size("empty.img", 0).unwrap_err().to_string();
        assert!(err.contains("empty.img") && err.contains("empty"), "{err}");
        let err = check_size("big.img", MAX_SIZE + 512)
            .unwrap_err()
            .to_string();
        assert!(err.contains("big.img") && err.contains("2040 GiB"), "{err}");
    }
}
