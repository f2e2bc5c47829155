//! Whole runs in raw-image mode through the real run loop, with lvm2 replaced by a stateful
//! fake behind lvm-snap's command seam (volumes are files here; tests/lvm-guest does the
//! same on real LVM): images published with their records, verified, restored byte for
//! byte; an overflowed snapshot's image not published; volumes of one volume group never
//! at once, of different groups at once with `concurrency = 2`, all serial by default.

use std::fs;
use std::path::Path;

use backup_core::batch::{Cancel, SystemClock};
use jiff::civil::date;
use lvm_snap::{Lvm, Owner};
use lvmbackup::archive::GnuTar;
use lvmbackup::config::{Config, Settings};
use lvmbackup::naming::FileType;
use lvmbackup::run::{RunParts, RunReport, run};

use crate::fake_lvm::{FakeLvm, Lifetime};

/// A volume's bytes: noise, a zero MiB, text.
fn contents(seed: u8) -> Vec<u8> {
    let mut x = u64::from(seed) | 1;
    let mut bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    bytes.extend(vec![0u8; 1 << 20]);
    bytes.extend(
        format!("volume {seed}\n")
            .repeat(1 << 16)
            .bytes()
            .take(1 << 20),
    );
    bytes
}

/// The configuration in `dir`: the list `volumes`, these TOML lines.
fn configure(dir: &Path, volumes: &str, toml: &str) -> Config {
    fs::create_dir_all(dir.join("repo")).unwrap();
    fs::write(
        dir.join("lvmbackup.toml"),
        format!(
            "xenbackup_conf = \"{}/xenbackup.conf\"\n{toml}",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(
        dir.join("xenbackup.conf"),
        format!(
            "MNTSOURCEDIR=\"{0}/4backup\"\nSBCONFIGFILE=\"{0}/xenback_vols\"\n\
             BM_CONFIGFILE=\"{0}/bm.conf\"\nSNAPSIZE=\"16M\"\nSNAPMOUNTDELAY=\"0\"\n",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(
        dir.join("bm.conf"),
        format!(
            "export BM_REPOSITORY_ROOT=\"{}/repo\"\nexport BM_ARCHIVE_PREFIX=xen1\n\
             export BM_ARCHIVE_TTL=5\nexport BM_TARBALLINC_MASTERDATETYPE=weekly\n\
             export BM_TARBALLINC_MASTERDATEVALUE=6\n",
            dir.display()
        ),
    )
    .unwrap();
    fs::write(dir.join("xenback_vols"), volumes).unwrap();
    let settings = Settings::read(&dir.join("lvmbackup.toml"), true).unwrap();
    Config::from_settings(settings, "dom0").unwrap()
}

fn run_with(config: &Config, fake: &FakeLvm) -> RunReport {
    let lvm = Lvm::new(fake, Owner::this_process().unwrap());
    run(
        config,
        &RunParts {
            lvm: &lvm,
            tar: GnuTar::default(),
            cancel: &Cancel::new(),
            clock: &SystemClock,
            today: date(2026, 11, 24),
            only: &[],
        },
    )
    .unwrap()
}

/// Whether two snapshots were alive at the same time.
fn overlap(a: &Lifetime, b: &Lifetime) -> bool {
    let end = |l: &Lifetime| l.removed.expect("every snapshot removed");
    a.created < end(b) && b.created < end(a)
}

fn vg_of(l: &Lifetime) -> &str {
    l.snapshot.split('/').next().unwrap()
}

const FOUR: &str = "a1|c|/dev/vga/a1|ntfs|ro\na2|c|/dev/vga/a2|ufs|ro\n\
                    b1|c|/dev/vgb/b1|ntfs|ro\nb2|c|/dev/vgb/b2|crypto_LUKS|ro\n";

fn four_volumes(dir: &Path) -> FakeLvm {
    let devices = dir.join("devices");
    fs::create_dir_all(&devices).unwrap();
    let fake = FakeLvm::new(&devices);
    for (seed, (vg, lv)) in [("vga", "a1"), ("vga", "a2"), ("vgb", "b1"), ("vgb", "b2")]
        .into_iter()
        .enumerate()
    {
        fake.add_volume(vg, lv, &contents(seed as u8));
    }
    fake
}

#[test]
fn images_of_two_volume_groups_run_at_once_but_never_two_of_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let config = configure(
        dir.path(),
        FOUR,
        "concurrency = 2\nmode = \"image\"\n[volumes.\"a2/c\"]\nimage_compression = \"none\"\n",
    );
    let fake = four_volumes(dir.path());
    let report = run_with(&config, &fake);
    // the report keeps the list's order
    let names: Vec<&str> = report.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["a1/c", "a2/c", "b1/c", "b2/c"]);
    for (seed, volume) in report.volumes.iter().enumerate() {
        assert_eq!(volume.status, "success", "{volume:?}");
        let image = volume.archive.as_ref().unwrap();
        let filetype = if volume.name == "a2/c" {
            FileType::Img
        } else {
            FileType::ImgZst
        };
        assert_eq!(volume.method, format!("raw-image ({filetype})"));
        let domu = volume.name.split('/').next().unwrap();
        assert_eq!(
            image.file_name().unwrap().to_string_lossy(),
            format!(
                "xen1-{}-4backup-{domu}-c.20261124.{filetype}",
                dir_part(dir.path())
            )
        );
        let restored = dir.path().join(format!("restored-{domu}"));
        lvmbackup::image::restore_image(image, filetype, &restored).unwrap();
        assert!(
            fs::read(&restored).unwrap() == contents(seed as u8),
            "{domu}"
        );
    }
    let checked = lvmbackup::restore::verify(
        &GnuTar::default(),
        &lvmbackup::repository::Repository::new(&dir.path().join("repo"), "xen1"),
    )
    .unwrap();
    assert_eq!(checked.len(), 4);
    assert!(
        checked.iter().all(lvmbackup::restore::Checked::ok),
        "{checked:?}"
    );
    let lives = fake.lifetimes();
    assert_eq!(lives.len(), 4);
    let mut across = 0;
    for (i, a) in lives.iter().enumerate() {
        for b in &lives[i + 1..] {
            if vg_of(a) == vg_of(b) {
                assert!(
                    !overlap(a, b),
                    "{a:?} and {b:?} of one volume group at once"
                );
            } else if overlap(a, b) {
                across += 1;
            }
        }
    }
    assert!(across > 0, "no two volume groups ran at once: {lives:?}");
    assert_eq!(fake.volumes("vga"), ["a1", "a2"]);
    assert_eq!(fake.volumes("vgb"), ["b1", "b2"]);
}

/// `MNTSOURCEDIR` in the names: the temporary directory's path, `/` as `-`.
fn dir_part(dir: &Path) -> String {
    dir.to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "-")
}

#[test]
fn by_default_volumes_run_one_after_the_other_and_an_overflowed_image_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let config = configure(
        dir.path(),
        FOUR,
        "mode = \"image\"\n[volumes.\"b2/c\"]\nmode = \"tar\"\n",
    );
    let mut fake = four_volumes(dir.path());
    fake.lvcreate_delay = std::time::Duration::from_millis(50);
    fake.overflows.push("a2".into());
    let report = run_with(&config, &fake);
    let status: Vec<(&str, &str)> = report
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.status))
        .collect();
    // b2/c is in tar mode: its snapshot (a file here) cannot be mounted as crypto_LUKS
    assert_eq!(
        status,
        [
            ("a1/c", "success"),
            ("a2/c", "failed"),
            ("b1/c", "success"),
            ("b2/c", "failed")
        ]
    );
    let overflowed = &report.volumes[1];
    assert_eq!(overflowed.step.as_deref(), Some("overflow-check"));
    assert!(overflowed.archive.is_none());
    assert_eq!(report.volumes[3].method, "tarball-incremental");
    let repo: Vec<String> = fs::read_dir(dir.path().join("repo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("-a2-"))
        .collect();
    assert!(repo.is_empty(), "the overflowed image left {repo:?}");
    let lives = fake.lifetimes();
    for (i, a) in lives.iter().enumerate() {
        for b in &lives[i + 1..] {
            assert!(!overlap(a, b), "{a:?} and {b:?} at once with concurrency 1");
        }
    }
    assert_eq!(fake.volumes("vga"), ["a1", "a2"]);
    assert_eq!(fake.volumes("vgb"), ["b1", "b2"]);
}
