//! `tag:` rules: plain tags, the weekday, excludes and `:N`, mixed with names.

use std::path::Path;

use jiff::civil::Weekday;

use super::*;
use crate::config::{Config, Overrides};

fn vm(name: &str, tags: &[&str]) -> VmInfo {
    VmInfo {
        uuid: format!("uuid-{name}"),
        name_label: name.into(),
        is_a_template: false,
        is_a_snapshot: false,
        is_control_domain: false,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// A pool tagged as TINABS's GUI did: by weekday, plus other tags.
fn pool() -> Vec<VmInfo> {
    let mut template = vm("tmpl", &["nightly", "Tue"]);
    template.is_a_template = true;
    let mut snapshot = vm("db", &["nightly", "Tue"]);
    snapshot.uuid = "uuid-db-snapshot".into();
    snapshot.is_a_snapshot = true;
    vec![
        vm("db", &["nightly", "Tue"]),
        vm("web", &["nightly", "Mon", "Tue"]),
        vm("mail", &["Mon", "no-backup"]),
        vm("lab", &["nightly", "no-backup"]),
        vm("files", &[]),
        template,
        snapshot,
    ]
}

fn select_on(text: &str, today: Weekday) -> Selection {
    let config = Config::parse(
        text,
        Path::new("t.cfg"),
        Path::new("/"),
        Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    resolve(&config.rules, &pool(), today)
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

fn messages(issues: &[Issue]) -> Vec<&str> {
    issues.iter().map(|i| i.message.as_str()).collect()
}

#[test]
fn a_tag_selects_the_vms_carrying_it_never_templates_or_snapshots() {
    let selection = select_on("vm-export=tag:nightly\n", Weekday::Monday);
    assert_eq!(
        jobs(&selection),
        ["db vm-export", "lab vm-export", "web vm-export"]
    );
    assert!(selection.errors.is_empty() && selection.warnings.is_empty());
}

#[test]
fn the_weekday_tag_follows_the_day_given() {
    let text = "vm-export=tag:%a\n";
    assert_eq!(
        jobs(&select_on(text, Weekday::Monday)),
        ["mail vm-export", "web vm-export"]
    );
    assert_eq!(
        jobs(&select_on(text, Weekday::Tuesday)),
        ["db vm-export", "web vm-export"]
    );
    let sunday = select_on(text, Weekday::Sunday);
    assert!(sunday.jobs.is_empty());
    assert!(sunday.errors.is_empty());
    assert_eq!(
        messages(&sunday.warnings),
        ["`tag:%a` (today `Sun`) is on no VM that is not excluded"]
    );
}

#[test]
fn tag_excludes_and_keeps_work_as_for_names() {
    let text = "vm-export=tag:nightly:3\nvdi-export=tag:%a\nexclude=tag:no-backup\nexclude=web\n";
    let selection = select_on(text, Weekday::Monday);
    // lab and mail carry no-backup, web is excluded by name; db keeps its :3.
    assert_eq!(jobs(&selection), ["db vm-export:3"]);
    let excluded: Vec<&str> = selection.excluded.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(excluded, ["lab", "mail", "web"]);
    // On Tuesday db is also tagged for vdi-export, which wins; the :3 stays (last keep).
    let selection = select_on(text, Weekday::Tuesday);
    assert_eq!(jobs(&selection), ["db vdi-export:3"]);
}

#[test]
fn an_exclude_tag_on_no_vm_is_a_warning() {
    let selection = select_on("vm-export=db\nexclude=tag:%a\n", Weekday::Friday);
    assert_eq!(jobs(&selection), ["db vm-export"]);
    assert_eq!(
        messages(&selection.warnings),
        ["exclude `tag:%a` (today `Fri`) matches no VM"]
    );
}

#[test]
fn tag_rules_parse_with_their_keep_and_refuse_what_they_cannot_mean() {
    let parse = |text: &str| {
        Config::parse(
            text,
            Path::new("t.cfg"),
            Path::new("/"),
            Overrides::default(),
        )
    };
    let config = parse("vm-export=tag:a\\:b:2\n").unwrap();
    let rule = &config.rules[0];
    assert!(matches!(&rule.selector, Selector::Tag(tag) if tag.tag_on(Weekday::Monday) == "a:b"));
    assert_eq!(rule.keep.map(NonZeroU32::get), Some(2));
    for (bad, why) in [
        ("vm-export=tag:\n", "without a tag"),
        ("vm-export=tag:%Y\n", "`%Y` is not known"),
        ("exclude=tag:x:2\n", "no meaning on exclude"),
        ("vm-export=tag:a:b\n", "is not a number"),
    ] {
        let error = parse(bad).unwrap_err().to_string();
        assert!(error.contains(why), "{bad}: {error}");
    }
    // NAUbackup read `tag:3` as the VM `tag` kept 3 times: say how it reads now.
    let config = parse("vm-export=tag:3\n").unwrap();
    assert!(config.rules[0].keep.is_none());
    assert!(
        config.warnings[0]
            .message
            .contains("selects the VMs tagged `3`"),
        "{:?}",
        config.warnings
    );
}

#[test]
fn prune_without_the_pool_takes_a_tag_keep_as_possible() {
    let config = Config::parse(
        "max_backups=2\nvm-export=tag:nightly:5\n",
        Path::new("t.cfg"),
        Path::new("/"),
        Overrides::default(),
    )
    .unwrap();
    let vm = OfflineVm {
        name: Some("db".into()),
        uuids: std::collections::BTreeSet::new(),
    };
    let keeps: Vec<Option<u32>> = possible_keeps(&config.rules, &vm)
        .into_iter()
        .map(|k| k.map(NonZeroU32::get))
        .collect();
    assert_eq!(keeps, [None, Some(5)]);
}
