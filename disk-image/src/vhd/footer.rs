//! The 512-byte VHD footer (big-endian), its checksum and the CHS geometry it carries.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of the footer, the same for every VHD type.
pub(crate) const FOOTER_LEN: usize = 512;
/// Footer `data_offset` of a fixed VHD: there is no dynamic header.
pub(crate) const NO_DATA_OFFSET: u64 = u64::MAX;

const COOKIE: &[u8; 8] = b"conectix";
/// Feature bit 1 is reserved and must always be set.
const FEATURES_RESERVED: u32 = 0x0000_0002;
const FILE_FORMAT_VERSION: u32 = 0x0001_0000;
/// XenServer's blktap (`vhd-util`): readers take the size from `current_size`, not the CHS
/// geometry (see the module docs of [`crate::vhd`]).
const CREATOR_APP: [u8; 4] = *b"tap\0";
/// blktap's creator version, 1.3.
const CREATOR_VERSION: u32 = 0x0001_0003;
/// blktap leaves the creator host OS at 0.
const CREATOR_HOST_OS: u32 = 0;
/// Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC.
const VHD_EPOCH_UNIX_SECONDS: u64 = 946_684_800;
/// Byte range of the checksum field.
const CHECKSUM_AT: usize = 64;

/// The type of a VHD, from its footer's `disk type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VhdKind {
    /// Type 2: the disk's bytes as they are, then the footer.
    Fixed,
    /// Type 3: sparse, allocated in blocks through a block allocation table.
    Dynamic,
    /// Type 4: a dynamic VHD holding only the changes against a parent VHD (not supported by
    /// [`crate::vhd::VhdDisk`]).
    Differencing,
}

impl VhdKind {
    /// The footer's `disk type` code.
    pub fn code(self) -> u32 {
        match self {
            VhdKind::Fixed => 2,
            VhdKind::Dynamic => 3,
            VhdKind::Differencing => 4,
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        match code {
            2 => Some(VhdKind::Fixed),
            3 => Some(VhdKind::Dynamic),
            4 => Some(VhdKind::Differencing),
            _ => None,
        }
    }
}

/// Cylinders, heads and sectors per track, as the footer records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub cylinders: u16,
    pub heads: u8,
    pub sectors_per_track: u8,
}

impl Geometry {
    /// The geometry the VHD specification (appendix "CHS calculation") derives from a size.
    /// Its product never exceeds the size, and stops growing at 65535 x 16 x 255 sectors
    /// (about 127 GiB).
    pub fn for_size(size: u64) -> Self {
        let total = (size / 512).min(65_535 * 16 * 255);
        let (sectors_per_track, heads, cylinders_times_heads) = if total >= 65_535 * 16 * 63 {
            (255, 16, total / 255)
        } else {
            let mut sectors_per_track = 17;
            let mut cylinders_times_heads = total / sectors_per_track;
            let mut heads = cylinders_times_heads.div_ceil(1024).max(4);
            if cylinders_times_heads >= heads * 1024 || heads > 16 {
                sectors_per_track = 31;
                heads = 16;
                cylinders_times_heads = total / sectors_per_track;
            }
            if cylinders_times_heads >= heads * 1024 {
                sectors_per_track = 63;
                heads = 16;
                cylinders_times_heads = total / sectors_per_track;
            }
            (sectors_per_track, heads, cylinders_times_heads)
        };
        Geometry {
            cylinders: u16::try_from(cylinders_times_heads / heads).unwrap_or(u16::MAX),
            heads: u8::try_from(heads).expect("at most 16 heads"),
            sectors_per_track: u8::try_from(sectors_per_track).expect("at most 255 sectors"),
        }
    }
}

/// A decoded footer. Every field is kept so that encoding a decoded footer gives it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Footer {
    pub features: u32,
    pub format_version: u32,
    /// Offset of the dynamic header, or [`NO_DATA_OFFSET`].
    pub data_offset: u64,
    /// Seconds since 2000-01-01 00:00:00 UTC.
    pub timestamp: u32,
    pub creator_app: [u8; 4],
    pub creator_version: u32,
    pub creator_host_os: u32,
    pub original_size: u64,
    /// The virtual size of the disk in bytes.
    pub current_size: u64,
    pub geometry: Geometry,
    pub kind: VhdKind,
    pub unique_id: [u8; 16],
    pub saved_state: u8,
}

impl Footer {
    /// The footer of a new VHD of `kind` and `size` bytes: our creator, the spec geometry,
    /// the current time and a random unique id.
    pub fn new(kind: VhdKind, size: u64, data_offset: u64) -> Self {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Footer {
            features: FEATURES_RESERVED,
            format_version: FILE_FORMAT_VERSION,
            data_offset,
            timestamp: u32::try_from(unix.saturating_sub(VHD_EPOCH_UNIX_SECONDS))
                .unwrap_or(u32::MAX),
            creator_app: CREATOR_APP,
            creator_version: CREATOR_VERSION,
            creator_host_os: CREATOR_HOST_OS,
            original_size: size,
            current_size: size,
            geometry: Geometry::for_size(size),
            kind,
            unique_id: *uuid::Uuid::new_v4().as_bytes(),
            saved_state: 0,
        }
    }

    /// The 512 bytes of this footer, checksum included.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[0..8].copy_from_slice(COOKIE);
        out[8..12].copy_from_slice(&self.features.to_be_bytes());
        out[12..16].copy_from_slice(&self.format_version.to_be_bytes());
        out[16..24].copy_from_slice(&self.data_offset.to_be_bytes());
        out[24..28].copy_from_slice(&self.timestamp.to_be_bytes());
        out[28..32].copy_from_slice(&self.creator_app);
        out[32..36].copy_from_slice(&self.creator_version.to_be_bytes());
        out[36..40].copy_from_slice(&self.creator_host_os.to_be_bytes());
        out[40..48].copy_from_slice(&self.original_size.to_be_bytes());
        out[48..56].copy_from_slice(&self.current_size.to_be_bytes());
        out[56..58].copy_from_slice(&self.geometry.cylinders.to_be_bytes());
        out[58] = self.geometry.heads;
        out[59] = self.geometry.sectors_per_track;
        out[60..64].copy_from_slice(&self.kind.code().to_be_bytes());
        out[68..84].copy_from_slice(&self.unique_id);
        out[84] = self.saved_state;
        let checksum = checksum(&out, CHECKSUM_AT);
        out[CHECKSUM_AT..CHECKSUM_AT + 4].copy_from_slice(&checksum.to_be_bytes());
        out
    }

    /// Decodes and checks a footer; the error says what is wrong with it.
    pub fn decode(bytes: &[u8; FOOTER_LEN]) -> Result<Self, String> {
        if !has_cookie(bytes) {
            return Err(format!(
                "no VHD footer: the cookie is {:?}, not \"conectix\"",
                String::from_utf8_lossy(&bytes[0..8])
            ));
        }
        let recorded = be_u32(bytes, CHECKSUM_AT);
        let computed = checksum(bytes, CHECKSUM_AT);
        if recorded != computed {
            return Err(format!(
                "footer checksum mismatch (recorded {recorded:#010x}, computed {computed:#010x})"
            ));
        }
        let code = be_u32(bytes, 60);
        let kind = VhdKind::from_code(code)
            .ok_or_else(|| format!("unknown disk type {code} (2 = fixed, 3 = dynamic)"))?;
        Ok(Footer {
            features: be_u32(bytes, 8),
            format_version: be_u32(bytes, 12),
            data_offset: be_u64(bytes, 16),
            timestamp: be_u32(bytes, 24),
            creator_app: bytes[28..32].try_into().expect("4 bytes"),
            creator_version: be_u32(bytes, 32),
            creator_host_os: be_u32(bytes, 36),
            original_size: be_u64(bytes, 40),
            current_size: be_u64(bytes, 48),
            geometry: Geometry {
                cylinders: u16::from_be_bytes([bytes[56], bytes[57]]),
                heads: bytes[58],
                sectors_per_track: bytes[59],
            },
            kind,
            unique_id: bytes[68..84].try_into().expect("16 bytes"),
            saved_state: bytes[84],
        })
    }
}

/// Whether `bytes` starts with the footer cookie `conectix`.
pub(crate) fn has_cookie(bytes: &[u8]) -> bool {
    bytes.starts_with(COOKIE)
}

/// The VHD checksum: the one's complement of the byte sum of `bytes`, leaving out the four
/// bytes of the checksum field at `field`.
pub(crate) fn checksum(bytes: &[u8], field: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(at, _)| !(field..field + 4).contains(at))
        .fold(0u32, |sum, (_, byte)| sum.wrapping_add(u32::from(*byte)));
    !sum
}

/// The big-endian `u32` at `at`.
pub(crate) fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The big-endian `u64` at `at`.
pub(crate) fn be_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn geometry_follows_the_specification() {
        // The VHD specification's CHS algorithm: 1 000 000 000 bytes -> 1937/16/63.
        assert_eq!(
            Geometry::for_size(1_000_000_000),
            Geometry {
                cylinders: 1937,
                heads: 16,
                sectors_per_track: 63
            }
        );
        assert_eq!(
            Geometry::for_size(3 << 20),
            Geometry {
                cylinders: 90,
                heads: 4,
                sectors_per_track: 17
            }
        );
        let max = Geometry {
            cylinders: 65_535,
            heads: 16,
            sectors_per_track: 255,
        };
        assert_eq!(Geometry::for_size(2040 << 30), max);
        assert_eq!(Geometry::for_size(65_535 * 16 * 255 * 512), max);
    }

    #[test]
    fn geometry_never_exceeds_the_size() {
        for size in [512, 4096, 1 << 20, (1 << 20) + 512, 127 << 30, 1 << 40] {
            let g = Geometry::for_size(size);
            let chs =
                u64::from(g.cylinders) * u64::from(g.heads) * u64::from(g.sectors_per_track) * 512;
            assert!(chs <= size, "{size}: {g:?}");
        }
    }

    #[test]
    fn new_footer_has_our_creator_and_a_valid_checksum() {
        let footer = Footer::new(VhdKind::Dynamic, 1 << 30, 512);
        let bytes = footer.encode();
        assert_eq!(&bytes[0..8], b"conectix");
        assert_eq!(&bytes[28..32], b"tap\0");
        assert_eq!(be_u32(&bytes, 8), 2);
        assert_eq!(be_u32(&bytes, 60), 3);
        assert_eq!(be_u64(&bytes, 48), 1 << 30);
        assert_eq!(Footer::decode(&bytes).unwrap(), footer);
        assert!(footer.timestamp > 0);
    }

    #[test]
    fn decode_names_the_problem() {
        let mut bytes = Footer::new(VhdKind::Fixed, 4096, NO_DATA_OFFSET).encode();
        bytes[100] = 1;
        let err = Footer::decode(&bytes).unwrap_err();
        assert!(err.contains("checksum mismatch"), "{err}");
        bytes[0] = b'C';
        let err = Footer::decode(&bytes).unwrap_err();
        assert!(err.contains("cookie"), "{err}");

        let mut footer = Footer::new(VhdKind::Fixed, 4096, NO_DATA_OFFSET).encode();
        footer[63] = 7;
        let sum = checksum(&footer, CHECKSUM_AT);
        footer[64..68].copy_from_slice(&sum.to_be_bytes());
        let err = Footer::decode(&footer).unwrap_err();
        assert!(err.contains("unknown disk type 7"), "{err}");
    }

    fn any_kind() -> impl Strategy<Value = VhdKind> {
        prop_oneof![
            Just(VhdKind::Fixed),
            Just(VhdKind::Dynamic),
            Just(VhdKind::Differencing)
        ]
    }

    prop_compose! {
        fn any_footer()(
            numbers in any::<(u32, u32, u64, u32, u32, u32, u64, u64)>(),
            chs in any::<(u16, u8, u8)>(),
            kind in any_kind(),
            creator_app in any::<[u8; 4]>(),
            unique_id in any::<[u8; 16]>(),
            saved_state in any::<u8>(),
        ) -> Footer {
            let (features, format_version, data_offset, timestamp, creator_version,
                 creator_host_os, original_size, current_size) = numbers;
            Footer {
                features, format_version, data_offset, timestamp, creator_app, creator_version,
                creator_host_os, original_size, current_size,
                geometry: Geometry { cylinders: chs.0, heads: chs.1, sectors_per_track: chs.2 },
                kind, unique_id, saved_state,
            }
        }
    }

    proptest! {
        #[test]
        fn footer_round_trips(footer in any_footer()) {
            let bytes = footer.encode();
            prop_assert_eq!(Footer::decode(&bytes).unwrap(), footer);
        }

        #[test]
        fn any_changed_byte_is_detected(
            footer in any_footer(), at in 0..FOOTER_LEN, delta in 1..=255u8
        ) {
            let mut bytes = footer.encode();
            bytes[at] = bytes[at].wrapping_add(delta);
            prop_assert!(Footer::decode(&bytes).is_err());
        }
    }
}
