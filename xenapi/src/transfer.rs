//! HTTP transfers as streams: `/export`, `/export_metadata`, `/export_raw_vdi` and
//! `/pool/xmldbdump` are [`Download`]s (`Read`); `/import` and `/import_raw_vdi` are
//! [`Import`] / [`Upload`]s (`Write`). Nothing is held in memory beyond a buffer.
//!
//! Each transfer creates its own task (`task.create`) and passes `session_id` and
//! `task_id` in the query. XAPI answers 200 before it does the work, so the HTTP status
//! proves nothing: `finish` waits for the task, destroys it, and returns its result or its
//! error. A 302 to another pool member is followed over the URL it names, keeping the
//! task; a 200 whose body starts with `HTTP/` (XAPI bug) is an error. Uploads never use
//! chunked transfer encoding, which XAPI refuses.

mod download;
mod request;
mod upload;

pub use download::Download;
pub use upload::{Import, Upload};

use crate::Ref;
use crate::error::Result;
use crate::session::Session;
use request::Request;

/// How `/export` compresses the XVA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    #[default]
    None,
    /// gzip (`use_compression=true` on every XAPI version).
    Gzip,
    /// zstd (XenServer 8 / XCP-ng 8.2 and later).
    Zstd,
}

impl Compression {
    fn query_value(self) -> &'static str {
        match self {
            Compression::None => "false",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Options of `GET /export`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// How to compress the XVA.
    pub compression: Compression,
    /// Record the VM's power state in the XVA (as `/export_metadata` does).
    pub preserve_power_state: bool,
}

/// The disk format of `/export_raw_vdi` and `/import_raw_vdi`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DiskFormat {
    /// Every byte of the virtual size.
    #[default]
    Raw,
    /// A dynamic VHD: only allocated blocks (with a base: only blocks that differ).
    Vhd,
}

impl DiskFormat {
    fn query_value(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Vhd => "vhd",
        }
    }
}

/// Options of `PUT /import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The SR for the disks; `None` means the pool's default SR.
    pub sr: Option<Ref>,
    /// Keep the VM's UUIDs and MACs (a restore of a backup) instead of new ones.
    pub restore: bool,
    /// Import even when checksums or versions disagree.
    pub force: bool,
    /// The XVA's size, when known: it is sent as `Content-Length`. Without it the body is
    /// ended by closing the sending half of the connection.
    pub length: Option<u64>,
}

fn flag(value: bool) -> String {
    value.to_string()
}

fn pair(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

impl Session {
    /// `GET /export?ref=<vm>`: the VM as an XVA. The VM must be halted or suspended, or be
    /// a snapshot or template.
    pub fn export(&self, vm: &Ref, options: &ExportOptions) -> Result<Download<'_>> {
        Request {
            path: "/export",
            params: vec![
                pair("ref", vm.as_str()),
                pair("use_compression", options.compression.query_value()),
                pair("preserve_power_state", flag(options.preserve_power_state)),
            ],
            label: "export",
        }
        .download(self)
    }

    /// `GET /export_metadata?ref=<vm>`: an XVA holding only `ova.xml`.
    pub fn export_metadata(&self, vm: &Ref) -> Result<Download<'_>> {
        Request {
            path: "/export_metadata",
            params: vec![pair("ref", vm.as_str())],
            label: "export_metadata",
        }
        .download(self)
    }

    /// `GET /export_raw_vdi?vdi=<vdi>&format=…[&base=…]`: one disk; with a `base` (an older
    /// snapshot of the same disk) and VHD, only the blocks that differ.
    pub fn export_raw_vdi(
        &self,
        vdi: &Ref,
        format: DiskFormat,
        base: Option<&Ref>,
    ) -> Result<Download<'_>> {
        let mut params = vec![
            pair("vdi", vdi.as_str()),
            pair("format", format.query_value()),
        ];
        if let Some(base) = base {
            params.push(pair("base", base.as_str()));
        }
        Request {
            path: "/export_raw_vdi",
            params,
            label: "export_raw_vdi",
        }
        .download(self)
    }

    /// `GET /pool/xmldbdump`: the pool database as XML.
    pub fn pool_db_dump(&self) -> Result<Download<'_>> {
        Request {
            path: "/pool/xmldbdump",
            params: Vec::new(),
            label: "pool_db_dump",
        }
        .download(self)
    }

    /// `PUT /import`: write an XVA (plain, gzip or zstd) into the returned [`Import`], then
    /// `finish` it for the new VMs' refs.
    pub fn import(&self, options: &ImportOptions) -> Result<Import<'_>> {
        let mut params = Vec::new();
        if let Some(sr) = &options.sr {
            params.push(pair("sr_id", sr.as_str()));
        }
        params.push(pair("restore", flag(options.restore)));
        params.push(pair("force", flag(options.force)));
        let request = Request {
            path: "/import",
            params,
            label: "import",
        };
        request.upload(self, options.length).map(Import::new)
    }

    /// `PUT /import_raw_vdi?vdi=<vdi>&format=…`: write a disk image into an existing VDI.
    /// `length`, when known, is sent as `Content-Length`.
    pub fn import_raw_vdi(
        &self,
        vdi: &Ref,
        format: DiskFormat,
        length: Option<u64>,
    ) -> Result<Upload<'_>> {
        Request {
            path: "/import_raw_vdi",
            params: vec![
                pair("vdi", vdi.as_str()),
                pair("format", format.query_value()),
            ],
            label: "import_raw_vdi",
        }
        .upload(self, length)
    }
}
