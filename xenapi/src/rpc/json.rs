//! JSON-RPC (`POST /jsonrpc`) as XAPI speaks it: the same [`Value`] tree mapped onto JSON,
//! and the v1 / v2 request and response documents.
//!
//! Mapping: strings, refs and enums are JSON strings, ints are JSON integers (XAPI writes
//! `Intlit`), doubles are JSON numbers, datetimes are strings (`20240101T00:00:00Z`), arrays
//! and structs map naturally. `null` (XAPI's `void`) reads as the empty string, as in
//! XML-RPC. Errors: v1 answers `{"result": null, "error": ["CODE", "p1", …]}`, v2 answers
//! `{"error": {"code": 1, "message": "CODE", "data": ["p1", …]}}`.

use serde_json::{Map, Number, json};

use super::{CodecError, Envelope, MethodCall, Value};

/// Which JSON-RPC version a request used (a reply answers in the same version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonRpcVersion {
    /// JSON-RPC 1.0: no `jsonrpc` member; `result` and `error` are both present.
    V1,
    /// JSON-RPC 2.0: `"jsonrpc": "2.0"`; `result` or an error object.
    V2,
}

/// A decoded JSON-RPC request.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonCall {
    /// The method and its positional parameters.
    pub call: MethodCall,
    /// The request's `id`, echoed in the reply.
    pub id: serde_json::Value,
    /// The protocol version the request used.
    pub version: JsonRpcVersion,
}

/// A [`Value`] as JSON.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::String(s) | Value::DateTime(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::Value::Number((*i).into()),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Double(d) => Number::from_f64(*d).map_or(json!(0), serde_json::Value::Number),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Struct(members) => serde_json::Value::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), to_json(member)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// JSON as a [`Value`]. Integers that fit 64 bits stay ints; other numbers become doubles.
pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::String(String::new()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        serde_json::Value::Object(members) => Value::Struct(
            members
                .iter()
                .map(|(name, member)| (name.clone(), from_json(member)))
                .collect(),
        ),
    }
}

/// Serialises a JSON-RPC 2.0 request.
pub fn encode_json_call(method: &str, params: &[Value], id: u64) -> String {
    let params: Vec<_> = params.iter().map(to_json).collect();
    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}).to_string()
}

/// Parses a JSON-RPC 1.0 or 2.0 request. A missing or null `id` (a notification) is refused,
/// as XAPI does.
pub fn decode_json_call(text: &str) -> Result<JsonCall, CodecError> {
    let document = parse(text)?;
    let version = match document.get("jsonrpc") {
        None => JsonRpcVersion::V1,
        Some(v) if v == "2.0" => JsonRpcVersion::V2,
        Some(other) => return Err(json_error(format!("unsupported jsonrpc version {other}"))),
    };
    let method = document
        .get("method")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| json_error("the request has no method name"))?
        .to_owned();
    let params = match document.get("params") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items.iter().map(from_json).collect(),
        Some(_) => return Err(json_error("params must be an array")),
    };
    let id = match document.get("id") {
        None | Some(serde_json::Value::Null) => {
            return Err(json_error(
                "notifications (requests without an id) are not accepted",
            ));
        }
        Some(id) => id.clone(),
    };
    Ok(JsonCall {
        call: MethodCall { method, params },
        id,
        version,
    })
}

/// Serialises the reply to `call`, in the call's protocol version.
pub fn encode_json_reply(call: &JsonCall, envelope: &Envelope) -> String {
    let document = match (call.version, envelope) {
        (JsonRpcVersion::V1, Envelope::Success(value)) => {
            json!({"result": to_json(value), "error": null, "id": call.id})
        }
        (JsonRpcVersion::V1, Envelope::Failure(description)) => {
            json!({"result": null, "error": description, "id": call.id})
        }
        (JsonRpcVersion::V2, Envelope::Success(value)) => {
            json!({"jsonrpc": "2.0", "result": to_json(value), "id": call.id})
        }
        (JsonRpcVersion::V2, Envelope::Failure(description)) => {
            let (code, params) = description
                .split_first()
                .map_or(("", &[][..]), |(c, p)| (c, p));
            json!({"jsonrpc": "2.0", "error": {"code": 1, "message": code, "data": params},
                   "id": call.id})
        }
    };
    document.to_string()
}

/// Parses a JSON-RPC 1.0 or 2.0 reply into XAPI's envelope.
pub fn decode_json_reply(text: &str) -> Result<Envelope, CodecError> {
    let document = parse(text)?;
    match document.get("error") {
        None | Some(serde_json::Value::Null) => match document.get("result") {
            Some(result) => Ok(Envelope::Success(from_json(result))),
            None => Err(json_error("the reply has neither result nor error")),
        },
        // v1: the error description itself.
        Some(serde_json::Value::Array(items)) => {
            Ok(Envelope::Failure(items.iter().map(text_of).collect()))
        }
        // v2: {code, message, data}; XAPI puts its error code in `message`.
        Some(serde_json::Value::Object(error)) => {
            let mut description = vec![error.get("message").map(text_of).unwrap_or_default()];
            match error.get("data") {
                Some(serde_json::Value::Array(items)) => {
                    description.extend(items.iter().map(text_of));
                }
                None | Some(serde_json::Value::Null) => {}
                Some(other) => description.push(text_of(other)),
            }
            Ok(Envelope::Failure(description))
        }
        Some(other) => Ok(Envelope::Failure(vec![text_of(other)])),
    }
}

fn parse(text: &str) -> Result<Map<String, serde_json::Value>, CodecError> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(document)) => Ok(document),
        Ok(other) => Err(json_error(format!("expected a JSON object, found {other}"))),
        Err(e) => Err(json_error(e.to_string())),
    }
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json_error(message: impl Into<String>) -> CodecError {
    CodecError::Json {
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_stay_integers_and_datetimes_are_strings() {
        let value = Value::Struct(vec![
            ("size".into(), Value::Int(10_737_418_240)),
            ("when".into(), Value::DateTime("20240101T00:00:00Z".into())),
            ("on".into(), Value::Bool(true)),
        ]);
        assert_eq!(
            to_json(&value).to_string(),
            r#"{"on":true,"size":10737418240,"when":"20240101T00:00:00Z"}"#
        );
    }

    #[test]
    fn replies_in_both_versions() {
        let ok = r#"{"result":"OpaqueRef:1","error":null,"id":1}"#;
        assert_eq!(
            decode_json_reply(ok).unwrap(),
            Envelope::Success(Value::from("OpaqueRef:1"))
        );
        let v1 = r#"{"result":null,"error":["SESSION_INVALID","OpaqueRef:s"],"id":1}"#;
        let v2 = r#"{"jsonrpc":"2.0","error":{"code":1,"message":"SESSION_INVALID","data":["OpaqueRef:s"]},"id":1}"#;
        let expected = Envelope::failure("SESSION_INVALID", ["OpaqueRef:s"]);
        assert_eq!(decode_json_reply(v1).unwrap(), expected);
        assert_eq!(decode_json_reply(v2).unwrap(), expected);
        assert!(decode_json_reply("[1]").is_err());
        assert!(
            decode_json_reply("{")
                .unwrap_err()
                .to_string()
                .contains("JSON")
        );
    }

    #[test]
    fn calls_round_trip_and_replies_follow_the_version() {
        let text = encode_json_call("VM.get_all", &[Value::from("OpaqueRef:s")], 7);
        let call = decode_json_call(&text).unwrap();
        assert_eq!(call.call.method, "VM.get_all");
        assert_eq!(call.version, JsonRpcVersion::V2);
        let reply = encode_json_reply(&call, &Envelope::failure("X", ["p"]));
        assert_eq!(
            reply,
            r#"{"error":{"code":1,"data":["p"],"message":"X"},"id":7,"jsonrpc":"2.0"}"#
        );
        let v1 = decode_json_call(r#"{"method":"m","params":[1],"id":"a"}"#).unwrap();
        assert_eq!(v1.version, JsonRpcVersion::V1);
        let reply = encode_json_reply(&v1, &Envelope::Success(Value::Int(2)));
        assert_eq!(reply, r#"{"error":null,"id":"a","result":2}"#);
        assert!(decode_json_call(r#"{"method":"m","params":[]}"#).is_err());
    }
}
