//! Helpers: a minimal XML-RPC client over a raw socket (XAPI's codec from the `xenapi`
//! crate), raw HTTP requests, and runners for python3 and curl that fail with an install
//! hint when the tool is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use disk_image::xva::XvaReader;
use disk_image::{NoProgress, RawStreamSink};
use xapi_sim::{Ref, SimConfig, SimHandle, Simulator};
use xenapi::rpc::{Value, decode_response, encode_call};

/// Starts the demo pool.
pub fn demo() -> SimHandle {
    Simulator::start(SimConfig::demo()).expect("the simulator starts")
}

/// `host:port` of a URL.
pub fn authority(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// A raw HTTP/1.1 exchange: the status code, the head and the body (read to the end).
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// Sends `head` (request line and headers, without the final blank line) and `body`, then
/// reads the whole response until the server closes.
pub fn http(url: &str, head: &str, body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(authority(url)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .write_all(format!("{head}\r\n\r\n").as_bytes())
        .unwrap();
    // The server may answer (and close) before it has read everything: ignore EPIPE.
    let _ = stream.write_all(body);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

/// Sends a request whose answer does not matter (the server may drop the connection).
pub fn send(url: &str, head: &str, body: &[u8]) {
    let mut stream = TcpStream::connect(authority(url)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let _ = stream.write_all(format!("{head}\r\n\r\n").as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.read_to_end(&mut Vec::new());
}

/// Splits a raw response (skipping `100 Continue`).
pub fn parse_response(mut raw: &[u8]) -> Response {
    loop {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        raw = &raw[end + 4..];
        if status != 100 {
            return Response {
                status,
                head,
                body: raw.to_vec(),
            };
        }
    }
}

/// A minimal XML-RPC client, one connection per call.
pub struct Rpc {
    pub url: String,
}

impl Rpc {
    pub fn new(url: &str) -> Self {
        Rpc {
            url: url.to_owned(),
        }
    }

    /// Calls `method`; `Err` holds XAPI's `ErrorDescription`.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, Vec<String>> {
        let body = encode_call(method, params);
        let head = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close",
            authority(&self.url),
            body.len()
        );
        let response = http(&self.url, &head, body.as_bytes());
        assert_eq!(response.status, 200, "{}", response.head);
        let text = String::from_utf8(response.body).unwrap();
        let envelope = decode_response(&text).unwrap().unwrap();
        match envelope.member("Status").and_then(Value::as_str) {
            Some("Success") => Ok(envelope.member("Value").cloned().unwrap()),
            _ => Err(envelope
                .member("ErrorDescription")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()),
        }
    }

    /// Calls and expects success.
    pub fn ok(&self, method: &str, params: &[Value]) -> Value {
        self.call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }

    /// Calls and expects failure; returns the error description.
    pub fn err(&self, method: &str, params: &[Value]) -> Vec<String> {
        match self.call(method, params) {
            Ok(value) => panic!("{method} succeeded with {value:?}"),
            Err(description) => description,
        }
    }

    /// Logs in with the simulator's credentials.
    pub fn login(&self, sim: &SimHandle) -> String {
        let (user, password) = sim.credentials();
        text(&self.ok(
            "session.login_with_password",
            &[user.into(), password.into(), "1.0".into(), "tests".into()],
        ))
    }

    /// Waits (at most 20 s) for a task to leave `pending`; returns its record.
    pub fn wait_task(&self, session: &str, task: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let record = self.ok("task.get_record", &[session.into(), task.into()]);
            if record.member("status").and_then(Value::as_str) != Some("pending") {
                return record;
            }
            assert!(Instant::now() < deadline, "task {task} still pending");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The text of a string value.
pub fn text(value: &Value) -> String {
    value.as_str().expect("a string value").to_owned()
}

/// A reference value as a `Ref`.
pub fn reference(value: &Value) -> Ref {
    Ref::new(text(value))
}

/// The ref of the one VM named `name` that is not a snapshot.
pub fn vm_named(sim: &SimHandle, name: &str) -> Ref {
    sim.vms()
        .into_iter()
        .find(|(_, vm)| vm.name_label == name && !vm.is_a_snapshot)
        .map_or_else(|| panic!("no VM {name}"), |(r, _)| r)
}

fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "`{tool}` is missing: apt-get install {package}");
}

/// Runs a Python 3 script with arguments; returns its output (asserts success).
pub fn python(script: &str, args: &[&str]) -> String {
    require("python3", "python3");
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs curl with `args`.
pub fn curl(args: &[&str]) -> Output {
    require("curl", "curl");
    Command::new("curl").args(args).output().expect("curl runs")
}

/// Runs a command that must succeed; returns its standard output.
pub fn run(program: &str, package: &str, args: &[&str]) -> String {
    require(program, package);
    let output = Command::new(program).args(args).output().expect("runs");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Reads an XVA file with disk-image's reader, verifying every checksum; returns each disk's
/// bytes in archive order, and the reports.
pub fn read_xva(path: &Path) -> (Vec<Vec<u8>>, Vec<disk_image::xva::DiskReport>) {
    let (mut reader, _) = XvaReader::open_path(path).expect("ova.xml parses");
    let mut disks = Vec::new();
    let mut reports = Vec::new();
    loop {
        let mut bytes = Vec::new();
        let mut sink = RawStreamSink::new(&mut bytes, "disk");
        match reader
            .read_disk(Some(&mut sink), true, &NoProgress)
            .expect("the disk verifies")
        {
            Some(report) => {
                reports.push(report);
                disks.push(bytes);
            }
            None => break,
        }
    }
    reader.finish().expect("the archive ends properly");
    (disks, reports)
}

/// Reads lines from a child's output until one matches.
pub fn first_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a first line");
    line.trim_end().to_owned()
}

/// Parses `key=value` words of a line.
pub fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// A temporary file path in `dir`.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    dir.path().join(name)
}

/// A `BufReader` over a child's stdout.
pub fn lines_of(child: &mut std::process::Child) -> BufReader<std::process::ChildStdout> {
    BufReader::new(child.stdout.take().expect("piped stdout"))
}
