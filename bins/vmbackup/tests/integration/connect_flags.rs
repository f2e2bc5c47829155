//! The connection flags are cli-common's: contradictory trust flags are refused by clap
//! (exit 2, nothing contacted), and xva-build's spelling `--server` is accepted for `--host`.

use super::support::{Setup, s, vm_with_disks, vmbackup_exit};

const PIN: &str = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

#[test]
fn contradictory_trust_flags_are_a_usage_error_and_server_is_host() {
    for flags in [
        &["--tls-insecure", "--tls-fingerprint", PIN][..],
        &["--tls-ca-file", "/etc/pki/pool.pem", "--tls-insecure"],
        &[
            "--tls-fingerprint",
            PIN,
            "--tls-ca-file",
            "/etc/pki/pool.pem",
        ],
        &["--password-file", "/a", "--password-file-base64", "/b"],
    ] {
        let mut args = vec!["run", "web"];
        args.extend(flags);
        let (_, stderr) = vmbackup_exit(&args, 2);
        assert!(
            stderr.contains("cannot be used with"),
            "{flags:?}: {stderr}"
        );
    }
    // `--server` reaches the pool as `--host` does (here: a run that backs up the VM).
    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let config = setup.config("server.cfg", "vm-export=web");
    let text = std::fs::read_to_string(&config).unwrap();
    let without_host: Vec<&str> = text.lines().filter(|l| !l.starts_with("host=")).collect();
    std::fs::write(&config, without_host.join("\n")).unwrap();
    vmbackup_exit(
        &["run", s(&config), "--quiet", "--server", setup.sim.url()],
        0,
    );
    assert_eq!(setup.backups_of("web").len(), 1);
    setup.assert_clean();
}
