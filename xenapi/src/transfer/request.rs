//! Opening a transfer: its task, the request, redirects, and the diagnosis of a refusal.

use std::io::{BufReader, Read, Write};
use std::time::Duration;

use super::{Download, Upload};
use crate::Ref;
use crate::api::TaskOutcome;
use crate::error::{Result, XenApiError};
use crate::http::{
    BUFFER, BodyReader, Endpoint, ResponseHead, Stream, Target, explain, write_request_head,
};
use crate::session::Session;

/// How many redirects a transfer follows.
const MAX_REDIRECTS: usize = 3;

/// How long a refused transfer's task gets to record XAPI's reason.
const REFUSAL_GRACE: Duration = Duration::from_secs(2);

/// The task of a transfer: destroyed on drop unless `finish` waited for it.
pub(crate) struct TaskGuard<'s> {
    session: &'s Session,
    task: Option<Ref>,
}

impl<'s> TaskGuard<'s> {
    fn create(session: &'s Session, label: &str) -> Result<Self> {
        let description = format!("HTTP transfer by {}", session.options().originator);
        let task = session.task().create(label, &description)?;
        Ok(TaskGuard {
            session,
            task: Some(task),
        })
    }

    pub(crate) fn task(&self) -> &Ref {
        self.task
            .as_ref()
            .expect("the task is present until finished")
    }

    /// Waits for the task (success is read from it, never from HTTP) and destroys it.
    pub(crate) fn finish(mut self) -> Result<TaskOutcome> {
        let task = self
            .task
            .take()
            .expect("the task is present until finished");
        self.session
            .wait_and_destroy_task(&task, self.session.options().transfer_timeout)
    }

    /// The error to report for a failed transfer: the task's failure when XAPI recorded one
    /// (its code says more than HTTP), else `fallback`. The task is destroyed either way.
    pub(crate) fn diagnose(mut self, fallback: XenApiError) -> XenApiError {
        let task = self
            .task
            .take()
            .expect("the task is present until finished");
        if fallback.is_stopped() {
            // Asked to stop: no waiting for the task's reason.
            self.session.destroy_task_quietly(&task);
            return fallback;
        }
        match self.session.wait_and_destroy_task(&task, REFUSAL_GRACE) {
            Err(failure @ (XenApiError::TaskFailed { .. } | XenApiError::TaskCancelled { .. })) => {
                tracing::debug!(%fallback, "the transfer failed; its task says why");
                failure
            }
            _ => fallback,
        }
    }
}

impl Drop for TaskGuard<'_> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            tracing::debug!(%task, "transfer abandoned before finish; destroying its task");
            self.session.destroy_task_quietly(&task);
        }
    }
}

/// A transfer about to be opened.
pub(crate) struct Request<'a> {
    pub(crate) path: &'a str,
    pub(crate) params: Vec<(String, String)>,
    /// The task's name label.
    pub(crate) label: &'a str,
}

impl Request<'_> {
    /// `GET`: follows redirects (keeping the task) and returns the body of a 200.
    pub(crate) fn download(self, session: &Session) -> Result<Download<'_>> {
        let guard = TaskGuard::create(session, self.label)?;
        let mut target = self.target(session);
        target.set("task_id", guard.task().as_str());
        let mut endpoint = session.endpoint().clone();
        for _ in 0..=MAX_REDIRECTS {
            let url = format!("{endpoint}{}", target.redacted());
            let (reader, head) = match exchange(session, &endpoint, "GET", &target, &[]) {
                Ok(answer) => answer,
                Err(e) => return Err(guard.diagnose(e)),
            };
            match head.status {
                200 => return Download::open(reader, &head, guard, url),
                301 | 302 | 303 | 307 | 308 => {
                    (endpoint, target) = redirect(&head, &endpoint, &url, session, guard.task())?;
                }
                _ => {
                    let refused = refusal("GET", &target.path, url, &head, reader);
                    return Err(guard.diagnose(refused));
                }
            }
        }
        Err(guard.diagnose(XenApiError::protocol(endpoint, "too many redirects")))
    }

    /// `PUT`: a probe without body and task finds where the upload goes (XAPI redirects to
    /// the host that sees the SR; the body cannot be replayed), then the body is streamed
    /// with `Content-Length` when known, else without one and ended by a half-close; never
    /// chunked.
    pub(crate) fn upload(self, session: &Session, length: Option<u64>) -> Result<Upload<'_>> {
        let guard = TaskGuard::create(session, self.label)?;
        let mut target = self.target(session);
        let mut endpoint = session.endpoint().clone();
        for _ in 0..MAX_REDIRECTS {
            let url = format!("{endpoint}{}", target.redacted());
            let probe = exchange(
                session,
                &endpoint,
                "PUT",
                &target,
                &[("Content-Length", "0".into())],
            );
            match probe {
                Ok((_, head)) if (300..400).contains(&head.status) => {
                    (endpoint, target) = redirect(&head, &endpoint, &url, session, guard.task())?;
                    target.query.retain(|(name, _)| name != "task_id");
                }
                Ok(_) => break,
                Err(e @ XenApiError::Connect { .. }) => return Err(guard.diagnose(e)),
                Err(e) => {
                    tracing::debug!(error = %e, "the upload probe got no answer; uploading anyway");
                    break;
                }
            }
        }
        target.set("task_id", guard.task().as_str());
        let url = format!("{endpoint}{}", target.redacted());
        let mut stream = match session.connector().connect(&endpoint) {
            Ok(stream) => stream,
            Err(e) => return Err(guard.diagnose(e)),
        };
        let mut headers = common_headers(session);
        if let Some(length) = length {
            headers.push(("Content-Length", length.to_string()));
        }
        if let Err(e) =
            write_request_head(&mut stream, "PUT", &endpoint, &target.encoded(), &headers)
        {
            return Err(guard.diagnose(XenApiError::io("sending PUT", url, e)));
        }
        Ok(Upload::new(stream, guard, target.path, url, length))
    }

    fn target(&self, session: &Session) -> Target {
        let mut target = Target::new(self.path, self.params.clone());
        target.set("session_id", session.session_ref().as_str());
        target
    }
}

fn common_headers(session: &Session) -> Vec<(&'static str, String)> {
    vec![
        ("User-Agent", session.options().originator.clone()),
        ("Connection", "close".to_owned()),
    ]
}

/// Sends a request without body and reads the response head.
fn exchange(
    session: &Session,
    endpoint: &Endpoint,
    method: &str,
    target: &Target,
    extra: &[(&'static str, String)],
) -> Result<(BufReader<Stream>, ResponseHead)> {
    let url = format!("{endpoint}{}", target.redacted());
    let mut stream = session.connector().connect(endpoint)?;
    let mut headers = common_headers(session);
    headers.extend_from_slice(extra);
    write_request_head(&mut stream, method, endpoint, &target.encoded(), &headers)
        .and_then(|()| stream.flush())
        .map_err(|e| XenApiError::io(format!("sending {method}"), &url, e))?;
    let mut reader = BufReader::with_capacity(BUFFER, stream);
    let head = ResponseHead::read(&mut reader)
        .map_err(|e| XenApiError::io(format!("reading the response to {method}"), &url, e))?;
    Ok((reader, head))
}

/// The endpoint and target a redirect names, with the session and task kept.
fn redirect(
    head: &ResponseHead,
    endpoint: &Endpoint,
    url: &str,
    session: &Session,
    task: &Ref,
) -> Result<(Endpoint, Target)> {
    let location = head.header("Location").ok_or_else(|| {
        XenApiError::protocol(url, format!("HTTP {} without a Location", head.status))
    })?;
    let (next, mut target) = Target::parse_location(location, endpoint)?;
    target.set("session_id", session.session_ref().as_str());
    target.set("task_id", task.as_str());
    tracing::info!(from = %endpoint, to = %next, "the transfer is redirected to another host");
    Ok((next, target))
}

/// An HTTP error for a refused request to `path`, with the start of its body as
/// explanation.
pub(crate) fn refusal(
    method: &str,
    path: &str,
    url: String,
    head: &ResponseHead,
    reader: BufReader<Stream>,
) -> XenApiError {
    let mut body = Vec::new();
    if let Ok(framing) = head.framing() {
        // The explanation is best effort: a server may close without one.
        let _ = BodyReader::new(reader, framing)
            .take(4096)
            .read_to_end(&mut body);
    }
    XenApiError::Http {
        operation: format!("{method} {path}"),
        url,
        status: head.status,
        reason: explain(&head.reason, &body),
    }
}
