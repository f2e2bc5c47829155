//! One client connection: SSO (`/ovirt-engine/sso/oauth/token`, `/services/sso-logout`,
//! JSON as the SDK expects), the CA (`/services/pki-resource`), and the API
//! (`/ovirt-engine/api[/v4]/…`, Bearer token or Basic auth), with the fault knobs applied
//! before a request's body is read.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::prelude::{BASE64_STANDARD, Engine as _};
use rustls::ServerConfig;
use sim_http::{
    Connection, READ_BUFFER, Request, Stream, parse_query, read_request, read_rpc_body, write_full,
};

use crate::api::{self, ApiRequest};
use crate::engine::{Engine, Reply, new_id};
use crate::faults::{Call, Verdict};

/// What every connection shares.
pub(crate) struct Shared {
    pub engine: Mutex<Engine>,
    pub tls: Arc<ServerConfig>,
    pub ca_pem: String,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves one connection until the client closes it.
pub(crate) fn serve_connection(shared: &Shared, tcp: TcpStream) -> io::Result<()> {
    let stream = Stream::accept(tcp, &shared.tls)?;
    let mut connection = BufReader::with_capacity(READ_BUFFER, stream);
    loop {
        let request = match read_request(&mut connection) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                send(&mut connection, &unreadable(&error), false)?;
                break;
            }
            Err(error) => return Err(error),
        };
        let keep_alive = request.keep_alive();
        let started = std::time::Instant::now();
        let reply = answer(shared, &request, &mut connection);
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            status = reply.as_ref().map(|r| r.status),
            elapsed = ?started.elapsed(),
            "request"
        );
        let Some(reply) = reply else {
            // The "drop a connection" knob: no answer at all.
            connection.get_mut().close(true);
            return Ok(());
        };
        let keep_alive = keep_alive && !reply.close;
        send(&mut connection, &reply, keep_alive)?;
        if !keep_alive {
            break;
        }
    }
    connection.get_mut().close(false);
    Ok(())
}

fn send(connection: &mut Connection, reply: &Reply, keep_alive: bool) -> io::Result<()> {
    write_full(
        connection.get_mut(),
        reply.status,
        reply.content_type,
        reply.body.as_bytes(),
        keep_alive,
        &[],
    )?;
    connection.get_mut().flush()
}

/// Reads a request's body, first answering `Expect: 100-continue` (curl, and so the SDK,
/// sends it for bodies over 1 KiB and would otherwise wait a second before sending).
fn read_body(request: &Request, connection: &mut Connection) -> io::Result<Vec<u8>> {
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        sim_http::write_head(connection.get_mut(), "HTTP/1.1", 100, &[])?;
    }
    read_rpc_body(request, connection)
}

fn json(status: u16, value: &serde_json::Value) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: value.to_string(),
        close: false,
    }
}

/// The answer to a request; `None` to drop the connection.
fn answer(shared: &Shared, request: &Request, connection: &mut Connection) -> Option<Reply> {
    let path = request.path.trim_end_matches('/');
    if path == "/ovirt-engine/services/pki-resource" {
        return Some(Reply {
            status: 200,
            content_type: "application/x-x509-ca-cert",
            body: shared.ca_pem.clone(),
            close: false,
        });
    }
    let api_path = path
        .strip_prefix("/ovirt-engine/api/v4")
        .or_else(|| path.strip_prefix("/ovirt-engine/api"));
    let Some(api_path) = api_path else {
        let body = match read_body(request, connection) {
            Ok(body) => body,
            Err(error) => return Some(unreadable(&error)),
        };
        return Some(match (request.method.as_str(), path) {
            ("POST", "/ovirt-engine/sso/oauth/token") => token(shared, &body),
            ("POST", "/ovirt-engine/services/sso-logout") => logout(shared, &body),
            _ => Reply::fault(404, "Not Found", "No such resource"),
        });
    };
    let segments: Vec<&str> = api_path.split('/').filter(|s| !s.is_empty()).collect();
    let call = Call::new(&request.method, collection_of(&segments));
    let token = bearer(request);
    let verdict = shared.lock().faults.judge(&call);
    let authorised = authorise(shared, request, token.as_deref());
    if verdict == Verdict::Drop {
        return None;
    }
    // The body is read before any answer, so that the connection stays in step.
    let body = match read_body(request, connection) {
        Ok(body) => body,
        Err(error) => return Some(unreadable(&error)),
    };
    if verdict == Verdict::Unauthorized {
        if let Some(token) = &token {
            shared.lock().tokens.remove(token);
        }
        return Some(unauthorized());
    }
    if !authorised {
        return Some(unauthorized());
    }
    if let Verdict::Fail { status, detail } = verdict {
        return Some(Reply::fault(status, "Operation Failed", &detail));
    }
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match crate::xml::parse(&body) {
            Ok(node) => Some(node),
            Err(error) => return Some(Reply::fault(400, "Bad Request", &error)),
        }
    };
    let all_content = request.query("all_content") == Some("true")
        || request
            .header("all-content")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let api_request = ApiRequest {
        method: &request.method,
        segments,
        query: &request.query,
        body,
        all_content,
    };
    let mut engine = shared.lock();
    let reply = api::handle(&mut engine, &api_request);
    if let Some(correlation) = request.query("correlation_id") {
        let description = format!("{} {}", request.method, api_path);
        engine.add_job(correlation, &description, reply.status >= 400);
    }
    Some(reply)
}

/// The class of an API call for the knobs: the last path segment that is not an id.
fn collection_of<'a>(segments: &[&'a str]) -> &'a str {
    segments
        .iter()
        .rev()
        .find(|s| uuid::Uuid::parse_str(s).is_err())
        .copied()
        .unwrap_or("")
}

fn bearer(request: &Request) -> Option<String> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// A valid Bearer token, or Basic credentials of the user.
fn authorise(shared: &Shared, request: &Request, token: Option<&str>) -> bool {
    let engine = shared.lock();
    if let Some(token) = token {
        return engine.tokens.contains_key(token);
    }
    let Some(value) = request.header("authorization") else {
        return false;
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = BASE64_STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{}:{}", engine.user, engine.password);
    decoded == expected.as_bytes()
}

/// The answer to a body that could not be read; the connection is out of step, so the
/// reply closes it.
fn unreadable(error: &io::Error) -> Reply {
    let mut reply = Reply::fault(400, "Bad Request", &error.to_string());
    reply.close = true;
    reply
}

fn unauthorized() -> Reply {
    Reply::fault(
        401,
        "Unauthorized",
        "The user is not logged in or the session expired",
    )
}

fn token(shared: &Shared, body: &[u8]) -> Reply {
    let form = parse_query(&String::from_utf8_lossy(body));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("password") || field("scope") != Some("ovirt-app-api") {
        return json(
            400,
            &serde_json::json!({"error_code": "invalid_request", "error": "grant_type=password and scope=ovirt-app-api are required"}),
        );
    }
    let mut engine = shared.lock();
    let user = field("username").unwrap_or_default();
    if user != engine.user || field("password") != Some(engine.password.as_str()) {
        return json(
            401,
            &serde_json::json!({
                "error_code": "access_denied",
                "error": format!("Cannot authenticate user '{user}': The username or password is incorrect."),
            }),
        );
    }
    let token = format!("ovirt-sim-{}", new_id());
    engine.tokens.insert(token.clone(), user.to_owned());
    engine.logins += 1;
    json(
        200,
        &serde_json::json!({
            "access_token": token,
            "scope": "ovirt-app-api ovirt-ext=token-info:authz-search",
            "exp": "9223372036854775807",
            "token_type": "bearer",
        }),
    )
}

fn logout(shared: &Shared, body: &[u8]) -> Reply {
    let form = parse_query(&String::from_utf8_lossy(body));
    if let Some((_, token)) = form.iter().find(|(k, _)| k == "token") {
        shared.lock().tokens.remove(token);
    }
    json(200, &serde_json::json!({}))
}
