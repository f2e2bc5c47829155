//! What the binary prints and how: standard output closed by its reader, JSON errors, log
//! lines without colour codes, escaped pool names, global flags before the implied `run`.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::support::{Setup, s, texts, vm_with_disks, vmbackup_exit, vmbackup_json};

/// Runs `vmbackup` with its standard output a pipe whose reader is already gone.
pub fn into_a_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(args)
        .env_remove("VMBACKUP_PASSWORD")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("running vmbackup")
}

#[test]
fn a_closed_standard_output_ends_list_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["list", "--backup-dir", s(dir.path()), "--json"][..],
        &["list", "--backup-dir", s(dir.path())][..],
    ] {
        std::fs::create_dir_all(dir.path().join("web01")).unwrap();
        let output = into_a_closed_pipe(args);
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

/// A configuration for `setup`'s pool whose status log is `status_log`.
fn config_with_status_log(setup: &Setup, status_log: &std::path::Path, rules: &str) -> PathBuf {
    let path = setup.dir.path().join("log.cfg");
    let text = format!(
        "host={}\ntls_fingerprint={}\npassword_file={}\nbackup_dir={}\nstatus_log={}\n{rules}\n",
        setup.sim.url(),
        setup.sim.fingerprint(),
        setup.dir.path().join("password").display(),
        setup.backups().display(),
        status_log.display(),
    );
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_status_log_never_stops_the_backups() {
    let setup = Setup::new(vec![vm_with_disks("web01", 1)]);
    // A missing folder: preview says it will be created, the run creates it.
    let log = setup.dir.path().join("logs/NAUbackup/status.log");
    let config = config_with_status_log(&setup, &log, "vm-export=web01");
    let (_, stderr) = vmbackup_exit(&["preview", s(&config)], 0);
    assert!(
        stderr.contains("does not exist: the run will create it"),
        "{stderr}"
    );
    vmbackup_exit(&["run", s(&config), "--quiet"], 0);
    let lines = fs::read_to_string(&log).unwrap();
    assert!(lines.contains(",end,SUCCESS web01"), "{lines}");
    // A status log that cannot be written: preview refuses (exit 2); a run backs up all
    // the same, warns, and exits 2.
    let blocker = setup.dir.path().join("not-a-folder");
    fs::write(&blocker, b"").unwrap();
    let config = config_with_status_log(&setup, &blocker.join("status.log"), "vm-export=web01");
    let (_, stderr) = vmbackup_exit(&["preview", s(&config)], 2);
    assert!(stderr.contains("cannot be written"), "{stderr}");
    let before = setup.backups_of("web01").len();
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 2);
    assert_eq!(setup.backups_of("web01").len(), before + 1, "{report:#}");
    assert_eq!(report["vms"][0]["status"], "success", "{report:#}");
    assert!(
        report["errors"][0].as_str().unwrap().contains("status log"),
        "{report:#}"
    );
    setup.assert_no_leaks();
}

#[test]
fn global_flags_work_before_the_implied_run() {
    let setup = Setup::new(vec![vm_with_disks("web01", 1)]);
    let config = setup.config("weekend.cfg", "metadata-export=web01");
    let (stdout, _) = vmbackup_exit(&["-q", s(&config)], 0);
    assert!(stdout.contains("VmBackup ended - Success"), "{stdout}");
    let (stdout, stderr) = vmbackup_exit(&["--json", s(&config)], 0);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}\n{stderr}"));
    assert_eq!(report["status"], "SUCCESS", "{report:#}");
}

#[test]
fn json_gets_an_error_object_when_the_run_fails_before_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let password = super::stops::password_file(dir.path());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("https://{}", listener.local_addr().unwrap());
    drop(listener); // nothing listens there now: the login is refused
    for (args, code) in [
        (
            vec![
                "run",
                "web01",
                "--host",
                &refused,
                "--password-file",
                s(&password),
            ],
            1,
        ),
        (vec!["list", "--config", "/nonexistent/x.cfg"], 2),
    ] {
        let mut all = args.clone();
        all.extend(["--backup-dir", s(dir.path()), "--json"]);
        if args[0] == "list" {
            all.truncate(3);
            all.push("--json");
        }
        let (stdout, stderr) = vmbackup_exit(&all, code);
        let error: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
        assert_eq!(error["status"], "error", "{error:#}");
        assert_eq!(error["exit_code"], code, "{error:#}");
        assert!(
            stderr.contains(error["error"].as_str().unwrap()),
            "{stderr}"
        );
    }
}

#[test]
fn log_lines_carry_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let password = super::stops::password_file(dir.path());
    fs::set_permissions(
        &password,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let (_, stderr) = vmbackup_exit(
        &[
            "run",
            "web01",
            "--host",
            "https://127.0.0.1:9",
            "--password-file",
            s(&password),
            "--backup-dir",
            s(dir.path()),
        ],
        1,
    );
    assert!(
        stderr.contains("chmod 600"),
        "a warning is logged: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn control_characters_in_vm_names_are_escaped_everywhere_they_are_printed() {
    // (XML-RPC carries no ESC: the pool cannot hold one.)
    let evil = "evil\r\nVmBackup ended - Success - S:9 W:0 E:0\t.";
    let setup = Setup::new(vec![vm_with_disks(evil, 1)]);
    let config = setup.config("evil.cfg", "vm-export=evil.*");
    let escaped = "evil\\r\\nVmBackup ended - Success - S:9 W:0 E:0\\t.";
    let (preview, _) = vmbackup_exit(&["preview", s(&config)], 0);
    assert!(
        preview.contains(&format!("vm-export: {escaped}\n")),
        "{preview}"
    );
    let (run, _) = vmbackup_exit(&["run", s(&config), "--quiet"], 0);
    let (list, _) = vmbackup_exit(&["list", "--config", s(&config)], 0);
    for out in [&preview, &run, &list] {
        assert!(!out.contains('\r') && !out.contains('\t'), "{out:?}");
        assert!(
            !out.lines()
                .any(|l| l.starts_with("VmBackup ended - Success - S:9")),
            "{out}"
        );
    }
    assert!(
        run.contains(&format!("vm-export of {escaped}: begin")),
        "{run}"
    );
    assert!(list.contains(escaped), "{list}");
    setup.assert_no_leaks();
}

#[test]
fn a_failed_e_mail_report_is_named_once() {
    let setup = Setup::new(vec![vm_with_disks("web01", 1)]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now: the SMTP connection is refused
    let config = setup.config(
        "mail.cfg",
        &format!(
            "metadata-export=web01\nmail_to=ops@example.org\nmail_from=vmbackup@example.org\n\
             smtp_server=127.0.0.1:{port}\nmail_on=always"
        ),
    );
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
    let error = report["errors"][0].as_str().unwrap();
    assert!(error.starts_with("e-mail report: "), "{report:#}");
    assert_eq!(error.matches("e-mail report").count(), 1, "{report:#}");
}

#[test]
fn a_preview_that_does_not_fit_the_pool_prints_one_json_document() {
    let setup = Setup::new(vec![vm_with_disks("web01", 1)]);
    let config = setup.config("missing.cfg", "vm-export=web01\nvm-export=no-such-vm");
    let preview = vmbackup_json(&["preview", s(&config)], 2);
    assert!(
        preview["errors"][0]
            .as_str()
            .unwrap()
            .contains("no-such-vm"),
        "{preview:#}"
    );
    let (_, stderr) = vmbackup_exit(&["preview", s(&config)], 2);
    assert!(stderr.contains("does not fit the pool"), "{stderr}");
}
