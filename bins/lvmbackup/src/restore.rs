//! Restoring a volume's chain up to a date into a directory, and checking archives: both by
//! GNU tar reading the decompressed archive on its standard input.
//!
//! A restore extracts the newest master dated on or before the date, then each incremental
//! after it up to the date, in order, with `--listed-incremental=/dev/null` (GNU tar then
//! also deletes what an incremental records as gone) and `--strip-components` so that the
//! volume's root lands in the target directory.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Serialize;

use crate::archive::{GnuTar, md5_of, open_archive};
use crate::error::{LvmBackupError, Result};
use crate::hashes::Hashes;
use crate::repository::{ArchiveFile, Repository};

/// The archives a restore of `archives` (one volume's, oldest first) up to `until` applies:
/// the newest master on or before it and the incrementals after it (raw images are no
/// part of a chain). Empty if there is none.
pub fn chain_until(archives: &[ArchiveFile], until: Date) -> Vec<&ArchiveFile> {
    let upto: Vec<&ArchiveFile> = archives
        .iter()
        .filter(|a| a.name.date <= until && !a.name.filetype.is_image())
        .collect();
    match upto.iter().rposition(|a| a.name.master) {
        Some(master) => upto[master..].to_vec(),
        None => Vec::new(),
    }
}

/// The newest raw image of `archives` on or before `until`.
pub fn image_until(archives: &[ArchiveFile], until: Date) -> Option<&ArchiveFile> {
    archives
        .iter()
        .rfind(|a| a.name.date <= until && a.name.filetype.is_image())
}

/// Extracts `chain` into `target`, dropping the first `strip` components of member names.
pub fn extract_chain(
    tar: &GnuTar,
    chain: &[&ArchiveFile],
    target: &Path,
    strip: usize,
) -> Result<()> {
    for archive in chain {
        let mut input = open_archive(&archive.path, archive.name.filetype)?;
        let mut directory = OsString::from("--directory=");
        directory.push(target);
        let args: Vec<OsString> = vec![
            "--extract".into(),
            "--file=-".into(),
            "--listed-incremental=/dev/null".into(),
            "--preserve-permissions".into(),
            "--numeric-owner".into(),
            format!("--strip-components={strip}").into(),
            directory,
        ];
        tar.run_writing(&args, Some(&mut *input), &mut io::sink())?;
        tracing::info!(archive = %archive.name, target = %target.display(), "extracted");
    }
    Ok(())
}

/// What verifying one archive found.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The archive.
    pub path: PathBuf,
    /// Its md5 matches `<prefix>-hashes.md5` (`None`: it has no line there).
    pub digest_ok: Option<bool>,
    /// GNU tar read it to the end (decompressed, every header and member).
    pub structure_ok: bool,
    /// What failed, if anything.
    pub problem: Option<String>,
}

impl Checked {
    /// Whether nothing is wrong (an archive without a digest line is not wrong, only unproven).
    pub fn ok(&self) -> bool {
        self.structure_ok && self.digest_ok != Some(false)
    }
}

/// Re-reads every archive of `repository`: its md5 against the digest list, and the whole
/// archive through GNU tar (`--list --incremental`), which fails on a truncated or damaged
/// archive or compressed stream. A raw image: its digest and decompressed size against its
/// record ([`crate::image::verify_image`]).
pub fn verify(tar: &GnuTar, repository: &Repository) -> Result<Vec<Checked>> {
    let hashes = Hashes::read(&repository.hashes_path())?;
    let mut checked = Vec::new();
    for archive in repository.scan()?.values().flatten() {
        let name = archive.name.file_name();
        if archive.name.filetype.is_image() {
            let problems = crate::image::verify_image(&archive.path, archive.name.filetype)?;
            checked.push(Checked {
                path: archive.path.clone(),
                digest_ok: Some(problems.is_empty()),
                structure_ok: problems.is_empty(),
                problem: (!problems.is_empty()).then(|| problems.join("; ")),
            });
            continue;
        }
        let mut problems = Vec::new();
        let digest_ok = match hashes.get(&name) {
            Some(want) => {
                let got = md5_of(&archive.path)?;
                if got != want {
                    problems.push(format!("md5 {got}, the digest list says {want}"));
                }
                Some(got == want)
            }
            None => None,
        };
        let structure = open_archive(&archive.path, archive.name.filetype).and_then(|mut input| {
            let args: Vec<OsString> =
                vec!["--list".into(), "--incremental".into(), "--file=-".into()];
            tar.run_writing(&args, Some(&mut *input), &mut io::sink())
        });
        if let Err(error) = &structure {
            problems.push(error.to_string());
        }
        checked.push(Checked {
            path: archive.path.clone(),
            digest_ok,
            structure_ok: structure.is_ok(),
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
        });
    }
    Ok(checked)
}

/// The error for a restore that finds no chain.
pub fn no_chain(dir: &str, until: Date) -> LvmBackupError {
    LvmBackupError::Verify {
        path: PathBuf::from(dir),
        problem: format!("no master archive on or before {until}: nothing to restore"),
    }
}
