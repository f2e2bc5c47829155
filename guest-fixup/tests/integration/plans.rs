//! Golden plans of the synthetic roots: the rendered plan (diff, steps, warnings) must match
//! `tests/golden/NAME.plan` byte for byte. `GUEST_FIXUP_BLESS=1` rewrites the files.

use std::path::PathBuf;

use guest_fixup::{DirFs, GuestFixupError, PlanOptions, inspect, plan};

use super::synthetic::{self, Root};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.plan"))
}

#[test]
fn synthetic_roots_give_their_golden_plans() {
    let mut mismatches = Vec::new();
    for (name, (build, direction, facts, use_uuid)) in synthetic::scenarios() {
        let dir = tempfile::tempdir().unwrap();
        build(&Root { dir: dir.path() });
        let guest = DirFs::new(dir.path());
        let found = inspect(&guest).unwrap();
        let options = PlanOptions {
            use_uuid,
            ..PlanOptions::default()
        };
        let planned = plan(
            &guest,
            &found,
            &facts,
            &direction.parse().unwrap(),
            &options,
        )
        .unwrap();
        let text = planned.diff();
        let path = golden(name);
        if std::env::var_os("GUEST_FIXUP_BLESS").is_some() {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (GUEST_FIXUP_BLESS=1 writes it)", path.display()));
        if expected != text {
            mismatches.push(format!(
                "{name}:\n--- expected\n{expected}\n--- got\n{text}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn inspection_reads_each_distribution() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::centos5(&Root { dir: dir.path() }, true);
    let found = inspect(&DirFs::new(dir.path())).unwrap();
    assert_eq!(
        (found.os.id.as_str(), found.os.version.as_str()),
        ("centos", "5.11")
    );
    assert_eq!(found.kernels.len(), 2);
    assert!(found.kernels.iter().any(|k| k.xen_only));
    assert_eq!(
        found.bootloaders.len(),
        1,
        "grub.conf, menu.lst and /etc/grub.conf are one file"
    );
    assert_eq!(found.consoles, vec!["xvc0"]);
    assert_eq!(found.mac_pins.len(), 1);
    assert_eq!(found.swaps().count(), 1);

    let dir = tempfile::tempdir().unwrap();
    synthetic::sles11(&Root { dir: dir.path() });
    let found = inspect(&DirFs::new(dir.path())).unwrap();
    assert_eq!(
        (found.os.id.as_str(), found.os.version.as_str()),
        ("sles", "11.4")
    );

    let dir = tempfile::tempdir().unwrap();
    synthetic::rocky9(&Root { dir: dir.path() });
    let found = inspect(&DirFs::new(dir.path())).unwrap();
    assert_eq!(found.os.family, guest_fixup::inspect::Family::RedHat);
    assert_eq!(found.bootloaders[0].bls_entries.len(), 1);
    assert_eq!(
        found.bootloaders[0].defaults.as_deref(),
        Some("/etc/default/grub")
    );
}

#[test]
fn a_xen_only_guest_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::centos5(&Root { dir: dir.path() }, false);
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let before = std::fs::read(dir.path().join("etc/fstab")).unwrap();
    let error = plan(
        &guest,
        &found,
        &guest_fixup::DiskFacts::default(),
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap_err();
    let GuestFixupError::Refused { reasons } = &error else {
        panic!("{error}")
    };
    assert!(
        reasons[0].contains("2.6.18-398.el5xen: a Xen-only (xenified) kernel"),
        "{reasons:?}"
    );
    assert_eq!(std::fs::read(dir.path().join("etc/fstab")).unwrap(), before);
}

#[test]
fn a_guest_without_the_target_driver_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root { dir: dir.path() };
    synthetic::debian12_kvm(&root);
    // Replace the kernel by one built without Xen's block frontend.
    root.file(
        "/lib/modules/6.1.0-50-amd64/modules.dep",
        "kernel/drivers/block/virtio_blk.ko:\n",
    );
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let error = plan(
        &guest,
        &found,
        &guest_fixup::DiskFacts::default(),
        &"kvm->xen-pv".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("has no xen_blkfront driver"),
        "{error}"
    );
}

#[test]
fn a_swap_partition_holding_a_filesystem_is_never_formatted() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::debian12_pv(&Root { dir: dir.path() });
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let facts = synthetic::facts(
        true,
        true,
        &[
            (
                Some(1),
                guest_fixup::facts::Content::Filesystem("ext4".into()),
                Some("u1"),
                None,
                false,
            ),
            (
                Some(5),
                guest_fixup::facts::Content::Filesystem("ext4".into()),
                Some("u5"),
                None,
                true,
            ),
        ],
    );
    let error = plan(
        &guest,
        &found,
        &facts,
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("refusing to format it as swap"),
        "{error}"
    );
}

#[test]
fn a_missing_swap_uuid_switches_to_the_swap_area_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root { dir: dir.path() };
    synthetic::debian12_pv(&root);
    root.file(
        "/etc/fstab",
        "/dev/xvda1 / ext4 defaults 0 1\nUUID=old-swap none swap sw 0 0\n",
    );
    root.file(
        "/etc/initramfs-tools/conf.d/resume",
        "RESUME=UUID=old-swap\n",
    );
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let facts = synthetic::facts(
        true,
        true,
        &[
            (
                Some(1),
                guest_fixup::facts::Content::Filesystem("ext4".into()),
                Some("u1"),
                None,
                false,
            ),
            (
                Some(5),
                guest_fixup::facts::Content::Swap,
                Some("new-swap"),
                None,
                true,
            ),
        ],
    );
    let planned = plan(
        &guest,
        &found,
        &facts,
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    let text = planned.diff();
    assert!(text.contains("+UUID=new-swap none swap sw 0 0"), "{text}");
    assert!(text.contains("+RESUME=UUID=new-swap"), "{text}");
    assert!(!text.contains("mkswap"), "{text}");
}

/// Network configuration naming the Xen NIC (`enX0`, systemd's name for netfront) is warned
/// about with its file and line; names that do not come from the hardware (`eth0`, `lo`)
/// are not.
#[test]
fn an_interface_named_after_the_old_hardware_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root { dir: dir.path() };
    synthetic::debian12_pv(&root);
    root.file(
        "/etc/network/interfaces",
        "auto lo\niface lo inet loopback\n\nallow-hotplug enX0\niface enX0 inet dhcp\n",
    )
    .file(
        "/etc/systemd/network/10-wired.network",
        "[Match]\nName=eth0\n",
    );
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let names: Vec<(usize, &str)> = found
        .interface_names
        .iter()
        .map(|n| (n.line, n.name.as_str()))
        .collect();
    assert_eq!(names, [(4, "enX0"), (5, "enX0")]);
    let planned = plan(
        &guest,
        &found,
        &synthetic::debian12_pv_facts(),
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    let text = planned.diff();
    assert!(
        text.contains(
            "/etc/network/interfaces line 4 names the interface `enX0` after the old hardware"
        ),
        "{text}"
    );
    assert!(!text.contains("`eth0`"), "{text}");
}
