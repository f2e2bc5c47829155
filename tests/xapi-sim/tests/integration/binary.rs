//! The `xapi-sim` binary: started as a process, its first line parsed, a Python login
//! against it, stopped by SIGTERM; `--state` keeps a snapshot across a restart, privately;
//! the fault switches and the audit (SIGUSR1, `--audit`); the help's shell examples return.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{field, first_line, lines_of, python};

const LOGIN_AND_SNAPSHOT: &str = r#"
import sys, xmlrpc.client
url, user, password, action = sys.argv[1:5]
server = xmlrpc.client.ServerProxy(url)
session = server.session.login_with_password(user, password, "1.0", "binary-test")["Value"]
if action == "snapshot":
    web = server.VM.get_by_name_label(session, "web-01")["Value"][0]
    print(server.VM.snapshot(session, web, "kept")["Status"])
names = sorted(vm["name_label"] for vm in server.VM.get_all_records(session)["Value"].values()
               if vm["is_a_snapshot"])
print("snapshots", names)
server.session.logout(session)
"#;

fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut stdout = lines_of(&mut child);
    let line = first_line(&mut stdout);
    if args.contains(&"--tls") {
        let second = first_line(&mut stdout);
        assert!(
            second.starts_with("fingerprint=") && second.len() == 12 + 95,
            "{second}"
        );
    }
    (child, line)
}

fn stop(mut child: Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM stops the simulator cleanly"
    );
}

fn login(line: &str, action: &str) -> String {
    let url = field(line, "url").replace("https://", "http://");
    python(
        LOGIN_AND_SNAPSHOT,
        &[&url, field(line, "user"), field(line, "password"), action],
    )
}

#[test]
fn the_binary_prints_its_url_and_serves_python() {
    let (child, line) = start(&["--listen", "127.0.0.1:0", "--tls", "--demo"]);
    assert!(
        field(&line, "url").starts_with("https://127.0.0.1:"),
        "{line}"
    );
    assert!(
        field(&line, "slave").starts_with("https://127.0.0.2:"),
        "{line}"
    );
    assert_eq!(field(&line, "user"), "root");
    let output = login(&line, "snapshot");
    assert_eq!(output, "Success\nsnapshots ['kept']\n");
    stop(child);
}

#[test]
fn state_persists_a_snapshot_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let (child, line) = start(&["--demo", "--state", state]);
    assert_eq!(login(&line, "snapshot"), "Success\nsnapshots ['kept']\n");
    stop(child);
    let (child, again) = start(&["--demo", "--state", state]);
    assert_eq!(
        field(&again, "password"),
        field(&line, "password"),
        "the user is kept"
    );
    assert_eq!(login(&again, "list"), "snapshots ['kept']\n");
    stop(child);
    assert!(dir.path().join("pool.json").exists());
}

#[test]
fn usage_errors_exit_with_2() {
    let status = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
        .args(["--listen", "not-an-address"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}

#[test]
fn state_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("new").join("pool");
    let (child, _) = start(&["--tls", "--state", state.to_str().unwrap()]);
    stop(child);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("key.der")), 0o600);
    assert_eq!(
        mode(&state.join("pool.json")),
        0o600,
        "it holds the password"
    );
    // Kept across a restart in a folder that already exists.
    let (child, _) = start(&["--state", state.to_str().unwrap()]);
    stop(child);
    assert_eq!(mode(&state.join("pool.json")), 0o600);
}

/// A simulator whose standard output stays readable (for the audit it prints).
struct Running {
    child: Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Running {
    fn start(args: &[&str]) -> (Running, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let mut stdout = lines_of(&mut child);
        let line = first_line(&mut stdout);
        (Running { child, stdout }, line)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// The next audit line, parsed.
    fn audit(&mut self) -> serde_json::Value {
        let line = first_line(&mut self.stdout);
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SNAPSHOT_TWICE: &str = r#"
import sys, xmlrpc.client
url, user, password = sys.argv[1:4]
server = xmlrpc.client.ServerProxy(url)
session = server.session.login_with_password(user, password, "1.0", "switches")["Value"]
web = server.VM.get_by_name_label(session, "web-01")["Value"][0]
for name in ["first", "second"]:
    answer = server.VM.snapshot(session, web, name)
    print(name, answer["Status"], " ".join(answer.get("ErrorDescription", [])))
import urllib.request, http.client
try:
    body = urllib.request.urlopen(url + "/export_metadata?session_id=%s&ref=%s" % (session, web)).read()
    print("metadata", len(body))
except http.client.IncompleteRead as cut:
    print("metadata cut", len(cut.partial))
"#;

#[test]
fn fault_switches_arm_the_knobs_and_the_audit_reports_leftovers() {
    let (mut sim, line) = Running::start(&[
        "--demo",
        "--fail-call",
        "VM.snapshot:2=SR_FULL,1,2",
        "--cut",
        "/export_metadata:700",
        "--audit",
    ]);
    let url = field(&line, "url");
    let output = python(
        SNAPSHOT_TWICE,
        &[url, field(&line, "user"), field(&line, "password")],
    );
    assert_eq!(
        output, "first Success \nsecond Failure SR_FULL 1 2\nmetadata cut 700\n",
        "{output}"
    );
    sim.signal(nix::sys::signal::Signal::SIGUSR1);
    let audit = sim.audit();
    assert_eq!(audit["clean"], false, "{audit}");
    let snapshots = audit["audit"]["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{audit}");
    assert_eq!(snapshots[0]["label"], "first");
    assert_eq!(
        audit["audit"]["sessions"].as_array().unwrap().len(),
        1,
        "{audit}"
    );
    sim.signal(nix::sys::signal::Signal::SIGTERM);
    let at_stop = sim.audit();
    assert_eq!(at_stop["audit"]["snapshots"], audit["audit"]["snapshots"]);
    let status = sim.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "--audit: something was left behind");

    let (mut clean, _) = Running::start(&["--demo", "--audit"]);
    clean.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(clean.audit()["clean"], true);
    assert_eq!(clean.child.wait().unwrap().code(), Some(0));

    let bad = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
        .args(["--cut", "/nowhere:10"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an endpoint"));
}

/// A shell in its own process group, killed with everything it started when dropped.
struct Shell(Child);

impl Drop for Shell {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-i32::try_from(self.0.id()).unwrap());
        // SIGTERM: the simulators it started stop cleanly (and remove their folders).
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

#[test]
fn the_help_examples_that_read_the_first_line_return() {
    require_bash();
    let help = Command::new(env!("CARGO_BIN_EXE_xapi-sim"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let examples: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Examples:"))
        .map(str::trim)
        .filter(|line| line.contains('|') || line.contains("<("))
        .collect();
    assert!(!examples.is_empty(), "{help}");
    for example in examples {
        // The command without its comment, run by bash with the binary under test.
        let command = example.split("   (").next().unwrap().trim();
        let command = command.replace("xapi-sim ", &format!("{} ", env!("CARGO_BIN_EXE_xapi-sim")));
        let mut shell = Shell(
            Command::new("bash")
                .args(["-c", &command])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = shell.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "`{example}` does not return");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut printed = String::new();
        shell
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut printed)
            .unwrap();
        assert!(status.success(), "`{example}`: {status:?}");
        assert!(
            printed.starts_with("url=http://127.0.0.1:"),
            "`{example}`: {printed}"
        );
    }
}

fn require_bash() {
    assert!(
        Command::new("bash")
            .arg("-c")
            .arg("true")
            .status()
            .is_ok_and(|s| s.success()),
        "bash is missing: install with: apt-get install bash"
    );
}
