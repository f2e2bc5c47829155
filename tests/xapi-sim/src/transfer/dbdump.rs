//! `GET /pool/xmldbdump`: the pool's database as XML, in the shape of XAPI's dump (a
//! manifest, then one `<table>` per class with one `<row>` per object; sets and maps written
//! as XAPI's S-expressions).

use std::fmt::Write as _;

use xenapi::rpc::Value;

use super::wire::send_whole;
use super::{Outcome, Transfer};
use crate::error::XapiResult;
use crate::http::Connection;
use crate::pool::{Class, Pool};

/// `GET /pool/xmldbdump`.
pub(crate) fn xmldbdump(transfer: &Transfer<'_>, connection: &mut Connection) -> Outcome {
    let dump = dump(&transfer.ctx.shared.lock());
    let dump = match dump {
        Ok(dump) => dump,
        Err(error) => return Outcome::refused(error),
    };
    Outcome::sent(send_whole(
        transfer,
        connection,
        "text/xml",
        dump.as_bytes(),
    ))
}

fn dump(pool: &Pool) -> XapiResult<String> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database>\n<manifest>\
         <pair key=\"schema_major_vsn\" value=\"5\"/><pair key=\"schema_minor_vsn\" value=\"786\"/>\
         <pair key=\"generation_count\" value=\"1\"/></manifest>\n",
    );
    for class in [
        Class::Pool,
        Class::Host,
        Class::Sr,
        Class::Network,
        Class::Vm,
        Class::Vbd,
        Class::Vdi,
        Class::Vif,
    ] {
        let _ = writeln!(xml, "<table name=\"{}\">", class.name());
        for (reference, record) in pool.record_values(class)? {
            let _ = write!(xml, "<row ref=\"{}\"", escape(reference.as_str()));
            if let Value::Struct(members) = record {
                for (name, value) in members {
                    let _ = write!(
                        xml,
                        " {}=\"{}\"",
                        name.replace(['.', ' '], "_"),
                        escape(&flatten(&value))
                    );
                }
            }
            xml.push_str("/>\n");
        }
        xml.push_str("</table>\n");
    }
    xml.push_str("</database>\n");
    Ok(xml)
}

/// A field as XAPI's database writes it: scalars as text, sets as `('a' 'b')`, maps as
/// `(('k' 'v'))`.
fn flatten(value: &Value) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Array(items) => format!(
            "({})",
            items
                .iter()
                .map(|v| quote(&flatten(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Struct(members) => format!(
            "({})",
            members
                .iter()
                .map(|(k, v)| format!("({} {})", quote(k), quote(&flatten(v))))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
}
