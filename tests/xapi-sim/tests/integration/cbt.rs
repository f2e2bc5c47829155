//! Changed block tracking: writes after `VDI.enable_cbt` show up in
//! `VDI.list_changed_blocks` between two snapshots, as XAPI's MSB-first bitmap.

use base64::prelude::{BASE64_STANDARD, Engine};
use xenapi::rpc::Value;

use super::support::{Rpc, demo, reference, text, vm_named};

#[test]
fn changed_blocks_between_snapshots() {
    let sim = demo();
    let rpc = Rpc::new(sim.url());
    let s = rpc.login(&sim);
    let web = vm_named(&sim, "web-01");
    let disk = sim.vdis_of(&web)[0].clone();
    let snapshot = |rpc: &Rpc| {
        reference(&rpc.ok(
            "VDI.snapshot",
            &[
                s.as_str().into(),
                disk.as_str().into(),
                Value::Struct(vec![]),
            ],
        ))
    };

    let untracked = snapshot(&rpc);
    rpc.ok("VDI.enable_cbt", &[s.as_str().into(), disk.as_str().into()]);
    assert_eq!(
        rpc.ok(
            "VDI.get_cbt_enabled",
            &[s.as_str().into(), disk.as_str().into()]
        ),
        Value::Bool(true)
    );
    let first = snapshot(&rpc);
    assert!(
        sim.vdi(&first).unwrap().cbt_enabled,
        "snapshots inherit CBT"
    );
    sim.write_vdi(&disk, 0, b"boot").unwrap(); // block 0
    sim.write_vdi(&disk, 9 * 65536 + 100, &vec![1; 65536])
        .unwrap(); // blocks 9 and 10
    let second = snapshot(&rpc);
    sim.write_vdi(&disk, 200 * 65536, b"later").unwrap(); // block 200
    let third = snapshot(&rpc);

    let changed = |from: &xapi_sim::Ref, to: &xapi_sim::Ref| -> Vec<u64> {
        let encoded = text(&rpc.ok(
            "VDI.list_changed_blocks",
            &[s.as_str().into(), from.as_str().into(), to.as_str().into()],
        ));
        let bitmap = BASE64_STANDARD.decode(encoded).unwrap();
        assert_eq!(
            bitmap.len(),
            16 * 1024 * 1024 / 65536 / 8,
            "one bit per 64 KiB block"
        );
        (0..bitmap.len() as u64 * 8)
            .filter(|i| bitmap[(*i / 8) as usize] & (0x80 >> (i % 8)) != 0)
            .collect()
    };
    assert_eq!(changed(&first, &second), [0, 9, 10]);
    assert_eq!(changed(&second, &third), [200]);
    assert_eq!(changed(&first, &third), [0, 9, 10, 200]);
    // Destroying the middle snapshot keeps the chain whole.
    rpc.ok("VDI.destroy", &[s.as_str().into(), second.as_str().into()]);
    assert_eq!(changed(&first, &third), [0, 9, 10, 200]);

    let no_metadata = rpc.err(
        "VDI.list_changed_blocks",
        &[
            s.as_str().into(),
            untracked.as_str().into(),
            third.as_str().into(),
        ],
    );
    assert_eq!(no_metadata, ["VDI_NO_CBT_METADATA", untracked.as_str()]);
    rpc.ok(
        "VDI.disable_cbt",
        &[s.as_str().into(), disk.as_str().into()],
    );
    assert_eq!(
        rpc.ok(
            "VDI.get_cbt_enabled",
            &[s.as_str().into(), disk.as_str().into()]
        ),
        Value::Bool(false)
    );
}
