//! XML-RPC documents as XAPI writes and parses them (`ocaml-rpc`'s non-strict mode).
//!
//! Writing follows XAPI byte for byte where it matters to importers: strings and integers are
//! bare `<value>` text (no `<string>`, no `<i8>`), booleans are `<boolean>0|1</boolean>`,
//! datetimes are `<dateTime.iso8601>`. Text escapes `& < > "`, writes `\r` as `&#13;` so it
//! survives line-end normalisation, and drops the other control characters XML 1.0 cannot
//! carry (XAPI drops them too). Unlike XAPI, struct member names are escaped as well, so a map
//! key holding `&` still yields well-formed XML.
//!
//! Parsing accepts what XAPI accepts: whitespace between tags, `<value/>` as the empty
//! string, ints as bare strings or `<int>` / `<i4>` / `<i8>`, a `<string>` tag or none,
//! comments and an XML declaration.

use std::collections::VecDeque;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{CodecError, Value};

/// A decoded `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The method name, for example `VM.get_all_records`.
    pub method: String,
    /// The positional parameters.
    pub params: Vec<Value>,
}

/// A standard XML-RPC `<fault>` (XAPI never sends one for API errors, but HTTP front ends and
/// other servers do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `faultCode`.
    pub code: i64,
    /// `faultString`.
    pub message: String,
}

/// Serialises one value as a bare `<value>` element (the form of `ova.xml`).
pub fn encode_value(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Serialises a `<methodCall>` document.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><methodCall><methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName><params>");
    for param in params {
        out.push_str("<param>");
        write_value(&mut out, param);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// Serialises a successful `<methodResponse>` carrying one value.
pub fn encode_response(value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>");
    out
}

/// Serialises a `<fault>` response.
pub fn encode_fault(fault: &Fault) -> String {
    let body = Value::Struct(vec![
        ("faultCode".to_owned(), Value::Int(fault.code)),
        ("faultString".to_owned(), Value::String(fault.message.clone())),
    ]);
    let mut out = String::from("<?xml version=\"1.0\"?><methodResponse><fault>");
    write_value(&mut out, &body);
    out.push_str("</fault></methodResponse>");
    out
}

/// Parses a document whose root element is one `<value>` (for example `ova.xml`).
pub fn decode_value(xml: &str) -> Result<Value, CodecError> {
    let mut parser = Parser::new(xml);
    let value = parser.value()?;
    parser.end_of_document()?;
    Ok(value)
}

/// Parses a `<methodCall>` document.
pub fn decode_call(xml: &str) -> Result<MethodCall, CodecError> {
    let mut parser = Parser::new(xml);
    parser.open("methodCall")?;
    parser.open("methodName")?;
    let method = parser.text_until_close("methodName")?;
    let mut params = Vec::new();
    match parser.next()? {
        Token::Open(name) if name == "params" => {
            while parser.peek_open("param")? {
                parser.open("param")?;
                params.push(parser.value()?);
                parser.close("param")?;
            }
            parser.close("params")?;
            parser.close("methodCall")?;
        }
        Token::Empty(name) if name == "params" => parser.close("methodCall")?,
        Token::Close(name) if name == "methodCall" => {}
        other => return Err(parser.unexpected("<params>", &other)),
    }
    parser.end_of_document()?;
    Ok(MethodCall {
        method: method.trim().to_owned(),
        params,
    })
}

/// Parses a `<methodResponse>`: its single value, or the `<fault>` it carries.
pub fn decode_response(xml: &str) -> Result<Result<Value, Fault>, CodecError> {
    let mut parser = Parser::new(xml);
    parser.open("methodResponse")?;
    let result = match parser.next()? {
        Token::Open(name) if name == "params" => {
            parser.open("param")?;
            let value = parser.value()?;
            parser.close("param")?;
            parser.close("params")?;
            Ok(value)
        }
        Token::Open(name) if name == "fault" => {
            let value = parser.value()?;
            parser.close("fault")?;
            let code = value.member("faultCode").and_then(Value::as_i64).unwrap_or(0);
            let message = value
                .member("faultString")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Err(Fault { code, message })
        }
        other => return Err(parser.unexpected("<params> or <fault>", &other)),
    };
    parser.close("methodResponse")?;
    parser.end_of_document()?;
    Ok(result)
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) if s.is_empty() => out.push_str("<value/>"),
        Value::String(s) => {
            out.push_str("<value>");
            escape_into(out, s);
            out.push_str("</value>");
        }
        Value::Int(i) => {
            out.push_str("<value>");
            out.push_str(&i.to_string());
            out.push_str("</value>");
        }
        Value::Bool(b) => out.push_str(if *b {
            "<value><boolean>1</boolean></value>"
        } else {
            "<value><boolean>0</boolean></value>"
        }),
        Value::Double(d) => {
            out.push_str("<value><double>");
            out.push_str(&format_double(*d));
            out.push_str("</double></value>");
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape_into(out, s);
            out.push_str("</dateTime.iso8601></value>");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array></value>");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>");
            for (name, member) in members {
                out.push_str("<member><name>");
                escape_into(out, name);
                out.push_str("</name>");
                write_value(out, member);
                out.push_str("</member>");
            }
            out.push_str("</struct></value>");
        }
    }
}

/// `%.16g`-like: the shortest text that parses back to the same double.
fn format_double(d: f64) -> String {
    if d.is_finite() { format!("{d:?}") } else { "0".to_owned() }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() && (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
}

/// A structural token: text runs (entities resolved) are merged into one `Text`.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(String),
    Close(String),
    Empty(String),
    Text(String),
    Eof,
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    /// Tokens read ahead, with their byte positions.
    pending: VecDeque<(Token, u64)>,
    position: u64,
}

impl<'a> Parser<'a> {
    fn new(xml: &'a str) -> Self {
        Parser {
            reader: Reader::from_str(xml),
            pending: VecDeque::new(),
            position: 0,
        }
    }

    /// The next token, with whitespace-only text between elements skipped.
    fn next(&mut self) -> Result<Token, CodecError> {
        loop {
            match self.next_raw()? {
                Token::Text(t) if t.trim().is_empty() => {}
                other => return Ok(other),
            }
        }
    }

    /// The next token, text kept even when it is only whitespace (for element content).
    fn next_raw(&mut self) -> Result<Token, CodecError> {
        let (token, position) = match self.pending.pop_front() {
            Some(pending) => pending,
            None => self.read_token()?,
        };
        self.position = position;
        Ok(token)
    }

    fn peek_open(&mut self, name: &str) -> Result<bool, CodecError> {
        let token = self.next()?;
        let is_open = matches!(&token, Token::Open(n) if n == name);
        self.pending.push_front((token, self.position));
        Ok(is_open)
    }

    fn read_token(&mut self) -> Result<(Token, u64), CodecError> {
        let mut text: Option<String> = None;
        loop {
            let position = self.reader.buffer_position();
            let event = self.reader.read_event().map_err(|e| CodecError::Xml {
                position: self.reader.error_position(),
                message: e.to_string(),
            })?;
            let structural = match event {
                Event::Text(t) => {
                    text.get_or_insert_with(String::new).push_str(&t.xml10_content());
                    continue;
                }
                Event::CData(c) => {
                    text.get_or_insert_with(String::new).push_str(&c.into_inner());
                    continue;
                }
                Event::GeneralRef(r) => {
                    let resolved = resolve_reference(&r).ok_or_else(|| CodecError::Xml {
                        position,
                        message: format!("unknown entity &{};", &*r),
                    })?;
                    text.get_or_insert_with(String::new).push_str(&resolved);
                    continue;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
                Event::Start(e) => Token::Open(element_name(e.name().as_ref())),
                Event::End(e) => Token::Close(element_name(e.name().as_ref())),
                Event::Empty(e) => Token::Empty(element_name(e.name().as_ref())),
                Event::Eof => Token::Eof,
            };
            if let Some(text) = text {
                // The text run ended at this element: hand it back on the next read.
                self.pending.push_back((structural, position));
                return Ok((Token::Text(text), position));
            }
            return Ok((structural, position));
        }
    }

    fn open(&mut self, name: &str) -> Result<(), CodecError> {
        match self.next()? {
            Token::Open(n) if n == name => Ok(()),
            other => Err(self.unexpected(&format!("<{name}>"), &other)),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), CodecError> {
        match self.next()? {
            Token::Close(n) if n == name => Ok(()),
            other => Err(self.unexpected(&format!("</{name}>"), &other)),
        }
    }

    /// The text content of an element whose start tag was just read.
    fn text_until_close(&mut self, name: &str) -> Result<String, CodecError> {
        match self.next_raw()? {
            Token::Close(n) if n == name => Ok(String::new()),
            Token::Text(text) => {
                self.close(name)?;
                Ok(text)
            }
            other => Err(self.unexpected(&format!("text or </{name}>"), &other)),
        }
    }

    fn end_of_document(&mut self) -> Result<(), CodecError> {
        match self.next()? {
            Token::Eof => Ok(()),
            other => Err(self.unexpected("the end of the document", &other)),
        }
    }

    fn value(&mut self) -> Result<Value, CodecError> {
        match self.next()? {
            Token::Empty(n) if n == "value" => Ok(Value::String(String::new())),
            Token::Open(n) if n == "value" => self.value_content(),
            other => Err(self.unexpected("<value>", &other)),
        }
    }

    /// Content of `<value>` after its start tag, through its end tag.
    fn value_content(&mut self) -> Result<Value, CodecError> {
        let value = match self.next_raw()? {
            Token::Close(n) if n == "value" => return Ok(Value::String(String::new())),
            Token::Text(text) => match self.next()? {
                Token::Close(n) if n == "value" => return Ok(Value::String(text)),
                Token::Open(tag) if text.trim().is_empty() => self.typed(&tag)?,
                Token::Empty(tag) if text.trim().is_empty() => empty_typed(&tag)
                    .ok_or_else(|| self.structure(format!("unsupported empty <{tag}/>")))?,
                other => return Err(self.unexpected("</value>", &other)),
            },
            Token::Open(tag) => self.typed(&tag)?,
            Token::Empty(tag) => empty_typed(&tag)
                .ok_or_else(|| self.structure(format!("unsupported empty <{tag}/>")))?,
            other => return Err(self.unexpected("a value", &other)),
        };
        self.close("value")?;
        Ok(value)
    }

    fn typed(&mut self, tag: &str) -> Result<Value, CodecError> {
        match tag {
            "string" => Ok(Value::String(self.text_until_close(tag)?)),
            "int" | "i4" | "i8" => {
                let text = self.text_until_close(tag)?;
                text.trim()
                    .parse()
                    .map(Value::Int)
                    .map_err(|_| self.structure(format!("<{tag}> holds `{text}`, not an integer")))
            }
            "boolean" => {
                let text = self.text_until_close(tag)?;
                match text.trim() {
                    "1" | "true" => Ok(Value::Bool(true)),
                    "0" | "false" => Ok(Value::Bool(false)),
                    other => Err(self.structure(format!("<boolean> holds `{other}`"))),
                }
            }
            "double" => {
                let text = self.text_until_close(tag)?;
                text.trim()
                    .parse()
                    .map(Value::Double)
                    .map_err(|_| self.structure(format!("<double> holds `{text}`")))
            }
            "dateTime.iso8601" => Ok(Value::DateTime(self.text_until_close(tag)?.trim().into())),
            "array" => self.array(),
            "struct" => self.structure_members(),
            other => Err(self.structure(format!("unsupported XML-RPC type <{other}>"))),
        }
    }

    fn array(&mut self) -> Result<Value, CodecError> {
        let mut items = Vec::new();
        match self.next()? {
            Token::Empty(n) if n == "data" => {}
            Token::Open(n) if n == "data" => loop {
                match self.next()? {
                    Token::Close(n) if n == "data" => break,
                    Token::Empty(n) if n == "value" => items.push(Value::String(String::new())),
                    Token::Open(n) if n == "value" => items.push(self.value_content()?),
                    other => return Err(self.unexpected("<value> or </data>", &other)),
                }
            },
            other => return Err(self.unexpected("<data>", &other)),
        }
        self.close("array")?;
        Ok(Value::Array(items))
    }

    fn structure_members(&mut self) -> Result<Value, CodecError> {
        let mut members = Vec::new();
        loop {
            match self.next()? {
                Token::Close(n) if n == "struct" => break,
                Token::Open(n) if n == "member" => {
                    self.open("name")?;
                    let name = self.text_until_close("name")?;
                    let value = self.value()?;
                    self.close("member")?;
                    members.push((name, value));
                }
                other => return Err(self.unexpected("<member> or </struct>", &other)),
            }
        }
        Ok(Value::Struct(members))
    }

    fn unexpected(&self, expected: &str, found: &Token) -> CodecError {
        let found = match found {
            Token::Open(n) => format!("<{n}>"),
            Token::Close(n) => format!("</{n}>"),
            Token::Empty(n) => format!("<{n}/>"),
            Token::Text(t) => format!("text `{}`", t.chars().take(40).collect::<String>()),
            Token::Eof => "the end of the document".to_owned(),
        };
        self.structure(format!("expected {expected}, found {found}"))
    }

    fn structure(&self, message: String) -> CodecError {
        CodecError::Structure {
            position: self.position,
            message,
        }
    }
}

fn empty_typed(tag: &str) -> Option<Value> {
    match tag {
        "string" => Some(Value::String(String::new())),
        "array" => Some(Value::Array(Vec::new())),
        "struct" => Some(Value::Struct(Vec::new())),
        _ => None,
    }
}

fn element_name(raw: &str) -> String {
    raw.to_owned()
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    quick_xml::escape::resolve_predefined_entity(reference).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xapi_style_encoding() {
        let value = Value::Struct(vec![
            ("name".into(), Value::from("a<b & \"c\"")),
            ("size".into(), Value::Int(1_073_741_824)),
            ("on".into(), Value::Bool(true)),
            ("empty".into(), Value::from("")),
            ("list".into(), Value::Array(vec![Value::from("x")])),
        ]);
        assert_eq!(
            encode_value(&value),
            "<value><struct><member><name>name</name><value>a&lt;b &amp; &quot;c&quot;</value>\
             </member><member><name>size</name><value>1073741824</value></member><member><name>on\
             </name><value><boolean>1</boolean></value></member><member><name>empty</name>\
             <value/></member><member><name>list</name><value><array><data><value>x</value>\
             </data></array></value></member></struct></value>"
        );
    }

    #[test]
    fn control_characters_are_dropped_and_cr_survives() {
        let encoded = encode_value(&Value::from("a\u{1}b\rc\td"));
        assert_eq!(encoded, "<value>ab&#13;c\td</value>");
        assert_eq!(decode_value(&encoded).unwrap(), Value::from("ab\rc\td"));
    }

    #[test]
    fn decodes_what_xapi_and_python_send() {
        let xml = "<?xml version='1.0'?>\n<value>\n <struct>\n  <member><name>a</name>\
                   <value><string>x &amp; y</string></value></member>\n  <member><name>b\
                   </name><value><i4>7</i4></value></member>\n  <member><name>c</name>\
                   <value/></member>\n  <member><name>d</name><value>  spaced  </value>\
                   </member><member><name>e</name><value><array><data/></array></value>\
                   </member><!-- note --><member><name>f</name><value><dateTime.iso8601>\
                   20240101T00:00:00Z</dateTime.iso8601></value></member></struct></value>";
        let value = decode_value(xml).unwrap();
        assert_eq!(value.member("a"), Some(&Value::from("x & y")));
        assert_eq!(value.member("b"), Some(&Value::Int(7)));
        assert_eq!(value.member("c"), Some(&Value::from("")));
        assert_eq!(value.member("d"), Some(&Value::from("  spaced  ")));
        assert_eq!(value.member("e"), Some(&Value::Array(vec![])));
        assert_eq!(
            value.member("f"),
            Some(&Value::DateTime("20240101T00:00:00Z".into()))
        );
    }

    #[test]
    fn call_round_trip() {
        let params = vec![Value::from("root"), Value::from("secret"), Value::Int(3)];
        let xml = encode_call("session.login_with_password", &params);
        let call = decode_call(&xml).unwrap();
        assert_eq!(call.method, "session.login_with_password");
        assert_eq!(call.params[..2], params[..2]);
        // Ints travel bare, as XAPI writes them, and come back as their decimal text.
        assert_eq!(call.params[2], Value::from("3"));
        assert_eq!(call.params[2].as_i64(), Some(3));
    }

    #[test]
    fn response_and_fault() {
        let ok = encode_response(&Value::from("OpaqueRef:1"));
        assert_eq!(decode_response(&ok).unwrap(), Ok(Value::from("OpaqueRef:1")));
        let fault = Fault {
            code: 4,
            message: "Too many parameters".into(),
        };
        let xml = encode_fault(&fault);
        assert_eq!(decode_response(&xml).unwrap(), Err(fault));
    }

    #[test]
    fn malformed_documents_name_the_problem() {
        let err = decode_value("<value><struct><member><name>a</name></member></struct></value>")
            .unwrap_err();
        assert!(err.to_string().contains("expected <value>"), "{err}");
        let err = decode_value("<value><boolean>2</boolean></value>").unwrap_err();
        assert!(err.to_string().contains("<boolean> holds `2`"), "{err}");
        let err = decode_value("<value><base64>AA==</base64></value>").unwrap_err();
        assert!(err.to_string().contains("unsupported XML-RPC type"), "{err}");
        assert!(decode_value("<value>unterminated").is_err());
        assert!(decode_value("<value>a</value><value>b</value>").is_err());
    }
}
