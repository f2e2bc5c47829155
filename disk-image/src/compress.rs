//! Compression of output streams (zstd on several threads, or gzip) and transparent
//! decompression of input streams, detected by their magic bytes.

use std::io::{self, Cursor, Read, Write};

use flate2::Compression as GzLevel;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::format::UnknownName;
use crate::read_full::read_full;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// How a stream is compressed: the one vocabulary of the workspace (the manifest's
/// `compression`, vmbackup's `compression=` setting, XAPI's `/export?use_compression=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Not compressed.
    #[default]
    None,
    /// gzip (RFC 1952), one or more members.
    Gzip,
    /// zstd frames.
    Zstd,
}

impl Compression {
    /// Every compression, in the order of the docs.
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];

    /// The name: `none`, `gzip` or `zstd` (the manifest's and the settings' spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The conventional file-name suffix (`.zst`, `.gz`, or nothing).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
        }
    }
}

impl From<Compression> for &'static str {
    fn from(compression: Compression) -> Self {
        compression.as_str()
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Compression {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Compression::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "compression",
                name: name.to_owned(),
            })
    }
}

impl From<Detected> for Compression {
    fn from(detected: Detected) -> Self {
        match detected {
            Detected::Plain => Compression::None,
            Detected::Gzip => Compression::Gzip,
            Detected::Zstd => Compression::Zstd,
        }
    }
}

/// How to compress an output stream: a [`Compression`] with its level (and threads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Codec {
    /// Plain.
    #[default]
    None,
    /// zstd at `level` (1-19; 3 is zstd's default), on `threads` worker threads.
    Zstd {
        /// Compression level.
        level: i32,
        /// Worker threads inside libzstd (0 = compress on the writing thread).
        threads: u32,
    },
    /// gzip at `level` (1-9). XAPI's historical choice; 3-10x slower than zstd.
    Gzip {
        /// Compression level.
        level: u32,
    },
}

impl Codec {
    /// The compression this codec writes.
    pub fn compression(self) -> Compression {
        match self {
            Codec::None => Compression::None,
            Codec::Zstd { .. } => Compression::Zstd,
            Codec::Gzip { .. } => Compression::Gzip,
        }
    }

    /// The conventional file-name suffix (`.zst`, `.gz`, or nothing).
    pub fn suffix(self) -> &'static str {
        self.compression().suffix()
    }
}

/// A writer that compresses into `W`. Call [`CompressWriter::finish`] to write the trailer.
pub enum CompressWriter<W: Write> {
    /// No compression.
    Plain(W),
    /// zstd.
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// gzip.
    Gzip(GzEncoder<W>),
}

impl<W: Write> CompressWriter<W> {
    /// Wraps `out` according to `codec`.
    pub fn new(out: W, codec: Codec) -> io::Result<Self> {
        Ok(match codec {
            Codec::None => CompressWriter::Plain(out),
            Codec::Zstd { level, threads } => {
                let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
                if threads > 0 {
                    encoder.multithread(threads)?;
                }
                CompressWriter::Zstd(encoder)
            }
            Codec::Gzip { level } => {
                CompressWriter::Gzip(GzEncoder::new(out, GzLevel::new(level.clamp(1, 9))))
            }
        })
    }

    /// Flushes everything, writes the compression trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            CompressWriter::Plain(mut out) => {
                out.flush()?;
                Ok(out)
            }
            CompressWriter::Zstd(encoder) => {
                let mut out = encoder.finish()?;
                out.flush()?;
                Ok(out)
            }
            CompressWriter::Gzip(encoder) => {
                let mut out = encoder.finish()?;
                out.flush()?;
                Ok(out)
            }
        }
    }
}

impl<W: Write> Write for CompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            CompressWriter::Plain(out) => out.write(buf),
            CompressWriter::Zstd(encoder) => encoder.write(buf),
            CompressWriter::Gzip(encoder) => encoder.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            CompressWriter::Plain(out) => out.write_all(buf),
            CompressWriter::Zstd(encoder) => encoder.write_all(buf),
            CompressWriter::Gzip(encoder) => encoder.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            CompressWriter::Plain(out) => out.flush(),
            CompressWriter::Zstd(encoder) => encoder.flush(),
            CompressWriter::Gzip(encoder) => encoder.flush(),
        }
    }
}

/// What an input stream turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detected {
    /// Not compressed.
    Plain,
    /// zstd frames.
    Zstd,
    /// gzip members.
    Gzip,
}

/// Reads the first bytes of `input` and returns a reader of the decompressed stream (zstd
/// and gzip are recognised by their magic numbers; anything else passes through).
pub fn decompressed<'a, R: Read + Send + 'a>(
    mut input: R,
) -> io::Result<(Box<dyn Read + Send + 'a>, Detected)> {
    let mut magic = [0u8; 4];
    let filled = read_full(&mut input, &mut magic)?;
    let head = Cursor::new(magic[..filled].to_vec());
    let whole = head.chain(input);
    if filled == 4 && magic == ZSTD_MAGIC {
        let decoder = zstd::stream::read::Decoder::new(whole)?;
        Ok((Box::new(decoder), Detected::Zstd))
    } else if filled >= 2 && magic[..2] == GZIP_MAGIC {
        Ok((Box::new(MultiGzDecoder::new(whole)), Detected::Gzip))
    } else {
        Ok((Box::new(whole), Detected::Plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detection() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for (compression, expected) in [
            (Codec::None, Detected::Plain),
            (
                Codec::Zstd {
                    level: 1,
                    threads: 2,
                },
                Detected::Zstd,
            ),
            (Codec::Gzip { level: 1 }, Detected::Gzip),
        ] {
            let mut writer = CompressWriter::new(Vec::new(), compression).unwrap();
            assert_eq!(Compression::from(expected), compression.compression());
            writer.write_all(&data).unwrap();
            let packed = writer.finish().unwrap();
            let (mut reader, detected) = decompressed(Cursor::new(packed)).unwrap();
            assert_eq!(detected, expected);
            let mut back = Vec::new();
            reader.read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
        }
    }

    #[test]
    fn names_parse_print_and_serialise_alike() {
        for compression in Compression::ALL {
            assert_eq!(compression.as_str().parse::<Compression>(), Ok(compression));
            let json = serde_json::to_string(&compression).unwrap();
            assert_eq!(json, format!("\"{compression}\""));
        }
        assert!("lz4".parse::<Compression>().is_err());
    }

    #[test]
    fn short_inputs_pass_through() {
        let (mut reader, detected) = decompressed(Cursor::new(vec![1u8, 2])).unwrap();
        assert_eq!(detected, Detected::Plain);
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, [1, 2]);
    }
}
