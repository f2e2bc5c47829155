//! Decoding call parameters, with XAPI-style errors when one does not fit.

use serde::de::DeserializeOwned;
use xenapi::Ref;
use xenapi::rpc::{Value, from_value};

use crate::error::{XapiError, XapiResult};

fn type_error(name: &str, expected: &str, found: &Value) -> XapiError {
    XapiError::new(
        "FIELD_TYPE_ERROR",
        [format!(
            "{name}: expected {expected}, found {}",
            found.kind()
        )],
    )
}

/// A string parameter (an int is taken as its decimal text).
pub(crate) fn text(value: &Value, name: &str) -> XapiResult<String> {
    match value {
        Value::String(s) | Value::DateTime(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        other => Err(type_error(name, "a string", other)),
    }
}

/// A reference parameter.
pub(crate) fn reference(value: &Value, name: &str) -> XapiResult<Ref> {
    text(value, name).map(Ref::new)
}

/// A set of references.
pub(crate) fn references(value: &Value, name: &str) -> XapiResult<Vec<Ref>> {
    match value {
        Value::Array(items) => items.iter().map(|item| reference(item, name)).collect(),
        other => Err(type_error(name, "an array", other)),
    }
}

/// A boolean parameter.
pub(crate) fn boolean(value: &Value, name: &str) -> XapiResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "1" => Ok(true),
        Value::String(s) if s == "false" || s == "0" => Ok(false),
        other => Err(type_error(name, "a boolean", other)),
    }
}

/// A record parameter (`VDI.create`'s struct), missing fields taking XAPI's defaults.
pub(crate) fn record<T: DeserializeOwned>(value: &Value, name: &str) -> XapiResult<T> {
    if !matches!(value, Value::Struct(_)) {
        return Err(type_error(name, "a struct", value));
    }
    from_value(value.clone())
        .map_err(|e| XapiError::new("FIELD_TYPE_ERROR", [format!("{name}: {e}")]))
}
