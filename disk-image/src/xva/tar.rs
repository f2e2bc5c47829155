//! The tar framing of an XVA: V7 headers as XAPI writes them, and a strict streaming reader.
//!
//! Written by hand rather than with a tar crate because an XVA is a narrow, exact subset: plain
//! files only, named `ova.xml` or `Ref:N/NNNNNNNN[.checksum|.xxhash]`, no directories, no pax
//! or GNU extensions, and the reader must tell a complete archive (end-of-archive blocks) from
//! one cut at a member boundary.

use std::io::{self, Read, Write};

use crate::read_full::read_full;

/// Tar block size.
pub(crate) const BLOCK: usize = 512;

const ZERO_BLOCK: [u8; BLOCK] = [0; BLOCK];

/// Bytes of zero padding after a member of `size` bytes.
pub(crate) fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// A V7 header (no `ustar` magic) for a regular file, mode `0400`, owner 0, like XAPI's.
pub(crate) fn header(name: &str, size: u64, mtime: u64) -> io::Result<[u8; BLOCK]> {
    let mut block = [0u8; BLOCK];
    let name = name.as_bytes();
    if name.len() >= 100 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "tar member name longer than 99 bytes",
        ));
    }
    block[..name.len()].copy_from_slice(name);
    octal(&mut block[100..108], 0o400);
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    octal(&mut block[124..136], size);
    octal(&mut block[136..148], mtime);
    block[156] = b'0';
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    // Checksum field: six octal digits, NUL, space (the traditional layout).
    let digits = format!("{sum:06o}");
    block[148..154].copy_from_slice(digits.as_bytes());
    block[154] = 0;
    block[155] = b' ';
    Ok(block)
}

/// Zero-padded octal with a trailing NUL, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(&text.as_bytes()[text.len() - width..]);
    field[width] = 0;
}

/// Writes tar members to a stream.
pub(crate) struct TarWriter<W> {
    out: W,
    written: u64,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        TarWriter { out, written: 0 }
    }

    /// Appends one member.
    pub(crate) fn append(&mut self, name: &str, data: &[u8], mtime: u64) -> io::Result<()> {
        self.out
            .write_all(&header(name, data.len() as u64, mtime)?)?;
        self.out.write_all(data)?;
        let pad = padding(data.len() as u64);
        self.out.write_all(&ZERO_BLOCK[..pad])?;
        self.written += (BLOCK + data.len() + pad) as u64;
        Ok(())
    }

    /// Writes the end-of-archive marker: exactly two zero blocks, as XAPI does.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(&ZERO_BLOCK)?;
        self.out.write_all(&ZERO_BLOCK)?;
        self.written += 2 * BLOCK as u64;
        self.out.flush()
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }
}

/// A member header as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The member's name.
    pub name: String,
    /// Data length in bytes.
    pub size: u64,
    /// Byte offset of its header in the (decompressed) archive.
    pub offset: u64,
}

/// What the reader found where a header was expected.
#[derive(Debug)]
pub(crate) enum Next {
    /// A member; its data must be read or skipped next.
    Member(Member),
    /// The end-of-archive marker.
    End,
    /// The input ended exactly at a block boundary, without an end-of-archive marker.
    Truncated,
}

/// Reads tar members from a stream, strictly.
pub(crate) struct TarReader<R> {
    input: R,
    position: u64,
}

impl<R: Read> TarReader<R> {
    pub(crate) fn new(input: R) -> Self {
        TarReader { input, position: 0 }
    }

    /// Byte offset of the next unread byte.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Reads the next header. Errors describe malformed headers; truncation inside a header is
    /// an `UnexpectedEof` error.
    pub(crate) fn next(&mut self) -> io::Result<Next> {
        let mut block = [0u8; BLOCK];
        let offset = self.position;
        let got = read_full(&mut self.input, &mut block)?;
        self.position += got as u64;
        if got == 0 {
            return Ok(Next::Truncated);
        }
        if got < BLOCK {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the archive ends inside a header at byte {offset}"),
            ));
        }
        if block == ZERO_BLOCK {
            return Ok(Next::End);
        }
        parse_header(&block, offset).map(Next::Member)
    }

    /// Reads a member's data (exactly `buf.len()` bytes), then its padding.
    pub(crate) fn read_data(&mut self, member: &Member, buf: &mut [u8]) -> io::Result<()> {
        debug_assert_eq!(buf.len() as u64, member.size);
        self.read_exact_counted(buf)?;
        self.skip_padding(member.size)
    }

    /// Skips a member's data and padding.
    pub(crate) fn skip_data(&mut self, member: &Member) -> io::Result<()> {
        let mut remaining = member.size;
        let mut scratch = [0u8; 8 * 1024];
        while remaining > 0 {
            let n = remaining.min(scratch.len() as u64) as usize;
            self.read_exact_counted(&mut scratch[..n])?;
            remaining -= n as u64;
        }
        self.skip_padding(member.size)
    }

    fn skip_padding(&mut self, size: u64) -> io::Result<()> {
        let mut pad = [0u8; BLOCK];
        let n = padding(size);
        self.read_exact_counted(&mut pad[..n])
    }

    fn read_exact_counted(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let got = read_full(&mut self.input, buf)?;
        self.position += got as u64;
        if got < buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends at byte {}, inside a member",
                    self.position
                ),
            ));
        }
        Ok(())
    }
}

fn invalid(offset: u64, message: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("tar header at byte {offset}: {}", message.into()),
    )
}

fn parse_header(block: &[u8; BLOCK], offset: u64) -> io::Result<Member> {
    let recorded =
        parse_number(&block[148..156]).ok_or_else(|| invalid(offset, "bad checksum field"))?;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b.cast_signed())
            }
        })
        .sum();
    if recorded != unsigned && i64::try_from(recorded).ok() != Some(signed) {
        return Err(invalid(
            offset,
            "header checksum mismatch (not a tar archive, or corrupt)",
        ));
    }
    let mut name = c_string(&block[..100]);
    if &block[257..262] == b"ustar" {
        let prefix = c_string(&block[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
    }
    match block[156] {
        b'0' | 0 => {}
        other => {
            return Err(invalid(
                offset,
                format!(
                    "member `{name}` has tar type `{}`; an XVA holds plain files only",
                    other as char
                ),
            ));
        }
    }
    let size = parse_number(&block[124..136]).ok_or_else(|| invalid(offset, "bad size field"))?;
    Ok(Member { name, size, offset })
}

/// A NUL-terminated text field.
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// A numeric field: octal text (spaces and NULs around it), or GNU base-256.
fn parse_number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut value: u64 = u64::from(field[0] & 0x7F);
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let text: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| *c != '\0' && *c != ' ')
        .collect();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(&text, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        let mut writer = TarWriter::new(&mut out);
        writer
            .append("ova.xml", b"<value/>", 1_700_000_000)
            .unwrap();
        writer.append("Ref:1/00000000", &[7u8; 1024], 0).unwrap();
        writer.finish().unwrap();
        assert_eq!(writer.written(), out.len() as u64);
        assert_eq!(out.len(), 512 + 512 + 512 + 1024 + 1024);

        let mut reader = TarReader::new(&out[..]);
        let Next::Member(first) = reader.next().unwrap() else {
            panic!()
        };
        assert_eq!(
            (first.name.as_str(), first.size, first.offset),
            ("ova.xml", 8, 0)
        );
        let mut data = vec![0u8; 8];
        reader.read_data(&first, &mut data).unwrap();
        assert_eq!(data, b"<value/>");
        let Next::Member(second) = reader.next().unwrap() else {
            panic!()
        };
        assert_eq!(second.offset, 1024);
        reader.skip_data(&second).unwrap();
        assert!(matches!(reader.next().unwrap(), Next::End));
    }

    #[test]
    fn truncation_and_corruption_are_detected() {
        let mut out = Vec::new();
        let mut writer = TarWriter::new(&mut out);
        writer.append("a", &[1u8; 600], 0).unwrap();
        let mut reader = TarReader::new(&out[..]);
        let Next::Member(member) = reader.next().unwrap() else {
            panic!()
        };
        reader.skip_data(&member).unwrap();
        assert!(matches!(reader.next().unwrap(), Next::Truncated));

        let cut = &out[..700];
        let mut reader = TarReader::new(cut);
        let Next::Member(member) = reader.next().unwrap() else {
            panic!()
        };
        let err = reader.skip_data(&member).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

        let mut corrupt = out.clone();
        corrupt[10] ^= 1;
        let err = TarReader::new(&corrupt[..]).next().unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }
}
