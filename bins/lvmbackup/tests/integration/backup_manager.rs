//! lvmbackup against the real backup-manager (Debian's 0.7.14) on the same inputs: one
//! directory (the snapshot's mount point, `…/4backup/web1/root`), the same settings
//! (prefix, long and short name formats, Saturday masters, `BM_ARCHIVE_TTL`,
//! `BM_ARCHIVE_PURGEDUPS`), the same nights. backup-manager runs under `faketime` for its
//! dates (its `date` calls and its Perl purge), with GNU tar and gzip on the real clock
//! (`FAKETIME_SKIP_CMDS`) so that both sides' listed-incremental dumps see the same
//! changes. Ours is lvmbackup's own code: [`Repository::next_archive`], [`GnuTar::create`],
//! publish, then the chain-aware prune of [`Repository::plan`].
//!
//! Compared after every night: the archive names in both repositories, each archive's
//! member listing (GNU tar `-t`, an independent reader), and what each side's purge
//! removed. Every difference is asserted here and listed in lvmbackup's crate docs
//! ("Differences from backup-manager", `bins/lvmbackup/src/lib.rs`); a drift on either side
//! fails the test.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use jiff::civil::{Date, Weekday, date};
use lvmbackup::archive::{ArchiveRequest, GnuTar, Levels};
use lvmbackup::naming::{FileType, NameFormat, dir_name};
use lvmbackup::repository::{NextArchive, Repository};
use lvmbackup::schedule::MasterSchedule;

use crate::support::{Tree, run, write_tree};

const HINT: &str = "install backup-manager and faketime with scripts/install-test-deps";

/// backup-manager's configuration for `source`, repository `repo`.
fn bm_conf(dir: &Path, source: &Path, repo: &Path, format: &str, ttl: u32) -> std::path::PathBuf {
    let conf = dir.join(format!("bm-{format}.conf"));
    fs::write(
        &conf,
        format!(
            "export BM_REPOSITORY_ROOT=\"{repo}\"\nexport BM_TEMP_DIR=\"{tmp}\"\n\
             export BM_REPOSITORY_SECURE=\"false\"\nexport BM_REPOSITORY_RECURSIVEPURGE=\"true\"\n\
             export BM_ARCHIVE_TTL=\"{ttl}\"\nexport BM_ARCHIVE_FREQUENCY=\"daily\"\n\
             export BM_ARCHIVE_PURGEDUPS=\"true\"\nexport BM_ARCHIVE_STRICTPURGE=\"true\"\n\
             export BM_ARCHIVE_PREFIX=\"xen1\"\nexport BM_ARCHIVE_METHOD=\"tarball-incremental\"\n\
             export BM_TARBALL_NAMEFORMAT=\"{format}\"\nexport BM_TARBALL_FILETYPE=\"tar.gz\"\n\
             export BM_TARBALL_DUMPSYMLINKS=\"false\"\nexport BM_TARBALL_DIRECTORIES=\"{source}\"\n\
             export BM_TARBALL_BLACKLIST=\"\"\nexport BM_TARBALL_EXTRA_OPTIONS=\"\"\n\
             export BM_TARBALLINC_MASTERDATETYPE=\"weekly\"\nexport BM_TARBALLINC_MASTERDATEVALUE=\"6\"\n\
             export BM_UPLOAD_METHOD=\"none\"\nexport BM_BURNING_METHOD=\"none\"\n\
             export BM_LOGGER=\"false\"\nexport BM_PRE_BACKUP_COMMAND=\"\"\nexport BM_POST_BACKUP_COMMAND=\"\"\n",
            repo = repo.display(),
            tmp = dir.display(),
            source = source.display(),
        ),
    )
    .unwrap();
    conf
}

/// backup-manager's night on `day`.
fn bm_night(conf: &Path, day: Date) {
    let output = Command::new("faketime")
        .arg(format!("{day} 01:30:00"))
        .args(["backup-manager", "-c"])
        .arg(conf)
        .env("FAKETIME_SKIP_CMDS", "tar,gzip")
        .output()
        .unwrap_or_else(|e| panic!("faketime backup-manager could not run ({e}); {HINT}"));
    assert!(
        output.status.success(),
        "backup-manager on {day}: {}\n{}{}\n{HINT}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// lvmbackup's night on `day`: today's archive published, then the volume's prune.
fn our_night(
    repo: &Repository,
    source: &Path,
    format: NameFormat,
    ttl: u32,
    day: Date,
) -> Vec<String> {
    let dir = dir_name(source, format);
    let schedule = MasterSchedule::Weekly(Weekday::Saturday);
    let NextArchive::Make(name, _) = repo
        .next_archive(&dir, FileType::TarGz, schedule, day)
        .unwrap()
    else {
        panic!("today's archive exists already");
    };
    GnuTar::default()
        .create(&ArchiveRequest {
            repository: repo.root(),
            name: &name,
            source,
            levels: Levels {
                gzip: 6,
                zstd: 3,
                zstd_threads: 0,
            },
        })
        .unwrap()
        .publish()
        .unwrap();
    let policy = retention::Policy {
        max_age_days: std::num::NonZeroU32::new(ttl),
        ..retention::Policy::default()
    };
    let plans = repo.plan(&policy, day).unwrap();
    let removed = repo.prune(&plans, false).unwrap();
    names(
        removed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned()),
    )
}

fn names(iter: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = iter.collect();
    set.into_iter().collect()
}

/// The archives (and only them) in `repo`, by name.
fn archives(repo: &Path) -> Vec<String> {
    names(
        fs::read_dir(repo)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tar.gz")),
    )
}

/// Every file in `repo` that is not an archive.
fn others(repo: &Path) -> Vec<String> {
    names(
        fs::read_dir(repo)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.ends_with(".tar.gz")),
    )
}

/// GNU tar's member listing of an archive.
fn members(archive: &Path) -> String {
    run("tar", &["-t", "-z", "-f", &archive.to_string_lossy()], None)
}

/// Night `n`'s files: something changes every night (so no two archives are identical,
/// which `BM_ARCHIVE_PURGEDUPS` would turn into symlinks), a file goes on night 2.
fn tree(n: u8) -> Tree {
    let mut tree = Tree::new();
    tree.insert("etc/stable".into(), b"never changes\n".repeat(500));
    tree.insert("etc/changes".into(), format!("night {n}\n").into_bytes());
    tree.insert(format!("var/log/night-{n}").into(), vec![n; 3000]);
    if n < 2 {
        tree.insert("var/lib/goes-away".into(), b"bye".to_vec());
    }
    tree
}

/// Where the two sides differ, and nowhere else: names and listings agree on every night;
/// the purge differs on the last night only, where backup-manager orphans an incremental.
#[test]
fn names_listings_and_purge_decisions_match_backup_manager_but_for_the_orphaning() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("4backup/web1/root");
    fs::create_dir_all(&source).unwrap();
    let (bm_repo, our_repo) = (work.path().join("bm"), work.path().join("ours"));
    fs::create_dir_all(&bm_repo).unwrap();
    fs::create_dir_all(&our_repo).unwrap();
    let ttl = 3;
    let conf = bm_conf(work.path(), &source, &bm_repo, "long", ttl);
    let ours = Repository::new(&our_repo, "xen1");
    let stem = format!("xen1{}", dir_name(&source, NameFormat::Long));
    // Wednesday (first run: full), Thursday, Friday, Saturday (master day), Sunday
    let nights = [25, 26, 27, 28, 29].map(|d| date(2026, 11, d));
    let mut bm_before = Vec::new();
    for (n, day) in nights.iter().enumerate() {
        write_tree(&source, &tree(n as u8 + 1));
        bm_night(&conf, *day);
        let our_removed = our_night(&ours, &source, NameFormat::Long, ttl, *day);
        let bm_now = archives(&bm_repo);
        let bm_removed: Vec<String> = bm_before
            .iter()
            .filter(|a| !bm_now.contains(a))
            .cloned()
            .collect();
        let our_now = archives(&our_repo);
        let stamp = day.strftime("%Y%m%d").to_string();
        if n < 4 {
            // the same archives, names included, and both purges removed nothing
            assert_eq!(bm_now, our_now, "night {day}");
            assert!(
                bm_removed.is_empty() && our_removed.is_empty(),
                "night {day}"
            );
        } else {
            // the TTL purge on Sunday the 29th (purge date: the 26th): backup-manager drops
            // the old master (a younger one exists) and the 26th (no older master kept), and
            // keeps the 27th, an incremental of the chain it just cut; lvmbackup keeps the
            // whole chain while the 27th needs it
            assert_eq!(
                bm_removed,
                [
                    format!("{stem}.20261125.master.tar.gz"),
                    format!("{stem}.20261126.tar.gz")
                ],
                "backup-manager's purge"
            );
            assert!(our_removed.is_empty(), "lvmbackup's purge: {our_removed:?}");
            assert_eq!(
                bm_now,
                [
                    format!("{stem}.20261127.tar.gz"),
                    format!("{stem}.20261128.master.tar.gz"),
                    format!("{stem}.20261129.tar.gz"),
                ]
            );
            assert_eq!(our_now.len(), 5, "{our_now:?}");
        }
        let master = if [0, 3].contains(&n) { ".master" } else { "" };
        let today = format!("{stem}.{stamp}{master}.tar.gz");
        assert!(
            bm_now.contains(&today) && our_now.contains(&today),
            "{today}"
        );
        // the same members, in the same order, in today's archive
        assert_eq!(
            members(&bm_repo.join(&today)),
            members(&our_repo.join(&today)),
            "members of {today}"
        );
        bm_before = bm_now;
    }
    // the same state and digest files beside the archives (values differ: gzip streams
    // are not byte-identical, and each side's state records its own dump times)
    assert_eq!(others(&bm_repo), others(&our_repo));
    assert_eq!(
        others(&our_repo),
        [
            "xen1-hashes.md5".to_owned(),
            format!("{stem}.incremental.bin")
        ]
    );
    // the digest lists: lvmbackup drops the lines of what its purge removes (none here)
    let listed = |repo: &Path| -> Vec<String> {
        names(
            fs::read_to_string(repo.join("xen1-hashes.md5"))
                .unwrap()
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned)),
        )
    };
    assert_eq!(listed(&our_repo), archives(&our_repo));
    // backup-manager keeps the lines of the archives its purge removed (the 25th, 26th):
    // its list names every archive ever made, here the five lvmbackup still holds
    assert_eq!(
        listed(&bm_repo),
        archives(&our_repo),
        "backup-manager's digest list"
    );
    // file modes: backup-manager runs under umask 0077; lvmbackup's archives follow the
    // process's umask
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let umask = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
        .unwrap();
    let newest = format!("{stem}.20261129.tar.gz");
    assert_eq!(mode(&bm_repo.join(&newest)), 0o600);
    assert_eq!(mode(&our_repo.join(&newest)), 0o666 & !umask);
}

/// The short name format: `<prefix>-<last component>`.
#[test]
fn short_names_match_backup_manager() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("4backup/web2/var");
    fs::create_dir_all(&source).unwrap();
    let (bm_repo, our_repo) = (work.path().join("bm"), work.path().join("ours"));
    fs::create_dir_all(&bm_repo).unwrap();
    fs::create_dir_all(&our_repo).unwrap();
    let conf = bm_conf(work.path(), &source, &bm_repo, "short", 5);
    let ours = Repository::new(&our_repo, "xen1");
    for (n, day) in [date(2026, 11, 28), date(2026, 11, 29)].iter().enumerate() {
        write_tree(&source, &tree(n as u8 + 1));
        bm_night(&conf, *day);
        our_night(&ours, &source, NameFormat::Short, 5, *day);
    }
    let want = [
        "xen1-var.20261128.master.tar.gz",
        "xen1-var.20261129.tar.gz",
    ];
    assert_eq!(archives(&bm_repo), want);
    assert_eq!(archives(&our_repo), want);
    for archive in want {
        assert_eq!(
            members(&bm_repo.join(archive)),
            members(&our_repo.join(archive))
        );
    }
}
