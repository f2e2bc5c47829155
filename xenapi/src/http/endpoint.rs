//! Where a request goes: scheme, host and port ([`Endpoint`]), path and query.

use std::fmt;

use crate::error::{Result, XenApiError};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (port 80 by default). XAPI may have it closed (`https_only`).
    Http,
    /// HTTP over TLS (port 443 by default), the usual way to reach XAPI.
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A XAPI host's address: `https://host:port`. Paths are added per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    scheme: Scheme,
    /// A name or an IP address; IPv6 without brackets.
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `https://host[:port][/path]` (or `http://…`). A bare `host[:port]` means
    /// https, as `xe -s` does. IPv6 addresses go in brackets (`https://[::1]:8443`). A path
    /// is ignored: XAPI's RPC lives at `/`.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let invalid = |message: &str| XenApiError::InvalidUrl {
            url: redact_credentials(url),
            message: message.to_owned(),
        };
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            Some(_) => return Err(invalid("the scheme must be http or https")),
            None => (Scheme::Https, url),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(invalid("credentials do not belong in the URL"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| invalid("bad host or port"))?;
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        Ok(Endpoint {
            scheme,
            host: host.to_owned(),
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// The same scheme and port on another host (a pool master named by `HOST_IS_SLAVE`).
    /// `host` may carry its own port (`10.0.0.2:8443`); IPv6 may be bare or in brackets.
    pub fn with_host(&self, host: &str) -> Result<Endpoint> {
        let (name, port) = if host.parse::<std::net::Ipv6Addr>().is_ok() {
            (host, None)
        } else {
            split_host_port(host).ok_or_else(|| XenApiError::InvalidUrl {
                url: host.to_owned(),
                message: "bad host address".to_owned(),
            })?
        };
        Ok(Endpoint {
            scheme: self.scheme,
            host: name.to_owned(),
            port: port.unwrap_or(self.port),
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, with brackets around IPv6: the `Host` header and the connect address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// `url` with any credentials in it (`https://user:password@host`) replaced by `***`
/// (`https://***@host`), for messages: a URL as typed may hold a password.
pub fn redact_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let redacted = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => return url.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{redacted}"),
        None => redacted,
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((authority, None)),
    }
}

/// A request's path and query: `/export?session_id=…&task_id=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) path: String,
    /// Decoded `(name, value)` pairs, in order.
    pub(crate) query: Vec<(String, String)>,
}

impl Target {
    pub(crate) fn new(path: &str, query: Vec<(String, String)>) -> Self {
        Target {
            path: path.to_owned(),
            query,
        }
    }

    /// Sets `name` to `value`, replacing an existing pair or appending one.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        match self.query.iter_mut().find(|(n, _)| n == name) {
            Some(pair) => value.clone_into(&mut pair.1),
            None => self.query.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The request-target of the request line, percent-encoded.
    pub(crate) fn encoded(&self) -> String {
        let mut out = self.path.clone();
        for (i, (name, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            encode_component(&mut out, name);
            out.push('=');
            encode_component(&mut out, value);
        }
        out
    }

    /// The target for logs and errors: the path and the names of the parameters, never the
    /// session.
    pub(crate) fn redacted(&self) -> String {
        let names: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, names.join("&"))
        }
    }

    /// Parses a `Location` header: an absolute URL (a new endpoint) or an absolute path.
    pub(crate) fn parse_location(location: &str, current: &Endpoint) -> Result<(Endpoint, Target)> {
        let (endpoint, rest) = if location.starts_with('/') {
            (current.clone(), location)
        } else {
            let endpoint = Endpoint::parse(location)?;
            let after_scheme = location.split_once("://").map_or(location, |(_, r)| r);
            let rest = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
            (endpoint, rest)
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_component(name), decode_component(value))
            })
            .collect();
        Ok((endpoint, Target::new(path, query)))
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters and `:` (refs read better, and
/// XAPI and `xe` send them so).
const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn encode_component(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_defaults() {
        let e = Endpoint::parse("https://pool.example:8443/ignored").unwrap();
        assert_eq!(
            (e.scheme(), e.host(), e.port()),
            (Scheme::Https, "pool.example", 8443)
        );
        let e = Endpoint::parse("http://10.0.0.1").unwrap();
        assert_eq!((e.scheme(), e.port()), (Scheme::Http, 80));
        let e = Endpoint::parse("xs1").unwrap();
        assert_eq!(e.to_string(), "https://xs1:443");
        let e = Endpoint::parse("https://[::1]:9443").unwrap();
        assert_eq!((e.host(), e.authority()), ("::1", "[::1]:9443".to_owned()));
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@x",
            "https://x:99999",
            "https://::1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_in_a_url_are_refused_without_being_shown() {
        for url in [
            "https://root:s3cret@pool:443/x",
            "root:s3cret@pool",
            "http://a@b:c@h",
        ] {
            let error = Endpoint::parse(url).unwrap_err().to_string();
            assert!(
                !error.contains("s3cret") && !error.contains("b:c"),
                "{error}"
            );
            assert!(error.contains("***@"), "{error}");
        }
        assert_eq!(
            redact_credentials("https://u:p@h:1/a@b"),
            "https://***@h:1/a@b"
        );
        assert_eq!(redact_credentials("https://h/a@b"), "https://h/a@b");
    }

    #[test]
    fn master_keeps_scheme_and_port() {
        let slave = Endpoint::parse("https://10.0.0.2:8443").unwrap();
        assert_eq!(
            slave.with_host("10.0.0.1").unwrap().to_string(),
            "https://10.0.0.1:8443"
        );
        assert_eq!(
            slave.with_host("fd00::1").unwrap().to_string(),
            "https://[fd00::1]:8443"
        );
        assert_eq!(
            slave.with_host("m:444").unwrap().to_string(),
            "https://m:444"
        );
    }

    #[test]
    fn targets_encode_and_locations_parse() {
        let mut target = Target::new("/export", vec![("ref".into(), "OpaqueRef:a b&c".into())]);
        target.set("task_id", "OpaqueRef:t");
        assert_eq!(
            target.encoded(),
            "/export?ref=OpaqueRef:a%20b%26c&task_id=OpaqueRef:t"
        );
        assert_eq!(target.redacted(), "/export?ref&task_id");
        let current = Endpoint::parse("http://127.0.0.1:80").unwrap();
        let (endpoint, back) =
            Target::parse_location(&format!("https://h:4443{}", target.encoded()), &current)
                .unwrap();
        assert_eq!(endpoint.to_string(), "https://h:4443");
        assert_eq!(back, target);
        let (endpoint, relative) = Target::parse_location("/x?a=%41+b", &current).unwrap();
        assert_eq!(endpoint, current);
        assert_eq!(relative.query, vec![("a".to_owned(), "A b".to_owned())]);
    }
}
