//! Tickets: what vdsm installs in the daemon on behalf of the engine (`PUT /tickets/<id>` on
//! the control service), and the daemon's view of one (`GET /tickets/<id>`).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a ticket allows. `write` implies read in the daemon; an engine's upload ticket is
/// `[write]`, a download ticket `[read]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketOp {
    /// Reads (`GET`, extents, checksum).
    Read,
    /// Writes (`PUT`, `PATCH` zero and flush), and reads.
    Write,
}

/// A ticket to install: the daemon serves `url` at `/images/<uuid>` while it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// The ticket id: the last path segment of the transfer URL.
    pub uuid: String,
    /// The image's virtual size in bytes (ranges beyond it answer 416).
    pub size: u64,
    /// The backend: `file:///abs/path` (raw files) or `nbd:unix:/socket` (a qemu-nbd
    /// export, see [`NbdExport::url`](super::NbdExport::url)).
    pub url: String,
    /// What the ticket allows.
    pub ops: Vec<TicketOp>,
    /// Seconds until the ticket expires.
    pub timeout: u64,
    /// Seconds without a connection after which the ticket expires.
    pub inactivity_timeout: u64,
    /// The engine's transfer id (logged by the daemon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
    /// Whether zeroing may punch holes.
    pub sparse: bool,
    /// Whether `extents?context=dirty` is served (needs an NBD export with a bitmap).
    pub dirty: bool,
}

impl Ticket {
    /// A ticket for `url` with `ops`, one hour to live and 60 s of inactivity allowed.
    pub fn new(
        uuid: impl Into<String>,
        size: u64,
        url: impl Into<String>,
        ops: &[TicketOp],
    ) -> Ticket {
        Ticket {
            uuid: uuid.into(),
            size,
            url: url.into(),
            ops: ops.to_vec(),
            timeout: 3600,
            inactivity_timeout: 60,
            transfer_id: None,
            sparse: true,
            dirty: false,
        }
    }
}

/// The `file://` URL of a raw image for the daemon's file backend (an absolute path).
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The daemon's view of an installed ticket (`GET /tickets/<id>`; unknown fields ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TicketStatus {
    /// The ticket id.
    pub uuid: String,
    /// Whether a transfer is in progress.
    pub active: bool,
    /// Whether the ticket was cancelled.
    #[serde(default)]
    pub canceled: bool,
    /// Open connections using it.
    #[serde(default)]
    pub connections: u64,
    /// The image size.
    pub size: u64,
    /// The backend URL.
    pub url: String,
    /// What it allows.
    pub ops: Vec<TicketOp>,
    /// Whether dirty extents are served.
    #[serde(default)]
    pub dirty: bool,
    /// Seconds since the last request.
    #[serde(default)]
    pub idle_time: f64,
    /// The expiry, in the daemon's monotonic clock.
    #[serde(default)]
    pub expires: f64,
}
