//! Output into a pipe whose reader is gone (`vmbackup list --json | head -c 10`) ends
//! quietly with exit 0: no panic (exit 101), no error message.

use std::process::{Command, Stdio};

use super::support::{Setup, s, vm_with_disks, vmbackup_json};

#[test]
fn listing_into_a_closed_pipe_exits_0_without_a_panic() {
    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let config = setup.config("pipe.cfg", "vm-export=web");
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    for json in [true, false] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = Command::new(env!("CARGO_BIN_EXE_vmbackup"));
        command.args(["list", "--backup-dir", s(&setup.backups())]);
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
    setup.assert_clean();
}
