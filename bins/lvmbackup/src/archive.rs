//! One archive: GNU tar's listed-incremental format, written by GNU tar itself (run as a
//! command: what matters is that GNU tar restores the chain), compressed here with gzip
//! (flate2, no name or time in the header, as backup-manager's `GZIP=-n`) or zstd while its
//! md5 is computed, under a temporary name.
//!
//! The steps, and why in this order:
//! 1. the state file `<…>.incremental.bin` is copied to `<…>.incremental.bin.partial` (a
//!    full archive starts from none), and tar updates only that copy;
//! 2. the archive is written to `<name>.partial`: a [`PendingArchive`], which removes both
//!    partial files when dropped unpublished (a failed tar, an overflowed snapshot, a panic);
//! 3. [`PendingArchive::publish`]: the archive is synced and renamed to its name, then the
//!    state copy is renamed over the state file, then `<prefix>-hashes.md5` gets its line.
//!    An interruption between the renames leaves a published archive with the old state: the
//!    next incremental then repeats some changes, and the chain still restores. The reverse
//!    order could record changes that no archive holds.
//!
//! tar runs with `--no-check-device`: a snapshot gets a new device-mapper minor every night,
//! and without it GNU tar takes every file as new (a full dump each night, observed; its
//! manual's "Fixing Snapshot Files" says as much). backup-manager does not pass it. Members
//! are named as backup-manager names them: the archived directory without its leading `/`
//! (`4backup/web1/root/etc/hosts`), with `--one-file-system` so that nothing below another
//! mount is read.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use md5::{Digest, Md5};
use serde::Serialize;

use crate::error::{LvmBackupError, Result};
use crate::hashes::{Hashes, partial_path, sync_parent};
use crate::naming::{ArchiveName, FileType, hashes_file_name, state_file_name};

/// GNU tar, the program that writes and reads the archives (the command seam: tests and
/// hosts may point it elsewhere).
#[derive(Debug, Clone)]
pub struct GnuTar {
    /// The program.
    pub program: PathBuf,
}

impl Default for GnuTar {
    fn default() -> Self {
        GnuTar {
            program: PathBuf::from("tar"),
        }
    }
}

/// Compression levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// gzip, 1-9.
    pub gzip: u32,
    /// zstd, 1-19.
    pub zstd: i32,
    /// zstd's worker threads (0: compress on the writing thread).
    pub zstd_threads: u32,
}

/// What to archive and where.
#[derive(Debug, Clone)]
pub struct ArchiveRequest<'a> {
    /// The repository (`BM_REPOSITORY_ROOT`).
    pub repository: &'a Path,
    /// The archive's name.
    pub name: &'a ArchiveName,
    /// The directory to archive (the snapshot's mount point), absolute.
    pub source: &'a Path,
    /// Compression levels.
    pub levels: Levels,
}

/// An archive written under its temporary name, not yet published.
#[derive(Debug)]
pub struct PendingArchive {
    name: ArchiveName,
    path: PathBuf,
    partial: PathBuf,
    state: PathBuf,
    state_partial: PathBuf,
    hashes: PathBuf,
    md5: String,
    bytes: u64,
    published: bool,
}

/// A published archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// Its file.
    pub path: PathBuf,
    /// Its name.
    pub name: ArchiveName,
    /// Its md5, as in `<prefix>-hashes.md5`.
    pub md5: String,
    /// Its size.
    pub bytes: u64,
}

impl GnuTar {
    /// Writes the archive `request` describes to its temporary name.
    pub fn create(&self, request: &ArchiveRequest<'_>) -> Result<PendingArchive> {
        let name = request.name;
        let path = request.repository.join(name.file_name());
        let state = request
            .repository
            .join(state_file_name(&name.prefix, &name.dir));
        let mut pending = PendingArchive {
            name: name.clone(),
            partial: partial_path(&path),
            state_partial: partial_path(&state),
            hashes: request.repository.join(hashes_file_name(&name.prefix)),
            path,
            state,
            md5: String::new(),
            bytes: 0,
            published: false,
        };
        pending.remove_partials();
        if !name.master {
            fs::copy(&pending.state, &pending.state_partial).map_err(LvmBackupError::io(
                format!(
                    "copying {} to {}",
                    pending.state.display(),
                    pending.state_partial.display()
                ),
            ))?;
        }
        let relative =
            request
                .source
                .strip_prefix("/")
                .map_err(|_| LvmBackupError::MountPoint {
                    path: request.source.to_owned(),
                    problem: "not an absolute path".into(),
                })?;
        let mut listed = OsString::from("--listed-incremental=");
        listed.push(&pending.state_partial);
        let args: Vec<OsString> = vec![
            "--create".into(),
            "--file=-".into(),
            listed,
            "--no-check-device".into(),
            "--one-file-system".into(),
            "--preserve-permissions".into(),
            "--directory=/".into(),
            "--".into(),
            relative.as_os_str().to_owned(),
        ];
        let file = fs::File::create(&pending.partial).map_err(LvmBackupError::io(format!(
            "creating {}",
            pending.partial.display()
        )))?;
        let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        let mut encoder = Encoder::new(&mut sink, name.filetype, request.levels)
            .map_err(LvmBackupError::io("starting the compressor"))?;
        self.run_writing(&args, None, &mut encoder)?;
        encoder.finish().map_err(LvmBackupError::io(format!(
            "writing {}",
            pending.partial.display()
        )))?;
        let (md5, bytes, writer) = sink.finish();
        let file = writer.into_inner().map_err(|e| LvmBackupError::Io {
            action: format!("writing {}", pending.partial.display()),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(LvmBackupError::io(format!(
            "syncing {}",
            pending.partial.display()
        )))?;
        pending.md5 = md5;
        pending.bytes = bytes;
        Ok(pending)
    }

    /// Runs tar with `args`, `input` on its standard input if given, copying its standard
    /// output into `out`; fails unless it exits 0.
    pub fn run_writing(
        &self,
        args: &[OsString],
        input: Option<&mut (dyn Read + Send)>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let command_line = || {
            let mut line = self.program.display().to_string();
            for a in args {
                line.push(' ');
                line.push_str(&a.to_string_lossy());
            }
            line
        };
        let mut child = Command::new(&self.program)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LvmBackupError::Io {
                action: format!(
                    "starting {} (GNU tar; install it with apt-get install tar)",
                    self.program.display()
                ),
                source: e,
            })?;
        let mut stderr = child.stderr.take().expect("piped stderr");
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = child.stdout.take().expect("piped stdout");
        let copied = std::thread::scope(|scope| {
            let feeder = input.map(|input| {
                let mut stdin = child.stdin.take().expect("piped stdin");
                scope.spawn(move || io::copy(input, &mut stdin).map(|_| ()))
            });
            let copied = io::copy(&mut stdout, out);
            drop(stdout);
            let fed = feeder.map_or(Ok(()), |f| f.join().expect("tar input thread"));
            copied.and(fed.or_else(|e| {
                // tar may stop reading early on a damaged archive; its status says why
                if e.kind() == io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e)
                }
            }))
        });
        let status = child.wait().map_err(LvmBackupError::io(format!(
            "waiting for {}",
            command_line()
        )))?;
        let stderr = errors.join().unwrap_or_default();
        // our side failing first (the archive's disk full) kills tar with SIGPIPE: the
        // cause is ours, not tar's
        copied.map_err(LvmBackupError::io(format!(
            "copying the output of {}",
            command_line()
        )))?;
        if !status.success() {
            return Err(LvmBackupError::Command {
                command: command_line(),
                status: status.to_string(),
                stderr: tail(&stderr),
            });
        }
        Ok(())
    }
}

impl PendingArchive {
    /// The archive's name.
    pub fn name(&self) -> &ArchiveName {
        &self.name
    }

    /// Its size so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Publishes it: archive synced and renamed, then the state, then the digest line.
    pub fn publish(mut self) -> Result<Published> {
        fs::rename(&self.partial, &self.path).map_err(LvmBackupError::io(format!(
            "renaming {} to {}",
            self.partial.display(),
            self.path.display()
        )))?;
        sync_parent(&self.path)?;
        self.published = true;
        fs::rename(&self.state_partial, &self.state).map_err(LvmBackupError::io(format!(
            "renaming {} to {}",
            self.state_partial.display(),
            self.state.display()
        )))?;
        sync_parent(&self.state)?;
        let mut hashes = Hashes::read(&self.hashes)?;
        hashes.set(&self.name.file_name(), &self.md5);
        hashes.save()?;
        Ok(Published {
            path: self.path.clone(),
            name: self.name.clone(),
            md5: self.md5.clone(),
            bytes: self.bytes,
        })
    }

    fn remove_partials(&self) {
        for path in [&self.partial, &self.state_partial] {
            match fs::remove_file(path) {
                Ok(()) => tracing::debug!(path = %path.display(), "removed a partial file"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "could not remove a partial file");
                }
            }
        }
    }
}

impl Drop for PendingArchive {
    fn drop(&mut self) {
        if !self.published {
            self.remove_partials();
        }
    }
}

/// The archive's contents, decompressed.
pub fn open_archive(path: &Path, filetype: FileType) -> Result<Box<dyn Read + Send>> {
    let file =
        fs::File::open(path).map_err(LvmBackupError::io(format!("opening {}", path.display())))?;
    let file = io::BufReader::with_capacity(1 << 20, file);
    Ok(match filetype {
        FileType::Tar | FileType::Img => Box::new(file),
        FileType::TarGz => Box::new(flate2::read::MultiGzDecoder::new(file)),
        FileType::TarZst | FileType::ImgZst => Box::new(
            zstd::Decoder::with_buffer(file)
                .map_err(LvmBackupError::io(format!("reading {}", path.display())))?,
        ),
    })
}

/// The md5 of a file, in hex.
pub fn md5_of(path: &Path) -> Result<String> {
    let mut file =
        fs::File::open(path).map_err(LvmBackupError::io(format!("opening {}", path.display())))?;
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut file, &mut hasher)
        .map_err(LvmBackupError::io(format!("reading {}", path.display())))?;
    Ok(hasher.finish().0)
}

/// The compressor of a file type.
enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(inner: W, filetype: FileType, levels: Levels) -> io::Result<Self> {
        Ok(match filetype {
            FileType::Tar | FileType::Img => Encoder::Plain(inner),
            FileType::TarGz => Encoder::Gzip(
                flate2::GzBuilder::new().write(inner, flate2::Compression::new(levels.gzip)),
            ),
            FileType::TarZst | FileType::ImgZst => {
                let mut encoder = zstd::Encoder::new(inner, levels.zstd)?;
                encoder.include_checksum(true)?;
                if levels.zstd_threads > 0 {
                    encoder.multithread(levels.zstd_threads)?;
                }
                Encoder::Zstd(encoder)
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// A writer that hashes (md5) and counts what passes through.
struct HashingWriter<W> {
    inner: W,
    md5: Md5,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            md5: Md5::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (String, u64, W) {
        let digest = self.md5.finalize();
        let hex = digest.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        (hex, self.bytes, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The last lines of a command's standard error.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}
