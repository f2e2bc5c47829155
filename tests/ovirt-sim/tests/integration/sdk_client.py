"""The official oVirt SDK (ovirtsdk4) and imageio client driving the simulator: an
independent client. Usage: sdk_client.py SCENARIO URL USER PASSWORD CA [ARGS...]
Prints one JSON object with what it saw; exits non-zero on an unexpected failure."""

import json
import sys
import time
import urllib.request
import ssl

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
from ovirt_imageio import client

scenario, url, user, password, ca = sys.argv[1:6]
args = sys.argv[6:]
out = {}


def connect():
    return sdk.Connection(url=url, username=user, password=password, ca_file=ca)


def wait(what, check, deadline=20.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def wait_gone(service, what):
    """Waits until `service.get()` answers 404."""
    def gone():
        try:
            service.get()
            return False
        except sdk.NotFoundError:
            return True
    wait(what, gone)


def disk_ok(system, disk_id):
    return system.disks_service().disk_service(disk_id).get().status == types.DiskStatus.OK


def transfer(system, disk_id, direction, backup=None):
    transfers = system.image_transfers_service()
    t = transfers.add(types.ImageTransfer(
        disk=types.Disk(id=disk_id), direction=direction, format=types.DiskFormat.RAW,
        inactivity_timeout=120, backup=types.Backup(id=backup) if backup else None))
    ts = transfers.image_transfer_service(t.id)
    phases = [t.phase.value]
    def transferring():
        phase = ts.get().phase
        if phases[-1] != phase.value:
            phases.append(phase.value)
        return phase == types.ImageTransferPhase.TRANSFERRING
    wait("transferring", transferring)
    t = ts.get()
    host = system.hosts_service().host_service(t.host.id).get()
    return ts, t, phases, host.name


def finalize(ts, phases):
    ts.finalize()
    def done():
        phase = ts.get().phase
        if phases[-1] != phase.value:
            phases.append(phase.value)
        return phase in (types.ImageTransferPhase.FINISHED_SUCCESS, types.ImageTransferPhase.FINISHED_FAILURE)
    wait("finished", done)
    return phases[-1]


def basics():
    c = connect()
    c.test(raise_exception=True)
    system = c.system_service()
    vms = system.vms_service()
    vm = vms.list(search="name=vm1", all_content=True, case_sensitive=True)[0]
    out["vm"] = vm.name
    out["ovf_has_name"] = "<Name>vm1</Name>" in vm.initialization.configuration.data
    out["wildcard"] = sorted(v.name for v in vms.list(search="name=vm*"))
    vs = vms.vm_service(vm.id)
    followed = vs.get(follow="disk_attachments.disk")
    out["followed_disks"] = sorted(a.disk.name for a in followed.disk_attachments)
    # snapshot add / poll / delete
    snaps = vs.snapshots_service()
    s = snaps.add(types.Snapshot(description="BU_sdk", persist_memorystate=False),
                  query={"correlation_id": "sdk-snap-1"})
    out["snapshot_first_status"] = s.snapshot_status.value
    ss = snaps.snapshot_service(s.id)
    wait("snapshot ok", lambda: ss.get().snapshot_status == types.SnapshotStatus.OK)
    out["snapshot_disks"] = len(ss.disks_service().list())
    out["snapshot_ovf"] = "<Name>vm1</Name>" in ss.get(query={"all_content": "true"}).initialization.configuration.data
    jobs = system.jobs_service().list(search="correlation_id=sdk-snap-1")
    out["job"] = [j.status.value for j in jobs]
    ss.remove()
    wait_gone(ss, "snapshot removed")
    out["snapshot_types_after"] = [x.snapshot_type.value for x in snaps.list()]
    # a fault: block domains refuse raw + sparse
    block = system.storage_domains_service().list(search="name=block1")[0]
    try:
        system.disks_service().add(types.Disk(
            name="bad", format=types.DiskFormat.RAW, sparse=True, provisioned_size=1 << 20,
            storage_domains=[types.StorageDomain(id=block.id)]))
        out["block_fault"] = None
    except sdk.Error as e:
        out["block_fault"] = str(e)
    try:
        vms.vm_service("00000000-1111-2222-3333-444444444444").get()
    except sdk.NotFoundError as e:
        out["not_found"] = e.code
    # disk add, upload and download through the real imageio daemon
    source, back = args
    data1 = system.storage_domains_service().list(search="name=data1")[0]
    disk = system.disks_service().add(types.Disk(
        name="sdk-disk", format=types.DiskFormat.COW, sparse=True, provisioned_size=64 << 20,
        backup=types.DiskBackup.INCREMENTAL, storage_domains=[types.StorageDomain(id=data1.id)]))
    out["disk_first_status"] = disk.status.value
    wait("disk ok", lambda: disk_ok(system, disk.id))
    ts, t, phases, host = transfer(system, disk.id, types.ImageTransferDirection.UPLOAD)
    out["host"] = host
    client.upload(source, t.transfer_url, ca)
    out["upload_phases"] = phases
    finalize(ts, phases)
    wait("disk ok after upload", lambda: disk_ok(system, disk.id))
    ts, t, phases, _ = transfer(system, disk.id, types.ImageTransferDirection.DOWNLOAD)
    client.download(t.transfer_url, back, ca, fmt="qcow2")
    finalize(ts, phases)
    out["download_phases"] = phases
    out["disk"] = disk.id
    c.close()


def relogin():
    c = connect()
    vms = c.system_service().vms_service().list()
    out["vms"] = len(vms)
    c.close()
    wrong = sdk.Connection(url=url, username=user, password=password + "x", ca_file=ca)
    try:
        wrong.test(raise_exception=True)
        out["wrong_password"] = "accepted"
    except sdk.AuthError as e:
        out["wrong_password"] = str(e)


def reader():
    """Fetch raw bodies and parse them with the SDK's own reader."""
    from ovirtsdk4.reader import Reader
    context = ssl.create_default_context(cafile=ca)
    engine = url.rsplit("/ovirt-engine/api", 1)[0]
    form = urllib.parse.urlencode({"grant_type": "password", "scope": "ovirt-app-api",
                                   "username": user, "password": password}).encode()
    token = json.load(urllib.request.urlopen(urllib.request.Request(
        engine + "/ovirt-engine/sso/oauth/token", data=form,
        headers={"Accept": "application/json"}), context=context))["access_token"]
    def get(path):
        request = urllib.request.Request(url + path, headers={
            "Authorization": "Bearer " + token, "Version": "4", "Accept": "application/xml"})
        try:
            return urllib.request.urlopen(request, context=context).read()
        except urllib.error.HTTPError as e:
            return e.read()
    def parse(path):
        value = Reader.read(get(path))
        if isinstance(value, list):
            return [type(v).__name__ for v in value][:1] or ["empty"]
        return type(value).__name__
    vm = Reader.read(get("/vms?search=name%3Dvm1"))[0]
    parsed = {}
    for path in ["", "/vms", "/vms/%s?all_content=true" % vm.id, "/vms/%s/diskattachments" % vm.id,
                 "/vms/%s/nics" % vm.id, "/vms/%s/snapshots" % vm.id, "/vms/%s/tags" % vm.id,
                 "/vms/%s/backups" % vm.id, "/vms/%s/checkpoints" % vm.id, "/disks", "/storagedomains",
                 "/clusters", "/datacenters", "/hosts", "/networks", "/vnicprofiles", "/users", "/tags",
                 "/imagetransfers", "/jobs", "/vms/no-such-vm"]:
        parsed[path.split("?")[0].replace(vm.id, "VM")] = parse(path)
    out["parsed"] = parsed
    urllib.request.urlopen(urllib.request.Request(
        engine + "/ovirt-engine/services/sso-logout",
        data=urllib.parse.urlencode({"scope": "ovirt-app-api", "token": token}).encode()), context=context)


def busy_snapshot():
    c = connect()
    vs = c.system_service().vms_service()
    vm = vs.list(search="name=vm2")[0]
    snaps = vs.vm_service(vm.id).snapshots_service()
    try:
        snaps.add(types.Snapshot(description="first try", persist_memorystate=False))
        out["first"] = "accepted"
    except sdk.Error as e:
        out["first"] = e.code
    s = snaps.add(types.Snapshot(description="second try", persist_memorystate=False))
    ss = snaps.snapshot_service(s.id)
    wait("snapshot ok", lambda: ss.get().snapshot_status == types.SnapshotStatus.OK)
    ss.remove()
    wait_gone(ss, "snapshot removed")
    c.close()


def locked_disk():
    c = connect()
    system = c.system_service()
    data1 = system.storage_domains_service().list(search="name=data1")[0]
    disk = system.disks_service().add(types.Disk(
        name="stuck", format=types.DiskFormat.RAW, sparse=True, provisioned_size=1 << 20,
        storage_domains=[types.StorageDomain(id=data1.id)]))
    try:
        wait("disk ok", lambda: disk_ok(system, disk.id), deadline=float(args[0]))
        out["deadline"] = "met"
    except RuntimeError:
        out["deadline"] = "passed"
    try:
        system.disks_service().disk_service(disk.id).remove()
        out["remove_locked"] = "accepted"
    except sdk.Error as e:
        out["remove_locked"] = e.code
    wait("disk ok", lambda: disk_ok(system, disk.id))
    system.disks_service().disk_service(disk.id).remove()
    out["disk"] = disk.id
    c.close()


def failed_finalize():
    c = connect()
    system = c.system_service()
    data1 = system.storage_domains_service().list(search="name=data1")[0]
    disk = system.disks_service().add(types.Disk(
        name="doomed", format=types.DiskFormat.COW, sparse=True, provisioned_size=8 << 20,
        storage_domains=[types.StorageDomain(id=data1.id)]))
    wait("disk ok", lambda: disk_ok(system, disk.id))
    ts, t, phases, _ = transfer(system, disk.id, types.ImageTransferDirection.UPLOAD)
    client.upload(args[0], t.transfer_url, ca)
    out["phase"] = finalize(ts, phases)
    out["phases"] = phases
    try:
        system.disks_service().disk_service(disk.id).get()
        out["disk"] = "kept"
    except sdk.NotFoundError:
        out["disk"] = "removed"
    c.close()


def dropped():
    c = connect()
    vms = c.system_service().vms_service()
    try:
        vms.list()
        out["first"] = "answered"
    except sdk.Error as e:
        out["first"] = "error"
    out["second"] = len(vms.list())
    c.close()


def appliance():
    """Snapshot vm1, attach the snapshot of its boot disk to the appliance (args[0]=attach|detach)."""
    c = connect()
    vms = c.system_service().vms_service()
    vm = vms.list(search="name=vm1")[0]
    app = vms.list(search="name=backup-appliance")[0]
    snaps = vms.vm_service(vm.id).snapshots_service()
    attachments = vms.vm_service(app.id).disk_attachments_service()
    if args[0] == "attach":
        s = snaps.add(types.Snapshot(description="BU_appliance", persist_memorystate=False))
        ss = snaps.snapshot_service(s.id)
        wait("snapshot ok", lambda: ss.get().snapshot_status == types.SnapshotStatus.OK)
        disk = [d for d in ss.disks_service().list() if d.name == "vm1-boot"][0]
        a = attachments.add(types.DiskAttachment(
            disk=types.Disk(id=disk.id, snapshot=types.Snapshot(id=s.id)), active=True,
            bootable=False, interface=types.DiskInterface.VIRTIO))
        out["disk"] = disk.id
        out["snapshot"] = s.id
        out["logical_name"] = attachments.attachment_service(a.id).get().logical_name
    else:
        disk, snapshot = args[1], args[2]
        attachments.attachment_service(disk).remove()
        snaps.snapshot_service(snapshot).remove()
        wait_gone(snaps.snapshot_service(snapshot), "snapshot removed")
    c.close()


def backup():
    """A full backup of vm1-data, or (args[0]=incremental CHECKPOINT) an incremental one; prints
    the dirty extents of the incremental download."""
    c = connect()
    system = c.system_service()
    vms = system.vms_service()
    vm = vms.list(search="name=vm1")[0]
    vs = vms.vm_service(vm.id)
    disk = [a.disk for a in vs.disk_attachments_service().list()
            if system.disks_service().disk_service(a.disk.id).get().name == "vm1-data"][0]
    backups = vs.backups_service()
    from_checkpoint = args[1] if args[0] == "incremental" else None
    b = backups.add(types.Backup(disks=[types.Disk(id=disk.id)], from_checkpoint_id=from_checkpoint))
    bs = backups.backup_service(b.id)
    wait("backup ready", lambda: bs.get().phase == types.BackupPhase.READY)
    out["modes"] = [d.backup_mode.value for d in bs.disks()] if hasattr(bs, "disks") else None
    ts, t, phases, _ = transfer(system, disk.id, types.ImageTransferDirection.DOWNLOAD, backup=b.id)
    context = ssl.create_default_context(cafile=ca)
    if from_checkpoint:
        extents = json.load(urllib.request.urlopen(t.transfer_url + "/extents?context=dirty", context=context))
        out["dirty"] = [[e["start"], e["length"]] for e in extents if e["dirty"]]
    else:
        client.download(t.transfer_url, args[1], ca, fmt="raw")
    finalize(ts, phases)
    bs.finalize()
    wait("backup succeeded", lambda: bs.get().phase == types.BackupPhase.SUCCEEDED)
    out["checkpoint"] = bs.get().to_checkpoint_id
    out["checkpoints"] = len(vs.checkpoints_service().list())
    c.close()


def lifecycle():
    """A VM from template Blank with a NIC and a new disk; start, stop, deactivate, detach,
    remove; a VM from another's OVF; tags; Basic auth and the CA from pki-resource."""
    c = connect()
    system = c.system_service()
    vms = system.vms_service()
    network = system.networks_service().list(search="name=ovirtmgmt")[0]
    profile = system.networks_service().network_service(network.id).vnic_profiles_service().list()[0]
    vm = vms.add(types.Vm(
        name="new-vm", cluster=types.Cluster(name="Default"), template=types.Template(name="Blank"),
        memory=2 << 30, cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=2, threads=1)),
        os=types.OperatingSystem(type="other_linux"), type=types.VmType.SERVER,
        bios=types.Bios(type=types.BiosType.Q35_OVMF)))
    out["new_status"] = vm.status.value
    vs = vms.vm_service(vm.id)
    nic = vs.nics_service().add(types.Nic(name="nic1", interface=types.NicInterface.VIRTIO,
                                          vnic_profile=types.VnicProfile(id=profile.id)))
    out["nic_profile"] = nic.vnic_profile.id == profile.id
    attachments = vs.disk_attachments_service()
    a = attachments.add(types.DiskAttachment(
        disk=types.Disk(name="new-vm-disk", format=types.DiskFormat.RAW, sparse=True,
                        provisioned_size=4 << 20,
                        storage_domains=[types.StorageDomain(name="data1")]),
        interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
    wait("new disk ok", lambda: disk_ok(system, a.disk.id))
    vs.start()
    wait("vm up", lambda: vs.get().status == types.VmStatus.UP)
    vs.stop()
    out["stopped"] = vs.get().status.value
    attachment = attachments.attachment_service(a.id)
    attachment.update(types.DiskAttachment(active=False))
    out["deactivated"] = attachment.get().active
    attachment.remove()
    out["disk_kept"] = disk_ok(system, a.disk.id)
    system.disks_service().disk_service(a.disk.id).remove()
    ovf = vs.get(all_content=True).initialization.configuration.data
    out["ovf_cpu"] = "<rasd:num_of_sockets>2</rasd:num_of_sockets>" in ovf
    vs.remove()
    clone = vms.add(types.Vm(
        cluster=types.Cluster(name="Default"),
        initialization=types.Initialization(configuration=types.Configuration(
            type=types.ConfigurationType.OVF, data=ovf))))
    out["from_ovf"] = clone.name
    tag = system.tags_service().add(types.Tag(name="nightly"))
    cs = vms.vm_service(clone.id)
    cs.tags_service().add(types.Tag(id=tag.id))
    out["tags"] = [t.name for t in cs.tags_service().list()]
    cs.remove()
    system.tags_service().tag_service(tag.id).remove()
    try:
        vms.add(types.Vm(name="vm1", cluster=types.Cluster(name="Default"), template=types.Template(name="Blank")))
    except sdk.Error as e:
        out["duplicate"] = e.code
    c.close()
    engine = url.rsplit("/ovirt-engine/api", 1)[0]
    pem = urllib.request.urlopen(
        engine + "/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA",
        context=ssl.create_default_context(cafile=ca)).read().decode()
    out["pki_matches"] = pem == open(ca).read()
    import base64
    request = urllib.request.Request(url + "/vms", headers={
        "Authorization": "Basic " + base64.b64encode((user + ":" + password).encode()).decode(),
        "Version": "4"})
    from ovirtsdk4.reader import Reader
    out["basic"] = len(Reader.read(urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca)).read()))


def restore_settings():
    """What a restore sends: memory policy, boot order, a description, a NIC with a MAC
    (refused when another NIC has it), the description updated."""
    c = connect()
    system = c.system_service()
    vms = system.vms_service()
    network = system.networks_service().list(search="name=ovirtmgmt")[0]
    profile = system.networks_service().network_service(network.id).vnic_profiles_service().list()[0]
    vm = vms.add(types.Vm(
        name="restored", description="building", cluster=types.Cluster(name="Default"),
        template=types.Template(name="Blank"), memory=2 << 30,
        memory_policy=types.MemoryPolicy(guaranteed=1 << 30, max=8 << 30),
        os=types.OperatingSystem(type="other_linux", boot=types.Boot(
            devices=[types.BootDevice.NETWORK, types.BootDevice.HD]))))
    vs = vms.vm_service(vm.id)
    got = vs.get()
    out["boot"] = [d.value for d in got.os.boot.devices]
    out["memory_policy"] = [got.memory_policy.guaranteed, got.memory_policy.max]
    out["description"] = got.description
    nic = vs.nics_service().add(types.Nic(name="nic1", interface=types.NicInterface.VIRTIO,
                                          vnic_profile=types.VnicProfile(id=profile.id),
                                          mac=types.Mac(address="56:6F:AA:BB:CC:DD")))
    out["mac"] = nic.mac.address
    try:
        vs.nics_service().add(types.Nic(name="nic2", vnic_profile=types.VnicProfile(id=profile.id),
                                        mac=types.Mac(address="56:6f:aa:bb:cc:dd")))
    except sdk.Error as e:
        out["duplicate_mac"] = e.code
    vs.update(types.Vm(description="restored from a backup"))
    out["updated"] = vs.get().description
    vs.remove()
    c.close()


def cow_and_snapshot():
    """Upload a qcow2 file as is (format=cow: the file backend), and download a disk snapshot
    (snapshot=<image id>) of vm1's boot disk."""
    c = connect()
    system = c.system_service()
    data1 = system.storage_domains_service().list(search="name=data1")[0]
    source, back = args
    disk = system.disks_service().add(types.Disk(
        name="cow-upload", format=types.DiskFormat.COW, sparse=True, provisioned_size=16 << 20,
        storage_domains=[types.StorageDomain(id=data1.id)]))
    wait("disk ok", lambda: disk_ok(system, disk.id))
    transfers = system.image_transfers_service()
    t = transfers.add(types.ImageTransfer(disk=types.Disk(id=disk.id),
                                          direction=types.ImageTransferDirection.UPLOAD,
                                          format=types.DiskFormat.COW))
    ts = transfers.image_transfer_service(t.id)
    wait("transferring", lambda: ts.get().phase == types.ImageTransferPhase.TRANSFERRING)
    ts.extend()
    context = ssl.create_default_context(cafile=ca)
    data = open(source, "rb").read()
    put = urllib.request.Request(ts.get().transfer_url + "?flush=y", data=data, method="PUT", headers={
        "Content-Range": "bytes 0-%d/*" % (len(data) - 1)})
    urllib.request.urlopen(put, context=context)
    out["cow_phase"] = finalize(ts, [""])
    out["cow_disk"] = disk.id
    vms = system.vms_service()
    vm = vms.list(search="name=vm1")[0]
    snaps = vms.vm_service(vm.id).snapshots_service()
    s = snaps.add(types.Snapshot(description="BU_disk_snapshot", persist_memorystate=False))
    ss = snaps.snapshot_service(s.id)
    wait("snapshot ok", lambda: ss.get().snapshot_status == types.SnapshotStatus.OK)
    boot = [d for d in ss.disks_service().list() if d.name == "vm1-boot"][0]
    out["boot"] = boot.id
    t = transfers.add(types.ImageTransfer(snapshot=types.DiskSnapshot(id=boot.image_id),
                                          direction=types.ImageTransferDirection.DOWNLOAD,
                                          format=types.DiskFormat.RAW))
    ts = transfers.image_transfer_service(t.id)
    wait("transferring", lambda: ts.get().phase == types.ImageTransferPhase.TRANSFERRING)
    client.download(ts.get().transfer_url, back, ca, fmt="raw")
    out["snapshot_phase"] = finalize(ts, [""])
    ss.remove()
    wait_gone(ss, "snapshot removed")
    c.close()


def remove_root_checkpoint():
    c = connect()
    vms = c.system_service().vms_service()
    vm = vms.list(search="name=vm1")[0]
    checkpoints = vms.vm_service(vm.id).checkpoints_service()
    ids = [x.id for x in checkpoints.list()]
    try:
        checkpoints.checkpoint_service(ids[-1]).remove()
        out["newest"] = "removed"
    except sdk.Error as e:
        out["newest"] = e.code
    checkpoints.checkpoint_service(ids[0]).remove()
    out["left"] = [x.id for x in checkpoints.list()]
    out["removed"] = ids[0]
    c.close()


def two_snapshots():
    """Two snapshots of vm2 with an upload after each (args: the two images); the older
    snapshot is removed first (its overlay merges down under the newer one), then the newer."""
    c = connect()
    system = c.system_service()
    vms = system.vms_service()
    vm = vms.list(search="name=vm2")[0]
    disk = vms.vm_service(vm.id).disk_attachments_service().list()[0].disk
    snaps = vms.vm_service(vm.id).snapshots_service()
    made = []
    for name, image in [("older", args[0]), ("newer", args[1])]:
        s = snaps.add(types.Snapshot(description=name, persist_memorystate=False))
        ss = snaps.snapshot_service(s.id)
        wait("snapshot ok", lambda: ss.get().snapshot_status == types.SnapshotStatus.OK)
        made.append(ss)
        ts, t, phases, _ = transfer(system, disk.id, types.ImageTransferDirection.UPLOAD)
        client.upload(image, t.transfer_url, ca)
        finalize(ts, phases)
        wait("disk ok", lambda: disk_ok(system, disk.id))
    for ss in made:
        ss.remove()
        wait_gone(ss, "snapshot removed")
    wait("disk ok", lambda: disk_ok(system, disk.id))
    out["left"] = [x.snapshot_type.value for x in snaps.list()]
    out["disk"] = disk.id
    c.close()


def attach_direct():
    """Attach vm2's boot disk itself to the appliance (args[0]=attach|detach)."""
    c = connect()
    vms = c.system_service().vms_service()
    vm = vms.list(search="name=vm2")[0]
    app = vms.list(search="name=backup-appliance")[0]
    disk = args[1] if len(args) > 1 else vms.vm_service(vm.id).disk_attachments_service().list()[0].disk
    attachments = vms.vm_service(app.id).disk_attachments_service()
    own = vms.vm_service(vm.id).disk_attachments_service()
    if args[0] == "attach":
        # A disk is attached to one VM at a time: detach it from vm2 (the disk stays) first.
        own.attachment_service(disk.id).remove()
        attachments.add(types.DiskAttachment(disk=types.Disk(id=disk.id), active=True, bootable=False,
                                             interface=types.DiskInterface.VIRTIO))
    else:
        attachments.attachment_service(disk).remove()
        own.add(types.DiskAttachment(disk=types.Disk(id=disk), active=True, bootable=True,
                                     interface=types.DiskInterface.VIRTIO))
    out["disk"] = disk if isinstance(disk, str) else disk.id
    c.close()


globals()[scenario]()
print(json.dumps(out))
