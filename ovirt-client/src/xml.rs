//! Reading and writing the engine's XML bodies (quick-xml's serde support).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{OvirtError, Result};

/// Parses a response body; `what` names the request for the error message.
pub fn parse<T: DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    quick_xml::de::from_str(body).map_err(|source| OvirtError::Xml {
        what: what.to_owned(),
        source,
    })
}

/// Writes a request body.
pub fn write<T: Serialize>(value: &T, what: &str) -> Result<String> {
    quick_xml::se::to_string(value).map_err(|source| OvirtError::XmlWrite {
        what: what.to_owned(),
        source,
    })
}
