//! Uploads from pieces in any order: a producer on the calling thread hands over
//! [`Piece`]s (data at an offset, zero ranges) as it makes them — a dynamic VHD read as it
//! streams from XAPI gives its blocks in stream order, an XVA its chunks — and workers send
//! them: data as `PUT` (`flush=n`), zero ranges as `PATCH zero` (cut to the official
//! client's 1 GiB limit; written as zeros when the server cannot zero; skipped when the
//! disk is known to be zero), then one flush. A bounded queue holds at most two pieces per
//! worker, so memory is a few pieces whatever the disk size.
//!
//! The producer's error type is the caller's (anything an [`OvirtError`] converts into):
//! the upload stops at the first failure of either side, and the image is flushed only
//! when both succeeded.

use std::sync::{Mutex, mpsc};
use std::thread;

use disk_image::{Piece, Progress};

use super::TransferOptions;
use super::client::{ImageioClient, write_with, zero_with};
use super::upload::{MAX_ZERO, UploadSummary, write_zeros};
use crate::error::{OvirtError, Result};

/// What a producer calls for each piece; an error means the upload failed (stop producing).
pub type PushPiece<'a> = dyn FnMut(Piece) -> Result<()> + 'a;

impl ImageioClient {
    /// Uploads the pieces `produce` hands over into an image of `size` bytes (each byte at
    /// most once, in any order) and flushes once. Returns what `produce` returned and what
    /// was sent. Fails with the first error of the producer or of a request.
    pub fn upload_pieces<T, E: From<OvirtError>>(
        &self,
        size: u64,
        options: &TransferOptions,
        progress: &dyn Progress,
        produce: impl FnOnce(&mut PushPiece<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<(T, UploadSummary), E> {
        if !self.server().writable() {
            return Err(OvirtError::Protocol {
                what: "upload".into(),
                problem: format!(
                    "the ticket is read-only (the server allows {})",
                    self.server().allow.join(",")
                ),
            }
            .into());
        }
        let connections = options.connections.min(self.server().max_writers).max(1);
        let clients = (0..connections)
            .map(|_| self.worker())
            .collect::<Result<Vec<_>>>()?;
        let (tx, rx) = mpsc::sync_channel::<Piece>(2 * connections);
        let rx = Mutex::new(rx);
        let failure: Mutex<Option<OvirtError>> = Mutex::new(None);
        let totals = Mutex::new(UploadSummary {
            size,
            ..UploadSummary::default()
        });
        let can_zero = self.server().has("zero");
        let (url, server) = (self.url(), self.server());
        let produced = thread::scope(|scope| {
            for http in &clients {
                let (rx, failure, totals) = (&rx, &failure, &totals);
                scope.spawn(move || {
                    loop {
                        let piece = rx.lock().expect("queue lock").recv();
                        let Ok(piece) = piece else { return };
                        if failure.lock().expect("failure lock").is_some() {
                            continue; // drain, so that the producer never blocks
                        }
                        let (result, data, zeroed) = match piece {
                            Piece::Data { offset, bytes } => {
                                let len = bytes.len() as u64;
                                (write_with(http, url, server, offset, bytes), len, 0)
                            }
                            Piece::Zero { offset, len } if can_zero => {
                                (zero_with(http, url, offset, len), 0, len)
                            }
                            Piece::Zero { offset, len } => {
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
            let mut push = |piece: Piece| -> Result<()> {
                if failure.lock().expect("failure lock").is_some() {
                    return Err(worker_failed());
                }
                if piece.end() > size {
                    return Err(OvirtError::Protocol {
                        what: "upload".into(),
                        problem: format!(
                            "a piece ends at byte {}, past the image's {size} bytes",
                            piece.end()
                        ),
                    });
                }
                if let Piece::Zero { len, .. } = piece
                    && options.disk_is_zero
                {
                    totals.lock().expect("totals lock").skipped_bytes += len;
                    progress.advance(len);
                    return Ok(());
                }
                for piece in limit(piece) {
                    tx.send(piece).map_err(|_| worker_failed())?;
                }
                Ok(())
            };
            let produced = produce(&mut push);
            drop(tx); // the workers finish what is queued, then stop
            produced
        });
        if let Some(error) = failure.into_inner().expect("failure lock") {
            return Err(error.into());
        }
        let produced = produced?;
        if self.server().has("flush") {
            self.flush()?;
        }
        progress.finish();
        Ok((produced, totals.into_inner().expect("totals lock")))
    }
}

fn worker_failed() -> OvirtError {
    OvirtError::Protocol {
        what: "upload".into(),
        problem: "an imageio request failed".into(),
    }
}

/// Zero ranges cut to at most [`MAX_ZERO`] bytes each; empty pieces dropped.
fn limit(piece: Piece) -> Vec<Piece> {
    match piece {
        piece if piece.is_empty() => Vec::new(),
        Piece::Zero { offset, len } if len > MAX_ZERO => (0..len.div_ceil(MAX_ZERO))
            .map(|i| Piece::Zero {
                offset: offset + i * MAX_ZERO,
                len: MAX_ZERO.min(len - i * MAX_ZERO),
            })
            .collect(),
        piece => vec![piece],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_zero_ranges_are_cut_and_empty_pieces_dropped() {
        let pieces = limit(Piece::Zero {
            offset: 10,
            len: 2 * MAX_ZERO + 5,
        });
        let ranges: Vec<(u64, u64)> = pieces.iter().map(|p| (p.offset(), p.len())).collect();
        assert_eq!(
            ranges,
            [
                (10, MAX_ZERO),
                (10 + MAX_ZERO, MAX_ZERO),
                (10 + 2 * MAX_ZERO, 5)
            ]
        );
        let data = Piece::Data {
            offset: 0,
            bytes: vec![1],
        };
        assert_eq!(limit(data.clone()), [data]);
        assert!(limit(Piece::Zero { offset: 3, len: 0 }).is_empty());
    }
}
