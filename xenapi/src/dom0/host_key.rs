//! Checking an SSH host's key: against a `known_hosts` file, a pinned SHA-256 fingerprint,
//! or not at all (with a warning).

use std::path::PathBuf;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ssh2::{CheckResult, HashType, HostKeyType, KnownHostFileKind, MethodType};

use super::{Dom0Error, Result};

/// Host key algorithms in OpenSSH's order of preference, so that the key negotiated is the
/// one `ssh` recorded in `known_hosts`.
const HOST_KEY_ORDER: [&str; 7] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
];

/// Makes the handshake negotiate host key algorithms in OpenSSH's order.
pub(super) fn prefer_openssh_order(session: &ssh2::Session) -> Result<()> {
    let ssh = |source| Dom0Error::Ssh {
        action: "choosing the host key algorithms".to_owned(),
        source,
    };
    let supported = session.supported_algs(MethodType::HostKey).map_err(ssh)?;
    let preferred: Vec<&str> = HOST_KEY_ORDER
        .into_iter()
        .filter(|a| supported.contains(a))
        .collect();
    session
        .method_pref(MethodType::HostKey, &preferred.join(","))
        .map_err(ssh)
}

/// The SHA-256 digest of an SSH host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFingerprint([u8; 32]);

impl std::fmt::Display for HostFingerprint {
    /// `SHA256:<base64>`, as OpenSSH prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SHA256:{}", STANDARD_NO_PAD.encode(self.0))
    }
}

impl FromStr for HostFingerprint {
    type Err = Dom0Error;

    /// Reads `SHA256:<base64>` (the prefix and the padding are optional).
    fn from_str(text: &str) -> Result<Self> {
        let engine = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        engine
            .decode(text.strip_prefix("SHA256:").unwrap_or(text))
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(HostFingerprint)
            .ok_or_else(|| {
                Dom0Error::HostKey(format!(
                    "`{text}` is not an SSH SHA-256 fingerprint (SHA256: and 43 base64 characters)"
                ))
            })
    }
}

/// How the host's key is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// Any key, with a warning.
    Insecure,
    /// The key with this fingerprint.
    Fingerprint(HostFingerprint),
    /// The key recorded for the host in this `known_hosts` file.
    KnownHosts(PathBuf),
}

fn key_type_name(kind: HostKeyType) -> &'static str {
    match kind {
        HostKeyType::Rsa => "ssh-rsa",
        HostKeyType::Dss => "ssh-dss",
        HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        HostKeyType::Ed25519 => "ssh-ed25519",
        HostKeyType::Unknown => "unknown",
    }
}

/// Checks the key the host sent in the handshake as `check` says.
pub(super) fn check(
    session: &ssh2::Session,
    check: &HostKeyCheck,
    host: &str,
    port: u16,
) -> Result<()> {
    let refused = |message: String| Err(Dom0Error::HostKey(message));
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| Dom0Error::HostKey(format!("{host} sent no host key")))?;
    let digest = session
        .host_key_hash(HashType::Sha256)
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .ok_or_else(|| Dom0Error::HostKey(format!("cannot hash the host key of {host}")))?;
    let seen = format!("{} key {}", key_type_name(kind), HostFingerprint(digest));
    match check {
        HostKeyCheck::Insecure => {
            tracing::warn!(
                host,
                key = %seen,
                "SSH host key not checked (insecure): the host is not authenticated"
            );
            Ok(())
        }
        HostKeyCheck::Fingerprint(expected) if expected.0 == digest => Ok(()),
        HostKeyCheck::Fingerprint(expected) => refused(format!(
            "the SSH host key of {host} is not the one expected: it sent its {seen}, not {expected}"
        )),
        HostKeyCheck::KnownHosts(file) => {
            let reading = |source| Dom0Error::Ssh {
                action: format!("reading the known hosts file `{}`", file.display()),
                source,
            };
            let mut known = session.known_hosts().map_err(reading)?;
            known
                .read_file(file, KnownHostFileKind::OpenSSH)
                .map_err(reading)?;
            match known.check_port(host, port, key) {
                CheckResult::Match => Ok(()),
                CheckResult::NotFound => refused(format!(
                    "{host} port {port} is not in `{}`: it sent its {seen}; check it and pin \
                     its fingerprint, or add it to the file",
                    file.display()
                )),
                CheckResult::Mismatch => refused(format!(
                    "the SSH host key of {host} port {port} differs from the one in `{}`: it \
                     sent its {seen} (a reinstalled host, or someone in between)",
                    file.display()
                )),
                CheckResult::Failure => refused(format!(
                    "cannot check the SSH host key of {host} against `{}`",
                    file.display()
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_fingerprints_read_as_openssh_prints_them() {
        let text = "SHA256:vFO5B91jklWR8j4XVUx5RFzC6eDl1PDMpiWTBL0wgk8";
        let fingerprint: HostFingerprint = text.parse().unwrap();
        assert_eq!(fingerprint.to_string(), text);
        assert_eq!(text[7..].parse::<HostFingerprint>().unwrap(), fingerprint);
        assert_eq!(
            format!("{text}=").parse::<HostFingerprint>().unwrap(),
            fingerprint
        );
        for bad in ["SHA256:abcd", "MD5:aa:bb", "", &text[..40]] {
            assert!(
                bad.parse::<HostFingerprint>()
                    .unwrap_err()
                    .to_string()
                    .contains("not an SSH SHA-256 fingerprint"),
                "{bad}"
            );
        }
    }
}
