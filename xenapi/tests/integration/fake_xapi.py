#!/usr/bin/env python3
"""A fake XAPI pool for the xenapi crate's integration tests.

An independent peer written with Python's standard library only: XML-RPC through
xmlrpc.server's dispatcher (requests parsed by xmlrpc.client.loads, answers written by
xmlrpc.client.dumps) in XAPI's envelope (Status / Value / ErrorDescription), JSON-RPC v1/v2,
and XAPI's HTTP transfer endpoints, over http.server and ssl.

Usage: fake_xapi.py CONFIG.json; prints one JSON line (ports, certificate fingerprint), then
serves until killed. Servers: the master on 127.0.0.2:P (http), a pool member on 127.0.0.1:P
(same port, so HOST_IS_SLAVE's bare address works with "keep the port"), and the master again
over https on 127.0.0.2:Q. GET /control/stats reports what happened.
"""
import base64
import hashlib
import json
import ssl
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape
from xmlrpc.client import DateTime
from xmlrpc.server import SimpleXMLRPCDispatcher

CONFIG = json.load(open(sys.argv[1]))
KNOBS = CONFIG.get("knobs", {})
USER, PASSWORD = "root", "secret"
MASTER_IP, MEMBER_IP = "127.0.0.2", "127.0.0.1"
LOCK = threading.RLock()
PORTS = {}

STATE = {"sessions": set(), "logins": 0, "logouts": 0, "originators": [], "versions": [],
         "tasks": {}, "requests": [], "calls": [], "invalidated": False}

# XAPI writes 64-bit ints as strings; JSON-RPC turns these fields into integers.
INT_FIELDS = {"memory_static_max", "memory_dynamic_max", "VCPUs_max", "virtual_size",
              "physical_size", "MTU", "domid"}


def vm(name, power, **extra):
    record = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "name_label": name,
              "name_description": "", "power_state": power, "memory_static_max": "4294967296",
              "memory_dynamic_max": "4294967296", "VCPUs_max": "2", "is_a_template": False,
              "is_a_snapshot": False, "snapshot_time": DateTime("20240301T10:00:00Z"),
              "VBDs": [], "VIFs": [], "other_config": {"owner": "tests"}, "domid": "-1",
              "ha_always_run": False, "newer_field_from_a_future_xapi": {"x": ["y"]}}
    record.update(extra)
    return record


DB = {
    "VM": {
        "OpaqueRef:vm-web": vm("web", "Halted", VBDs=["OpaqueRef:vbd-web"], VIFs=["OpaqueRef:vif-web"]),
        "OpaqueRef:vm-db": vm("db", "Running", domid="3"),
        "OpaqueRef:vm-stuck": vm("stuck", "Running"),
    },
    "VDI": {"OpaqueRef:vdi-web": {"uuid": "vdi-web-uuid", "name_label": "web disk", "SR": "OpaqueRef:sr",
                                  "virtual_size": "10737418240", "type": "user", "cbt_enabled": True,
                                  "VBDs": ["OpaqueRef:vbd-web"], "sm_config": {}}},
    "VBD": {"OpaqueRef:vbd-web": {"uuid": "vbd-web-uuid", "VM": "OpaqueRef:vm-web", "VDI": "OpaqueRef:vdi-web",
                                  "userdevice": "0", "mode": "RW", "type": "Disk", "bootable": True}},
    "SR": {"OpaqueRef:sr": {"uuid": "sr-uuid", "name_label": "Local storage", "type": "ext",
                            "physical_size": "107374182400", "VDIs": ["OpaqueRef:vdi-web"]}},
    "VIF": {"OpaqueRef:vif-web": {"uuid": "vif-web-uuid", "device": "0", "network": "OpaqueRef:net",
                                  "VM": "OpaqueRef:vm-web", "MAC": "aa:bb:cc:dd:ee:ff", "MTU": "1500"}},
    "network": {"OpaqueRef:net": {"uuid": "net-uuid", "name_label": "Pool-wide network", "bridge": "xenbr0",
                                  "MTU": "1500", "VIFs": ["OpaqueRef:vif-web"]}},
    "host": {"OpaqueRef:host-master": {"uuid": "host-uuid", "name_label": "master", "address": MASTER_IP,
                                       "hostname": "xs1", "enabled": True}},
    "pool": {"OpaqueRef:pool": {"uuid": "pool-uuid", "name_label": "pool", "master": "OpaqueRef:host-master",
                                "default_SR": "OpaqueRef:sr"}},
}


def ok(value):
    return {"Status": "Success", "Value": value}


def fail(*description):
    return {"Status": "Failure", "ErrorDescription": [str(d) for d in description]}


def value_document(value):
    """A task result: one XML-RPC <value> document, written as XAPI writes it."""
    if isinstance(value, list):
        return "<value><array><data>" + "".join(value_document(v) for v in value) + "</data></array></value>"
    return "<value>" + escape(str(value)) + "</value>" if value != "" else "<value/>"


def new_task(label, status="pending", result="", error=None):
    ref = "OpaqueRef:task-" + str(uuid.uuid4())
    with LOCK:
        STATE["tasks"][ref] = {"uuid": str(uuid.uuid4()), "name_label": label, "name_description": "",
                               "status": status, "progress": 0.0, "result": result,
                               "error_info": error or [], "created": DateTime("20240301T10:00:00Z"),
                               "other_config": {}}
    return ref


def end_task(ref, result="", error=None):
    with LOCK:
        task = STATE["tasks"].get(ref)
        if task is None:  # destroyed by the client meanwhile
            return
        task.update(status="failure" if error else "success", progress=1.0, result=result,
                    error_info=error or [])


def record_call(cls, ref):
    table = DB.get(cls, {})
    if ref not in table:
        return None, fail("HANDLE_INVALID", cls, ref)
    return table[ref], None


def class_call(cls, name, args):
    table = DB[cls]
    if name == "get_all":
        return ok(list(table))
    if name == "get_all_records":
        return ok(table)
    if name == "get_by_uuid":
        found = [r for r, rec in table.items() if rec.get("uuid") == args[0]]
        return ok(found[0]) if found else fail("UUID_INVALID", cls, args[0])
    if name == "get_by_name_label":
        return ok([r for r, rec in table.items() if rec.get("name_label") == args[0]])
    record, error = record_call(cls, args[0]) if args else (None, fail("MESSAGE_PARAMETER_COUNT_MISMATCH", name, 1, 0))
    if error:
        return error
    if name == "get_record":
        return ok(record)
    if name.startswith("get_"):
        field = {"get_VBDs": "VBDs", "get_VIFs": "VIFs", "get_default_SR": "default_SR"}.get(name, name[4:])
        return ok(record.get(field, ""))
    if name.startswith("set_"):
        record[name[4:]] = args[1]
        return ok("")
    return None


def mutate(method, args):
    if method == "VM.snapshot":
        source, error = record_call("VM", args[0])
        if error:
            return error
        ref = "OpaqueRef:snapshot-" + str(uuid.uuid4())
        DB["VM"][ref] = dict(source, name_label=args[1], is_a_snapshot=True, is_a_template=True,
                             uuid=str(uuid.uuid4()), snapshot_of=args[0])
        return ok(ref)
    if method in ("VM.start", "VM.clean_shutdown", "VM.hard_shutdown"):
        record, error = record_call("VM", args[0])
        if error:
            return error
        want, new = ("Halted", "Running") if method == "VM.start" else ("Running", "Halted")
        if record["power_state"] != want:
            return fail("VM_BAD_POWER_STATE", args[0], want.lower(), record["power_state"].lower())
        record["power_state"] = new
        return ok("")
    if method.endswith(".destroy") and method.split(".")[0] in DB:
        cls = method.split(".")[0]
        _, error = record_call(cls, args[0])
        return error or (DB[cls].pop(args[0]) and ok(""))
    if method in ("VDI.create", "VBD.create", "VIF.create"):
        cls, record = method.split(".")[0], args[0]
        if not isinstance(record, dict):
            return fail("FIELD_TYPE_ERROR", "record")
        if cls == "VDI" and (record.get("SR") not in DB["SR"] or not str(record.get("virtual_size", "")).isdigit()):
            return fail("HANDLE_INVALID", "SR", record.get("SR"))
        ref = "OpaqueRef:%s-%s" % (cls.lower(), uuid.uuid4())
        DB[cls][ref] = dict(record, uuid=str(uuid.uuid4()))
        return ok(ref)
    if method == "VDI.snapshot":
        source, error = record_call("VDI", args[0])
        if error:
            return error
        ref = "OpaqueRef:vdi-snapshot-" + str(uuid.uuid4())
        DB["VDI"][ref] = dict(source, is_a_snapshot=True, uuid=str(uuid.uuid4()))
        return ok(ref)
    if method in ("VDI.enable_cbt", "VDI.disable_cbt"):
        record, error = record_call("VDI", args[0])
        if not error:
            record["cbt_enabled"] = method == "VDI.enable_cbt"
        return error or ok("")
    if method == "VDI.list_changed_blocks":
        # Blocks 0, 7, 16 and 17 changed (bitmap 0x81 0x00 0xC0, MSB first).
        return ok(base64.b64encode(bytes([0x81, 0x00, 0xC0])).decode())
    return None


def task_call(name, args):
    with LOCK:
        task = STATE["tasks"].get(args[0]) if args else None
        if name == "create":
            return ok(new_task(args[0]))
        if task is None:
            return fail("HANDLE_INVALID", "task", args[0] if args else "")
        if name == "destroy":
            del STATE["tasks"][args[0]]
            return ok("")
        if name == "get_record":
            return ok(task)
        if name.startswith("get_"):
            return ok(task[name[4:]])
    return None


def dispatch(method, params, role):
    with LOCK:
        STATE["calls"].append(method)
        if method == "session.login_with_password":
            if role == "member":
                return fail("HOST_IS_SLAVE", MASTER_IP)
            if list(params[:2]) != [USER, PASSWORD]:
                return fail("SESSION_AUTHENTICATION_FAILED", params[0] if params else "", "Authentication failure")
            ref = "OpaqueRef:session-" + str(uuid.uuid4())
            STATE["sessions"].add(ref)
            STATE["logins"] += 1
            STATE["versions"].append(params[2] if len(params) > 2 else None)
            STATE["originators"].append(params[3] if len(params) > 3 else None)
            return ok(ref)
        if not params or params[0] not in STATE["sessions"]:
            return fail("SESSION_INVALID", params[0] if params else "")
        session, args = params[0], list(params[1:])
        if KNOBS.get("session_invalid_once") and method == "VM.get_all" and not STATE["invalidated"]:
            STATE["invalidated"] = True
            STATE["sessions"].discard(session)
            return fail("SESSION_INVALID", session)
        if method == "session.logout":
            STATE["sessions"].discard(session)
            STATE["logouts"] += 1
            return ok("")
        if method == "session.get_this_host":
            return ok("OpaqueRef:host-master")
        if method.startswith("Async."):
            inner = method[len("Async."):]
            if args and args[0] == "OpaqueRef:vm-stuck":
                return ok(new_task(inner))  # never finishes
            answer = dispatch_sync(inner, args)
            if answer["Status"] == "Success":
                return ok(new_task(inner, "success", value_document(answer["Value"])))
            return ok(new_task(inner, "failure", error=answer["ErrorDescription"]))
        return dispatch_sync(method, args)


def dispatch_sync(method, args):
    cls, _, name = method.partition(".")
    if cls == "task":
        answer = task_call(name, args)
    else:
        answer = mutate(method, args)
        if answer is None and cls in DB:
            answer = class_call(cls, name, args)
    return answer or fail("MESSAGE_METHOD_UNKNOWN", method)


def jsonable(value, key=None):
    if isinstance(value, DateTime):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if key in INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


class Dispatcher(SimpleXMLRPCDispatcher):
    def __init__(self, role):
        super().__init__(allow_none=False, encoding=None)
        self.role = role

    def _dispatch(self, method, params):
        return dispatch(method, params, self.role)


def pattern(size):
    """Byte i is i % 251: easy to check on the other side, and not a multiple of any chunk."""
    block = bytes(i % 251 for i in range(251 * 1024))
    return (block * (size // len(block) + 1))[:size]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-xapi"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = urlsplit(self.path).path
        if path in ("/", "/RPC2"):
            self.reply(200, Dispatcher(self.server.role)._marshaled_dispatch(body), "text/xml")
        elif path == "/jsonrpc":
            request = json.loads(body)
            answer = dispatch(request["method"], request.get("params", []), self.server.role)
            v2 = request.get("jsonrpc") == "2.0" and not KNOBS.get("json_reply_v1")
            if answer["Status"] == "Success":
                reply = {"result": jsonable(answer["Value"]), "id": request["id"]}
                reply.update({"jsonrpc": "2.0"} if v2 else {"error": None})
            elif v2:
                description = answer["ErrorDescription"]
                reply = {"jsonrpc": "2.0", "id": request["id"],
                         "error": {"code": 1, "message": description[0], "data": description[1:]}}
            else:
                reply = {"result": None, "error": answer["ErrorDescription"], "id": request["id"]}
            self.reply(200, json.dumps(reply).encode(), "application/json")
        else:
            self.reply(404)

    def transfer_context(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with LOCK:
            STATE["requests"].append({"method": self.command, "path": url.path, "query": query,
                                      "role": self.server.role,
                                      "transfer_encoding": self.headers.get("Transfer-Encoding"),
                                      "content_length": self.headers.get("Content-Length")})
            entry = STATE["requests"][-1]
            authorised = query.get("session_id") in STATE["sessions"]
        if not authorised:
            self.reply(401, headers=[("WWW-Authenticate", 'Basic realm="xapi"')])
            return None
        return url.path, query, entry

    def redirect(self):
        location = "https://%s:%d%s" % (MASTER_IP, PORTS["tls"], self.path)
        self.reply(302, headers=[("Location", location)])

    def stream_headers(self, status_line, extra=b""):
        self.wfile.write(b"HTTP/1.0 " + status_line + b"\r\nConnection: close\r\n" + extra + b"\r\n")
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        if self.path == "/control/stats":
            with LOCK:
                stats = dict(STATE, sessions=sorted(STATE["sessions"]),
                             tasks={r: t["name_label"] + ":" + t["status"] for r, t in STATE["tasks"].items()})
            return self.reply(200, json.dumps(stats).encode(), "application/json")
        context = self.transfer_context()
        if context is None:
            return
        path, query, _ = context
        task = query.get("task_id")
        if path == "/export":
            if KNOBS.get("export_redirect") and self.server.role == "master":
                return self.redirect()
            if query.get("ref") == "OpaqueRef:vm-db":
                end_task(task, error=["VM_BAD_POWER_STATE", "OpaqueRef:vm-db", "halted", "running"])
                return self.reply(500, b"VM_BAD_POWER_STATE", headers=[("Connection", "close")])
            self.stream_headers(b"200 OK", b"content-type: application/octet-stream\r\n")
            body = memoryview(pattern(KNOBS.get("export_mib", 3) << 20))
            try:
                for start in range(0, len(body), 64 * 1024):
                    self.wfile.write(body[start:start + 64 * 1024])
                self.wfile.flush()
            except OSError:
                return end_task(task, error=["EXPORT_ABORTED"])
            return end_task(task, "")
        if path == "/export_metadata":
            body = b"ova.xml of " + query.get("ref", "").encode()
            if query.get("ref") != "OpaqueRef:vm-stuck":
                end_task(task, "")
            return self.reply(200, body, "application/octet-stream")
        if path == "/export_raw_vdi":
            if query.get("vdi") == "OpaqueRef:vdi-bug":  # XAPI bug: an error response as the body
                return self.reply(200, b"HTTP/1.1 500 Internal Server Error\r\n\r\nVDI_IO_ERROR")
            body = pattern(1 << 20)
            end_task(task, "")
            return self.reply(200, body, "application/octet-stream")
        if path == "/pool/xmldbdump":
            end_task(task, "")
            return self.reply(200, b'<?xml version="1.0"?><database/>', "text/xml")
        self.reply(404)

    def do_PUT(self):
        context = self.transfer_context()
        if context is None:
            return
        path, query, entry = context
        task = query.get("task_id")
        if self.headers.get("Transfer-Encoding") is not None:
            end_task(task, error=["IMPORT_ERROR_CANNOT_HANDLE_CHUNKED"])
            return self.reply(403, headers=[("Connection", "close")])
        if task is None:  # XO-style probe: where does this upload go?
            if KNOBS.get("import_redirect") and self.server.role == "master":
                return self.redirect()
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            return self.reply(500, b"IMPORT_ERROR no task", headers=[("Connection", "close")])
        self.stream_headers(b"200 OK")  # XAPI answers before it reads the body
        length = self.headers.get("Content-Length")
        try:
            data = self.rfile.read(int(length)) if length is not None else self.rfile.read()
        except OSError:  # the client gave up
            return end_task(task, error=["IMPORT_ERROR", "connection lost"])
        with LOCK:
            entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if not data or data.startswith(b"bad"):
            return end_task(task, error=["IMPORT_ERROR", "not an XVA"])
        if path == "/import":
            return end_task(task, value_document(["OpaqueRef:imported-vm"]))
        end_task(task, value_document(query.get("vdi", "")))


def serve(address, role, tls=None):
    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    server.role = role
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(CONFIG["cert"], CONFIG["key"])
    for _ in range(50):
        master = serve((MASTER_IP, 0), "master")
        port = master.server_address[1]
        try:
            serve((MEMBER_IP, port), "member")
            break
        except OSError:
            master.shutdown()
            master.server_close()
    else:
        raise SystemExit("no port free on both loopback addresses")
    PORTS["tls"] = serve((MASTER_IP, 0), "master-tls", tls).server_address[1]
    der = ssl.PEM_cert_to_DER_cert(open(CONFIG["cert"]).read())
    print(json.dumps({"port": port, "tls_port": PORTS["tls"],
                      "fingerprint": hashlib.sha256(der).hexdigest()}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
