//! Snapshot lifecycles with the recording runner: the exact commands run, stale snapshots
//! removed, volumes not ours refused, failures leaving nothing, guards removing on drop.

use lvm_snap::{CommandOutput, Lvm, LvmError, Owner, RecordingRunner, SnapshotSize, VolumeRef};

use super::fixtures::{VG, capture, lvs_argv, lvs_reply, set, test_owner};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn origin() -> VolumeRef {
    VolumeRef::new(VG, "web1-root").unwrap()
}

fn lvcreate(size: &[&str], name: &str, origin: &str) -> Vec<String> {
    let mut argv = strings(&["lvcreate", "-s"]);
    argv.extend(strings(size));
    argv.extend(strings(&[
        "-n",
        name,
        "--addtag",
        "vmtoolkit",
        "--addtag",
        &test_owner().tag(),
        origin,
    ]));
    argv
}

/// The captured thick snapshot, tagged with the test owner (as if this run made it).
fn made_by_us(name: &str, row: &mut serde_json::Map<String, serde_json::Value>) {
    if name == "web1-root.back" || name == "thin1.back" {
        set(row, "lv_tags", &format!("vmtoolkit,{}", test_owner().tag()));
    }
}

#[test]
fn a_thick_snapshot_is_made_tagged_read_back_and_removed() {
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["pool", "web1-root"], |_, _| {}),
        )
        .expect(
            &["lvcreate"],
            CommandOutput::ok("  Logical volume \"web1-root.back\" created.\n"),
        )
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["web1-root", "web1-root.back"],
                made_by_us,
            ),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    let snapshot = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap();
    assert!(snapshot.replaced().is_none());
    assert_eq!(snapshot.volume().size, 8 << 20);
    assert_eq!(
        snapshot.device().to_str(),
        Some("/dev/vgsnap/web1-root.back")
    );
    assert_eq!(snapshot.volume().owner(), Some(test_owner()));
    snapshot.remove().unwrap();
    assert_eq!(
        lvm.runner().calls(),
        [
            lvs_argv(VG),
            lvcreate(&["-L", "8388608b"], "web1-root.back", "vgsnap/web1-root"),
            lvs_argv(VG),
            strings(&["lvremove", "-f", "vgsnap/web1-root.back"]),
        ]
    );
}

#[test]
fn sizes_become_lvcreate_options_and_bad_ones_run_nothing() {
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root"], |_, _| {}),
        )
        .expect(&["lvcreate"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["web1-root", "web1-root.back"],
                made_by_us,
            ),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    drop(
        lvm.snapshot(
            &origin(),
            "web1-root.back",
            SnapshotSize::PercentOfOrigin(20),
        )
        .unwrap(),
    );
    assert_eq!(
        lvm.runner().calls()[1],
        lvcreate(&["-l", "20%ORIGIN"], "web1-root.back", "vgsnap/web1-root")
    );
    assert_eq!(
        lvm.runner().calls()[3],
        strings(&["lvremove", "-f", "vgsnap/web1-root.back"]),
        "Drop removes it"
    );

    let lvm = Lvm::new(RecordingRunner::new(), test_owner());
    for size in [
        SnapshotSize::Bytes(0),
        SnapshotSize::PercentOfOrigin(0),
        SnapshotSize::PercentOfOrigin(101),
    ] {
        assert!(matches!(
            lvm.snapshot(&origin(), "x.back", size),
            Err(LvmError::InvalidSize { .. })
        ));
    }
    for name in ["-y", "a/b", "x_tmeta", ""] {
        assert!(
            matches!(
                lvm.snapshot(&origin(), name, SnapshotSize::Thin),
                Err(LvmError::InvalidName { .. })
            ),
            "{name}"
        );
    }
    assert!(lvm.runner().calls().is_empty());
}

#[test]
fn a_thin_snapshot_left_inactive_is_activated_with_ignore_activation_skip() {
    let inactive = |name: &str, row: &mut serde_json::Map<String, serde_json::Value>| {
        made_by_us(name, row);
        if name == "thin1.back" {
            set(row, "lv_attr", "Vwi---tz-k");
            set(row, "lv_active", "");
            set(row, "lv_kernel_major", "-1");
            set(row, "lv_kernel_minor", "-1");
        }
    };
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["pool", "thin1"], |_, _| {}),
        )
        .expect(&["lvcreate"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["pool", "thin1", "thin1.back"], inactive),
        )
        .expect(&["lvchange"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["pool", "thin1", "thin1.back"],
                made_by_us,
            ),
        )
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["pool", "thin1", "thin1.back"],
                made_by_us,
            ),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    let snapshot = lvm
        .snapshot(
            &VolumeRef::new(VG, "thin1").unwrap(),
            "thin1.back",
            SnapshotSize::Thin,
        )
        .unwrap();
    assert!(snapshot.volume().active);
    let fill = snapshot.check_intact().unwrap();
    assert!(
        matches!(&fill, lvm_snap::Fill::Thin { pool, .. } if pool == "pool"),
        "{fill:?}"
    );
    snapshot.remove().unwrap();
    let calls = lvm.runner().calls();
    assert_eq!(calls[1], lvcreate(&["-kn"], "thin1.back", "vgsnap/thin1"));
    assert_eq!(
        calls[3],
        strings(&["lvchange", "-ay", "-K", "vgsnap/thin1.back"])
    );
    assert_eq!(lvm.runner().unused(), 0);
}

#[test]
fn a_thin_snapshot_that_stays_inactive_is_an_error_and_is_removed() {
    let inactive = |name: &str, row: &mut serde_json::Map<String, serde_json::Value>| {
        made_by_us(name, row);
        if name == "thin1.back" {
            set(row, "lv_active", "");
        }
    };
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["pool", "thin1"], |_, _| {}),
        )
        .expect(&["lvcreate"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["thin1", "thin1.back"], inactive),
        )
        .expect(&["lvchange"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["thin1", "thin1.back"], inactive),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    let error = lvm
        .snapshot(
            &VolumeRef::new(VG, "thin1").unwrap(),
            "thin1.back",
            SnapshotSize::Thin,
        )
        .unwrap_err();
    assert!(matches!(error, LvmError::NotActivated { .. }), "{error}");
    assert_eq!(
        lvm.runner().calls().last().unwrap(),
        &strings(&["lvremove", "-f", "vgsnap/thin1.back"])
    );
}

#[test]
fn a_stale_snapshot_of_ours_is_removed_and_reported_before_the_new_one() {
    // The captured web1-root.back: ours, made in the guest by a process that does not run here.
    let stale_owner = Owner::from_tag(
        super::fixtures::rows("lvs-snapshots")
            .iter()
            .find(|r| r["lv_name"] == "web1-root.back")
            .and_then(|r| {
                r["lv_tags"]
                    .as_str()?
                    .split(',')
                    .find(|t| t.starts_with("vmtoolkit-owner:"))
                    .map(str::to_owned)
            })
            .as_deref()
            .expect("the capture's owner tag"),
    )
    .expect("a well-formed owner tag");
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root", "web1-root.back"], |_, _| {}),
        )
        .expect(&["lvremove"], CommandOutput::ok(""))
        .expect(&["lvcreate"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["web1-root", "web1-root.back"],
                made_by_us,
            ),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    let snapshot = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap();
    let stale = snapshot.replaced().expect("the stale snapshot is reported");
    assert_eq!(stale.owner.as_ref(), Some(&stale_owner));
    assert!(stale.unmounted.is_empty());
    drop(snapshot);
    let calls = lvm.runner().calls();
    assert_eq!(
        calls[1],
        strings(&["lvremove", "-f", "vgsnap/web1-root.back"])
    );
    assert_eq!(calls[2][0], "lvcreate");
}

#[test]
fn volumes_that_are_not_our_snapshot_of_this_origin_are_never_removed() {
    let cases: [(&str, &str, &str, &str); 3] = [
        // an untagged thin snapshot (an administrator's)
        ("thin1", "thin1.skip", "", "no `vmtoolkit` tag"),
        // a tagged volume that is not a snapshot
        ("web1-root", "pool", "vmtoolkit", "not a snapshot"),
        // our tag, but a snapshot of another origin
        (
            "thin1",
            "web1-root.back",
            "keep",
            "snapshot of vgsnap/web1-root",
        ),
    ];
    for (origin_name, name, tags, why_part) in cases {
        let edit = |row_name: &str, row: &mut serde_json::Map<String, serde_json::Value>| {
            if row_name == name && tags != "keep" {
                set(row, "lv_tags", tags);
            }
        };
        let runner = RecordingRunner::new().expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root", "thin1", name], edit),
        );
        let lvm = Lvm::new(runner, test_owner());
        let origin = VolumeRef::new(VG, origin_name).unwrap();
        match lvm.snapshot(&origin, name, SnapshotSize::Thin) {
            Err(LvmError::NameTaken { why, lv, vg, .. }) => {
                assert!(why.contains(why_part), "{name}: {why}");
                assert_eq!((vg.as_str(), lv.as_str()), (VG, name));
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(lvm.runner().calls().len(), 1, "{name}: only lvs ran");
    }
}

#[test]
fn a_snapshot_whose_owner_still_runs_is_left_alone() {
    let this = Owner::this_process().unwrap();
    let runner = RecordingRunner::new().expect(
        &["lvs"],
        lvs_reply(
            "lvs-snapshots",
            &["web1-root", "web1-root.back"],
            |name, row| {
                if name == "web1-root.back" {
                    set(row, "lv_tags", &format!("vmtoolkit,{}", this.tag()));
                }
            },
        ),
    );
    let lvm = Lvm::new(runner, this.clone());
    let error = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap_err();
    assert!(
        matches!(&error, LvmError::InUse { owner, .. } if owner == &this.to_string()),
        "{error}"
    );
    assert_eq!(lvm.runner().calls().len(), 1);
}

#[test]
fn a_failed_lvcreate_is_a_clear_error_and_leaves_nothing_of_ours() {
    let full = capture("lvcreate-vg-full").output;
    assert_ne!(full.code, Some(0));
    // lvm2 left nothing: the check finds no volume of that name
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root"], |_, _| {}),
        )
        .expect(&["lvcreate"], full.clone())
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root"], |_, _| {}),
        );
    let lvm = Lvm::new(runner, test_owner());
    let error = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("vgsnap/web1-root.back"), "{message}");
    assert!(message.contains(full.stderr.trim()), "{message}");
    assert!(
        matches!(error, LvmError::Command { code: Some(5), .. }),
        "{error:?}"
    );
    assert_eq!(lvm.runner().calls().len(), 3);

    // had it left one with this run's owner tag, it is removed
    let runner = RecordingRunner::new()
        .expect(
            &["lvs"],
            lvs_reply("lvs-snapshots", &["web1-root"], |_, _| {}),
        )
        .expect(&["lvcreate"], full)
        .expect(
            &["lvs"],
            lvs_reply(
                "lvs-snapshots",
                &["web1-root", "web1-root.back"],
                made_by_us,
            ),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    assert!(
        lvm.snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
            .is_err()
    );
    assert_eq!(
        lvm.runner().calls().last().unwrap(),
        &strings(&["lvremove", "-f", "vgsnap/web1-root.back"])
    );
}

#[test]
fn an_overflowed_snapshot_fails_its_check_and_is_still_removed() {
    let overflowed = super::fixtures::rows("lvs-overflowed");
    assert!(overflowed.iter().any(|r| r["lv_name"] == "ovf.back"));
    let ours = |name: &str, row: &mut serde_json::Map<String, serde_json::Value>| {
        if name == "ovf.back" {
            set(row, "lv_tags", &format!("vmtoolkit,{}", test_owner().tag()));
        }
    };
    let runner = RecordingRunner::new()
        .expect(&["lvs"], lvs_reply("lvs-overflowed", &["ovf"], |_, _| {}))
        .expect(&["lvcreate"], CommandOutput::ok(""))
        .expect(
            &["lvs"],
            lvs_reply("lvs-overflowed", &["ovf", "ovf.back"], ours),
        )
        .expect(
            &["lvs"],
            lvs_reply("lvs-overflowed", &["ovf", "ovf.back"], ours),
        )
        .expect(&["lvremove"], CommandOutput::ok(""));
    let lvm = Lvm::new(runner, test_owner());
    let snapshot = lvm
        .snapshot(
            &VolumeRef::new("vgfail", "ovf").unwrap(),
            "ovf.back",
            SnapshotSize::Bytes(4 << 20),
        )
        .unwrap();
    let error = snapshot.check_intact().unwrap_err();
    assert!(
        matches!(&error, LvmError::Overflowed { lv, .. } if lv == "ovf.back"),
        "{error}"
    );
    assert!(error.to_string().contains("100.00%"), "{error}");
    snapshot.remove().unwrap();
    assert_eq!(lvm.runner().unused(), 0);
}

#[test]
fn a_removal_that_fails_is_reported_by_remove_and_logged_by_drop() {
    let script = || {
        RecordingRunner::new()
            .expect(
                &["lvs"],
                lvs_reply("lvs-snapshots", &["web1-root"], |_, _| {}),
            )
            .expect(&["lvcreate"], CommandOutput::ok(""))
            .expect(
                &["lvs"],
                lvs_reply(
                    "lvs-snapshots",
                    &["web1-root", "web1-root.back"],
                    made_by_us,
                ),
            )
            .expect(
                &["lvremove"],
                CommandOutput::failed(
                    5,
                    "  Logical volume vgsnap/web1-root.back contains a filesystem in use.\n",
                ),
            )
    };
    let lvm = Lvm::new(script(), test_owner());
    let snapshot = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap();
    let error = snapshot.remove().unwrap_err();
    assert!(
        error.to_string().contains("contains a filesystem in use"),
        "{error}"
    );
    assert_eq!(
        lvm.runner().calls().len(),
        4,
        "remove does not retry in Drop"
    );

    let lvm = Lvm::new(script(), test_owner());
    drop(
        lvm.snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
            .unwrap(),
    );
    assert_eq!(lvm.runner().calls().len(), 4);
}

#[test]
fn a_missing_origin_is_an_error_before_anything_is_made() {
    let runner =
        RecordingRunner::new().expect(&["lvs"], lvs_reply("lvs-snapshots", &["pool"], |_, _| {}));
    let lvm = Lvm::new(runner, test_owner());
    let error = lvm
        .snapshot(&origin(), "web1-root.back", SnapshotSize::Bytes(8 << 20))
        .unwrap_err();
    assert!(
        matches!(&error, LvmError::NotFound { lv, .. } if lv == "web1-root"),
        "{error}"
    );
}

#[test]
fn stale_lists_our_snapshots_whose_owner_is_gone() {
    let this = Owner::this_process().unwrap();
    let reply = lvs_reply(
        "lvs-snapshots",
        &[
            "web1-root",
            "web1-root.back",
            "thin1",
            "thin1.back",
            "thin1.skip",
        ],
        |name, row| {
            // thin1.back belongs to this (running) process; web1-root.back to the guest's
            if name == "thin1.back" {
                set(row, "lv_tags", &format!("vmtoolkit,{}", this.tag()));
            }
        },
    );
    let lvm = Lvm::new(RecordingRunner::new().expect(&["lvs"], reply), this.clone());
    let stale: Vec<String> = lvm.stale(VG).unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(stale, ["web1-root.back"]);
}
