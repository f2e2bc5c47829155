//! One API request: URL and query (sorted, `=` encoded, as the SDK does), the header set,
//! the 401 re-login, busy-fault retries, and the answer checked against the statuses the
//! SDK accepts (GET and update 200; add and actions 200/201/202; remove 200).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{AuthMethod, Connection};
use crate::error::{OvirtError, Result};
use crate::types::{Action, Fault};
use crate::xml;

/// Query parameters of a request, sent sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pairs: Vec<(&'static str, String)>,
    all_content: bool,
}

impl Query {
    /// No parameters.
    pub fn new() -> Self {
        Query::default()
    }

    /// Adds `name=value`.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.pairs.push((name, value.into()));
        self
    }

    /// Asks for everything, the OVF included (`all_content=true` and the `All-Content`
    /// header older engines read).
    #[must_use]
    pub fn all_content(mut self) -> Self {
        self.all_content = true;
        self.with("all_content", "true")
    }

    /// Tags the request's jobs with `correlation_id` (see [`Connection::wait_for_jobs`]).
    #[must_use]
    pub fn correlation_id(self, id: &str) -> Self {
        self.with("correlation_id", id)
    }

    fn encoded(&self) -> String {
        let mut pairs = self.pairs.clone();
        pairs.sort();
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

/// A successful answer.
struct Answer {
    status: u16,
    body: String,
}

const GET_OK: &[u16] = &[200];
const ADD_OK: &[u16] = &[200, 201, 202];
const UPDATE_OK: &[u16] = &[200];
const REMOVE_OK: &[u16] = &[200];

impl Connection {
    /// `GET` a resource.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        what: &str,
    ) -> Result<T> {
        let body = self.get_text(path, query, what)?;
        xml::parse(&body, what)
    }

    /// `GET` a resource, the body as text.
    pub(crate) fn get_text(&self, path: &str, query: &Query, what: &str) -> Result<String> {
        Ok(self
            .call(&Method::GET, path, query, None, GET_OK, what)?
            .body)
    }

    /// `POST` a new object to a collection; the engine answers with the object.
    pub(crate) fn add<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
        body: &B,
        what: &str,
    ) -> Result<T> {
        let text = xml::write(body, what)?;
        let answer = self.call(
            &Method::POST,
            path,
            query,
            Some(text.as_str()),
            ADD_OK,
            what,
        )?;
        xml::parse(&answer.body, what)
    }

    /// `PUT` changes to an object; the engine answers with the object.
    pub(crate) fn update<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T> {
        let text = xml::write(body, what)?;
        let answer = self.call(
            &Method::PUT,
            path,
            &Query::new(),
            Some(text.as_str()),
            UPDATE_OK,
            what,
        )?;
        xml::parse(&answer.body, what)
    }

    /// `DELETE` an object.
    pub(crate) fn remove(&self, path: &str, query: &Query, what: &str) -> Result<()> {
        self.call(&Method::DELETE, path, query, None, REMOVE_OK, what)
            .map(|_| ())
    }

    /// `POST …/verb` with an action body; a fault inside the accepted action is an error.
    pub(crate) fn action(
        &self,
        path: &str,
        verb: &str,
        query: &Query,
        action: &Action,
        what: &str,
    ) -> Result<Action> {
        let text = xml::write(action, what)?;
        let answer = self.call(
            &Method::POST,
            &format!("{path}/{verb}"),
            query,
            Some(text.as_str()),
            ADD_OK,
            what,
        )?;
        let result: Action = if answer.body.trim().is_empty() {
            Action::default()
        } else {
            xml::parse(&answer.body, what)?
        };
        if let Some(fault) = &result.fault {
            return Err(fault_error(what, answer.status, fault));
        }
        if result.status.as_deref() == Some("failed") {
            return Err(OvirtError::Failed {
                what: what.to_owned(),
                state: "action failed".into(),
            });
        }
        Ok(result)
    }

    /// Sends with busy-fault retries.
    fn call(
        &self,
        method: &Method,
        path: &str,
        query: &Query,
        body: Option<&str>,
        ok: &[u16],
        what: &str,
    ) -> Result<Answer> {
        let policy = self.options.retry;
        let started = Instant::now();
        let mut wait = policy.first;
        loop {
            match self.send_once(method, path, query, body, ok, what) {
                Err(error) if error.is_busy() && started.elapsed() + wait <= policy.deadline => {
                    tracing::info!(%error, retry_in = ?wait, "the engine is busy; retrying");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(policy.max);
                }
                other => return other,
            }
        }
    }

    /// Sends once, re-logging in once on 401 when using SSO.
    fn send_once(
        &self,
        method: &Method,
        path: &str,
        query: &Query,
        body: Option<&str>,
        ok: &[u16],
        what: &str,
    ) -> Result<Answer> {
        let mut relogged = false;
        loop {
            let (status, content_type, text) = self.send_raw(method, path, query, body, what)?;
            if status == 401 && self.options.auth == AuthMethod::Sso && !relogged {
                tracing::debug!(what, "the engine answered 401: fetching a new token");
                self.login()?;
                relogged = true;
                continue;
            }
            if ok.contains(&status) {
                return Ok(Answer { status, body: text });
            }
            return Err(error_answer(what, status, &content_type, &text));
        }
    }

    fn send_raw(
        &self,
        method: &Method,
        path: &str,
        query: &Query,
        body: Option<&str>,
        what: &str,
    ) -> Result<(u16, String, String)> {
        let mut url = self.api_url(path);
        let encoded = query.encoded();
        if !encoded.is_empty() {
            url.push('?');
            url.push_str(&encoded);
        }
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Version", "4")
            .header("Content-Type", "application/xml")
            .header("Accept", "application/xml")
            .header("Authorization", self.authorization());
        if query.all_content {
            request = request.header("All-Content", "true");
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let started = Instant::now();
        let response = request.send().map_err(|e| OvirtError::http(what, e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().map_err(|e| OvirtError::http(what, e))?;
        tracing::trace!(%method, path, status, elapsed = ?started.elapsed(), "engine request");
        Ok((status, content_type, text))
    }

    /// The current poll policy's intervals, for waits.
    pub(crate) fn poll_intervals(&self) -> (Duration, Duration) {
        (self.options.poll.min, self.options.poll.max)
    }
}

/// The error for a non-success answer: the fault when the body is an XML fault.
fn error_answer(what: &str, status: u16, content_type: &str, text: &str) -> OvirtError {
    if content_type.contains("xml")
        && let Ok(fault) = xml::parse::<Fault>(text, what)
        && (fault.reason.is_some() || fault.detail.is_some())
    {
        return fault_error(what, status, &fault);
    }
    OvirtError::Status {
        what: what.to_owned(),
        status,
        body: text.chars().take(300).collect(),
    }
}

fn fault_error(what: &str, status: u16, fault: &Fault) -> OvirtError {
    OvirtError::Fault {
        what: what.to_owned(),
        status,
        reason: fault.reason.clone().unwrap_or_default(),
        detail: fault.detail.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_sorted_and_encoded_like_the_sdk() {
        let query = Query::new()
            .with("search", "name=myvm")
            .with("max", "10")
            .with("case_sensitive", "true")
            .all_content();
        assert_eq!(
            query.encoded(),
            "all_content=true&case_sensitive=true&max=10&search=name%3Dmyvm"
        );
    }
}
