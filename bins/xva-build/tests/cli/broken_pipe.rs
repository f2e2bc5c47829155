//! Output into a pipe whose reader is gone (`| head -c 10`) ends quietly with exit 0, for
//! every command that prints to standard output.

use std::process::{Command, Stdio};

use super::{make_disk, ok, path};

#[test]
fn output_into_a_closed_pipe_exits_0_without_a_panic() {
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
    let extracted = dir.path().join("d-back.img");
    // (arguments, whether the command has --json)
    let commands: [(&[&str], bool); 3] = [
        (&["inspect", path(&xva)], true),
        (&["verify", path(&xva)], true),
        (
            &["extract", path(&xva), "--disk", "0", "-o", path(&extracted)],
            false,
        ),
    ];
    let runs = commands.iter().flat_map(|&(args, has_json)| {
        [(args, false), (args, true)]
            .into_iter()
            .take(1 + usize::from(has_json))
    });
    for (args, json) in runs {
        let _ = std::fs::remove_file(&extracted);
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = Command::new(env!("CARGO_BIN_EXE_xva-build"));
        command.args(args);
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
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} json={json}: {stderr}"
        );
        assert!(stderr.is_empty(), "{args:?} json={json}: {stderr}");
    }
}
