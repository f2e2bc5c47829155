//! `--server` URLs: a password in the URL is refused without being shown, and plain
//! `http://` is warned about (the password would cross the network in clear text).

use super::{make_disk, path, text, xva_build};

#[test]
fn server_urls_never_show_a_password_and_clear_text_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, super::MIB);
    let password = dir.path().join("pw");
    std::fs::write(&password, "pw").unwrap();
    std::fs::set_permissions(
        &password,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let build = |server: &str| {
        xva_build(&[
            "build",
            "--disk",
            path(&disk),
            "--name",
            "d",
            "-q",
            "--server",
            server,
            "--password-file",
            path(&password),
        ])
    };
    let output = build("https://root:Hunter2Secret@127.0.0.1:9");
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert!(!shown.contains("Hunter2Secret"), "{shown}");
    assert!(shown.contains("https://***@127.0.0.1:9"), "{shown}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let output = build(&refused);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("warning: --server http:// sends the XAPI password in clear text"),
        "{shown}"
    );
}

#[test]
fn contradictory_trust_flags_are_refused_by_clap_and_host_is_server() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, super::MIB);
    let pin = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
    for flags in [
        &["--tls-insecure", "--tls-fingerprint", pin][..],
        &["--tls-ca-file", "/etc/pki/pool.pem", "--tls-insecure"],
        &[
            "--tls-fingerprint",
            pin,
            "--tls-ca-file",
            "/etc/pki/pool.pem",
        ],
    ] {
        // `--host` is vmbackup's spelling of `--server`, accepted here too.
        let mut args = vec![
            "build",
            "--disk",
            path(&disk),
            "--name",
            "d",
            "--host",
            "https://xs1",
        ];
        args.extend(flags);
        let output = xva_build(&args);
        let shown = text(&output);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {shown}");
        assert!(shown.contains("cannot be used with"), "{flags:?}: {shown}");
    }
    // The connection flags only make sense with --server.
    let output = xva_build(&[
        "build",
        "--disk",
        path(&disk),
        "--name",
        "d",
        "-o",
        "-",
        "--tls-insecure",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("--server <URL>"),
        "{}",
        text(&output)
    );
}
