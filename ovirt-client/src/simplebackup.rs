//! Reading the backups oVirtSimpleBackup wrote, so that they can be listed, verified and
//! restored by our tools:
//!
//! ```text
//! <root>/<VM name>/<VM uuid>/<label><YYYYmmdd_HHMMSS>/
//!     data.xml                 the snapshot's OVF
//!     DiskN.dat                17 lines: "DiskN", disk uuid, disk name, bootable, interface,
//!                              provisioned size, device at backup time, VM name, backup
//!                              name, VM uuid, then blank lines
//!     DiskN.img[.gz|.lzo|.bzip2|.pbzip2]   the raw disk, the whole virtual size (Disk1 boots)
//!     progress.dat             pv's progress (ignored)
//! ```
//!
//! The oldest versions wrote one `image.img` instead; it is read as disk 1 without a
//! `.dat`. A disk opens as a decompressed stream ([`SimpleDisk::open`]): gzip through
//! `flate2`, bzip2 and pbzip2 (several bzip2 streams) through the `bzip2` crate (pure
//! Rust), lzop through an external `lzop -dc` ([`Lzop`], a seam): the crates that exist
//! decode raw LZO1X blocks only, and lzop's container (header, flags, per-block sizes and
//! checksums) would have to be written by hand; Debian's `lzop` is what wrote the files.
//!
//! [`SimpleBackup::check`] verifies a backup as far as one without digests can be
//! verified ([`SeedCheck`]): its structure against its OVF and directory, every disk
//! decompressed to its `DiskN.dat` size.
//!
//! Everything here is read from the backup disk and is input: a `DiskN.dat` that does not
//! parse, or a disk file of two kinds at once, is an error naming the file, never a guess.

use std::fs;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::error::{OvirtError, Result};

mod check;

pub use check::SeedCheck;

/// The OVF file of a backup.
pub const OVF_FILE: &str = "data.xml";

/// How a disk image was compressed (oVirtSimpleBackup's `compress` setting 0-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedCompression {
    /// `DiskN.img`.
    None,
    /// `DiskN.img.gz` (gzip).
    Gzip,
    /// `DiskN.img.lzo` (lzop).
    Lzo,
    /// `DiskN.img.bzip2` (bzip2).
    Bzip2,
    /// `DiskN.img.pbzip2` (pbzip2: concatenated bzip2 streams).
    Pbzip2,
}

impl SeedCompression {
    const ALL: [SeedCompression; 5] = [
        SeedCompression::None,
        SeedCompression::Gzip,
        SeedCompression::Lzo,
        SeedCompression::Bzip2,
        SeedCompression::Pbzip2,
    ];

    /// The file-name suffix after `.img`.
    pub fn suffix(self) -> &'static str {
        match self {
            SeedCompression::None => "",
            SeedCompression::Gzip => ".gz",
            SeedCompression::Lzo => ".lzo",
            SeedCompression::Bzip2 => ".bzip2",
            SeedCompression::Pbzip2 => ".pbzip2",
        }
    }
}

/// What `DiskN.dat` says about a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskInfo {
    /// The disk's id in the engine.
    pub disk_id: String,
    /// Its name.
    pub name: String,
    /// Whether it was a boot disk.
    pub bootable: bool,
    /// Its interface as the seed wrote it (`virtio`, `virtio_scsi`).
    pub interface: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// The appliance's device name at backup time (`vdb`).
    pub device: String,
    /// The VM's name.
    pub vm_name: String,
    /// The backup's name.
    pub backup_name: String,
    /// The VM's uuid.
    pub vm_uuid: String,
}

/// One disk of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleDisk {
    /// `N` of `DiskN` (1: the boot disk).
    pub index: u32,
    /// Its `DiskN.dat` (absent for the old single `image.img`).
    pub info: Option<DiskInfo>,
    /// The image file.
    pub image: PathBuf,
    /// Its compression.
    pub compression: SeedCompression,
}

/// One backup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleBackup {
    /// The directory.
    pub path: PathBuf,
    /// The VM's name (the first level).
    pub vm_name: String,
    /// The VM's uuid (the second level).
    pub vm_uuid: String,
    /// The directory's name (`BU_20190708_120001`).
    pub name: String,
    /// The label before the stamp (`BU_`), when the name ends in one.
    pub label: String,
    /// The stamp (`20190708_120001`), when the name ends in one.
    pub stamp: Option<String>,
    /// Its disks by index.
    pub disks: Vec<SimpleDisk>,
}

/// Runs `lzop -dc` (the seam a test or another platform replaces).
pub trait Lzop {
    /// The decompressed bytes of `file`.
    fn decompress(&self, file: &Path) -> io::Result<Box<dyn Read + Send>>;
}

/// The system's `lzop` (Debian package `lzop`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLzop;

impl Lzop for SystemLzop {
    fn decompress(&self, file: &Path) -> io::Result<Box<dyn Read + Send>> {
        let mut child = Command::new("lzop")
            .arg("-dc")
            .arg("--")
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("running lzop (install it: apt-get install lzop): {e}"),
                )
            })?;
        let stdout = child.stdout.take().expect("piped");
        Ok(Box::new(ChildOutput {
            child,
            stdout,
            done: false,
        }))
    }
}

/// A child's standard output; its exit status is checked at the end of the stream, and
/// the child is killed if the reader is dropped before.
struct ChildOutput {
    child: Child,
    stdout: ChildStdout,
    done: bool,
}

impl Read for ChildOutput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.done {
            self.done = true;
            let status = self.child.wait()?;
            if !status.success() {
                return Err(io::Error::other(format!("lzop -dc failed: {status}")));
            }
        }
        Ok(n)
    }
}

impl Drop for ChildOutput {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> OvirtError {
    let what = what.into();
    move |source| OvirtError::Io { what, source }
}

fn bad(path: &Path, problem: impl Into<String>) -> OvirtError {
    OvirtError::Failed {
        what: format!("reading {}", path.display()),
        state: problem.into(),
    }
}

/// Every backup under `root` (`/mnt/backups`), sorted by VM, uuid and name. Directories
/// that hold neither `data.xml` nor a disk image are not backups and are skipped.
pub fn list(root: &Path) -> Result<Vec<SimpleBackup>> {
    candidates(root)?
        .iter()
        .map(|dir| SimpleBackup::open(dir))
        .collect()
}

/// The directories `<root>/<VM name>/<VM uuid>/<name>/` that look like backups of this
/// layout ([`looks_like_backup`]), sorted, without reading them: a caller that lists a
/// damaged backup as damaged opens each itself.
pub fn candidates(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for vm in subdirectories(root)? {
        for uuid in subdirectories(&vm)? {
            for dir in subdirectories(&uuid)? {
                if looks_like_backup(&dir) {
                    found.push(dir);
                }
            }
        }
    }
    Ok(found)
}

/// Whether `dir` holds `data.xml` or a first disk image (`Disk1.img…`, `image.img…`).
pub fn looks_like_backup(dir: &Path) -> bool {
    dir.join(OVF_FILE).is_file()
        || ["Disk1", "image"].iter().any(|base| {
            SeedCompression::ALL
                .iter()
                .any(|c| dir.join(format!("{base}.img{}", c.suffix())).is_file())
        })
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(format!("listing {}", dir.display())))? {
        let entry = entry.map_err(io_error(format!("listing {}", dir.display())))?;
        let kind = entry
            .file_type()
            .map_err(io_error(format!("reading {}", entry.path().display())))?;
        // `.partial-*` (a backup vmbackup is writing) and other hidden entries are not
        // backups.
        if kind.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl SimpleBackup {
    /// Reads the backup in `dir` (`…/<VM name>/<VM uuid>/<label><stamp>`).
    pub fn open(dir: &Path) -> Result<SimpleBackup> {
        let name = file_name(dir);
        let uuid = dir.parent().unwrap_or(dir);
        let vm = uuid.parent().unwrap_or(uuid);
        let (label, stamp) = split_stamp(&name);
        let mut disks = Vec::new();
        let mut index = 1;
        loop {
            let base = dir.join(format!("Disk{index}"));
            let Some((image, compression)) = image_of(&base)? else {
                break;
            };
            let dat = base.with_extension("dat");
            let info = if dat.is_file() {
                Some(read_dat(&dat, index)?)
            } else {
                None
            };
            disks.push(SimpleDisk {
                index,
                info,
                image,
                compression,
            });
            index += 1;
        }
        if disks.is_empty()
            && let Some((image, compression)) = image_of(&dir.join("image"))?
        {
            disks.push(SimpleDisk {
                index: 1,
                info: None,
                image,
                compression,
            });
        }
        Ok(SimpleBackup {
            path: dir.to_path_buf(),
            vm_name: file_name(vm),
            vm_uuid: file_name(uuid),
            name,
            label,
            stamp,
            disks,
        })
    }

    /// The OVF (`data.xml`), if the backup has one.
    pub fn ovf(&self) -> Result<Option<String>> {
        let path = self.path.join(OVF_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(format!("reading {}", path.display()))(e)),
        }
    }
}

/// `BU_20190708_120001` → (`BU_`, `20190708_120001`).
fn split_stamp(name: &str) -> (String, Option<String>) {
    let bytes = name.as_bytes();
    if bytes.len() >= 15 {
        let tail = &name[name.len() - 15..];
        let shaped = tail.bytes().enumerate().all(|(i, b)| {
            if i == 8 {
                b == b'_'
            } else {
                b.is_ascii_digit()
            }
        });
        if shaped
            && jiff::civil::DateTime::strptime("%Y%m%d_%H%M%S", tail).is_ok()
            && name.is_char_boundary(name.len() - 15)
        {
            return (name[..name.len() - 15].to_owned(), Some(tail.to_owned()));
        }
    }
    (name.to_owned(), None)
}

/// The image file `<base>.img[suffix]`, if one exists; two kinds at once is an error.
fn image_of(base: &Path) -> Result<Option<(PathBuf, SeedCompression)>> {
    let mut found: Option<(PathBuf, SeedCompression)> = None;
    for compression in SeedCompression::ALL {
        let path = PathBuf::from(format!("{}.img{}", base.display(), compression.suffix()));
        if path.is_file() {
            if let Some((first, _)) = found.as_ref() {
                return Err(bad(
                    &path,
                    format!("{} is there too: which one is the disk?", file_name(first)),
                ));
            }
            found = Some((path, compression));
        }
    }
    Ok(found)
}

fn read_dat(path: &Path, index: u32) -> Result<DiskInfo> {
    let text = fs::read_to_string(path).map_err(io_error(format!("reading {}", path.display())))?;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    if lines.len() < 10 {
        return Err(bad(
            path,
            format!("{} lines, the seed writes 17", lines.len()),
        ));
    }
    if lines[0] != format!("Disk{index}") {
        return Err(bad(
            path,
            format!("its first line is `{}`, not `Disk{index}`", lines[0]),
        ));
    }
    let bootable = match lines[3] {
        "true" => true,
        "false" => false,
        other => return Err(bad(path, format!("bootable is `{other}`"))),
    };
    let size = lines[5]
        .parse()
        .map_err(|_| bad(path, format!("the size `{}` is not a number", lines[5])))?;
    Ok(DiskInfo {
        disk_id: lines[1].to_owned(),
        name: lines[2].to_owned(),
        bootable,
        interface: lines[4].to_owned(),
        size,
        device: lines[6].to_owned(),
        vm_name: lines[7].to_owned(),
        backup_name: lines[8].to_owned(),
        vm_uuid: lines[9].to_owned(),
    })
}

impl SimpleDisk {
    /// The disk's raw bytes, decompressed as they stream.
    pub fn open(&self, lzop: &dyn Lzop) -> Result<Box<dyn Read + Send>> {
        let what = format!("opening {}", self.image.display());
        let file = || {
            fs::File::open(&self.image)
                .map(BufReader::new)
                .map_err(io_error(what.clone()))
        };
        Ok(match self.compression {
            SeedCompression::None => Box::new(file()?),
            SeedCompression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file()?)),
            SeedCompression::Bzip2 | SeedCompression::Pbzip2 => {
                Box::new(bzip2::read::MultiBzDecoder::new(file()?))
            }
            SeedCompression::Lzo => lzop.decompress(&self.image).map_err(io_error(what))?,
        })
    }
}

impl SimpleDisk {
    /// Reads the whole disk and checks that it decompresses cleanly to the size its
    /// `DiskN.dat` gives (the seed keeps no digests: this is all a verify can check).
    /// Returns the size read.
    pub fn verify(&self, lzop: &dyn Lzop) -> Result<u64> {
        let mut reader = self.open(lzop)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(io_error(format!(
                        "reading {} at offset {total}",
                        self.image.display()
                    ))(e));
                }
            };
            total += n as u64;
        }
        if let Some(info) = &self.info
            && info.size != total
        {
            return Err(bad(
                &self.image,
                format!(
                    "{total} bytes, its Disk{}.dat says {}",
                    self.index, info.size
                ),
            ));
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_split_off_the_label() {
        assert_eq!(
            split_stamp("BU_20190708_120001"),
            ("BU_".into(), Some("20190708_120001".into()))
        );
        assert_eq!(
            split_stamp("20190708_120001").1.as_deref(),
            Some("20190708_120001")
        );
        assert_eq!(
            split_stamp("BU_20191308_120001"),
            ("BU_20191308_120001".into(), None)
        );
        assert_eq!(split_stamp("manual"), ("manual".into(), None));
    }
}
