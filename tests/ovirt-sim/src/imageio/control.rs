//! The daemon's control service: plain HTTP/1.1 over a unix socket (never TLS), which is how
//! vdsm installs and removes tickets. Written by hand: four requests with small JSON bodies
//! over a unix socket, which the workspace's HTTP client (reqwest) cannot reach.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::ImageioError;

/// How long one control request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A control response: the status and the body.
pub(super) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `method path` with `body` to the control socket and reads the whole reply.
pub(super) fn request(
    socket: &Path,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Reply, ImageioError> {
    let fail = |source: std::io::Error| ImageioError::Control {
        request: format!("{method} {path}"),
        detail: source.to_string(),
    };
    let mut stream = UnixStream::connect(socket).map_err(fail)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(fail)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message).map_err(fail)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(fail)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| ImageioError::Control {
            request: format!("{method} {path}"),
            detail: format!("bad status line {line:?}"),
        })?;
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(fail)? == 0 {
            break;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            reader.take(length).read_to_end(&mut body).map_err(fail)?;
        }
        None => {
            reader.read_to_end(&mut body).map_err(fail)?;
        }
    }
    Ok(Reply { status, body })
}
