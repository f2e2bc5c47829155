//! Straight from XML-RPC text into a Rust type, without the intermediate [`Value`] tree.
//!
//! `VM.get_all_records` for a large pool is tens of MiB of XML; building the tree and then
//! converting it doubles the work and the allocations. Here structs and arrays are walked as
//! they are parsed, member names are borrowed from the document, members the target type
//! does not know are skipped without allocating, and each scalar goes through the same
//! lenient conversion as [`from_value`](super::from_value) (ints as strings, enums in any
//! case, …), so both paths accept exactly the same documents.

use std::borrow::Cow;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};

use super::parser::{Parser, Token};
use super::xml::read_fault;
use super::{CodecError, DATETIME_NEWTYPE, Envelope, Fault, Value, from_value};

type Result<T, E = CodecError> = std::result::Result<T, E>;

/// Parses a document whose root is one `<value>` straight into `T`.
pub fn from_xml<T: DeserializeOwned>(xml: &str) -> Result<T> {
    let mut parser = Parser::new(xml);
    let value = T::deserialize(ValueReader {
        parser: &mut parser,
    })?;
    parser.end_of_document()?;
    Ok(value)
}

/// Parses a `<methodResponse>` carrying XAPI's envelope straight into `T`: the envelope with
/// a `T` on success, or the `<fault>` a non-XAPI server may send.
pub fn decode_envelope_as<T: DeserializeOwned>(xml: &str) -> Result<Result<Envelope<T>, Fault>> {
    let mut parser = Parser::new(xml);
    parser.open("methodResponse")?;
    let result = match parser.next()? {
        Token::Open(name) if name == "params" => {
            parser.open("param")?;
            let wire = Wire::<T>::deserialize(ValueReader {
                parser: &mut parser,
            })?;
            parser.close("param")?;
            parser.close("params")?;
            Ok(wire.into_envelope()?)
        }
        Token::Open(name) if name == "fault" => Err(read_fault(&mut parser)?),
        other => return Err(parser.unexpected("<params> or <fault>", &other)),
    };
    parser.close("methodResponse")?;
    parser.end_of_document()?;
    Ok(result)
}

/// The envelope struct as it arrives.
#[derive(Deserialize)]
struct Wire<T> {
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "Value")]
    value: Option<T>,
    #[serde(rename = "ErrorDescription", default)]
    error_description: Vec<String>,
}

impl<T: DeserializeOwned> Wire<T> {
    fn into_envelope(self) -> Result<Envelope<T>> {
        Envelope::from_status(
            &self.status,
            self.value,
            || from_value(Value::String(String::new())),
            || self.error_description,
        )
    }
}

/// What a `<value>` holds, as far as it has been read.
enum Item {
    /// A scalar (or an empty container), fully read including `</value>`.
    Scalar(Value),
    /// `<value><struct>` read; the members and `</struct></value>` follow.
    Struct,
    /// `<value><array>` read; `<data>…</data></array></value>` follows.
    Array,
}

/// Deserializes one `<value>` element from the parser.
struct ValueReader<'p, 'a> {
    parser: &'p mut Parser<'a>,
}

impl ValueReader<'_, '_> {
    fn item(&mut self) -> Result<Item> {
        match self.parser.next()? {
            Token::Empty(name) if name == "value" => return Ok(Item::Scalar(Value::from(""))),
            Token::Open(name) if name == "value" => {}
            other => return Err(self.parser.unexpected("<value>", &other)),
        }
        let first = self.parser.next_raw()?;
        let (first, second) = match first {
            Token::Text(text) if text.trim().is_empty() => {
                let second = self.parser.next()?;
                (Token::Text(text), Some(second))
            }
            other => (other, None),
        };
        match second.as_ref().unwrap_or(&first) {
            Token::Open(tag) if tag == "struct" => return Ok(Item::Struct),
            Token::Open(tag) if tag == "array" => return Ok(Item::Array),
            _ => {}
        }
        if let Some(second) = second {
            self.parser.push_back(second);
        }
        self.parser.push_back(first);
        self.parser.value_content().map(Item::Scalar)
    }

    /// The rest of the item as a value tree (for targets that want one, and for errors).
    fn into_value(self, item: Item) -> Result<Value> {
        let value = match item {
            Item::Scalar(value) => return Ok(value),
            Item::Struct => self.parser.structure_members()?,
            Item::Array => self.parser.array()?,
        };
        self.parser.close("value")?;
        Ok(value)
    }

    fn value(mut self) -> Result<Value> {
        let item = self.item()?;
        self.into_value(item)
    }

    fn visit_struct<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut members = Members {
            parser: self.parser,
            name: None,
            done: false,
        };
        let value = visitor.visit_map(&mut members)?;
        while !members.done {
            members.skip_member()?;
        }
        members.parser.close("value")?;
        Ok(value)
    }

    fn visit_array<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let done = match self.parser.next()? {
            Token::Empty(name) if name == "data" => true,
            Token::Open(name) if name == "data" => false,
            other => return Err(self.parser.unexpected("<data>", &other)),
        };
        let mut elements = Elements {
            parser: self.parser,
            index: 0,
            done,
        };
        let value = visitor.visit_seq(&mut elements)?;
        while !elements.done {
            if elements.next_start()? {
                ValueReader {
                    parser: elements.parser,
                }
                .skip()?;
            }
        }
        elements.parser.close("array")?;
        elements.parser.close("value")?;
        Ok(value)
    }

    /// Skips one `<value>` subtree without building anything.
    fn skip(self) -> Result<()> {
        match self.parser.next()? {
            Token::Empty(name) if name == "value" => return Ok(()),
            Token::Open(name) if name == "value" => {}
            other => return Err(self.parser.unexpected("<value>", &other)),
        }
        let mut depth = 1usize;
        loop {
            match self.parser.next_raw()? {
                Token::Open(name) if name == "value" => depth += 1,
                Token::Close(name) if name == "value" => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Token::Eof => return Err(self.parser.unexpected("</value>", &Token::Eof)),
                _ => {}
            }
        }
    }
}

/// Methods that read a scalar: the item becomes a `Value` and the tree's deserializer,
/// with all its leniencies, does the conversion.
macro_rules! through_value {
    ($($method:ident $(($($arg:ident: $ty:ty),*))?),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value> {
            self.value()?.$method($($($arg,)*)? visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for ValueReader<'_, '_> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.item()? {
            Item::Scalar(value) => value.deserialize_any(visitor),
            Item::Struct => self.visit_struct(visitor),
            Item::Array => self.visit_array(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.item()? {
            Item::Struct => self.visit_struct(visitor),
            other => self.into_value(other)?.deserialize_map(visitor),
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

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.item()? {
            Item::Array => self.visit_array(visitor),
            other => self.into_value(other)?.deserialize_seq(visitor),
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

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == DATETIME_NEWTYPE {
            return self.value()?.deserialize_newtype_struct(name, visitor);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.skip()?;
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.value()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.value()?.deserialize_unit_struct(name, visitor)
    }

    through_value! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_f32,
        deserialize_f64, deserialize_char, deserialize_str, deserialize_string,
        deserialize_bytes, deserialize_byte_buf, deserialize_unit, deserialize_identifier,
    }
}

/// The members of a `<struct>` being read.
struct Members<'p, 'a> {
    parser: &'p mut Parser<'a>,
    /// The member whose value comes next, for error paths (borrowed from the document).
    name: Option<Cow<'a, str>>,
    done: bool,
}

impl<'a> Members<'_, 'a> {
    /// Reads up to a member's `<value>`: its name, or `None` at `</struct>`.
    fn next_name(&mut self) -> Result<Option<Cow<'a, str>>> {
        match self.parser.next()? {
            Token::Close(name) if name == "struct" => {
                self.done = true;
                Ok(None)
            }
            Token::Open(name) if name == "member" => {
                self.parser.open("name")?;
                self.parser.text_until_close("name").map(Some)
            }
            other => Err(self.parser.unexpected("<member> or </struct>", &other)),
        }
    }

    fn skip_member(&mut self) -> Result<()> {
        if self.next_name()?.is_some() {
            ValueReader {
                parser: self.parser,
            }
            .skip()?;
            self.parser.close("member")?;
        }
        Ok(())
    }
}

impl<'de> de::MapAccess<'de> for Members<'_, '_> {
    type Error = CodecError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(name) = self.next_name()? else {
            return Ok(None);
        };
        let key = seed.deserialize(StrDeserializer::<CodecError>::new(&name))?;
        self.name = Some(name);
        Ok(Some(key))
    }

    fn next_value_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        let name = self.name.take().unwrap_or_default();
        let value = seed
            .deserialize(ValueReader {
                parser: self.parser,
            })
            .map_err(|e| e.within(&name))?;
        self.parser.close("member")?;
        Ok(value)
    }
}

/// The elements of an `<array>` being read.
struct Elements<'p, 'a> {
    parser: &'p mut Parser<'a>,
    index: usize,
    done: bool,
}

impl Elements<'_, '_> {
    /// Whether another `<value>` follows (handed back to be read); `false` at `</data>`.
    fn next_start(&mut self) -> Result<bool> {
        match self.parser.next()? {
            Token::Close(name) if name == "data" => {
                self.done = true;
                Ok(false)
            }
            token @ (Token::Open(_) | Token::Empty(_)) => {
                self.parser.push_back(token);
                Ok(true)
            }
            other => Err(self.parser.unexpected("<value> or </data>", &other)),
        }
    }
}

impl<'de> de::SeqAccess<'de> for Elements<'_, '_> {
    type Error = CodecError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>> {
        if self.done || !self.next_start()? {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueReader {
            parser: self.parser,
        })
        .map(Some)
        .map_err(|e| e.within(&index.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Deserialize;

    use super::*;
    use crate::rpc::{decode_value, encode_envelope, encode_fault, encode_value};

    #[derive(Debug, PartialEq, Deserialize)]
    struct Record {
        size: u64,
        name: String,
        tags: Vec<String>,
        #[serde(default)]
        config: BTreeMap<String, String>,
    }

    const DOCUMENT: &str = "<value><struct><member><name>OpaqueRef:1</name><value><struct>\
        <member><name>unknown</name><value><struct><member><name>deep</name><value><array><data>\
        <value><struct/></value><value/></data></array></value></member></struct></value></member>\
        <member><name>size</name><value>42</value></member>\
        <member><name>name</name><value><string>a &amp; b</string></value></member>\
        <member><name>tags</name><value><array><data/></array></value></member>\
        </struct></value></member></struct></value>";

    #[test]
    fn agrees_with_the_value_tree() {
        let direct: HashMap<String, Record> = from_xml(DOCUMENT).unwrap();
        let tree: HashMap<String, Record> = from_value(decode_value(DOCUMENT).unwrap()).unwrap();
        assert_eq!(direct, tree);
        assert_eq!(direct["OpaqueRef:1"].name, "a & b");
    }

    #[test]
    fn errors_name_the_member_path() {
        let bad = DOCUMENT.replace("<value>42</value>", "<value>lots</value>");
        let err = from_xml::<HashMap<String, Record>>(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OpaqueRef:1.size: expected an integer, found `lots`"
        );
        let err = from_xml::<Vec<u8>>(
            "<value><array><data><value>1</value><value>x</value></data></array></value>",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("1: "), "{err}");
        assert!(from_xml::<String>("<value><struct></value>").is_err());
    }

    #[test]
    fn envelopes_and_faults() {
        let success = encode_envelope(&Envelope::Success(decode_value(DOCUMENT).unwrap()));
        let Ok(Envelope::Success(records)) =
            decode_envelope_as::<HashMap<String, Record>>(&success).unwrap()
        else {
            panic!("a success");
        };
        assert_eq!(records["OpaqueRef:1"].size, 42);
        let failure = encode_envelope(&Envelope::failure("SESSION_INVALID", ["OpaqueRef:s"]));
        assert_eq!(
            decode_envelope_as::<Record>(&failure).unwrap().unwrap(),
            Envelope::Failure(vec!["SESSION_INVALID".into(), "OpaqueRef:s".into()])
        );
        let void = encode_envelope(&Envelope::Success(Value::from("")));
        assert_eq!(
            decode_envelope_as::<()>(&void).unwrap().unwrap(),
            Envelope::Success(())
        );
        let fault = Fault {
            code: 7,
            message: "no".into(),
        };
        assert_eq!(
            decode_envelope_as::<()>(&encode_fault(&fault)).unwrap(),
            Err(fault)
        );
        let odd = encode_value(&Value::Int(3));
        assert_eq!(from_xml::<String>(&odd).unwrap(), "3");
    }
}
