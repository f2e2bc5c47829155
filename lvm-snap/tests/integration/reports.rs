//! Real `lvs` / `vgs` JSON, decoded.

use lvm_snap::{Fill, Health, LvState, Lvm, LvmError, RecordingRunner, VolumeRef, VolumeType};

use super::fixtures::{VG, capture, test_owner};

#[test]
fn the_command_lines_are_the_ones_captured_in_the_guest() {
    let runner = RecordingRunner::new()
        .expect(&["lvs"], capture("lvs-snapshots").output)
        .expect(&["vgs"], capture("vgs").output);
    let lvm = Lvm::new(runner, test_owner());
    lvm.volumes(VG).unwrap();
    lvm.volume_groups().unwrap();
    assert_eq!(
        lvm.runner().calls(),
        [capture("lvs-snapshots").argv, capture("vgs").argv]
    );
}

#[test]
fn volumes_decode_origin_thick_and_thin_snapshots_and_the_pool() {
    let lvm = Lvm::new(
        RecordingRunner::new().expect(&["lvs"], capture("lvs-snapshots").output),
        test_owner(),
    );
    let volumes = lvm.volumes(VG).unwrap();
    let find = |name: &str| {
        volumes
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };

    let origin = find("web1-root");
    assert_eq!(origin.attr.volume_type, VolumeType::Origin);
    assert_eq!(
        origin.attr.open,
        Some(true),
        "the origin is mounted in the guest"
    );
    assert!(origin.active && !origin.is_snapshot() && !origin.is_ours());
    assert_eq!(origin.size, 64 << 20);
    assert_eq!(origin.path.to_str(), Some("/dev/vgsnap/web1-root"));
    assert!(origin.device_number.is_some());

    let thick = find("web1-root.back");
    assert!(thick.is_snapshot() && thick.is_ours() && !thick.is_thin());
    assert_eq!(thick.origin.as_deref(), Some("web1-root"));
    assert_eq!(thick.origin_size, Some(64 << 20));
    assert_eq!(thick.size, 8 << 20);
    assert!(thick.snap_percent.is_some_and(|p| p < 100.0));
    assert!(!thick.attr.invalid());
    let owner = thick.owner().expect("an owner tag");
    assert!(owner.pid() > 0 && owner.started() > 0);
    assert_eq!(
        thick.dm_path.to_str(),
        Some("/dev/mapper/vgsnap-web1--root.back")
    );

    let thin = find("thin1.back");
    assert!(thin.is_snapshot() && thin.is_thin() && thin.is_ours() && thin.active);
    assert_eq!(thin.pool.as_deref(), Some("pool"));
    assert!(
        !thin.attr.skip_activation,
        "-kn cleared the activation-skip flag"
    );

    let skipped = find("thin1.skip");
    assert!(skipped.is_snapshot() && !skipped.is_ours() && !skipped.active);
    assert!(skipped.attr.skip_activation);
    assert_eq!(skipped.attr.state, LvState::Inactive);
    assert_eq!(skipped.device_number, None);

    let pool = find("pool");
    assert_eq!(pool.attr.volume_type, VolumeType::ThinPool);
    assert_eq!(pool.attr.health, Health::Ok);
    assert!(pool.data_percent.is_some() && pool.metadata_percent.is_some());
}

#[test]
fn volume_groups_decode() {
    let lvm = Lvm::new(
        RecordingRunner::new().expect(&["vgs"], capture("vgs").output),
        test_owner(),
    );
    let groups = lvm.volume_groups().unwrap();
    let group = groups.iter().find(|g| g.name == VG).expect("vgsnap");
    assert_eq!(group.extent_size, 4 << 20);
    assert_eq!(group.size, group.extent_count * group.extent_size);
    assert_eq!(group.free, group.free_count * group.extent_size);
    assert!(group.lv_count >= 5 && group.snap_count >= 1);
}

#[test]
fn a_failing_lvs_is_an_error_with_its_stderr_although_its_json_is_well_formed() {
    let failed = capture("lvs-missing-vg").output;
    assert_eq!(failed.code, Some(5));
    assert!(
        failed.stdout.contains("\"lv\": ["),
        "lvm2 prints an empty report: {}",
        failed.stdout
    );
    let lvm = Lvm::new(
        RecordingRunner::new().expect(&["lvs"], failed.clone()),
        test_owner(),
    );
    match lvm.volumes("nosuchvg").unwrap_err() {
        LvmError::Command {
            target,
            code,
            stderr,
            ..
        } => {
            assert_eq!((target.as_str(), code), ("nosuchvg", Some(5)));
            assert_eq!(stderr, failed.stderr);
            assert!(stderr.contains("nosuchvg"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_overflowed_snapshot_is_invalid_at_100_percent() {
    let lvm = Lvm::new(
        RecordingRunner::new().expect(&["lvs"], capture("lvs-overflowed").output),
        test_owner(),
    );
    let volume = lvm
        .volume(&VolumeRef::new("vgfail", "ovf.back").unwrap())
        .unwrap()
        .unwrap();
    assert!(volume.attr.invalid());
    assert_eq!(volume.attr.state, LvState::InvalidSnapshot);
    assert_eq!(volume.snap_percent, Some(100.0));
}

#[test]
fn fill_levels_say_when_a_snapshot_overflowed() {
    let thick = Fill::CopyOnWrite {
        percent: 3.5,
        invalid: false,
        merge_failed: false,
    };
    assert!(!thick.overflowed());
    assert_eq!(thick.to_string(), "3.50% of its copy-on-write space used");
    assert!(
        Fill::CopyOnWrite {
            percent: 100.0,
            invalid: true,
            merge_failed: false
        }
        .overflowed()
    );
    assert!(
        Fill::CopyOnWrite {
            percent: 10.0,
            invalid: false,
            merge_failed: true
        }
        .overflowed()
    );
    let thin = Fill::Thin {
        pool: "pool".into(),
        pool_percent: 40.0,
        pool_health: Health::Ok,
    };
    assert!(!thin.overflowed());
    let full = Fill::Thin {
        pool: "pool".into(),
        pool_percent: 99.0,
        pool_health: Health::OutOfData,
    };
    assert!(full.overflowed());
    assert_eq!(
        full.to_string(),
        "thin pool pool 99.00% full, pool health OutOfData"
    );
}
