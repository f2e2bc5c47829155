//! Reading small files given by the user (configurations, password files) safely: only a
//! regular file, and only up to a limit. A device (`--config /dev/vg/web` typed by mistake,
//! `/dev/urandom`), a FIFO or a huge file is refused with a message instead of being read
//! into memory without end.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// The largest configuration file read: 1 MiB (NAUbackup's configurations are a few KiB).
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// The largest password file read: 64 KiB.
pub const SECRET_LIMIT: u64 = 64 << 10;

/// Opens `path` if it is a regular file of at most `limit` bytes. The type is checked
/// before opening (opening a FIFO would wait for a writer) and again on the file opened.
pub fn open_limited(path: &Path, limit: u64) -> io::Result<File> {
    check(&fs::metadata(path)?, limit)?;
    let file = File::open(path)?;
    check(&file.metadata()?, limit)?;
    Ok(file)
}

/// Reads the whole of `file` (opened by [`open_limited`]), failing past `limit` bytes (a
/// file that grows while it is read).
pub fn read_limited(file: &mut File, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn check(metadata: &fs::Metadata, limit: u64) -> io::Result<()> {
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    Ok(())
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {} KiB allowed", limit >> 10),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        fs::write(&small, b"host=x\n").unwrap();
        let mut file = open_limited(&small, 16).unwrap();
        assert_eq!(read_limited(&mut file, 16).unwrap(), b"host=x\n");
        let big = dir.path().join("big");
        fs::write(&big, vec![b'#'; 17]).unwrap();
        let error = open_limited(&big, 16).unwrap_err();
        assert_eq!(error.to_string(), "larger than the 0 KiB allowed");
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (dir.path(), "a directory"),
        ] {
            let error = open_limited(path, CONFIG_LIMIT).unwrap_err();
            assert_eq!(error.to_string(), format!("not a regular file ({what})"));
        }
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "mkfifo (coreutils) is missing"
        );
        let error = open_limited(&fifo, CONFIG_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "not a regular file (a FIFO)");
    }
}
