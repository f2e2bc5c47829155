//! JSON-RPC over HTTP(S): `POST /jsonrpc` with `application/json`. Requests are JSON-RPC 2.0;
//! replies in 1.0 or 2.0 form are both understood.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Transport, unwrap_envelope, utf8};
use crate::error::{Result, XenApiError};
use crate::http::{Connector, Endpoint, Poster};
use crate::rpc::Value;
use crate::rpc::json::{decode_json_reply, encode_json_call};

/// XAPI's JSON-RPC interface at `POST /jsonrpc` of a host.
pub struct JsonRpcTransport {
    poster: Poster,
    next_id: AtomicU64,
}

impl JsonRpcTransport {
    /// A transport to `endpoint`, connecting with `connector` and announcing itself as
    /// `user_agent`.
    pub fn new(endpoint: Endpoint, connector: Connector, user_agent: &str) -> Self {
        JsonRpcTransport {
            poster: Poster::new(
                connector,
                endpoint,
                "/jsonrpc",
                "application/json",
                user_agent.to_owned(),
            ),
            next_id: AtomicU64::new(1),
        }
    }
}

impl fmt::Debug for JsonRpcTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonRpcTransport")
            .field("endpoint", &self.poster.endpoint().to_string())
            .finish_non_exhaustive()
    }
}

impl Transport for JsonRpcTransport {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value> {
        let endpoint = self.poster.endpoint();
        tracing::debug!(method, %endpoint, "JSON-RPC call");
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let response = self
            .poster
            .post(encode_json_call(method, params, id).as_bytes())?;
        let envelope = decode_json_reply(utf8(endpoint, method, &response)?).map_err(|source| {
            XenApiError::Codec {
                context: format!("the answer to {method} from {endpoint}"),
                source,
            }
        })?;
        unwrap_envelope(endpoint, method, envelope)
    }

    fn endpoint(&self) -> &Endpoint {
        self.poster.endpoint()
    }

    fn for_host(&self, host: &str) -> Result<Box<dyn Transport>> {
        let endpoint = self.poster.endpoint().with_host(host)?;
        Ok(Box::new(JsonRpcTransport {
            poster: self.poster.with_endpoint(endpoint),
            next_id: AtomicU64::new(1),
        }))
    }
}
