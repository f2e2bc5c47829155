//! Decoding `VM.get_all_records` for a 5,000-VM pool into `HashMap<Ref, VmRecord>`: XML parse,
//! XAPI envelope and typed conversion. Target: under 200 ms (release build). Two paths are
//! timed: the one the client uses (`decode_envelope_as`, straight into the records), and the
//! value tree (`decode_response` + `Envelope::from_value` + `from_value`).
//!
//! Run: `cargo bench -p xenapi --bench records`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use xenapi::Ref;
use xenapi::records::{PowerState, StringMap, VmRecord};
use xenapi::rpc::{
    Envelope, Value, decode_envelope_as, decode_response, encode_envelope, from_value, to_value,
};

const VMS: usize = 5_000;
const RUNS: usize = 7;

fn main() {
    let document = all_records_response(VMS);
    println!(
        "VM.get_all_records response: {VMS} VMs, {} MiB of XML",
        document.len() >> 20
    );
    time("straight into the records (the client's path)", || {
        decode_direct(black_box(&document))
    });
    time("through the value tree", || {
        decode_tree(black_box(&document))
    });
    let start = Instant::now();
    let events = quick_xml_events(black_box(&document));
    println!(
        "for scale, quick-xml reading the {events} events alone: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}

/// The floor under any decoding built on quick-xml: reading every event, nothing else.
fn quick_xml_events(document: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(document);
    let mut events = 0;
    loop {
        match reader.read_event().expect("well-formed") {
            quick_xml::events::Event::Eof => return events,
            _ => events += 1,
        }
    }
}

fn time(label: &str, decode: impl Fn() -> HashMap<Ref, VmRecord>) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let records = decode();
            let elapsed = start.elapsed();
            assert_eq!(records.len(), VMS);
            elapsed
        })
        .collect();
    times.sort();
    println!(
        "{label}: median {:.1} ms, best {:.1} ms ({RUNS} runs)",
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn decode_direct(document: &str) -> HashMap<Ref, VmRecord> {
    match decode_envelope_as(document)
        .expect("well-formed")
        .expect("no fault")
    {
        Envelope::Success(records) => records,
        Envelope::Failure(description) => panic!("the envelope is a failure: {description:?}"),
    }
}

fn decode_tree(document: &str) -> HashMap<Ref, VmRecord> {
    let value = decode_response(document)
        .expect("well-formed")
        .expect("no fault");
    let Envelope::Success(value) = Envelope::from_value(value).expect("envelope") else {
        panic!("the envelope is a failure");
    };
    from_value(value).expect("typed records")
}

/// A response shaped like XAPI 8.x's: every VM with its full record, including members this
/// crate does not model (a newer host's fields), maps, sets and datetimes.
fn all_records_response(count: usize) -> String {
    let members = (0..count)
        .map(|i| {
            let reference = format!("OpaqueRef:{:08x}-5b1c-4c1e-9a2f-{i:012x}", i * 7919);
            (reference, vm_value(i))
        })
        .collect();
    encode_envelope(&Envelope::Success(Value::Struct(members)))
}

fn vm_value(i: usize) -> Value {
    let map = |prefix: &str, n: usize| -> StringMap {
        (0..n)
            .map(|k| (format!("{prefix}{k}"), format!("value-{i}-{k}")))
            .collect()
    };
    let refs = |n: usize| -> Vec<Ref> {
        (0..n)
            .map(|k| Ref::new(format!("OpaqueRef:{i:08x}-{k:04x}-4a4a-8b8b-0123456789ab")))
            .collect()
    };
    let record = VmRecord {
        uuid: format!("{i:08x}-1111-4222-8333-444455556666"),
        name_label: format!("vm-{i:05}.example.org"),
        name_description: "a web server with <tags> & \"quotes\"".to_owned(),
        power_state: if i.is_multiple_of(3) {
            PowerState::Running
        } else {
            PowerState::Halted
        },
        memory_static_max: 4 << 30,
        memory_dynamic_max: 4 << 30,
        memory_dynamic_min: 2 << 30,
        memory_static_min: 1 << 30,
        memory_target: 4 << 30,
        vcpus_max: 4,
        vcpus_at_startup: 2,
        vcpus_params: map("weight", 2),
        vbds: refs(3),
        vifs: refs(2),
        snapshots: refs(2),
        platform: map("platform-", 8),
        other_config: map("other-", 12),
        hvm_boot_policy: "BIOS order".to_owned(),
        hvm_boot_params: map("order", 1),
        allowed_operations: (0..24).map(|k| format!("operation_{k}")).collect(),
        blocked_operations: map("blocked-", 1),
        tags: vec!["backup".to_owned(), "prod".to_owned()],
        xenstore_data: map("vm-data/", 3),
        domid: 12,
        domain_type: "hvm".to_owned(),
        ..VmRecord::default()
    };
    let Ok(Value::Struct(mut members)) = to_value(&record) else {
        panic!("a record is a struct");
    };
    // Fields of newer hosts, ignored by the typed conversion.
    for k in 0..40 {
        members.push((
            format!("newer_field_{k}"),
            Value::from(format!("opaque {i} {k}")),
        ));
    }
    members.push((
        "start_time".to_owned(),
        Value::DateTime("20240301T10:00:00Z".to_owned()),
    ));
    members.push((
        "last_booted_record".to_owned(),
        Value::from("('struct' ('uuid' '…') ('power_state' 'Running'))"),
    ));
    members.push((
        "NVRAM".to_owned(),
        Value::Struct(vec![("EFI-variables".into(), Value::from("AAAA"))]),
    ));
    Value::Struct(members)
}
