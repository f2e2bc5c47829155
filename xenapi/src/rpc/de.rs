//! `from_value`: a [`Value`] into any `Deserialize` type, with XAPI's leniencies.
//!
//! - integers may arrive as decimal strings (XAPI's 64-bit ints always do);
//! - enum values match variant names case-insensitively (rpclib's `lowerfn`);
//! - booleans also accept the texts `true` / `false` / `1` / `0`;
//! - unknown struct members are ignored by derived types, so newer hosts' records parse.

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::{CodecError, DATETIME_NEWTYPE, Value};

/// Converts an XML-RPC value into `T`. Errors name the member path where the value did not
/// fit (`VBDs.2: expected a string, found struct`).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    T::deserialize(value)
}

type Result<T> = std::result::Result<T, CodecError>;

fn mismatch(expected: &str, found: &Value) -> CodecError {
    let shown = match found {
        Value::String(s) | Value::DateTime(s) => {
            format!("`{}`", s.chars().take(40).collect::<String>())
        }
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        other => other.kind().to_owned(),
    };
    CodecError::data(format!("expected {expected}, found {shown}"))
}

impl Value {
    fn to_i64(&self) -> Result<i64> {
        match self {
            Value::Int(i) => Ok(*i),
            Value::String(s) => s.trim().parse().map_err(|_| mismatch("an integer", self)),
            other => Err(mismatch("an integer", other)),
        }
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $visit:ident as $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let wide = self.to_i64()?;
            let narrow = <$ty>::try_from(wide)
                .map_err(|_| mismatch(concat!("a value that fits ", stringify!($ty)), &self))?;
            visitor.$visit(narrow)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::String(s) | Value::DateTime(s) => visitor.visit_string(s),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Double(d) => visitor.visit_f64(d),
            Value::Array(items) => visitor.visit_seq(SeqReader::new(items)),
            Value::Struct(members) => visitor.visit_map(StructReader::new(members)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match &self {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) if s == "true" || s == "1" => visitor.visit_bool(true),
            Value::String(s) if s == "false" || s == "0" => visitor.visit_bool(false),
            other => Err(mismatch("a boolean", other)),
        }
    }

    deserialize_int! {
        deserialize_i8 => visit_i8 as i8,
        deserialize_i16 => visit_i16 as i16,
        deserialize_i32 => visit_i32 as i32,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u8 as u8,
        deserialize_u16 => visit_u16 as u16,
        deserialize_u32 => visit_u32 as u32,
        deserialize_u64 => visit_u64 as u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match &self {
            Value::Double(d) => visitor.visit_f64(*d),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::String(s) => match s.trim().parse() {
                Ok(d) => visitor.visit_f64(d),
                Err(_) => Err(mismatch("a number", &self)),
            },
            other => Err(mismatch("a number", other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::String(s) | Value::DateTime(s) => visitor.visit_string(s),
            Value::Int(i) => visitor.visit_string(i.to_string()),
            other => Err(mismatch("a string", &other)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == DATETIME_NEWTYPE {
            return match self {
                Value::String(s) | Value::DateTime(s) => {
                    visitor.visit_newtype_struct(Value::String(s))
                }
                other => Err(mismatch("a dateTime", &other)),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Array(items) => visitor.visit_seq(SeqReader::new(items)),
            other => Err(mismatch("an array", &other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Struct(members) => visitor.visit_map(StructReader::new(members)),
            other => Err(mismatch("a struct", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let Value::String(text) = self else {
            return Err(mismatch("an enum value", &self));
        };
        // XAPI matches enum values case-insensitively; hand serde the canonical spelling.
        let canonical = variants
            .iter()
            .find(|v| v.eq_ignore_ascii_case(&text))
            .map_or(text, |v| (*v).to_owned());
        visitor.visit_enum(canonical.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

impl IntoDeserializer<'_, CodecError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

struct SeqReader {
    items: std::vec::IntoIter<Value>,
    index: usize,
}

impl SeqReader {
    fn new(items: Vec<Value>) -> Self {
        SeqReader {
            items: items.into_iter(),
            index: 0,
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqReader {
    type Error = CodecError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(item)
            .map(Some)
            .map_err(|e| e.within(&index.to_string()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct StructReader {
    members: std::vec::IntoIter<(String, Value)>,
    current: Option<(String, Value)>,
}

impl StructReader {
    fn new(members: Vec<(String, Value)>) -> Self {
        StructReader {
            members: members.into_iter(),
            current: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for StructReader {
    type Error = CodecError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        // A borrowed key: field names are matched without allocating.
        let key = seed.deserialize(StrDeserializer::<CodecError>::new(&name))?;
        self.current = Some((name, value));
        Ok(Some(key))
    }

    fn next_value_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        let (name, value) = self
            .current
            .take()
            .ok_or_else(|| CodecError::data("a struct value was read before its name"))?;
        seed.deserialize(value).map_err(|e| e.within(&name))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::super::{decode_value, encode_value, to_value};
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Power {
        Halted,
        Running,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record {
        size: u64,
        name: String,
        on: bool,
        power: Power,
        tags: Vec<String>,
        config: BTreeMap<String, String>,
        #[serde(default)]
        missing: i64,
    }

    fn sample() -> Record {
        Record {
            size: 10_737_418_240,
            name: "vm & co".into(),
            on: true,
            power: Power::Running,
            tags: vec!["a".into(), "b".into()],
            config: BTreeMap::from([("k&y".into(), "v".into())]),
            missing: 0,
        }
    }

    #[test]
    fn round_trip_through_xml() {
        let xml = encode_value(&to_value(&sample()).unwrap());
        let back: Record = from_value(decode_value(&xml).unwrap()).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn xapi_leniencies() {
        let xml = "<value><struct><member><name>size</name><value>42</value></member>\
                   <member><name>name</name><value>x</value></member>\
                   <member><name>on</name><value><boolean>0</boolean></value></member>\
                   <member><name>power</name><value>halted</value></member>\
                   <member><name>tags</name><value><array><data/></array></value></member>\
                   <member><name>config</name><value><struct/></value></member>\
                   <member><name>newer_field</name><value>ignored</value></member>\
                   </struct></value>";
        let record: Record = from_value(decode_value(xml).unwrap()).unwrap();
        assert_eq!(record.size, 42);
        assert_eq!(record.power, Power::Halted);
        assert!(!record.on);
    }

    #[test]
    fn errors_name_the_member() {
        let mut value = to_value(&sample()).unwrap();
        if let Value::Struct(members) = &mut value {
            members[0].1 = Value::from("lots");
        }
        let err = from_value::<Record>(value).unwrap_err();
        assert_eq!(err.to_string(), "size: expected an integer, found `lots`");
    }
}
