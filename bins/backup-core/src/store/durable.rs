//! Making what the store writes durable, with one policy: every file is synced before the
//! name that publishes it, every directory after an entry in it is created or renamed, and
//! a failed sync is an error (never ignored: a backup that may not survive a power cut is
//! not called complete).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use super::error::{Result, StoreError};
use super::partial::FileMode;

/// Flushes a directory's entries (a file created or renamed in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("syncing", dir, e))
}

/// Syncs every file below `dir`, then the directories themselves. Symbolic links are not
/// followed.
pub fn sync_tree(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("inspecting", &path, e))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::io("syncing", &path, e))?;
        }
    }
    sync_dir(dir)
}

/// Creates the file `path` (which must not exist) with `mode`, writes `contents` and syncs
/// it. The caller syncs the directory.
pub fn write_synced(path: &Path, mode: FileMode, contents: &[u8]) -> Result<()> {
    let write = || -> std::io::Result<()> {
        let mut file = mode.create_new(path)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    write().map_err(|e| StoreError::io("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_sync_and_synced_files_are_new_only() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("a/b")).unwrap();
        fs::write(root.path().join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/nonexistent", root.path().join("a/link")).unwrap();
        sync_tree(root.path()).unwrap();
        let file = root.path().join("a/g");
        write_synced(&file, FileMode::default(), b"y").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"y");
        let again = write_synced(&file, FileMode::default(), b"z").unwrap_err();
        assert!(again.to_string().starts_with("writing `"), "{again}");
        assert!(sync_dir(&root.path().join("missing")).is_err());
    }
}
