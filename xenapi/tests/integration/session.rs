//! Login, pool members, expired sessions, logout, and JSON-RPC, against the fake pool.

use serde_json::json;
use xenapi::{Protocol, Session, SessionOptions, XenApiError};

use super::support::{FakePool, PASSWORD, USER};

#[test]
fn login_sends_version_and_originator_and_logs_out_on_drop() {
    let pool = FakePool::start(&json!({}));
    let session = Session::login(&pool.master(), USER, PASSWORD, pool.options()).unwrap();
    assert!(
        session
            .session_ref()
            .as_str()
            .starts_with("OpaqueRef:session-")
    );
    let stats = pool.stats();
    assert_eq!(stats["logins"], 1);
    assert_eq!(stats["versions"], json!(["1.0"]));
    assert!(
        stats["originators"][0]
            .as_str()
            .unwrap()
            .starts_with("vmtoolkit/")
    );
    drop(session);
    let stats = pool.stats();
    assert_eq!(stats["logouts"], 1);
    assert_eq!(stats["sessions"], json!([]));
}

#[test]
fn explicit_logout_reports_and_does_not_repeat() {
    let pool = FakePool::start(&json!({}));
    let session = Session::login(&pool.master(), USER, PASSWORD, pool.options()).unwrap();
    session.logout().unwrap();
    assert_eq!(pool.stats()["logouts"], 1);
}

#[test]
fn a_pool_member_redirects_the_login_to_the_master_keeping_the_port() {
    let pool = FakePool::start(&json!({}));
    let session = Session::login(&pool.member(), USER, PASSWORD, pool.options()).unwrap();
    assert_eq!(session.endpoint().to_string(), pool.master());
    assert_eq!(session.vm().get_by_name_label("web").unwrap().len(), 1);
    let calls = pool.stats()["calls"].clone();
    let logins = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| *c == "session.login_with_password");
    assert_eq!(logins.count(), 2, "{calls}");
}

#[test]
fn an_expired_session_is_answered_by_one_relogin() {
    let pool = FakePool::start(&json!({"session_invalid_once": true}));
    let session = Session::login(&pool.master(), USER, PASSWORD, pool.options()).unwrap();
    let before = session.session_ref();
    let vms = session.vm().get_all().unwrap();
    assert_eq!(vms.len(), 3);
    assert_ne!(session.session_ref(), before);
    let stats = pool.stats();
    assert_eq!(stats["logins"], 2);
    assert_eq!(stats["sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn a_bad_password_is_xapis_error_and_never_shown() {
    let pool = FakePool::start(&json!({}));
    let err = Session::login(&pool.master(), USER, "wrong-password", pool.options()).unwrap_err();
    assert_eq!(err.code(), Some("SESSION_AUTHENTICATION_FAILED"));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wrong-password"), "{shown}");
    assert!(shown.contains("session.login_with_password"), "{shown}");
}

#[test]
fn json_rpc_v2_and_v1_replies() {
    for knobs in [json!({}), json!({"json_reply_v1": true})] {
        let pool = FakePool::start(&knobs);
        let options = SessionOptions {
            protocol: Protocol::JsonRpc,
            ..pool.options()
        };
        let session = Session::login(&pool.member(), USER, PASSWORD, options).unwrap();
        let records = session.vm().get_all_records().unwrap();
        let web = records.values().find(|vm| vm.name_label == "web").unwrap();
        // JSON integers and datetimes-as-strings land in the typed record.
        assert_eq!(web.memory_static_max, 4 << 30, "{knobs}");
        assert_eq!(web.snapshot_time.0, "20240301T10:00:00Z");
        let err = session
            .vm()
            .get_record(&"OpaqueRef:gone".into())
            .unwrap_err();
        assert_eq!(err.code(), Some("HANDLE_INVALID"), "{knobs}");
        assert_eq!(err.params(), ["VM", "OpaqueRef:gone"]);
        drop(session);
        assert_eq!(pool.stats()["logouts"], 1);
    }
}

#[test]
fn unreachable_hosts_and_bad_urls_are_typed_errors() {
    let err = Session::login("ftp://x", USER, PASSWORD, SessionOptions::default()).unwrap_err();
    assert!(matches!(err, XenApiError::InvalidUrl { .. }), "{err}");
    // A loopback port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let err = Session::login(&url, USER, PASSWORD, SessionOptions::default()).unwrap_err();
    assert!(matches!(err, XenApiError::Connect { .. }), "{err}");
}
