//! Reading an XVA as a stream: `ova.xml`, then each disk's chunks, placed and verified the
//! way XAPI's importer does it.
//!
//! Placement follows `stream_vdi.ml`'s `recv_all_vdi`, not the chunk numbers: a chunk lands
//! at the sum of the lengths read so far plus, for every skipped number, the length of the
//! very first chunk of the archive. This is what makes 0-byte keep-alive chunks (which take a
//! number but no space) and gaps of all-zero chunks come out right.
//!
//! An archive that ends (properly, with its end-of-archive blocks) right after an `ova.xml`
//! naming disks is a metadata-only archive, as XAPI's `/export_metadata` writes: see
//! [`XvaReader::is_metadata_only`].

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use super::metadata::{XvaDisk, XvaMetadata};
use super::tar::{Member, Next, TarReader};
use crate::checksum::ChecksumKind;
use crate::compress::{Detected, decompressed};
use crate::error::{DiskImageError, IoContext, Result, shown};
use crate::progress::Progress;
use crate::sink::DiskSink;

/// Largest `ova.xml` accepted (a VM with hundreds of snapshots stays far below).
const MAX_OVA_XML: u64 = 64 << 20;
/// Largest chunk accepted: every known writer uses 1 MiB.
const MAX_CHUNK: u64 = 16 << 20;
/// Largest checksum member accepted.
const MAX_CHECKSUM: u64 = 128;

/// What reading one disk found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskReport {
    /// Archive id of the VDI.
    pub id: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Chunk members read.
    pub chunks: u64,
    /// Bytes of chunk data read.
    pub data_bytes: u64,
    /// 0-byte keep-alive chunks among them.
    pub empty_chunks: u64,
    /// Chunks followed by a SHA-1 `.checksum`.
    pub sha1_checksums: u64,
    /// Chunks followed by an XXH64 `.xxhash`.
    pub xxhash_checksums: u64,
    /// Whether every checksum was computed and compared.
    pub verified: bool,
}

/// A streaming XVA reader; see the module docs.
pub struct XvaReader<R> {
    tar: TarReader<R>,
    metadata: XvaMetadata,
    location: String,
    next_disk: usize,
    first_chunk_len: Option<u64>,
    buffer: Vec<u8>,
    ova_xml: String,
    /// Where `ova.xml`'s data ends.
    ova_end: u64,
    /// A header read ahead (at its offset) by `is_metadata_only`, handed out next.
    peeked: Option<(u64, io::Result<Next>)>,
    metadata_only: Option<bool>,
}

impl XvaReader<Box<dyn Read + Send>> {
    /// Opens an XVA file, plain or compressed (gzip and zstd are detected by magic).
    pub fn open_path(path: impl AsRef<Path>) -> Result<(Self, Detected)> {
        let path = path.as_ref();
        let file = File::open(path).context(|| format!("opening {}", shown(path)))?;
        let (input, detected) = decompressed(BufReader::with_capacity(1 << 20, file))
            .context(|| format!("reading {}", shown(path)))?;
        Ok((
            XvaReader::open(input, path.display().to_string())?,
            detected,
        ))
    }
}

impl<R: Read> XvaReader<R> {
    /// Reads `ova.xml`, which must be the first member. `location` names the archive in errors.
    pub fn open(input: R, location: impl Into<String>) -> Result<Self> {
        let location = location.into();
        let mut tar = TarReader::new(input);
        let first = match tar.next() {
            Ok(Next::Member(member)) => member,
            Ok(Next::End | Next::Truncated) => {
                return Err(DiskImageError::format(
                    format!("`{location}`"),
                    "the archive is empty",
                ));
            }
            Err(e) => return Err(archive_error(&location, 0, e)),
        };
        if first.name != "ova.xml" {
            return Err(DiskImageError::format(
                format!("`{location}`"),
                format!(
                    "`ova.xml` is missing or not the first member (found `{}`)",
                    first.name
                ),
            ));
        }
        if first.size > MAX_OVA_XML {
            return Err(DiskImageError::format(
                format!("`{location}`, member `ova.xml`"),
                format!("{} bytes is too large for VM metadata", first.size),
            ));
        }
        let mut xml = vec![0u8; first.size as usize];
        tar.read_data(&first, &mut xml)
            .map_err(|e| archive_error(&location, first.offset, e))?;
        let xml = String::from_utf8(xml).map_err(|_| {
            DiskImageError::format(format!("`{location}`, member `ova.xml`"), "not UTF-8 text")
        })?;
        let metadata = XvaMetadata::parse(&xml, &format!("`{location}`"))?;
        let ova_xml = xml;
        let ova_end = tar.position();
        Ok(XvaReader {
            tar,
            metadata,
            location,
            next_disk: 0,
            first_chunk_len: None,
            buffer: Vec::new(),
            ova_xml,
            ova_end,
            peeked: None,
            metadata_only: None,
        })
    }

    /// What `ova.xml` says.
    pub fn metadata(&self) -> &XvaMetadata {
        &self.metadata
    }

    /// `ova.xml` as stored in the archive.
    pub fn ova_xml(&self) -> &str {
        &self.ova_xml
    }

    /// Whether the archive holds `ova.xml` alone although it names disks: a metadata-only
    /// archive, as XAPI's `/export_metadata` writes (VM, snapshot, VBD and VDI records, no
    /// disk data). Reads one header ahead when asked right after `ova.xml`; a damaged or cut
    /// archive is not metadata-only (its error comes with the next read).
    pub fn is_metadata_only(&mut self) -> bool {
        if let Some(known) = self.metadata_only {
            return known;
        }
        let known = if self.metadata.disks.is_empty() || self.tar.position() != self.ova_end {
            false
        } else {
            let at = self.tar.position();
            let next = self.tar.next();
            let ends = matches!(next, Ok(Next::End));
            self.peeked = Some((at, next));
            ends
        };
        self.metadata_only = Some(known);
        known
    }

    /// The disk the next [`XvaReader::read_disk`] reads, if any is left.
    pub fn next_disk(&self) -> Option<&XvaDisk> {
        self.metadata.disks.get(self.next_disk)
    }

    /// Reads the next disk in archive order. With `verify`, every checksum is computed and
    /// compared; with a `sink`, the data is written there (and the sink finished).
    pub fn read_disk(
        &mut self,
        mut sink: Option<&mut dyn DiskSink>,
        verify: bool,
        progress: &dyn Progress,
    ) -> Result<Option<DiskReport>> {
        if self.is_metadata_only() {
            return Err(DiskImageError::format(
                format!("`{}`", self.location),
                "a metadata-only archive (`ova.xml` alone, as XAPI's /export_metadata writes): \
                 it holds no disk data",
            ));
        }
        let Some(disk) = self.metadata.disks.get(self.next_disk).cloned() else {
            return Ok(None);
        };
        self.next_disk += 1;
        let size = disk.size();
        let mut report = DiskReport {
            id: disk.id.clone(),
            size,
            verified: verify,
            ..DiskReport::default()
        };
        progress.start(&disk.vdi.name_label, size);
        let prefix = format!("{}/", disk.id);
        let mut position = 0u64;
        let mut last: Option<u64> = None;
        while position < size {
            let member = self.expect_member(&disk, position)?;
            let number = self.chunk_number(&member, &prefix, last)?;
            let skipped = number - last.map_or(0, |l| l + 1);
            let unit = *self.first_chunk_len.get_or_insert(member.size);
            let start = skipped
                .checked_mul(unit)
                .and_then(|gap| gap.checked_add(position))
                .unwrap_or(u64::MAX);
            if member.size > MAX_CHUNK {
                return Err(self.error(
                    &member,
                    format!(
                        "a chunk of {} bytes is larger than any XVA writer makes",
                        member.size
                    ),
                ));
            }
            if start.saturating_add(member.size) > size {
                return Err(self.error(
                    &member,
                    format!(
                        "the chunk would end at byte {}, past the disk's size {size}",
                        start.saturating_add(member.size)
                    ),
                ));
            }
            self.buffer.resize(member.size as usize, 0);
            let offset = member.offset;
            self.tar
                .read_data(&member, &mut self.buffer)
                .map_err(|e| archive_error(&self.location, offset, e))?;
            let kind = self.read_checksum(&member, verify)?;
            match kind {
                ChecksumKind::Sha1 => report.sha1_checksums += 1,
                ChecksumKind::Xxhash => report.xxhash_checksums += 1,
            }
            if let Some(sink) = sink.as_deref_mut() {
                sink.write_at(start, &self.buffer)?;
            }
            report.chunks += 1;
            report.data_bytes += member.size;
            report.empty_chunks += u64::from(member.size == 0);
            progress.advance(start + member.size - position);
            position = start + member.size;
            last = Some(number);
        }
        if let Some(sink) = sink {
            sink.finish(size)?;
        }
        progress.finish();
        Ok(Some(report))
    }

    /// The kind of checksum the archive uses, read from the member after the first chunk
    /// (without reading further). `None` when the archive carries no disk data.
    pub fn into_checksum_kind(mut self) -> Result<Option<ChecksumKind>> {
        if self.is_metadata_only() {
            return Ok(None);
        }
        let Some(disk) = self.metadata.disks.first().cloned() else {
            return Ok(None);
        };
        let chunk = self.expect_member(&disk, 0)?;
        self.tar
            .skip_data(&chunk)
            .map_err(|e| archive_error(&self.location, chunk.offset, e))?;
        let member = self.next_member(|reader, _| {
            reader.error(&chunk, "the archive ends before this chunk's checksum")
        })?;
        Ok(ChecksumKind::of_member(&member.name))
    }

    /// Checks that the archive ends properly after the last disk (or after `ova.xml`, for a
    /// metadata-only archive).
    pub fn finish(mut self) -> Result<()> {
        if self.next_disk < self.metadata.disks.len() && !self.is_metadata_only() {
            return Err(DiskImageError::Invalid(format!(
                "`{}`: {} disks were not read",
                self.location,
                self.metadata.disks.len() - self.next_disk
            )));
        }
        let (at, next) = self.next_entry();
        let location = self.location.clone();
        let truncated = || {
            DiskImageError::format(
                format!("`{location}` at byte {at}"),
                "the archive ends without its two end-of-archive blocks (truncated?)",
            )
        };
        match next.map_err(|e| archive_error(&self.location, at, e))? {
            Next::End => {}
            Next::Truncated => return Err(truncated()),
            Next::Member(member) => {
                return Err(self.error(&member, "unexpected member after the last disk"));
            }
        }
        match self.next_entry().1 {
            Ok(Next::End) => Ok(()),
            Ok(Next::Truncated) | Err(_) => Err(truncated()),
            Ok(Next::Member(member)) => {
                Err(self.error(&member, "unexpected member after the end-of-archive block"))
            }
        }
    }

    /// The next member, which must exist because disk `disk` is not complete yet.
    fn expect_member(&mut self, disk: &XvaDisk, position: u64) -> Result<Member> {
        self.next_member(|reader, at| {
            DiskImageError::format(
                format!("`{}` at byte {at}", reader.location),
                format!(
                    "the archive ends before disk {} is complete ({position} of {} bytes)",
                    disk.id,
                    disk.size()
                ),
            )
        })
    }

    /// The next member (its name checked), or `ended`'s error where the archive ends.
    fn next_member(&mut self, ended: impl FnOnce(&Self, u64) -> DiskImageError) -> Result<Member> {
        let (at, next) = self.next_entry();
        match next.map_err(|e| archive_error(&self.location, at, e))? {
            Next::Member(member) => {
                check_name_is_safe(&member).map_err(|problem| self.error(&member, problem))?;
                Ok(member)
            }
            Next::End | Next::Truncated => Err(ended(self, at)),
        }
    }

    /// The next header (the one read ahead, if any) and its offset.
    fn next_entry(&mut self) -> (u64, io::Result<Next>) {
        self.peeked.take().unwrap_or_else(|| {
            let at = self.tar.position();
            (at, self.tar.next())
        })
    }

    /// The number of a chunk member of the current disk, which must follow `last`.
    fn chunk_number(&self, member: &Member, prefix: &str, last: Option<u64>) -> Result<u64> {
        let Some(suffix) = member.name.strip_prefix(prefix) else {
            return Err(self.error(
                member,
                format!("expected a chunk of disk {}", prefix.trim_end_matches('/')),
            ));
        };
        if ChecksumKind::of_member(suffix).is_some() {
            return Err(self.error(member, "a checksum member without its chunk"));
        }
        if suffix.len() < 8 || !suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(member, "not a chunk name (expected 8 or more digits)"));
        }
        let number: u64 = suffix
            .parse()
            .map_err(|_| self.error(member, "chunk number out of range"))?;
        if let Some(last) = last.filter(|last| number <= *last) {
            return Err(self.error(
                member,
                format!("chunk numbers must increase (previous: {last:08})"),
            ));
        }
        Ok(number)
    }

    /// Reads the checksum member that must follow `chunk`, and compares it with the data in
    /// the buffer when verifying.
    fn read_checksum(&mut self, chunk: &Member, verify: bool) -> Result<ChecksumKind> {
        let member = self.next_member(|reader, _| {
            reader.error(chunk, "the archive ends before this chunk's checksum")
        })?;
        let kind = ChecksumKind::of_member(&member.name)
            .filter(|kind| member.name == format!("{}{}", chunk.name, kind.suffix()))
            .ok_or_else(|| {
                self.error(
                    chunk,
                    format!("not followed by its checksum (found `{}`)", member.name),
                )
            })?;
        if member.size > MAX_CHECKSUM {
            return Err(self.error(
                &member,
                format!("{} bytes is too long for a checksum", member.size),
            ));
        }
        let mut text = vec![0u8; member.size as usize];
        self.tar
            .read_data(&member, &mut text)
            .map_err(|e| archive_error(&self.location, member.offset, e))?;
        if verify {
            let recorded = String::from_utf8_lossy(&text).into_owned();
            let computed = kind.compute(&self.buffer);
            if recorded != computed {
                return Err(DiskImageError::ChecksumMismatch {
                    location: format!("`{}`, member `{}`", self.location, chunk.name),
                    recorded,
                    computed,
                });
            }
        }
        Ok(kind)
    }

    fn error(&self, member: &Member, problem: impl Into<String>) -> DiskImageError {
        DiskImageError::format(
            format!(
                "`{}`, member `{}` at byte {}",
                self.location, member.name, member.offset
            ),
            problem,
        )
    }
}

/// Member names come from the archive: refuse those that would escape a directory if a
/// careless tool extracted them.
fn check_name_is_safe(member: &Member) -> std::result::Result<(), String> {
    let name = &member.name;
    if name.starts_with('/') || name.contains('\\') || name.split('/').any(|part| part == "..") {
        return Err("an unsafe member name (absolute or escaping with `..`)".to_owned());
    }
    Ok(())
}

fn archive_error(location: &str, at: u64, error: std::io::Error) -> DiskImageError {
    DiskImageError::io(format!("reading `{location}` near byte {at}"), error)
}
