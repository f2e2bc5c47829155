//! The `xapi-sim` binary: started as a process, its first line parsed, a Python login
//! against it, stopped by SIGTERM; `--state` keeps a snapshot across a restart.

use std::process::{Child, Command, Stdio};

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
        field(&line, "slave").starts_with("https://127.0.0.1:"),
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
