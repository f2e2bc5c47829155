//! `--state DIR`: the pool's records as one JSON file (`pool.json`), written atomically
//! after every change; the disks are already files under the same directory. The state holds
//! the password and the disks: a directory the simulator creates is private (0700), and
//! `pool.json` is written 0600.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use disk_image::AtomicFile;

use crate::error::{Result, SimError};
use crate::pool::Pool;

/// The state file in a state directory.
pub(crate) fn state_file(dir: &Path) -> PathBuf {
    dir.join("pool.json")
}

/// Creates the state directory (and missing parents) private to the user, if absent.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| SimError::io(format!("creating {}", dir.display()), e))
}

/// Writes the pool's records to `path` (through a temporary file and a rename; a failed
/// write leaves neither a partial file nor the temporary one).
pub(crate) fn save(pool: &Pool, path: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(pool).map_err(|e| SimError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let file = AtomicFile::create(path)?;
    file.file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| SimError::io(format!("making {} private", path.display()), e))?;
    file.file()
        .write_all(&json)
        .map_err(|e| SimError::io(format!("saving the pool to {}", path.display()), e))?;
    Ok(file.commit()?)
}

/// Reads a pool saved by [`save`], if the file exists.
pub(crate) fn load(path: &Path) -> Result<Option<Pool>> {
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SimError::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| SimError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}
