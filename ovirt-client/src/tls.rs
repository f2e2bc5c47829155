//! Whom to trust over https: the engine's CA from a file, the engine's CA fetched from its
//! `pki-resource` and accepted only when its SHA-256 fingerprint matches a pin, the system's
//! roots, or nobody (insecure, and logged as such).
//!
//! The chosen roots are used for the engine and for the imageio daemons (the engine's CA
//! signs the hosts' certificates). Verification is rustls's own, through reqwest: this
//! module only chooses the root certificates; it has no certificate verifier of its own.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::error::{OvirtError, Result};

/// The engine's CA certificate, as its `pki-resource` service hands it out.
pub const PKI_RESOURCE_PATH: &str =
    "/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA";

/// Whom to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's trust store.
    #[default]
    SystemRoots,
    /// The CA certificates of a PEM file (the engine's `/etc/pki/ovirt-engine/ca.pem`).
    CaFile(PathBuf),
    /// The engine's CA fetched from its `pki-resource` service, accepted only if its
    /// SHA-256 fingerprint is this one; it then verifies the engine and the imageio daemons.
    PinnedCa(Fingerprint),
    /// Anything. Traffic is encrypted but not authenticated; a warning is logged.
    Insecure,
}

/// A SHA-256 certificate fingerprint (of the DER bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl FromStr for Fingerprint {
    type Err = OvirtError;

    /// Parses `AB:CD:…` (what `openssl x509 -fingerprint -sha256` prints) or plain hex.
    fn from_str(text: &str) -> Result<Self> {
        let hex: String = text.chars().filter(|c| *c != ':').collect();
        let bad = || {
            OvirtError::Settings(format!(
                "`{text}` is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
            ))
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Trust made concrete: the root certificates to use (or none at all).
#[derive(Clone)]
pub(crate) enum Roots {
    /// The system's roots (reqwest's built-in native roots).
    System,
    /// Exactly these DER certificates.
    Only(Vec<Vec<u8>>),
    /// No verification.
    Insecure,
}

impl Roots {
    /// Resolves `trust`; `engine_origin` (`https://host[:port]`) is where a pinned CA is
    /// fetched from.
    pub(crate) fn resolve(trust: &Trust, engine_origin: &str) -> Result<Self> {
        match trust {
            Trust::SystemRoots => Ok(Roots::System),
            Trust::Insecure => {
                tracing::warn!(
                    engine = engine_origin,
                    "TLS certificate verification is disabled (insecure mode): the engine and \
                     the imageio daemons are not authenticated; pin the engine CA's fingerprint \
                     instead"
                );
                Ok(Roots::Insecure)
            }
            Trust::CaFile(path) => {
                let pem = std::fs::read(path).map_err(|source| OvirtError::Io {
                    what: format!("reading the CA file {}", path.display()),
                    source,
                })?;
                let certs = pem_certificates(&pem)
                    .map_err(|e| OvirtError::Tls(format!("{}: {e}", path.display())))?;
                Ok(Roots::Only(certs))
            }
            Trust::PinnedCa(pin) => fetch_pinned_ca(engine_origin, *pin).map(Roots::Only),
        }
    }

    /// A client builder that trusts these roots.
    pub(crate) fn builder(&self) -> Result<reqwest::blocking::ClientBuilder> {
        let builder = reqwest::blocking::Client::builder().use_rustls_tls();
        Ok(match self {
            Roots::System => builder,
            Roots::Insecure => builder.danger_accept_invalid_certs(true),
            Roots::Only(certs) => {
                let mut builder = builder.tls_built_in_root_certs(false);
                for der in certs {
                    let cert = reqwest::Certificate::from_der(der)
                        .map_err(|e| OvirtError::Tls(format!("a CA certificate: {e}")))?;
                    builder = builder.add_root_certificate(cert);
                }
                builder
            }
        })
    }
}

/// The DER certificates of a PEM text (at least one).
fn pem_certificates(pem: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|cert| cert.map(|c| c.as_ref().to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM text".to_owned());
    }
    Ok(certs)
}

/// Fetches the engine's CA over an unauthenticated connection and keeps the certificates
/// whose fingerprint is `pin`: the pin, not the connection, authenticates them.
fn fetch_pinned_ca(engine_origin: &str, pin: Fingerprint) -> Result<Vec<Vec<u8>>> {
    let url = format!("{engine_origin}{PKI_RESOURCE_PATH}");
    let what = "fetching the engine CA (pki-resource)";
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| OvirtError::http(what, e))?;
    let response = client
        .get(&url)
        .send()
        .map_err(|e| OvirtError::http(what, e))?;
    let status = response.status().as_u16();
    let body = response.bytes().map_err(|e| OvirtError::http(what, e))?;
    if status != 200 {
        return Err(OvirtError::Status {
            what: what.to_owned(),
            status,
            body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        });
    }
    let certs = pem_certificates(&body).map_err(|e| OvirtError::Tls(format!("{what}: {e}")))?;
    let seen: Vec<String> = certs
        .iter()
        .map(|c| Fingerprint::of(c).to_string())
        .collect();
    let matching: Vec<Vec<u8>> = certs
        .into_iter()
        .filter(|c| Fingerprint::of(c) == pin)
        .collect();
    if matching.is_empty() {
        return Err(OvirtError::Tls(format!(
            "the engine's CA certificate has fingerprint {}, not the pinned {pin}",
            seen.join(", ")
        )));
    }
    tracing::debug!(%pin, "engine CA fetched and matched its pin");
    Ok(matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_and_without_colons() {
        let hex = "ab".repeat(32);
        let plain: Fingerprint = hex.parse().unwrap();
        let colons: Fingerprint = plain.to_string().parse().unwrap();
        assert_eq!(plain, colons);
        assert!(plain.to_string().starts_with("AB:AB:"));
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(pem_certificates(b"hello").is_err());
    }
}
