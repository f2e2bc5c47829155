//! oVirt configurations: the platform choice, our keys, oVirtSimpleBackup's keys, and what
//! is refused where.

use std::path::Path;
use std::time::Duration;

use disk_image::compress::Compression;
use retention::KeepCount;

use super::*;
use crate::error::{Location, Result, VmBackupError};

fn parse(text: &str) -> Result<Config> {
    Config::parse(
        text,
        Path::new("o.cfg"),
        Path::new("/etc/vmbackup"),
        Overrides::default(),
    )
}

fn errors(text: &str) -> Vec<(usize, String)> {
    match parse(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(VmBackupError::Config { issues }) => issues
            .into_iter()
            .map(|issue| match issue.at {
                Location::Line { line, .. } => (line, issue.message),
                Location::CommandLine => (0, issue.message),
            })
            .collect(),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn an_engine_url_chooses_ovirt_and_the_seed_s_keys_are_read() {
    let config = parse(
        "ovirt_url=engine.example:8443\n\
         ovirt_user=backup@internal\n\
         uuid_backup_engine=0A1B2C3D-0000-1111-2222-333344445555\n\
         vms_to_backup=web01, db01\n\
         label=NIGHT_\n\
         retention=3\n\
         compress=1\n\
         withoutmemory=1\n\
         mount_backups=/srv/backups\n\
         storage_domain=data1\n\
         cluster=Default\n\
         drive_interface=virtio_scsi\n\
         firstbackupdisk=b\n\
         tz=America/Regina\n\
         mode=appliance\n\
         imageio_mode=tag:fast\n\
         layout=ovirtsimplebackup\n\
         snapshot_timeout=30\n",
    )
    .unwrap();
    assert_eq!(config.platform, Platform::Ovirt);
    let ovirt = config.ovirt.as_ref().unwrap();
    assert_eq!(ovirt.engine, "https://engine.example:8443");
    assert_eq!(config.user, "backup@internal");
    assert_eq!(
        ovirt.appliance_vm.as_deref(),
        Some("0a1b2c3d-0000-1111-2222-333344445555")
    );
    assert_eq!(ovirt.label, "NIGHT_");
    assert_eq!(ovirt.mode, ReadMode::Appliance);
    assert_eq!(ovirt.layout, OvirtLayout::OvirtSimpleBackup);
    assert_eq!(ovirt.bus, ApplianceBus::VirtioScsi);
    assert_eq!(ovirt.snapshot_timeout, Duration::from_secs(30));
    assert_eq!(ovirt.storage_domain.as_deref(), Some("data1"));
    assert_eq!(config.compression, Compression::Gzip);
    assert_eq!(config.retention.keep_last, KeepCount::Count(3));
    assert_eq!(config.backup_dir, Path::new("/srv/backups"));
    let names: Vec<&str> = config.rules.iter().map(|r| r.selector.as_str()).collect();
    assert_eq!(names, ["web01", "db01"]);
    // firstbackupdisk and tz are warned about, with their lines.
    let warned: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warned
            .iter()
            .any(|w| w.contains("line 13") && w.contains("firstbackupdisk")),
        "{warned:?}"
    );
    assert!(warned.iter().any(|w| w.contains("line 14")), "{warned:?}");
    let vm = |name: &str, tags: &[&str]| crate::selection::VmInfo {
        uuid: "u".into(),
        name_label: name.into(),
        is_a_template: false,
        is_a_snapshot: false,
        is_control_domain: false,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    };
    let monday = jiff::civil::Weekday::Monday;
    assert_eq!(
        ovirt.mode_for(&vm("web01", &[]), monday),
        ReadMode::Appliance
    );
    assert_eq!(
        ovirt.mode_for(&vm("web01", &["fast"]), monday),
        ReadMode::Imageio
    );
}

#[test]
fn defaults_and_the_explicit_platform() {
    let config = parse("platform=ovirt\nengine=https://e\nvm-export=.*\n").unwrap();
    let ovirt = config.ovirt.as_ref().unwrap();
    assert_eq!(config.user, "admin@internal");
    assert_eq!(config.backup_dir, Path::new("/mnt/backups"));
    assert_eq!(ovirt.mode, ReadMode::Imageio);
    assert_eq!(ovirt.layout, OvirtLayout::Own);
    assert_eq!(ovirt.label, "BU_");
    assert_eq!(
        ovirt.product_uuid_file,
        Path::new("/sys/class/dmi/id/product_uuid")
    );
    let xen = parse("host=xs1\nvm-export=.*\n").unwrap();
    assert_eq!(xen.platform, Platform::XenServer);
    assert!(xen.ovirt.is_none());
}

#[test]
fn each_platform_refuses_the_other_s_keys_with_their_lines() {
    let found = errors(
        "engine=https://e\nhost=xs1\nvdi-export=web\npool_db_backup=1\novirt_pass=secret\ncompress=3\nmode=fast\n",
    );
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7], "{found:?}");
    assert!(found[0].1.contains("engine="), "{found:?}");
    assert!(found[3].1.contains("password_file"), "{found:?}");
    assert!(!found[3].1.contains("secret"), "never echoed: {found:?}");
    let found = errors("host=xs1\nvm-export=a\nmode=appliance\nappliance_mode=web\n");
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4], "{found:?}");
    let found = errors("platform=ovirt\nvm-export=a\n");
    assert!(found[0].1.contains("engine="), "{found:?}");
    let found = errors("engine=https://e\nvm-export=a\nnot_a_key=1\n");
    assert_eq!(found[0].0, 3, "{found:?}");
    let found = errors("platform=xenserver\nengine=https://e\n");
    assert_eq!(found[0].0, 1, "{found:?}");
}
