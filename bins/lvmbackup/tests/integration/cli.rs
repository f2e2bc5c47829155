//! The binary on the host (no LVM here): configuration errors exit 2 naming file and line;
//! list, prune --dry-run, verify and restore on a repository of real archives.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use jiff::civil::date;
use lvmbackup::archive::{ArchiveRequest, GnuTar, Levels};
use lvmbackup::naming::{FileType, NameFormat, dir_name};
use lvmbackup::repository::{NextArchive, Repository};
use lvmbackup::schedule::MasterSchedule;

use crate::support::{night, read_tree, write_tree};

fn lvmbackup(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvmbackup"))
        .arg("--settings")
        .arg(dir.join("lvmbackup.toml"))
        .args(args)
        .output()
        .expect("lvmbackup runs")
}

/// A configuration in `dir`: mount points under `dir/4backup`, archives in `dir/repo`.
fn configure(dir: &Path, volumes: &str) {
    fs::create_dir_all(dir.join("repo")).unwrap();
    fs::write(
        dir.join("lvmbackup.toml"),
        format!("xenbackup_conf = \"{}/xenbackup.conf\"\n", dir.display()),
    )
    .unwrap();
    fs::write(
        dir.join("xenbackup.conf"),
        format!(
            "MNTSOURCEDIR=\"{0}/4backup\"\nSBCONFIGFILE=\"{0}/xenback_vols\"\nBM_CONFIGFILE=\"{0}/bm.conf\"\nHOSTN=`hostname`\n",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(
        dir.join("bm.conf"),
        format!(
            "export BM_REPOSITORY_ROOT=\"{}/repo\"\nexport BM_ARCHIVE_PREFIX=xen1\nexport BM_ARCHIVE_TTL=2\nexport BM_TARBALLINC_MASTERDATETYPE=weekly\nexport BM_TARBALLINC_MASTERDATEVALUE=6\n",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(dir.join("xenback_vols"), volumes).unwrap();
}

#[test]
fn configuration_errors_exit_2_and_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    configure(
        dir.path(),
        "web1|root|/dev/vg0/web1-root|ext4|ro\nweb1|var|/dev/vg0/web1-var|ext4\n",
    );
    let output = lvmbackup(dir.path(), &["list"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let want = format!("{}/xenback_vols:2: expected 5 fields", dir.path().display());
    assert!(stderr.contains(&want), "{stderr}");
    // --json: the error as JSON on stdout too
    let output = lvmbackup(dir.path(), &["--json", "list"]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["exit_code"], 2);
    // a setting computed by a command is refused, not run
    fs::write(dir.path().join("xenback_vols"), "").unwrap();
    fs::write(
        dir.path().join("bm.conf"),
        "BM_REPOSITORY_ROOT=$(mktemp -d)\n",
    )
    .unwrap();
    let output = lvmbackup(dir.path(), &["list"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("bm.conf:1: BM_REPOSITORY_ROOT is computed by a command")
    );
    let help = Command::new(env!("CARGO_BIN_EXE_lvmbackup"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

#[test]
fn list_prune_verify_and_restore_on_real_archives() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path(), "web1|root|/dev/vg0/web1-root|ext4|ro\n");
    // four nights written as a run writes them, from the volume's mount point
    let source = dir.path().join("4backup/web1/root");
    fs::create_dir_all(&source).unwrap();
    let repo = Repository::new(&dir.path().join("repo"), "xen1");
    let schedule = MasterSchedule::Weekly(jiff::civil::Weekday::Saturday);
    let vol = dir_name(&source, NameFormat::Long);
    for (n, day) in [(1u8, 19i8), (2, 20), (3, 21), (4, 22)] {
        write_tree(&source, &night(n));
        let NextArchive::Make(name, _) = repo
            .next_archive(&vol, FileType::TarGz, schedule, date(2026, 11, day))
            .unwrap()
        else {
            panic!("exists");
        };
        GnuTar::default()
            .create(&ArchiveRequest {
                repository: repo.root(),
                name: &name,
                source: &source,
                levels: Levels {
                    gzip: 6,
                    zstd: 3,
                    zstd_threads: 0,
                },
            })
            .unwrap()
            .publish()
            .unwrap();
    }
    let list = lvmbackup(dir.path(), &["--json", "list"]);
    assert_eq!(
        list.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(value[0]["archives"].as_array().unwrap().len(), 4);

    // the archives are dated 2026-11: today the TTL of 2 days has passed for all of them,
    // and the newest chain (21st master + 22nd) is kept whole
    let prune = lvmbackup(dir.path(), &["--json", "prune", "--dry-run"]);
    assert_eq!(prune.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&prune.stdout).unwrap();
    let removed: Vec<&str> = value["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(removed.iter().all(|p| Path::new(p).exists()));

    let restore_dir = dir.path().join("restored");
    fs::create_dir(&restore_dir).unwrap();
    let restore = lvmbackup(
        dir.path(),
        &[
            "restore",
            "--volume",
            "web1/root",
            "--date",
            "2026-11-20",
            "--into",
            restore_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        restore.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert_eq!(read_tree(&restore_dir), night(2));

    let verify = lvmbackup(dir.path(), &["verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let victim = repo.scan().unwrap()[&vol][1].path.clone();
    let mut bytes = fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&victim, bytes).unwrap();
    let verify = lvmbackup(dir.path(), &["verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("1 damaged"));

    let prune = lvmbackup(dir.path(), &["prune"]);
    assert_eq!(prune.status.code(), Some(0));
    assert_eq!(repo.scan().unwrap()[&vol].len(), 2);
}
