//! SIGINT, SIGTERM and SIGHUP remove the partial output file before the process ends.
//!
//! An output file is written under a hidden temporary name and renamed into place when
//! complete ([`AtomicFile`]); its `Drop` removes it on every error path, but a signal ends
//! the process without running destructors. So every temporary file is registered here, and
//! a thread waiting for those signals removes the registered files, then ends the process as
//! the signal's default action would (the parent sees "killed by SIGTERM", as before).
//!
//! The registry's lock is held while a file is renamed into place, so a signal arriving then
//! waits until the rename is done: the output is either complete under its name or gone.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result};
use disk_image::AtomicFile;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The temporary files being written, removed when a signal arrives.
static PARTIALS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn partials() -> MutexGuard<'static, Vec<PathBuf>> {
    PARTIALS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the thread that cleans up after SIGINT, SIGTERM and SIGHUP.
pub fn install() -> Result<()> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing the signal handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let files = partials();
                for file in files.iter() {
                    // Nothing can be reported any more: the process ends right after.
                    let _ = std::fs::remove_file(file);
                }
                // Ends the process (the lock stays held, so no rename can follow).
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::abort();
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// An [`AtomicFile`] whose temporary file is also removed when a signal ends the process.
pub struct PartialFile {
    /// `None` once committed.
    file: Option<AtomicFile>,
    temp: PathBuf,
}

impl PartialFile {
    /// Starts writing the file that will become `target`.
    pub fn create(target: &Path) -> Result<Self> {
        let mut registered = partials();
        let file = AtomicFile::create(target)?;
        let temp = file.temp_path().to_path_buf();
        registered.push(temp.clone());
        Ok(PartialFile {
            file: Some(file),
            temp,
        })
    }

    fn atomic(&self) -> &AtomicFile {
        self.file
            .as_ref()
            .expect("a PartialFile holds its file until commit")
    }

    /// The open temporary file.
    pub fn file(&self) -> &std::fs::File {
        self.atomic().file()
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        self.atomic().target()
    }

    /// Syncs the file and renames it into place (no signal can remove it meanwhile).
    pub fn commit(mut self) -> Result<()> {
        let mut registered = partials();
        let file = self
            .file
            .take()
            .expect("a PartialFile holds its file until commit");
        let result = file.commit();
        registered.retain(|path| *path != self.temp);
        Ok(result?)
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        // The AtomicFile removes its temporary file first, then it leaves the registry.
        drop(self.file.take());
        partials().retain(|path| *path != self.temp);
    }
}
