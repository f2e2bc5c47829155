//! The fake XAPI pool (an independent Python server) and the certificates it serves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use sim_http::tls::TestCa;
use tempfile::TempDir;
use xenapi::{SessionOptions, TlsTrust};

/// The user and password the fake pool accepts.
pub const USER: &str = "root";
pub const PASSWORD: &str = "secret";

/// A running fake pool: the master over http and https, and a pool member.
pub struct FakePool {
    child: Child,
    dir: TempDir,
    port: u16,
    tls_port: u16,
    /// SHA-256 of the served certificate, as Python computed it (hex, lower case).
    pub fingerprint: String,
}

impl FakePool {
    /// Starts a pool with `knobs` (see `fake_xapi.py`).
    pub fn start(knobs: &Json) -> FakePool {
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_certificates(&dir);
        let script = dir.path().join("fake_xapi.py");
        std::fs::write(&script, include_str!("fake_xapi.py")).expect("write the script");
        let config = dir.path().join("config.json");
        let settings = json!({
            "cert": dir.path().join("server.pem"),
            "key": dir.path().join("server.key"),
            "knobs": knobs,
        });
        std::fs::write(&config, settings.to_string()).expect("write the config");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&config)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}): install it with `apt-get install python3`")
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the fake pool's first line");
        let ready: Json = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the fake pool did not start ({e}): `{line}`"));
        FakePool {
            child,
            dir,
            port: u16::try_from(ready["port"].as_u64().expect("port")).expect("a port"),
            tls_port: u16::try_from(ready["tls_port"].as_u64().expect("tls port")).expect("a port"),
            fingerprint: ready["fingerprint"]
                .as_str()
                .expect("fingerprint")
                .to_owned(),
        }
    }

    /// The master over plain http.
    pub fn master(&self) -> String {
        format!("http://127.0.0.2:{}", self.port)
    }

    /// A pool member (answers `HOST_IS_SLAVE 127.0.0.2`), on the master's port.
    pub fn member(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The master over https.
    pub fn master_tls(&self) -> String {
        format!("https://127.0.0.2:{}", self.tls_port)
    }

    /// The PEM file of the CA that signed the served certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Session options that pin the served certificate and poll tasks briskly.
    pub fn options(&self) -> SessionOptions {
        SessionOptions {
            tls: TlsTrust::Pinned(vec![self.fingerprint.parse().expect("a fingerprint")]),
            task_poll_min: Duration::from_millis(20),
            task_poll_max: Duration::from_millis(100),
            ..SessionOptions::default()
        }
    }

    /// What the pool saw: logins, logouts, open sessions, tasks, transfer requests, calls.
    /// Read with a raw HTTP/1.0 request, independent of the crate under test.
    pub fn stats(&self) -> Json {
        let mut socket = TcpStream::connect(("127.0.0.2", self.port)).expect("connect");
        socket
            .write_all(b"GET /control/stats HTTP/1.0\r\nHost: fake\r\n\r\n")
            .expect("send");
        let mut response = String::new();
        socket.read_to_string(&mut response).expect("receive");
        let body = response.split_once("\r\n\r\n").expect("a body").1;
        serde_json::from_str(body).expect("JSON stats")
    }

    /// The transfer requests the pool received for `path`.
    pub fn requests(&self, path: &str) -> Vec<Json> {
        self.stats()["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|r| r["path"] == path)
            .cloned()
            .collect()
    }
}

impl Drop for FakePool {
    fn drop(&mut self) {
        // Best effort: the process may already be gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.2, 127.0.0.1 and localhost, made with rcgen.
fn write_certificates(dir: &TempDir) {
    let ca = TestCa::new("fake pool CA").expect("a CA certificate");
    let certificate = ca
        .issue(&["127.0.0.2", "127.0.0.1", "localhost"], "xs1")
        .expect("a server certificate");
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write a PEM file");
    certificate
        .write_pem(
            &dir.path().join("server.pem"),
            &dir.path().join("server.key"),
        )
        .expect("write the PEM files");
}

/// A tracing subscriber that captures log lines, for asserting on warnings.
pub fn capture_logs() -> (impl tracing::Subscriber, Arc<Mutex<Vec<u8>>>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let buffer = buffer.clone();
        move || Capture(buffer.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (subscriber, buffer)
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An error and its causes, as `anyhow`'s `{:#}` would print them.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
