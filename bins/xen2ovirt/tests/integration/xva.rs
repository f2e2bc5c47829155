//! `--xva`: the VM of an XVA file (exported by xapi-sim's `/export`, as XAPI writes it)
//! migrated without a source host; its bytes identical to the source's.

use std::fs::File;
use std::path::Path;

use xenapi::{Compression, ExportOptions, Session, SessionOptions};

use super::support::{Fixture, assert_identical, code, json, run_raw};

/// Exports the fixture's VM into `path` with the workspace's XAPI client.
fn export(fixture: &Fixture, path: &Path, compression: Compression) {
    let (user, password) = fixture.xen.credentials();
    let session = Session::login(fixture.xen.url(), user, password, SessionOptions::default())
        .expect("log in to xapi-sim");
    let options = ExportOptions {
        compression,
        ..ExportOptions::default()
    };
    let mut download = session
        .export(&fixture.source.vm, &options)
        .expect("export");
    std::io::copy(
        &mut download,
        &mut File::create(path).expect("create the XVA"),
    )
    .expect("copy");
    download.finish().expect("the export's task");
}

#[test]
fn the_vm_of_an_xva_file_moves_without_its_host() {
    let fixture = Fixture::new();
    let xva = fixture.dir.path().join("web-01.xva.zst");
    export(&fixture, &xva, Compression::Zstd);
    let xva = xva.display().to_string();

    // Only the engine's flags and the file: no --xen.
    let engine_only: Vec<String> = fixture.connection_args()[4..].to_vec();
    let mut args: Vec<&str> = engine_only.iter().map(String::as_str).collect();
    let map = format!("{}=ovirtmgmt", super::support::XEN_NETWORK);
    args.extend([
        "--network",
        &map,
        "--storage-domain",
        "data1",
        "--xva",
        &xva,
    ]);

    let plan = run_raw(&[&args[..], &["--dry-run", "--json"]].concat());
    assert_eq!(code(&plan), 0);
    let plan = json(&plan);
    assert_eq!(plan["plan"]["source"]["name"], "web-01");
    assert_eq!(
        plan["plan"]["source"]["nics"][0]["mac"],
        super::support::MAC
    );

    let output = run_raw(&[&args[..], &["--verify", "--json"]].concat());
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["disks"][0]["verified"], true);
    assert_eq!(report["disks"][1]["verified"], true);
    let engine = fixture.engine();
    let vm = engine
        .find_vm("web-01", false)
        .unwrap()
        .expect("the new VM");
    assert_eq!(vm.memory, Some(1536 << 20));
    for (n, disk) in report["disks"].as_array().unwrap().iter().enumerate() {
        let id = disk["id"].as_str().unwrap();
        assert_identical(
            &fixture.source_disk(n),
            &fixture.ovirt.disk_file(id).expect("the disk's file"),
        );
    }
    drop(engine);
    fixture.assert_clean();

    // A cut archive: nothing is left.
    let cut = fixture.dir.path().join("cut.xva");
    export(&fixture, &cut, Compression::None);
    let length = std::fs::metadata(&cut).unwrap().len();
    File::options()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(length * 2 / 3)
        .unwrap();
    let cut = cut.display().to_string();
    args.pop();
    args.extend([cut.as_str(), "--name", "web-cut"]);
    let output = run_raw(&args);
    assert_eq!(code(&output), 1);
    assert!(
        fixture
            .engine()
            .find_vm("web-cut", false)
            .unwrap()
            .is_none()
    );
    fixture.assert_clean();
}
