//! The real `xva-build` binary, end to end: build / inspect / verify / extract, their JSON,
//! exit codes and error messages, a xend configuration, standard output, and a full disk;
//! imports into the XAPI simulator (`import`) and kernel uploads to a real sshd
//! (`upload_kernel`); outputs and inputs that must be refused or cleaned up after (`outputs`).

#[path = "cli/broken_pipe.rs"]
mod broken_pipe;
// xenapi::dom0 itself, against the same real sshd.
#[path = "cli/dom0.rs"]
mod dom0;
#[path = "cli/fix_guest.rs"]
mod fix_guest;
#[path = "cli/import.rs"]
mod import;
#[path = "cli/outputs.rs"]
mod outputs;
#[path = "cli/server_url.rs"]
mod server_url;
#[path = "cli/sshd.rs"]
mod sshd;
#[path = "cli/upload_kernel.rs"]
mod upload_kernel;

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const MIB: u64 = 1 << 20;

fn xva_build(args: &[&str]) -> Output {
    xva_build_with(args, &[])
}

/// Runs the binary with extra environment variables (and never with a password or home
/// directory of the test's own environment).
fn xva_build_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xva-build"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("XVA_BUILD_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("running xva-build")
}

fn ok(args: &[&str]) -> String {
    let output = xva_build(args);
    assert!(
        output.status.success(),
        "xva-build {args:?} failed: {}",
        text(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A sparse disk image with some pseudo-random data at three places.
fn make_disk(path: &Path, size: u64) {
    let file = File::create(path).unwrap();
    file.set_len(size).unwrap();
    let mut state = size | 1;
    let mut data = vec![0u8; 300_000];
    for byte in &mut data {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    for offset in [0, size / 2 + 12_345, size - 300_000] {
        file.write_all_at(&data, offset).unwrap();
    }
}

fn inspect(xva: &Path) -> Value {
    serde_json::from_str(&ok(&["inspect", path(xva), "--json"])).unwrap()
}

#[test]
fn build_inspect_verify_extract() {
    let dir = tempfile::tempdir().unwrap();
    let (boot, data) = (dir.path().join("boot.img"), dir.path().join("data.img"));
    make_disk(&boot, 20 * MIB);
    make_disk(&data, 3 * MIB + 512);
    let xva = dir.path().join("web.xva");
    let summary: Value = serde_json::from_str(&ok(&[
        "build",
        "--disk",
        path(&boot),
        "--disk",
        path(&data),
        "--name",
        "web",
        "--memory",
        "2048",
        "--vcpus",
        "2",
        "--no-acpi",
        "--no-viridian",
        "--nx",
        "--vif",
        "network=xenbr1,mac=00:16:3e:12:34:56",
        "--vif",
        "xenbr0",
        "--checksum",
        "xxhash",
        "-o",
        path(&xva),
        "--json",
        "--quiet",
    ]))
    .unwrap();
    assert_eq!(summary["summary"]["disks"].as_array().unwrap().len(), 2);

    let facts = inspect(&xva);
    let vm = &facts["vms"][0];
    assert_eq!(vm["name"], "web");
    assert_eq!(vm["memory"], 2048 * MIB);
    assert_eq!(vm["vcpus"], 2);
    assert_eq!(vm["platform"]["acpi"], "false");
    assert_eq!(vm["platform"]["viridian"], "false");
    assert_eq!(vm["platform"]["nx"], "true");
    assert_eq!(vm["platform"]["apic"], "true");
    assert_eq!(vm["boot"], "HVM, order cd");
    assert_eq!(vm["vifs"][0]["mac"], "00:16:3e:12:34:56");
    assert_eq!(vm["vifs"][0]["network"], "xenbr1");
    assert_eq!(facts["checksum"], "xxhash");
    assert_eq!(facts["disks"][0]["size"], 20 * MIB);
    assert_eq!(facts["disks"][1]["size"], 3 * MIB + 512);
    assert_eq!(facts["disks"][1]["device"], "xvdb");

    let verified: Value =
        serde_json::from_str(&ok(&["verify", path(&xva), "--json", "--quiet"])).unwrap();
    assert_eq!(verified["ok"], true);

    let raw = dir.path().join("data.raw");
    ok(&[
        "extract",
        path(&xva),
        "--disk",
        "1",
        "-o",
        path(&raw),
        "--quiet",
    ]);
    assert_eq!(fs::read(&raw).unwrap(), fs::read(&data).unwrap());
    let vhd = dir.path().join("boot.vhd");
    ok(&[
        "extract",
        path(&xva),
        "--disk",
        "xvda",
        "-o",
        path(&vhd),
        "--quiet",
    ]);
    let compare = Command::new("qemu-img")
        .args(["compare", "-f", "vpc", "-F", "raw", path(&vhd), path(&boot)])
        .output()
        .expect("qemu-img is missing: install with: apt-get install qemu-utils");
    assert!(compare.status.success(), "{}", text(&compare));
}

#[test]
fn pv_guests_get_their_kernel_placed() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("pv.img");
    make_disk(&disk, 4 * MIB);
    let xva = dir.path().join("pv.xva");
    let output = xva_build(&[
        "build",
        "--disk",
        path(&disk),
        "--kernel",
        "/boot/vmlinuz-domu",
        "--ramdisk",
        "/boot/initrd-domu",
        "--args",
        "root=/dev/xvda1 ro",
        "-o",
        path(&xva),
        "--quiet",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("copy `/boot/vmlinuz-domu` to `/boot/guest/"),
        "{stderr}"
    );
    let facts = inspect(&xva);
    let boot = facts["vms"][0]["boot"].as_str().unwrap();
    assert!(
        boot.starts_with("PV, kernel /boot/guest/") && boot.ends_with("args `root=/dev/xvda1 ro`"),
        "{boot}"
    );

    let with_pygrub = dir.path().join("pygrub.xva");
    ok(&[
        "build",
        "--disk",
        path(&disk),
        "--pv",
        "-o",
        path(&with_pygrub),
        "--quiet",
    ]);
    assert_eq!(
        inspect(&with_pygrub)["vms"][0]["boot"],
        "PV, bootloader pygrub"
    );
}

#[test]
fn xend_configuration_is_read_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("centos.img");
    make_disk(&disk, 8 * MIB);
    let config = dir.path().join("centos.cfg");
    fs::write(
        &config,
        format!(
            "# xen-tools style\nname = 'centos5'\nmemory = 512\nvcpus = 2\nbootloader = '/usr/bin/pygrub'\n\
             disk = [ 'file:{},xvda,w' ]\nvif = [ 'mac=00:16:3e:00:00:07, bridge=xenbr0' ]\n\
             on_crash = 'preserve'\n",
            disk.display()
        ),
    )
    .unwrap();
    let xva = dir.path().join("centos.xva");
    ok(&[
        "build",
        "--config",
        path(&config),
        "-o",
        path(&xva),
        "--quiet",
    ]);
    let facts = inspect(&xva);
    assert_eq!(facts["vms"][0]["name"], "centos5");
    assert_eq!(facts["vms"][0]["memory"], 512 * MIB);
    assert_eq!(facts["vms"][0]["boot"], "PV, bootloader pygrub");
    assert_eq!(facts["vms"][0]["vifs"][0]["mac"], "00:16:3e:00:00:07");

    fs::write(&config, "name = 'x'\nmemory = 256 * 2\n").unwrap();
    let output = xva_build(&["build", "--config", path(&config), "-o", path(&xva)]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("line 2"), "{}", text(&output));
}

#[test]
fn standard_output_streams_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, 5 * MIB);
    let xva = dir.path().join("piped.xva.zst");
    let status = Command::new(env!("CARGO_BIN_EXE_xva-build"))
        .args([
            "build",
            "--disk",
            path(&disk),
            "--compress",
            "zstd",
            "-o",
            "-",
            "--quiet",
        ])
        .stdout(File::create(&xva).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        &fs::read(&xva).unwrap()[..4],
        &[0x28, 0xB5, 0x2F, 0xFD],
        "zstd magic"
    );
    ok(&["verify", path(&xva), "--quiet"]);
    let raw = dir.path().join("back.raw");
    ok(&[
        "extract",
        path(&xva),
        "--disk",
        "0",
        "-o",
        path(&raw),
        "--quiet",
    ]);
    assert_eq!(fs::read(&raw).unwrap(), fs::read(&disk).unwrap());
}

#[test]
fn a_damaged_archive_fails_verification_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, 4 * MIB);
    let xva = dir.path().join("d.xva");
    ok(&["build", "--disk", path(&disk), "-o", path(&xva), "--quiet"]);
    let bytes = fs::read(&xva).unwrap();
    // The first chunk's data starts after ova.xml and the chunk's header; flip a byte there.
    let ova_len = u64::from_str_radix(std::str::from_utf8(&bytes[124..135]).unwrap(), 8).unwrap();
    let first_data = (512 + ova_len.div_ceil(512) * 512 + 512) as usize;
    let mut damaged = bytes.clone();
    damaged[first_data + 10] ^= 0x55;
    fs::write(&xva, &damaged).unwrap();
    let output = xva_build(&["verify", path(&xva), "--quiet"]);
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output);
    assert!(
        message.contains("/00000000`") && message.contains("checksum mismatch"),
        "{message}"
    );
    let json = xva_build(&["verify", path(&xva), "--json", "--quiet"]);
    assert_eq!(json.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
}

#[test]
fn bad_invocations_and_inputs_exit_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.xva");
    let usage = xva_build(&["build", "--frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));

    let missing = xva_build(&["build", "--disk", "/nonexistent/disk.img", "-o", path(&out)]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("/nonexistent/disk.img"),
        "{}",
        text(&missing)
    );

    let odd = dir.path().join("odd.img");
    fs::write(&odd, vec![1u8; 1000]).unwrap();
    let refused = xva_build(&["build", "--disk", path(&odd), "-o", path(&out)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("not a multiple of 512"),
        "{}",
        text(&refused)
    );
    assert!(!out.exists(), "no output may be left behind");
    ok(&[
        "build",
        "--disk",
        path(&odd),
        "--pad",
        "-o",
        path(&out),
        "--quiet",
    ]);
    assert_eq!(inspect(&out)["disks"][0]["size"], 1024);

    let no_such_disk = xva_build(&[
        "extract",
        path(&out),
        "--disk",
        "7",
        "-o",
        path(&dir.path().join("o.raw")),
    ]);
    assert_eq!(no_such_disk.status.code(), Some(2));
    assert!(
        text(&no_such_disk).contains("has no disk `7`"),
        "{}",
        text(&no_such_disk)
    );

    let help = ok(&["--help"]);
    assert!(help.contains("Examples:"), "{help}");
}

/// A tmpfs of 2 MiB, unmounted on drop.
struct TinyFs(PathBuf);

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_output_disk_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("random.img");
    let file = File::create(&disk).unwrap();
    let mut state = 0x1234_5678_u64;
    let mut data = vec![0u8; 8 * MIB as usize];
    for byte in &mut data {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    file.write_all_at(&data, 0).unwrap();
    let mount_point = dir.path().join("full");
    fs::create_dir(&mount_point).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs", path(&mount_point)])
        .stderr(Stdio::piped())
        .output()
        .expect("mount is missing: install with: apt-get install mount");
    assert!(
        mounted.status.success(),
        "this test mounts a tmpfs and needs root: {}",
        text(&mounted)
    );
    let tiny = TinyFs(mount_point.clone());
    let output = xva_build(&[
        "build",
        "--disk",
        path(&disk),
        "-o",
        path(&mount_point.join("out.xva")),
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("No space left on device"),
        "{}",
        text(&output)
    );
    assert_eq!(
        fs::read_dir(&tiny.0).unwrap().count(),
        0,
        "no partial file may remain"
    );
}

#[test]
fn convert_between_raw_and_vhd() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.img");
    make_disk(&raw, 9 * MIB + 512);
    let (dynamic, fixed, back) = (
        dir.path().join("d.vhd"),
        dir.path().join("f.vhd"),
        dir.path().join("back.raw"),
    );
    ok(&["convert", path(&raw), "-o", path(&dynamic), "--quiet"]);
    ok(&[
        "convert",
        path(&raw),
        "-o",
        path(&fixed),
        "--format",
        "vhd-fixed",
        "--quiet",
    ]);
    for vhd in [&dynamic, &fixed] {
        let compare = Command::new("qemu-img")
            .args(["compare", "-f", "vpc", "-F", "raw", path(vhd), path(&raw)])
            .output()
            .expect("qemu-img is missing: install with: apt-get install qemu-utils");
        assert!(compare.status.success(), "{}", text(&compare));
        ok(&["convert", path(vhd), "-o", path(&back), "--quiet"]);
        assert_eq!(fs::read(&back).unwrap(), fs::read(&raw).unwrap());
        fs::remove_file(&back).unwrap();
    }
}
