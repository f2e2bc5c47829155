use std::path::Path;

use jiff::civil::Weekday;

use super::*;
use crate::config::{Config, Overrides};

fn vm(name: &str, uuid: &str) -> VmInfo {
    VmInfo {
        uuid: uuid.into(),
        name_label: name.into(),
        is_a_template: false,
        is_a_snapshot: false,
        is_control_domain: false,
        tags: Vec::new(),
    }
}

/// A pool as `VM.get_all_records` shows it: VMs, templates, snapshots, dom0s.
fn pool() -> Vec<VmInfo> {
    let mut vms = vec![
        vm("PROD-ubuntu14", "11111111-0000-0000-0000-000000000001"),
        vm(
            "PROD-ubuntu12-benchmark",
            "11111111-0000-0000-0000-000000000002",
        ),
        vm(
            "PROD-CentOS7-large-user-disks",
            "11111111-0000-0000-0000-000000000003",
        ),
        vm("PROD-WinSvr", "11111111-0000-0000-0000-000000000004"),
        vm("DEV-RH6", "22222222-0000-0000-0000-000000000001"),
        vm("DEV-RH7", "22222222-0000-0000-0000-000000000002"),
        vm("DEV mySql", "22222222-0000-0000-0000-000000000003"),
        vm("Sérveur 数据库", "33333333-0000-0000-0000-000000000001"),
        vm("web", "44444444-0000-0000-0000-00000000000a"),
        vm("web", "44444444-0000-0000-0000-00000000000b"),
        vm("web-2", "44444444-0000-0000-0000-00000000000c"),
        vm("../etc", "55555555-0000-0000-0000-000000000001"),
    ];
    let mut template = vm("PROD-template", "66666666-0000-0000-0000-000000000001");
    template.is_a_template = true;
    let mut snapshot = vm("PROD-ubuntu14", "66666666-0000-0000-0000-000000000002");
    snapshot.is_a_snapshot = true;
    let mut dom0 = vm(
        "Control domain on host: xs1",
        "66666666-0000-0000-0000-000000000003",
    );
    dom0.is_control_domain = true;
    let mut only_template = vm("Debian Bookworm 12", "66666666-0000-0000-0000-000000000004");
    only_template.is_a_template = true;
    vms.extend([template, snapshot, dom0, only_template]);
    vms
}

fn select(text: &str) -> Selection {
    let config = Config::parse(
        text,
        Path::new("t.cfg"),
        Path::new("/"),
        Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    resolve(&config.rules, &pool(), Weekday::Monday)
}

/// Jobs as `name kind[:keep]`.
fn jobs(selection: &Selection) -> Vec<String> {
    selection
        .jobs
        .iter()
        .map(|job| match job.keep {
            Some(keep) => format!("{} {}:{keep}", job.name, job.kind),
            None => format!("{} {}", job.name, job.kind),
        })
        .collect()
}

/// Issues as `line: message`.
fn issues(issues: &[Issue]) -> Vec<String> {
    issues
        .iter()
        .map(|issue| match &issue.at {
            Location::Line { line, .. } => format!("{line}: {}", issue.message),
            Location::CommandLine => format!("cli: {}", issue.message),
        })
        .collect()
}

#[test]
fn the_readme_weekend_cfg_with_errors() {
    let selection = select(
        "# Weekend VMs - with VM name errors
max_backups=4
backup_dir=/snapshots/BACKUPS
#
vdi-export=PROD-CentOS7.large-user-disks
vm-export=PROD.*
vm-export=DEV-RH.*:3
exclude=PROD-ubuntu12.benchmark
",
    );
    // As VmBackup.py, the regexes match with `.` for `-`: the vdi-export and the exclude
    // both select (so the CentOS VM is vdi-exported, and the benchmark excluded).
    assert_eq!(
        jobs(&selection),
        [
            "DEV-RH6 vm-export:3",
            "DEV-RH7 vm-export:3",
            "PROD-CentOS7-large-user-disks vdi-export",
            "PROD-WinSvr vm-export",
            "PROD-ubuntu14 vm-export",
        ]
    );
    assert_eq!(selection.excluded.len(), 1);
    assert_eq!(selection.excluded[0].name, "PROD-ubuntu12-benchmark");
    assert!(selection.errors.is_empty() && selection.warnings.is_empty());
}

#[test]
fn the_readme_weekend_cfg_fixed() {
    let selection = select(
        "max_backups=4
vdi-export=PROD-CentOS7-large-user-disks
vm-export=PROD.*
vm-export=DEV-RH.*:3
exclude=PROD-ubuntu12-benchmark
",
    );
    // VmBackup.py's preview: vm-export: PROD-ubuntu14, DEV-RH6:3, DEV-RH7:3, PROD-WinSvr.
    assert_eq!(
        jobs(&selection),
        [
            "DEV-RH6 vm-export:3",
            "DEV-RH7 vm-export:3",
            "PROD-CentOS7-large-user-disks vdi-export",
            "PROD-WinSvr vm-export",
            "PROD-ubuntu14 vm-export",
        ]
    );
    let job = &selection.jobs[2];
    assert_eq!(job.uuid, "11111111-0000-0000-0000-000000000003");
    assert_eq!(
        job.rule,
        Location::Line {
            file: "t.cfg".into(),
            line: 2
        }
    );
    assert!(selection.errors.is_empty() && selection.warnings.is_empty());
}

#[test]
fn missing_plain_names_are_errors_and_empty_patterns_warnings() {
    let selection = select(
        "vm-export=PROD-CentOS7.large-user-disks
vm-export=DEV-none
vm-export=Debian Bookworm 12
vm-export=NOPE.*
exclude=DEV-gone
exclude=GONE.*
vm-export=DEV mySql
",
    );
    assert_eq!(
        issues(&selection.errors),
        [
            "2: vm(s) List does not exist: DEV-none",
            "3: vm(s) List does not exist: Debian Bookworm 12 (only a template, snapshot or control domain has this name)",
        ]
    );
    assert_eq!(
        issues(&selection.warnings),
        [
            "4: pattern `NOPE.*` matches no VM that is not excluded",
            "5: vm(s) Exclude does not exist: DEV-gone",
            "6: exclude pattern `GONE.*` matches no VM",
        ]
    );
    assert_eq!(
        jobs(&selection),
        [
            "DEV mySql vm-export",
            "PROD-CentOS7-large-user-disks vm-export"
        ]
    );
}

#[test]
fn templates_snapshots_and_dom0_are_never_selected() {
    let selection = select("vm-export=.*\n");
    let names: Vec<&str> = selection.jobs.iter().map(|j| j.name.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("template") || n.contains("Control domain"))
    );
    // PROD-ubuntu14 has a snapshot of the same name: not a duplicate.
    assert!(names.contains(&"PROD-ubuntu14"));
    let dom0 = select("vm-export=66666666-0000-0000-0000-000000000003\n");
    assert!(dom0.jobs.is_empty());
    assert_eq!(dom0.errors.len(), 1);
}

#[test]
fn duplicate_names_are_errors_naming_the_uuids() {
    let selection = select("vm-export=web\nvm-export=w.*\n");
    assert_eq!(
        issues(&selection.errors),
        [
            "1: 2 VMs are named `web` (44444444-0000-0000-0000-00000000000a, 44444444-0000-0000-0000-00000000000b): select one by its uuid",
            "2: 2 VMs are named `web` (44444444-0000-0000-0000-00000000000a, 44444444-0000-0000-0000-00000000000b): their backups would share a directory; select one by its uuid or rename one",
        ]
    );
    assert_eq!(jobs(&selection), ["web-2 vm-export"]);

    // One of them by uuid (any case) is fine.
    let by_uuid = select("vdi-export=44444444-0000-0000-0000-00000000000B:2\n");
    assert_eq!(jobs(&by_uuid), ["web vdi-export:2"]);
    assert_eq!(by_uuid.jobs[0].uuid, "44444444-0000-0000-0000-00000000000b");
    assert!(by_uuid.errors.is_empty());

    // Excluding one by uuid resolves the duplicate for name and pattern rules.
    let excluded = select("exclude=44444444-0000-0000-0000-00000000000a\nvm-export=web\n");
    assert_eq!(jobs(&excluded), ["web vm-export"]);
    assert_eq!(
        excluded.jobs[0].uuid,
        "44444444-0000-0000-0000-00000000000b"
    );
    assert!(excluded.errors.is_empty(), "{:?}", excluded.errors);

    // Both by uuid: they would share a directory.
    let both = select(
        "vm-export=44444444-0000-0000-0000-00000000000a\nvm-export=44444444-0000-0000-0000-00000000000b\n",
    );
    assert!(both.jobs.is_empty());
    assert_eq!(both.errors.len(), 1);
    assert!(
        both.errors[0].message.contains("are all named `web`"),
        "{:?}",
        both.errors
    );
}

#[test]
fn precedence_keeps_and_excludes() {
    let selection = select(
        "vm-export=.*:2
metadata-export=DEV.*
skeleton-export=PROD-WinSvr
vdi-export=PROD-W.*
vdi-export=DEV-RH6
vm-export=DEV-RH.*:9
vm-export=Sérveur 数据库:5
vm-export=PROD-ubuntu14
exclude=\\.\\./.*
exclude=PROD-ubuntu12.*
",
    );
    assert_eq!(
        jobs(&selection),
        [
            "DEV mySql vm-export:2",
            "DEV-RH6 vdi-export:9",
            "DEV-RH7 vm-export:9",
            "PROD-CentOS7-large-user-disks vm-export:2",
            "PROD-WinSvr vdi-export:2",
            "PROD-ubuntu14 vm-export:2",
            "Sérveur 数据库 vm-export:5",
            "web-2 vm-export:2",
        ]
    );
    // `web` matched twice by `.*`: one error for the name.
    assert_eq!(selection.errors.len(), 1);
    let excluded: Vec<&str> = selection.excluded.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(excluded, ["../etc", "PROD-ubuntu12-benchmark"]);
    // The job records the last rule of the kind that won.
    let rh6 = &selection.jobs[1];
    assert_eq!(
        rh6.rule,
        Location::Line {
            file: "t.cfg".into(),
            line: 5
        }
    );
    // Excludes apply whatever their position.
    let early = select("exclude=DEV.*\nvm-export=DEV-RH6\n");
    let late = select("vm-export=DEV-RH6\nexclude=DEV.*\n");
    assert!(early.jobs.is_empty() && late.jobs.is_empty());
    assert_eq!(early.excluded, late.excluded);
}

#[test]
fn results_do_not_depend_on_the_pool_order() {
    let text = "vm-export=.*:2\nvdi-export=DEV.*\nexclude=web-2\n";
    let config = Config::parse(
        text,
        Path::new("t.cfg"),
        Path::new("/"),
        Overrides::default(),
    )
    .unwrap();
    let forward = resolve(&config.rules, &pool(), Weekday::Monday);
    let mut reversed_pool = pool();
    reversed_pool.reverse();
    let reversed = resolve(&config.rules, &reversed_pool, Weekday::Monday);
    assert_eq!(forward, reversed);
    assert!(!forward.jobs.is_empty());
}
