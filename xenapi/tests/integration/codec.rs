//! Golden documents: what XAPI and its clients put on the wire (the research note's examples
//! and XAPI-shaped answers), decoded and encoded exactly.

use std::collections::HashMap;

use xenapi::Ref;
use xenapi::records::{PowerState, VmRecord};
use xenapi::rpc::{
    Envelope, Value, decode_call, decode_response, decode_value, encode_call, encode_envelope,
    from_value,
};

/// The login request as XenAPI.py sends it (`<string>` tags, newlines between params).
const PYTHON_LOGIN: &str = "<?xml version='1.0'?><methodCall><methodName>session.login_with_password\
</methodName><params>\n<param><value><string>root</string></value></param><param><value><string>\
secret</string></value></param>\n<param><value><string>1.0</string></value></param><param><value>\
<string>my-backup-tool</string></value></param>\n</params></methodCall>";

#[test]
fn login_request_from_a_python_client() {
    let call = decode_call(PYTHON_LOGIN).unwrap();
    assert_eq!(call.method, "session.login_with_password");
    let params: Vec<&str> = call.params.iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(params, ["root", "secret", "1.0", "my-backup-tool"]);
}

#[test]
fn our_requests_are_xapis_bare_encoding() {
    let xml = encode_call(
        "VM.set_memory_limits",
        &[
            Value::from("OpaqueRef:s"),
            Value::from("OpaqueRef:vm"),
            Value::Int(4 << 30),
            Value::Bool(true),
            Value::from(""),
        ],
    );
    assert_eq!(
        xml,
        "<?xml version=\"1.0\"?><methodCall><methodName>VM.set_memory_limits</methodName><params>\
         <param><value>OpaqueRef:s</value></param><param><value>OpaqueRef:vm</value></param>\
         <param><value>4294967296</value></param><param><value><boolean>1</boolean></value>\
         </param><param><value/></param></params></methodCall>"
    );
}

#[test]
fn success_and_failure_envelopes() {
    let success = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\n \
        <member><name>Status</name><value>Success</value></member>\n \
        <member><name>Value</name><value>OpaqueRef:4b2f0e57-1c2d-4e5f-8a9b-0c1d2e3f4a5b</value>\
        </member></struct></value></param></params></methodResponse>";
    let value = decode_response(success).unwrap().unwrap();
    assert_eq!(
        Envelope::from_value(value).unwrap(),
        Envelope::Success(Value::from(
            "OpaqueRef:4b2f0e57-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
        ))
    );
    let failure = "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>\
        <member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription\
        </name><value><array><data><value>HOST_IS_SLAVE</value><value>10.0.0.1</value></data>\
        </array></value></member></struct></value></param></params></methodResponse>";
    let value = decode_response(failure).unwrap().unwrap();
    let envelope = Envelope::from_value(value).unwrap();
    assert_eq!(envelope, Envelope::failure("HOST_IS_SLAVE", ["10.0.0.1"]));
    // Our encoding of the same failure is XAPI's, member for member.
    assert_eq!(
        encode_envelope(&envelope),
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct><member><name>\
         Status</name><value>Failure</value></member><member><name>ErrorDescription</name>\
         <value><array><data><value>HOST_IS_SLAVE</value><value>10.0.0.1</value></data></array>\
         </value></member></struct></value></param></params></methodResponse>"
    );
}

#[test]
fn get_all_records_keyed_by_ref_with_unknown_fields() {
    let xml = "<value><struct><member><name>OpaqueRef:a1</name><value><struct>\
        <member><name>uuid</name><value>0b0c…</value></member>\
        <member><name>name_label</name><value>web &amp; db</value></member>\
        <member><name>memory_static_max</name><value>4294967296</value></member>\
        <member><name>is_a_template</name><value><boolean>0</boolean></value></member>\
        <member><name>power_state</name><value>Running</value></member>\
        <member><name>snapshot_time</name><value><dateTime.iso8601>20240101T00:00:00Z\
        </dateTime.iso8601></value></member>\
        <member><name>VBDs</name><value><array><data><value>OpaqueRef:b1</value></data></array>\
        </value></member>\
        <member><name>a_field_of_xapi_25</name><value><struct><member><name>x</name><value>\
        <array><data/></array></value></member></struct></value></member>\
        </struct></value></member></struct></value>";
    let records: HashMap<Ref, VmRecord> = from_value(decode_value(xml).unwrap()).unwrap();
    let vm = &records[&Ref::new("OpaqueRef:a1")];
    assert_eq!(vm.name_label, "web & db");
    assert_eq!(vm.memory_static_max, 4_294_967_296);
    assert_eq!(vm.power_state, PowerState::Running);
    assert_eq!(vm.snapshot_time.0, "20240101T00:00:00Z");
    assert_eq!(vm.vbds, [Ref::new("OpaqueRef:b1")]);
    assert!(!vm.is_a_template);
    // Members XAPI 1.x lacked take XAPI's defaults.
    assert_eq!(vm.actions_after_crash, "restart");
}

#[test]
fn task_results_are_value_documents() {
    let refs: Vec<Ref> = from_value(
        decode_value("<value><array><data><value>OpaqueRef:v1</value><value>OpaqueRef:v2</value></data></array></value>")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(refs, [Ref::new("OpaqueRef:v1"), Ref::new("OpaqueRef:v2")]);
    assert!(Ref::new("OpaqueRef:NULL").is_null());
}

#[cfg(feature = "json")]
#[test]
fn json_rpc_documents_from_the_research_note() {
    use xenapi::rpc::json::{
        JsonRpcVersion, decode_json_call, decode_json_reply, encode_json_call,
    };

    let v1 =
        r#"{"method":"session.login_with_password","params":["root","pw","1.0","tool"],"id":"x"}"#;
    let call = decode_json_call(v1).unwrap();
    assert_eq!(
        (call.call.method.as_str(), call.version),
        ("session.login_with_password", JsonRpcVersion::V1)
    );
    assert_eq!(call.call.params[3], Value::from("tool"));
    let ours = encode_json_call(
        "VM.get_record",
        &[Value::from("OpaqueRef:s"), Value::Int(7)],
        3,
    );
    assert_eq!(
        ours,
        r#"{"id":3,"jsonrpc":"2.0","method":"VM.get_record","params":["OpaqueRef:s",7]}"#
    );
    let reply = r#"{"jsonrpc":"2.0","result":{"memory_static_max":4294967296,"is_a_template":false},"id":3}"#;
    let Envelope::Success(value) = decode_json_reply(reply).unwrap() else {
        panic!("a success")
    };
    let vm: VmRecord = from_value(value).unwrap();
    assert_eq!(vm.memory_static_max, 4 << 30);
    let v1_error = r#"{"result":null,"error":["VM_BAD_POWER_STATE","OpaqueRef:v","halted","running"],"id":"x"}"#;
    assert_eq!(
        decode_json_reply(v1_error).unwrap(),
        Envelope::failure("VM_BAD_POWER_STATE", ["OpaqueRef:v", "halted", "running"])
    );
}
