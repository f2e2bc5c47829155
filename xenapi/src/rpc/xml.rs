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

use super::parser::{Parser, Token};
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
        (
            "faultString".to_owned(),
            Value::String(fault.message.clone()),
        ),
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
        Token::Open(name) if name == "fault" => Err(read_fault(&mut parser)?),
        other => return Err(parser.unexpected("<params> or <fault>", &other)),
    };
    parser.close("methodResponse")?;
    parser.end_of_document()?;
    Ok(result)
}

/// The rest of a `<fault>` whose opening tag was read, through `</fault>`. A missing
/// `faultCode` reads as 0, a missing `faultString` as empty.
pub(super) fn read_fault(parser: &mut Parser<'_>) -> Result<Fault, CodecError> {
    let value = parser.value()?;
    parser.close("fault")?;
    Ok(Fault {
        code: value
            .member("faultCode")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        message: value
            .member("faultString")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
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
    if d.is_finite() {
        format!("{d:?}")
    } else {
        "0".to_owned()
    }
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
        assert_eq!(
            decode_response(&ok).unwrap(),
            Ok(Value::from("OpaqueRef:1"))
        );
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
        assert!(
            err.to_string().contains("unsupported XML-RPC type"),
            "{err}"
        );
        assert!(decode_value("<value>unterminated").is_err());
        assert!(decode_value("<value>a</value><value>b</value>").is_err());
    }
}
