//! Which TLS certificates to trust: the system's roots, a CA file, pinned certificate
//! fingerprints (the usual case: XenServer hosts ship self-signed certificates), or nothing
//! at all (insecure, and logged as such).
//!
//! The configuration is built once per session ([`TlsTrust::client_config`]) and used for RPC
//! calls and HTTP transfers alike, with rustls and its `ring` provider; no process-wide
//! default provider is installed.

mod verifier;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::error::{Result, XenApiError};
use verifier::FingerprintVerifier;

/// Whom to trust when connecting over https.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// The operating system's trust store (`/etc/ssl/certs`), and the host name must match.
    #[default]
    SystemRoots,
    /// The certificates of a PEM file (a pool's CA, or the host's own certificate), and the
    /// host name must match.
    CaFile(PathBuf),
    /// Exactly the certificates with these SHA-256 fingerprints, whatever their names and
    /// issuers (list every host of the pool: transfers may be redirected to any of them).
    Pinned(Vec<Fingerprint>),
    /// Any certificate. Traffic is encrypted but not authenticated; a warning is logged.
    Insecure,
}

impl TlsTrust {
    /// The rustls configuration for this trust.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| settings(format!("no usable TLS protocol version: {e}")))?;
        let config = match self {
            TlsTrust::SystemRoots => builder
                .with_root_certificates(system_roots())
                .with_no_client_auth(),
            TlsTrust::CaFile(path) => builder
                .with_root_certificates(roots_from_file(path)?)
                .with_no_client_auth(),
            TlsTrust::Pinned(pins) => {
                if pins.is_empty() {
                    return Err(settings("no certificate fingerprint to pin".to_owned()));
                }
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(FingerprintVerifier::pinned(
                        pins.clone(),
                        provider,
                    )))
                    .with_no_client_auth()
            }
            TlsTrust::Insecure => {
                tracing::warn!(
                    "TLS certificate verification is disabled (insecure mode): the XAPI host \
                     is not authenticated; pin its certificate fingerprint instead"
                );
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(FingerprintVerifier::any(provider)))
                    .with_no_client_auth()
            }
        };
        Ok(Arc::new(config))
    }
}

/// A certificate's SHA-256 fingerprint (of its DER encoding), as `openssl x509 -fingerprint
/// -sha256` and XenServer's console print it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl FromStr for Fingerprint {
    type Err = XenApiError;

    /// 64 hex digits, upper or lower case, with or without `:` between the bytes; an
    /// optional `sha256:` / `SHA256 Fingerprint=` prefix is accepted.
    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            settings(format!(
                "`{text}` is not a SHA-256 fingerprint (64 hex digits)"
            ))
        };
        let digits = text.rsplit(['=', ' ']).next().unwrap_or(text);
        let digits = digits
            .strip_prefix("sha256:")
            .or_else(|| digits.strip_prefix("SHA256:"))
            .unwrap_or(digits);
        let hex: Vec<u8> = digits.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    /// `AB:CD:…`, upper case.
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

fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "skipping an unreadable system certificate");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "loaded the system trust roots");
    if added == 0 {
        tracing::warn!("no system trust roots found: https hosts will be refused");
    }
    roots
}

fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|e| XenApiError::TlsSettings {
            message: format!("cannot read certificates from {}: {e}", path.display()),
            source: None,
        })?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(settings(format!(
            "{} holds no usable PEM certificate",
            path.display()
        )));
    }
    Ok(roots)
}

fn settings(message: String) -> XenApiError {
    XenApiError::TlsSettings {
        message,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_every_usual_spelling() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let plain: Fingerprint = hex.parse().unwrap();
        let colons = plain.to_string();
        assert_eq!(colons.len(), 32 * 3 - 1);
        assert!(colons.starts_with("00:11:22"));
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), plain);
        let openssl = format!("sha256 Fingerprint={colons}");
        assert_eq!(openssl.parse::<Fingerprint>().unwrap(), plain);
        assert_eq!(
            format!("sha256:{hex}").parse::<Fingerprint>().unwrap(),
            plain
        );
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!(hex.replace('0', "g").parse::<Fingerprint>().is_err());
    }

    #[test]
    fn fingerprint_is_sha256_of_der() {
        // SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of_certificate(b"")
                .to_string()
                .replace(':', ""),
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        );
    }

    #[test]
    fn unusable_settings_are_refused() {
        assert!(TlsTrust::Pinned(Vec::new()).client_config().is_err());
        let err = TlsTrust::CaFile("/nonexistent/ca.pem".into())
            .client_config()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
