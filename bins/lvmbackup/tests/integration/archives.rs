//! Three nights of one volume, archived as lvmbackup does, restored by GNU tar on its own
//! (its own decompression, its own incremental extraction) and compared with the files of
//! each night; failures leave no partial file and the chain's state untouched.

use std::fs;
use std::path::Path;

use jiff::civil::{Date, Weekday, date};
use lvmbackup::archive::{ArchiveRequest, GnuTar, Levels, Published};
use lvmbackup::hashes::Hashes;
use lvmbackup::naming::{FileType, NameFormat, dir_name};
use lvmbackup::repository::{NextArchive, Repository};
use lvmbackup::restore::{chain_until, extract_chain, verify};
use lvmbackup::schedule::{ArchiveKind, MasterSchedule};

use crate::support::{Tree, night, read_tree, run, write_tree};

const LEVELS: Levels = Levels {
    gzip: 6,
    zstd: 3,
    zstd_threads: 0,
};

/// One night: today's archive of `source` in `repository`, published.
fn archive_night(repo: &Repository, source: &Path, filetype: FileType, today: Date) -> Published {
    let schedule = MasterSchedule::Weekly(Weekday::Saturday);
    let dir = dir_name(source, NameFormat::Long);
    let NextArchive::Make(name, _) = repo.next_archive(&dir, filetype, schedule, today).unwrap()
    else {
        panic!("today's archive exists already");
    };
    let pending = GnuTar::default()
        .create(&ArchiveRequest {
            repository: repo.root(),
            name: &name,
            source,
            levels: LEVELS,
        })
        .unwrap();
    pending.publish().unwrap()
}

fn nights_restore_with_gnu_tar(filetype: FileType, tar_flag: &str) {
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path().join("repo");
    fs::create_dir(&repo_dir).unwrap();
    // the snapshot's mount point, like MNTSOURCEDIR/<domU>/<part>
    let source = work.path().join("4backup/web1/root");
    fs::create_dir_all(&source).unwrap();
    let repo = Repository::new(&repo_dir, "xen1");
    let mut published = Vec::new();
    let mut trees: Vec<Tree> = Vec::new();
    // Thursday (first run: a master, no state), Friday, Saturday (master day), Sunday
    for (n, day) in [(1u8, 19i8), (2, 20), (3, 21), (4, 22)] {
        let tree = night(n);
        write_tree(&source, &tree);
        trees.push(tree);
        published.push(archive_night(&repo, &source, filetype, date(2026, 11, day)));
    }
    let names: Vec<String> = published.iter().map(|p| p.name.file_name()).collect();
    let dir = dir_name(&source, NameFormat::Long);
    let ext = filetype.extension();
    assert_eq!(
        names,
        [
            format!("xen1{dir}.20261119.master.{ext}"),
            format!("xen1{dir}.20261120.{ext}"),
            format!("xen1{dir}.20261121.master.{ext}"),
            format!("xen1{dir}.20261122.{ext}"),
        ]
    );
    // an incremental holds the changed file, not the unchanged large one
    let listing = run(
        "tar",
        &[tar_flag, "-t", "-f", published[1].path.to_str().unwrap()],
        None,
    );
    assert!(listing.contains("etc/changes"), "{listing}");
    assert!(!listing.contains("etc/stable"), "{listing}");
    // every night restores: GNU tar on its own, chain from the master
    let strip = source.components().count() - 1;
    for (upto, tree) in [(2usize, &trees[1]), (1, &trees[0]), (4, &trees[3])] {
        let target = work.path().join(format!("restore-{upto}"));
        fs::create_dir(&target).unwrap();
        let first = if upto > 2 { 2 } else { 0 };
        for p in &published[first..upto] {
            run(
                "tar",
                &[
                    "-x",
                    tar_flag,
                    "--listed-incremental=/dev/null",
                    &format!("--strip-components={strip}"),
                    "-f",
                    p.path.to_str().unwrap(),
                    "-C",
                    target.to_str().unwrap(),
                ],
                None,
            );
        }
        assert_eq!(&read_tree(&target), tree, "restore up to night {upto}");
    }
    // and through lvmbackup's own restore path
    let archives = repo.scan().unwrap().remove(&dir).unwrap();
    let chain = chain_until(&archives, date(2026, 11, 20));
    assert_eq!(chain.len(), 2);
    let target = work.path().join("restore-lvmbackup");
    fs::create_dir(&target).unwrap();
    extract_chain(&GnuTar::default(), &chain, &target, strip).unwrap();
    assert_eq!(read_tree(&target), trees[1]);
    // md5sum agrees with the digest list
    let check = run("md5sum", &["-c", "xen1-hashes.md5"], Some(&repo_dir));
    assert_eq!(check.matches(": OK").count(), 4, "{check}");
    assert!(
        verify(&GnuTar::default(), &repo)
            .unwrap()
            .iter()
            .all(lvmbackup::restore::Checked::ok)
    );
}

#[test]
fn a_week_of_gzip_archives_restores_with_gnu_tar() {
    nights_restore_with_gnu_tar(FileType::TarGz, "-z");
}

#[test]
fn a_week_of_zstd_archives_restores_with_gnu_tar() {
    nights_restore_with_gnu_tar(FileType::TarZst, "--zstd");
}

#[test]
fn an_unpublished_or_failed_archive_leaves_nothing_and_the_state_unchanged() {
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path().join("repo");
    fs::create_dir(&repo_dir).unwrap();
    let source = work.path().join("4backup/web1/root");
    fs::create_dir_all(&source).unwrap();
    write_tree(&source, &night(1));
    let repo = Repository::new(&repo_dir, "xen1");
    archive_night(&repo, &source, FileType::TarGz, date(2026, 11, 19));
    let before = read_tree(&repo_dir);

    // written, then dropped unpublished (an overflowed snapshot): gone, state as it was
    write_tree(&source, &night(2));
    let dir = dir_name(&source, NameFormat::Long);
    let schedule = MasterSchedule::Weekly(Weekday::Saturday);
    let NextArchive::Make(name, kind) = repo
        .next_archive(&dir, FileType::TarGz, schedule, date(2026, 11, 20))
        .unwrap()
    else {
        panic!("exists");
    };
    assert_eq!(kind, ArchiveKind::Incremental);
    let request = ArchiveRequest {
        repository: &repo_dir,
        name: &name,
        source: &source,
        levels: LEVELS,
    };
    let pending = GnuTar::default().create(&request).unwrap();
    assert!(pending.bytes() > 0);
    drop(pending);
    assert_eq!(read_tree(&repo_dir), before);

    // tar fails (the mount point is gone): an error naming tar, nothing left
    fs::remove_dir_all(&source).unwrap();
    let error = GnuTar::default().create(&request).unwrap_err().to_string();
    assert!(error.contains("--listed-incremental"), "{error}");
    assert_eq!(read_tree(&repo_dir), before);

    // no such program: an error saying how to install it
    let missing = GnuTar {
        program: work.path().join("no-tar"),
    };
    let error = missing.create(&request).unwrap_err().to_string();
    assert!(error.contains("apt-get install tar"), "{error}");
    assert_eq!(read_tree(&repo_dir), before);
}

#[test]
fn verify_finds_a_damaged_archive() {
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path().join("repo");
    fs::create_dir(&repo_dir).unwrap();
    let source = work.path().join("4backup/web1/root");
    fs::create_dir_all(&source).unwrap();
    write_tree(&source, &night(1));
    let repo = Repository::new(&repo_dir, "xen1");
    let published = archive_night(&repo, &source, FileType::TarGz, date(2026, 11, 19));
    // cut the archive short: digest and structure both fail
    let bytes = fs::read(&published.path).unwrap();
    fs::write(&published.path, &bytes[..bytes.len() / 2]).unwrap();
    let checked = verify(&GnuTar::default(), &repo).unwrap();
    assert_eq!(checked.len(), 1);
    assert_eq!(checked[0].digest_ok, Some(false));
    assert!(!checked[0].structure_ok);
    assert!(!checked[0].ok());
    // an archive with no digest line is checked for structure only
    let mut hashes = Hashes::read(&repo.hashes_path()).unwrap();
    hashes.remove(&published.name.file_name());
    hashes.save().unwrap();
    fs::write(&published.path, &bytes).unwrap();
    let checked = verify(&GnuTar::default(), &repo).unwrap();
    assert_eq!(checked[0].digest_ok, None);
    assert!(checked[0].ok());
}
