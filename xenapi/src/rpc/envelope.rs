//! XAPI's result envelope: every XML-RPC response carries one struct,
//! `{Status: "Success", Value: …}` or `{Status: "Failure", ErrorDescription: [code, params…]}`.
//! XAPI never answers an API error with a `<fault>`.

use super::{CodecError, Value, encode_response};

/// The outcome of one XAPI call, as the envelope carries it: with the value tree, or (from
/// [`decode_envelope_as`](super::decode_envelope_as)) with the value already typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope<T = Value> {
    /// `Status: Success`, with the call's value (the empty string for `void`).
    Success(T),
    /// `Status: Failure`: XAPI's error code first, then its parameters.
    Failure(Vec<String>),
}

impl<T> Envelope<T> {
    /// The envelope its `Status` names: `Success` with the call's value (`void`, which XAPI
    /// sends as no `Value` at all, when there is none), or `Failure` with the error
    /// description.
    pub(super) fn from_status(
        status: &str,
        value: Option<T>,
        void: impl FnOnce() -> Result<T, CodecError>,
        description: impl FnOnce() -> Vec<String>,
    ) -> Result<Self, CodecError> {
        match status {
            "Success" => value.map_or_else(void, Ok).map(Envelope::Success),
            "Failure" => Ok(Envelope::Failure(description())),
            other => Err(CodecError::data(format!("unknown XAPI Status `{other}`"))),
        }
    }
}

impl Envelope<Value> {
    /// A failure from an error code and its parameters.
    pub fn failure<I, S>(code: &str, params: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut description = vec![code.to_owned()];
        description.extend(params.into_iter().map(Into::into));
        Envelope::Failure(description)
    }

    /// The envelope as the struct XAPI sends.
    pub fn to_value(&self) -> Value {
        match self {
            Envelope::Success(value) => Value::Struct(vec![
                ("Status".to_owned(), Value::from("Success")),
                ("Value".to_owned(), value.clone()),
            ]),
            Envelope::Failure(description) => Value::Struct(vec![
                ("Status".to_owned(), Value::from("Failure")),
                (
                    "ErrorDescription".to_owned(),
                    Value::Array(
                        description
                            .iter()
                            .map(|s| Value::from(s.as_str()))
                            .collect(),
                    ),
                ),
            ]),
        }
    }

    /// Reads the envelope out of a response value. Error parameters that are not strings
    /// (some servers send ints) are rendered as text.
    pub fn from_value(value: Value) -> Result<Self, CodecError> {
        let Value::Struct(members) = value else {
            return Err(CodecError::data(format!(
                "expected XAPI's Status struct, found {}",
                value.kind()
            )));
        };
        let mut status = None;
        let mut result = None;
        let mut description = None;
        for (name, member) in members {
            match name.as_str() {
                "Status" => status = Some(member),
                "Value" => result = Some(member),
                "ErrorDescription" => description = Some(member),
                _ => {}
            }
        }
        let status = status
            .as_ref()
            .and_then(Value::as_str)
            .ok_or_else(|| CodecError::data("the response struct has no Status member"))?;
        Envelope::from_status(
            status,
            result,
            || Ok(Value::String(String::new())),
            || {
                let items = match description {
                    Some(Value::Array(items)) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                };
                items.iter().map(render).collect()
            },
        )
    }
}

/// Serialises an envelope as a complete `<methodResponse>` document.
pub fn encode_envelope(envelope: &Envelope) -> String {
    encode_response(&envelope.to_value())
}

fn render(value: &Value) -> String {
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        other => other.kind().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::decode_response;

    #[test]
    fn success_and_failure_round_trip() {
        for envelope in [
            Envelope::Success(Value::from("OpaqueRef:1")),
            Envelope::failure("HANDLE_INVALID", ["VM", "OpaqueRef:x"]),
        ] {
            let xml = encode_envelope(&envelope);
            let value = decode_response(&xml).unwrap().unwrap();
            assert_eq!(Envelope::from_value(value).unwrap(), envelope);
        }
    }

    #[test]
    fn lenient_failure_and_void() {
        let value = Value::Struct(vec![
            ("Status".into(), Value::from("Failure")),
            (
                "ErrorDescription".into(),
                Value::Array(vec![Value::from("X"), Value::Int(3)]),
            ),
        ]);
        assert_eq!(
            Envelope::from_value(value).unwrap(),
            Envelope::Failure(vec!["X".into(), "3".into()])
        );
        let void = Value::Struct(vec![("Status".into(), Value::from("Success"))]);
        assert_eq!(
            Envelope::from_value(void).unwrap(),
            Envelope::Success(Value::from(""))
        );
        let err = Envelope::from_value(Value::from("x")).unwrap_err();
        assert!(err.to_string().contains("Status struct"), "{err}");
    }
}
