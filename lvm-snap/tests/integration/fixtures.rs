//! The captured lvm2 outputs (`tests/fixtures/*.json`: argv, exit code, stdout, stderr, as
//! `lvm-snap-scenarios` recorded them in the guest; refresh them from
//! `target/tmp/lvm-captures/` after the guest test ran).

use std::path::Path;

use lvm_snap::{CommandOutput, Owner};
use serde_json::{Map, Value};

/// The VG of the captures.
pub const VG: &str = "vgsnap";

/// A captured command.
pub struct Capture {
    pub argv: Vec<String>,
    pub output: CommandOutput,
}

pub fn capture(name: &str) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text).expect("fixture JSON");
    Capture {
        argv: value["argv"]
            .as_array()
            .expect("argv")
            .iter()
            .map(|a| a.as_str().expect("arg").to_owned())
            .collect(),
        output: CommandOutput {
            code: value["code"]
                .as_i64()
                .map(|c| i32::try_from(c).expect("exit code")),
            stdout: value["stdout"].as_str().expect("stdout").to_owned(),
            stderr: value["stderr"].as_str().expect("stderr").to_owned(),
        },
    }
}

/// The rows of the captured `lvs` report `name`.
pub fn rows(name: &str) -> Vec<Map<String, Value>> {
    let report: Value = serde_json::from_str(&capture(name).output.stdout).expect("report JSON");
    report["report"][0]["lv"]
        .as_array()
        .expect("lv rows")
        .iter()
        .map(|r| r.as_object().expect("row").clone())
        .collect()
}

/// An `lvs` reply holding the rows named `names` (in that order) of the captured report
/// `capture_name`, each passed through `edit` (to change a tag or a state).
pub fn lvs_reply(
    capture_name: &str,
    names: &[&str],
    edit: impl Fn(&str, &mut Map<String, Value>),
) -> CommandOutput {
    let all = rows(capture_name);
    let mut picked = Vec::new();
    for name in names {
        let mut row = all
            .iter()
            .find(|r| r["lv_name"] == *name)
            .unwrap_or_else(|| panic!("no row {name} in the capture"))
            .clone();
        edit(name, &mut row);
        picked.push(Value::Object(row));
    }
    CommandOutput::ok(serde_json::json!({"report": [{"lv": picked}]}).to_string())
}

/// Sets a row's field.
pub fn set(row: &mut Map<String, Value>, field: &str, value: &str) {
    assert!(row.contains_key(field), "no field {field}");
    row.insert(field.to_owned(), Value::String(value.to_owned()));
}

/// The owner the tests act for.
pub fn test_owner() -> Owner {
    Owner::new("testhost", 4242, 1_000_000)
}

/// The `lvs` command line lvm-snap runs for `vg`: the captured one.
pub fn lvs_argv(vg: &str) -> Vec<String> {
    let mut argv = capture("lvs-snapshots").argv;
    vg.clone_into(argv.last_mut().expect("a VG argument"));
    argv
}
