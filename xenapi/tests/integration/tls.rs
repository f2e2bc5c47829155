//! TLS end to end against the fake pool's https server and its rcgen-made certificate.

use serde_json::json;
use xenapi::{Session, SessionOptions, TlsTrust, XenApiError};

use super::support::{FakePool, PASSWORD, USER, capture_logs, chain};

fn login(pool: &FakePool, tls: TlsTrust) -> xenapi::Result<Session> {
    let options = SessionOptions {
        tls,
        ..pool.options()
    };
    Session::login(&pool.master_tls(), USER, PASSWORD, options)
}

#[test]
fn a_pinned_fingerprint_is_accepted_in_any_spelling() {
    let pool = FakePool::start(&json!({}));
    let colons = pool
        .fingerprint
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    for text in [pool.fingerprint.clone(), colons] {
        let session = login(&pool, TlsTrust::Pinned(vec![text.parse().unwrap()])).unwrap();
        assert_eq!(session.vm().get_all().unwrap().len(), 3);
    }
}

#[test]
fn a_wrong_fingerprint_is_refused_clearly() {
    let pool = FakePool::start(&json!({}));
    let wrong = "00".repeat(32).parse().unwrap();
    let err = login(&pool, TlsTrust::Pinned(vec![wrong])).unwrap_err();
    assert!(matches!(err, XenApiError::Tls { .. }), "{err}");
    let text = chain(&err);
    assert!(text.contains("TLS handshake with 127.0.0.2:"), "{text}");
    assert!(text.contains("is not the pinned one"), "{text}");
    let served = pool.fingerprint.to_ascii_uppercase();
    assert!(text.replace(':', "").contains(&served), "{text}");
}

#[test]
fn a_ca_file_is_trusted_and_system_roots_are_not_enough() {
    let pool = FakePool::start(&json!({}));
    let session = login(&pool, TlsTrust::CaFile(pool.ca_file())).unwrap();
    assert_eq!(session.vm().get_by_name_label("db").unwrap().len(), 1);
    let err = login(&pool, TlsTrust::SystemRoots).unwrap_err();
    assert!(matches!(err, XenApiError::Tls { .. }), "{}", chain(&err));
}

#[test]
fn insecure_mode_works_and_warns() {
    let pool = FakePool::start(&json!({}));
    let (subscriber, logs) = capture_logs();
    let session =
        tracing::subscriber::with_default(subscriber, || login(&pool, TlsTrust::Insecure));
    let session = session.unwrap();
    assert_eq!(session.vm().get_all().unwrap().len(), 3);
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("WARN") && logs.contains("insecure mode"),
        "{logs}"
    );
    assert!(
        !logs.contains(PASSWORD),
        "the password reached a log: {logs}"
    );
}
