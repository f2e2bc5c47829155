//! What the oVirt restore tests share: the simulated engine with the real imageio daemon,
//! the real binary's restore flags for it, backups laid out as oVirtSimpleBackup writes
//! them (real `dd`, `gzip`, `lzop`, `bzip2`), and checks through the engine's API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ovirt_client::{ConnectOptions, Connection, PollPolicy, Trust};
use ovirt_sim::{SimConfig, Simulator};

use super::support::{s, texts};

/// The source VM of the demo engine.
pub const SOURCE_VM: &str = "vm1";

/// A demo engine, a work directory, the password file.
pub struct Engine {
    /// The simulator.
    pub sim: Simulator,
    /// Scratch space (raw copies of the source disks, backups).
    pub work: tempfile::TempDir,
    password: PathBuf,
}

impl Engine {
    /// Starts the demo engine.
    pub fn start() -> Engine {
        let work = tempfile::tempdir().unwrap();
        let mut config = SimConfig::demo();
        config.by_id_dir = work.path().join("by-id");
        std::fs::create_dir_all(&config.by_id_dir).unwrap();
        let sim = Simulator::start(config).expect("start ovirt-sim (scripts/install-test-deps)");
        let password = work.path().join("engine.pass");
        std::fs::write(&password, sim.credentials().1).unwrap();
        Engine {
            sim,
            work,
            password,
        }
    }

    /// A client connection for the test's own checks.
    pub fn connect(&self) -> Connection {
        let (user, password) = self.sim.credentials();
        let mut options = ConnectOptions::new(self.sim.engine_url(), user);
        options.trust = Trust::CaFile(self.sim.ca_file().to_path_buf());
        options.poll = PollPolicy {
            min: Duration::from_millis(50),
            max: Duration::from_millis(200),
        };
        Connection::connect(options, password).expect("log in to ovirt-sim")
    }

    /// `vmbackup restore BACKUP` with the engine's flags, then `extra`.
    pub fn restore_args(&self, backup: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "restore",
            s(backup),
            "--host",
            self.sim.engine_url(),
            "--user",
            self.sim.credentials().0,
            "--password-file",
            s(&self.password),
            "--tls-ca-file",
            s(self.sim.ca_file()),
            "--storage-domain",
            "data1",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    }

    /// Runs a restore to its end.
    pub fn restore(&self, backup: &Path, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vmbackup"))
            .args(self.restore_args(backup, extra))
            .env_remove("VMBACKUP_PASSWORD")
            .output()
            .expect("running vmbackup")
    }

    /// Runs a restore with `--json`, expecting `code`; returns the report (or the error).
    pub fn restore_json(&self, backup: &Path, extra: &[&str], code: i32) -> serde_json::Value {
        let mut all = extra.to_vec();
        all.push("--json");
        let output = self.restore(backup, &all);
        let (stdout, stderr) = texts(&output);
        assert_eq!(
            output.status.code(),
            Some(code),
            "restore {extra:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// The guest bytes of disk `id` as a raw file (what the seed's `dd` read on its
    /// appliance), made once.
    pub fn raw_copy(&self, id: &str) -> PathBuf {
        let raw = self.work.path().join(format!("{id}.raw"));
        if !raw.exists() {
            let file = self.sim.disk_file(id).expect("a disk of the engine");
            run("qemu-img", &["convert", "-O", "raw", s(&file), s(&raw)]);
        }
        raw
    }

    /// Asserts that nothing the restores made is left: the engine's VMs and disks are
    /// `vms` and `disks`, and the audit is clean.
    pub fn assert_nothing_left(&self, vms: &[String], disks: &[String]) {
        assert_eq!(self.sim.vm_names(), vms, "VMs left behind");
        assert_eq!(self.sim.disk_list(), disks, "disks left behind");
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "{audit}");
    }
}

/// Runs a tool, panicking with its output on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    ovirt_sim::tools::run(program, args)
        .unwrap_or_else(|e| panic!("{e} (scripts/install-test-deps)"))
}

/// `qemu-img compare`: panics unless the two images hold the same bytes.
pub fn assert_identical(a: &Path, b: &Path) {
    let out = run("qemu-img", &["compare", s(a), s(b)]);
    assert!(out.contains("Images are identical"), "{out}");
}

/// How oVirtSimpleBackup compressed a disk (`compress` 0-3): the filter between its two
/// `dd`s and the file's suffix.
pub const COMPRESSIONS: [(&str, &str); 4] = [
    ("", ""),
    ("gzip -c |", ".gz"),
    ("lzop -c |", ".lzo"),
    ("bzip2 -c |", ".bzip2"),
];

/// Writes a backup of the source VM under `root` as oVirtSimpleBackup does:
/// `<VM>/<uuid>/BU_<stamp>/` with `data.xml` (the VM's OVF), `DiskN.dat` (17 lines) and
/// `DiskN.img<suffix>` written by `dd | <filter> dd`, boot disk first. Returns the
/// directory.
pub fn seed_backup(
    engine: &Engine,
    root: &Path,
    stamp: &str,
    filter: &str,
    suffix: &str,
) -> PathBuf {
    let connection = engine.connect();
    let vm = connection.find_vm(SOURCE_VM, true).unwrap().unwrap();
    let id = vm.id.clone().unwrap();
    let name = format!("BU_{stamp}");
    let dir = root.join(SOURCE_VM).join(&id).join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let ovf = vm
        .initialization
        .and_then(|i| i.configuration)
        .and_then(|c| c.data)
        .expect("the VM's OVF");
    std::fs::write(dir.join("data.xml"), ovf).unwrap();
    let mut attachments = connection.attachments(&id).unwrap();
    attachments.sort_by_key(|a| !a.bootable.unwrap_or(false));
    for (index, attachment) in attachments.iter().enumerate() {
        let n = index + 1;
        let disk_id = attachment.id.clone().unwrap();
        let disk = connection.disk(&disk_id).unwrap();
        let raw = engine.raw_copy(&disk_id);
        run(
            "sh",
            &[
                "-c",
                &format!(
                    "dd if={} bs=1M status=none | {filter} dd of={}/Disk{n}.img{suffix} bs=1M conv=notrunc,noerror status=none",
                    raw.display(),
                    dir.display()
                ),
            ],
        );
        let mut lines = vec![
            format!("Disk{n}"),
            disk_id.clone(),
            disk.name.clone().unwrap(),
            attachment.bootable.unwrap().to_string(),
            attachment.interface.unwrap().to_string(),
            disk.provisioned_size.unwrap().to_string(),
            format!("vd{}", char::from(b'b' + u8::try_from(index).unwrap())),
            SOURCE_VM.to_owned(),
            name.clone(),
            id.clone(),
        ];
        lines.extend(std::iter::repeat_n(" ".to_owned(), 7));
        std::fs::write(dir.join(format!("Disk{n}.dat")), lines.join("\n") + "\n").unwrap();
    }
    std::fs::write(dir.join("progress.dat"), "100\n").unwrap();
    drop(connection);
    dir
}

/// A `vmbackup` process killed on drop (a failing test leaves none behind).
pub struct Running(Option<Child>);

impl Running {
    /// Starts `vmbackup args…`.
    pub fn start(args: &[String]) -> Running {
        let child = Command::new(env!("CARGO_BIN_EXE_vmbackup"))
            .args(args)
            .env_remove("VMBACKUP_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running vmbackup");
        Running(Some(child))
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.0.as_ref().expect("running").id()).unwrap()
    }

    /// Waits (at most `limit`) for the exit.
    pub fn wait(mut self, limit: Duration) -> Output {
        let started = Instant::now();
        let mut child = self.0.take().expect("running");
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                let (stdout, stderr) = texts(&output);
                panic!("still running after {limit:?}\n{stdout}\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (at most 60 s) until the engine has an image transfer `transferring`.
pub fn wait_for_a_transfer(sim: &Simulator) {
    let started = Instant::now();
    while !sim.audit().leftovers.iter().any(
        |l| matches!(l, ovirt_sim::Leftover::Transfer { phase, .. } if phase == "transferring"),
    ) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no transfer started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
