//! The default boot entry and RHEL 8's `kernelopts`, applied to synthetic roots whose grub
//! environment blocks the real `grub-editenv` wrote, and read back by `grub-editenv list`
//! (an independent reader: it refuses a block that is not exactly 1024 bytes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use guest_fixup::apply::ApplyContext;
use guest_fixup::{DirFs, PlanOptions, RecordingRunner, apply, inspect, plan, undo};

use super::synthetic::{self, Root};

/// `grub-editenv FILE list` as `name -> value`.
fn editenv_list(file: &Path) -> BTreeMap<String, String> {
    let output = Command::new("grub-editenv")
        .arg(file)
        .arg("list")
        .output()
        .expect("grub-editenv (grub-common): run scripts/install-test-deps");
    assert!(
        output.status.success(),
        "grub-editenv list {}",
        file.display()
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn apply_with_recording_runners(
    dir: &Path,
    direction: &str,
    facts: &guest_fixup::DiskFacts,
    use_uuid: bool,
) -> String {
    let guest = DirFs::new(dir);
    let found = inspect(&guest).unwrap();
    let options = PlanOptions {
        use_uuid,
        ..PlanOptions::default()
    };
    let planned = plan(&guest, &found, facts, &direction.parse().unwrap(), &options).unwrap();
    let (chroot, host) = (RecordingRunner::new(), RecordingRunner::new());
    let cx = ApplyContext {
        guest: &chroot,
        host: &host,
        disks: vec!["/dev/loop9".into()],
        host_names: vec![],
    };
    apply(&guest, &planned, &cx).unwrap();
    planned.diff()
}

#[test]
fn rhel8_kernelopts_in_grubenv_are_rewritten_and_grub_still_reads_the_block() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::rhel8(&Root { dir: dir.path() });
    let grubenv = dir.path().join("boot/grub2/grubenv");
    let before = std::fs::read(&grubenv).unwrap();
    let old = editenv_list(&grubenv);
    apply_with_recording_runners(
        dir.path(),
        "xen-pv->kvm-virtio",
        &synthetic::rhel8_facts(),
        true,
    );
    assert_eq!(std::fs::metadata(&grubenv).unwrap().len(), 1024);
    let new = editenv_list(&grubenv);
    assert_eq!(
        new["kernelopts"],
        "root=UUID=3f0e8c2a-7b6d-4e5f-a1b2-c3d4e5f60718 ro crashkernel=auto \
         resume=UUID=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d console=tty0 console=ttyS0,115200"
    );
    assert_eq!(new["saved_entry"], old["saved_entry"]);
    assert_eq!(new["boot_success"], "0");
    assert_eq!(new.len(), old.len());
    undo(&DirFs::new(dir.path())).unwrap();
    assert_eq!(std::fs::read(&grubenv).unwrap(), before);
}

#[test]
fn without_uuids_kernelopts_get_the_virtio_names() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::rhel8(&Root { dir: dir.path() });
    apply_with_recording_runners(
        dir.path(),
        "xen-pv->kvm-virtio",
        &synthetic::rhel8_facts(),
        false,
    );
    let new = editenv_list(&dir.path().join("boot/grub2/grubenv"));
    assert_eq!(
        new["kernelopts"],
        "root=/dev/vda1 ro crashkernel=auto resume=/dev/vda2 console=tty0 console=ttyS0,115200"
    );
}

#[test]
fn a_saved_default_on_a_xen_only_kernel_moves_to_a_kernel_that_boots_on_kvm() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::sles12_xen_default(&Root { dir: dir.path() });
    let grubenv = dir.path().join("boot/grub2/grubenv");
    assert_eq!(editenv_list(&grubenv)["saved_entry"], "SLES 12-SP1");
    apply_with_recording_runners(
        dir.path(),
        "xen-pv->kvm-virtio",
        &guest_fixup::DiskFacts::default(),
        false,
    );
    assert_eq!(
        editenv_list(&grubenv)["saved_entry"],
        "gnulinux-advanced-6c4f1a52-5d39-4f3e-9d0b-0a1b2c3d4e5f>\
         gnulinux-3.12.49-11-default-advanced-6c4f1a52-5d39-4f3e-9d0b-0a1b2c3d4e5f"
    );
    // The new default is an entry grub can find again in the (regenerated) menu.
    let found = inspect(&DirFs::new(dir.path())).unwrap();
    let menu = &found.bootloaders[0].menu;
    let chosen = menu
        .iter()
        .find(|e| e.is_named_by(&editenv_list(&grubenv)["saved_entry"]))
        .unwrap();
    assert_eq!(chosen.kernel.as_deref(), Some("3.12.49-11-default"));
}

/// A Debian guest whose newest kernel is a Xen-only flavour: `GRUB_DEFAULT=0` boots it.
fn debian_with_a_xen_kernel(root: &Root<'_>) {
    synthetic::debian12_pv(root);
    let u = "5aa29e8d-0000-4000-8000-000000000001";
    let entry = |title: &str, id: &str, version: &str| {
        format!(
            "menuentry '{title}' --class debian $menuentry_id_option '{id}' {{\n\tlinux\t/boot/vmlinuz-{version} root=/dev/xvda1 ro console=hvc0\n}}\n"
        )
    };
    let cfg = format!(
        "if [ \"${{next_entry}}\" ] ; then\n   set default=\"${{next_entry}}\"\nelse\n   set default=\"0\"\nfi\n{}submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-{u}' {{\n{}{}}}\n",
        entry(
            "Debian GNU/Linux",
            &format!("gnulinux-simple-{u}"),
            "6.1.0-50-xen"
        ),
        entry(
            "Debian GNU/Linux, with Linux 6.1.0-50-xen",
            &format!("gnulinux-6.1.0-50-xen-advanced-{u}"),
            "6.1.0-50-xen"
        ),
        entry(
            "Debian GNU/Linux, with Linux 6.1.0-50-amd64",
            &format!("gnulinux-6.1.0-50-amd64-advanced-{u}"),
            "6.1.0-50-amd64"
        ),
    );
    root.file("/boot/grub/grub.cfg", &cfg)
        .file("/boot/vmlinuz-6.1.0-50-xen", "a xenified kernel")
        .file("/boot/config-6.1.0-50-xen", "CONFIG_X86_64_XEN=y\n");
}

/// The Debian guest's disk facts, its wiped swap partition "attached" for the recorded mkswap.
fn debian_facts() -> guest_fixup::DiskFacts {
    let mut facts = synthetic::debian12_pv_facts();
    facts.volumes[1].host_device = Some("/dev/loop9p5".into());
    facts
}

#[test]
fn a_numbered_default_on_a_xen_only_kernel_becomes_the_id_of_one_that_boots() {
    let dir = tempfile::tempdir().unwrap();
    debian_with_a_xen_kernel(&Root { dir: dir.path() });
    let id = "gnulinux-advanced-5aa29e8d-0000-4000-8000-000000000001>\
              gnulinux-6.1.0-50-amd64-advanced-5aa29e8d-0000-4000-8000-000000000001";
    let diff =
        apply_with_recording_runners(dir.path(), "xen-pv->kvm-virtio", &debian_facts(), false);
    assert!(
        diff.contains("the default boot entry `Debian GNU/Linux` boots 6.1.0-50-xen"),
        "{diff}"
    );
    let defaults = std::fs::read_to_string(dir.path().join("etc/default/grub")).unwrap();
    assert!(
        defaults.contains(&format!("GRUB_DEFAULT=\"{id}\"\n")),
        "{defaults}"
    );
    let cfg = std::fs::read_to_string(dir.path().join("boot/grub/grub.cfg")).unwrap();
    assert!(cfg.contains(&format!("   set default=\"{id}\"\n")), "{cfg}");
    assert!(cfg.contains("set default=\"${next_entry}\""), "{cfg}");
    // Converting back to Xen PV leaves the default alone: the amd64 kernel runs there too.
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let back = plan(
        &guest,
        &found,
        &synthetic::debian12_pv_facts(),
        &"kvm->xen-pv".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(
        !back.diff().contains("default boot entry"),
        "{}",
        back.diff()
    );
}

#[test]
fn a_default_that_already_boots_on_the_target_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root { dir: dir.path() };
    debian_with_a_xen_kernel(&root);
    root.file(
        "/etc/default/grub",
        "GRUB_DEFAULT=\"1>Debian GNU/Linux, with Linux 6.1.0-50-amd64\"\nGRUB_CMDLINE_LINUX=\"console=hvc0\"\n",
    );
    let diff =
        apply_with_recording_runners(dir.path(), "xen-pv->kvm-virtio", &debian_facts(), false);
    assert!(!diff.contains("default boot entry"), "{diff}");
}
