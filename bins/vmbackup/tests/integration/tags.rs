//! Selection by VM tag (TINABS) through the real binary: `tag:NAME` with excludes and
//! `:N`, and `tag:%a` resolved with the run's weekday.

use std::process::Command;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use vmbackup::tag::weekday_tag;
use xapi_sim::NewVm;

use super::support::{Setup, s, texts, vm_with_disks, vmbackup_exit, vmbackup_json};

/// The names of the jobs of a `preview --json` or `run --json` report, sorted.
fn names(report: &Value, list: &str, field: &str) -> Vec<String> {
    let mut names: Vec<String> = report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no `{list}` in {report:#}"))
        .iter()
        .map(|job| job[field].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn tagged(name: &str, seed: u64, tags: &[&str]) -> NewVm {
    tags.iter()
        .fold(vm_with_disks(name, seed), |vm, tag| vm.tag(*tag))
}

#[test]
fn a_tag_rule_backs_up_the_tagged_vms_with_its_keep_and_tag_excludes() {
    let setup = Setup::new(vec![
        tagged("db", 10, &["nightly"]),
        tagged("web", 20, &["nightly", "prod"]),
        tagged("lab", 30, &["nightly", "no-backup"]),
        tagged("files", 40, &["weekly"]),
    ]);
    let config = setup.config(
        "tags.cfg",
        "vm-export=tag:nightly:1\nexclude=tag:no-backup\nmetadata-export=files",
    );
    let preview = vmbackup_json(&["preview", s(&config)], 0);
    assert_eq!(names(&preview, "jobs", "vm"), ["db", "files", "web"]);
    assert_eq!(names(&preview, "excluded", "vm"), ["lab"]);
    let keeps: Vec<&Value> = preview["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["kind"] == "vm-export")
        .map(|job| &job["keep"])
        .collect();
    assert_eq!(keeps, [&Value::from(1), &Value::from(1)], "{preview:#}");
    assert!(preview["weekday_tag"].is_null(), "{preview:#}");

    for _ in 0..2 {
        let report = vmbackup_json(&["run", s(&config), "--quiet"], 0);
        assert_eq!(names(&report, "vms", "name"), ["db", "files", "web"]);
    }
    // `:1` from the tag rule: one backup each of the tagged VMs, after two runs.
    assert_eq!(setup.backups_of("db").len(), 1);
    assert_eq!(setup.backups_of("web").len(), 1);
    assert_eq!(setup.backups_of("files").len(), 2);
    assert!(setup.backups_of("lab").is_empty());
    setup.assert_clean();
}

/// `vmbackup COMMAND config --json` in UTC; `None` when the UTC day changed meanwhile
/// (the caller tries again).
fn on_one_day(command: &str, config: &std::path::Path) -> Option<(String, Value)> {
    let today = || weekday_tag(Timestamp::now().to_zoned(TimeZone::UTC).weekday());
    let before = today();
    let output = Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args([command, s(config), "--json", "--quiet"])
        .env("TZ", "UTC")
        .env_remove("VMBACKUP_PASSWORD")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    (today() == before).then(|| (before.to_owned(), serde_json::from_str(&stdout).unwrap()))
}

#[test]
fn the_weekday_tag_selects_the_vms_tagged_with_the_day_of_the_run() {
    // Every VM carries one weekday tag: exactly one of them is today's.
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let vms = days
        .iter()
        .zip(1u64..)
        .map(|(day, seed)| tagged(&format!("vm-{day}"), seed, &[day]))
        .collect();
    let setup = Setup::new(vms);
    let config = setup.config("weekday.cfg", "vm-export=tag:%a:2");
    let (today, preview) = (0..3)
        .find_map(|_| on_one_day("preview", &config))
        .expect("the day does not change three times in a row");
    assert_eq!(names(&preview, "jobs", "vm"), [format!("vm-{today}")]);
    assert_eq!(preview["weekday_tag"], Value::from(today.clone()));
    assert_eq!(preview["jobs"][0]["keep"], Value::from(2));

    // The text form says which tag `%a` stands for today.
    let (stdout, _) = vmbackup_exit(&["preview", s(&config)], 0);
    assert!(stdout.contains("tag:%a"), "{stdout}");

    // A run takes the day from its own clock, and backs up that VM only.
    let (today, report) = (0..3)
        .find_map(|_| on_one_day("run", &config))
        .expect("the day does not change three times in a row");
    assert_eq!(names(&report, "vms", "name"), [format!("vm-{today}")]);
    assert_eq!(setup.backups_of(&format!("vm-{today}")).len(), 1);
    setup.assert_clean();
}
