//! Apply and undo on a synthetic root with a recording runner: every edited file is kept
//! beside itself, the steps run in order with the guest's kernel versions, a failing step
//! stops the apply with its error, and undo restores every byte.

use std::collections::BTreeMap;
use std::path::Path;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use guest_fixup::apply::ApplyContext;
use guest_fixup::{
    CommandRunner, DirFs, GuestFixupError, PlanOptions, RecordingRunner, apply, inspect, plan, undo,
};

use super::synthetic::{self, Root};

/// Every file under `dir` with its bytes (symlinks as their targets).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let key = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_symlink() {
                out.insert(
                    key,
                    std::fs::read_link(entry.path())
                        .unwrap()
                        .display()
                        .to_string()
                        .into_bytes(),
                );
            } else {
                out.insert(key, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn apply_runs_the_guest_tools_and_undo_restores_every_file() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::debian12_pv(&Root { dir: dir.path() });
    let before = snapshot(dir.path());
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let mut facts = synthetic::debian12_pv_facts();
    facts.volumes[1].host_device = Some("/dev/loop9p5".into());
    let planned = plan(
        &guest,
        &found,
        &facts,
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    let chroot = RecordingRunner::new();
    let host = RecordingRunner::new();
    let cx = ApplyContext {
        guest: &chroot,
        host: &host,
        disks: vec!["/dev/loop9".into()],
        host_names: vec![],
    };
    let applied = apply(&guest, &planned, &cx).unwrap();
    assert_eq!(applied.ran.len(), planned.steps.len());
    let fstab = std::fs::read_to_string(dir.path().join("etc/fstab")).unwrap();
    assert!(fstab.contains("/dev/vda1 / ext4"), "{fstab}");
    assert!(dir.path().join("etc/fstab.guest-fixup-orig").exists());
    let words =
        |calls: Vec<Vec<String>>| calls.into_iter().map(|c| c.join(" ")).collect::<Vec<_>>();
    assert_eq!(words(host.calls()), vec!["mkswap /dev/loop9p5"]);
    // grub-install runs beside the other steps; those run in order.
    let calls = words(chroot.calls());
    assert_eq!(
        calls
            .iter()
            .filter(|c| !c.contains("grub-install"))
            .collect::<Vec<_>>(),
        vec![
            "/usr/sbin/update-initramfs -u -k 6.1.0-50-amd64",
            "/usr/sbin/grub-mkconfig -o /boot/grub/grub.cfg",
        ]
    );
    assert!(calls.contains(&"/usr/sbin/grub-install --target=i386-pc /dev/loop9".to_owned()));
    assert_eq!(calls.len(), 3);
    assert!(guest_fixup::apply::is_applied(&guest).unwrap());
    assert!(
        apply(&guest, &planned, &cx).is_err(),
        "a second apply over the first is refused"
    );
    undo(&guest).unwrap();
    assert_eq!(
        snapshot(dir.path())
            .into_iter()
            .filter(|(k, _)| !k.starts_with("var/lib/guest-fixup"))
            .collect::<BTreeMap<_, _>>(),
        before
    );
}

#[test]
fn a_failing_chroot_command_stops_the_apply_and_undo_still_restores() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::centos6(&Root { dir: dir.path() });
    let before = snapshot(dir.path());
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let planned = plan(
        &guest,
        &found,
        &guest_fixup::DiskFacts::default(),
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    let chroot = RecordingRunner::new().fail("/sbin/dracut");
    let host = RecordingRunner::new();
    let cx = ApplyContext {
        guest: &chroot,
        host: &host,
        disks: vec![],
        host_names: vec![],
    };
    let error = apply(&guest, &planned, &cx).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("/sbin/dracut -f --add-drivers virtio_pci virtio_blk"),
        "{error}"
    );
    undo(&guest).unwrap();
    let after: BTreeMap<_, _> = snapshot(dir.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("var"))
        .collect();
    assert_eq!(after, before);
}

#[test]
fn undo_without_a_journal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        undo(&DirFs::new(dir.path()))
            .unwrap_err()
            .to_string()
            .contains("no journal")
    );
}

/// A chroot runner whose grub-mkconfig waits (up to 30 s) for grub-install to have started, and
/// whose grub-install waits for grub-mkconfig to have started: only an apply that runs them
/// side by side gets both done.
#[derive(Default)]
struct Rendezvous {
    started: Mutex<Vec<String>>,
    changed: Condvar,
}

impl Rendezvous {
    fn meet(&self, me: &str, other: &str) -> bool {
        let mut started = self.started.lock().unwrap();
        started.push(me.to_owned());
        self.changed.notify_all();
        let (started, _) = self
            .changed
            .wait_timeout_while(started, Duration::from_secs(30), |s| {
                !s.iter().any(|p| p == other)
            })
            .unwrap();
        started.iter().any(|p| p == other)
    }
}

impl CommandRunner for Rendezvous {
    fn run(&self, argv: &[String]) -> guest_fixup::Result<String> {
        let program = argv[0].rsplit('/').next().unwrap();
        let other = match program {
            "grub-mkconfig" => "grub-install",
            "grub-install" => "grub-mkconfig",
            _ => return Ok(String::new()),
        };
        if self.meet(program, other) {
            Ok(String::new())
        } else {
            Err(GuestFixupError::Command {
                command: argv.join(" "),
                outcome: format!("never ran beside {other}"),
                stderr: String::new(),
            })
        }
    }
}

#[test]
fn grub_install_runs_beside_the_other_steps() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::debian12_pv(&Root { dir: dir.path() });
    let guest = DirFs::new(dir.path());
    let found = inspect(&guest).unwrap();
    let mut facts = synthetic::debian12_pv_facts();
    facts.volumes[1].host_device = Some("/dev/loop9p5".into());
    let planned = plan(
        &guest,
        &found,
        &facts,
        &"xen-pv->kvm-virtio".parse().unwrap(),
        &PlanOptions::default(),
    )
    .unwrap();
    let chroot = Rendezvous::default();
    let host = RecordingRunner::new();
    let cx = ApplyContext {
        guest: &chroot,
        host: &host,
        disks: vec!["/dev/loop9".into()],
        host_names: vec![],
    };
    let applied = apply(&guest, &planned, &cx).unwrap();
    assert_eq!(applied.ran.len(), planned.steps.len());
    assert!(
        applied.ran.last().unwrap().contains("grub-install"),
        "{:?}",
        applied.ran
    );
}
