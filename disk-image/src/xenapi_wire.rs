//! The workspace's [`ImageFormat`] and [`Compression`] to and from XAPI's wire enums
//! (`/export_raw_vdi?format=`, `/export?use_compression=`). Only with the `xenapi-wire`
//! feature, which turns on `xenapi`'s client (the enums live there).

use crate::compress::Compression;
use crate::format::ImageFormat;

impl From<ImageFormat> for xenapi::DiskFormat {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Raw => xenapi::DiskFormat::Raw,
            ImageFormat::Vhd => xenapi::DiskFormat::Vhd,
        }
    }
}

impl From<xenapi::DiskFormat> for ImageFormat {
    fn from(format: xenapi::DiskFormat) -> Self {
        match format {
            xenapi::DiskFormat::Raw => ImageFormat::Raw,
            xenapi::DiskFormat::Vhd => ImageFormat::Vhd,
        }
    }
}

impl From<Compression> for xenapi::Compression {
    fn from(compression: Compression) -> Self {
        match compression {
            Compression::None => xenapi::Compression::None,
            Compression::Gzip => xenapi::Compression::Gzip,
            Compression::Zstd => xenapi::Compression::Zstd,
        }
    }
}

impl From<xenapi::Compression> for Compression {
    fn from(compression: xenapi::Compression) -> Self {
        match compression {
            xenapi::Compression::None => Compression::None,
            xenapi::Compression::Gzip => Compression::Gzip,
            xenapi::Compression::Zstd => Compression::Zstd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for format in ImageFormat::ALL {
            assert_eq!(ImageFormat::from(xenapi::DiskFormat::from(format)), format);
        }
        for compression in Compression::ALL {
            let wire = xenapi::Compression::from(compression);
            assert_eq!(Compression::from(wire), compression);
        }
    }
}
