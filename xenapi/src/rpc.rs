//! The XML-RPC codec: the value tree, XAPI's XML encoding of it, XAPI's result envelope, and
//! a serde bridge between Rust types and values. With the `json` feature, `json` maps the
//! same tree onto JSON-RPC. Pure functions, no I/O.

mod de;
mod envelope;
#[cfg(feature = "json")]
pub mod json;
mod parser;
mod ser;
mod stream;
mod value;
mod xml;

use std::fmt;

pub use de::from_value;
pub use envelope::{Envelope, encode_envelope};
pub use ser::{DATETIME_NEWTYPE, to_value};
pub use stream::{decode_envelope_as, from_xml};
pub use value::Value;
pub use xml::{
    Fault, MethodCall, decode_call, decode_response, decode_value, encode_call, encode_fault,
    encode_response, encode_value,
};

/// An XML-RPC document or value that could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The text is not well-formed XML.
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the document.
        position: u64,
        /// What the XML parser reported.
        message: String,
    },
    /// Well-formed XML that is not the XML-RPC structure expected.
    #[error("not XML-RPC at byte {position}: {message}")]
    Structure {
        /// Byte offset in the document.
        position: u64,
        /// What was expected and found.
        message: String,
    },
    /// A JSON-RPC document that is not valid JSON or not JSON-RPC.
    #[error("malformed JSON-RPC document: {message}")]
    Json {
        /// What was expected and found.
        message: String,
    },
    /// A value that does not fit the Rust type it is converted to (or from).
    #[error("{}", DataPath(path, message))]
    Data {
        /// Struct member names from the outside in (`["VM", "memory_static_max"]`).
        path: Vec<String>,
        /// What went wrong.
        message: String,
    },
}

impl CodecError {
    fn data(message: impl fmt::Display) -> Self {
        CodecError::Data {
            path: Vec::new(),
            message: message.to_string(),
        }
    }

    /// Records that this error happened inside the member `name`.
    fn within(mut self, name: &str) -> Self {
        if let CodecError::Data { path, .. } = &mut self {
            path.insert(0, name.to_owned());
        }
        self
    }
}

struct DataPath<'a>(&'a [String], &'a str);

impl fmt::Display for DataPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(self.1)
        } else {
            write!(f, "{}: {}", self.0.join("."), self.1)
        }
    }
}

impl serde::ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::data(msg)
    }
}

impl serde::de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::data(msg)
    }
}
