//! A `qemu-nbd` export on a unix socket, for the daemon's NBD backend: what vdsm starts when a
//! transfer needs qcow2, real extents or dirty bitmaps (the file backend has none of them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{ImageioError, stop_child};

/// How long qemu-nbd may take to create its socket.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long qemu-nbd gets after SIGTERM before SIGKILL. It does not end while the daemon
/// keeps an NBD connection (the daemon keeps one while its HTTP client stays connected, as
/// `ovirt-img` does until it exits); by then the client has flushed (`PATCH flush`), so the
/// image is consistent, except that qcow2 bitmaps opened for writing stay marked in use.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The image format qemu-nbd opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbdFormat {
    /// A raw file.
    Raw,
    /// A qcow2 image (its backing chain is followed).
    Qcow2,
}

impl NbdFormat {
    fn name(self) -> &'static str {
        match self {
            NbdFormat::Raw => "raw",
            NbdFormat::Qcow2 => "qcow2",
        }
    }
}

/// How to export an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbdOptions {
    /// The image's format.
    pub format: NbdFormat,
    /// Export read-only (downloads).
    pub read_only: bool,
    /// Export this qcow2 bitmap as the `qemu:dirty-bitmap:` context, for
    /// `extents?context=dirty` (the ticket then needs `dirty: true`).
    pub bitmap: Option<String>,
    /// Export `qemu:allocation-depth`, so that extents report `hole` for unallocated
    /// clusters (what vdsm does for qcow2 layers).
    pub allocation_depth: bool,
}

impl NbdOptions {
    /// A writable export of an image of `format`.
    pub fn new(format: NbdFormat) -> NbdOptions {
        NbdOptions {
            format,
            read_only: false,
            bitmap: None,
            allocation_depth: false,
        }
    }
}

/// A running `qemu-nbd`, killed (and its socket removed) on drop.
#[derive(Debug)]
pub struct NbdExport {
    child: Child,
    socket: PathBuf,
    image: PathBuf,
    _dir: TempDir,
}

impl NbdExport {
    /// Exports `image` on a new unix socket (persistent, up to 8 clients: the daemon opens
    /// one connection per worker). Fails if qemu-nbd is missing or the image is locked.
    pub fn start(image: &Path, options: &NbdOptions) -> Result<NbdExport, ImageioError> {
        let dir = tempfile::Builder::new()
            .prefix("ovirt-sim-nbd-")
            .tempdir()
            .map_err(|e| ImageioError::io("creating a qemu-nbd directory", e))?;
        let socket = dir.path().join("nbd.sock");
        let log = dir.path().join("qemu-nbd.log");
        let log_file = std::fs::File::create(&log)
            .map_err(|e| ImageioError::io(format!("creating {}", log.display()), e))?;
        let mut command = Command::new("qemu-nbd");
        command
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--format={}", options.format.name()))
            .args([
                "--export-name=",
                "--persistent",
                "--shared=8",
                "--cache=writeback",
            ])
            .args(["--discard=unmap", "--detect-zeroes=unmap"]);
        if options.read_only {
            command.arg("--read-only");
        }
        if let Some(bitmap) = &options.bitmap {
            command.arg(format!("--bitmap={bitmap}"));
        }
        if options.allocation_depth {
            command.arg("--allocation-depth");
        }
        command
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let mut child = command.spawn().map_err(|e| ImageioError::Missing {
            tool: "qemu-nbd".to_owned(),
            detail: e.to_string(),
            install: "scripts/install-test-deps (Debian package qemu-utils)".to_owned(),
        })?;
        let started = Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(ImageioError::Nbd {
                    image: image.to_owned(),
                    detail: format!("qemu-nbd exited ({status}): {}", output.trim()),
                });
            }
            if started.elapsed() > START_TIMEOUT {
                stop_child(&mut child, STOP_GRACE);
                return Err(ImageioError::Nbd {
                    image: image.to_owned(),
                    detail: format!("no socket after {START_TIMEOUT:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::debug!(image = %image.display(), socket = %socket.display(), "qemu-nbd started");
        Ok(NbdExport {
            child,
            socket,
            image: image.to_owned(),
            _dir: dir,
        })
    }

    /// The ticket URL of this export: `nbd:unix:<socket>`.
    pub fn url(&self) -> String {
        format!("nbd:unix:{}", self.socket.display())
    }

    /// The exported image.
    pub fn image(&self) -> &Path {
        &self.image
    }

    /// The qemu-nbd process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NbdExport {
    fn drop(&mut self) {
        stop_child(&mut self.child, STOP_GRACE);
    }
}
