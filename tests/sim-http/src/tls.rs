//! Test certificates and TLS identities, made by rcgen: a self-signed certificate, or a test
//! CA that issues server certificates (what a client that pins a CA, or that needs one CA
//! for two servers, wants). Each comes as DER, PEM and a SHA-256 fingerprint; an
//! [`Identity`] is a certificate with its rustls server configuration.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::HttpError;

/// A certificate and its private key.
#[derive(Clone)]
pub struct Certificate {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// A self-signed certificate for `names` (DNS names or IP addresses).
    pub fn self_signed(names: &[&str]) -> Result<Certificate, HttpError> {
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| HttpError::Tls(format!("making a certificate: {e}")))?;
        Ok(Certificate {
            cert_der: made.cert.der().to_vec(),
            key_der: made.signing_key.serialize_der(),
        })
    }

    /// The certificate in PEM.
    pub fn cert_pem(&self) -> String {
        pem_of("CERTIFICATE", &self.cert_der)
    }

    /// The private key in PEM (PKCS#8).
    pub fn key_pem(&self) -> String {
        pem_of("PRIVATE KEY", &self.key_der)
    }

    /// SHA-256 of the DER certificate, as `AB:CD:…` (upper case, as `openssl x509
    /// -fingerprint -sha256` prints it).
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.cert_der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Writes the certificate and the key as PEM files `cert` and `key`.
    pub fn write_pem(&self, cert: &Path, key: &Path) -> Result<(), HttpError> {
        write(cert, self.cert_pem().as_bytes())?;
        write(key, self.key_pem().as_bytes())
    }

    /// A rustls server configuration presenting this certificate (ring provider).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, HttpError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .map_err(|e| HttpError::Tls(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// A test certificate authority that issues server certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA named `common_name`.
    pub fn new(common_name: &str) -> Result<TestCa, HttpError> {
        let tls = |e: rcgen::Error| HttpError::Tls(format!("making a CA: {e}"));
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(tls)?).map_err(tls)?;
        Ok(TestCa { issuer })
    }

    /// The CA certificate in PEM (what clients trust).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate in DER.
    pub fn der(&self) -> &[u8] {
        self.issuer.der()
    }

    /// A server certificate for `names`, with `common_name`, signed by this CA.
    pub fn issue(&self, names: &[&str], common_name: &str) -> Result<Certificate, HttpError> {
        let tls = |e: rcgen::Error| HttpError::Tls(format!("issuing a certificate: {e}"));
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let mut params = CertificateParams::new(names).map_err(tls)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().map_err(tls)?;
        let certificate = params.signed_by(&key, &self.issuer).map_err(tls)?;
        Ok(Certificate {
            cert_der: certificate.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }
}

/// A server's TLS identity: the rustls configuration, the certificate's fingerprint and PEM.
pub struct Identity {
    /// The server configuration for rustls.
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the DER certificate, as `AB:CD:…` (upper case, as `openssl x509
    /// -fingerprint -sha256` prints it).
    pub fingerprint: String,
    /// The certificate in PEM, for clients that want a CA file.
    pub pem: String,
}

impl Identity {
    /// The identity of `certificate`.
    pub fn of(certificate: &Certificate) -> Result<Identity, HttpError> {
        Ok(Identity {
            config: certificate.server_config()?,
            fingerprint: certificate.fingerprint(),
            pem: certificate.cert_pem(),
        })
    }

    /// A new self-signed identity for `names`.
    pub fn generate(names: &[&str]) -> Result<Identity, HttpError> {
        Identity::of(&Certificate::self_signed(names)?)
    }
}

/// A new self-signed identity for `127.0.0.1` and `localhost`, or the one kept in `dir`
/// (`cert.der`, `key.der`; made and kept there, with `cert.pem`, if absent).
pub fn identity(dir: Option<&Path>) -> Result<Identity, HttpError> {
    let kept = dir.map(load).transpose()?.flatten();
    let certificate = if let Some(kept) = kept {
        kept
    } else {
        let made = Certificate::self_signed(&["127.0.0.1", "localhost"])?;
        if let Some(dir) = dir {
            keep(dir, &made)?;
        }
        made
    };
    Identity::of(&certificate)
}

fn load(dir: &Path) -> Result<Option<Certificate>, HttpError> {
    let (cert, key) = (dir.join("cert.der"), dir.join("key.der"));
    if !cert.exists() || !key.exists() {
        return Ok(None);
    }
    let read = |path: &Path| {
        fs::read(path).map_err(|e| HttpError::io(format!("reading {}", path.display()), e))
    };
    Ok(Some(Certificate {
        cert_der: read(&cert)?,
        key_der: read(&key)?,
    }))
}

fn keep(dir: &Path, certificate: &Certificate) -> Result<(), HttpError> {
    write(&dir.join("cert.der"), &certificate.cert_der)?;
    write(&dir.join("key.der"), &certificate.key_der)?;
    write(&dir.join("cert.pem"), certificate.cert_pem().as_bytes())
}

fn write(path: &Path, data: &[u8]) -> Result<(), HttpError> {
    fs::write(path, data).map_err(|e| HttpError::io(format!("writing {}", path.display()), e))
}

fn pem_of(label: &str, der: &[u8]) -> String {
    use base64::prelude::{BASE64_STANDARD, Engine};
    let encoded = BASE64_STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem + "-----END " + label + "-----\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_kept_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = identity(Some(dir.path())).unwrap();
        let second = identity(Some(dir.path())).unwrap();
        assert_eq!(first.fingerprint, second.fingerprint);
        assert!(dir.path().join("cert.pem").exists());
        assert_ne!(identity(None).unwrap().fingerprint, first.fingerprint);
    }

    #[test]
    fn a_ca_issues_server_certificates() {
        let ca = TestCa::new("test CA").unwrap();
        let server = ca.issue(&["127.0.0.1", "localhost"], "server").unwrap();
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(
            server
                .key_pem()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert_eq!(server.fingerprint().len(), 32 * 3 - 1);
        server.server_config().unwrap();
    }
}
