//! Uploads: the source read front to back by the calling thread (holes of a random-access
//! source are never read), cut into pieces; data goes out as `PUT`s on several
//! connections, zero ranges as `PATCH zero` (or nothing when the disk is known to be zero),
//! then one flush.
//!
//! One flush suffices: the daemon's file backend flushes the file, and its NBD backend
//! flushes qemu-nbd's one block device, whichever connection wrote to it.

use std::ops::Range;
use std::sync::{Mutex, mpsc};
use std::thread;

use disk_image::{DiskInput, Progress, is_zero};

use super::TransferOptions;
use super::client::{ImageioClient, write_with, zero_with};
use crate::error::{OvirtError, Result};

/// Zero detection granularity inside a piece.
const BLOCK: usize = 1 << 20;
/// Largest `PATCH zero` (the official client's request limit).
pub(super) const MAX_ZERO: u64 = 1 << 30;

/// What an upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadSummary {
    /// The source size.
    pub size: u64,
    /// Bytes sent as data.
    pub data_bytes: u64,
    /// Bytes zeroed with `PATCH zero` (or written as zeros when the server cannot zero).
    pub zeroed_bytes: u64,
    /// Bytes skipped because the disk is known to be zero.
    pub skipped_bytes: u64,
    /// Requests sent.
    pub requests: u64,
}

/// One request.
enum Op {
    Data(u64, Vec<u8>),
    Zero(u64, u64),
}

impl ImageioClient {
    /// Uploads `input` (its size must not exceed the image's) and flushes once.
    pub fn upload(
        &self,
        mut input: DiskInput<'_>,
        options: &TransferOptions,
        progress: &dyn Progress,
    ) -> Result<UploadSummary> {
        if !self.server().writable() {
            return Err(OvirtError::Protocol {
                what: "upload".into(),
                problem: format!(
                    "the ticket is read-only (the server allows {})",
                    self.server().allow.join(",")
                ),
            });
        }
        let size = input.size();
        if self.server().has("extents") {
            let end = self
                .extents(super::ExtentContext::Zero)?
                .last()
                .map_or(0, super::Extent::end);
            if size > end {
                return Err(OvirtError::Protocol {
                    what: "upload".into(),
                    problem: format!("the source has {size} bytes, the disk only {end}"),
                });
            }
        }
        let connections = options.connections.min(self.server().max_writers).max(1);
        let clients = (0..connections)
            .map(|_| self.worker())
            .collect::<Result<Vec<_>>>()?;
        let (tx, rx) = mpsc::sync_channel::<Op>(connections);
        let rx = Mutex::new(rx);
        let failure: Mutex<Option<OvirtError>> = Mutex::new(None);
        let totals = Mutex::new(UploadSummary {
            size,
            ..UploadSummary::default()
        });
        let can_zero = self.server().has("zero");
        let url = self.url();
        let server = self.server();
        progress.start(&input.name(), size);
        let fed = thread::scope(|scope| {
            for http in &clients {
                let (rx, failure, totals) = (&rx, &failure, &totals);
                scope.spawn(move || {
                    loop {
                        let op = rx.lock().expect("queue lock").recv();
                        let Ok(op) = op else { return };
                        if failure.lock().expect("failure lock").is_some() {
                            continue; // drain the queue so that the feeder never blocks
                        }
                        let (result, data, zeroed) = match op {
                            Op::Data(offset, bytes) => {
                                let len = bytes.len() as u64;
                                (write_with(http, url, server, offset, bytes), len, 0)
                            }
                            Op::Zero(offset, len) if can_zero => {
                                (zero_with(http, url, offset, len), 0, len)
                            }
                            Op::Zero(offset, len) => {
                                (write_zeros(http, url, server, offset, len), 0, len)
                            }
                        };
                        if let Err(error) = result {
                            failure.lock().expect("failure lock").get_or_insert(error);
                            continue;
                        }
                        let mut totals = totals.lock().expect("totals lock");
                        totals.data_bytes += data;
                        totals.zeroed_bytes += zeroed;
                        totals.requests += 1;
                        drop(totals);
                        progress.advance(data + zeroed);
                    }
                });
            }
            let mut feeder = Feeder {
                tx,
                options,
                failed: &failure,
                pending_zero: None,
                skipped: 0,
                progress,
            };
            let fed = feeder.feed(&mut input);
            let skipped = feeder.skipped;
            drop(feeder); // closes the queue: workers finish what is queued and stop
            fed.map(|()| skipped)
        });
        if let Some(error) = failure.into_inner().expect("failure lock") {
            return Err(error);
        }
        let skipped = fed?;
        if self.server().has("flush") {
            self.flush()?;
        }
        progress.finish();
        let mut summary = totals.into_inner().expect("totals lock");
        summary.skipped_bytes = skipped;
        Ok(summary)
    }
}

/// Zeros written as data, for servers without the `zero` feature.
pub(super) fn write_zeros(
    http: &reqwest::blocking::Client,
    url: &str,
    server: &super::ServerOptions,
    offset: u64,
    len: u64,
) -> Result<()> {
    let step = 4u64 << 20;
    let mut at = offset;
    while at < offset + len {
        let n = step.min(offset + len - at);
        write_with(http, url, server, at, vec![0; n as usize])?;
        at += n;
    }
    Ok(())
}

/// Reads the source and queues requests.
struct Feeder<'a> {
    tx: mpsc::SyncSender<Op>,
    options: &'a TransferOptions,
    failed: &'a Mutex<Option<OvirtError>>,
    pending_zero: Option<Range<u64>>,
    skipped: u64,
    progress: &'a dyn Progress,
}

impl Feeder<'_> {
    fn feed(&mut self, input: &mut DiskInput<'_>) -> Result<()> {
        let size = input.size();
        let piece = self.options.piece_size as u64;
        let name = input.name();
        let read_error = |offset: u64, source: std::io::Error| OvirtError::Io {
            what: format!("reading {name} at offset {offset}"),
            source,
        };
        match input {
            DiskInput::Random(disk) => {
                let ranges = disk.data_ranges().map_err(|e| read_error(0, e))?;
                let mut position = 0;
                for range in ranges {
                    let range = range.start.min(size)..range.end.min(size);
                    if range.start > position {
                        self.zero(position..range.start)?;
                    }
                    let mut offset = range.start.max(position);
                    while offset < range.end {
                        let len = (range.end - offset).min(piece) as usize;
                        let mut buf = vec![0u8; len];
                        disk.read_exact_at(&mut buf, offset)
                            .map_err(|e| read_error(offset, e))?;
                        self.piece(offset, buf)?;
                        offset += len as u64;
                    }
                    position = position.max(range.end);
                }
                if position < size {
                    self.zero(position..size)?;
                }
            }
            DiskInput::Stream(stream) => {
                let mut offset = 0;
                while offset < size {
                    let len = (size - offset).min(piece) as usize;
                    let mut buf = vec![0u8; len];
                    stream
                        .read_exact(&mut buf)
                        .map_err(|e| read_error(offset, e))?;
                    self.piece(offset, buf)?;
                    offset += len as u64;
                }
            }
        }
        self.flush_zero()
    }

    /// Splits a piece into data and zero runs (1 MiB blocks).
    fn piece(&mut self, offset: u64, buf: Vec<u8>) -> Result<()> {
        let blocks: Vec<bool> = buf.chunks(BLOCK).map(is_zero).collect();
        if blocks.iter().all(|zero| !zero) {
            return self.data(offset, buf);
        }
        let mut start = 0;
        while start < blocks.len() {
            let zero = blocks[start];
            let mut end = start;
            while end < blocks.len() && blocks[end] == zero {
                end += 1;
            }
            let (from, to) = (start * BLOCK, (end * BLOCK).min(buf.len()));
            let at = offset + from as u64;
            if zero {
                self.zero(at..offset + to as u64)?;
            } else {
                self.data(at, buf[from..to].to_vec())?;
            }
            start = end;
        }
        Ok(())
    }

    fn data(&mut self, offset: u64, bytes: Vec<u8>) -> Result<()> {
        self.flush_zero()?;
        self.send(Op::Data(offset, bytes))
    }

    fn zero(&mut self, range: Range<u64>) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        match &mut self.pending_zero {
            Some(pending)
                if pending.end == range.start && range.end - pending.start <= MAX_ZERO =>
            {
                pending.end = range.end;
                Ok(())
            }
            _ => {
                self.flush_zero()?;
                self.pending_zero = Some(range);
                Ok(())
            }
        }
    }

    fn flush_zero(&mut self) -> Result<()> {
        let Some(range) = self.pending_zero.take() else {
            return Ok(());
        };
        if self.options.disk_is_zero {
            self.skipped += range.end - range.start;
            self.progress.advance(range.end - range.start);
            return Ok(());
        }
        self.send(Op::Zero(range.start, range.end - range.start))
    }

    fn send(&mut self, op: Op) -> Result<()> {
        if self.tx.send(op).is_err() || self.failed.lock().expect("failure lock").is_some() {
            // A worker failed; its error is reported by the caller.
            return Err(OvirtError::Protocol {
                what: "upload".into(),
                problem: "a worker failed".into(),
            });
        }
        Ok(())
    }
}
