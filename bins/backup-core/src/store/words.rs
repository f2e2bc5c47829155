//! The manifest's vocabulary: words read as typed values that keep what they do not know.
//!
//! A value this version does not know (a typo, a later version's role, a future `qcow2`)
//! still reads, holding its text, so that the manifest is shown and written back as it was;
//! and every reader that acts on it (`verify`, `restore`) must meet it as a distinct case
//! and fail: an unknown value is never taken for a known one.
//!
//! Two shapes, one rule: the store's own words ([`ManifestState`], [`FileRole`]) carry an
//! `Unknown(String)` variant; the workspace's algorithm enums, which programs use to *do*
//! something (compress, digest, write an image format) and so have no unknown member,
//! are held as [`Recorded`]`<T>`: `Known(T)` or `Unknown(String)`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word of a vocabulary `T` as the manifest records it: known, or kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Recorded<T: Word> {
    /// A word this version knows.
    Known(T),
    /// A word this version does not know, as written.
    Unknown(String),
}

/// A vocabulary whose words the manifest records: a name per value, and back.
pub trait Word: Copy + FromStr + Into<&'static str> {}

impl<T: Copy + FromStr + Into<&'static str>> Word for T {}

impl<T: Word> Recorded<T> {
    /// The known value, or the unknown text.
    pub fn known(&self) -> Result<T, &str> {
        match self {
            Recorded::Known(value) => Ok(*value),
            Recorded::Unknown(text) => Err(text),
        }
    }

    /// The manifest's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Recorded::Known(value) => (*value).into(),
            Recorded::Unknown(text) => text,
        }
    }
}

impl<T: Word> From<String> for Recorded<T> {
    fn from(text: String) -> Self {
        match text.parse() {
            Ok(value) => Recorded::Known(value),
            Err(_) => Recorded::Unknown(text),
        }
    }
}

impl<T: Word> From<Recorded<T>> for String {
    fn from(value: Recorded<T>) -> String {
        value.as_str().to_owned()
    }
}

impl<T: Word> fmt::Display for Recorded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An enum written in the manifest as one of a few strings, with an `Unknown` variant
/// that keeps any other string as it was read.
macro_rules! manifest_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version does not know, as written.
            Unknown(String),
        }

        impl $name {
            /// The manifest's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Unknown(text),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

manifest_words!(
    /// The state of a backup: only complete backups have a manifest.
    ManifestState {
        /// Every file written and checked.
        Complete = "complete",
    }
);

manifest_words!(
    /// What a file of a backup is. The XenServer roles (`xva`, `metadata-xva`,
    /// `backup-sr-xva`) are words of this one vocabulary, so that a manifest reads the same
    /// whichever platform wrote it; another platform adds its roles here.
    FileRole {
        /// A VM with its disks (an XVA).
        Xva = "xva",
        /// A VM's records only (an XVA of `ova.xml` alone).
        MetadataXva = "metadata-xva",
        /// A disk image (see the manifest's `disks`).
        Disk = "disk",
        /// `vm-metadata.xml`.
        Metadata = "metadata",
        /// NAUbackup's `*.cfg` files.
        NaubackupMetadata = "naubackup-metadata",
        /// A backup-sr-export's VM records (an XVA of `ova.xml` alone); its disks are kept
        /// on the platform's storage (the manifest's `sr_copies`).
        BackupSrXva = "backup-sr-xva",
    }
);

/// The digest a manifest records for each file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestKind {
    /// XXH64: several GB/s, detects corruption, not tampering (the default).
    #[default]
    Xxh64,
    /// SHA-256: slower, cryptographic.
    Sha256,
}

impl DigestKind {
    /// Every kind.
    pub const ALL: [DigestKind; 2] = [DigestKind::Xxh64, DigestKind::Sha256];

    /// The name: `xxh64` or `sha256`.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestKind::Xxh64 => "xxh64",
            DigestKind::Sha256 => "sha256",
        }
    }
}

impl From<DigestKind> for &'static str {
    fn from(kind: DigestKind) -> Self {
        kind.as_str()
    }
}

impl FromStr for DigestKind {
    type Err = disk_image::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        DigestKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| disk_image::UnknownName {
                what: "digest kind",
                name: name.to_owned(),
            })
    }
}

impl fmt::Display for DigestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use disk_image::ImageFormat;
    use disk_image::compress::Compression;

    #[test]
    fn known_words_read_typed_unknown_ones_keep_their_text() {
        let known: Recorded<Compression> = serde_json::from_str("\"zstd\"").unwrap();
        assert_eq!(known, Recorded::Known(Compression::Zstd));
        let unknown: Recorded<ImageFormat> = serde_json::from_str("\"qcow2\"").unwrap();
        assert_eq!(unknown.known(), Err("qcow2"));
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"qcow2\"");
        let kind: Recorded<DigestKind> = serde_json::from_str("\"sha256\"").unwrap();
        assert_eq!(kind.known(), Ok(DigestKind::Sha256));
        assert_eq!(FileRole::from("disk".to_owned()), FileRole::Disk);
        assert_eq!(
            FileRole::from("Disk".to_owned()),
            FileRole::Unknown("Disk".into())
        );
    }
}
