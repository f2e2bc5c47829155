//! One imageio URL: its options, extents, and the single requests (read, write, zero,
//! flush) the transfers are made of.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;

use crate::connection::Connection;
use crate::error::{OvirtError, Result};
use crate::tls::{Roots, Trust};

/// What `OPTIONS` said about a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Methods allowed (`GET`, `PUT`, `PATCH`, `OPTIONS`); a read-only ticket has no `PUT`.
    pub allow: Vec<String>,
    /// Features: `extents`, `zero`, `flush`, `checksum`.
    pub features: Vec<String>,
    /// Concurrent readers allowed.
    pub max_readers: usize,
    /// Concurrent writers allowed (the file backend: 1; NBD: 8).
    pub max_writers: usize,
}

impl ServerOptions {
    /// Whether the server has `feature`.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Whether the ticket takes writes.
    pub fn writable(&self) -> bool {
        self.allow.iter().any(|m| m.eq_ignore_ascii_case("PUT"))
    }
}

/// Which map of the image to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentContext {
    /// Data and zero ranges.
    Zero,
    /// Ranges changed since the backup's checkpoint (incremental backups only).
    Dirty,
}

/// One range of the image map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Extent {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub length: u64,
    /// Reads as zeros.
    #[serde(default)]
    pub zero: bool,
    /// Unallocated in this layer (qcow2 with allocation depth).
    #[serde(default)]
    pub hole: bool,
    /// Changed since the checkpoint (dirty context only).
    #[serde(default)]
    pub dirty: bool,
}

impl Extent {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.length
    }
}

#[derive(Deserialize)]
struct OptionsBody {
    #[serde(default)]
    features: Vec<String>,
    max_readers: Option<usize>,
    max_writers: Option<usize>,
}

/// A client of one image URL.
pub struct ImageioClient {
    url: String,
    roots: Roots,
    timeout: Duration,
    http: reqwest::blocking::Client,
    server: ServerOptions,
}

impl std::fmt::Debug for ImageioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL holds the ticket id, which grants access: not shown.
        f.debug_struct("ImageioClient")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl ImageioClient {
    /// Opens `url` trusting what `trust` says (a CA file, the system roots, or nothing);
    /// sends `OPTIONS`.
    pub fn open(url: &str, trust: &Trust) -> Result<Self> {
        if matches!(trust, Trust::PinnedCa(_)) {
            return Err(OvirtError::Settings(
                "a pinned engine CA is fetched from the engine: open imageio URLs through \
                 Connection::imageio"
                    .into(),
            ));
        }
        Self::with_roots(url, Roots::resolve(trust, url)?)
    }

    pub(crate) fn with_roots(url: &str, roots: Roots) -> Result<Self> {
        let timeout = Duration::from_secs(300);
        let http = build(&roots, timeout)?;
        let mut client = ImageioClient {
            url: url.trim_end_matches('/').to_owned(),
            roots,
            timeout,
            http,
            server: ServerOptions::default(),
        };
        client.server = client.options()?;
        Ok(client)
    }

    /// What the server said to `OPTIONS`.
    pub fn server(&self) -> &ServerOptions {
        &self.server
    }

    /// A new client of the same URL with its own connection (for parallel workers).
    pub(crate) fn worker(&self) -> Result<reqwest::blocking::Client> {
        build(&self.roots, self.timeout)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn options(&self) -> Result<ServerOptions> {
        let what = "OPTIONS";
        let response = self
            .http
            .request(reqwest::Method::OPTIONS, &self.url)
            .send()
            .map_err(|e| OvirtError::http(what, e))?;
        let status = response.status().as_u16();
        let allow: Vec<String> = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        match status {
            200 => {
                let body = response.text().map_err(|e| OvirtError::http(what, e))?;
                let parsed: OptionsBody =
                    serde_json::from_str(&body).map_err(|source| OvirtError::Json {
                        what: what.into(),
                        source,
                    })?;
                Ok(ServerOptions {
                    allow,
                    features: parsed.features,
                    max_readers: parsed.max_readers.unwrap_or(1).max(1),
                    max_writers: parsed.max_writers.unwrap_or(1).max(1),
                })
            }
            // An old daemon (405) or proxy (204): GET and PUT only, one connection.
            204 | 405 => Ok(ServerOptions {
                allow: vec!["GET".into(), "PUT".into()],
                features: Vec::new(),
                max_readers: 1,
                max_writers: 1,
            }),
            _ => Err(imageio_error(what, status, response)),
        }
    }

    /// The image map in `context`.
    pub fn extents(&self, context: ExtentContext) -> Result<Vec<Extent>> {
        let name = match context {
            ExtentContext::Zero => "zero",
            ExtentContext::Dirty => "dirty",
        };
        let what = format!("GET extents?context={name}");
        let response = self
            .http
            .get(format!("{}/extents?context={name}", self.url))
            .send()
            .map_err(|e| OvirtError::http(&what, e))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(imageio_error(&what, status, response));
        }
        let body = response.text().map_err(|e| OvirtError::http(&what, e))?;
        serde_json::from_str(&body).map_err(|source| OvirtError::Json { what, source })
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_with(&self.http, &self.url, offset, buf)
    }

    /// Writes `data` at `offset` (not flushed: see [`ImageioClient::flush`]).
    pub fn write_at(&self, offset: u64, data: Vec<u8>) -> Result<()> {
        write_with(&self.http, &self.url, &self.server, offset, data)
    }

    /// Zeroes `len` bytes at `offset` without sending them (not flushed).
    pub fn zero(&self, offset: u64, len: u64) -> Result<()> {
        zero_with(&self.http, &self.url, offset, len)
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        let what = "PATCH flush";
        let response = self
            .http
            .patch(&self.url)
            .header("Content-Type", "application/json")
            .body(r#"{"op":"flush"}"#)
            .send()
            .map_err(|e| OvirtError::http(what, e))?;
        expect_ok(what, response)
    }
}

fn build(roots: &Roots, timeout: Duration) -> Result<reqwest::blocking::Client> {
    roots
        .builder()?
        .timeout(timeout)
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| OvirtError::http("building the imageio HTTP client", e))
}

/// A ranged `GET` into `buf`, checking the status and the length.
pub(crate) fn read_with(
    http: &reqwest::blocking::Client,
    url: &str,
    offset: u64,
    buf: &mut [u8],
) -> Result<()> {
    let what = format!("GET {} bytes at offset {offset}", buf.len());
    let end = offset + buf.len() as u64 - 1;
    let mut response = http
        .get(url)
        .header("Range", format!("bytes={offset}-{end}"))
        .send()
        .map_err(|e| OvirtError::http(&what, e))?;
    let status = response.status().as_u16();
    if status != 206 && !(status == 200 && offset == 0) {
        return Err(imageio_error(&what, status, response));
    }
    if let Some(length) = response.content_length()
        && length != buf.len() as u64
    {
        return Err(OvirtError::Protocol {
            what,
            problem: format!("the server sent {length} bytes"),
        });
    }
    response.read_exact(buf).map_err(|source| OvirtError::Io {
        what: format!("{what}: the body ended early"),
        source,
    })
}

/// A `PUT` of `data` at `offset` (`flush=n` when the server can flush separately).
pub(crate) fn write_with(
    http: &reqwest::blocking::Client,
    url: &str,
    server: &ServerOptions,
    offset: u64,
    data: Vec<u8>,
) -> Result<()> {
    let what = format!("PUT {} bytes at offset {offset}", data.len());
    let end = offset + data.len() as u64 - 1;
    let target = if server.has("flush") {
        format!("{url}?flush=n")
    } else {
        url.to_owned()
    };
    let response = http
        .put(target)
        .header("Content-Range", format!("bytes {offset}-{end}/*"))
        .body(data)
        .send()
        .map_err(|e| OvirtError::http(&what, e))?;
    expect_ok(&what, response)
}

/// A `PATCH` zero of `len` bytes at `offset`.
pub(crate) fn zero_with(
    http: &reqwest::blocking::Client,
    url: &str,
    offset: u64,
    len: u64,
) -> Result<()> {
    let what = format!("PATCH zero {len} bytes at offset {offset}");
    let body = format!(r#"{{"op":"zero","offset":{offset},"size":{len},"flush":false}}"#);
    let response = http
        .patch(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .map_err(|e| OvirtError::http(&what, e))?;
    expect_ok(&what, response)
}

fn expect_ok(what: &str, response: reqwest::blocking::Response) -> Result<()> {
    let status = response.status().as_u16();
    if status == 200 || status == 204 {
        Ok(())
    } else {
        Err(imageio_error(what, status, response))
    }
}

/// The daemon's plain-text explanation of a refusal.
fn imageio_error(what: &str, status: u16, response: reqwest::blocking::Response) -> OvirtError {
    let text = response.text().unwrap_or_default();
    let mut message: String = text.trim().chars().take(300).collect();
    if status == 403 {
        message =
            format!("the ticket is gone, expired, cancelled or does not allow this: {message}");
    }
    OvirtError::Imageio {
        what: what.to_owned(),
        status,
        message,
    }
}

impl Connection {
    /// A client of an imageio URL the engine handed out, trusting what this connection
    /// trusts (the engine's CA signs the hosts' daemons).
    pub fn imageio(&self, url: &str) -> Result<ImageioClient> {
        ImageioClient::with_roots(url, self.roots().clone())
    }
}
