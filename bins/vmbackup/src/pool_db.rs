//! NAUbackup's pool database backup: `<backup_dir>/METADATA_<host>/pool_db_<time>.dump`.

use std::io;
use std::path::PathBuf;

use disk_image::AtomicFile;
use jiff::civil::DateTime;
use xenapi::Session;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::error::{Result, VmBackupError};
use crate::names::{POOL_DB_DIR_PREFIX, dir_name};

/// Dumps the pool database from the master into the backup directory; `master_name` is the
/// master host's name, `at` the local time of the run. The file appears only when complete.
pub fn dump_pool_db(
    session: &Session,
    config: &Config,
    master_name: &str,
    at: DateTime,
    cancel: &Cancel,
) -> Result<PathBuf> {
    let dir = config
        .backup_dir
        .join(format!("{POOL_DB_DIR_PREFIX}{}", dir_name(master_name)));
    std::fs::create_dir_all(&dir)
        .map_err(|e| VmBackupError::io(format!("creating `{}`", dir.display()), e))?;
    let path = dir.join(format!("pool_db_{}.dump", at.strftime("%Y%m%d-%H%M%S")));
    let fail = |e| VmBackupError::xapi("dumping the pool database", e);
    let mut download = session.pool_db_dump().map_err(fail)?;
    let file = AtomicFile::create(&path)
        .map_err(|e| VmBackupError::image(format!("creating `{}`", path.display()), e))?;
    cancel.check()?;
    io::copy(&mut download, &mut file.file())
        .map_err(|e| VmBackupError::io(format!("writing `{}`", path.display()), e))?;
    download.finish().map_err(fail)?;
    file.commit()
        .map_err(|e| VmBackupError::image(format!("finishing `{}`", path.display()), e))?;
    Ok(path)
}
