//! Stop requests against a host that stalls: SIGTERM during a stalled transfer, or during a
//! login to a host that accepts and never answers, ends the real binary within a second or
//! two (not after the 300 s socket timeout), cleanly: snapshot and task removed, no partial
//! backup left.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use xapi_sim::{Endpoint, TransferFault};

use super::support::{Setup, s, texts, vm_with_disks};

/// A child process killed on drop (a failing test leaves none behind).
pub struct Running(Option<Child>);

impl Running {
    pub fn start(args: &[&str]) -> Running {
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

    fn signal(&self, signal: Signal) {
        let pid = self.0.as_ref().expect("running").id();
        kill(Pid::from_raw(i32::try_from(pid).unwrap()), signal).unwrap();
    }

    /// Waits for the exit; returns the output and how long the wait took.
    pub fn wait(mut self, limit: Duration) -> (std::process::Output, Duration) {
        let started = Instant::now();
        let mut child = self.0.take().expect("running");
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                let (stdout, stderr) = texts(&output);
                panic!("still running {limit:?} after the stop\n{stdout}\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let waited = started.elapsed();
        (child.wait_with_output().unwrap(), waited)
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

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a backup whose transfer on `endpoint` stalls for two minutes, stops it with
/// `signal` once its snapshot exists and the stream is under way, and checks it ends at
/// once and cleanly.
fn stop_a_stalled_transfer(rule: &str, endpoint: Endpoint, signal: Signal) {
    let setup = Setup::new(vec![vm_with_disks("victim", 1)]);
    let config = setup.config("stall.cfg", rule);
    setup.sim.faults().transfer(
        endpoint,
        TransferFault::Stall {
            at_byte: 1 << 20,
            duration: Duration::from_secs(120),
        },
    );
    let run = Running::start(&["run", s(&config), "--quiet"]);
    wait_for("the backup never took its snapshot", || {
        let audit = setup.sim.audit();
        !audit.snapshots.is_empty() || !audit.vdis.is_empty()
    });
    std::thread::sleep(Duration::from_millis(1500)); // into the stalled transfer
    run.signal(signal);
    let (output, waited) = run.wait(Duration::from_secs(10));
    let (stdout, stderr) = texts(&output);
    assert!(waited < Duration::from_secs(3), "took {waited:?}\n{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("os error 11"), "{stderr}");
    setup.assert_no_leaks();
    assert!(
        fs::read_dir(setup.backups().join("victim"))
            .unwrap()
            .next()
            .is_none(),
        "no partial backup remains"
    );
}

#[test]
fn sigterm_during_a_stalled_export_ends_the_run_at_once_and_cleanly() {
    stop_a_stalled_transfer("vm-export=victim", Endpoint::Export, Signal::SIGTERM);
}

#[test]
fn ctrl_c_during_a_stalled_disk_export_ends_the_run_at_once_and_cleanly() {
    stop_a_stalled_transfer("vdi-export=victim", Endpoint::ExportRawVdi, Signal::SIGINT);
}

/// A real socket that accepts connections and never sends a byte.
struct SilentHost {
    address: String,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentHost {
    fn start() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&accepted);
        // Ends with the test process; it only holds the accepted sockets open.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().unwrap().push(stream);
            }
        });
        SilentHost { address, accepted }
    }

    fn connections(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

pub fn password_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("password");
    fs::write(&path, "secret").unwrap();
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

#[test]
fn sigterm_during_a_login_to_a_host_that_never_answers_ends_at_once() {
    let host = SilentHost::start();
    let dir = tempfile::tempdir().unwrap();
    let password = password_file(dir.path());
    let url = format!("https://{}", host.address);
    for (command, signal) in [("run", Signal::SIGTERM), ("preview", Signal::SIGINT)] {
        let before = host.connections();
        let run = Running::start(&[
            command,
            "web01",
            "--host",
            &url,
            "--tls-insecure",
            "--password-file",
            s(&password),
            "--backup-dir",
            s(dir.path()),
        ]);
        wait_for("vmbackup never connected", || host.connections() > before);
        std::thread::sleep(Duration::from_millis(500)); // into the TLS handshake
        run.signal(signal);
        let (output, waited) = run.wait(Duration::from_secs(10));
        let (_, stderr) = texts(&output);
        assert!(
            waited < Duration::from_secs(3),
            "{command}: took {waited:?}\n{stderr}"
        );
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("stopped on request"), "{command}: {stderr}");
        assert!(stderr.contains(&host.address), "{command}: {stderr}");
    }
}
