//! `build --server … --upload-kernel` against a real `sshd` on loopback (its SFTP sessions
//! chrooted into a temporary directory) and the XAPI simulator: the kernel and ramdisk
//! arrive where the imported VM's `PV_kernel` and `PV_ramdisk` point, the host key is
//! checked, and a failed upload or import leaves neither files nor a VM.

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use xapi_sim::SimConfig;

use super::import::{Pool, build, imported_uuid};
use super::sshd::{Sshd, fingerprint, keygen};
use super::{MIB, path, text, xva_build_with};

/// A PV guest's disk, kernel and ramdisk in the pool's scratch directory.
struct Guest {
    disk: PathBuf,
    kernel: PathBuf,
    ramdisk: PathBuf,
}

impl Guest {
    fn new(pool: &Pool) -> Guest {
        let kernel = pool.dir.path().join("vmlinuz-6.1.0-domU");
        let ramdisk = pool.dir.path().join("initrd.img-6.1.0-domU");
        // Sizes that are not multiples of SFTP's or our buffers' sizes.
        fs::write(&kernel, pattern(3 * MIB as usize + 4321, 7)).unwrap();
        fs::write(&ramdisk, pattern(MIB as usize + 17, 11)).unwrap();
        Guest {
            disk: pool.disk("pv.img", 4 * MIB),
            kernel,
            ramdisk,
        }
    }

    /// `build` arguments for this guest, uploading to `sshd` with `ssh`'s options.
    fn build(&self, pool: &Pool, sshd: &Sshd, ssh: &[&str]) -> Output {
        let port = sshd.port.to_string();
        let mut extra = vec![
            "--disk",
            path(&self.disk),
            "--name",
            "pv-guest",
            "--kernel",
            path(&self.kernel),
            "--ramdisk",
            path(&self.ramdisk),
            "--args",
            "root=/dev/xvda1 ro",
            "--upload-kernel",
            "--ssh-port",
            &port,
        ];
        extra.extend_from_slice(ssh);
        build(&pool.args(), &extra)
    }
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn kernel_and_ramdisk_arrive_where_the_imported_vm_boots_from() {
    let pool = Pool::start(SimConfig::new());
    let sshd = Sshd::start();
    let guest = Guest::new(&pool);
    let known_hosts = sshd.known_hosts();
    let output = guest.build(
        &pool,
        &sshd,
        &[
            "--ssh-key",
            path(&sshd.client_key()),
            "--ssh-known-hosts",
            path(&known_hosts),
            "--json",
        ],
    );
    assert!(output.status.success(), "{}\n{}", text(&output), sshd.log());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (_, vm) = pool.vm(report["vm"].as_str().unwrap());
    let dir = vm
        .pv_kernel
        .strip_suffix("/vmlinuz")
        .unwrap_or_else(|| panic!("PV_kernel {}", vm.pv_kernel));
    let id = dir.strip_prefix("/boot/guest/").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{dir}");
    assert_eq!(vm.pv_ramdisk, format!("{dir}/initrd"));
    assert_eq!(vm.pv_args, "root=/dev/xvda1 ro");
    assert_eq!(
        report["kernel_files"],
        serde_json::json!([
            format!("root@127.0.0.1:{}", vm.pv_kernel),
            format!("root@127.0.0.1:{}", vm.pv_ramdisk)
        ])
    );
    assert_eq!(
        sshd.files(),
        [
            "/boot".to_owned(),
            "/boot/guest".to_owned(),
            dir.to_owned(),
            vm.pv_ramdisk.clone(),
            vm.pv_kernel.clone(),
        ]
    );
    let on_host = |remote: &str| fs::read(sshd.root.path().join(&remote[1..])).unwrap();
    assert!(on_host(&vm.pv_kernel) == fs::read(&guest.kernel).unwrap());
    assert!(on_host(&vm.pv_ramdisk) == fs::read(&guest.ramdisk).unwrap());
    pool.assert_left(1);
}

#[test]
fn the_host_key_is_checked_before_anything_is_imported() {
    let pool = Pool::start(SimConfig::new());
    let sshd = Sshd::start();
    let guest = Guest::new(&pool);
    let key = sshd.client_key();
    let key = ["--ssh-key", path(&key)];

    let other = pool.dir.path().join("other_host_key");
    keygen(&other);
    let wrong = fingerprint(&other.with_extension("pub"));
    let output = guest.build(
        &pool,
        &sshd,
        &[&key[..], &["--ssh-fingerprint", &wrong]].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("is not the one expected")
            && text(&output).contains(&sshd.fingerprint()),
        "{}",
        text(&output)
    );

    let empty = pool.dir.path().join("known_hosts");
    fs::write(&empty, "").unwrap();
    let output = guest.build(
        &pool,
        &sshd,
        &[&key[..], &["--ssh-known-hosts", path(&empty)]].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("is not in"), "{}", text(&output));

    fs::write(
        &empty,
        format!(
            "[127.0.0.1]:{} {}",
            sshd.port,
            fs::read_to_string(other.with_extension("pub")).unwrap()
        ),
    )
    .unwrap();
    let output = guest.build(
        &pool,
        &sshd,
        &[&key[..], &["--ssh-known-hosts", path(&empty)]].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("differs from the one in"),
        "{}",
        text(&output)
    );

    // Without a known_hosts option, ~/.ssh/known_hosts is used; a home without one is a
    // usage error raised before logging in anywhere.
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["build", "--quiet"];
    let server = pool.args();
    all.extend(server.iter().map(String::as_str));
    let port = sshd.port.to_string();
    all.extend([
        "--disk",
        path(&guest.disk),
        "--kernel",
        path(&guest.kernel),
        "--upload-kernel",
        "--ssh-port",
        &port,
        key[0],
        key[1],
    ]);
    let output = xva_build_with(&all, &[("HOME", path(home.path()))]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("no ~/.ssh/known_hosts"),
        "{}",
        text(&output)
    );
    assert!(sshd.files().is_empty(), "{:?}", sshd.files());
    pool.assert_left(0);

    fs::create_dir(home.path().join(".ssh")).unwrap();
    fs::copy(sshd.known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    let output = xva_build_with(&all, &[("HOME", path(home.path()))]);
    imported_uuid(&output);

    let pinned = guest.build(
        &pool,
        &sshd,
        &[&key[..], &["--ssh-fingerprint", &sshd.fingerprint()]].concat(),
    );
    imported_uuid(&pinned);
    let insecure = guest.build(&pool, &sshd, &[&key[..], &["--ssh-insecure"]].concat());
    imported_uuid(&insecure);
    assert!(
        String::from_utf8_lossy(&insecure.stderr).contains("not checked"),
        "{}",
        text(&insecure)
    );
    pool.assert_left(3);
}

#[test]
fn a_refused_login_or_import_leaves_neither_files_nor_a_vm() {
    let pool = Pool::start(SimConfig {
        sr_size: 2 * MIB,
        ..SimConfig::new()
    });
    let sshd = Sshd::start();
    let guest = Guest::new(&pool);
    let known_hosts = sshd.known_hosts();
    let known_hosts = ["--ssh-known-hosts", path(&known_hosts)];

    // Without --ssh-key the XAPI password is offered; this root has another one.
    let output = guest.build(&pool, &sshd, &known_hosts);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("logging in as root with the password"),
        "{}",
        text(&output)
    );
    assert!(
        sshd.log().contains("Failed password for root"),
        "{}",
        sshd.log()
    );
    assert!(sshd.files().is_empty(), "{:?}", sshd.files());
    pool.assert_left(0);

    // The upload succeeds, the import does not (the SR is too small): the files go again.
    let key = sshd.client_key();
    let output = guest.build(
        &pool,
        &sshd,
        &[&known_hosts[..], &["--ssh-key", path(&key)]].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("SR_FULL"), "{}", text(&output));
    assert!(
        sshd.log().contains("Accepted publickey for root"),
        "{}",
        sshd.log()
    );
    assert!(sshd.files().is_empty(), "{:?}", sshd.files());
    pool.assert_left(0);
}
