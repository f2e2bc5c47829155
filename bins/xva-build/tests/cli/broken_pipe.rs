//! `inspect` into a pipe whose reader is gone (`| head -c 10`) ends quietly with exit 0.

use std::process::{Command, Stdio};

use super::{make_disk, ok, path};

#[test]
fn inspect_into_a_closed_pipe_exits_0_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, super::MIB);
    let xva = dir.path().join("d.xva");
    ok(&[
        "build",
        "--disk",
        path(&disk),
        "--name",
        "d",
        "-o",
        path(&xva),
        "-q",
    ]);
    for json in [true, false] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = Command::new(env!("CARGO_BIN_EXE_xva-build"));
        command.args(["inspect", path(&xva)]);
        if json {
            command.arg("--json");
        }
        let output = command
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "json={json}: {stderr}");
        assert!(stderr.is_empty(), "json={json}: {stderr}");
    }
}
