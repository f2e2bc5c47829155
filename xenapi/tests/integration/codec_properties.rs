//! Property tests: any value survives XML (and JSON) and comes back as XAPI would read it.

use proptest::prelude::*;
use xenapi::rpc::{
    Value, decode_call, decode_value, encode_call, encode_value, from_value, from_xml,
};

/// Text XML 1.0 can carry (no control characters but tab, newline and CR), with markup
/// characters and non-ASCII mixed in.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&\"'\t\n\r:é€_.-]{0,12}"
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<bool>().prop_map(Value::Bool),
        // Exactly representable in short decimal form (JSON parsers round the others).
        (-1_000_000i32..1_000_000).prop_map(|i| Value::Double(f64::from(i) / 4.0)),
        "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z".prop_map(Value::DateTime),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            // Unique keys in key order, as a JSON object holds them.
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|members| Value::Struct(members.into_iter().collect())),
        ]
    })
}

/// What XML-RPC brings back: XAPI's bare ints read as their decimal text.
fn as_read_from_xml(value: &Value) -> Value {
    match value {
        Value::Int(i) => Value::String(i.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(as_read_from_xml).collect()),
        Value::Struct(members) => Value::Struct(
            members
                .iter()
                .map(|(k, v)| (k.clone(), as_read_from_xml(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn value_to_xml_and_back(value in value()) {
        let xml = encode_value(&value);
        prop_assert_eq!(decode_value(&xml).unwrap(), as_read_from_xml(&value));
    }

    #[test]
    fn straight_decoding_agrees_with_the_value_tree(value in value()) {
        let xml = encode_value(&value);
        let direct: serde_json::Value = from_xml(&xml).unwrap();
        let tree: serde_json::Value = from_value(decode_value(&xml).unwrap()).unwrap();
        prop_assert_eq!(direct, tree);
    }

    #[test]
    fn calls_to_xml_and_back(method in "[A-Za-z_.]{1,20}", params in prop::collection::vec(value(), 0..4)) {
        let call = decode_call(&encode_call(&method, &params)).unwrap();
        prop_assert_eq!(call.method, method);
        prop_assert_eq!(call.params, params.iter().map(as_read_from_xml).collect::<Vec<_>>());
    }
}

#[cfg(feature = "json")]
mod json {
    use proptest::prelude::*;
    use xenapi::rpc::Value;
    use xenapi::rpc::json::{from_json, to_json};

    /// What JSON brings back: datetimes are plain strings.
    fn as_read_from_json(value: &Value) -> Value {
        match value {
            Value::DateTime(s) => Value::String(s.clone()),
            Value::Array(items) => Value::Array(items.iter().map(as_read_from_json).collect()),
            Value::Struct(members) => Value::Struct(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), as_read_from_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn value_to_json_text_and_back(value in super::value()) {
            let text = to_json(&value).to_string();
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(from_json(&parsed), as_read_from_json(&value));
        }
    }
}
