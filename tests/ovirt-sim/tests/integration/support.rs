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

/// Runs a tool, panicking with its output (and how to install it) on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install it with `scripts/install-test-deps`")
        });
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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
