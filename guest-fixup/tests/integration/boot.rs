//! The proof: real Debian guests (built by `tests/support/guest-image.sh` with debootstrap,
//! cached by recipe) laid out as they were on Xen, fixed, and booted in QEMU (TCG, virtio
//! disk, serial console) to the marker their init prints, with swap active. The unfixed copy
//! of the HVM guest, whose boot loader works, must not reach the marker. The boots share the
//! nextest test group `guest-boot` (one at a time, see `.config/nextest.toml`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use guest_fixup::{FixOptions, PlanOptions, fix};

use super::devices::assert_released;

/// A boot under TCG on two shared cores can take minutes when the machine is busy.
const BOOT_TIMEOUT: Duration = Duration::from_secs(420);
/// The unfixed guest normally ends sooner, when its initramfs gives up on the root device.
const UNFIXED_TIMEOUT: Duration = Duration::from_secs(240);

pub fn cached_image(layout: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/guest-image.sh");
    let output = Command::new(&script)
        .args(["image", layout])
        .output()
        .expect("guest-image.sh runs");
    assert!(
        output.status.success(),
        "building the {layout} image: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

pub fn copy(image: &Path, dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    let status = Command::new("cp")
        .arg("--sparse=always")
        .arg(image)
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    target
}

/// A QEMU process, killed on drop.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `image`; returns the marker line, or `None` with the serial log's tail.
fn boot(image: &Path, timeout: Duration) -> Result<String, String> {
    let child = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "tcg,thread=multi",
            "-m",
            "768",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-nodefaults",
        ])
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
    while let Some(left) = timeout.checked_sub(start.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("@@BOOTED") => return Ok(line),
            // initramfs-tools gave up on the root device (rootdelay=10), or grub refused the
            // default kernel: it will never boot.
            Ok(line)
                if line.contains("Gave up waiting for root")
                    || line.contains("Failed to boot both default and fallback entries") =>
            {
                log.push(line);
                break;
            }
            Ok(line) => log.push(line),
            Err(_) => break,
        }
    }
    let tail = log
        .iter()
        .rev()
        .take(15)
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    Err(format!("no marker after {:?}:\n{tail}", start.elapsed()))
}

/// Copies the cached `layout` image, fixes the copy for `direction`, checks every loop device
/// and mount is released, and boots it to the marker with swap active.
fn fix_and_boot(dir: &Path, layout: &str, direction: &str) -> (PathBuf, String) {
    let image = copy(&cached_image(layout), dir, &format!("{layout}.img"));
    let options = FixOptions {
        plan: PlanOptions::default(),
        dry_run: false,
        root: dir.join(format!("mnt-{layout}")),
    };
    let report = fix(
        std::slice::from_ref(&image),
        &direction.parse().unwrap(),
        &options,
    )
    .unwrap_or_else(|e| panic!("{layout}: {e}"));
    assert_released(&image, dir);
    let diff = report.plan.diff();
    eprintln!("{layout}:\n{diff}");
    let marker = boot(&image, BOOT_TIMEOUT).unwrap_or_else(|log| panic!("{layout} (fixed): {log}"));
    assert!(
        marker.contains("root=/dev/vda1 swaps=1"),
        "{layout}: {marker}"
    );
    (image, diff)
}

#[test]
fn a_pygrub_booted_xen_pv_guest_boots_on_kvm_after_the_fix_and_converts_back() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = fix_and_boot(dir.path(), "xen-pv", "xen-pv->kvm-virtio");
    back_to_xen(&image, dir.path());
}

#[test]
fn a_xen_hvm_guest_boots_on_kvm_only_after_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let unfixed = copy(&cached_image("xen-hvm"), dir.path(), "unfixed.img");
    match boot(&unfixed, UNFIXED_TIMEOUT) {
        Ok(marker) => panic!("the unfixed xen-hvm image booted: {marker}"),
        Err(log) => eprintln!("unfixed xen-hvm, as expected: {log}"),
    }
    fix_and_boot(dir.path(), "xen-hvm", "xen-hvm->kvm-virtio");
}

/// This guest's grub default boots a Xen-only kernel (sorted first by grub-mkconfig): the
/// marker is only reached if the fix moved the default to the kernel that runs on KVM.
#[test]
fn a_xen_pv_guest_on_xfs_with_uuids_a_wiped_swap_and_a_xen_only_default_boots_on_kvm_after_the_fix()
{
    let dir = tempfile::tempdir().unwrap();
    let unfixed = copy(&cached_image("xen-pv-xfs"), dir.path(), "unfixed.img");
    match boot(&unfixed, UNFIXED_TIMEOUT) {
        Ok(marker) => panic!("the unfixed xen-pv-xfs image booted: {marker}"),
        Err(log) => assert!(
            log.contains("-xen ...") && log.contains("Failed to boot both default"),
            "grub's default entry is the Xen-only kernel: {log}"
        ),
    }
    let (_, diff) = fix_and_boot(dir.path(), "xen-pv-xfs", "xen-pv->kvm-virtio");
    assert!(
        diff.contains("+GRUB_DEFAULT=\"gnulinux-advanced-"),
        "the default entry moved: {diff}"
    );
}

/// kvm -> xen-pv on the fixed image, checked by inspecting the result (no Xen here).
fn back_to_xen(image: &Path, dir: &Path) {
    let options = FixOptions {
        root: dir.join("mnt-back"),
        ..FixOptions::default()
    };
    let report = fix(
        &[image.to_path_buf()],
        &"kvm->xen-pv".parse().unwrap(),
        &options,
    )
    .unwrap();
    assert_released(image, dir);
    let diff = report.plan.diff();
    assert!(diff.contains("console=hvc0"), "{diff}");
    let check = FixOptions {
        dry_run: true,
        root: dir.join("mnt-check"),
        ..FixOptions::default()
    };
    let after = fix(
        &[image.to_path_buf()],
        &"kvm->xen-pv".parse().unwrap(),
        &check,
    )
    .unwrap();
    let kernel = after
        .inspection
        .kernels
        .iter()
        .rfind(|k| !k.xen_only)
        .unwrap();
    assert_eq!(
        kernel.initramfs_has(guest_fixup::inspect::Driver::XenBlkfront),
        Some(true)
    );
    assert!(
        after.inspection.consoles.iter().any(|c| c == "hvc0"),
        "{:?}",
        after.inspection.consoles
    );
    assert!(
        !after.plan.diff().contains("+/dev/xvd"),
        "a second conversion finds nothing left to rename"
    );
}
