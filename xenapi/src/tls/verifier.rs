//! Certificate verifiers for pinned fingerprints and for the insecure mode. Both still check
//! the handshake signatures, so the peer must hold the private key of the certificate it shows.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use super::Fingerprint;

/// Accepts the certificates whose SHA-256 fingerprint is pinned, or any certificate when
/// nothing is pinned (the insecure mode).
#[derive(Debug)]
pub(super) struct FingerprintVerifier {
    /// `None`: insecure mode, every certificate is accepted.
    pins: Option<Vec<Fingerprint>>,
    provider: Arc<CryptoProvider>,
}

impl FingerprintVerifier {
    /// Accepts exactly the certificates with these fingerprints.
    pub(super) fn pinned(pins: Vec<Fingerprint>, provider: Arc<CryptoProvider>) -> Self {
        FingerprintVerifier {
            pins: Some(pins),
            provider,
        }
    }

    /// Accepts any certificate.
    pub(super) fn any(provider: Arc<CryptoProvider>) -> Self {
        FingerprintVerifier {
            pins: None,
            provider,
        }
    }
}

/// The reason a pinned-fingerprint handshake is refused.
#[derive(Debug)]
struct FingerprintMismatch {
    found: Fingerprint,
    pinned: Vec<Fingerprint>,
}

impl fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the certificate's SHA-256 fingerprint {} is not the pinned one",
            self.found
        )?;
        if let [only] = self.pinned.as_slice() {
            write!(f, " ({only})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FingerprintMismatch {}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found = Fingerprint::of_certificate(end_entity);
        let Some(pins) = &self.pins else {
            tracing::debug!(
                server = ?server_name,
                fingerprint = %found,
                "accepting an unverified certificate (insecure mode)"
            );
            return Ok(ServerCertVerified::assertion());
        };
        if pins.contains(&found) {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(FingerprintMismatch {
                found,
                pinned: pins.clone(),
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
