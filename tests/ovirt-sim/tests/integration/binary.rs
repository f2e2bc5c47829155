//! The `ovirt-sim` binary: its first line, a client against it, a clean stop on SIGTERM
//! with the audit printed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::support::run_python;

/// Kills the simulator on every path.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_url_and_credentials_then_serves_until_sigterm() {
    let by_id = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ovirt-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--audit",
            "--lock-ms",
            "100",
            "--by-id-dir",
        ])
        .arg(by_id.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut guard = Kill(child);
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let fields: Vec<(&str, &str)> = line
        .split_whitespace()
        .map(|f| f.split_once('=').expect("key=value"))
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["url", "user", "password", "ca"], "{line}");
    let value = |key: &str| fields.iter().find(|(k, _)| *k == key).unwrap().1;
    assert!(value("url").starts_with("https://127.0.0.1:"), "{line}");
    let out = run_python(
        "import sys, ovirtsdk4 as sdk\n\
         c = sdk.Connection(url=sys.argv[1], username=sys.argv[2], password=sys.argv[3], ca_file=sys.argv[4])\n\
         print(sorted(v.name for v in c.system_service().vms_service().list()))\nc.close()\n",
        &[value("url"), value("user"), value("password"), value("ca")],
    );
    assert_eq!(out.trim(), "['backup-appliance', 'vm1', 'vm2']");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(guard.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut audit = String::new();
    stdout.read_line(&mut audit).unwrap();
    assert_eq!(audit.trim(), r#"{"leftovers":[]}"#);
    let status = guard.0.wait().unwrap();
    assert!(status.success(), "{status}");
}
