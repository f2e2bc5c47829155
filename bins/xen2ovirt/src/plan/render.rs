//! The plan as text, for `--dry-run` and the start of a run.

use std::fmt::{self, Display, Write as _};

use super::{DiskBus, Plan, PlannedFixup};
use crate::source::{Firmware, Virtualisation};

/// `2 GiB`, `512 MiB`, `1536 B`: the largest binary unit that divides the value.
fn size(bytes: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    if bytes >= 1 << 20 {
        let tenths = ((bytes & ((1 << 20) - 1)) * 10) >> 20;
        return format!("{}.{tenths} MiB", bytes >> 20);
    }
    format!("{bytes} B")
}

impl Display for Firmware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Firmware::Bios => "BIOS",
            Firmware::Uefi => "UEFI",
            Firmware::UefiSecureBoot => "UEFI, secure boot",
        })
    }
}

impl Display for Virtualisation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Virtualisation::Pv => "PV",
            Virtualisation::Hvm => "HVM",
            Virtualisation::Pvh => "PVH",
        })
    }
}

impl Display for DiskBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiskBus::Virtio => "virtio",
            DiskBus::VirtioScsi => "virtio-scsi",
        })
    }
}

impl Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, t) = (&self.source, &self.target);
        let mut out = String::new();
        let _ = writeln!(out, "source: VM `{}` ({})", s.name, s.uuid);
        let _ = writeln!(
            out,
            "  {}, {}, {} memory, {} vCPU(s) ({} per socket, up to {})",
            s.virtualisation,
            s.firmware,
            size(s.memory),
            s.cpus.count,
            s.cpus.cores_per_socket,
            s.cpus.max
        );
        for disk in &s.disks {
            let _ = writeln!(
                out,
                "  disk {} {:<5} `{}` {} ({} allocated) on `{}`{}{}",
                disk.position,
                disk.device,
                disk.name,
                size(disk.size),
                size(disk.allocated),
                disk.storage,
                if disk.bootable { ", bootable" } else { "" },
                if disk.read_only { ", read-only" } else { "" },
            );
        }
        for nic in &s.nics {
            let _ = writeln!(
                out,
                "  nic {} {} on `{}` ({})",
                nic.position, nic.mac, nic.network, nic.bridge
            );
        }
        let _ = writeln!(out, "target: VM `{}` in cluster `{}`", t.name, t.cluster);
        let _ = writeln!(
            out,
            "  {} memory, {} socket(s) x {} core(s), {}, OS type {}, disks on {}",
            size(t.memory),
            t.sockets,
            t.cores,
            t.firmware,
            t.os_type,
            t.bus
        );
        let domain = &t.storage_domain;
        let _ = writeln!(
            out,
            "  storage domain `{}` ({} storage{})",
            domain.name,
            if domain.block { "block" } else { "file" },
            domain
                .available
                .map(|a| format!(", {} free", size(a)))
                .unwrap_or_default()
        );
        for disk in &t.disks {
            let _ = writeln!(
                out,
                "  disk `{}` {} raw {}{} <- source disk {} ({})",
                disk.name,
                size(disk.size),
                if disk.sparse {
                    "sparse"
                } else {
                    "preallocated"
                },
                if disk.bootable { ", boot disk" } else { "" },
                disk.source_position,
                disk.source_uuid
            );
        }
        for nic in &t.nics {
            let _ = writeln!(
                out,
                "  {} virtio on `{}/{}` <- `{}`, MAC {}",
                nic.name,
                nic.profile.network,
                nic.profile.name,
                nic.source_network,
                nic.mac.as_deref().unwrap_or("chosen by the engine")
            );
        }
        if let Some(fixup) = &self.fixup {
            let _ = write!(out, "{fixup}");
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        f.write_str(&out)
    }
}

impl Display for PlannedFixup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            crate::fixup::FixupMode::Local => "local (staged in the work directory)",
            crate::fixup::FixupMode::Appliance => "on the appliance (after the upload)",
        };
        writeln!(f, "fix-up: {mode}, {}", self.direction)?;
        match (&self.guest, &self.diff) {
            (Some(guest), Some(diff)) => {
                writeln!(f, "  guest: {guest}")?;
                for line in diff.lines() {
                    writeln!(f, "  {line}")?;
                }
                Ok(())
            }
            _ => writeln!(
                f,
                "  (its plan, and the OS type, come from the guest's inspection once its disks \
                 are read)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(2 << 30), "2 GiB");
        assert_eq!(size(512 << 20), "512 MiB");
        assert_eq!(size(1536), "1536 B");
        assert_eq!(size((1 << 30) + 1), "1024.0 MiB");
    }
}
