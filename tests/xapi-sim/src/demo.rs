//! The demo pool: three VMs with real (sparse, pseudo-random, file-system-like) disks, one
//! of them running.

use xenapi::records::PowerState;

use crate::config::{DiskContents, NewDisk, NewVm, SimConfig};

const MIB: u64 = 1 << 20;

impl SimConfig {
    /// [`SimConfig::new`] plus three VMs: `web-01` (halted, HVM, one 16 MiB disk),
    /// `db-01` (running, two disks of 16 and 32 MiB) and `mail-01` (halted, PV, an 8 MiB
    /// disk and an empty CD drive), each with one VIF. Disk contents come from fixed seeds,
    /// so every demo pool holds the same bytes.
    pub fn demo() -> Self {
        let pattern = |seed, data_mib| DiskContents::Pattern {
            seed,
            data_bytes: data_mib * MIB,
        };
        let web = NewVm::new("web-01")
            .disk(NewDisk::new("web-01 system", 16 * MIB, pattern(1, 3)))
            .vif("");
        let db = NewVm::new("db-01")
            .disk(NewDisk::new("db-01 system", 16 * MIB, pattern(2, 2)))
            .disk(NewDisk::new("db-01 data", 32 * MIB, pattern(3, 4)))
            .vif("")
            .power(PowerState::Running);
        let mut mail = NewVm::new("mail-01")
            .disk(NewDisk::new("mail-01 system", 8 * MIB, pattern(4, 1)))
            .vif("");
        mail.hvm = false;
        mail.cd_drive = true;
        mail.memory = 512 * MIB.cast_signed();
        let mut db = db;
        db.vcpus = 2;
        db.memory = 2048 * MIB.cast_signed();
        SimConfig::new().with_vm(web).with_vm(db).with_vm(mail)
    }
}
