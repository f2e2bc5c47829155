//! Small value types shared by every record: references and datetimes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rpc::{DATETIME_NEWTYPE, Value};

/// An object reference: opaque text issued by the server (`OpaqueRef:…`), or an id inside an
/// XVA's `ova.xml` (`Ref:12`). `OpaqueRef:NULL` (and the empty string) is the null reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ref(String);

impl Ref {
    /// The text XAPI uses for "no object".
    pub const NULL_TEXT: &'static str = "OpaqueRef:NULL";

    /// A reference from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Ref(text.into())
    }

    /// The null reference, `OpaqueRef:NULL`.
    pub fn null() -> Self {
        Ref(Self::NULL_TEXT.to_owned())
    }

    /// Whether this is the null reference (`OpaqueRef:NULL` or empty).
    pub fn is_null(&self) -> bool {
        self.0.is_empty() || self.0 == Self::NULL_TEXT
    }

    /// The reference's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Ref {
    fn default() -> Self {
        Ref::null()
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Ref {
    fn from(text: &str) -> Self {
        Ref::new(text)
    }
}

impl From<&Ref> for Value {
    fn from(reference: &Ref) -> Self {
        Value::String(reference.0.clone())
    }
}

impl From<Ref> for Value {
    fn from(reference: Ref) -> Self {
        Value::String(reference.0)
    }
}

/// A XAPI datetime as written on the wire (`20240101T00:00:00Z`). XML-RPC encodes it as
/// `<dateTime.iso8601>`; JSON-RPC as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub String);

impl DateTime {
    /// XAPI's default for "never": `19700101T00:00:00Z`.
    pub fn epoch() -> Self {
        DateTime("19700101T00:00:00Z".to_owned())
    }
}

impl Default for DateTime {
    fn default() -> Self {
        DateTime::epoch()
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(DATETIME_NEWTYPE, &self.0)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a datetime")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DateTime, E> {
                Ok(DateTime(v.to_owned()))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<DateTime, D::Error> {
                String::deserialize(deserializer).map(DateTime)
            }
        }
        deserializer.deserialize_newtype_struct(DATETIME_NEWTYPE, Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{Value, from_value, to_value};

    #[test]
    fn datetime_is_an_xmlrpc_datetime() {
        let value = to_value(&DateTime::epoch()).unwrap();
        assert_eq!(value, Value::DateTime("19700101T00:00:00Z".into()));
        let back: DateTime = from_value(Value::from("20240101T10:00:00Z")).unwrap();
        assert_eq!(back.0, "20240101T10:00:00Z");
    }

    #[test]
    fn null_refs() {
        assert!(Ref::default().is_null());
        assert!(Ref::new("").is_null());
        assert!(!Ref::new("Ref:1").is_null());
    }
}
