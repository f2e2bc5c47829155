//! The hosts' TLS identity: a self-signed certificate for `127.0.0.1` and `localhost`, made
//! by rcgen at start (or kept in a `--state` directory), and its SHA-256 fingerprint.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::error::{Result, SimError};

/// The certificate both hosts present.
pub(crate) struct Identity {
    /// The server configuration for rustls.
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the DER certificate, as `AB:CD:…` (upper case, as `openssl x509
    /// -fingerprint -sha256` prints it).
    pub fingerprint: String,
    /// The certificate in PEM, for clients that want a CA file.
    pub pem: String,
}

/// A new self-signed identity, or the one kept in `dir` (made and kept there if absent).
pub(crate) fn identity(dir: Option<&Path>) -> Result<Identity> {
    let kept = dir.map(load).transpose()?.flatten();
    let (cert, key) = if let Some(kept) = kept {
        kept
    } else {
        let made = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .map_err(|e| SimError::Tls(format!("making a certificate: {e}")))?;
        let pair = (made.cert.der().to_vec(), made.signing_key.serialize_der());
        if let Some(dir) = dir {
            keep(dir, &pair)?;
        }
        pair
    };
    let fingerprint = Sha256::digest(&cert)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let pem = pem_of(&cert);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .map_err(|e| SimError::Tls(e.to_string()))?;
    Ok(Identity {
        config: Arc::new(config),
        fingerprint,
        pem,
    })
}

type Pair = (Vec<u8>, Vec<u8>);

fn load(dir: &Path) -> Result<Option<Pair>> {
    let (cert, key) = (dir.join("cert.der"), dir.join("key.der"));
    if !cert.exists() || !key.exists() {
        return Ok(None);
    }
    let read = |path: &Path| {
        fs::read(path).map_err(|e| SimError::io(format!("reading {}", path.display()), e))
    };
    Ok(Some((read(&cert)?, read(&key)?)))
}

fn keep(dir: &Path, (cert, key): &Pair) -> Result<()> {
    let write = |name: &str, data: &[u8]| {
        let path = dir.join(name);
        fs::write(&path, data).map_err(|e| SimError::io(format!("writing {}", path.display()), e))
    };
    write("cert.der", cert)?;
    write("key.der", key)?;
    write("cert.pem", pem_of(cert).as_bytes())
}

fn pem_of(der: &[u8]) -> String {
    use base64::prelude::{BASE64_STANDARD, Engine};
    let encoded = BASE64_STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
