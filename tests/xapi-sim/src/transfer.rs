//! HTTP transfers (`/export`, `/import`, …) as XAPI runs them: authenticated by a session
//! (cookie, then query) or HTTP Basic, inside a task (`task_id`, or one of the simulator's
//! own), answered `200` before the work, with success and errors reported through the task
//! only, and the connection closed at the end.

mod corrupt;
mod dbdump;
mod export;
mod import;
mod ova;
mod raw;
mod wire;

use std::io;
use std::time::Duration;

use base64::prelude::{BASE64_STANDARD, Engine};
use xenapi::Ref;

use crate::error::XapiError;
use crate::faults::{Endpoint, TransferFault};
use crate::http::{Connection, Request, write_error, write_full, write_head};
use crate::shared::HostCtx;

/// How a transfer ended.
pub(crate) struct Outcome {
    /// The task's result (an XML-RPC `<value>` document or empty), or its error.
    pub result: Result<String, XapiError>,
    /// Whether the response head was already sent (otherwise a 500 is sent).
    pub head_sent: bool,
    /// Close without TLS `close_notify`: a cut connection.
    pub abrupt: bool,
}

impl Outcome {
    fn refused(error: XapiError) -> Self {
        Outcome {
            result: Err(error),
            head_sent: false,
            abrupt: false,
        }
    }

    fn done(result: Result<String, XapiError>) -> Self {
        Outcome {
            result,
            head_sent: true,
            abrupt: false,
        }
    }

    /// After the head: success without a result when the body was sent, else the I/O
    /// failure (a cut closes the connection abruptly).
    fn sent(sent: io::Result<()>) -> Self {
        Outcome {
            abrupt: sent.as_ref().is_err_and(wire::is_cut),
            result: sent
                .map(|()| String::new())
                .map_err(|e| wire::io_failure(&e)),
            head_sent: true,
        }
    }
}

/// A transfer in progress: who asked, in which task, with which faults.
pub(crate) struct Transfer<'a> {
    pub ctx: &'a HostCtx,
    pub request: &'a Request,
    pub task: Ref,
    pub faults: Vec<TransferFault>,
}

impl Transfer<'_> {
    /// The body offset at which to drop the connection, if a fault says so.
    pub(crate) fn cut_after(&self) -> Option<u64> {
        self.faults.iter().find_map(|f| match f {
            TransferFault::Cut { after_bytes } => Some(*after_bytes),
            _ => None,
        })
    }

    /// A pause to make at a body offset, if a fault says so.
    pub(crate) fn stall(&self) -> Option<(u64, Duration)> {
        self.faults.iter().find_map(|f| match f {
            TransferFault::Stall { at_byte, duration } => Some((*at_byte, *duration)),
            _ => None,
        })
    }

    /// A boolean query parameter (`true` only).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.request
            .query(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Sets the task's progress.
    pub(crate) fn progress(&self, progress: f64) {
        self.ctx.shared.lock().task_progress(&self.task, progress);
    }
}

/// Serves one transfer request and closes the connection.
pub(crate) fn handle(
    ctx: &HostCtx,
    endpoint: Endpoint,
    request: &Request,
    mut connection: Connection,
) -> io::Result<()> {
    let result = serve(ctx, endpoint, request, &mut connection);
    connection.get_mut().close(matches!(result, Ok(true)));
    result.map(|_| ())
}

/// Returns whether the connection must be dropped abruptly.
fn serve(
    ctx: &HostCtx,
    endpoint: Endpoint,
    request: &Request,
    connection: &mut Connection,
) -> io::Result<bool> {
    let internal_session = match authenticate(ctx, request, connection)? {
        Auth::Session => None,
        Auth::Basic(session) => Some(session),
        Auth::Refused => return Ok(false),
    };
    let task = match request.param("task_id") {
        Some(task)
            if ctx
                .shared
                .lock()
                .tasks
                .contains_key(&Ref::new(task.as_str())) =>
        {
            (Ref::new(task), false)
        }
        Some(task) => {
            end_session(ctx, internal_session.as_ref());
            write_error(
                connection.get_mut(),
                404,
                &format!("HANDLE_INVALID task {task}"),
            )?;
            return Ok(false);
        }
        None => (
            ctx.shared
                .lock()
                .task_create(endpoint.path(), "HTTP transfer", true),
            true,
        ),
    };
    let (task, internal_task) = task;
    let outcome = if redirect(ctx, endpoint, request, connection)? {
        None
    } else {
        let transfer = Transfer {
            ctx,
            request,
            task: task.clone(),
            faults: ctx.shared.faults.take_transfer(endpoint),
        };
        Some(run(&transfer, endpoint, connection)?)
    };
    let abrupt = outcome.as_ref().is_some_and(|o| o.abrupt);
    if let Some(outcome) = outcome {
        {
            let mut pool = ctx.shared.lock();
            match &outcome.result {
                Ok(result) => pool.task_succeed(&task, result.clone()),
                Err(error) => pool.task_fail(&task, error),
            }
        }
        if let (Err(error), false) = (&outcome.result, outcome.head_sent) {
            let status = match error.code.as_str() {
                "VM_BAD_POWER_STATE" | "IMPORT_ERROR_CANNOT_HANDLE_CHUNKED" => 403,
                "HANDLE_INVALID" | "UUID_INVALID" => 404,
                _ => 500,
            };
            write_error(connection.get_mut(), status, &error.to_string())?;
        }
    }
    if internal_task {
        let _ = ctx.shared.lock().task_destroy(&task);
    }
    end_session(ctx, internal_session.as_ref());
    Ok(abrupt)
}

fn run(
    transfer: &Transfer<'_>,
    endpoint: Endpoint,
    connection: &mut Connection,
) -> io::Result<Outcome> {
    if let Some(error) = transfer.ctx.shared.faults.on_call(endpoint.path()) {
        return Ok(Outcome::refused(error));
    }
    transfer.progress(0.0);
    if transfer.faults.contains(&TransferFault::ErrorInBody) {
        return error_in_body(transfer, connection);
    }
    Ok(match endpoint {
        Endpoint::Export => export::export(transfer, connection),
        Endpoint::ExportMetadata => export::export_metadata(transfer, connection),
        Endpoint::ExportRawVdi => raw::export_raw_vdi(transfer, connection),
        Endpoint::Import => import::import(transfer, connection),
        Endpoint::ImportRawVdi => raw::import_raw_vdi(transfer, connection),
        Endpoint::XmlDbDump => dbdump::xmldbdump(transfer, connection),
    })
}

/// XAPI's bug (xen-api issue 4603): a `200` whose body is a whole error response.
fn error_in_body(transfer: &Transfer<'_>, connection: &mut Connection) -> io::Result<Outcome> {
    let out = connection.get_mut();
    write_head(
        out,
        "HTTP/1.1",
        200,
        &transfer_headers(transfer, "application/octet-stream"),
    )?;
    let body = "HTTP/1.1 500 Internal Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    io::Write::write_all(out, body.as_bytes())?;
    Ok(Outcome::done(Err(XapiError::internal(
        "the response was an error inside a 200 (fault injection)",
    ))))
}

/// The headers XAPI sends with a streamed transfer.
pub(crate) fn transfer_headers(
    transfer: &Transfer<'_>,
    content_type: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("Connection", "close".to_owned()),
        ("Content-Type", content_type.to_owned()),
        ("task-id", transfer.task.as_str().to_owned()),
        ("Cache-Control", "no-cache, no-store".to_owned()),
    ]
}

/// How a transfer was authenticated.
enum Auth {
    /// By the client's session.
    Session,
    /// By Basic credentials: a session of our own, closed after the transfer.
    Basic(Ref),
    /// Not at all: a 401 was sent.
    Refused,
}

/// Checks the credentials: a session (cookie, then query), else HTTP Basic.
fn authenticate(ctx: &HostCtx, request: &Request, connection: &mut Connection) -> io::Result<Auth> {
    if let Some(session) = request.param("session_id") {
        if ctx.shared.lock().check_session(&session).is_ok() {
            return Ok(Auth::Session);
        }
    } else if let Some((user, password)) = basic_credentials(request) {
        let mut pool = ctx.shared.lock();
        let master = pool.master().clone();
        if let Ok(session) = pool.login(&master, &user, &password, "HTTP Basic", true) {
            return Ok(Auth::Basic(session));
        }
    }
    let headers = [("WWW-Authenticate", "Basic realm=\"xapi\"".to_owned())];
    write_full(
        connection.get_mut(),
        401,
        "text/plain",
        b"401 Unauthorized\n",
        false,
        &headers,
    )?;
    Ok(Auth::Refused)
}

fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64_STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn end_session(ctx: &HostCtx, session: Option<&Ref>) {
    if let Some(session) = session {
        ctx.shared.lock().logout(session);
    }
}

/// Answers `302` to the other host when the redirect fault is on and this host is the
/// master; returns whether it did.
fn redirect(
    ctx: &HostCtx,
    endpoint: Endpoint,
    request: &Request,
    connection: &mut Connection,
) -> io::Result<bool> {
    if !ctx.shared.faults.redirects(endpoint) {
        return Ok(false);
    }
    let target = {
        let pool = ctx.shared.lock();
        if *pool.master() != ctx.host {
            return Ok(false);
        }
        pool.hosts
            .keys()
            .find(|r| **r != ctx.host)
            .and_then(|r| pool.authority_of(r).ok())
    };
    let Some(address) = target else {
        return Ok(false);
    };
    let query = if request.raw_query.is_empty() {
        String::new()
    } else {
        format!("?{}", request.raw_query)
    };
    let location = format!("https://{address}{}{query}", endpoint.path());
    write_full(
        connection.get_mut(),
        302,
        "text/plain",
        b"",
        false,
        &[("Location", location)],
    )?;
    Ok(true)
}
