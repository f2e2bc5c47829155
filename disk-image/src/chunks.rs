//! The chunk pipeline: a disk cut into fixed-size chunks, read, zero-checked and hashed on
//! every core, handed to one consumer in order.
//!
//! Random-access disks are read by the workers themselves (`pread`), each claiming the next
//! chunk to read; chunks that lie entirely in holes (per [`RandomAccessDisk::data_ranges`])
//! are not read at all. Streams are read front to back by one feeder thread and processed by
//! the workers. Either way the consumer sees every chunk index once, in increasing order.
//!
//! Memory is bounded: a fixed pool of chunk buffers circulates between the readers and the
//! consumer (`workers * 2 + 2` buffers), whatever the disk size. A worker takes a free buffer
//! before it claims a chunk number, so the lowest outstanding chunk always holds a buffer and
//! the pipeline cannot stall with every buffer waiting behind it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use crate::checksum::ChecksumKind;
use crate::error::{DiskImageError, Result};
use crate::progress::Progress;
use crate::source::{DiskInput, RandomAccessDisk, SequentialDisk};
use crate::zero::is_zero;

/// The XVA chunk size, which is also the pipeline's default: 1 MiB.
pub const CHUNK_SIZE: usize = 1 << 20;

/// How to scan a disk.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Chunk length in bytes (the last chunk is shorter when the size is not a multiple).
    pub chunk_size: usize,
    /// Checksum to compute for every chunk that is not all zero (and the forced ones).
    pub checksum: Option<ChecksumKind>,
    /// Read the first and last chunk even when they lie in a hole, and checksum them even
    /// when all zero (the XVA format always carries them).
    pub force_first_and_last: bool,
    /// Worker threads (at least 1).
    pub workers: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            chunk_size: CHUNK_SIZE,
            checksum: None,
            force_first_and_last: false,
            workers: default_workers(),
        }
    }
}

/// One worker per core: hashing 1 MiB chunks is independent work.
pub fn default_workers() -> usize {
    thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// One chunk, as the consumer sees it.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// Chunk number, from 0.
    pub index: u64,
    /// Byte offset in the disk.
    pub offset: u64,
    /// The chunk's bytes, or `None` for a chunk in a hole that was not read (all zero).
    pub data: Option<&'a [u8]>,
    /// Length in bytes.
    pub len: usize,
    /// Whether every byte is zero.
    pub is_zero: bool,
    /// The checksum, when requested and the chunk is not zero (or forced).
    pub checksum: Option<&'a str>,
}

/// Runs the pipeline over `input` and calls `visit` for every chunk in order.
pub fn scan(
    input: DiskInput<'_>,
    options: &ScanOptions,
    progress: &dyn Progress,
    visit: &mut dyn FnMut(Chunk<'_>) -> Result<()>,
) -> Result<()> {
    let layout = Layout::new(input.size(), options);
    match input {
        DiskInput::Random(disk) => scan_random(disk, &layout, options, progress, visit),
        DiskInput::Stream(stream) => scan_stream(stream, &layout, options, progress, visit),
    }
}

/// Chunk geometry of one disk.
struct Layout {
    size: u64,
    chunk_size: u64,
    count: u64,
    force: bool,
}

impl Layout {
    fn new(size: u64, options: &ScanOptions) -> Self {
        let chunk_size = options.chunk_size.max(512) as u64;
        Layout {
            size,
            chunk_size,
            count: size.div_ceil(chunk_size),
            force: options.force_first_and_last,
        }
    }

    fn offset(&self, index: u64) -> u64 {
        index * self.chunk_size
    }

    fn len(&self, index: u64) -> usize {
        (self.size - self.offset(index)).min(self.chunk_size) as usize
    }

    fn forced(&self, index: u64) -> bool {
        self.force && (index == 0 || index + 1 == self.count)
    }

    /// Chunk-index ranges that must be read: those touching data, plus forced chunks.
    fn chunks_to_read(&self, data: &[Range<u64>]) -> Vec<Range<u64>> {
        let mut ranges: Vec<Range<u64>> = data
            .iter()
            .filter(|r| r.start < r.end && r.start < self.size)
            .map(|r| r.start / self.chunk_size..r.end.min(self.size).div_ceil(self.chunk_size))
            .collect();
        if self.force && self.count > 0 {
            ranges.push(0..1);
            ranges.push(self.count - 1..self.count);
        }
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

/// A finished chunk travelling from a worker to the consumer.
struct Done {
    index: u64,
    buffer: Vec<u8>,
    is_zero: bool,
    checksum: Option<String>,
}

type DoneMessage = Result<Done>;

/// Zero check and checksum of a chunk that has been read into `buffer[..len]`.
fn finish_chunk(layout: &Layout, options: &ScanOptions, index: u64, buffer: Vec<u8>) -> Done {
    let data = &buffer[..layout.len(index)];
    let zero = is_zero(data);
    let checksum = options
        .checksum
        .filter(|_| !zero || layout.forced(index))
        .map(|kind| kind.compute(data));
    Done {
        index,
        buffer,
        is_zero: zero,
        checksum,
    }
}

/// A pool of chunk buffers: the consumer returns them, readers take them.
fn buffer_pool(options: &ScanOptions) -> (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) {
    let count = options.workers.max(1) * 2 + 2;
    let (free_tx, free_rx) = mpsc::sync_channel(count);
    for _ in 0..count {
        free_tx
            .send(vec![0u8; options.chunk_size.max(512)])
            .expect("the pool's receiver is alive");
    }
    (free_tx, free_rx)
}

/// Iterates chunk numbers over a list of ranges.
struct RangeCursor {
    ranges: std::vec::IntoIter<Range<u64>>,
    current: Range<u64>,
}

impl RangeCursor {
    fn new(ranges: Vec<Range<u64>>) -> Self {
        RangeCursor {
            ranges: ranges.into_iter(),
            current: 0..0,
        }
    }
}

impl Iterator for RangeCursor {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        loop {
            if let Some(index) = self.current.next() {
                return Some(index);
            }
            self.current = self.ranges.next()?;
        }
    }
}

fn scan_random(
    disk: &dyn RandomAccessDisk,
    layout: &Layout,
    options: &ScanOptions,
    progress: &dyn Progress,
    visit: &mut dyn FnMut(Chunk<'_>) -> Result<()>,
) -> Result<()> {
    let data = disk
        .data_ranges()
        .map_err(|e| DiskImageError::io(format!("finding the data of `{}`", disk.name()), e))?;
    let to_read = layout.chunks_to_read(&data);
    let claims = Mutex::new(RangeCursor::new(to_read.clone()));
    let (free_tx, free_rx) = buffer_pool(options);
    let free_rx = Mutex::new(free_rx);
    let (done_tx, done_rx) = mpsc::channel::<DoneMessage>();
    thread::scope(|scope| {
        for _ in 0..options.workers.max(1) {
            let done_tx = done_tx.clone();
            let (claims, free_rx) = (&claims, &free_rx);
            scope.spawn(move || {
                loop {
                    // Take a buffer first, then claim: see the module docs.
                    let Ok(mut buffer) = free_rx.lock().expect("pool lock").recv() else {
                        return;
                    };
                    let Some(index) = claims.lock().expect("claims lock").next() else {
                        return;
                    };
                    let (offset, len) = (layout.offset(index), layout.len(index));
                    let message = match disk.read_exact_at(&mut buffer[..len], offset) {
                        Ok(()) => Ok(finish_chunk(layout, options, index, buffer)),
                        Err(e) => Err(DiskImageError::io(
                            format!("reading `{}` at offset {offset}", disk.name()),
                            e,
                        )),
                    };
                    if done_tx.send(message).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        consume(
            layout,
            RangeCursor::new(to_read),
            free_tx,
            &done_rx,
            progress,
            visit,
        )
    })
}

fn scan_stream(
    stream: &mut dyn SequentialDisk,
    layout: &Layout,
    options: &ScanOptions,
    progress: &dyn Progress,
    visit: &mut dyn FnMut(Chunk<'_>) -> Result<()>,
) -> Result<()> {
    let (free_tx, free_rx) = buffer_pool(options);
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(options.workers.max(1));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<DoneMessage>();
    thread::scope(|scope| {
        let feeder_done = done_tx.clone();
        scope.spawn(move || {
            for index in 0..layout.count {
                let Ok(mut buffer) = free_rx.recv() else {
                    return;
                };
                let (offset, len) = (layout.offset(index), layout.len(index));
                if let Err(e) = stream.read_exact(&mut buffer[..len]) {
                    let context = format!("reading `{}` at offset {offset}", stream.name());
                    let _ = feeder_done.send(Err(DiskImageError::io(context, e)));
                    return;
                }
                if job_tx.send((index, buffer)).is_err() {
                    return;
                }
            }
        });
        for _ in 0..options.workers.max(1) {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || {
                loop {
                    let Ok((index, buffer)) = job_rx.lock().expect("job lock").recv() else {
                        return;
                    };
                    if done_tx
                        .send(Ok(finish_chunk(layout, options, index, buffer)))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let every_chunk = RangeCursor::new(crate::source::whole(layout.count));
        consume(layout, every_chunk, free_tx, &done_rx, progress, visit)
    })
}

/// The consumer: hands out chunks in order, returns buffers to the pool. Dropping `free_tx`
/// on return wakes (and ends) any reader waiting for a buffer.
#[allow(clippy::needless_pass_by_value)] // Taking `free_tx` is the point: see above.
fn consume(
    layout: &Layout,
    mut to_read: RangeCursor,
    free_tx: SyncSender<Vec<u8>>,
    done_rx: &Receiver<DoneMessage>,
    progress: &dyn Progress,
    visit: &mut dyn FnMut(Chunk<'_>) -> Result<()>,
) -> Result<()> {
    let mut next_read = to_read.next();
    let mut arrived: BTreeMap<u64, Done> = BTreeMap::new();
    for index in 0..layout.count {
        let (offset, len) = (layout.offset(index), layout.len(index));
        if next_read == Some(index) {
            next_read = to_read.next();
            let done = loop {
                if let Some(done) = arrived.remove(&index) {
                    break done;
                }
                match done_rx.recv() {
                    Ok(Ok(done)) => {
                        arrived.insert(done.index, done);
                    }
                    Ok(Err(error)) => return Err(error),
                    Err(_) => {
                        return Err(DiskImageError::Invalid(format!(
                            "the disk readers stopped before chunk {index}"
                        )));
                    }
                }
            };
            visit(Chunk {
                index,
                offset,
                data: Some(&done.buffer[..len]),
                len,
                is_zero: done.is_zero,
                checksum: done.checksum.as_deref(),
            })?;
            // The pool has room for every buffer; a closed pool means the readers are done.
            let _ = free_tx.send(done.buffer);
        } else {
            visit(Chunk {
                index,
                offset,
                data: None,
                len,
                is_zero: true,
                checksum: None,
            })?;
        }
        progress.advance(len as u64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::progress::NoProgress;
    use crate::source::StreamDisk;

    /// An in-memory disk with declared data ranges.
    struct MemDisk(Vec<u8>, Vec<Range<u64>>);

    impl RandomAccessDisk for MemDisk {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let start = offset as usize;
            buf.copy_from_slice(&self.0[start..start + buf.len()]);
            Ok(())
        }
        fn data_ranges(&self) -> io::Result<Vec<Range<u64>>> {
            Ok(self.1.clone())
        }
        fn name(&self) -> String {
            "mem".into()
        }
    }

    fn options(workers: usize) -> ScanOptions {
        ScanOptions {
            chunk_size: 4096,
            checksum: Some(ChecksumKind::Xxhash),
            force_first_and_last: true,
            workers,
        }
    }

    fn collect(
        input: DiskInput<'_>,
        options: &ScanOptions,
    ) -> Vec<(u64, bool, bool, Option<String>)> {
        let mut seen = Vec::new();
        scan(input, options, &NoProgress, &mut |c| {
            seen.push((
                c.index,
                c.data.is_some(),
                c.is_zero,
                c.checksum.map(str::to_owned),
            ));
            Ok(())
        })
        .unwrap();
        seen
    }

    #[test]
    fn random_and_stream_agree_and_skip_holes() {
        let mut bytes = vec![0u8; 10 * 4096 + 512];
        bytes[5 * 4096 + 7] = 1;
        let disk = MemDisk(bytes.clone(), std::iter::once(5 * 4096..6 * 4096).collect());
        for workers in [1, 2, 4] {
            let random = collect(DiskInput::Random(&disk), &options(workers));
            assert_eq!(random.len(), 11);
            assert!(random.iter().enumerate().all(|(i, c)| c.0 == i as u64));
            let read: Vec<u64> = random.iter().filter(|c| c.1).map(|c| c.0).collect();
            assert_eq!(read, [0, 5, 10], "holes are not read, forced chunks are");
            assert!(random[0].3.is_some() && random[10].3.is_some() && random[5].3.is_some());
            assert!(random[3].3.is_none());

            let mut stream =
                StreamDisk::new(io::Cursor::new(bytes.clone()), bytes.len() as u64, "s");
            let streamed = collect(DiskInput::Stream(&mut stream), &options(workers));
            let sums = |v: &[(u64, bool, bool, Option<String>)]| -> Vec<Option<String>> {
                v.iter().map(|c| c.3.clone()).collect()
            };
            assert_eq!(sums(&random), sums(&streamed));
        }
    }

    #[test]
    fn read_errors_name_the_disk_and_offset() {
        let mut stream = StreamDisk::new(io::Cursor::new(vec![0u8; 100]), 8192, "short");
        let err = scan(
            DiskInput::Stream(&mut stream),
            &options(2),
            &NoProgress,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`short` at offset 0"), "{err}");
    }

    #[test]
    fn consumer_errors_stop_the_workers() {
        let disk = MemDisk(vec![1u8; 64 * 4096], crate::source::whole(64 * 4096));
        let err = scan(
            DiskInput::Random(&disk),
            &options(2),
            &NoProgress,
            &mut |c| {
                if c.index == 3 {
                    Err(DiskImageError::Invalid("stop".into()))
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "stop");
    }
}
