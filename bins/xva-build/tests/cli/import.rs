//! `build --server` against the XAPI simulator over real sockets (TLS, pinned fingerprint):
//! the VM arrives with its settings and disk bytes, on the SR asked for, compressed or not;
//! refusals name XAPI's error code; and no session or task is left behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;
use xapi_sim::{Ref, SimConfig, SimHandle, Simulator};
use xenapi::records::VmRecord;
use xenapi::{Session, SessionOptions, TlsTrust};

use super::{MIB, make_disk, path, text, xva_build, xva_build_with};

/// A simulated pool over TLS, and a scratch directory holding its password file.
pub struct Pool {
    pub sim: SimHandle,
    pub dir: TempDir,
}

impl Pool {
    pub fn start(config: SimConfig) -> Pool {
        let sim = Simulator::start(config.with_tls()).expect("the simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool { sim, dir };
        let file = pool.password_file();
        fs::write(&file, format!("{}\n", pool.sim.credentials().1)).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        pool
    }

    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    /// `--server URL --tls-fingerprint FP`: where and whom to trust, without a password.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            "--server".into(),
            self.sim.url().into(),
            "--tls-fingerprint".into(),
            self.sim.fingerprint().into(),
        ]
    }

    /// The server arguments with `--password-file`.
    pub fn args(&self) -> Vec<String> {
        let mut args = self.server_args();
        args.extend(["--password-file".into(), path(&self.password_file()).into()]);
        args
    }

    /// A disk image in the scratch directory.
    pub fn disk(&self, name: &str, size: u64) -> PathBuf {
        let disk = self.dir.path().join(name);
        make_disk(&disk, size);
        disk
    }

    /// The VM with this UUID.
    pub fn vm(&self, uuid: &str) -> (Ref, VmRecord) {
        self.sim
            .vms()
            .into_iter()
            .find(|(_, vm)| vm.uuid == uuid)
            .unwrap_or_else(|| panic!("the pool has no VM {uuid}"))
    }

    /// No session and no task left; `vms` VMs imported (with their disks) and nothing else.
    pub fn assert_left(&self, vms: usize) {
        let audit = self.sim.audit();
        assert!(
            audit.sessions.is_empty() && audit.tasks.is_empty(),
            "sessions or tasks left: {audit}"
        );
        assert_eq!(audit.vms.len(), vms, "{audit}");
        if vms == 0 {
            assert!(audit.is_clean(), "a failed import leaves nothing: {audit}");
        }
    }
}

/// Runs `build` with `args` followed by `extra`.
pub fn build(args: &[String], extra: &[&str]) -> Output {
    let mut all: Vec<&str> = vec!["build", "--quiet"];
    all.extend(args.iter().map(String::as_str));
    all.extend_from_slice(extra);
    xva_build(&all)
}

/// The UUID a successful `build --server` printed.
pub fn imported_uuid(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let uuid = stdout.trim().to_owned();
    assert!(uuid::Uuid::parse_str(&uuid).is_ok(), "not a UUID: {stdout}");
    uuid
}

fn assert_failed_with(output: &Output, code: i32, needles: &[&str]) {
    let message = text(output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "no `{needle}` in: {message}");
    }
}

fn assert_disks(pool: &Pool, vm: &Ref, images: &[&Path]) {
    let vdis = pool.sim.vdis_of(vm);
    assert_eq!(vdis.len(), images.len());
    for (vdi, image) in vdis.iter().zip(images) {
        assert!(
            pool.sim.vdi_bytes(vdi).unwrap() == fs::read(image).unwrap(),
            "the disk bytes of {} differ",
            image.display()
        );
    }
}

#[test]
fn a_raw_image_becomes_a_vm_with_its_settings_and_bytes() {
    let pool = Pool::start(SimConfig::new());
    let boot = pool.disk("web.img", 12 * MIB);
    let data = pool.disk("data.img", 2 * MIB + 512);
    let output = build(
        &pool.args(),
        &[
            "--disk",
            path(&boot),
            "--disk",
            path(&data),
            "--name",
            "web",
            "--memory",
            "512",
            "--vcpus",
            "2",
            "--no-acpi",
            "--no-viridian",
            "--nx",
            "--vif",
            "xenbr0",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let uuid = report["vm"].as_str().unwrap();
    let (vm, record) = pool.vm(uuid);
    assert_eq!(report["vm_ref"], vm.as_str());
    assert_eq!(report["server"], pool.sim.url());
    assert_eq!(report["summary"]["disks"].as_array().unwrap().len(), 2);
    assert_eq!(record.name_label, "web");
    assert_eq!(record.memory_static_max, 512 << 20);
    assert_eq!(record.vcpus_max, 2);
    assert_eq!(record.hvm_boot_policy, "BIOS order");
    for (flag, value) in [
        ("acpi", "false"),
        ("viridian", "false"),
        ("nx", "true"),
        ("apic", "true"),
    ] {
        assert_eq!(
            record.platform.get(flag).map(String::as_str),
            Some(value),
            "{flag}"
        );
    }
    assert_eq!(record.vifs.len(), 1);
    assert_disks(&pool, &vm, &[&boot, &data]);
    pool.assert_left(1);
}

/// The uuid of the pool's (only) SR, read with the `xenapi` client.
fn sr_uuid(pool: &Pool) -> (Ref, String) {
    let (user, password) = pool.sim.credentials();
    let options = SessionOptions {
        tls: TlsTrust::Pinned(vec![pool.sim.fingerprint().parse().unwrap()]),
        ..SessionOptions::default()
    };
    let session = Session::login(pool.sim.url(), user, password, options).unwrap();
    let srs = session.sr().get_all_records().unwrap();
    session.logout().unwrap();
    let (sr, record) = srs.into_iter().next().expect("the pool has an SR");
    (sr, record.uuid)
}

#[test]
fn sr_by_uuid_or_name_compressed_streams_and_passwords_from_the_environment_or_base64() {
    let pool = Pool::start(SimConfig::new());
    let disk = pool.disk("db.img", 6 * MIB);
    let (sr, uuid) = sr_uuid(&pool);
    let password = pool.sim.credentials().1.to_owned();
    for (compress, wanted) in [("zstd", uuid.as_str()), ("gzip", "Local storage")] {
        let mut args = pool.server_args();
        args.extend(["--sr".into(), wanted.into()]);
        let mut all = vec!["build", "--quiet", "--disk", path(&disk)];
        all.extend(args.iter().map(String::as_str));
        all.extend(["--compress", compress]);
        let output = xva_build_with(&all, &[("XVA_BUILD_PASSWORD", &password)]);
        let (vm, _) = pool.vm(&imported_uuid(&output));
        assert_disks(&pool, &vm, &[&disk]);
        let vdi = &pool.sim.vdis_of(&vm)[0];
        assert_eq!(pool.sim.vdi(vdi).unwrap().sr, sr, "{compress}");
    }
    let base64_file = pool.dir.path().join("password.b64");
    // As NAUbackup writes it: coreutils' base64 of the password file.
    let mut base64 = Command::new("base64")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("base64 is missing: install with: apt-get install coreutils");
    base64
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let encoded = base64.wait_with_output().unwrap();
    assert!(encoded.status.success());
    fs::write(&base64_file, encoded.stdout).unwrap();
    fs::set_permissions(&base64_file, fs::Permissions::from_mode(0o600)).unwrap();
    let mut args = pool.server_args();
    args.extend(["--password-file-base64".into(), path(&base64_file).into()]);
    let output = build(&args, &["--disk", path(&disk)]);
    let (vm, _) = pool.vm(&imported_uuid(&output));
    assert_disks(&pool, &vm, &[&disk]);
    pool.assert_left(3);

    let unknown = build(
        &pool.args(),
        &[
            "--disk",
            path(&disk),
            "--sr",
            "2d5a0c8e-0000-4000-8000-000000000000",
        ],
    );
    assert_failed_with(&unknown, 1, &["UUID_INVALID"]);
    let unnamed = build(
        &pool.args(),
        &["--disk", path(&disk), "--sr", "no such storage"],
    );
    assert_failed_with(&unnamed, 1, &["no SR named `no such storage`"]);
    pool.assert_left(3);
}

#[test]
fn refused_logins_and_imports_name_the_xapi_error_and_leave_nothing() {
    let pool = Pool::start(SimConfig {
        sr_size: 16 * MIB,
        ..SimConfig::new()
    });
    let small = pool.disk("small.img", 4 * MIB);
    let wrong = pool.dir.path().join("wrong-password");
    fs::write(&wrong, "not the password").unwrap();
    fs::set_permissions(&wrong, fs::Permissions::from_mode(0o600)).unwrap();
    let mut args = pool.server_args();
    args.extend(["--password-file".into(), path(&wrong).into()]);
    let refused = build(&args, &["--disk", path(&small)]);
    assert_failed_with(&refused, 1, &["SESSION_AUTHENTICATION_FAILED"]);
    pool.assert_left(0);

    let big = pool.disk("big.img", 24 * MIB);
    let full = build(&pool.args(), &["--disk", path(&big), "--name", "big"]);
    assert_failed_with(&full, 1, &["importing VM `big`", "SR_FULL"]);
    pool.assert_left(0);

    // The first /import request is the client's probe for a redirect (no body, no task);
    // the second carries the archive.
    pool.sim
        .faults()
        .fail_call("/import", 2, &["IMPORT_ERROR", "simulated refusal"]);
    let failed = build(&pool.args(), &["--disk", path(&small)]);
    assert_failed_with(&failed, 1, &["IMPORT_ERROR", "simulated refusal"]);
    pool.assert_left(0);

    let fine = build(&pool.args(), &["--disk", path(&small)]);
    let (vm, _) = pool.vm(&imported_uuid(&fine));
    assert_disks(&pool, &vm, &[&small]);
    pool.assert_left(1);
}

#[test]
fn the_host_certificate_is_checked() {
    let pool = Pool::start(SimConfig::new());
    let disk = pool.disk("d.img", 2 * MIB);
    let with = |trust: &[&str]| {
        let mut args = vec!["--server".to_owned(), pool.sim.url().to_owned()];
        args.extend(trust.iter().map(|a| (*a).to_owned()));
        args.extend([
            "--password-file".to_owned(),
            path(&pool.password_file()).to_owned(),
        ]);
        build(&args, &["--disk", path(&disk)])
    };
    let wrong_pin = format!("{}AB", "AB:".repeat(31));
    let pinned_wrong = with(&["--tls-fingerprint", &wrong_pin]);
    assert_failed_with(&pinned_wrong, 1, &["TLS handshake"]);
    let system_roots = with(&[]);
    assert_failed_with(&system_roots, 1, &["TLS handshake"]);
    let ca_missing = with(&["--tls-ca-file", "/nonexistent/ca.pem"]);
    assert_failed_with(&ca_missing, 1, &["/nonexistent/ca.pem"]);
    let insecure = with(&["--tls-insecure"]);
    imported_uuid(&insecure);
    assert!(
        String::from_utf8_lossy(&insecure.stderr).contains("insecure"),
        "{}",
        text(&insecure)
    );
    pool.assert_left(1);
}

#[test]
fn server_options_are_checked_before_anything_happens() {
    let pool = Pool::start(SimConfig::new());
    let disk = pool.disk("d.img", MIB);
    let out = pool.dir.path().join("x.xva");
    let both = build(&pool.args(), &["--disk", path(&disk), "-o", path(&out)]);
    assert_failed_with(&both, 2, &["-o and --server do not go together"]);
    let neither = xva_build(&["build", "--disk", path(&disk)]);
    assert_failed_with(&neither, 2, &["--output"]);
    let stray = xva_build(&[
        "build",
        "--disk",
        path(&disk),
        "--sr",
        "x",
        "-o",
        path(&out),
    ]);
    assert_failed_with(&stray, 2, &["--server"]);
    let hvm = build(&pool.args(), &["--disk", path(&disk), "--upload-kernel"]);
    assert_failed_with(&hvm, 2, &["--upload-kernel needs a PV guest"]);
    let bad_url = build(
        &[
            "--server".into(),
            "ftp://host".into(),
            "--password-file".into(),
            path(&pool.password_file()).into(),
        ],
        &["--disk", path(&disk)],
    );
    assert_failed_with(&bad_url, 2, &["ftp://host"]);
    assert!(!out.exists());
    pool.assert_left(0);
    assert_eq!(
        pool.sim.faults().call_count("session.login_with_password"),
        0
    );
}
