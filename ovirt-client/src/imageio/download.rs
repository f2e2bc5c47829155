//! Downloads: the data extents (or the dirty ones) read by ranged `GET`s over several
//! connections, delivered to the sink in order; zero extents are never fetched.
//!
//! Workers claim pieces in ascending order, each after taking one of a fixed set of
//! buffers, so the lowest outstanding piece always has a buffer and memory stays at
//! `(connections + 2) × piece size`. The consumer (the calling thread) writes pieces in
//! order and hands the buffer back; buffers are allocated once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;

use disk_image::{DiskSink, Progress};

use super::TransferOptions;
use super::client::{Extent, ExtentContext, ImageioClient, read_with};
use crate::error::{OvirtError, Result};

/// What a download did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadSummary {
    /// The image size.
    pub size: u64,
    /// Bytes fetched.
    pub data_bytes: u64,
    /// The ranges fetched (for a dirty download: the changed data).
    pub fetched: Vec<Range<u64>>,
    /// For a dirty download: every changed range, zeroed ones included (those are not
    /// fetched; a sink that keeps older data must zero them).
    pub changed: Vec<Range<u64>>,
}

impl ImageioClient {
    /// Downloads an image of `size` bytes into `sink` and finishes the sink. With
    /// [`ExtentContext::Dirty`] only the ranges changed since the backup's checkpoint are
    /// fetched.
    pub fn download(
        &self,
        size: u64,
        context: ExtentContext,
        sink: &mut dyn DiskSink,
        options: &TransferOptions,
        progress: &dyn Progress,
    ) -> Result<DownloadSummary> {
        let extents = self.map(size, context)?;
        let mut summary = DownloadSummary {
            size,
            ..DownloadSummary::default()
        };
        for extent in &extents {
            let wanted = match context {
                ExtentContext::Zero => !extent.zero,
                ExtentContext::Dirty => {
                    if extent.dirty {
                        merge_push(&mut summary.changed, extent.start..extent.end());
                    }
                    extent.dirty && !extent.zero
                }
            };
            if wanted {
                merge_push(&mut summary.fetched, extent.start..extent.end());
            }
        }
        let pieces = split(&summary.fetched, options.piece_size as u64);
        summary.data_bytes = summary.fetched.iter().map(|r| r.end - r.start).sum();
        let connections = options.connections.min(self.server().max_readers).max(1);
        tracing::debug!(
            size,
            data = summary.data_bytes,
            pieces = pieces.len(),
            connections,
            "download"
        );
        progress.start("download", size);
        progress.advance(size - summary.data_bytes);
        self.fetch_in_order(&pieces, connections, &mut |offset, data| {
            sink.write_at(offset, data)
                .map_err(|source| OvirtError::Disk {
                    what: format!("writing the downloaded bytes at offset {offset}"),
                    source,
                })?;
            progress.advance(data.len() as u64);
            Ok(())
        })?;
        sink.finish(size).map_err(|source| OvirtError::Disk {
            what: "finishing the downloaded image".into(),
            source,
        })?;
        progress.finish();
        Ok(summary)
    }

    /// The extents, checked to cover exactly `0..size` (or the whole image as data when
    /// the server has no map).
    fn map(&self, size: u64, context: ExtentContext) -> Result<Vec<Extent>> {
        if !self.server().has("extents") {
            if context == ExtentContext::Dirty {
                return Err(OvirtError::Protocol {
                    what: "GET extents?context=dirty".into(),
                    problem: "the server has no extents feature".into(),
                });
            }
            return Ok(vec![Extent {
                start: 0,
                length: size,
                zero: false,
                hole: false,
                dirty: false,
            }]);
        }
        let extents = self.extents(context)?;
        let mut position = 0;
        for extent in &extents {
            if extent.start != position {
                return Err(OvirtError::Protocol {
                    what: "GET extents".into(),
                    problem: format!("extents skip from {position} to {}", extent.start),
                });
            }
            position = extent.end();
        }
        if position != size {
            return Err(OvirtError::Protocol {
                what: "GET extents".into(),
                problem: format!("the extents cover {position} bytes, the disk has {size}"),
            });
        }
        Ok(extents)
    }

    /// Fetches `pieces` on `connections` connections and hands them to `deliver` in order.
    fn fetch_in_order(
        &self,
        pieces: &[(u64, usize)],
        connections: usize,
        deliver: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if pieces.is_empty() {
            return Ok(());
        }
        let clients = (0..connections)
            .map(|_| self.worker())
            .collect::<Result<Vec<_>>>()?;
        let tokens = connections + 2;
        let piece_size = pieces.iter().map(|&(_, len)| len).max().unwrap_or(0);
        let (token_tx, token_rx) = mpsc::sync_channel::<Vec<u8>>(tokens);
        for _ in 0..tokens {
            token_tx
                .send(Vec::with_capacity(piece_size))
                .expect("room for every buffer");
        }
        let token_rx = Mutex::new(token_rx);
        let next = AtomicUsize::new(0);
        let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<u8>>)>();
        let url = self.url();
        thread::scope(|scope| {
            for http in &clients {
                let done_tx = done_tx.clone();
                let (token_rx, next) = (&token_rx, &next);
                scope.spawn(move || {
                    loop {
                        let Ok(mut buf) = token_rx.lock().expect("token lock").recv() else {
                            return; // the consumer stopped
                        };
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(offset, len)) = pieces.get(index) else {
                            return;
                        };
                        buf.resize(len, 0);
                        let result = read_with(http, url, offset, &mut buf).map(|()| buf);
                        if done_tx.send((index, result)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let token_tx = token_tx; // dropped when this closure returns: workers then stop
            let mut waiting = BTreeMap::new();
            for (expected, &(offset, _)) in pieces.iter().enumerate() {
                while !waiting.contains_key(&expected) {
                    let (index, result) = done_rx.recv().map_err(|_| OvirtError::Protocol {
                        what: "download".into(),
                        problem: "the workers stopped early".into(),
                    })?;
                    waiting.insert(index, result?);
                }
                let data = waiting.remove(&expected).expect("present");
                deliver(offset, &data)?;
                let _ = token_tx.send(data);
            }
            Ok(())
        })
    }
}

/// Appends `range`, merging it with the last one when they touch.
fn merge_push(ranges: &mut Vec<Range<u64>>, range: Range<u64>) {
    match ranges.last_mut() {
        Some(last) if last.end == range.start => last.end = range.end,
        _ => ranges.push(range),
    }
}

/// Cuts ranges into pieces of at most `piece` bytes: `(offset, length)`.
fn split(ranges: &[Range<u64>], piece: u64) -> Vec<(u64, usize)> {
    let mut pieces = Vec::new();
    for range in ranges {
        let mut offset = range.start;
        while offset < range.end {
            let len = (range.end - offset).min(piece);
            pieces.push((offset, len as usize));
            offset += len;
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_split() {
        let mut ranges = Vec::new();
        merge_push(&mut ranges, 0..10);
        merge_push(&mut ranges, 10..20);
        merge_push(&mut ranges, 30..35);
        assert_eq!(ranges, vec![0..20, 30..35]);
        assert_eq!(split(&ranges, 8), vec![(0, 8), (8, 8), (16, 4), (30, 5)]);
    }
}
