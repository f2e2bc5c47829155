//! The simulator against an independent client: Python's standard `xmlrpc.client` (and
//! `urllib` for JSON-RPC and HTTPS).

use super::support::{demo, python};

const LOGIN_LIST_SNAPSHOT: &str = r#"
import sys, xmlrpc.client
url, user, password = sys.argv[1:4]
server = xmlrpc.client.ServerProxy(url)
login = server.session.login_with_password(user, password, "1.0", "python-test")
assert login["Status"] == "Success", login
session = login["Value"]
records = server.VM.get_all_records(session)["Value"]
names = sorted(vm["name_label"] for vm in records.values()
               if not vm["is_a_template"] and not vm["is_control_domain"])
print("vms", ",".join(names))
web = server.VM.get_by_name_label(session, "web-01")["Value"][0]
snapshot = server.VM.snapshot(session, web, "web-01 backup")
assert snapshot["Status"] == "Success", snapshot
record = server.VM.get_record(session, snapshot["Value"])["Value"]
print("snapshot", record["name_label"], record["is_a_snapshot"], record["is_a_template"],
      record["snapshot_of"] == web, record["power_state"], len(record["VBDs"]))
print("time", isinstance(record["snapshot_time"], xmlrpc.client.DateTime))
print("snapshots", server.VM.get_snapshots(session, web)["Value"] == [snapshot["Value"]])
vdi = server.VBD.get_record(session, record["VBDs"][0])["Value"]["VDI"]
vdi_record = server.VDI.get_record(session, vdi)["Value"]
print("vdi", vdi_record["is_a_snapshot"], int(vdi_record["virtual_size"]))
bad = server.VM.get_record(session, "OpaqueRef:NULL")
print("bad", bad["Status"], bad["ErrorDescription"][0])
print("count", server.VM.get_record(session)["ErrorDescription"][0])
print("logout", server.session.logout(session)["Status"])
print("after", server.VM.get_all(session)["ErrorDescription"][0])
"#;

#[test]
fn python_logs_in_lists_snapshots_and_reads_records() {
    let sim = demo();
    let (user, password) = sim.credentials();
    let output = python(LOGIN_LIST_SNAPSHOT, &[sim.url(), user, password]);
    let expected = [
        "vms db-01,mail-01,web-01",
        "snapshot web-01 backup True True True Halted 1",
        "time True",
        "snapshots True",
        "vdi True 16777216",
        "bad Failure HANDLE_INVALID",
        "count MESSAGE_PARAMETER_COUNT_MISMATCH",
        "logout Success",
        "after SESSION_INVALID",
    ];
    assert_eq!(output.lines().collect::<Vec<_>>(), expected, "{output}");
    let audit = sim.audit();
    assert_eq!(audit.snapshots.len(), 1, "{audit}");
    assert_eq!(audit.snapshots[0].label, "web-01 backup");
    assert_eq!(audit.vdis.len(), 1, "{audit}");
    assert!(audit.sessions.is_empty(), "{audit}");
}

const SLAVE_LOGIN: &str = r#"
import sys, xmlrpc.client
url, user, password = sys.argv[1:4]
answer = xmlrpc.client.ServerProxy(url).session.login_with_password(user, password)
print(answer["Status"], " ".join(answer["ErrorDescription"]))
"#;

#[test]
fn the_slave_answers_host_is_slave_to_python() {
    let sim = demo();
    let (user, password) = sim.credentials();
    let output = python(SLAVE_LOGIN, &[sim.slave_url(), user, password]);
    // The address alone, as XAPI sends it: the slave listens on the master's port.
    let master = address_of(sim.url());
    assert_eq!(output.trim(), format!("Failure HOST_IS_SLAVE {master}"));
    let wrong = python(SLAVE_LOGIN, &[sim.url(), user, "wrong"]);
    assert_eq!(
        wrong.trim(),
        format!("Failure SESSION_AUTHENTICATION_FAILED {user} Authentication failure")
    );
    sim.swap_master();
    let swapped = python(SLAVE_LOGIN, &[sim.url(), user, password]);
    let slave = address_of(sim.slave_url());
    assert_eq!(swapped.trim(), format!("Failure HOST_IS_SLAVE {slave}"));
    assert!(sim.audit().is_clean(), "{}", sim.audit());
}

/// The IP address of a URL, without its port.
fn address_of(url: &str) -> &str {
    let authority = super::support::authority(url);
    authority
        .rsplit_once(':')
        .map_or(authority, |(address, _)| address)
}

const JSON_AND_TLS: &str = r#"
import json, ssl, sys, urllib.request, xmlrpc.client
url, user, password = sys.argv[1:4]
https = url.replace("http://", "https://")
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
def rpc(version, method, params):
    request = {"method": method, "params": params, "id": 7}
    if version == 2:
        request["jsonrpc"] = "2.0"
    body = json.dumps(request).encode()
    req = urllib.request.Request(https + "/jsonrpc", body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, context=context))
session = rpc(1, "session.login_with_password", [user, password, "1.0", "json"])["result"]
vms = rpc(2, "VM.get_all_records", [session])["result"]
web = [r for r, vm in vms.items() if vm["name_label"] == "web-01"][0]
print("memory", type(vms[web]["memory_static_max"]).__name__, vms[web]["memory_static_max"])
print("v1 error", rpc(1, "VM.get_record", [session, "OpaqueRef:x"])["error"])
error = rpc(2, "VM.get_record", [session, "OpaqueRef:x"])["error"]
print("v2 error", error["message"], error["data"])
xml = xmlrpc.client.ServerProxy(https, context=context)
print("xml over tls", xml.VM.get_power_state(session, web)["Value"])
import hashlib
host, port = https[len("https://"):].split(":")
served = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((host, int(port))))
print("fingerprint", ":".join("%02X" % b for b in hashlib.sha256(served).digest()))
print("same cert", served == ssl.PEM_cert_to_DER_cert(open(sys.argv[4]).read()))
rpc(1, "session.logout", [session])
"#;

#[test]
fn json_rpc_and_tls_on_the_same_port() {
    let sim = xapi_sim::Simulator::start(xapi_sim::SimConfig::demo().with_tls()).unwrap();
    assert!(sim.url().starts_with("https://"));
    let plain = sim.url().replace("https://", "http://");
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("cert.pem");
    std::fs::write(&pem, sim.certificate_pem()).unwrap();
    let (user, password) = sim.credentials();
    let output = python(
        JSON_AND_TLS,
        &[&plain, user, password, pem.to_str().unwrap()],
    );
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines[0], "memory int 1073741824");
    assert_eq!(lines[1], "v1 error ['HANDLE_INVALID', 'VM', 'OpaqueRef:x']");
    assert_eq!(lines[2], "v2 error HANDLE_INVALID ['VM', 'OpaqueRef:x']");
    assert_eq!(lines[3], "xml over tls Halted");
    assert_eq!(lines[4], format!("fingerprint {}", sim.fingerprint()));
    assert_eq!(lines[5], "same cert True");
    assert!(sim.audit().is_clean(), "{}", sim.audit());
}
