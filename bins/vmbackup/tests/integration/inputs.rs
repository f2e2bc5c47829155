//! Configuration and secret files that are not small regular files, passwords in URLs,
//! clear-text hosts, and the exit code 2 of every usage or configuration error.

use std::fs;
use std::time::Duration;

use super::stops::{Running, password_file};
use super::support::{s, texts, vmbackup_exit};

/// Runs `vmbackup` expecting it to end within 10 s with `code`; returns standard error.
fn ends_with(args: &[&str], code: i32) -> String {
    let (output, _) = Running::start(args).wait(Duration::from_secs(10));
    let (stdout, stderr) = texts(&output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}\n{stdout}\n{stderr}"
    );
    stderr
}

fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "mkfifo (coreutils) is missing"
    );
}

#[test]
fn configuration_files_must_be_small_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.cfg");
    let text = "# comment\n".repeat(200_000); // 2 MB of valid configuration
    fs::write(&huge, format!("{text}vm-export=web01\n")).unwrap();
    let fifo = dir.path().join("fifo.cfg");
    mkfifo(&fifo);
    for (path, why) in [
        (huge.as_path(), "larger than the 1024 KiB allowed"),
        (fifo.as_path(), "not a regular file (a FIFO)"),
        (
            std::path::Path::new("/dev/zero"),
            "not a regular file (a character device)",
        ),
    ] {
        let stderr = ends_with(&["list", "--config", s(path)], 2);
        assert!(
            stderr.contains(&format!("`{}`: {why}", path.display())),
            "{stderr}"
        );
        let stderr = ends_with(&["prune", "--config", s(path), "--dry-run"], 2);
        assert!(stderr.contains(why), "{stderr}");
    }
    // As the run's target: a device or FIFO is neither a configuration nor a VM selector.
    let stderr = ends_with(&["run", s(&fifo)], 2);
    assert!(stderr.contains("is not a regular file"), "{stderr}");
    let stderr = ends_with(&["preview", "/dev/zero"], 2);
    assert!(stderr.contains("is not a regular file"), "{stderr}");
}

#[test]
fn password_files_must_be_small_regular_files_and_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.pass");
    fs::File::create(&huge).unwrap().set_len(64 << 20).unwrap();
    let fifo = dir.path().join("fifo.pass");
    mkfifo(&fifo);
    let missing = dir.path().join("missing.pass");
    let backups = s(dir.path());
    for (path, why) in [
        (huge.as_path(), "larger than the 64 KiB allowed"),
        (fifo.as_path(), "not a regular file (a FIFO)"),
        (
            std::path::Path::new("/dev/urandom"),
            "not a regular file (a character device)",
        ),
        (missing.as_path(), "No such file"),
    ] {
        let stderr = ends_with(
            &[
                "run",
                "web01",
                "--host",
                "https://127.0.0.1:9",
                "--password-file",
                s(path),
                "--backup-dir",
                backups,
            ],
            2,
        );
        assert!(
            stderr.contains(&format!("the password file `{}`", path.display())),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
    }
}

#[test]
fn a_password_in_the_url_is_refused_without_being_shown() {
    let dir = tempfile::tempdir().unwrap();
    let password = password_file(dir.path());
    let cfg = dir.path().join("pw.cfg");
    fs::write(
        &cfg,
        "host=https://root:Hunter2Secret@pool\nvm-export=web01\n",
    )
    .unwrap();
    let (stdout, stderr) = vmbackup_exit(&["preview", s(&cfg), "--json"], 2);
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains("Hunter2Secret"), "{shown}");
    }
    assert!(stderr.contains("https://***@pool"), "{stderr}");
    let (stdout, stderr) = vmbackup_exit(
        &[
            "run",
            "web01",
            "--host",
            "https://root:Hunter2Secret@127.0.0.1:9",
            "--password-file",
            s(&password),
            "--backup-dir",
            s(dir.path()),
            "--json",
        ],
        2,
    );
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains("Hunter2Secret"), "{shown}");
    }
    assert!(
        stderr.contains("credentials do not belong in the URL"),
        "{stderr}"
    );
}

#[test]
fn a_clear_text_host_on_the_command_line_is_warned_about_and_bad_pins_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let password = password_file(dir.path());
    let common = [
        "--password-file",
        s(&password),
        "--backup-dir",
        s(dir.path()),
    ];
    let mut args = vec!["preview", "web01", "--host", "http://127.0.0.1:9"];
    args.extend(common);
    let (_, stderr) = vmbackup_exit(&args, 1);
    assert!(
        stderr.contains(
            "warning: the command line: --host http:// sends the XAPI password in clear text"
        ),
        "{stderr}"
    );
    let mut args = vec![
        "preview",
        "web01",
        "--host",
        "https://127.0.0.1:9",
        "--tls-fingerprint",
        "AB:CD",
    ];
    args.extend(common);
    let (_, stderr) = vmbackup_exit(&args, 2);
    assert!(
        stderr.contains("--tls-fingerprint: `AB:CD` is not a SHA-256 fingerprint"),
        "{stderr}"
    );
}
