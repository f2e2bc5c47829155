//! Helpers: the venv's Python, qemu-img, sparse test images.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovirt_sim::imageio::{INSTALL_VENV, venv_dir};

/// The venv's Python (with `ovirt_imageio` and `ovirtsdk4`), or a panic naming the install command.
pub fn python() -> PathBuf {
    let python = venv_dir().join("bin/python");
    assert!(
        python.is_file(),
        "{} is missing: install the oVirt venv with `{INSTALL_VENV}`",
        python.display()
    );
    python
}

/// Runs a Python snippet in the venv with `args` (as `sys.argv[1:]`); panics with its output
/// on failure, returns its stdout.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run the venv's python");
    assert!(
        output.status.success(),
        "python failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a tool (`ovirt_sim::tools::run`), panicking with its output on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    ovirt_sim::tools::run(program, args).unwrap_or_else(|e| panic!("{e}"))
}

/// `qemu-img compare` of two images (formats probed): panics unless identical.
pub fn assert_identical(a: &Path, b: &Path) {
    let out = run(
        "qemu-img",
        &["compare", &a.to_string_lossy(), &b.to_string_lossy()],
    );
    assert!(out.contains("Images are identical"), "{out}");
}

/// A sparse raw file of `size` bytes with `pattern`-filled 64 KiB runs at `offsets`.
pub fn raw_image(path: &Path, size: u64, offsets: &[(u64, u8)]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::File::create(path).expect("create an image");
    file.set_len(size).expect("size the image");
    for &(offset, pattern) in offsets {
        file.seek(SeekFrom::Start(offset)).expect("seek");
        file.write_all(&vec![pattern; 64 * 1024]).expect("write");
    }
}

/// A simulator with brisk timings and a by-id directory of its own.
pub struct Fixture {
    pub sim: ovirt_sim::Simulator,
    /// Where the appliance's disks are linked by serial.
    pub by_id: tempfile::TempDir,
    pub scratch: tempfile::TempDir,
}

/// Starts the demo engine for a test.
pub fn demo() -> Fixture {
    let by_id = tempfile::tempdir().expect("a by-id directory");
    let mut config = ovirt_sim::SimConfig::demo();
    by_id.path().clone_into(&mut config.by_id_dir);
    config.timing = ovirt_sim::Timing {
        disk_lock: std::time::Duration::from_millis(150),
        snapshot_lock: std::time::Duration::from_millis(150),
        transfer_step: std::time::Duration::from_millis(100),
        backup_step: std::time::Duration::from_millis(100),
        job: std::time::Duration::from_millis(100),
    };
    let sim = ovirt_sim::Simulator::start(config).expect("the simulator starts");
    Fixture {
        sim,
        by_id,
        scratch: tempfile::tempdir().expect("a scratch directory"),
    }
}

impl Fixture {
    /// Runs a scenario of `sdk_client.py` (the official SDK and imageio client) and returns
    /// what it printed.
    pub fn sdk(&self, scenario: &str, args: &[&str]) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/sdk_client.py");
        let (user, password) = self.sim.credentials();
        let ca = self.sim.ca_file().to_string_lossy().into_owned();
        let mut all = vec![
            script.to_string_lossy().into_owned(),
            scenario.to_owned(),
            self.sim.url().to_owned(),
            user.to_owned(),
            password.to_owned(),
            ca,
        ];
        all.extend(args.iter().map(|&a| a.to_owned()));
        let output = Command::new(python())
            .args(&all)
            .output()
            .expect("run the SDK client");
        assert!(
            output.status.success(),
            "sdk_client.py {scenario} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("sdk_client.py {scenario} printed no JSON ({e}): {stdout}"))
    }

    /// A path in the test's scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// Panics with the audit unless nothing was left behind.
    pub fn assert_clean(&self) {
        self.assert_clean_but_disks(&[]);
    }

    /// [`Fixture::assert_clean`], but for the floating disks `kept` (ids) the test uploaded
    /// as its product.
    pub fn assert_clean_but_disks(&self, kept: &[&str]) {
        let mut audit = self.sim.audit();
        audit.leftovers.retain(|leftover| {
            !matches!(leftover, ovirt_sim::Leftover::FloatingDisk { id, .. } if kept.contains(&id.as_str()))
        });
        assert!(audit.is_clean(), "{audit}");
    }
}

/// A qcow2 image of `size` with 64 KiB runs of data at `offsets`.
pub fn qcow2_image(path: &Path, size: &str, offsets: &[&str]) {
    let text = path.to_string_lossy();
    run("qemu-img", &["create", "-q", "-f", "qcow2", &text, size]);
    for offset in offsets {
        run(
            "qemu-io",
            &[
                "-f",
                "qcow2",
                "-c",
                &format!("write -P 0x5a {offset} 64k"),
                &text,
            ],
        );
    }
}
