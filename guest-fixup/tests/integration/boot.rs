//! The proof: real Debian guests (built by `tests/support/guest-image.sh` with debootstrap,
//! cached by recipe) laid out as they were on Xen, fixed, and booted in QEMU (TCG, virtio
//! disk, serial console) to the marker their init prints, with swap active. The unfixed copy
//! of the HVM guest, whose boot loader works, must not reach the marker. All boots run in this
//! one test, one after another, to keep the machine's two cores for the rest of the suite.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use guest_fixup::{FixOptions, PlanOptions, fix};

use super::devices::assert_released;

/// A boot under TCG on two shared cores can take minutes when the machine is busy.
const BOOT_TIMEOUT: Duration = Duration::from_secs(420);

fn cached_image(layout: &str) -> PathBuf {
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

fn copy(image: &Path, dir: &Path, name: &str) -> PathBuf {
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
fn boot(image: &Path) -> Result<String, String> {
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
    while let Some(left) = BOOT_TIMEOUT.checked_sub(start.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("@@BOOTED") => return Ok(line),
            // initramfs-tools gave up on the root device (rootdelay=10): it will never boot.
            Ok(line) if line.contains("Gave up waiting for root") => {
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

#[test]
fn fixed_xen_guests_boot_on_kvm_and_the_unfixed_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (layout, direction) in [
        ("xen-pv", "xen-pv->kvm-virtio"),
        ("xen-hvm", "xen-hvm->kvm-virtio"),
        ("xen-pv-xfs", "xen-pv->kvm-virtio"),
    ] {
        let image = copy(&cached_image(layout), dir.path(), &format!("{layout}.img"));
        let options = FixOptions {
            plan: PlanOptions::default(),
            dry_run: false,
            root: dir.path().join(format!("mnt-{layout}")),
        };
        let report = fix(&[image.clone()], &direction.parse().unwrap(), &options)
            .unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_released(&image, dir.path());
        eprintln!("{layout}:\n{}", report.plan.diff());
        match boot(&image) {
            Ok(marker) if marker.contains("swaps=1") => eprintln!("{layout}: {marker}"),
            Ok(marker) => failures.push(format!("{layout}: booted without swap: {marker}")),
            Err(log) => failures.push(format!("{layout} (fixed): {log}")),
        }
        if layout == "xen-hvm" {
            let unfixed = copy(&cached_image(layout), dir.path(), "unfixed.img");
            if let Ok(marker) = boot(&unfixed) {
                failures.push(format!("the unfixed {layout} image booted: {marker}"));
            }
            std::fs::remove_file(unfixed).unwrap();
        }
        if layout == "xen-pv" {
            back_to_xen(&image, dir.path());
        }
        std::fs::remove_file(image).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
    let kernel = after.inspection.kernels.last().unwrap();
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
