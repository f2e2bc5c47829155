//! The report by e-mail, from a real run of the binary on this host (no device-mapper here,
//! so the volume fails at its snapshot), to a real SMTP server on loopback: Python's
//! aiosmtpd with STARTTLS required and AUTH checked (the server script vmbackup's tests use).
//! The log file gets the same report with xenbackup's mail headers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// A Python interpreter that has aiosmtpd.
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
        .expect("no python3 with aiosmtpd: apt-get install python3-aiosmtpd (scripts/install-test-deps)")
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SMTP server with a fresh certificate for `localhost`, in `d`; its port.
fn start_server(d: &Path) -> (Server, u16) {
    sim_http::tls::Certificate::self_signed(&["localhost"])
        .unwrap()
        .write_pem(&d.join("cert.pem"), &d.join("key.pem"))
        .unwrap();
    std::fs::create_dir(d.join("mail")).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vmbackup/tests/integration/smtp_server.py");
    let mut child = Command::new(python_with_aiosmtpd())
        .arg(script)
        .arg(d.join("cert.pem"))
        .arg(d.join("key.pem"))
        .arg(d.join("mail"))
        .args(["backup", "s3cret pass"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no SMTP server: {line:?}"));
    (server, port)
}

/// The configuration files in `d`, the report going to the server on `port`.
fn configure(d: &Path, port: u16) {
    std::fs::create_dir(d.join("repo")).unwrap();
    std::fs::write(d.join("smtp.pass"), "s3cret pass\n").unwrap();
    std::fs::write(
        d.join("lvmbackup.toml"),
        format!(
            "xenbackup_conf = \"{0}/xenbackup.conf\"\n[mail]\nserver = \"localhost\"\nport = {port}\n\
             ca_file = \"{0}/cert.pem\"\nuser = \"backup\"\npassword_file = \"{0}/smtp.pass\"\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("xenbackup.conf"),
        format!(
            "MNTSOURCEDIR=\"{0}/4backup\"\nSBCONFIGFILE=\"{0}/xenback_vols\"\nBM_CONFIGFILE=\"{0}/bm.conf\"\n\
             SNAPMOUNTDELAY=0\nLOGFILE=\"{0}/xenbackup.log\"\n\
             EMAIL_FROM=\"xen@example.org\"\nEMAIL_TO=\"admin@example.org ops@example.org\"\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("bm.conf"),
        format!(
            "BM_REPOSITORY_ROOT=\"{}/repo\"\nBM_ARCHIVE_PREFIX=xen1\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("xenback_vols"),
        "web1|root|/dev/vgmailtest/web1-root|ext4|ro\n",
    )
    .unwrap();
}

#[test]
fn a_failed_run_mails_its_report_and_writes_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_server, port) = start_server(d);
    configure(d, port);
    let output = Command::new(env!("CARGO_BIN_EXE_lvmbackup"))
        .arg("--settings")
        .arg(d.join("lvmbackup.toml"))
        .args(["--json", "run"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["volumes"][0]["step"], "snapshot", "{report}");

    let mails: Vec<serde_json::Value> = std::fs::read_dir(d.join("mail"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(
        mails.len(),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mail = &mails[0];
    assert_eq!(mail["tls"], true);
    assert_eq!(mail["mail_from"], "xen@example.org");
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["admin@example.org", "ops@example.org"])
    );
    let data = mail["data"].as_str().unwrap();
    assert!(data.contains(": FAILED"), "{data}");
    assert!(
        data.contains("web1/root (vgmailtest/web1-root): failed at snapshot"),
        "{data}"
    );

    let log = std::fs::read_to_string(d.join("xenbackup.log")).unwrap();
    assert!(
        log.starts_with(
            "From: xen@example.org\nTo: admin@example.org ops@example.org\nSubject: LVM backup on "
        ),
        "{log}"
    );
    assert!(log.contains("1 volume(s), 1 failed"), "{log}");
}
