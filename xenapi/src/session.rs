//! A logged-in XAPI session: login (following `HOST_IS_SLAVE` to the pool master), calls with
//! one re-login on `SESSION_INVALID`, and logout on drop.

mod options;

use std::fmt;
use std::sync::RwLock;

use serde::de::DeserializeOwned;

pub use options::{Credentials, SessionOptions};

use crate::Ref;
use crate::error::{Result, XenApiError};
use crate::http::{Connector, Endpoint};
use crate::rpc::{Value, from_value};
use crate::transport::{JsonRpcTransport, Protocol, Transport, XmlRpcTransport};

/// The API version sent at login (`XenAPI.py` sends the same).
const API_VERSION: &str = "1.0";

/// A session with a pool master. Every typed call goes through one (see [`Session::vm`] and
/// its siblings), and so do HTTP transfers ([`Session::export`], [`Session::import`], …).
///
/// The session is logged out when dropped (a failure is logged, never raised); call
/// [`Session::logout`] to see the result. `Session` is `Send + Sync`: threads may share it.
pub struct Session {
    transport: Box<dyn Transport>,
    connector: Connector,
    credentials: Credentials,
    options: SessionOptions,
    reference: RwLock<Ref>,
    active: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint().to_string())
            .field("user", &self.credentials.user())
            .field("protocol", &self.options.protocol)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Logs in to the host at `url` (`https://host[:port]`) with
    /// `session.login_with_password(user, password, "1.0", originator)`. A pool member
    /// answers `HOST_IS_SLAVE`: the login is repeated once on the master it names, keeping
    /// scheme, port and TLS settings.
    pub fn login(
        url: &str,
        user: &str,
        password: &str,
        options: SessionOptions,
    ) -> Result<Session> {
        let endpoint = Endpoint::parse(url)?;
        let connector =
            Connector::new(&options.tls, options.timeouts)?.with_stop(options.stop.clone());
        let transport: Box<dyn Transport> = match options.protocol {
            Protocol::XmlRpc => Box::new(XmlRpcTransport::new(
                endpoint,
                connector.clone(),
                &options.originator,
            )),
            Protocol::JsonRpc => Box::new(JsonRpcTransport::new(
                endpoint,
                connector.clone(),
                &options.originator,
            )),
        };
        Self::establish(
            transport,
            connector,
            Credentials::new(user, password),
            options,
        )
    }

    /// Logs in through a transport of the caller's (`options.protocol` is then unused;
    /// `options.tls` and `options.timeouts` still serve HTTP transfers).
    pub fn login_with(
        transport: Box<dyn Transport>,
        credentials: Credentials,
        options: SessionOptions,
    ) -> Result<Session> {
        let connector =
            Connector::new(&options.tls, options.timeouts)?.with_stop(options.stop.clone());
        Self::establish(transport, connector, credentials, options)
    }

    fn establish(
        transport: Box<dyn Transport>,
        connector: Connector,
        credentials: Credentials,
        options: SessionOptions,
    ) -> Result<Session> {
        let (transport, reference) =
            match login_call(&*transport, &credentials, &options.originator) {
                Ok(reference) => (transport, reference),
                Err(XenApiError::Api { code, params, .. }) if code == "HOST_IS_SLAVE" => {
                    let master = params.first().ok_or_else(|| {
                        XenApiError::protocol(transport.endpoint(), "HOST_IS_SLAVE names no master")
                    })?;
                    tracing::info!(
                        member = %transport.endpoint(),
                        master = %master,
                        "the host is a pool member; logging in to the master"
                    );
                    let master = transport.for_host(master)?;
                    let reference = login_call(&*master, &credentials, &options.originator)?;
                    (master, reference)
                }
                Err(e) => return Err(e),
            };
        tracing::debug!(endpoint = %transport.endpoint(), user = credentials.user(), "logged in");
        Ok(Session {
            transport,
            connector,
            credentials,
            options,
            reference: RwLock::new(reference),
            active: true,
        })
    }

    /// The pool master this session talks to.
    pub fn endpoint(&self) -> &Endpoint {
        self.transport.endpoint()
    }

    /// The session's current reference (it changes after a re-login).
    pub fn session_ref(&self) -> Ref {
        self.reference
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone())
    }

    /// The settings the session was opened with.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    pub(crate) fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Calls `method` with the session ref prepended to `params`, and returns the raw
    /// value. `SESSION_INVALID` (an expired session) is answered by exactly one re-login and
    /// one retry.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value> {
        self.with_session(
            method,
            |session| session_first(session, params),
            |full| self.transport.call(method, full),
        )
    }

    /// [`Session::call`], with the answer converted to `T` (decoded straight from the
    /// XML-RPC text, without an intermediate value tree).
    pub fn invoke<T: DeserializeOwned>(&self, method: &str, params: &[Value]) -> Result<T> {
        self.invoke_with(method, |session| session_first(session, params))
    }

    /// [`Session::invoke`] with every parameter, the session's included, built by
    /// `params` from the session ref of each attempt.
    fn invoke_with<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Fn(&Ref) -> Vec<Value>,
    ) -> Result<T> {
        self.with_session(method, params, |full| {
            self.transport
                .call_reply(method, full)?
                .decode(self.endpoint(), method)
        })
    }

    /// Runs `exchange` with the parameters `params` builds from the current session ref;
    /// on `SESSION_INVALID`, logs in again once and repeats it with parameters built from
    /// the new ref (wherever the call names its session, the retry names the new one).
    fn with_session<T>(
        &self,
        method: &str,
        params: impl Fn(&Ref) -> Vec<Value>,
        exchange: impl Fn(&[Value]) -> Result<T>,
    ) -> Result<T> {
        let used = self.session_ref();
        match exchange(&params(&used)) {
            Err(e) if e.code() == Some("SESSION_INVALID") => {
                tracing::info!(method, "the session is no longer valid; logging in again");
                let fresh = self.relogin(&used)?;
                exchange(&params(&fresh))
            }
            other => other,
        }
    }

    /// `session.get_this_host`: the host this session is connected to.
    pub fn this_host(&self) -> Result<Ref> {
        // The session is both the call's session and the `self` it asks about.
        self.invoke_with("session.get_this_host", |session| {
            vec![Value::from(session), Value::from(session)]
        })
    }

    /// Logs out now and reports the outcome (dropping the session logs out too, silently).
    pub fn logout(mut self) -> Result<()> {
        self.active = false;
        self.transport
            .call("session.logout", &[Value::from(&self.session_ref())])
            .map(drop)
    }

    /// Logs in again unless another thread already replaced `stale`.
    fn relogin(&self, stale: &Ref) -> Result<Ref> {
        let mut current = self
            .reference
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current != *stale {
            return Ok(current.clone());
        }
        let fresh = login_call(
            &*self.transport,
            &self.credentials,
            &self.options.originator,
        )?;
        current.clone_from(&fresh);
        Ok(fresh)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let reference = self.session_ref();
        match self
            .transport
            .call("session.logout", &[Value::from(&reference)])
        {
            Ok(_) => tracing::debug!(endpoint = %self.endpoint(), "logged out"),
            Err(error) => tracing::warn!(%error, "logging out of XAPI failed"),
        }
    }
}

/// `params` after the session ref, as every call but login takes them.
fn session_first(session: &Ref, params: &[Value]) -> Vec<Value> {
    let mut full = Vec::with_capacity(params.len() + 1);
    full.push(Value::from(session));
    full.extend_from_slice(params);
    full
}

/// `session.login_with_password`; the password appears in no log and no error.
fn login_call(
    transport: &dyn Transport,
    credentials: &Credentials,
    originator: &str,
) -> Result<Ref> {
    let params = [
        Value::from(credentials.user()),
        Value::from(credentials.password()),
        Value::from(API_VERSION),
        Value::from(originator),
    ];
    let value = transport.call("session.login_with_password", &params)?;
    from_value(value).map_err(|source| XenApiError::Codec {
        context: format!(
            "the answer to session.login_with_password from {}",
            transport.endpoint()
        ),
        source,
    })
}
