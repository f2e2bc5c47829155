//! NAUbackup's pool database backup: `<backup_dir>/METADATA_<host>/pool_db_<time>.dump`.
//!
//! The dump is XML (`<database>` … `</database>`). It is published only when the host's
//! task succeeded *and* the file is a whole XML document with that root: `/pool/xmldbdump`
//! sends no `Content-Length`, so a body cut short while the task says success is told only
//! by the XML ending early.

use std::fs::File;
use std::io::{self, BufReader, Seek};
use std::path::{Path, PathBuf};

use disk_image::AtomicFile;
use jiff::civil::DateTime;
use quick_xml::Reader;
use quick_xml::events::Event;
use xenapi::Session;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::error::{Result, VmBackupError};
use backup_core::store::{POOL_DB_DIR_PREFIX, dir_name};

/// The root element of XAPI's database dump.
const ROOT: &str = "database";

/// Dumps the pool database from the master into the backup directory; `master_name` is the
/// master host's name, `at` the local time of the run. The file appears only when complete
/// and checked.
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
    config
        .file_mode
        .create_dirs(&dir)
        .map_err(|e| VmBackupError::io(format!("creating `{}`", dir.display()), e))?;
    let path = dir.join(format!("pool_db_{}.dump", at.strftime("%Y%m%d-%H%M%S")));
    let fail = |e| VmBackupError::xapi("dumping the pool database", e);
    let mut download = session.pool_db_dump().map_err(fail)?;
    let file = AtomicFile::create(&path)
        .map_err(|e| VmBackupError::image(format!("creating `{}`", path.display()), e))?;
    config
        .file_mode
        .apply_to_file(file.file())
        .map_err(|e| VmBackupError::io(format!("creating `{}`", path.display()), e))?;
    cancel.check()?;
    io::copy(&mut download, &mut file.file())
        .map_err(|e| VmBackupError::io(format!("writing `{}`", path.display()), e))?;
    download.finish().map_err(fail)?;
    let mut written = file.file();
    written
        .rewind()
        .map_err(|e| VmBackupError::io(format!("reading `{}`", path.display()), e))?;
    check_dump(written, &path)?;
    file.commit()
        .map_err(|e| VmBackupError::image(format!("finishing `{}`", path.display()), e))?;
    Ok(path)
}

/// Checks that `dump` is one whole XML document whose root is `<database>`.
fn check_dump(dump: &File, path: &Path) -> Result<()> {
    let problem = |what: String| {
        VmBackupError::Backup(format!(
            "the pool database dump `{}` is not whole: {what}",
            path.display()
        ))
    };
    let mut reader = Reader::from_reader(BufReader::new(dump));
    let mut buffer = Vec::new();
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| problem(format!("{e} at byte {position}")))?;
        match event {
            Event::Start(element) => {
                if depth == 0 {
                    roots += 1;
                    if <_ as AsRef<str>>::as_ref(&element.name()) != ROOT || roots > 1 {
                        return Err(problem(format!("an unexpected element at byte {position}")));
                    }
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Empty(_) if depth == 0 => {
                return Err(problem(format!("an empty root element at byte {position}")));
            }
            Event::Text(text) if depth == 0 && !text.xml10_content().trim().is_empty() => {
                return Err(problem(format!("text outside the root at byte {position}")));
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    match (roots, depth) {
        (1, 0) => Ok(()),
        (0, _) => Err(problem("no <database> element".to_owned())),
        (_, open) => Err(problem(format!(
            "it ends with {open} element(s) still open (cut short?)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn checked(text: &str) -> Result<()> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file.rewind().unwrap();
        check_dump(&file, Path::new("t.dump"))
    }

    #[test]
    fn only_whole_dumps_pass() {
        let whole = "<?xml version=\"1.0\"?>\n<database><manifest/><table name=\"VM\">\
                     <row ref=\"OpaqueRef:1\" name__label=\"a\"/></table></database>\n";
        checked(whole).unwrap();
        for cut in [10, 30, 60, whole.len() - 12] {
            assert!(checked(&whole[..cut]).is_err(), "cut at {cut}");
        }
        assert!(checked("").is_err());
        assert!(checked("<other/>").is_err());
        assert!(checked("<database></database><database></database>").is_err());
    }
}
