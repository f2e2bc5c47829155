//! Downloads fetched with curl and checked by independent readers (GNU tar, Python,
//! qemu-img) and by disk-image's XVA reader, byte for byte against the pool's disks.

use xapi_sim::Ref;
use xenapi::rpc::Value;

use super::support::{Rpc, curl, demo, path_in, python, read_xva, reference, run, text, vm_named};

/// Logs in and snapshots `name`; returns the session and the snapshot.
fn snapshot_of(sim: &xapi_sim::SimHandle, rpc: &Rpc, name: &str) -> (String, Ref) {
    let s = rpc.login(sim);
    let vm = vm_named(sim, name);
    let snap = reference(&rpc.ok(
        "VM.snapshot",
        &[
            s.as_str().into(),
            vm.as_str().into(),
            format!("{name} snap").into(),
        ],
    ));
    (s, snap)
}

#[test]
fn curl_exports_a_snapshot_as_a_verifiable_xva() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let (s, snap) = snapshot_of(&sim, &rpc, "db-01");
    let task = text(&rpc.ok(
        "task.create",
        &[s.as_str().into(), "export".into(), "".into()],
    ));
    let dir = tempfile::tempdir().unwrap();
    let xva = path_in(&dir, "db.xva");
    let url = format!(
        "{}/export?session_id={s}&task_id={task}&ref={snap}",
        sim.url()
    );
    let output = curl(&["-sS", "-D", "-", "-o", xva.to_str().unwrap(), &url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(head.starts_with("http/1.0 200"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(
        head.contains(&format!("task-id: {}", task.to_lowercase())),
        "{head}"
    );

    let record = rpc.wait_task(&s, &task);
    assert_eq!(
        record.member("status").and_then(Value::as_str),
        Some("success")
    );

    let listing = run("tar", "tar", &["-tf", xva.to_str().unwrap()]);
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(names[0], "ova.xml");
    assert!(
        names[1].ends_with("/00000000") && names[2].ends_with("/00000000.xxhash"),
        "{names:?}"
    );

    let (disks, reports) = read_xva(&xva);
    let snapshot_disks = sim.vdis_of(&snap);
    assert_eq!(disks.len(), 2);
    assert_eq!(snapshot_disks.len(), disks.len(), "every disk is exported");
    for (bytes, vdi) in disks.iter().zip(&snapshot_disks) {
        assert!(*bytes == sim.vdi_bytes(vdi).unwrap(), "disk bytes differ");
    }
    assert!(
        reports
            .iter()
            .all(|r| r.xxhash_checksums == r.chunks && r.verified)
    );
    // Sparse: the 32 MiB data disk carries its data chunks, not all 32.
    assert!(reports[1].chunks < 32, "{:?}", reports[1]);

    let (reader, _) = disk_image::xva::XvaReader::open_path(&xva).unwrap();
    let metadata = reader.metadata();
    let (_, vm) = &metadata.vms[0];
    assert_eq!(vm.name_label, "db-01 snap");
    assert_eq!((vm.vcpus_max, vm.memory_static_max), (2, 2048 << 20));
    assert!(
        !vm.is_a_snapshot && vm.is_a_template,
        "exports normalise snapshots"
    );
    assert_eq!(metadata.vifs.len(), 1);
    assert_eq!(metadata.version.export_vsn, 2);
    rpc.ok("task.destroy", &[s.as_str().into(), task.as_str().into()]);
}

#[test]
fn compressed_exports_and_basic_authentication() {
    let sim = demo();
    let web = vm_named(&sim, "web-01");
    let (user, password) = sim.credentials();
    let dir = tempfile::tempdir().unwrap();
    for (compression, magic) in [
        ("zstd", &[0x28u8, 0xB5, 0x2F, 0xFD][..]),
        ("gzip", &[0x1F, 0x8B][..]),
    ] {
        let xva = path_in(&dir, compression);
        let url = format!(
            "{}/export?uuid={}&use_compression={compression}",
            sim.url(),
            sim.vm(&web).unwrap().uuid
        );
        let output = curl(&[
            "-sS",
            "-f",
            "-u",
            &format!("{user}:{password}"),
            "-o",
            xva.to_str().unwrap(),
            &url,
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes = std::fs::read(&xva).unwrap();
        assert!(bytes.starts_with(magic), "{compression}");
        let (disks, _) = read_xva(&xva);
        assert!(disks[0] == sim.vdi_bytes(&sim.vdis_of(&web)[0]).unwrap());
    }
    assert!(
        sim.audit().is_clean(),
        "Basic authentication leaves no session: {}",
        sim.audit()
    );
    let denied = curl(&[
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-u",
        "root:wrong",
        &format!("{}/export?ref={web}", sim.url()),
    ]);
    assert_eq!(String::from_utf8_lossy(&denied.stdout), "401");
}

#[test]
fn a_running_vm_is_refused_through_its_task() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let db = vm_named(&sim, "db-01");
    let task = text(&rpc.ok(
        "task.create",
        &[s.as_str().into(), "export".into(), "".into()],
    ));
    let url = format!(
        "{}/export?session_id={s}&task_id={task}&ref={db}",
        sim.url()
    );
    let output = curl(&["-sS", "-o", "/dev/null", "-w", "%{http_code}", &url]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "403");
    let record = rpc.wait_task(&s, &task);
    assert_eq!(
        record.member("status").and_then(Value::as_str),
        Some("failure")
    );
    let info = record
        .member("error_info")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(text(&info[0]), "VM_BAD_POWER_STATE");
}

#[test]
fn metadata_raw_vhd_and_database_dumps() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let (s, snap) = snapshot_of(&sim, &rpc, "web-01");
    let web = vm_named(&sim, "web-01");
    let dir = tempfile::tempdir().unwrap();

    let metadata = path_in(&dir, "meta.tar");
    let url = format!("{}/export_metadata?session_id={s}&ref={web}", sim.url());
    let output = curl(&[
        "-sS",
        "-f",
        "-D",
        "-",
        "-o",
        metadata.to_str().unwrap(),
        &url,
    ]);
    let head = String::from_utf8_lossy(&output.stdout).to_lowercase();
    let size = std::fs::metadata(&metadata).unwrap().len();
    assert!(head.contains(&format!("content-length: {size}")), "{head}");
    assert_eq!(
        run("tar", "tar", &["-tf", metadata.to_str().unwrap()]).trim(),
        "ova.xml"
    );
    let (reader, _) = disk_image::xva::XvaReader::open_path(&metadata).unwrap();
    let vms = &reader.metadata().vms;
    assert_eq!(vms.len(), 2, "the VM and its snapshot");
    assert!(
        vms.iter()
            .any(|(_, vm)| vm.is_a_snapshot && vm.name_label == "web-01 snap")
    );

    let disk = sim.vdis_of(&snap)[0].clone();
    let raw = path_in(&dir, "disk.raw");
    let url = format!(
        "{}/export_raw_vdi?session_id={s}&vdi={disk}&format=raw",
        sim.url()
    );
    assert!(
        curl(&["-sS", "-f", "-o", raw.to_str().unwrap(), &url])
            .status
            .success()
    );
    assert!(std::fs::read(&raw).unwrap() == sim.vdi_bytes(&disk).unwrap());

    let vhd = path_in(&dir, "disk.vhd");
    let uuid = sim.vdi(&disk).unwrap().uuid;
    let url = format!(
        "{}/export_raw_vdi?session_id={s}&vdi={uuid}&format=vhd",
        sim.url()
    );
    assert!(
        curl(&["-sS", "-f", "-o", vhd.to_str().unwrap(), &url])
            .status
            .success()
    );
    let back = path_in(&dir, "back.raw");
    run(
        "qemu-img",
        "qemu-utils",
        &[
            "convert",
            "-f",
            "vpc",
            "-O",
            "raw",
            vhd.to_str().unwrap(),
            back.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(&back).unwrap() == sim.vdi_bytes(&disk).unwrap(),
        "qemu-img reads the VHD back"
    );

    let dump = path_in(&dir, "pool.xml");
    let url = format!("{}/pool/xmldbdump?session_id={s}", sim.url());
    assert!(
        curl(&["-sS", "-f", "-o", dump.to_str().unwrap(), &url])
            .status
            .success()
    );
    let script = "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\n\
                  print(sorted(t.get('name') for t in root.findall('table')))\n\
                  print(sorted(r.get('name_label') for r in root.find(\"table[@name='VM']\")))";
    let tables = python(script, &[dump.to_str().unwrap()]);
    let lines: Vec<&str> = tables.lines().collect();
    assert_eq!(
        lines[0],
        "['SR', 'VBD', 'VDI', 'VIF', 'VM', 'host', 'network', 'pool']"
    );
    assert!(
        lines[1].contains("'web-01 snap'") && lines[1].contains("'db-01'"),
        "{}",
        lines[1]
    );
}
