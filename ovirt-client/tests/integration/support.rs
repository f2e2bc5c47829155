//! Helpers: the real imageio daemon (the ovirt-sim harness), TLS files, images, qemu-img.

use std::path::{Path, PathBuf};

use std::time::Duration;

use ovirt_client::{ConnectOptions, Connection, PollPolicy, RetryPolicy, Trust};
use ovirt_sim::imageio::{Imageio, ImageioOptions, TlsFiles};
use ovirt_sim::{SimConfig, Simulator};

/// Runs a tool (`ovirt_sim::tools::run`), panicking with its output on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    ovirt_sim::tools::run(program, args).unwrap_or_else(|e| panic!("{e}"))
}

/// `qemu-img compare` (formats probed): panics unless identical.
pub fn assert_identical(a: &Path, b: &Path) {
    let out = run(
        "qemu-img",
        &["compare", &a.to_string_lossy(), &b.to_string_lossy()],
    );
    assert!(out.contains("Images are identical"), "{out}");
}

/// A sparse raw file of `size` bytes with `len`-byte runs of `pattern` at the offsets.
pub fn raw_image(path: &Path, size: u64, runs: &[(u64, usize, u8)]) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create(path).expect("create an image");
    file.set_len(size).expect("size the image");
    for &(offset, len, pattern) in runs {
        file.write_all_at(&vec![pattern; len], offset)
            .expect("write");
    }
}

/// A daemon, plain HTTP or HTTPS (a certificate for 127.0.0.1 issued by a test CA, as the
/// engine's CA issues the hosts' certificates).
pub fn daemon(dir: &Path, tls: bool) -> Imageio {
    let tls = tls.then(|| {
        let ca = sim_http::tls::TestCa::new("test engine CA").expect("make a CA");
        let cert = ca
            .issue(&["127.0.0.1", "localhost"], "host")
            .expect("issue a certificate");
        let cert_file = dir.join("cert.pem");
        let key_file = dir.join("key.pem");
        let ca_file = dir.join("ca.pem");
        cert.write_pem(&cert_file, &key_file)
            .expect("write the certificate");
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        TlsFiles {
            cert_file,
            key_file,
            ca_file,
        }
    });
    Imageio::start(&ImageioOptions {
        tls,
        debug: true,
        venv: None,
    })
    .expect("start ovirt-imageio")
}

/// The CA file of a TLS daemon.
pub fn ca_of(daemon: &Imageio) -> PathBuf {
    daemon.ca_file().expect("a TLS daemon").to_path_buf()
}

/// Log lines of the daemon mentioning `word` (`WRITE`, `ZERO`, `READ`, `FLUSH`).
pub fn log_lines(daemon: &Imageio, word: &str) -> Vec<String> {
    daemon
        .log()
        .lines()
        .filter(|l| l.contains(&format!("] {word} ")))
        .map(str::to_owned)
        .collect()
}

/// A demo simulator whose appliance links disks under a by-id directory of its own.
pub struct Sim {
    /// The simulator.
    pub sim: Simulator,
    by_id: tempfile::TempDir,
}

impl Sim {
    /// The by-id directory.
    pub fn by_id(&self) -> &Path {
        self.by_id.path()
    }
}

/// Starts the demo engine.
pub fn sim() -> Sim {
    let by_id = tempfile::tempdir().unwrap();
    let mut config = SimConfig::demo();
    config.by_id_dir = by_id.path().to_path_buf();
    Sim {
        sim: Simulator::start(config).expect("start ovirt-sim"),
        by_id,
    }
}

/// Logs in, trusting the simulator's CA file.
pub fn connect(sim: &Simulator) -> Connection {
    connect_with(sim, Trust::CaFile(sim.ca_file().to_path_buf()))
}

/// Logs in with short polls and retries.
pub fn connect_with(sim: &Simulator, trust: Trust) -> Connection {
    let (user, password) = sim.credentials();
    let mut options = ConnectOptions::new(sim.engine_url(), user);
    options.trust = trust;
    options.poll = PollPolicy {
        min: Duration::from_millis(50),
        max: Duration::from_millis(200),
    };
    options.retry = RetryPolicy {
        deadline: Duration::from_secs(10),
        first: Duration::from_millis(50),
        max: Duration::from_millis(200),
    };
    Connection::connect(options, password).expect("log in to ovirt-sim")
}
