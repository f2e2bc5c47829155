//! The ovirt-imageio data path: what a transfer URL (`https://host:54322/images/TICKET`)
//! speaks.
//!
//! - `OPTIONS` tells the features (`extents`, `zero`, `flush`) and how many connections the
//!   server takes (`max_readers`, `max_writers`; absent means one).
//! - `GET …/extents?context=zero|dirty` maps the image: data, zero, and (during an
//!   incremental backup) dirty ranges.
//! - Downloads are ranged `GET`s of the data extents only, over several connections, into a
//!   [`disk_image::DiskSink`] (in order; a sparse sink leaves zeros as holes).
//! - Uploads read a [`disk_image::DiskInput`] (a raw file or block device with its holes, a
//!   VHD, an XVA disk, an HTTP body from XAPI), send data as `PUT` with `Content-Range` over
//!   as many connections as `max_writers` allows, zero ranges as `PATCH {"op":"zero"}`
//!   instead of zeros, every write with `flush=n`, and one `PATCH {"op":"flush"}` at the
//!   end.
//! - Uploads from pieces in any order ([`ImageioClient::upload_pieces`]): a producer such as
//!   a VHD read as it streams hands over data and zero ranges as it makes them.
//!
//! Errors follow the protocol: 403 (ticket missing, expired, cancelled, or not allowed) and
//! 416 (outside the image) are not retried; a 500 fails the transfer, whose owner cancels it
//! (nothing since the last flush can be trusted). Memory is bounded by
//! `(2 × connections + 2) × piece size` whatever the image size.

mod client;
mod download;
mod pieces;
mod upload;

pub use client::{Extent, ExtentContext, ImageioClient, ServerOptions};
pub use download::DownloadSummary;
pub use pieces::PushPiece;
pub use upload::UploadSummary;

/// How a transfer moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOptions {
    /// Connections at most (the server's `max_readers` / `max_writers` may allow fewer).
    pub connections: usize,
    /// Bytes per request.
    pub piece_size: usize,
    /// The destination is known to read as zeros (a new disk on file storage, a new qcow2
    /// disk): zero ranges of an upload are skipped instead of sent as `PATCH zero`.
    pub disk_is_zero: bool,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            connections: 4,
            piece_size: 4 << 20,
            disk_is_zero: false,
        }
    }
}
