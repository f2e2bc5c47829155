//! A real OpenSSH server on loopback for the upload tests, started by the test from a
//! configuration of its own: a fresh host key, one authorised client key, password logins
//! allowed, and every session forced into `internal-sftp` chrooted into a temporary
//! directory, so that `/boot/guest/...` on the "host" is `<root>/boot/guest/...` here.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::path;

const SSHD: &str = "/usr/sbin/sshd";

/// A running `sshd`; killed when dropped.
pub struct Sshd {
    child: Child,
    pub port: u16,
    /// Keys, configuration, log, `known_hosts`.
    pub dir: TempDir,
    /// The SFTP sessions' `/`.
    pub root: TempDir,
}

/// Runs a tool of OpenSSH's, failing with the package to install when it is missing.
fn openssh(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} cannot run ({e}): install with: apt-get install openssh-client")
    });
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A new ed25519 key pair without passphrase at `file` (and `file.pub`).
pub fn keygen(file: &Path) {
    openssh(
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
            path(file),
        ],
    );
}

/// The `SHA256:…` fingerprint of a public key file, as `ssh-keygen -l` prints it.
pub fn fingerprint(public_key: &Path) -> String {
    let listed = openssh(
        "ssh-keygen",
        &["-l", "-E", "sha256", "-f", path(public_key)],
    );
    listed
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l prints bits, fingerprint, comment")
        .to_owned()
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install with: apt-get install openssh-server"
        );
        // The privilege separation directory Debian's ssh.service creates at boot: sshd
        // refuses to start without it.
        fs::create_dir_all("/run/sshd").expect("creating /run/sshd (the tests run as root)");
        let dir = tempfile::tempdir().unwrap();
        // A chroot must be owned by root and writable by nobody else, all the way up to `/`:
        // neither /tmp nor a checkout below it qualifies, /run (root's tmpfs, 0755) does.
        let root = tempfile::Builder::new()
            .prefix("vmtoolkit-sftp-root-")
            .tempdir_in("/run")
            .expect("creating a chroot in /run (the tests run as root)");
        let host_key = dir.path().join("host_key");
        keygen(&host_key);
        let client_key = dir.path().join("client_key");
        keygen(&client_key);
        fs::copy(
            client_key.with_extension("pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("sshd_config");
        fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\n\
                 HostKey {host_key}\n\
                 PidFile none\n\
                 AuthorizedKeysFile {keys}\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PermitRootLogin yes\n\
                 PasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\n\
                 Subsystem sftp internal-sftp\n\
                 Match all\n\
                 \tChrootDirectory {root}\n\
                 \tForceCommand internal-sftp\n",
                host_key = path(&host_key),
                keys = path(&dir.path().join("authorized_keys")),
                root = path(root.path()),
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f", path(&config)])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{SSHD} cannot run ({e}): install with: apt-get install openssh-server")
            });
        let mut sshd = Sshd {
            child,
            port,
            dir,
            root,
        };
        sshd.wait_for_banner();
        sshd
    }

    fn wait_for_banner(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("sshd exited ({status}): {}", self.log());
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
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What sshd logged.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The private key sshd accepts.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// The host key's `SHA256:…` fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.dir.path().join("host_key.pub"))
    }

    /// A `known_hosts` file written by `ssh-keyscan` (OpenSSH's own client).
    pub fn known_hosts(&self) -> PathBuf {
        let scanned = openssh(
            "ssh-keyscan",
            &["-p", &self.port.to_string(), "-t", "ed25519", "127.0.0.1"],
        );
        assert!(scanned.contains("ssh-ed25519"), "{scanned}");
        let file = self.dir.path().join("known_hosts");
        fs::write(&file, scanned).unwrap();
        file
    }

    /// The files under the SFTP root, relative to it, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![self.root.path().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap().path();
                let relative = entry.strip_prefix(self.root.path()).unwrap();
                found.push(format!("/{}", relative.display()));
                if entry.is_dir() {
                    pending.push(entry);
                }
            }
        }
        found.sort();
        found
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
