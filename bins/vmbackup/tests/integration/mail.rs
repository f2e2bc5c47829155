//! The e-mail report against a real SMTP server on loopback: Python's aiosmtpd with
//! STARTTLS required (a certificate made by rcgen, trusted through `smtp_ca_file`) and AUTH
//! PLAIN or LOGIN checked by the server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cli_common::SecretSource;
use jiff::civil::date;
use vmbackup::JobKind;
use vmbackup::mail::{MailOn, MailSettings, RunReport, send_report};
use vmbackup::status_log::{Counts, Failure, VmOutcome, VmResult};

const USER: &str = "backup-bot";
const PASSWORD: &str = "c0rrect h0rse";

/// A Python interpreter that has aiosmtpd (the one on PATH may be a separate install).
fn python_with_aiosmtpd() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect(
            "no python3 with aiosmtpd: apt-get install python3-aiosmtpd (or pip install aiosmtpd)",
        )
}

/// The SMTP server, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with a fresh certificate for `localhost`, refusing the AUTH
    /// mechanisms in `excluded`.
    fn start(excluded: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        sim_http::tls::Certificate::self_signed(&["localhost"])
            .unwrap()
            .write_pem(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
            .unwrap();
        std::fs::create_dir(dir.path().join("mail")).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/smtp_server.py");
        let mut child = Command::new(python_with_aiosmtpd())
            .arg(script)
            .arg(dir.path().join("cert.pem"))
            .arg(dir.path().join("key.pem"))
            .arg(dir.path().join("mail"))
            .args([USER, PASSWORD])
            .args(excluded)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP server did not start: {line:?}"));
        Server { child, port, dir }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The messages delivered so far, as the server recorded them.
    fn delivered(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|file| serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap())
            .collect()
    }

    /// Settings for this server, with the password in a file.
    fn settings(&self, password: &str) -> MailSettings {
        let password_file = self.dir.path().join("smtp.pass");
        std::fs::write(&password_file, format!("{password}\n")).unwrap();
        MailSettings {
            to: vec![
                "ops@example.org".parse().unwrap(),
                "Backup Team <team@example.org>".parse().unwrap(),
            ],
            from: "vmbackup@xs1.example.org".parse().unwrap(),
            server: "localhost".into(),
            port: self.port,
            starttls: true,
            user: Some(USER.into()),
            password: Some(SecretSource::File(password_file)),
            ca_file: Some(self.ca_file()),
            on: MailOn::Always,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn report() -> RunReport {
    let results = vec![
        VmResult {
            kind: JobKind::VmExport,
            vm: "web01".into(),
            outcome: VmOutcome::Success,
            elapsed: Duration::from_secs(845),
            size: 5 << 30,
            detail: None,
        },
        VmResult {
            kind: JobKind::VdiExport,
            vm: "Sérveur 数据库".into(),
            outcome: VmOutcome::Failed(Failure::VdiExport),
            elapsed: Duration::from_secs(12),
            size: 0,
            detail: Some("writing `/backup/db/.partial-x/db.raw`: No space left on device".into()),
        },
    ];
    RunReport {
        host: "xs1.example.org".into(),
        started: date(2026, 11, 22).at(2, 0, 0, 0),
        finished: date(2026, 11, 22).at(2, 14, 17, 0),
        counts: Counts::of(&results),
        results,
    }
}

fn delivers_with(mechanism: &str, excluded: &str) {
    let server = Server::start(&[excluded]);
    send_report(&server.settings(PASSWORD), &report()).unwrap();
    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(message["mechanism"], mechanism);
    assert_eq!(message["tls"], true);
    assert_eq!(message["mail_from"], "vmbackup@xs1.example.org");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["ops@example.org", "team@example.org"])
    );
    let data = message["data"].as_str().unwrap();
    // The parsed message, as a mail client would see it.
    let parsed = python_parse(data);
    assert_eq!(parsed["subject"], "ERROR xs1.example.org VmBackup.py");
    assert_eq!(parsed["from"], "vmbackup@xs1.example.org");
    assert_eq!(
        parsed["to"],
        "ops@example.org, Backup Team <team@example.org>"
    );
    assert_eq!(parsed["content_type"], "text/plain");
    let body = parsed["body"].as_str().unwrap();
    assert!(
        body.contains("VmBackup ended - **ERRORS DETECTED** - S:1 W:0 E:1"),
        "{body}"
    );
    assert!(
        body.contains("SUCCESS  vm-export           5.0 GiB    14m05s  web01"),
        "{body}"
    );
    assert!(
        body.contains("ERROR    vdi-export                -       12s  Sérveur 数据库"),
        "{body}"
    );
    assert!(
        body.contains("VDI-EXPORT-FAIL: writing `/backup/db/.partial-x/db.raw`"),
        "{body}"
    );
    assert!(!data.contains(PASSWORD));
}

/// Decodes a message with Python's `email` package (headers and a transfer-encoded body).
fn python_parse(data: &str) -> serde_json::Value {
    let script = r"
import email, email.policy, json, sys
m = email.message_from_string(sys.stdin.read(), policy=email.policy.default)
print(json.dumps({'subject': m['subject'], 'from': str(m['from']), 'to': str(m['to']),
                  'content_type': m.get_content_type(), 'body': m.get_content()}))
";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (apt-get install python3)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), data.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn delivers_the_report_over_starttls_with_auth_plain() {
    delivers_with("PLAIN", "LOGIN");
}

#[test]
fn delivers_the_report_over_starttls_with_auth_login() {
    delivers_with("LOGIN", "PLAIN");
}

#[test]
fn a_wrong_password_is_refused() {
    let server = Server::start(&[]);
    let err = send_report(&server.settings("wrong"), &report()).unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        chain.contains(&format!("sending through `localhost:{}`", server.port)),
        "{chain}"
    );
    assert!(
        chain.contains("535") || chain.to_lowercase().contains("auth"),
        "{chain}"
    );
    assert!(server.delivered().is_empty());
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let server = Server::start(&[]);
    let mut settings = server.settings(PASSWORD);
    settings.ca_file = None;
    let err = send_report(&settings, &report()).unwrap_err();
    let chain = format!("{err}: {:?}", std::error::Error::source(&err).unwrap());
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
    assert!(server.delivered().is_empty());
}

#[test]
fn a_backup_run_mails_its_report() {
    use super::support::{Setup, s, vm_with_disks, vmbackup_json};
    let server = Server::start(&[]);
    let password_file = server.dir.path().join("smtp.pass");
    std::fs::write(&password_file, PASSWORD).unwrap();
    let setup = Setup::new(vec![vm_with_disks("mailed", 4)]);
    let config = setup.config(
        "mail.cfg",
        &format!(
            "vm-export=mailed\nmail_to=ops@example.org\nmail_from=vmbackup@example.org\n\
             smtp_server=localhost:{}\nsmtp_user={USER}\nsmtp_password_file={}\nsmtp_ca_file={}\nmail_on=always",
            server.port,
            password_file.display(),
            server.ca_file().display()
        ),
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    let parsed = python_parse(delivered[0]["data"].as_str().unwrap());
    assert!(
        parsed["subject"].as_str().unwrap().starts_with("Success "),
        "{parsed}"
    );
    let body = parsed["body"].as_str().unwrap();
    assert!(
        body.contains("VmBackup ended - Success - S:1 W:0 E:0") && body.contains("mailed"),
        "{body}"
    );
}

#[test]
fn an_ovirt_run_mails_its_report_to_the_seed_s_email_address() {
    use super::ovirt_support::Engine;
    use super::support::{s, vmbackup_json};
    let server = Server::start(&[]);
    let password_file = server.dir.path().join("smtp.pass");
    std::fs::write(&password_file, PASSWORD).unwrap();
    let engine = Engine::new();
    let config = engine.config(
        "mail.cfg",
        &format!(
            "vms_to_backup=vm2\nemail=ops@example.org\nemailfrom=vmbackup@example.org\n\
             smtp_server=localhost:{}\nsmtp_user={USER}\nsmtp_password_file={}\nsmtp_ca_file={}",
            server.port,
            password_file.display(),
            server.ca_file().display()
        ),
    );
    vmbackup_json(&["run", s(&config), "--quiet"], 0);
    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    let parsed = python_parse(delivered[0]["data"].as_str().unwrap());
    let body = parsed["body"].as_str().unwrap();
    assert!(
        body.contains("VmBackup ended - Success - S:1 W:0 E:0") && body.contains("vm2"),
        "{body}"
    );
    engine.assert_clean();
}
