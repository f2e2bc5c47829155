//! What the binary prints and how: standard output closed by its reader, JSON errors, log
//! lines without colour codes, escaped pool names, global flags before the implied `run`.

use std::process::{Command, Stdio};

use super::support::{s, texts};

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
