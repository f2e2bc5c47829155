//! The simulator against the official XenAPI Python client (the `XenAPI` package, the SDK XenServer
//! ships), where a client would notice it is not XAPI: every field of XAPI's datamodel with
//! its default, `allowed_operations` filled, a `<nil/>` parameter answered with a Failure
//! (not HTTP 500), `VM.snapshot` with `ignore_vdis`, `get_all_records_where`, and
//! `HOST_IS_SLAVE` naming the master's address alone (followed on the same port).

use std::path::PathBuf;
use std::process::Command;

use super::support::demo;

/// The Python of the XenAPI virtual environment (scripts/lib/install-xenapi-venv).
fn xenapi_python() -> PathBuf {
    let venv = std::env::var_os("VMTOOLKIT_XENAPI_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/vmtoolkit/xenapi-venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    let imports = Command::new(&python)
        .args(["-c", "import XenAPI"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        imports,
        "the XenAPI Python client is missing at {}: run scripts/install-test-deps \
         (scripts/lib/install-xenapi-venv)",
        venv.display()
    );
    python
}

const OFFICIAL_CLIENT: &str = r#"
import json, sys, xmlrpc.client
from urllib.parse import urlsplit
import XenAPI
url, slave, user, password = sys.argv[1:5]
session = XenAPI.Session(url)
session.xenapi.login_with_password(user, password, "1.0", "official-client")
x = session.xenapi
counts = {}
for cls in ["pool", "host", "VM", "VBD", "VDI", "SR", "VIF", "network"]:
    counts[cls] = sorted({len(r) for r in getattr(x, cls).get_all_records().values()})
task = x.task.create("t", "")
counts["task"] = [len(x.task.get_record(task))]
x.task.destroy(task)
print("fields", json.dumps(counts, sort_keys=True))
web = x.VM.get_by_name_label("web-01")[0]
vm = x.VM.get_record(web)
print("vm", vm["suspend_VDI"], repr(vm["HVM_shadow_multiplier"]), vm["actions_after_softreboot"],
      vm["generation_id"], vm["children"], vm["NVRAM"])
print("vm getter", repr(x.VM.get_HVM_shadow_multiplier(web)))
pool = list(x.pool.get_all_records().values())[0]
print("pool", pool["ha_enabled"], pool["telemetry_frequency"], pool["coordinator_bias"],
      pool["local_auth_max_threads"])
master = x.pool.get_master(x.pool.get_all()[0])
host = x.host.get_record(master)
print("host", host["license_server"] == {"address": "localhost", "port": "27000"},
      host["virtual_hardware_platform_versions"], host["display"])
vif = x.VIF.get_record(vm["VIFs"][0])
print("vif", vif["locking_mode"], vif["ipv4_configuration_mode"], vif["ipv4_addresses"])
disk_vbds = [v for v in vm["VBDs"] if x.VBD.get_type(v) == "Disk"]
vdi = x.VDI.get_record(x.VBD.get_VDI(disk_vbds[0]))
print("vdi", vdi["on_boot"], vdi["allow_caching"], vdi["metadata_of_pool"])
sr = x.SR.get_record(vdi["SR"])
print("sr", sr["clustered"], sr["is_tools_sr"], "vdi_create" in sr["allowed_operations"])
network = x.network.get_record(vif["network"])
print("network", network["managed"], network["default_locking_mode"])

ops = vm["allowed_operations"]
print("halted ops", all(op in ops for op in ["start", "snapshot", "export", "clone", "copy", "destroy"]),
      any(op in ops for op in ["clean_shutdown", "revert", "resume"]))
db = x.VM.get_by_name_label("db-01")[0]
ops = x.VM.get_allowed_operations(db)
print("running ops", all(op in ops for op in ["clean_shutdown", "hard_shutdown", "snapshot", "suspend"]),
      any(op in ops for op in ["start", "destroy", "export"]))
print("vbd ops", x.VBD.get_allowed_operations(x.VM.get_VBDs(db)[0]),
      x.VBD.get_allowed_operations(disk_vbds[0]))
print("host ops", "evacuate" in host["allowed_operations"])

raw = xmlrpc.client.ServerProxy(url, allow_none=True)
answer = raw.VM.get_record(session._session, None)
print("nil", answer["Status"], answer["ErrorDescription"][0])

disks = [x.VBD.get_VDI(v) for v in x.VM.get_VBDs(db) if x.VBD.get_type(v) == "Disk"]
snapshot = x.VM.snapshot(db, "without data", disks[1:])
kept = [x.VBD.get_VDI(v) for v in x.VM.get_VBDs(snapshot) if x.VBD.get_type(v) == "Disk"]
print("ignore_vdis", len(disks), len(kept), x.VDI.get_snapshot_of(kept[0]) == disks[0])
ops = x.VM.get_allowed_operations(snapshot)
print("snapshot ops", all(op in ops for op in ["revert", "clone", "export", "destroy"]), "start" in ops)

def names(expression):
    return sorted(r["name_label"] for r in x.VM.get_all_records_where(expression).values())
print("where", names('field "name__label" = "web-01"'))
print("where and", names('field "is_a_template" = "false" and not field "is_control_domain" = "true"'))
print("where or", names('(field "name__label" = "db-01" or field "uuid" = "%s")' % vm["uuid"]))
print("where snapshot", names('field "is_a_snapshot" = "true" and field "snapshot_of" = "%s"' % db))
print("where all", len(names("true")) == len(x.VM.get_all()), names("false"))
try:
    x.VM.get_all_records_where('field "name__label" =')
    print("where bad accepted")
except XenAPI.Failure as failure:
    print("where bad", failure.details[0])

try:
    XenAPI.Session(slave).xenapi.login_with_password(user, password, "1.0", "official-client")
    print("slave login accepted")
except XenAPI.Failure as failure:
    print("slave", failure.details[0], failure.details[1])
    parts = urlsplit(slave)
    followed = XenAPI.Session("%s://%s:%d" % (parts.scheme, failure.details[1], parts.port))
    followed.xenapi.login_with_password(user, password, "1.0", "official-client")
    print("followed", followed.xenapi.session.get_this_host(followed._session) == master)
    followed.xenapi.session.logout()
session.xenapi.session.logout()
"#;

#[test]
fn the_official_client_sees_xapi() {
    let python = xenapi_python();
    let sim = demo();
    let (user, password) = sim.credentials();
    let output = Command::new(python)
        .args([
            "-c",
            OFFICIAL_CLIENT,
            sim.url(),
            sim.slave_url(),
            user,
            password,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let master = super::support::authority(sim.url())
        .rsplit_once(':')
        .unwrap()
        .0
        .to_owned();
    // The field counts of XAPI's datamodel (xen-api doc/data/xenapi.json, fields not removed).
    let expected = [
        r#"fields {"SR": [21], "VBD": [21], "VDI": [32], "VIF": [26], "VM": [89], "host": [70], "network": [16], "pool": [57], "task": [17]}"#,
        "vm OpaqueRef:NULL 1.0 soft_reboot 0:0 [] {}",
        "vm getter 1.0",
        "pool False weekly True 8",
        "host True ['0'] enabled",
        "vif network_default None []",
        "vdi persist False OpaqueRef:NULL",
        "sr False False True",
        "network True unlocked",
        "halted ops True False",
        "running ops True False",
        "vbd ops ['unplug', 'unplug_force', 'pause'] ['attach']",
        "host ops True",
        "nil Failure FIELD_TYPE_ERROR",
        "ignore_vdis 2 1 True",
        "snapshot ops True False",
        "where ['web-01']",
        "where and ['db-01', 'mail-01', 'web-01']",
        "where or ['db-01', 'web-01']",
        "where snapshot ['without data']",
        "where all True []",
        "where bad INTERNAL_ERROR",
        &format!("slave HOST_IS_SLAVE {master}"),
        "followed True",
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");
    let audit = sim.audit();
    assert_eq!(audit.snapshots.len(), 1, "{audit}");
    assert!(
        audit.sessions.is_empty() && audit.tasks.is_empty(),
        "{audit}"
    );
}
