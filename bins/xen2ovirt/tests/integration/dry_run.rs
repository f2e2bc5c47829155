//! `--dry-run` shows the plan and changes nothing; an incomplete network map stops the run
//! before anything is made.

use super::support::{Fixture, MAC, XEN_NETWORK, code, json};

#[test]
fn the_plan_shows_source_target_and_mapping_and_changes_nothing() {
    let fixture = Fixture::new();
    let before = fixture.xen.vm(&fixture.source.vm).expect("the source VM");

    let output = fixture.run(&["--dry-run", "--json", "--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&output), 0);
    let report = json(&output);
    assert_eq!(report["status"], "plan");
    let (source, target) = (&report["plan"]["source"], &report["plan"]["target"]);
    assert_eq!(source["name"], "web-01");
    assert_eq!(source["virtualisation"], "pv");
    assert_eq!(source["firmware"], "bios");
    assert_eq!(source["memory"], 1536u64 << 20);
    assert_eq!(source["cpus"]["count"], 2);
    assert_eq!(source["disks"][0]["name"], "web-01 system");
    assert_eq!(source["disks"][0]["device"], "xvda");
    assert_eq!(source["disks"][1]["size"], 10u64 << 20);
    assert_eq!(source["nics"][0]["mac"], MAC);
    assert_eq!(source["nics"][0]["network"], XEN_NETWORK);
    assert_eq!(target["name"], "web-01");
    assert_eq!(target["cluster"], "Default");
    assert_eq!(target["storage_domain"]["name"], "data1");
    assert_eq!(
        (target["sockets"].as_u64(), target["cores"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(target["disks"][0]["name"], "web-01_disk0");
    assert_eq!(target["disks"][0]["bootable"], true);
    assert_eq!(target["disks"][0]["sparse"], true);
    assert_eq!(target["disks"][1]["bootable"], false);
    assert_eq!(target["nics"][0]["profile"]["name"], "ovirtmgmt");
    assert_eq!(target["nics"][0]["mac"], MAC);
    let warnings = report["plan"]["warnings"].to_string();
    assert!(warnings.contains("CD drive at position 3"), "{warnings}");

    let text = fixture.run(&["--dry-run", "--storage-domain", "data1", "web-01"]);
    assert_eq!(code(&text), 0);
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "source: VM `web-01`",
        "PV, BIOS, 1536 MiB memory, 2 vCPU(s)",
        "target: VM `web-01` in cluster `Default`",
        "disk `web-01_disk0` 40 MiB raw sparse, boot disk",
        &format!("nic1 virtio on `ovirtmgmt/ovirtmgmt` <- `{XEN_NETWORK}`, MAC {MAC}"),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    assert!(
        fixture.engine().vms(None).unwrap().is_empty(),
        "the engine got a VM"
    );
    assert_eq!(fixture.xen.vm(&fixture.source.vm), Some(before));
    fixture.assert_clean();
}

#[test]
fn unmapped_networks_are_named_and_nothing_starts() {
    let fixture = Fixture::new();
    let output = fixture.run_unmapped(&["--json", "web-01"]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("source network(s) not mapped: `{XEN_NETWORK}`")),
        "{stderr}"
    );
    let report = json(&output);
    assert_eq!(report["status"], "error");
    assert_eq!(report["exit_code"], 2);

    // A profile the engine lacks, a storage domain it lacks: both named at once.
    let output = fixture.run_unmapped(&[
        "--network",
        "xenbr0=nowhere",
        "--storage-domain",
        "data9",
        "web-01",
    ]);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no vNIC profile `nowhere`"), "{stderr}");
    assert!(
        stderr.contains("no data storage domain `data9`"),
        "{stderr}"
    );

    let output = fixture.run(&["no-such-vm"]);
    assert_eq!(code(&output), 2);
    assert!(fixture.engine().vms(None).unwrap().is_empty());
    fixture.assert_clean();
}
