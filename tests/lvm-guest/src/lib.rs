//! Real LVM for tests, in a QEMU guest: the host kernel here has no device-mapper, so the
//! tests that need LVM boot a stock Debian kernel (software emulation, no KVM) with busybox,
//! lvm2, mkfs.ext4 and mkfs.xfs in an initramfs, run one test binary of ours inside,
//! and read what it reports.
//!
//! - [`GuestImage::cached`] builds the kernel and base initramfs once, cached by recipe
//!   under `~/.cache/vmtoolkit/lvm-guest/<hash>` (`scripts/lib/lvm-guest-image` does it).
//! - The binaries run in the guest are the workspace's ordinary builds (a test's own
//!   `CARGO_BIN_EXE_<name>`, or [`workspace_binary`] for another package's).
//! - [`boot`] appends an initramfs holding that binary and the shared libraries it links
//!   (its `ldd` closure, the host's glibc: the same as the base image's), attaches sparse
//!   virtio disks (`/dev/vda`, `/dev/vdb`, …), boots with `qemu-system-x86_64 -accel tcg -nographic`, and
//!   returns the guest's exit status (the init prints `@@GUEST_RC=<n>` on the console,
//!   `/dev/ttyS0`), the console and the lines the binary wrote to `/dev/ttyS1`. QEMU is
//!   killed on every path (a guard), a hung guest by the deadline.
//!
//! Many scenarios per boot: a boot costs 10-30 s here, a scenario a second or two.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a missing tool comes from.
pub const INSTALL_HINT: &str = "install the test tools with scripts/install-test-deps (qemu-system-x86_64 comes from scripts/lib/install-qemu-system; busybox-static, lvm2, kmod, cpio, e2fsprogs and xfsprogs from apt)";

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/lvm-guest sits two levels below the workspace root")
        .to_owned()
}

/// A built guest: kernel and base initramfs.
#[derive(Debug, Clone)]
pub struct GuestImage {
    dir: PathBuf,
}

impl GuestImage {
    /// The cached image, built first if this recipe has none yet.
    pub fn cached() -> Result<Self, String> {
        let script = workspace_root().join("scripts/lib/lvm-guest-image");
        let output = Command::new(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run {}: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed ({}): {}\n{INSTALL_HINT}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if !dir.join("vmlinuz").is_file() || !dir.join("base.cpio.gz").is_file() {
            return Err(format!(
                "{} printed {}, which holds no image",
                script.display(),
                dir.display()
            ));
        }
        Ok(GuestImage { dir })
    }

    /// The directory holding `vmlinuz` and `base.cpio.gz`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The directory of the workspace binaries built with the running test or example:
/// `target/<profile>`, the parent of the `deps` (tests) or `examples` directory it runs from.
pub fn build_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the running executable: {e}"))?;
    exe.ancestors()
        .find(|dir| {
            dir.file_name()
                .is_some_and(|name| name == "deps" || name == "examples")
        })
        .and_then(Path::parent)
        .map(Path::to_owned)
        .ok_or_else(|| {
            format!(
                "{} runs from no cargo target directory (no deps or examples above it)",
                exe.display()
            )
        })
}

/// Binary `bin` of another workspace package, from [`build_dir`]: cargo builds every binary
/// of the workspace with a `cargo nextest run --workspace` or `cargo test --workspace`, in
/// the same profile and with the same features as the tests. A test's own package's binaries
/// come from `env!("CARGO_BIN_EXE_<name>")` instead.
///
/// The guest runs these dynamically linked builds with their `ldd` closure copied in by
/// [`boot`]. An earlier harness built static copies in a target directory of their own,
/// which compiled every dependency a second time.
pub fn workspace_binary(bin: &str) -> Result<PathBuf, String> {
    let path = build_dir()?.join(bin);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built: run the whole workspace's tests (scripts/test, or cargo nextest run --workspace), or cargo build the package of {bin} first",
            path.display()
        ))
    }
}

/// One boot: which binary to run with which arguments, and the disks to attach.
#[derive(Debug, Clone)]
pub struct GuestRun<'a> {
    /// The binary; it becomes `/<file name>` in the guest.
    pub binary: &'a Path,
    /// Its arguments (plain words: they go through the guest's shell unquoted).
    pub args: &'a [&'a str],
    /// More executables (ones the test binary runs), each becoming `/<file name>`.
    pub extra: &'a [&'a Path],
    /// Sizes of sparse virtio disks in MiB: `/dev/vda`, `/dev/vdb`, …
    pub disks_mib: &'a [u64],
    /// How long the whole boot may take.
    pub timeout: Duration,
}

/// What a boot reported.
#[derive(Debug, Clone)]
pub struct GuestOutcome {
    /// The binary's exit status, `None` if the guest never reported one.
    pub exit_code: Option<i32>,
    /// Everything on the console (kernel messages, the binary's stdout and stderr).
    pub console: String,
    /// The lines the binary wrote to `/dev/ttyS1`.
    pub results: Vec<String>,
    /// How long the boot took.
    pub elapsed: Duration,
}

/// QEMU, killed when dropped.
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Boots the guest once and runs `run.binary` in it.
pub fn boot(image: &GuestImage, run: &GuestRun<'_>) -> Result<GuestOutcome, String> {
    which("qemu-system-x86_64")?;
    which("cpio")?;
    let work = tempfile::Builder::new()
        .prefix("lvm-guest-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let initrd = initrd(image, run, work.path())?;
    let console = work.path().join("console.log");
    let results = work.path().join("results.log");
    let stderr_path = work.path().join("qemu.stderr");
    let mut command = qemu_command(image, &initrd, work.path(), run)?;
    let stderr_file =
        fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
    let started = Instant::now();
    let mut qemu = Qemu(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .map_err(|e| format!("could not start qemu-system-x86_64: {e}; {INSTALL_HINT}"))?,
    );
    let status = loop {
        if let Some(status) = qemu
            .0
            .try_wait()
            .map_err(|e| format!("waiting for qemu: {e}"))?
        {
            break status;
        }
        if started.elapsed() > run.timeout {
            drop(qemu);
            let console = fs::read_to_string(&console).unwrap_or_default();
            return Err(format!(
                "the guest did not finish within {:?}; console:\n{}",
                run.timeout,
                tail(&console, 60)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed();
    drop(qemu);
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    let console = fs::read_to_string(&console).map_err(|e| format!("console log: {e}"))?;
    if !status.success() {
        return Err(format!(
            "qemu-system-x86_64 failed ({status}): {stderr}\nconsole:\n{}",
            tail(&console, 60)
        ));
    }
    let results = fs::read_to_string(&results).map_err(|e| format!("results log: {e}"))?;
    let exit_code = console
        .lines()
        .filter_map(|l| l.split("@@GUEST_RC=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .next_back();
    Ok(GuestOutcome {
        exit_code,
        console,
        results: results
            .lines()
            .map(|l| l.trim_end_matches('\r').to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
        elapsed,
    })
}

/// The QEMU command line: TCG, serial ports to `console.log` and `results.log` in `work`,
/// one sparse raw virtio disk per entry of `run.disks_mib`.
fn qemu_command(
    image: &GuestImage,
    initrd: &Path,
    work: &Path,
    run: &GuestRun<'_>,
) -> Result<Command, String> {
    let console = work.join("console.log");
    let results = work.join("results.log");
    let mut command = Command::new("qemu-system-x86_64");
    command
        .args([
            "-accel",
            "tcg,thread=multi",
            "-m",
            "1024",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-nodefaults",
            "-net",
            "none",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", results.display()))
        .arg("-kernel")
        .arg(image.dir.join("vmlinuz"))
        .arg("-initrd")
        .arg(initrd)
        .args([
            "-append",
            "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
        ]);
    for (i, mib) in run.disks_mib.iter().enumerate() {
        let disk = work.join(format!("disk{i}.img"));
        let file = fs::File::create(&disk).map_err(|e| format!("{}: {e}", disk.display()))?;
        file.set_len(mib * 1024 * 1024)
            .map_err(|e| format!("{}: {e}", disk.display()))?;
        command.arg("-drive").arg(format!(
            "file={},if=virtio,format=raw,cache=unsafe",
            disk.display()
        ));
    }
    Ok(command)
}

/// The base initramfs with an archive holding the binary, the extra executables, their
/// shared libraries and `/run-test` appended.
fn initrd(image: &GuestImage, run: &GuestRun<'_>, work: &Path) -> Result<PathBuf, String> {
    let name = run
        .binary
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("binary {} has no plain file name", run.binary.display()))?;
    let overlay = work.join("overlay");
    fs::create_dir(&overlay).map_err(|e| format!("{}: {e}", overlay.display()))?;
    for file in std::iter::once(&run.binary).chain(run.extra) {
        let file_name = file
            .file_name()
            .ok_or_else(|| format!("{} has no file name", file.display()))?;
        fs::copy(file, overlay.join(file_name))
            .map_err(|e| format!("copying {}: {e}", file.display()))?;
        for library in shared_libraries(file)? {
            let inside = overlay.join(library.strip_prefix("/").unwrap_or(&library));
            if let Some(dir) = inside.parent() {
                fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            fs::copy(&library, &inside)
                .map_err(|e| format!("copying {}: {e}", library.display()))?;
        }
    }
    let script = format!("#!/bin/sh\nexec /{name} {}\n", run.args.join(" "));
    write_executable(&overlay.join("run-test"), &script)?;
    let initrd = work.join("initrd");
    let mut bytes =
        fs::read(image.dir.join("base.cpio.gz")).map_err(|e| format!("base.cpio.gz: {e}"))?;
    // the kernel looks for the next archive's magic at a 4-byte boundary, skipping zeros
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    bytes.extend(cpio(&overlay)?);
    fs::write(&initrd, bytes).map_err(|e| format!("{}: {e}", initrd.display()))?;

    Ok(initrd)
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn which(tool: &str) -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    if found {
        Ok(())
    } else {
        Err(format!("{tool} is not installed; {INSTALL_HINT}"))
    }
}

fn write_executable(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The shared libraries `executable` loads, by absolute path (`ldd`'s closure, symbolic links
/// resolved when copied); none for a static one.
fn shared_libraries(executable: &Path) -> Result<Vec<PathBuf>, String> {
    let output = Command::new("ldd")
        .arg(executable)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run ldd: {e}; {INSTALL_HINT}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        return if all.contains("not a dynamic executable") {
            Ok(Vec::new())
        } else {
            Err(format!(
                "ldd {} failed: {}",
                executable.display(),
                all.trim()
            ))
        };
    }
    if let Some(missing) = stdout.lines().find(|l| l.contains("not found")) {
        return Err(format!(
            "{} needs a library this machine lacks: {}",
            executable.display(),
            missing.trim()
        ));
    }
    Ok(stdout
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect())
}

/// A newc cpio archive of everything under `dir`, directories before what they hold (the
/// kernel unpacks concatenated archives in order, so this one adds to the base initramfs).
fn cpio(dir: &Path) -> Result<Vec<u8>, String> {
    let mut names = Vec::new();
    relative_paths(dir, Path::new(""), &mut names)?;
    names.sort();
    let mut child = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run cpio: {e}; {INSTALL_HINT}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let list = names.join("\n") + "\n";
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, list.as_bytes()));
    let output = child.wait_with_output().map_err(|e| format!("cpio: {e}"))?;
    writer
        .join()
        .expect("cpio writer thread")
        .map_err(|e| format!("feeding cpio: {e}"))?;
    if !output.status.success() {
        return Err(format!("cpio failed ({})", output.status));
    }
    Ok(output.stdout)
}

/// Every path under `root.join(prefix)`, relative to `root`, into `names`.
fn relative_paths(root: &Path, prefix: &Path, names: &mut Vec<String>) -> Result<(), String> {
    let dir = root.join(prefix);
    for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let relative = prefix.join(entry.file_name());
        let name = relative
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", relative.display()))?
            .to_owned();
        names.push(name);
        if entry
            .file_type()
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .is_dir()
        {
            relative_paths(root, &relative, names)?;
        }
    }
    Ok(())
}
