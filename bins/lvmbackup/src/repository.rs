//! The repository (`BM_REPOSITORY_ROOT`): the archives of one prefix, per volume, as chains,
//! and their chain-aware retention.
//!
//! A volume's archives in date order form chains: a `.master` starts one, each incremental
//! depends on the archive before it (GNU tar's listed-incremental archives record changes
//! since the previous run, so restoring one needs every archive back to its master). For
//! the `retention` crate each incremental's parent is that previous archive, so a kept
//! incremental keeps everything back to its master: the TTL purge never orphans an
//! incremental, and the newest complete chain is never removed (retention always keeps the
//! newest backup, and with it its chain). An incremental with no archive before it (its
//! master was deleted by backup-manager's purge or by hand) cannot be restored; it is shown
//! with a missing parent and ages out like any other.
//!
//! Ages: an archive dated D counts as D at 00:00 and the plan's "now" is tomorrow at 00:00,
//! so `max_age_days = TTL` removes exactly the archives backup-manager's purge considers
//! (`D <= today - TTL`), calendar days and no time-zone arithmetic. Where backup-manager
//! differs: it purges a master as soon as a younger master exists and keeps incrementals
//! only while an older master was kept, so it deletes masters that kept incrementals need
//! (observed: it kept Wednesday-Friday of a chain whose Saturday master it purged).
//!
//! A raw image ([`crate::image`]) is whole: no parent, and no incremental's parent (an
//! incremental after it continues the tar chain before it); retention keeps or removes it on
//! its own, with its record `<image>.json`.
//!
//! Only files whose names parse as this prefix's archives are considered: state files,
//! `-hashes.md5`, partial files, other prefixes' archives and strays are never touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use retention::{Backup, BackupState, BackupTime, Plan, Policy};
use serde::Serialize;

use crate::error::{LvmBackupError, Result};
use crate::hashes::Hashes;
use crate::naming::{ArchiveName, FileType, hashes_file_name, state_file_name};
use crate::schedule::{ArchiveKind, MasterSchedule};

/// One archive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveFile {
    /// Its name, parsed.
    pub name: ArchiveName,
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// The archives of one prefix in a directory.
#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
    prefix: String,
}

/// What to do for a volume today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextArchive {
    /// Make this archive.
    Make(ArchiveName, ArchiveKind),
    /// Today's archive exists already (backup-manager skips it too).
    AlreadyExists(PathBuf),
}

/// One volume's prune plan.
#[derive(Debug, Clone, Serialize)]
pub struct VolumePlan {
    /// The volume's `<dir>` name part.
    pub dir: String,
    /// Every archive kept or removed, with reasons, newest first.
    pub plan: Plan,
}

impl Repository {
    /// The archives of `prefix` in `root`.
    pub fn new(root: &Path, prefix: &str) -> Self {
        Repository {
            root: root.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The digest list's path.
    pub fn hashes_path(&self) -> PathBuf {
        self.root.join(hashes_file_name(&self.prefix))
    }

    /// Every archive of the prefix, per volume (`<dir>`), oldest first (a master before an
    /// incremental of the same day).
    pub fn scan(&self) -> Result<BTreeMap<String, Vec<ArchiveFile>>> {
        let mut volumes: BTreeMap<String, Vec<ArchiveFile>> = BTreeMap::new();
        let entries = fs::read_dir(&self.root).map_err(LvmBackupError::io(format!(
            "listing {}",
            self.root.display()
        )))?;
        for entry in entries {
            let entry = entry.map_err(LvmBackupError::io(format!(
                "listing {}",
                self.root.display()
            )))?;
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Some(name) = ArchiveName::parse(&self.prefix, &file_name) else {
                continue;
            };
            let metadata = entry.metadata().map_err(LvmBackupError::io(format!(
                "reading {}",
                entry.path().display()
            )))?;
            if !metadata.is_file() {
                continue;
            }
            volumes
                .entry(name.dir.clone())
                .or_default()
                .push(ArchiveFile {
                    path: entry.path(),
                    bytes: metadata.len(),
                    name,
                });
        }
        for archives in volumes.values_mut() {
            archives.sort_by_key(|a| (a.name.date, !a.name.master));
        }
        Ok(volumes)
    }

    /// Today's archive for the volume `dir`: full or incremental by `schedule`, the state
    /// file and the chain in the repository (see [`crate::schedule`]); an image if
    /// `filetype` is one.
    pub fn next_archive(
        &self,
        dir: &str,
        filetype: FileType,
        schedule: MasterSchedule,
        today: Date,
    ) -> Result<NextArchive> {
        let volumes = self.scan()?;
        let archives = volumes.get(dir).map_or(&[][..], Vec::as_slice);
        if let Some(existing) = archives.iter().find(|a| a.name.date == today) {
            return Ok(NextArchive::AlreadyExists(existing.path.clone()));
        }
        if filetype.is_image() {
            return Ok(NextArchive::Make(
                ArchiveName {
                    prefix: self.prefix.clone(),
                    dir: dir.to_owned(),
                    date: today,
                    master: false,
                    filetype,
                },
                ArchiveKind::Image,
            ));
        }
        let state = self.root.join(state_file_name(&self.prefix, dir));
        let state_exists = state
            .try_exists()
            .map_err(LvmBackupError::io(format!("checking {}", state.display())))?;
        let chain_present = archives.iter().any(|a| a.name.master);
        let kind = schedule.decide(today, state_exists, chain_present);
        Ok(NextArchive::Make(
            ArchiveName {
                prefix: self.prefix.clone(),
                dir: dir.to_owned(),
                date: today,
                master: kind.is_master(),
                filetype,
            },
            kind,
        ))
    }

    /// The prune plan of every volume, on `today` (the local date).
    pub fn plan(&self, policy: &Policy, today: Date) -> Result<Vec<VolumePlan>> {
        Ok(self
            .scan()?
            .into_iter()
            .map(|(dir, archives)| VolumePlan {
                plan: retention::plan(&retention_input(&archives), policy, plan_now(today)),
                dir,
            })
            .collect())
    }

    /// Removes what `plans` remove (nothing on a dry run) and drops their digest lines;
    /// returns the removed files.
    pub fn prune(&self, plans: &[VolumePlan], dry_run: bool) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for plan in plans {
            for decision in plan.plan.removed() {
                let path = self.root.join(&decision.id);
                if !dry_run {
                    fs::remove_file(&path)
                        .map_err(LvmBackupError::io(format!("removing {}", path.display())))?;
                    tracing::info!(archive = %decision.id, reasons = ?decision.reasons, "removed");
                }
                if !dry_run
                    && ArchiveName::parse(&self.prefix, &decision.id)
                        .is_some_and(|n| n.filetype.is_image())
                {
                    let record = crate::image::record_path(&path);
                    match fs::remove_file(&record) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(LvmBackupError::Io {
                                action: format!("removing {}", record.display()),
                                source: e,
                            });
                        }
                    }
                }
                removed.push(path);
            }
        }
        if !dry_run && !removed.is_empty() {
            let mut hashes = Hashes::read(&self.hashes_path())?;
            for path in &removed {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    hashes.remove(name);
                }
            }
            hashes.save()?;
        }
        Ok(removed)
    }
}

/// The retention crate's view of one volume's archives (oldest first): the archive's day at
/// 00:00 (UTC stands for the local calendar), each incremental the child of the tar archive
/// before it, images on their own.
pub fn retention_input(archives: &[ArchiveFile]) -> Vec<Backup> {
    let mut previous: Option<String> = None;
    archives
        .iter()
        .map(|archive| {
            let id = archive.name.file_name();
            let mut backup = Backup::new(
                id.clone(),
                day_start(archive.name.date),
                BackupState::Complete,
            );
            if archive.name.filetype.is_image() {
                return backup;
            }
            if !archive.name.master {
                backup = backup.with_parent(
                    previous
                        .clone()
                        .unwrap_or_else(|| format!("the master before {id}")),
                );
            }
            previous = Some(id);
            backup
        })
        .collect()
}

fn day_start(date: Date) -> BackupTime {
    BackupTime::utc(
        date.to_zoned(TimeZone::UTC)
            .expect("a calendar date has a midnight in UTC")
            .timestamp(),
    )
}

/// The plan's "now": tomorrow at 00:00, so that a TTL of N days removes the archives dated
/// `today - N` and earlier, as backup-manager does.
fn plan_now(today: Date) -> Timestamp {
    day_start(today.tomorrow().expect("not the last day of time")).timestamp()
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use jiff::civil::date;

    use super::*;
    use crate::naming::FileType;

    /// The repository research/lvm-retention.md §1.4 ran backup-manager's purge on: 20 days
    /// of daily archives, Saturday masters, TTL 5, today Sunday 2026-11-22.
    fn twenty_nights(dir: &Path) {
        for day in 3..=22 {
            let d = date(2026, 11, day);
            let name = ArchiveName {
                prefix: "xenhost".into(),
                dir: "-4backup-web1-root".into(),
                date: d,
                master: d.weekday() == jiff::civil::Weekday::Saturday || day == 3,
                filetype: FileType::TarGz,
            };
            fs::write(dir.join(name.file_name()), format!("archive {day}")).unwrap();
        }
        for stray in [
            "xenhost-4backup-web1-root.incremental.bin",
            "xenhost-hashes.md5",
            "otherhost-etc.20261107.tar.gz",
            "xenhost-4backup-web1-root.20261101.tar.gz.partial",
            "notes.txt",
        ] {
            fs::write(dir.join(stray), "not ours to prune").unwrap();
        }
    }

    fn ttl(days: u32) -> Policy {
        Policy {
            max_age_days: NonZeroU32::new(days),
            ..Policy::default()
        }
    }

    #[test]
    fn the_ttl_purge_removes_whole_chains_and_orphans_nothing() {
        let dir = tempfile::tempdir().unwrap();
        twenty_nights(dir.path());
        let repo = Repository::new(dir.path(), "xenhost");
        let plans = repo.plan(&ttl(5), date(2026, 11, 22)).unwrap();
        assert_eq!(plans.len(), 1);
        let kept: Vec<&str> = plans[0].plan.kept().map(|d| d.id.as_str()).collect();
        // backup-manager keeps 18-20 and purges their master (the 14th) and 15-17; the
        // chain of the 14th is kept whole here, because 18-20 need it
        assert_eq!(
            kept,
            [
                "xenhost-4backup-web1-root.20261122.tar.gz",
                "xenhost-4backup-web1-root.20261121.master.tar.gz",
                "xenhost-4backup-web1-root.20261120.tar.gz",
                "xenhost-4backup-web1-root.20261119.tar.gz",
                "xenhost-4backup-web1-root.20261118.tar.gz",
                "xenhost-4backup-web1-root.20261117.tar.gz",
                "xenhost-4backup-web1-root.20261116.tar.gz",
                "xenhost-4backup-web1-root.20261115.tar.gz",
                "xenhost-4backup-web1-root.20261114.master.tar.gz",
            ]
        );
        let master = plans[0]
            .plan
            .decision("xenhost-4backup-web1-root.20261114.master.tar.gz")
            .unwrap();
        assert_eq!(
            master.reasons,
            [
                "older than max age 5 days",
                "parent of xenhost-4backup-web1-root.20261115.tar.gz"
            ]
        );
        let removed = repo.prune(&plans, false).unwrap();
        assert_eq!(removed.len(), 11);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        for stray in [
            "notes.txt",
            "otherhost-etc.20261107.tar.gz",
            "xenhost-4backup-web1-root.20261101.tar.gz.partial",
            "xenhost-4backup-web1-root.incremental.bin",
            "xenhost-hashes.md5",
        ] {
            assert!(left.iter().any(|l| l == stray), "{stray} was touched");
        }
        assert_eq!(left.len(), 9 + 5);
    }

    #[test]
    fn a_dry_run_removes_nothing_and_the_ttl_boundary_is_backup_managers() {
        let dir = tempfile::tempdir().unwrap();
        twenty_nights(dir.path());
        let repo = Repository::new(dir.path(), "xenhost");
        // a TTL of 1 on the 22nd: backup-manager purges dates <= 21st; the 21st is the
        // master of the newest chain, kept as the parent of the 22nd
        let plans = repo.plan(&ttl(1), date(2026, 11, 22)).unwrap();
        let decision = |id: &str| plans[0].plan.decision(id).unwrap().clone();
        let master = decision("xenhost-4backup-web1-root.20261121.master.tar.gz");
        assert!(master.keep);
        assert_eq!(master.reasons[0], "older than max age 1 day");
        assert!(!decision("xenhost-4backup-web1-root.20261120.tar.gz").keep);
        let removed = repo.prune(&plans, true).unwrap();
        assert_eq!(removed.len(), 18);
        assert!(removed.iter().all(|p| p.exists()));
    }

    #[test]
    fn an_incremental_without_master_is_noted_and_a_new_chain_is_needed() {
        use crate::schedule::MasterReason;
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x-a.20261120.tar.gz"), "").unwrap();
        fs::write(dir.path().join("x-a.incremental.bin"), "").unwrap();
        let repo = Repository::new(dir.path(), "x");
        let saturday = MasterSchedule::Weekly(jiff::civil::Weekday::Saturday);
        let next = |dir: &str, day: i8| {
            repo.next_archive(dir, FileType::TarGz, saturday, date(2026, 11, day))
                .unwrap()
        };
        let kind = |next: NextArchive| match next {
            NextArchive::Make(_, kind) => kind,
            NextArchive::AlreadyExists(path) => panic!("{} exists", path.display()),
        };
        assert_eq!(
            kind(next("-a", 23)),
            ArchiveKind::Master(MasterReason::ChainMissing)
        );
        let input = retention_input(&repo.scan().unwrap()["-a"]);
        assert_eq!(
            input[0].parent.as_deref(),
            Some("the master before x-a.20261120.tar.gz")
        );
        fs::write(dir.path().join("x-a.20261119.master.tar.gz"), "").unwrap();
        assert_eq!(kind(next("-a", 23)), ArchiveKind::Incremental);
        assert_eq!(
            kind(next("-a", 21)),
            ArchiveKind::Master(MasterReason::MasterDay)
        );
        assert_eq!(
            kind(next("-b", 23)),
            ArchiveKind::Master(MasterReason::NoState)
        );
        assert_eq!(
            next("-a", 20),
            NextArchive::AlreadyExists(dir.path().join("x-a.20261120.tar.gz"))
        );
    }

    #[test]
    fn images_are_whole_backups_removed_with_their_records() {
        let dir = tempfile::tempdir().unwrap();
        for day in 18..=22 {
            let name = format!("x-win-c.202611{day}.img.zst");
            fs::write(dir.path().join(&name), "image").unwrap();
            fs::write(dir.path().join(format!("{name}.json")), "{}").unwrap();
        }
        // a tar chain with an image in its middle: the incremental's parent is the master
        fs::write(dir.path().join("x-web.20261120.master.tar.gz"), "").unwrap();
        fs::write(dir.path().join("x-web.20261121.img"), "").unwrap();
        fs::write(dir.path().join("x-web.20261122.tar.gz"), "").unwrap();
        let repo = Repository::new(dir.path(), "x");
        let volumes = repo.scan().unwrap();
        let web = retention_input(&volumes["-web"]);
        assert_eq!(web[1].parent, None);
        assert_eq!(
            web[2].parent.as_deref(),
            Some("x-web.20261120.master.tar.gz")
        );
        let plans = repo.plan(&ttl(2), date(2026, 11, 22)).unwrap();
        let removed = repo.prune(&plans, false).unwrap();
        let mut names: Vec<String> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // the images of the 18th-20th are past the TTL, each on its own; the web chain is
        // kept whole for its incremental, its image of the 21st is young enough
        assert_eq!(
            names,
            [
                "x-win-c.20261118.img.zst",
                "x-win-c.20261119.img.zst",
                "x-win-c.20261120.img.zst"
            ]
        );
        for day in 18..=20 {
            assert!(
                !dir.path()
                    .join(format!("x-win-c.202611{day}.img.zst.json"))
                    .exists()
            );
        }
        assert!(dir.path().join("x-win-c.20261121.img.zst.json").exists());
        let next = repo
            .next_archive(
                "-win-c",
                FileType::ImgZst,
                MasterSchedule::Weekly(jiff::civil::Weekday::Saturday),
                date(2026, 11, 23),
            )
            .unwrap();
        let NextArchive::Make(name, kind) = next else {
            panic!("{next:?}")
        };
        assert_eq!(kind, ArchiveKind::Image);
        assert_eq!(name.file_name(), "x-win-c.20261123.img.zst");
    }
}
