//! XAPI's RPC: XML-RPC (`POST /`, `/RPC2`) and JSON-RPC (`POST /jsonrpc`) envelopes around
//! one dispatcher. Every call but `session.login_with_password` needs a valid session as its
//! first parameter; `Async.<method>` returns a task that a thread completes.
//!
//! XAPI's API has no nil: an XML-RPC `<nil/>` (Python's `allow_none`, on in the official
//! client) is read as a marker no XML document can hold (U+FFFF is not an XML character),
//! and a call carrying one anywhere in its parameters fails with `FIELD_TYPE_ERROR`, in a
//! Failure envelope like any other refused parameter.

mod filter;
mod getters;
mod methods;
mod params;

use std::thread;

use xenapi::Ref;
use xenapi::rpc::json::{decode_json_call, encode_json_reply};
use xenapi::rpc::{Envelope, Value, decode_call, encode_envelope, encode_value};

use crate::error::{XapiError, XapiResult};
use crate::shared::HostCtx;

/// Answers an XML-RPC request body: a `methodResponse` in XAPI's `Status` envelope, or
/// `Err` (malformed request, answered with HTTP 500 as XAPI does).
pub(crate) fn handle_xml(ctx: &HostCtx, body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8".to_owned())?;
    let text = if text.contains("<nil") {
        let marker = format!("<string>{NIL}</string>");
        std::borrow::Cow::Owned(
            ["<nil/>", "<nil />", "<nil></nil>"]
                .iter()
                .fold(text.to_owned(), |text, nil| text.replace(nil, &marker)),
        )
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let call = decode_call(&text).map_err(|e| format!("malformed XML-RPC request: {e}"))?;
    Ok(encode_envelope(&envelope(call_method(
        ctx,
        &call.method,
        call.params,
    ))))
}

/// Answers a JSON-RPC (1.0 or 2.0) request body, in the request's version, or `Err` when it
/// is not a JSON-RPC request.
pub(crate) fn handle_json(ctx: &HostCtx, body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8".to_owned())?;
    let mut request =
        decode_json_call(text).map_err(|e| format!("malformed JSON-RPC request: {e}"))?;
    let params = std::mem::take(&mut request.call.params);
    let outcome = call_method(ctx, &request.call.method, params);
    Ok(encode_json_reply(&request, &envelope(outcome)))
}

/// What `<nil/>` decodes to; see the module docs.
const NIL: &str = "\u{FFFF}nil";

fn holds_nil(value: &Value) -> bool {
    match value {
        Value::String(text) => text == NIL,
        Value::Array(items) => items.iter().any(holds_nil),
        Value::Struct(members) => members.iter().any(|(_, v)| holds_nil(v)),
        _ => false,
    }
}

fn envelope(outcome: XapiResult<Value>) -> Envelope {
    match outcome {
        Ok(value) => Envelope::Success(value),
        Err(error) => Envelope::Failure(error.description()),
    }
}

/// Dispatches one call.
pub(crate) fn call_method(ctx: &HostCtx, method: &str, params: Vec<Value>) -> XapiResult<Value> {
    let (is_async, base) = match method.strip_prefix("Async.") {
        Some(base) => (true, base),
        None => (false, method),
    };
    let unknown = || XapiError::new("MESSAGE_METHOD_UNKNOWN", [method]);
    let spec = methods::spec(base).ok_or_else(unknown)?;
    if is_async && !spec.asynchronous {
        return Err(unknown());
    }
    if !spec.arity.contains(&params.len()) {
        return Err(XapiError::new(
            "MESSAGE_PARAMETER_COUNT_MISMATCH",
            [
                method.to_owned(),
                spec.arity.end().to_string(),
                params.len().to_string(),
            ],
        ));
    }
    if let Some(position) = params.iter().position(holds_nil) {
        return Err(XapiError::new(
            "FIELD_TYPE_ERROR",
            [format!(
                "parameter {}: nil is not a value of XAPI's API",
                position + 1
            )],
        ));
    }
    let session = if base == "session.login_with_password" {
        None
    } else {
        let text = params::text(&params[0], "session_id")?;
        Some(ctx.shared.lock().check_session(&text)?)
    };
    let injected = ctx.shared.faults.on_call(base);
    if !is_async {
        if let Some(error) = injected {
            return Err(error);
        }
        return methods::execute(ctx, base, &params, session.as_ref());
    }
    let task = ctx.shared.lock().task_create(method, "", false);
    let delay = ctx.shared.faults.delay();
    let (ctx, base, task_ref) = (ctx.clone(), base.to_owned(), task.clone());
    thread::spawn(move || {
        thread::sleep(delay);
        let outcome = match injected {
            Some(error) => Err(error),
            None => methods::execute(&ctx, &base, &params, session.as_ref()),
        };
        finish_task(&ctx, &task_ref, outcome);
    });
    Ok(Value::from(task))
}

/// Completes a task with an outcome: the result as an XML-RPC `<value>` document, or the
/// error.
pub(crate) fn finish_task(ctx: &HostCtx, task: &Ref, outcome: XapiResult<Value>) {
    let mut pool = ctx.shared.lock();
    match outcome {
        Ok(value) => pool.task_succeed(task, encode_value(&value)),
        Err(error) => pool.task_fail(task, &error),
    }
}
