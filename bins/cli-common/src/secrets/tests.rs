use std::fs;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

fn file_with(content: &[u8], mode: u32) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content).unwrap();
    fs::set_permissions(file.path(), fs::Permissions::from_mode(mode)).unwrap();
    file
}

/// Runs `body` with a `tracing` subscriber writing into a buffer, and returns what it
/// logged.
fn logged(body: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, body);
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn secrets_never_print() {
    #[derive(Debug)]
    #[allow(dead_code)] // read by the derived Debug only
    struct Login {
        user: String,
        password: Secret,
    }
    let secret = Secret::new("hunter2");
    assert_eq!(secret.to_string(), "***");
    assert_eq!(format!("{secret:?}"), "***");
    let login = Login {
        user: "root".into(),
        password: secret.clone(),
    };
    let shown = format!("{login:?} {login:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(secret.expose(), "hunter2");
}

#[test]
fn plain_files_lose_their_trailing_line_breaks_only() {
    for (content, expected) in [
        (&b"hunter2\n"[..], "hunter2"),
        (b"hunter2\r\n", "hunter2"),
        (b"hunter2", "hunter2"),
        (b" two words \n\n", " two words "),
        ("pässwörd\n".as_bytes(), "pässwörd"),
    ] {
        let file = file_with(content, 0o600);
        let secret = SecretSource::File(file.path().into()).read().unwrap();
        assert_eq!(secret.expose(), expected, "{content:?}");
    }
}

#[test]
fn reads_naubackup_base64_password_files() {
    // What `VmBackup.py 'pa$$ word' create-password-file=…` writes: base64, no newline.
    for content in [
        &b"cGEkJCB3b3Jk"[..],
        b"cGEkJCB3b3Jk\n",
        b"  cGEkJCB3b3Jk  \r\n",
    ] {
        let file = file_with(content, 0o600);
        let secret = SecretSource::Base64File(file.path().into()).read().unwrap();
        assert_eq!(secret.expose(), "pa$$ word");
    }
    // Padding is optional: "ab" is YWI= with padding.
    let file = file_with(b"YWI", 0o600);
    assert_eq!(
        read_base64_password_file(file.path()).unwrap().expose(),
        "ab"
    );
}

#[test]
fn bad_password_files_are_errors_naming_the_file() {
    let not_base64 = file_with(b"not base64!", 0o600);
    let err = read_base64_password_file(not_base64.path()).unwrap_err();
    assert!(matches!(err, SecretError::NotBase64 { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&not_base64.path().display().to_string())
    );

    let binary = file_with(&[0xff, 0xfe, b'\n'], 0o600);
    let err = read_password_file(binary.path()).unwrap_err();
    assert!(matches!(err, SecretError::NotText { .. }), "{err}");

    let empty = file_with(b"\n", 0o600);
    let err = read_password_file(empty.path()).unwrap_err();
    assert!(err.to_string().contains("empty password"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = read_password_file(&missing).unwrap_err();
    assert!(matches!(err, SecretError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn warns_about_password_files_others_can_read() {
    let open = file_with(b"hunter2\n", 0o644);
    let log = logged(|| {
        read_password_file(open.path()).unwrap();
    });
    assert!(log.contains("chmod 600"), "{log}");
    assert!(log.contains("mode=644"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");

    let private = file_with(b"hunter2\n", 0o600);
    let log = logged(|| {
        read_base64_password_file(private.path()).unwrap_err();
        read_password_file(private.path()).unwrap();
    });
    assert!(log.is_empty(), "{log}");
}

#[test]
fn reads_environment_variables() {
    // Tests cannot set variables (unsafe since edition 2024): PATH is always set.
    let path = std::env::var("PATH").unwrap();
    assert_eq!(read_env("PATH").unwrap().expose(), path);
    let err = SecretSource::Env("VMTOOLKIT_TEST_SURELY_UNSET_98431".into())
        .read()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`VMTOOLKIT_TEST_SURELY_UNSET_98431` is not set"),
        "{err}"
    );
}

/// Not a test on its own: the child process of the two prompt tests below (it does nothing
/// unless they start it).
#[test]
#[ignore = "helper process of the prompt tests"]
fn prompt_child() {
    if std::env::var_os("SECRETS_PROMPT_CHILD").is_none() {
        return;
    }
    match prompt_password("Password: ") {
        Ok(secret) => println!("\nchild read {} chars: {}", secret.expose().len(), {
            if secret.expose() == "s3cret pw" {
                "MATCH"
            } else {
                "DIFFERENT"
            }
        }),
        Err(err) => println!("\nchild error: {err}"),
    }
}

fn child_command(program: &str, wrap: &[&str]) -> Command {
    let exe = std::env::current_exe().unwrap();
    let test = format!(
        "{} --exact secrets::tests::prompt_child --ignored --nocapture --test-threads=1",
        exe.display()
    );
    let mut command = Command::new(program);
    command
        .args(wrap)
        .arg(test)
        .env("SECRETS_PROMPT_CHILD", "1");
    command
}

fn tool_missing(program: &str, error: &io::Error) -> ! {
    panic!("cannot run `{program}` ({error}): apt-get install util-linux bsdutils")
}

#[test]
fn prompt_reads_the_terminal_with_echo_off() {
    // `script` gives the child a real pseudo-terminal as its controlling terminal and relays
    // our stdin to it: what it prints is what a user would see.
    let mut child = child_command("script", &["-qec"])
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| tool_missing("script", &e));
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buffer) {
                screen.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    let shown = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !shown().contains("Password: ") {
        assert!(Instant::now() < deadline, "no prompt shown: {:?}", shown());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The prompt is written just before echo is switched off.
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"s3cret pw\n").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let screen = shown();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("child read 9 chars: MATCH"), "{screen:?}");
    assert!(
        !screen.contains("s3cret"),
        "the password was echoed: {screen:?}"
    );
}

#[test]
fn prompt_without_a_terminal_says_what_to_do_instead() {
    // `setsid` starts the child in a new session, without a controlling terminal (as cron
    // does).
    let output = child_command("setsid", &["--wait", "sh", "-c"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| tool_missing("setsid", &e));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("child error: cannot prompt for the password on the terminal"),
        "{stdout}"
    );
    assert!(stdout.contains("password file"), "{stdout}");
}
