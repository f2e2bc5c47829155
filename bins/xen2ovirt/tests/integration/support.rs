//! Both simulators, the real binary, and checks with independent tools.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ovirt_client::{ConnectOptions, Connection, Trust};
use tempfile::TempDir;
use xapi_sim::{CreatedVm, DiskContents, NewDisk, NewVm, SimHandle};
use xenapi::records::PowerState;

/// The name of the network every VM of xapi-sim is on.
pub const XEN_NETWORK: &str = "Pool-wide network associated with eth0";
/// The MAC of the source VM's NIC.
pub const MAC: &str = "aa:bb:cc:12:34:56";

/// A pool with a halted PV VM `web-01` (a 40 MiB system disk holding about 6 MiB of
/// file-system-like data, a 10 MiB data disk with about 2 MiB, an empty CD drive, one NIC),
/// an engine (ovirt-sim with the real imageio daemon), and password files.
pub struct Fixture {
    pub xen: SimHandle,
    pub ovirt: ovirt_sim::Simulator,
    pub source: CreatedVm,
    pub dir: TempDir,
}

fn pattern(seed: u64, mib: u64) -> DiskContents {
    DiskContents::Pattern {
        seed,
        data_bytes: mib << 20,
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_source(PowerState::Halted)
    }

    /// The same, the source VM in `power`.
    pub fn with_source(power: PowerState) -> Fixture {
        let mut vm = NewVm::new("web-01")
            .disk(NewDisk::new("web-01 system", 40 << 20, pattern(7, 6)))
            .disk(NewDisk::new("web-01 data", 10 << 20, pattern(8, 2)))
            .vif(MAC);
        vm.hvm = false;
        vm.cd_drive = true;
        vm.vcpus = 2;
        vm.memory = 1536 << 20;
        vm.power_state = power;
        Fixture::with_vm(&vm)
    }

    /// A pool with the source VM `vm`, an engine and password files.
    pub fn with_vm(vm: &NewVm) -> Fixture {
        Fixture::with_engine(vm, ovirt_sim::SimConfig::new())
    }

    /// The same, the engine started from `config` (its timing made short).
    pub fn with_engine(vm: &NewVm, mut config: ovirt_sim::SimConfig) -> Fixture {
        let xen = xapi_sim::Simulator::start(xapi_sim::SimConfig::new()).expect("xapi-sim starts");
        let source = xen.add_vm(vm).expect("add the source VM");
        config.timing = ovirt_sim::Timing {
            disk_lock: Duration::from_millis(100),
            snapshot_lock: Duration::from_millis(100),
            transfer_step: Duration::from_millis(100),
            backup_step: Duration::from_millis(100),
            job: Duration::from_millis(100),
        };
        let ovirt = ovirt_sim::Simulator::start(config).expect("ovirt-sim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (file, password) in [
            ("xen.pw", xen.credentials().1),
            ("ovirt.pw", ovirt.credentials().1),
        ] {
            let path = dir.path().join(file);
            std::fs::write(&path, password).expect("write a password file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod 600");
        }
        Fixture {
            xen,
            ovirt,
            source,
            dir,
        }
    }

    /// The connection flags.
    pub fn connection_args(&self) -> Vec<String> {
        let pw = |f: &str| self.dir.path().join(f).display().to_string();
        [
            "--xen",
            self.xen.url(),
            "--xen-password-file",
            &pw("xen.pw"),
            "--ovirt",
            self.ovirt.engine_url(),
            "--ovirt-user",
            self.ovirt.credentials().0,
            "--ovirt-password-file",
            &pw("ovirt.pw"),
            "--ovirt-ca-file",
            &self.ovirt.ca_file().display().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// Runs the binary with the connection flags, the network map and `extra`.
    pub fn run(&self, extra: &[&str]) -> Output {
        let map = format!("{XEN_NETWORK}=ovirtmgmt");
        let mut args = vec!["--network", map.as_str()];
        args.extend_from_slice(extra);
        self.run_unmapped(&args)
    }

    /// Runs the binary with the connection flags and `extra` only.
    pub fn run_unmapped(&self, extra: &[&str]) -> Output {
        let mut args = self.connection_args();
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_raw(&args)
    }

    /// Starts the binary with the connection flags, the network map and `extra`, without
    /// waiting; the process is killed if the test ends first.
    pub fn spawn(&self, extra: &[&str]) -> Running {
        let map = format!("{XEN_NETWORK}=ovirtmgmt");
        let child = Command::new(env!("CARGO_BIN_EXE_xen2ovirt"))
            .args(self.connection_args())
            .args(["--network", map.as_str()])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start xen2ovirt");
        Running(Some(child))
    }

    /// A client of the engine, for checks.
    pub fn engine(&self) -> Connection {
        let mut options = ConnectOptions::new(self.ovirt.engine_url(), self.ovirt.credentials().0);
        options.trust = Trust::CaFile(self.ovirt.ca_file().to_path_buf());
        Connection::connect(options, self.ovirt.credentials().1).expect("connect to ovirt-sim")
    }

    /// Both simulators' audits are clean.
    pub fn assert_clean(&self) {
        let xen = self.xen.audit();
        assert!(xen.is_clean(), "xapi-sim: {xen:?}");
        let ovirt = self.ovirt.audit();
        assert!(ovirt.is_clean(), "ovirt-sim: {ovirt}");
    }

    /// The source VM's power state.
    pub fn source_power(&self) -> Option<PowerState> {
        self.xen.vm(&self.source.vm).map(|vm| vm.power_state)
    }

    /// The sparse file of the source's `n`-th disk.
    pub fn source_disk(&self, n: usize) -> PathBuf {
        self.xen.vdi_path(&self.source.vdis[n]).expect("a VDI file")
    }
}

/// Runs the binary with `args` alone.
pub fn run_raw(args: &[&str]) -> Output {
    let extra = args;
    let output = Command::new(env!("CARGO_BIN_EXE_xen2ovirt"))
        .args(args)
        .env_remove("XEN2OVIRT_XEN_PASSWORD")
        .env_remove("XEN2OVIRT_OVIRT_PASSWORD")
        .output()
        .expect("run xen2ovirt");
    eprintln!(
        "xen2ovirt {extra:?}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A running xen2ovirt, killed when dropped.
pub struct Running(Option<std::process::Child>);

impl Running {
    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.0.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Kills the process hard (SIGKILL: no guard runs) and reaps it.
    pub fn kill(mut self) {
        let mut child = self.0.take().expect("running");
        child.kill().expect("SIGKILL xen2ovirt");
        let status = child.wait().expect("wait for xen2ovirt");
        assert!(status.code().is_none(), "killed, not exited: {status}");
    }

    /// Waits for the exit; its code.
    pub fn wait(mut self) -> i32 {
        let status = self
            .0
            .take()
            .expect("running")
            .wait()
            .expect("wait for xen2ovirt");
        status.code().expect("an exit code, not a signal")
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

/// The exit code.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("an exit code, not a signal")
}

/// Standard output as JSON.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("JSON on standard output")
}

/// `qemu-img compare` (formats probed): panics unless identical.
pub fn assert_identical(a: &Path, b: &Path) {
    let out = ovirt_sim::tools::run(
        "qemu-img",
        &["compare".as_ref(), a.as_os_str(), b.as_os_str()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.contains("Images are identical"), "{out}");
}
