//! The generic getters every class has: `get_all`, `get_all_records`, `get_record`,
//! `get_all_records_where` (see `filter`), `get_by_uuid`, `get_by_name_label` and
//! `get_<field>` for any field of the record.

use xenapi::rpc::Value;

use super::params::{reference, text};
use crate::error::{XapiError, XapiResult};
use crate::pool::{Class, Pool};

/// Runs getter `operation` of `class`.
pub(crate) fn get(
    pool: &Pool,
    class: Class,
    operation: &str,
    params: &[Value],
    method: &str,
) -> XapiResult<Value> {
    match operation {
        "get_all" => Ok(Value::Array(
            pool.refs(class).into_iter().map(Value::from).collect(),
        )),
        "get_all_records" => Ok(Value::Struct(
            pool.record_values(class)?
                .into_iter()
                .map(|(r, v)| (r.as_str().to_owned(), v))
                .collect(),
        )),
        "get_all_records_where" => {
            let expression = super::filter::parse(&text(&params[1], "expr")?)?;
            let mut matching = Vec::new();
            for (r, record) in pool.record_values(class)? {
                if expression.matches(&record)? {
                    matching.push((r.as_str().to_owned(), record));
                }
            }
            Ok(Value::Struct(matching))
        }
        "get_record" => pool.record_value(class, &reference(&params[1], "self")?),
        "get_by_uuid" => {
            let uuid = text(&params[1], "uuid")?;
            pool.identities(class)
                .into_iter()
                .find(|object| object.uuid == uuid)
                .map(|object| Value::from(object.reference))
                .ok_or_else(|| XapiError::uuid_invalid(class.name(), &uuid))
        }
        "get_by_name_label" => {
            let label = text(&params[1], "label")?;
            Ok(Value::Array(
                pool.identities(class)
                    .into_iter()
                    .filter(|object| object.name_label == Some(label.as_str()))
                    .map(|object| Value::from(object.reference))
                    .collect(),
            ))
        }
        _ => {
            let field = operation
                .strip_prefix("get_")
                .ok_or_else(|| XapiError::new("MESSAGE_METHOD_UNKNOWN", [method]))?;
            let record = pool.record_value(class, &reference(&params[1], "self")?)?;
            record
                .member(field)
                .cloned()
                .ok_or_else(|| XapiError::new("MESSAGE_METHOD_UNKNOWN", [method]))
        }
    }
}
