//! A plain Xen host for the tests: a real OpenSSH server on loopback (a fresh host key, one
//! authorised client key, root logins by key only), a fake `xl` first on its sessions'
//! `PATH` that records its calls and keeps the guest's state in a file, and a guest
//! configuration with `file:` / `tap:aio:` disks made of real file systems (`mkfs.ext4 -d`,
//! one inside an `sfdisk` partition table, one bare as xva.py's `sda1` disks are).

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";
const INSTALL: &str = "install it with scripts/install-test-deps";

/// The guest's MAC.
pub const XL_MAC: &str = "00:16:3e:5a:01:02";
/// The guest's bridge.
pub const XL_BRIDGE: &str = "xenbr1";

/// Runs a tool, failing with how to install it when it is missing.
pub fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): {INSTALL}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 paths")
}

/// The host: its files, its sshd (when started), its fake `xl`.
pub struct XlHost {
    /// Keys, configuration, logs, the guest's files.
    pub dir: TempDir,
    sshd: Option<Child>,
    /// The sshd's port (0 before [`XlHost::start_sshd`]).
    pub port: u16,
}

impl XlHost {
    /// The guest `web` (PV, pygrub, 768 MiB, 2 vCPUs, one NIC on `xenbr1`) with a 64 MiB
    /// partitioned system disk and a 24 MiB bare file-system disk, in state `state`.
    pub fn new(state: &str) -> XlHost {
        let dir = tempfile::tempdir().unwrap();
        let host = XlHost {
            dir,
            sshd: None,
            port: 0,
        };
        host.make_disks();
        let config = format!(
            "# a guest of a plain Xen host\nname = 'web'\nmemory = 768\nvcpus = 2\n\
             bootloader = '/usr/lib/xen/bin/pygrub'\n\
             disk = ['file:{},xvda,w', 'tap:aio:{},sda1,w']\n\
             vif = ['mac={XL_MAC},bridge={XL_BRIDGE}']\non_reboot = 'restart'\n",
            text(&host.system_disk()),
            text(&host.data_disk()),
        );
        fs::write(host.config(), config).unwrap();
        host.write_fake_xl();
        host.set_state(state);
        host
    }

    /// The guest's configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("web.cfg")
    }

    /// The partitioned system disk.
    pub fn system_disk(&self) -> PathBuf {
        self.dir.path().join("web-system.img")
    }

    /// The bare file-system disk (`sda1`).
    pub fn data_disk(&self) -> PathBuf {
        self.dir.path().join("web-data.img")
    }

    fn make_disks(&self) {
        let files = self.dir.path().join("files");
        fs::create_dir_all(files.join("etc")).unwrap();
        fs::write(files.join("etc/hostname"), "web\n").unwrap();
        let mut big = Vec::new();
        for i in 0u32..(3 << 18) {
            big.extend_from_slice(&i.wrapping_mul(2_654_435_761).to_le_bytes());
        }
        fs::write(files.join("data.bin"), &big).unwrap();
        // The system disk: a DOS label, one partition from 1 MiB, an ext4 inside it.
        let system = self.system_disk();
        fs::File::create(&system)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let layout = self.dir.path().join("layout");
        fs::write(&layout, "label: dos\nstart=2048, type=83\n").unwrap();
        let out = Command::new("sfdisk")
            .arg(text(&system))
            .stdin(fs::File::open(&layout).unwrap())
            .output()
            .unwrap_or_else(|e| panic!("sfdisk cannot run ({e}): {INSTALL}"));
        assert!(
            out.status.success(),
            "sfdisk: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let part = self.dir.path().join("part.img");
        fs::File::create(&part).unwrap().set_len(63 << 20).unwrap();
        tool("mkfs.ext4", &["-q", "-F", "-d", text(&files), text(&part)]);
        tool(
            "dd",
            &[
                &format!("if={}", text(&part)),
                &format!("of={}", text(&system)),
                "bs=1M",
                "seek=1",
                "conv=notrunc,sparse",
                "status=none",
            ],
        );
        fs::remove_file(&part).unwrap();
        // The data disk: a file system without a partition table (`sda1`).
        let data = self.data_disk();
        fs::File::create(&data).unwrap().set_len(24 << 20).unwrap();
        tool("mkfs.ext4", &["-q", "-F", "-d", text(&files), text(&data)]);
    }

    /// The directory of the fake `xl`.
    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn write_fake_xl(&self) {
        let bin = self.bin();
        fs::create_dir_all(&bin).unwrap();
        let dir = text(self.dir.path());
        // `shutdown` in mode `hang` never ends on its own: it waits until its caller (the
        // SSH session, or xen2ovirt) is gone, so nothing outlives the test.
        let script = format!(
            "#!/bin/sh\n\
             echo \"$*\" >> {dir}/xl.calls\n\
             state=$(cat {dir}/xl.state)\n\
             case \"$1\" in\n\
             list) [ \"$state\" = running ] && {{ echo \"$2 1 768 2 -b---- 1.0\"; exit 0; }}\n\
             \x20 echo \"$2 is an invalid domain identifier (rc=-6)\" >&2; exit 1 ;;\n\
             shutdown) if [ \"$(cat {dir}/xl.mode 2>/dev/null)\" = hang ]; then\n\
             \x20   parent=$PPID; while kill -0 $parent 2>/dev/null; do sleep 0.2; done; exit 1\n\
             \x20 fi; echo halted > {dir}/xl.state ;;\n\
             create) echo running > {dir}/xl.state ;;\n\
             destroy) echo halted > {dir}/xl.state ;;\n\
             *) echo \"xl: unknown command $1\" >&2; exit 2 ;;\n\
             esac\n"
        );
        let xl = bin.join("xl");
        fs::write(&xl, script).unwrap();
        fs::set_permissions(&xl, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Sets the guest's state (`running` or `halted`).
    pub fn set_state(&self, state: &str) {
        fs::write(self.dir.path().join("xl.state"), format!("{state}\n")).unwrap();
    }

    /// The guest's state.
    pub fn state(&self) -> String {
        fs::read_to_string(self.dir.path().join("xl.state"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Makes `xl shutdown` hang.
    pub fn hang_shutdowns(&self) {
        fs::write(self.dir.path().join("xl.mode"), "hang\n").unwrap();
    }

    /// The `xl` calls so far, one a line.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("xl.calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Starts sshd on a free loopback port.
    pub fn start_sshd(&mut self) {
        assert!(Path::new(SSHD).exists(), "{SSHD} is missing: {INSTALL}");
        fs::create_dir_all("/run/sshd").expect("creating /run/sshd (the tests run as root)");
        let dir = self.dir.path();
        for key in ["host_key", "client_key"] {
            tool(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "test",
                    "-f",
                    text(&dir.join(key)),
                ],
            );
        }
        fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("sshd_config");
        fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {host_key}\nPidFile none\n\
                 AuthorizedKeysFile {keys}\nStrictModes no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 SetEnv PATH={bin}:/usr/sbin:/usr/bin:/sbin:/bin\n\
                 Subsystem sftp internal-sftp\n",
                host_key = text(&dir.join("host_key")),
                keys = text(&dir.join("authorized_keys")),
                bin = text(&self.bin()),
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f", text(&config)])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{SSHD} cannot run ({e}): {INSTALL}"));
        self.sshd = Some(child);
        self.port = port;
        self.wait_for_banner();
    }

    fn wait_for_banner(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.sshd.as_mut().unwrap().try_wait().unwrap() {
                panic!("sshd exited ({status}): {}", self.sshd_log());
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut banner = [0u8; 8];
                if stream.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "sshd does not answer: {}",
                self.sshd_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What sshd logged.
    pub fn sshd_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The host key's `SHA256:…` fingerprint.
    pub fn fingerprint(&self) -> String {
        let listed = tool(
            "ssh-keygen",
            &[
                "-l",
                "-E",
                "sha256",
                "-f",
                text(&self.dir.path().join("host_key.pub")),
            ],
        );
        listed.split_whitespace().nth(1).unwrap().to_owned()
    }

    /// A `known_hosts` file written by `ssh-keyscan`.
    pub fn known_hosts(&self) -> PathBuf {
        let scanned = tool(
            "ssh-keyscan",
            &["-p", &self.port.to_string(), "-t", "ed25519", "127.0.0.1"],
        );
        let file = self.dir.path().join("known_hosts");
        fs::write(&file, scanned).unwrap();
        file
    }

    /// The source flags for the guest over SSH, the host key checked by `known_hosts`.
    pub fn ssh_args(&self, port: u16) -> Vec<String> {
        [
            "--xen-config",
            text(&self.config()),
            "--ssh",
            "root@127.0.0.1",
            "--ssh-port",
            &port.to_string(),
            "--ssh-key",
            text(&self.dir.path().join("client_key")),
            "--ssh-known-hosts",
            text(&self.known_hosts()),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }
}

impl Drop for XlHost {
    fn drop(&mut self) {
        if let Some(mut child) = self.sshd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
