//! Pieces of a disk (data at an offset, zero ranges) into an imageio image, as they are
//! produced: data as `PUT` (`flush=n`), zero ranges as `PATCH zero`, over several
//! connections (each worker its own [`ImageioClient`]), then one flush. The producer runs
//! on the calling thread; a bounded queue holds at most two pieces per worker, so memory is
//! a few blocks whatever the disk size.
//!
//! Why here and not in ovirt-client: its upload takes a `DiskInput` (a random-access disk or
//! a raw stream in order); a producer of pieces in any order, such as a streamed VHD, has no
//! entry point there yet. This belongs in `ovirt_client::imageio` as an upload from pieces.

use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;

use anyhow::{Result, anyhow};
use disk_image::Progress;
use ovirt_client::imageio::ImageioClient;

use disk_image::Piece;

/// The largest `PATCH zero` (the official client's request limit).
const MAX_ZERO: u64 = 1 << 30;

/// What an upload sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sent {
    /// Bytes sent as data.
    pub data_bytes: u64,
    /// Bytes zeroed with `PATCH zero`.
    pub zeroed_bytes: u64,
    /// Requests sent.
    pub requests: u64,
}

/// Runs `produce`, which hands pieces to the function it is given, and uploads them through
/// `clients` (one worker each; at least one). Fails with the first error of the producer
/// or of a request; the image is flushed only on success.
pub fn upload<T>(
    clients: &[ImageioClient],
    progress: &dyn Progress,
    produce: impl FnOnce(&mut dyn FnMut(Piece) -> Result<()>) -> Result<T>,
) -> Result<(T, Sent)> {
    let first = clients
        .first()
        .ok_or_else(|| anyhow!("an upload needs at least one imageio connection"))?;
    if !first.server().has("zero") {
        return Err(anyhow!(
            "the imageio server cannot zero ranges (features: {}): too old for xen2ovirt",
            first.server().features.join(",")
        ));
    }
    let (tx, rx) = mpsc::sync_channel::<Piece>(2 * clients.len());
    let rx = Mutex::new(rx);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let sent = Mutex::new(Sent::default());
    let produced = thread::scope(|scope| {
        for client in clients {
            let (rx, failure, sent) = (&rx, &failure, &sent);
            scope.spawn(move || {
                loop {
                    let piece = rx.lock().expect("queue lock").recv();
                    let Ok(piece) = piece else { return };
                    if failure.lock().expect("failure lock").is_some() {
                        continue; // drain, so that the producer never blocks
                    }
                    let len = piece.len();
                    let result = match piece {
                        Piece::Data { offset, bytes } => client.write_at(offset, bytes),
                        Piece::Zero { offset, len } => client.zero(offset, len),
                    };
                    if let Err(error) = result {
                        failure
                            .lock()
                            .expect("failure lock")
                            .get_or_insert(anyhow::Error::new(error));
                        continue;
                    }
                    sent.lock().expect("sent lock").requests += 1;
                    progress.advance(len);
                }
            });
        }
        let mut push = |piece: Piece| -> Result<()> {
            if failure.lock().expect("failure lock").is_some() {
                return Err(anyhow!("an imageio request failed"));
            }
            {
                let mut sent = sent.lock().expect("sent lock");
                match &piece {
                    Piece::Data { bytes, .. } => sent.data_bytes += bytes.len() as u64,
                    Piece::Zero { len, .. } => sent.zeroed_bytes += len,
                }
            }
            for piece in limit(piece) {
                tx.send(piece)
                    .map_err(|_| anyhow!("the upload workers stopped"))?;
            }
            Ok(())
        };
        let produced = produce(&mut push);
        drop(tx); // workers finish what is queued, then stop
        produced
    });
    if let Some(error) = failure.into_inner().expect("failure lock") {
        return Err(error.context("uploading to imageio"));
    }
    let produced = produced?;
    first.flush()?;
    Ok((produced, sent.into_inner().expect("sent lock")))
}

/// Zero ranges cut to at most [`MAX_ZERO`] bytes each.
fn limit(piece: Piece) -> Vec<Piece> {
    match piece {
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
    fn big_zero_ranges_are_cut() {
        let pieces = limit(Piece::Zero {
            offset: 10,
            len: 2 * MAX_ZERO + 5,
        });
        assert_eq!(
            pieces,
            [
                Piece::Zero {
                    offset: 10,
                    len: MAX_ZERO
                },
                Piece::Zero {
                    offset: 10 + MAX_ZERO,
                    len: MAX_ZERO
                },
                Piece::Zero {
                    offset: 10 + 2 * MAX_ZERO,
                    len: 5
                },
            ]
        );
        let data = Piece::Data {
            offset: 0,
            bytes: vec![1],
        };
        assert_eq!(limit(data.clone()), [data]);
    }
}
