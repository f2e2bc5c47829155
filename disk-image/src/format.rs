//! The formats a disk image is stored in: one vocabulary for the workspace (the manifest's
//! `format`, vmbackup's `vdi_export_format`, XAPI's `/export_raw_vdi?format=`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a disk image is laid out in its file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// Every byte of the virtual size, in order (holes where the disk is zero).
    #[default]
    Raw,
    /// A VHD: dynamic (only the allocated blocks, as XAPI exports it) or fixed.
    Vhd,
}

impl ImageFormat {
    /// Every format, in the order of the docs.
    pub const ALL: [ImageFormat; 2] = [ImageFormat::Raw, ImageFormat::Vhd];

    /// The name: `raw` or `vhd` (also the file extension and the manifest's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Vhd => "vhd",
        }
    }
}

impl From<ImageFormat> for &'static str {
    fn from(format: ImageFormat) -> Self {
        format.as_str()
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the vocabulary's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    /// Which vocabulary (`image format`, `compression`).
    pub what: &'static str,
    /// The name given.
    pub name: String,
}

impl FromStr for ImageFormat {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        ImageFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "image format",
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_print_and_serialise_alike() {
        for format in ImageFormat::ALL {
            assert_eq!(format.as_str().parse::<ImageFormat>(), Ok(format));
            assert_eq!(format.to_string(), format.as_str());
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{format}\""));
        }
        assert!("qcow2".parse::<ImageFormat>().is_err());
        assert!("RAW".parse::<ImageFormat>().is_err());
    }
}
