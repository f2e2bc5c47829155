//! Lists the kernel modules packed in an initramfs: concatenated `newc` cpio archives, each
//! plain (early microcode), gzip- or zstd-compressed (what dracut and initramfs-tools write by
//! default). Written here because no crate lists cpio members of a compressed stream without
//! extracting them; other compressions are reported by name and the plan rebuilds.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read};

use super::kernels::InitramfsState;
use crate::error::{GuestFixupError, Result};
use crate::fs::GuestFs;

const NEWC: &[u8] = b"07070";
const TRAILER: &str = "TRAILER!!!";

/// The module names (dashes as underscores) in the initramfs at `path`.
pub fn list_modules(fs: &dyn GuestFs, path: &str) -> Result<InitramfsState> {
    let Some(file) = fs.open(path)? else {
        return Ok(InitramfsState::Missing);
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut modules = BTreeSet::new();
    match read_archives(&mut reader, &mut modules, 0) {
        Ok(None) => Ok(InitramfsState::Listed(modules)),
        Ok(Some(kind)) => Ok(InitramfsState::Unreadable(kind.to_owned())),
        Err(e) => Err(GuestFixupError::io("listing the initramfs", path, e)),
    }
}

/// Reads archives until the end; returns the name of a compression it cannot read.
fn read_archives(
    reader: &mut dyn BufRead,
    modules: &mut BTreeSet<String>,
    depth: u8,
) -> io::Result<Option<&'static str>> {
    loop {
        // Skip the zero padding between archives.
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let zeros = buf.iter().take_while(|b| **b == 0).count();
            if zeros == 0 {
                break;
            }
            reader.consume(zeros);
        }
        let head = reader.fill_buf()?;
        if head.starts_with(NEWC) {
            read_cpio(reader, modules)?;
        } else if depth == 0 && head.starts_with(&[0x1f, 0x8b]) {
            let mut inner = BufReader::new(flate2::bufread::MultiGzDecoder::new(reader));
            return read_archives(&mut inner, modules, 1);
        } else if depth == 0 && head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let mut inner = BufReader::new(zstd::stream::read::Decoder::with_buffer(reader)?);
            return read_archives(&mut inner, modules, 1);
        } else {
            return Ok(Some(compression_name(head)));
        }
    }
}

fn compression_name(head: &[u8]) -> &'static str {
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        "xz"
    } else if head.starts_with(&[0x5d, 0x00]) {
        "lzma"
    } else if head.starts_with(b"BZh") {
        "bzip2"
    } else if head.starts_with(&[0x02, 0x21, 0x4c, 0x18]) {
        "lz4"
    } else if head.starts_with(&[0x89, b'L', b'Z', b'O']) {
        "lzop"
    } else {
        "an unknown format"
    }
}

/// Reads one cpio archive up to and including its trailer.
fn read_cpio(reader: &mut dyn BufRead, modules: &mut BTreeSet<String>) -> io::Result<()> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("cpio: {what}"));
    loop {
        let mut header = [0u8; 110];
        reader.read_exact(&mut header)?;
        if !header.starts_with(NEWC) {
            return Err(invalid("bad header magic"));
        }
        let field = |index: usize| {
            let text = std::str::from_utf8(&header[6 + index * 8..14 + index * 8])
                .map_err(|_| invalid("bad header"))?;
            u64::from_str_radix(text, 16).map_err(|_| invalid("bad header number"))
        };
        let file_size = field(6)?;
        let name_size = field(11)?;
        let mut name = vec![0u8; name_size as usize];
        reader.read_exact(&mut name)?;
        skip(reader, pad4(110 + name_size))?;
        let name = String::from_utf8_lossy(name.strip_suffix(&[0]).unwrap_or(&name)).into_owned();
        skip(reader, file_size + pad4(file_size))?;
        if name == TRAILER {
            return Ok(());
        }
        let base = name.rsplit('/').next().unwrap_or(&name);
        if let Some((stem, _)) = base.split_once(".ko") {
            modules.insert(stem.replace('-', "_"));
        }
    }
}

fn pad4(n: u64) -> u64 {
    (4 - n % 4) % 4
}

fn skip(reader: &mut dyn BufRead, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut reader.take(n), &mut io::sink())?;
    if copied == n {
        Ok(())
    } else {
        Err(io::ErrorKind::UnexpectedEof.into())
    }
}
