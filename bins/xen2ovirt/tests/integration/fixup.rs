//! `--fixup local` end to end: a real Debian guest image (built by guest-fixup's test recipe,
//! `guest-fixup/tests/support/guest-image.sh`, cached under `~/.cache/vmtoolkit`) laid out as
//! a Xen PV guest (`xvda`, console `hvc0`, pygrub-booted) is the disk of a PV VM of
//! xapi-sim; the real binary migrates it with `--fixup local`; the uploaded disk, downloaded
//! from ovirt-sim, boots in QEMU (TCG, virtio disk) to the marker its init prints. A failing
//! fix-up (a chroot command that fails) leaves no target, restarts the source it shut down,
//! removes the stage, and both audits stay clean. The boots share the nextest group
//! `guest-boot` with guest-fixup's (see `.config/nextest.toml`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use disk_image::{NoProgress, RawFileSink};
use guest_fixup::disk::{Guest, OpenOptions};
use ovirt_client::TransferSettings;
use ovirt_client::imageio::TransferOptions;
use xapi_sim::{DiskContents, NewDisk, NewVm};
use xenapi::records::PowerState;

use super::support::{Fixture, MAC, code, json};

/// A boot under TCG on two shared cores can take minutes when the machine is busy.
const BOOT_TIMEOUT: Duration = Duration::from_secs(420);
/// The guest image's size (guest-image.sh).
const IMAGE_SIZE: u64 = 2 << 30;

/// The cached image of guest-fixup's `xen-pv` layout.
fn cached_image(layout: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guest-fixup/tests/support/guest-image.sh");
    let output = Command::new(&script)
        .args(["image", layout])
        .output()
        .expect("guest-image.sh runs");
    assert!(
        output.status.success(),
        "building the {layout} guest image (scripts/install-test-deps installs its tools): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// A pool whose PV VM `web-01` (one NIC) has the Debian image as its only disk, `power`.
fn fixture(power: PowerState) -> Fixture {
    fixture_on(power, ovirt_sim::SimConfig::new())
}

/// The same, the engine started from `config`.
fn fixture_on(power: PowerState, config: ovirt_sim::SimConfig) -> Fixture {
    fixture_of("xen-pv", power, config)
}

/// A pool whose VM `web-01` (PV for `xen-pv`, HVM for `xen-hvm`; one NIC) has the Debian
/// image of that `layout` as its only disk, `power`, the engine started from `config`.
fn fixture_of(layout: &str, power: PowerState, config: ovirt_sim::SimConfig) -> Fixture {
    let mut vm = NewVm::new("web-01")
        .disk(NewDisk::new(
            "web-01 system",
            IMAGE_SIZE,
            DiskContents::Empty,
        ))
        .vif(MAC);
    vm.hvm = layout == "xen-hvm";
    vm.memory = 768 << 20;
    vm.power_state = power;
    let fixture = Fixture::with_engine(&vm, config);
    let status = Command::new("cp")
        .args(["--sparse=always", "--no-preserve=all"])
        .arg(cached_image(layout))
        .arg(fixture.source_disk(0))
        .status()
        .expect("run cp");
    assert!(status.success(), "copy the guest image into the VDI");
    fixture
}

/// The migration's flags for `--fixup local` with a private work directory and root.
fn fixup_args(dir: &Path) -> Vec<String> {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    [
        "--fixup",
        "local",
        "--work-dir",
        &work.display().to_string(),
        "--fixup-root",
        &dir.join("mnt").display().to_string(),
        "--storage-domain",
        "data1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Nothing is left in the work directory.
fn assert_stage_gone(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir.join("work"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the stage was left: {left:?}");
}

/// A QEMU process, killed on drop.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `image` on a virtio disk; the marker line, or the serial log's tail.
fn boot(image: &Path) -> Result<String, String> {
    let child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg,thread=multi", "-m", "768", "-smp", "2"])
        .args(["-nographic", "-no-reboot", "-nodefaults"])
        .args(["-serial", "stdio", "-net", "none", "-drive"])
        .arg(format!(
            "file={},if=virtio,format=raw,cache=unsafe",
            image.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64: run scripts/install-test-deps");
    let mut qemu = Qemu(child);
    let stdout = qemu.0.stdout.take().unwrap();
    let (lines, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut log: Vec<String> = Vec::new();
    while let Some(left) = BOOT_TIMEOUT.checked_sub(start.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("@@BOOTED") => return Ok(line),
            Ok(line) if line.contains("Gave up waiting for root") => {
                log.push(line);
                break;
            }
            Ok(line) => log.push(line),
            Err(_) => break,
        }
    }
    let tail = log[log.len().saturating_sub(15)..].join("\n");
    Err(format!("no marker after {:?}:\n{tail}", start.elapsed()))
}

#[test]
fn fixup_boot_a_pv_debian_guest_migrated_with_local_fixup_boots_on_virtio() {
    let fixture = fixture(PowerState::Halted);
    let dir = fixture.dir.path().to_path_buf();
    let mut args = fixup_args(&dir);
    args.extend(["--json", "--verify", "web-01"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["plan"]["target"]["os_type"], "debian_9", "{report}");
    let fixup = &report["plan"]["fixup"];
    assert_eq!(fixup["direction"], "xen-pv->kvm-virtio", "{fixup}");
    assert!(
        fixup["guest"].as_str().unwrap().contains("Debian"),
        "{fixup}"
    );
    assert!(fixup["diff"].as_str().unwrap().contains("vda1"), "{fixup}");
    assert_eq!(report["disks"][0]["verified"], true);
    assert_stage_gone(&dir);
    assert_eq!(fixture.source_power(), Some(PowerState::Halted));

    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the new VM");
    assert_eq!(vm.os.and_then(|o| o.os_type).as_deref(), Some("debian_9"));
    let disk = report["disks"][0]["id"].as_str().unwrap().to_owned();
    drop(engine); // its session is one of ours: the audit counts it
    download_and_boot(&fixture, &disk, &dir);
}

#[test]
fn fixup_boot_an_hvm_debian_guest_migrated_with_local_fixup_boots_on_virtio() {
    let fixture = fixture_of("xen-hvm", PowerState::Halted, ovirt_sim::SimConfig::new());
    let dir = fixture.dir.path().to_path_buf();
    let mut args = fixup_args(&dir);
    args.extend(["--json", "web-01"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    let fixup = &report["plan"]["fixup"];
    assert_eq!(fixup["direction"], "xen-hvm->kvm-virtio", "{fixup}");
    assert!(fixup["diff"].as_str().unwrap().contains("vda1"), "{fixup}");
    assert_stage_gone(&dir);
    let disk = report["disks"][0]["id"].as_str().unwrap().to_owned();
    download_and_boot(&fixture, &disk, &dir);
}

/// Downloads the migrated disk `disk` from the engine, checks both audits, and boots it
/// to the marker.
fn download_and_boot(fixture: &Fixture, disk: &str, dir: &Path) {
    let engine = fixture.engine();
    let image = dir.join("downloaded.raw");
    let file = std::fs::File::create(&image).unwrap();
    engine
        .download_disk(
            disk,
            IMAGE_SIZE,
            &mut RawFileSink::new(&file, "download"),
            &TransferOptions::default(),
            &TransferSettings::default(),
            &NoProgress,
        )
        .expect("download the migrated disk");
    drop((file, engine));
    fixture.assert_clean();
    let marker = boot(&image).unwrap_or_else(|log| panic!("the migrated guest: {log}"));
    assert!(marker.contains("root=/dev/vda1 swaps=1"), "{marker}");
}

#[test]
fn fixup_boot_the_same_guest_fixed_on_the_appliance_boots_on_virtio() {
    let by_id = tempfile::tempdir().unwrap();
    let mut config = ovirt_sim::SimConfig::demo();
    config.by_id_dir = by_id.path().to_path_buf();
    let fixture = fixture_on(PowerState::Halted, config);
    let dir = fixture.dir.path().to_path_buf();
    let engine = fixture.engine();
    let appliance = engine
        .find_vm(ovirt_sim::APPLIANCE_VM, false)
        .unwrap()
        .and_then(|vm| vm.id)
        .expect("the demo's appliance");
    let before = engine.attachments(&appliance).unwrap().len();
    let output = fixture.run(&[
        "--fixup",
        "appliance",
        "--appliance-vm",
        &appliance,
        "--by-id-dir",
        &by_id.path().display().to_string(),
        "--fixup-root",
        &dir.join("mnt").display().to_string(),
        "--storage-domain",
        "data1",
        "--json",
        "web-01",
    ]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    let fixup = &report["plan"]["fixup"];
    assert_eq!(fixup["mode"], "appliance", "{fixup}");
    assert!(fixup["diff"].as_str().unwrap().contains("vda1"), "{fixup}");
    // Only what the run attached was detached: the appliance has what it had.
    assert_eq!(engine.attachments(&appliance).unwrap().len(), before);
    let vm = report["vm_id"].as_str().unwrap();
    // Made before the inspection, the VM gets the inspected OS type afterwards.
    let os = engine.vm(vm, false).unwrap().os.and_then(|o| o.os_type);
    assert_eq!(os.as_deref(), Some("debian_9"));
    let attachments = engine.attachments(vm).unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].bootable, Some(true));
    let links: Vec<_> = std::fs::read_dir(by_id.path())
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(links.is_empty(), "by-id links left: {links:?}");
    let disk = report["disks"][0]["id"].as_str().unwrap().to_owned();
    drop(engine);
    download_and_boot(&fixture, &disk, &dir);
}

/// The guest's `update-initramfs` replaced by one that fails: the fix-up's chroot step
/// fails.
fn break_initramfs_tool(image: &Path, root: &Path) {
    let guest = Guest::open(
        &[image.to_path_buf()],
        &OpenOptions {
            read_only: false,
            root: root.to_path_buf(),
        },
    )
    .expect("open the guest");
    std::fs::write(
        guest.root().join("usr/sbin/update-initramfs"),
        "#!/bin/sh\necho 'update-initramfs: broken on purpose' >&2\nexit 1\n",
    )
    .expect("replace update-initramfs");
    guest.close().expect("close the guest");
}

#[test]
fn a_failing_fixup_leaves_no_target_restarts_the_source_and_removes_the_stage() {
    let fixture = fixture(PowerState::Running);
    let dir = fixture.dir.path().to_path_buf();
    break_initramfs_tool(&fixture.source_disk(0), &dir.join("mnt-break"));
    let mut args = fixup_args(&dir);
    args.extend(["--shutdown", "web-01"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fixing the guest up for KVM"), "{stderr}");
    assert!(
        fixture.engine().vms(None).unwrap().is_empty(),
        "the failed migration left a VM"
    );
    assert_eq!(fixture.source_power(), Some(PowerState::Running));
    assert_stage_gone(&dir);
    fixture.assert_clean();
}

/// A mount of this test's, unmounted on drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_work_directory_too_small_is_refused_before_anything_is_read() {
    let fixture = fixture(PowerState::Halted);
    let dir = fixture.dir.path().to_path_buf();
    // A 64 MiB tmpfs cannot take the guest's data.
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "xen2ovirt-test"])
        .arg(&work)
        .status()
        .expect("run mount");
    assert!(mounted.success(), "mount a tmpfs");
    let _unmount = Unmount(work.clone());
    let mut args = fixup_args(&dir);
    args.push("web-01".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("choose another with --work-dir"),
        "{stderr}"
    );
    assert_stage_gone(&dir);
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}

/// Disks without a Linux root (as a Windows guest's are, to guest-fixup): refused, with
/// what to do, and nothing made.
#[test]
fn a_guest_without_linux_is_refused_with_what_to_do() {
    let fixture = Fixture::new();
    let dir = fixture.dir.path().to_path_buf();
    let mut args = fixup_args(&dir);
    args.push("web-01".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the guest is not Linux"), "{stderr}");
    assert!(stderr.contains("--no-fixup"), "{stderr}");
    assert_stage_gone(&dir);
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}

/// On the appliance, a failing fix-up detaches what it attached, and the new VM goes with
/// its uploaded disks (floating until then).
#[test]
fn a_failing_fixup_on_the_appliance_detaches_and_removes_everything_it_made() {
    let by_id = tempfile::tempdir().unwrap();
    let mut config = ovirt_sim::SimConfig::demo();
    config.by_id_dir = by_id.path().to_path_buf();
    let fixture = fixture_on(PowerState::Halted, config);
    let dir = fixture.dir.path().to_path_buf();
    break_initramfs_tool(&fixture.source_disk(0), &dir.join("mnt-break"));
    let engine = fixture.engine();
    let appliance = engine
        .find_vm(ovirt_sim::APPLIANCE_VM, false)
        .unwrap()
        .and_then(|vm| vm.id)
        .expect("the demo's appliance");
    let vms_before = engine.vms(None).unwrap().len();
    let disks_before = engine.attachments(&appliance).unwrap().len();
    let output = fixture.run(&[
        "--fixup",
        "appliance",
        "--appliance-vm",
        &appliance,
        "--by-id-dir",
        &by_id.path().display().to_string(),
        "--fixup-root",
        &dir.join("mnt").display().to_string(),
        "--storage-domain",
        "data1",
        "web-01",
    ]);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken on purpose"), "{stderr}");
    assert_eq!(engine.vms(None).unwrap().len(), vms_before, "a VM was left");
    assert!(engine.find_vm("web-01", false).unwrap().is_none());
    assert_eq!(engine.attachments(&appliance).unwrap().len(), disks_before);
    drop(engine);
    assert_eq!(fixture.source_power(), Some(PowerState::Halted));
    fixture.assert_clean();
}

/// `--dry-run --fixup local` stages and inspects the guest to show the fix-up as a diff and
/// the inspected OS type, and makes nothing.
#[test]
fn a_dry_run_shows_the_fixup_as_a_diff_and_makes_nothing() {
    let fixture = fixture(PowerState::Halted);
    let dir = fixture.dir.path().to_path_buf();
    let mut args = fixup_args(&dir);
    args.extend(["--dry-run", "web-01"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fixture.run(&args);
    assert_eq!(code(&output), 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("fix-up: local"), "{stdout}");
    assert!(
        stdout.contains("rename /dev/xvda1 -> /dev/vda1"),
        "{stdout}"
    );
    assert!(stdout.contains("--- a/etc/fstab"), "{stdout}");
    assert!(stdout.contains("target OS type: debian_9"), "{stdout}");
    assert_stage_gone(&dir);
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    let same = Command::new("cmp")
        .arg(cached_image("xen-pv"))
        .arg(fixture.source_disk(0))
        .status()
        .expect("run cmp");
    assert!(same.success(), "the source disk changed");
    fixture.assert_clean();
}
