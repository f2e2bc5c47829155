//! The connection over real TLS (a `sim-http` server with a test CA standing in for the
//! engine's SSO, PKI and API front): the CA pinned by fingerprint and fetched from
//! `pki-resource`, a wrong pin refused, a CA file, SSO login with the SDK's form, the
//! header set, 401 then one re-login, an SSO refusal, an XML fault, busy retries, and the
//! token revoked on drop. The simulated engine (ovirt-sim) covers the resources.

use std::io::BufReader;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ovirt_client::{ConnectOptions, Connection, OvirtError, RetryPolicy, Trust};
use sim_http::tls::{Identity, TestCa};
use sim_http::{Server, Stream, bind, read_request, read_rpc_body, write_full};

/// What the stub saw and decides.
#[derive(Default)]
struct State {
    requests: Vec<String>,
    valid_token: Option<String>,
    tokens_issued: u32,
    revoked: Vec<String>,
    busy_left: u32,
}

struct Stub {
    server: Server,
    url: String,
    ca: TestCa,
    state: Arc<Mutex<State>>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

fn stub() -> Stub {
    let ca = TestCa::new("stub engine CA").unwrap();
    let identity = Identity::of(&ca.issue(&["127.0.0.1"], "engine").unwrap()).unwrap();
    let config = identity.config.clone();
    let ca_pem = ca.pem();
    let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(State {
        busy_left: 2,
        ..State::default()
    }));
    let shared = Arc::clone(&state);
    let mut server = Server::new();
    server
        .serve(listener, "stub engine", move |tcp| {
            let mut connection = BufReader::new(Stream::accept(tcp, &config)?);
            while let Some(request) = read_request(&mut connection)? {
                let body = read_rpc_body(&request, &mut connection)?;
                let (status, content_type, answer) = answer(&shared, &request, &body, &ca_pem);
                write_full(
                    connection.get_mut(),
                    status,
                    content_type,
                    answer.as_bytes(),
                    true,
                    &[],
                )?;
            }
            Ok(())
        })
        .unwrap();
    Stub {
        server,
        url,
        ca,
        state,
    }
}

fn answer(
    state: &Mutex<State>,
    request: &sim_http::Request,
    body: &[u8],
    ca_pem: &str,
) -> (u16, &'static str, String) {
    let mut state = state.lock().unwrap();
    let body = String::from_utf8_lossy(body).into_owned();
    let line = format!(
        "{} {}{} version={} auth={} all-content={} body={body}",
        request.method,
        request.path,
        if request.raw_query.is_empty() {
            String::new()
        } else {
            format!("?{}", request.raw_query)
        },
        request.header("version").unwrap_or("-"),
        request.header("authorization").unwrap_or("-"),
        request.header("all-content").unwrap_or("-"),
    );
    state.requests.push(line);
    let fault = |reason: &str, detail: &str| {
        format!("<fault><reason>{reason}</reason><detail>{detail}</detail></fault>")
    };
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/ovirt-engine/services/pki-resource") => {
            (200, "application/x-x509-ca-cert", ca_pem.to_owned())
        }
        ("POST", "/ovirt-engine/sso/oauth/token") => {
            if body.contains("password=pass+word%26%3D%25") && body.contains("scope=ovirt-app-api")
            {
                state.tokens_issued += 1;
                let token = format!("TOKEN{}", state.tokens_issued);
                state.valid_token = Some(token.clone());
                (
                    200,
                    "application/json",
                    format!(r#"{{"access_token":"{token}","token_type":"bearer"}}"#),
                )
            } else {
                (400, "application/json", r#"{"error_code":"access_denied","error":"Cannot authenticate user 'admin@internal'."}"#.to_owned())
            }
        }
        ("POST", "/ovirt-engine/services/sso-logout") => {
            let token = body
                .split('&')
                .find_map(|p| p.strip_prefix("token="))
                .unwrap_or("")
                .to_owned();
            state.revoked.push(token);
            (200, "application/json", "{}".to_owned())
        }
        (_, path) if path.starts_with("/ovirt-engine/api") => {
            let bearer = request
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "));
            if bearer.is_none() || bearer != state.valid_token.as_deref() {
                return (401, "text/html", "<html>Unauthorized</html>".to_owned());
            }
            match (request.method.as_str(), path) {
                ("GET", "/ovirt-engine/api") => (200, "application/xml", "<api/>".to_owned()),
                ("GET", "/ovirt-engine/api/vms") => {
                    // The token "expires" after this answer: the next call must log in again.
                    state.valid_token = None;
                    (200, "application/xml", r#"<vms><vm id="1"><name>web</name></vm><vm id="2"><name>web2</name></vm></vms>"#.to_owned())
                }
                ("GET", "/ovirt-engine/api/vms/missing") => (
                    404,
                    "application/xml",
                    fault("Not Found", "Entity not found: missing"),
                ),
                ("DELETE", "/ovirt-engine/api/disks/busy") if state.busy_left > 0 => {
                    state.busy_left -= 1;
                    (
                        409,
                        "application/xml",
                        fault(
                            "Operation Failed",
                            "[Cannot remove Virtual Disk. Disk is locked.]",
                        ),
                    )
                }
                ("DELETE", "/ovirt-engine/api/disks/busy") => {
                    (200, "application/xml", "<action/>".to_owned())
                }
                ("DELETE", "/ovirt-engine/api/disks/bad") => (
                    400,
                    "application/xml",
                    fault(
                        "Operation Failed",
                        "[Cannot remove Virtual Disk. Invalid argument.]",
                    ),
                ),
                _ => (404, "application/xml", fault("Not Found", path)),
            }
        }
        _ => (404, "text/plain", "no".to_owned()),
    }
}

fn options(stub: &Stub, trust: Trust) -> ConnectOptions {
    let mut options = ConnectOptions::new(stub.url.clone(), "admin@internal");
    options.trust = trust;
    options.retry = RetryPolicy {
        deadline: Duration::from_secs(20),
        first: Duration::from_millis(50),
        max: Duration::from_millis(200),
    };
    options
}

fn pin(stub: &Stub) -> Trust {
    Trust::PinnedCa(ovirt_client::Fingerprint::of(stub.ca.der()))
}

#[test]
fn pinned_ca_login_relogin_faults_retries_and_logout() {
    let stub = stub();
    let engine = Connection::connect(options(&stub, pin(&stub)), "pass word&=%").unwrap();
    assert!(
        !format!("{engine:?}").contains("pass word"),
        "the password never shows"
    );

    // Exact names are filtered client-side; the query is sorted and encoded like the SDK's.
    let vm = engine.find_vm("web", true).unwrap().unwrap();
    assert_eq!(vm.id.as_deref(), Some("1"));
    // The token expired: one 401, one new login, the same request again.
    engine.test().unwrap();

    let error = engine.vm("missing", false).unwrap_err();
    match &error {
        OvirtError::Fault {
            status: 404,
            reason,
            detail,
            ..
        } => {
            assert_eq!(reason, "Not Found");
            assert_eq!(detail, "Entity not found: missing");
        }
        other => panic!("expected the engine's fault, got {other:?}"),
    }
    assert!(error.is_not_found());

    engine.remove_disk("busy").unwrap(); // 409 "Disk is locked" twice, then done
    let error = engine.remove_disk("bad").unwrap_err();
    assert!(!error.is_busy(), "bad arguments are not retried: {error}");
    drop(engine);

    let state = stub.state.lock().unwrap();
    let log = state.requests.join("\n");
    assert_eq!(state.tokens_issued, 2, "{log}");
    assert_eq!(
        state.revoked,
        ["TOKEN2"],
        "the token is revoked on drop:\n{log}"
    );
    assert!(log.contains(
        "GET /ovirt-engine/api/vms?all_content=true&case_sensitive=true&search=name%3Dweb version=4 auth=Bearer TOKEN1 all-content=true"
    ), "{log}");
    assert!(
        log.contains("GET /ovirt-engine/api version=4 auth=Bearer TOKEN2"),
        "{log}"
    );
    assert!(log.contains("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=pass+word%26%3D%25"), "{log}");
    assert_eq!(
        log.matches("DELETE /ovirt-engine/api/disks/busy").count(),
        3,
        "{log}"
    );
    assert_eq!(
        log.matches("DELETE /ovirt-engine/api/disks/bad").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_wrong_pin_is_refused_before_any_login() {
    let stub = stub();
    let other = TestCa::new("someone else").unwrap();
    let trust = Trust::PinnedCa(ovirt_client::Fingerprint::of(other.der()));
    let error = Connection::connect(options(&stub, trust), "pass word&=%").unwrap_err();
    assert!(matches!(error, OvirtError::Tls(_)), "{error:?}");
    assert!(error.to_string().contains("not the pinned"), "{error}");
    let state = stub.state.lock().unwrap();
    assert!(
        state.requests.iter().all(|r| !r.contains("sso")),
        "no password was sent"
    );
}

#[test]
fn a_ca_file_verifies_and_system_roots_refuse_a_private_ca() {
    let stub = stub();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, stub.ca.pem()).unwrap();
    Connection::connect(options(&stub, Trust::CaFile(ca_file)), "pass word&=%").unwrap();
    let error =
        Connection::connect(options(&stub, Trust::SystemRoots), "pass word&=%").unwrap_err();
    assert!(matches!(error, OvirtError::Http { .. }), "{error:?}");
}

#[test]
fn an_sso_refusal_carries_the_engines_words() {
    let stub = stub();
    let error = Connection::connect(options(&stub, pin(&stub)), "wrong").unwrap_err();
    match &error {
        OvirtError::Sso {
            code, description, ..
        } => {
            assert_eq!(code, "access_denied");
            assert!(description.contains("Cannot authenticate"), "{description}");
        }
        other => panic!("expected an SSO error, got {other:?}"),
    }
    assert!(
        !error.to_string().contains("wrong"),
        "the password never shows: {error}"
    );
}
