//! XML-RPC over HTTP(S): `POST /` with `text/xml`.

use std::fmt;

use super::{Reply, Transport, fault_error, unwrap_envelope, utf8, utf8_owned};
use crate::error::{Result, XenApiError};
use crate::http::{Connector, Endpoint, Poster};
use crate::rpc::{Envelope, Value, decode_response, encode_call};

/// XAPI's XML-RPC interface at `POST /` of a host.
pub struct XmlRpcTransport {
    poster: Poster,
}

impl XmlRpcTransport {
    /// A transport to `endpoint`, connecting with `connector` and announcing itself as
    /// `user_agent`.
    pub fn new(endpoint: Endpoint, connector: Connector, user_agent: &str) -> Self {
        XmlRpcTransport {
            poster: Poster::new(connector, endpoint, "/", "text/xml", user_agent.to_owned()),
        }
    }
}

impl fmt::Debug for XmlRpcTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmlRpcTransport")
            .field("endpoint", &self.poster.endpoint().to_string())
            .finish_non_exhaustive()
    }
}

impl Transport for XmlRpcTransport {
    fn call(&self, method: &str, params: &[Value]) -> Result<Value> {
        let endpoint = self.poster.endpoint();
        tracing::debug!(method, %endpoint, "XML-RPC call");
        let response = self.poster.post(encode_call(method, params).as_bytes())?;
        let codec = |source| XenApiError::Codec {
            context: format!("the answer to {method} from {endpoint}"),
            source,
        };
        let value = decode_response(utf8(endpoint, method, &response)?)
            .map_err(codec)?
            .map_err(|fault| fault_error(endpoint, method, &fault))?;
        unwrap_envelope(
            endpoint,
            method,
            Envelope::from_value(value).map_err(codec)?,
        )
    }

    fn call_reply(&self, method: &str, params: &[Value]) -> Result<Reply> {
        let endpoint = self.poster.endpoint();
        tracing::debug!(method, %endpoint, "XML-RPC call");
        let response = self.poster.post(encode_call(method, params).as_bytes())?;
        Ok(Reply::XmlRpc(utf8_owned(endpoint, method, response)?))
    }

    fn endpoint(&self) -> &Endpoint {
        self.poster.endpoint()
    }

    fn for_host(&self, host: &str) -> Result<Box<dyn Transport>> {
        let endpoint = self.poster.endpoint().with_host(host)?;
        Ok(Box::new(XmlRpcTransport {
            poster: self.poster.with_endpoint(endpoint),
        }))
    }
}
