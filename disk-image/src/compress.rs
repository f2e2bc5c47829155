//! Compression of output streams (zstd on several threads, or gzip) and transparent
//! decompression of input streams, detected by their magic bytes.

use std::io::{self, Cursor, Read, Write};

use flate2::Compression as GzLevel;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::read_full::read_full;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// How to compress an output stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Compression {
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

impl Compression {
    /// The conventional file-name suffix (`.zst`, `.gz`, or nothing).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Zstd { .. } => ".zst",
            Compression::Gzip { .. } => ".gz",
        }
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
    /// Wraps `out` according to `compression`.
    pub fn new(out: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => CompressWriter::Plain(out),
            Compression::Zstd { level, threads } => {
                let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
                if threads > 0 {
                    encoder.multithread(threads)?;
                }
                CompressWriter::Zstd(encoder)
            }
            Compression::Gzip { level } => {
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
            (Compression::None, Detected::Plain),
            (
                Compression::Zstd {
                    level: 1,
                    threads: 2,
                },
                Detected::Zstd,
            ),
            (Compression::Gzip { level: 1 }, Detected::Gzip),
        ] {
            let mut writer = CompressWriter::new(Vec::new(), compression).unwrap();
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
    fn short_inputs_pass_through() {
        let (mut reader, detected) = decompressed(Cursor::new(vec![1u8, 2])).unwrap();
        assert_eq!(detected, Detected::Plain);
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, [1, 2]);
    }
}
