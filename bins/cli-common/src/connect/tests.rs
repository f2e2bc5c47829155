use clap::Parser;
use clap::error::ErrorKind;

use super::*;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
}

fn parse(args: &[&str]) -> Result<ConnectArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("tool").chain(args.iter().copied())).map(|c| c.connect)
}

const PIN: &str = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

#[test]
fn the_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn contradictory_trust_or_password_flags_are_refused_by_clap() {
    for args in [
        &["--tls-insecure", "--tls-fingerprint", PIN][..],
        &["--tls-fingerprint", PIN, "--tls-ca-file", "ca.pem"],
        &["--tls-ca-file", "ca.pem", "--tls-insecure"],
        &["--password-file", "a", "--password-file-base64", "b"],
    ] {
        let error = parse(args).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict, "{args:?}");
        // Exit 2, clap's usage-error code, as every usage error of the toolkit.
        assert_eq!(error.exit_code(), 2, "{args:?}");
        let message = error.to_string();
        assert!(message.contains("cannot be used with"), "{message}");
    }
}

#[test]
fn the_flags_choose_the_trust_and_the_password_file() {
    let none = parse(&[]).unwrap();
    assert_eq!(none.tls.choice(), None);
    assert_eq!(none.password.source(), None);
    assert_eq!(none.host, None);

    let pinned = parse(&[
        "--server",
        "https://xs1",
        "--user",
        "admin",
        "--tls-fingerprint",
        PIN,
        "--tls-fingerprint",
        "sha256:AB",
        "--password-file-base64",
        "/root/pw.b64",
    ])
    .unwrap();
    assert_eq!(pinned.host.as_deref(), Some("https://xs1"));
    assert_eq!(pinned.user.as_deref(), Some("admin"));
    assert_eq!(
        pinned.tls.choice(),
        Some(TlsChoice::Pinned(vec![
            PIN.to_owned(),
            "sha256:AB".to_owned()
        ]))
    );
    assert_eq!(
        pinned.password.source(),
        Some(SecretSource::Base64File("/root/pw.b64".into()))
    );

    let ca = parse(&["--host", "https://xs1", "--tls-ca-file", "ca.pem"]).unwrap();
    assert_eq!(ca.tls.choice(), Some(TlsChoice::CaFile("ca.pem".into())));
    let insecure = parse(&["--tls-insecure", "--password-file", "pw"]).unwrap();
    assert_eq!(insecure.tls.choice(), Some(TlsChoice::Insecure));
    assert_eq!(
        insecure.password.source(),
        Some(SecretSource::File("pw".into()))
    );
}

#[test]
fn the_password_comes_from_the_file_else_the_environment_else_a_terminal() {
    let lookup = PasswordLookup {
        what: "the XAPI password",
        env_var: "CLI_COMMON_TEST_PASSWORD_NEVER_SET",
        flags: PASSWORD_FLAGS,
        elsewhere: Some("set password_file= in the configuration"),
    };
    let file = SecretSource::File("/root/pw".into());
    assert_eq!(
        lookup.source(Some(&file), "Password: ", false).unwrap(),
        file
    );
    assert_eq!(
        lookup.source(None, "Password: ", true).unwrap(),
        SecretSource::Prompt("Password: ".into())
    );
    let missing = lookup.source(None, "Password: ", false).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "no password: pass --password-file or --password-file-base64, or set password_file= in \
         the configuration, or set CLI_COMMON_TEST_PASSWORD_NEVER_SET (a prompt needs a \
         terminal)"
    );
    // A variable that is set wins over the prompt (PATH is set under any test runner).
    let from_env = PasswordLookup {
        env_var: "PATH",
        ..lookup
    };
    assert_eq!(
        from_env.source(None, "Password: ", true).unwrap(),
        SecretSource::Env("PATH".into())
    );
    assert_eq!(
        from_env.read(None, "Password: ").unwrap().expose(),
        std::env::var("PATH").unwrap()
    );
}

#[test]
fn a_password_that_cannot_be_read_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let lookup = PasswordLookup {
        what: "the XAPI password",
        env_var: "CLI_COMMON_TEST_PASSWORD_NEVER_SET",
        flags: PASSWORD_FLAGS,
        elsewhere: None,
    };
    let error = lookup
        .read(Some(&SecretSource::File(missing.clone())), "Password: ")
        .unwrap_err();
    assert!(error.downcast_ref::<UsageError>().is_some(), "{error:#}");
    let message = format!("{error:#}");
    assert!(
        message.starts_with("reading the XAPI password: "),
        "{message}"
    );
    assert!(message.contains(&*missing.to_string_lossy()), "{message}");

    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    let secret = lookup
        .read(Some(&SecretSource::File(file)), "Password: ")
        .unwrap();
    assert_eq!(secret.expose(), "s3cret");
}
