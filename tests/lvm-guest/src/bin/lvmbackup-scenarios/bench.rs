//! Group `bench MIB` (scripts/bench-lvmbackup): a 2 GiB ext4 volume holding MIB MiB of
//! mixed files (text, structured records, noise: compressible like real data), then, each
//! from a fresh snapshot with the page cache dropped, each ending with its output synced:
//! backup-manager's way (`tar --listed-incremental … -p -c -z -f` of the mounted snapshot,
//! GNU tar running GNU gzip, as backup-manager 0.7.14 calls it), `lvmbackup run` with gzip,
//! with zstd, in raw-image mode (`.img`, sparse) and `dd bs=1M conv=fsync` of the snapshot.
//! Reports each time, lvmbackup's peak RSS (`VmHWM`, polled) and the output sizes, as one
//! JSON line per measurement; the host prints the ratios.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::json;

use crate::setup::{Conf, REPO, configure, mount_source_dir};
use crate::support::{Reporter, sh};

const VG: &str = "vgbench";

pub fn run(report: &mut Reporter, mib: u64) -> Result<()> {
    sh(&["pvcreate", "-y", "/dev/vda"])?;
    sh(&["vgcreate", VG, "/dev/vda"])?;
    sh(&["lvcreate", "-y", "-L", "2G", "-n", "data", VG])?;
    sh(&["mkfs.ext4", "-q", &format!("/dev/{VG}/data")])?;
    fs::create_dir_all("/mnt/origins/data")?;
    sh(&[
        "mount",
        "-t",
        "ext4",
        &format!("/dev/{VG}/data"),
        "/mnt/origins/data",
    ])?;
    let started = Instant::now();
    let (files, bytes) = fill(Path::new("/mnt/origins/data"), mib << 20)?;
    sh(&["umount", "/mnt/origins/data"])?;
    report.line(&json!({"bench": "fill", "files": files, "bytes": bytes,
        "seconds": started.elapsed().as_secs_f64()}));
    sh(&["mkfs.ext4", "-q", "/dev/vdb"])?;
    fs::create_dir_all(REPO)?;
    sh(&["mount", "-t", "ext4", "/dev/vdb", REPO])?;
    // GNU gzip and dd (from the host, beside busybox's): backup-manager's tar -z runs gzip
    fs::copy("/gzip", "/sbin/gzip")?;
    let cpus = fs::read_to_string("/proc/cpuinfo")?
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    report.line(&json!({"bench": "guest", "vcpus": cpus}));

    let peer = backup_manager_tar()?;
    report.line(&json!({"bench": "backup-manager-tar-z", "seconds": peer.0, "bytes": peer.1}));
    for (what, toml) in [
        ("lvmbackup-gzip", "compression = \"gzip\"\n"),
        ("lvmbackup-zstd", "compression = \"zstd\"\n"),
        (
            "lvmbackup-raw",
            "mode = \"image\"\nimage_compression = \"none\"\n",
        ),
    ] {
        let (seconds, bytes, hwm_kib) = ours(toml)?;
        report.line(
            &json!({"bench": what, "seconds": seconds, "bytes": bytes, "vm_hwm_kib": hwm_kib}),
        );
    }
    let dd = dd()?;
    report.line(&json!({"bench": "dd-bs-1M", "seconds": dd.0, "bytes": dd.1}));
    sh(&["umount", REPO])?;
    Ok(())
}

/// Writes about `total` bytes of files under `root`: directories of files from 1 KiB to
/// 2 MiB, 55% text lines of words, 25% structured records, 20% noise. Returns the count
/// and bytes written.
fn fill(root: &Path, total: u64) -> Result<(u64, u64)> {
    const WORDS: [&str; 32] = [
        "the",
        "volume",
        "snapshot",
        "backup",
        "guest",
        "kernel",
        "device",
        "mapper",
        "archive",
        "listed",
        "incremental",
        "restore",
        "domain",
        "xen",
        "server",
        "config",
        "error",
        "warning",
        "info",
        "debug",
        "request",
        "response",
        "client",
        "session",
        "user",
        "admin",
        "network",
        "interface",
        "address",
        "route",
        "table",
        "entry",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut written, mut files) = (0u64, 0u64);
    while written < total {
        let dir = root.join(format!("d{:03}", files / 200));
        fs::create_dir_all(&dir)?;
        let size = 1024 + (next() % (2 << 20)) as usize;
        let kind = next() % 100;
        let mut data = Vec::with_capacity(size + 128);
        while data.len() < size {
            if kind < 55 {
                for _ in 0..(4 + next() % 12) {
                    data.extend_from_slice(WORDS[(next() % 32) as usize].as_bytes());
                    data.push(b' ');
                }
                data.push(b'\n');
            } else if kind < 80 {
                let r = next();
                let _ = writeln!(
                    data,
                    "{:08x};{:>6};{};{}.{:03}",
                    r & 0xffff_ffff,
                    (r >> 32) % 100_000,
                    WORDS[(r % 32) as usize],
                    (r >> 40) / 1000,
                    (r >> 40) % 1000
                );
            } else {
                data.extend_from_slice(&next().to_le_bytes());
            }
        }
        data.truncate(size);
        fs::write(dir.join(format!("f{files:06}")), &data)?;
        written += size as u64;
        files += 1;
    }
    sh(&["sync"])?;
    Ok((files, written))
}

fn drop_caches() -> Result<()> {
    sh(&["sync"])?;
    fs::write("/proc/sys/vm/drop_caches", "3")?;
    Ok(())
}

/// Empties the repository.
fn clear_repo() -> Result<()> {
    for entry in fs::read_dir(REPO)? {
        let path = entry?.path();
        if path.is_file() {
            fs::remove_file(path)?;
        }
    }
    sh(&["sync"])?;
    Ok(())
}

fn repo_bytes() -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(REPO)? {
        let entry = entry?;
        let path = entry.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if path.is_file() && !matches!(ext, "bin" | "md5" | "json") {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// backup-manager's command on a snapshot mounted as lvmbackup mounts it.
fn backup_manager_tar() -> Result<(f64, u64)> {
    clear_repo()?;
    sh(&[
        "lvcreate",
        "-y",
        "-s",
        "-L",
        "300M",
        "-n",
        "bm",
        &format!("{VG}/data"),
    ])?;
    let mount = "/mnt/scenarios/bm";
    fs::create_dir_all(mount)?;
    sh(&[
        "mount",
        "-t",
        "ext4",
        "-o",
        "ro,noload",
        &format!("/dev/{VG}/bm"),
        mount,
    ])?;
    drop_caches()?;
    let started = Instant::now();
    let status = Command::new("tar")
        .args([
            "--listed-incremental",
            &format!("{REPO}/bm.incremental.bin"),
            "-p",
            "-c",
            "-z",
            "-f",
            &format!("{REPO}/bm.master.tar.gz"),
            mount,
        ])
        .stderr(std::process::Stdio::null())
        .status()?;
    sh(&["sync"])?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(status.success(), "tar -z: {status}");
    let bytes = repo_bytes()?;
    sh(&["umount", mount])?;
    sh(&["lvremove", "-f", &format!("{VG}/bm")])?;
    Ok((seconds, bytes))
}

/// `lvmbackup run` with `toml` as its settings: seconds, bytes stored, peak RSS (KiB).
fn ours(toml: &str) -> Result<(f64, u64, u64)> {
    clear_repo()?;
    configure(&Conf {
        snapsize: "300M",
        backup_device: "",
        volumes: &format!("bench|data|/dev/{VG}/data|ext4|ro\n"),
        compression: "gzip",
        ttl: 30,
    })?;
    fs::write("/etc/lvmbackup.toml", toml)?;
    let conf = fs::read_to_string("/etc/xenbackup.conf")?;
    // the bench measures the archive, not the seed's niceness
    fs::write(
        "/etc/xenbackup.conf",
        conf.replace("NICEOPT=\"-n 19\"", "NICEOPT=\"\"")
            .replace("IONICEOPT=\"-c2 -n6\"", "IONICEOPT=\"\""),
    )?;
    drop_caches()?;
    let started = Instant::now();
    let mut child = Command::new("/lvmbackup")
        .args(["--json", "run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting /lvmbackup")?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut hwm = 0u64;
    let status = loop {
        if let Ok(text) = fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            hwm = hwm.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut out)?;
    ensure!(status.success(), "lvmbackup {toml:?}: {status}: {out}");
    ensure!(
        !mount_source_dir().join("bench/data").exists()
            || fs::read_dir(mount_source_dir().join("bench/data"))?
                .next()
                .is_none(),
        "the snapshot's mount point is not empty"
    );
    Ok((seconds, repo_bytes()?, hwm))
}

/// `dd bs=1M conv=fsync` of a snapshot into the repository.
fn dd() -> Result<(f64, u64)> {
    clear_repo()?;
    sh(&[
        "lvcreate",
        "-y",
        "-s",
        "-L",
        "300M",
        "-n",
        "dd",
        &format!("{VG}/data"),
    ])?;
    drop_caches()?;
    let started = Instant::now();
    let status = Command::new("/dd")
        .args([
            &format!("if=/dev/{VG}/dd"),
            &format!("of={REPO}/dd.img"),
            "bs=1M",
            "conv=fsync",
        ])
        .stderr(std::process::Stdio::null())
        .status()?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(status.success(), "dd: {status}");
    let bytes = repo_bytes()?;
    sh(&["lvremove", "-f", &format!("{VG}/dd")])?;
    clear_repo()?;
    Ok((seconds, bytes))
}
