//! HTTP/1.x requests: the head (request line, headers, query, cookies) and the body
//! (`Content-Length`, chunked for RPC, or until the client closes).

use std::io::{self, BufRead, Read};

/// Longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest RPC body accepted.
pub const MAX_RPC_BODY: u64 = 64 << 20;

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method (`GET`, `POST`, …).
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// The raw query string (for redirects).
    pub raw_query: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// The headers as sent (names in the client's case).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
    }

    /// A parameter XAPI takes from a cookie first, then from the query.
    pub fn param(&self, name: &str) -> Option<String> {
        self.cookie(name)
            .or_else(|| self.query(name).map(str::to_owned))
    }

    /// `Content-Length`, if sent.
    pub fn content_length(&self) -> io::Result<Option<u64>> {
        self.header("content-length")
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))
            })
            .transpose()
    }

    /// Whether the client asked for a chunked (or any) transfer encoding.
    pub fn has_transfer_encoding(&self) -> bool {
        self.header("transfer-encoding").is_some()
    }

    /// Whether the connection stays open after the response.
    pub fn keep_alive(&self) -> bool {
        let connection = self
            .header("connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
    }
}

/// Reads the next request head; `None` when the client closed the connection between
/// requests.
pub fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = reader
            .take((MAX_HEAD - total + 1) as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            if lines.is_empty() && total == 0 {
                return Ok(None);
            }
            return Err(invalid("the connection closed inside a request head"));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        let text = String::from_utf8(line).map_err(|_| invalid("request head is not UTF-8"))?;
        let text = text.trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            if lines.is_empty() {
                continue; // stray line ends between requests
            }
            break;
        }
        lines.push(text);
    }
    let mut request_line = lines[0].split_whitespace();
    let (Some(method), Some(target), Some(version)) = (
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) else {
        return Err(invalid("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid("not HTTP/1.x"));
    }
    let headers = lines[1..]
        .iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_owned(),
        path: percent_decode(path),
        raw_query: raw_query.to_owned(),
        query: parse_query(raw_query),
        version: version.to_owned(),
        headers,
    }))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// `a=1&b=x%20y` into pairs, percent- and `+`-decoded.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|d| d as u8)
}

/// Reads an RPC body: by `Content-Length`, or chunked.
pub fn read_rpc_body(request: &Request, reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let length = request.content_length()?.unwrap_or(0);
    if length > MAX_RPC_BODY {
        return Err(invalid("request body too large"));
    }
    let mut body = vec![0u8; length as usize];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        if body.len() as u64 + size > MAX_RPC_BODY {
            return Err(invalid("request body too large"));
        }
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn parses_heads_queries_and_cookies() {
        let raw = "GET /export?session_id=OpaqueRef%3Aabc&uuid=u+1 HTTP/1.1\r\nHost: x\r\n\
                   Cookie: a=b; session_id=OpaqueRef:c\r\n\r\n";
        let request = read_request(&mut Cursor::new(raw)).unwrap().unwrap();
        assert_eq!(request.path, "/export");
        assert_eq!(request.query("session_id"), Some("OpaqueRef:abc"));
        assert_eq!(request.query("uuid"), Some("u 1"));
        assert_eq!(request.param("session_id").as_deref(), Some("OpaqueRef:c"));
        assert!(request.keep_alive());
        assert!(read_request(&mut Cursor::new("")).unwrap().is_none());
    }

    #[test]
    fn chunked_bodies() {
        let raw =
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut cursor = Cursor::new(raw);
        let request = read_request(&mut cursor).unwrap().unwrap();
        assert_eq!(read_rpc_body(&request, &mut cursor).unwrap(), b"abcde");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
