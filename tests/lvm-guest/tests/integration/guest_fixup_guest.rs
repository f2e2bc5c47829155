//! guest-fixup on real LVM in the guest: the `lvm` group of `guest-fixup-scenarios` (a guest
//! whose root is a logical volume: inspect, plan, apply and check on disk, a failing step,
//! a panic, UUID and name clashes), all in one boot.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use lvm_guest::{GuestImage, GuestRun, boot, tail};
use serde_json::Value;

#[test]
fn a_guest_with_its_root_on_lvm_is_fixed_up_and_its_volume_group_never_left_active() {
    let image = GuestImage::cached().unwrap_or_else(|e| panic!("{e}"));
    let binary = Path::new(env!("CARGO_BIN_EXE_guest-fixup-scenarios"));
    let outcome = boot(
        &image,
        &GuestRun {
            binary,
            args: &["lvm"],
            extra: &[],
            // /dev/vda holds the images, /dev/vdb the "host's" own volume group.
            disks_mib: &[768, 64],
            timeout: Duration::from_secs(420),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("guest ran {:?}", outcome.elapsed);
    let mut scenarios = BTreeMap::new();
    let mut done = false;
    for line in &outcome.results {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("result line {line:?}: {e}"));
        if let Some(name) = value["scenario"].as_str() {
            let ok = value["ok"].as_bool().expect("ok is a boolean");
            let detail = value["detail"].as_str().unwrap_or_default().to_owned();
            eprintln!("  {name}: {} {detail}", if ok { "ok" } else { "FAILED" });
            scenarios.insert(name.to_owned(), (ok, detail));
        } else if value["done"] == Value::Bool(true) {
            done = true;
        }
    }
    let console = tail(&outcome.console, 80);
    for name in [
        "read-only-inspect-plan",
        "apply-and-check",
        "failing-step-undone",
        "panic-while-open",
        "uuid-already-active",
        "name-taken-on-host",
    ] {
        match scenarios.get(name) {
            Some((true, _)) => {}
            Some((false, detail)) => {
                panic!("scenario {name} failed: {detail}\nconsole:\n{console}")
            }
            None => panic!("scenario {name} did not report\nconsole:\n{console}"),
        }
    }
    assert!(
        done,
        "the scenario binary did not finish\nconsole:\n{console}"
    );
    assert_eq!(
        outcome.exit_code,
        Some(0),
        "guest exit status\nconsole:\n{console}"
    );
}
