//! Writing responses: a status line and headers, and small complete responses.

use std::io::{self, Write};

/// The reason phrase of the statuses the simulators send.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Writes a status line (`version` is `HTTP/1.0` or `HTTP/1.1`) and headers, then the blank
/// line. One write, so the head reaches the client in one piece.
pub fn write_head(
    out: &mut dyn Write,
    version: &str,
    status: u16,
    headers: &[(&str, String)],
) -> io::Result<()> {
    let mut head = format!("{version} {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()
}

/// A complete response with a body and `Content-Length`.
pub fn write_full(
    out: &mut dyn Write,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    extra: &[(&str, String)],
) -> io::Result<()> {
    let mut headers = vec![
        ("Content-Type", content_type.to_owned()),
        ("Content-Length", body.len().to_string()),
        (
            "Connection",
            if keep_alive { "keep-alive" } else { "close" }.to_owned(),
        ),
    ];
    headers.extend(extra.iter().cloned());
    let mut head = Vec::new();
    write_head(&mut head, "HTTP/1.1", status, &headers)?;
    head.extend_from_slice(body);
    out.write_all(&head)?;
    out.flush()
}

/// A short plain-text error response that closes the connection.
pub fn write_error(out: &mut dyn Write, status: u16, message: &str) -> io::Result<()> {
    let body = format!("{status} {}: {message}\n", reason(status));
    write_full(out, status, "text/plain", body.as_bytes(), false, &[])
}
