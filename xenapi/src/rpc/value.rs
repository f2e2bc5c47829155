//! The XML-RPC value tree, as XAPI writes and reads it.

/// One XML-RPC value.
///
/// XAPI writes 64-bit integers as bare strings, so a decoded `<value>42</value>` is a
/// [`Value::String`]; typed accessors and the serde bridge accept either form.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, a reference, a UUID or an enum value (XAPI writes them without `<string>`).
    String(String),
    /// A 64-bit integer. Encoded bare, as XAPI does (`<value>1073741824</value>`).
    Int(i64),
    /// A `<boolean>`.
    Bool(bool),
    /// A `<double>`.
    Double(f64),
    /// A `<dateTime.iso8601>`, kept as written (XAPI: `YYYYMMDDTHH:MM:SSZ`).
    DateTime(String),
    /// An `<array>`.
    Array(Vec<Value>),
    /// A `<struct>`, members in document order (XAPI's version struct has a fixed order).
    Struct(Vec<(String, Value)>),
}

impl Value {
    /// The value of a struct member, if this is a struct that has it.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string (or the rendering of an int, as XAPI would have sent it).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, from either an `Int` or a decimal string.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of this value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
