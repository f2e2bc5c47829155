//! The guest's own LVM volume groups, activated where the host has device-mapper.
//!
//! Every lvm2 command runs with `--devices` listing only the guest's physical volumes (the
//! partitions of the loop devices we attached), so the host's own volume groups are never
//! scanned, activated or deactivated. Before activating, a volume group whose name or UUID
//! is already active on the host (a device-mapper device `<vg>-…` or `LVM-<vg uuid>…`, or a
//! `/dev/<vg>` directory) is refused: the two would share `/dev/<vg>/` and
//! `/dev/mapper/<vg>-*`, and deactivating it would take down something that is not ours. A
//! volume group with missing physical volumes (a disk of the guest not given) is refused too.
//!
//! Each activated group is a [`VgGuard`], deactivated (`vgchange -an` of exactly that group,
//! with the same `--devices`) by [`VgGuard::deactivate`] or on drop, which
//! [`super::Guest`] does after its mounts are gone and before its loop devices go.
//!
//! Ownership: nothing is created in the guest's LVM (no snapshot, no volume), and the groups
//! are not tagged: a tag would write the guest's metadata (an image opened for inspection is
//! read-only) and a backup copy of it into the host's `/etc/lvm`. What marks an activation as
//! ours is the guard itself (it holds the group's UUID and exactly the devices it was
//! activated from) and the refusal of any group that was active before we started; every
//! step is logged in a span naming the group. A read-only open activates the groups with
//! `activation/read_only_volume_list`, so their volumes are read-only device-mapper devices.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{GuestFixupError, Result};
use crate::facts::{LvName, Volume};
use crate::runner::CommandRunner;

/// Whether this host can activate volume groups: `/dev/mapper/control` opens (the node can
/// exist while the kernel has no driver behind it: opening fails with ENODEV).
pub fn device_mapper() -> std::result::Result<(), String> {
    let control = "/dev/mapper/control";
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(control)
        .map(drop)
        .map_err(|e| format!("opening {control}: {e}"))
}

/// A device-mapper device active on the host: its name and UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveDm {
    /// `vg-lv`, or any other device-mapper name.
    pub name: String,
    /// `LVM-<vg uuid><lv uuid>` for LVM's devices (UUIDs without dashes).
    pub uuid: String,
}

/// The device-mapper devices active on the host (from `/sys/block/dm-*/dm`).
pub fn active_dm() -> Vec<ActiveDm> {
    let Ok(entries) = fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dm-"))
        .map(|e| {
            let read = |f: &str| {
                fs::read_to_string(e.path().join("dm").join(f))
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default()
            };
            ActiveDm {
                name: read("name"),
                uuid: read("uuid"),
            }
        })
        .collect()
}

/// A volume group found on the guest's physical volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestVg {
    /// Its name.
    pub name: String,
    /// Its UUID (as lvm2 prints it, with dashes).
    pub uuid: String,
    /// How many of its physical volumes are missing.
    pub missing_pvs: u32,
    /// Its physical volumes (host devices), in the order given.
    pub pvs: Vec<PathBuf>,
}

/// Why activating `vg` would touch something that is not ours, if it would.
pub fn clash(vg: &GuestVg, active: &[ActiveDm], dev_dir: &Path) -> Option<String> {
    let uuid_prefix = format!("LVM-{}", vg.uuid.replace('-', ""));
    if let Some(dm) = active.iter().find(|d| d.uuid.starts_with(&uuid_prefix)) {
        return Some(format!(
            "a volume group with its UUID {} is already active on this host (device-mapper device {})",
            vg.uuid, dm.name
        ));
    }
    let mangled = vg.name.replace('-', "--");
    if let Some(dm) = active
        .iter()
        .find(|d| dm_vg_part(&d.name) == Some(&mangled))
    {
        return Some(format!(
            "the name is taken on this host (device-mapper device {} is active)",
            dm.name
        ));
    }
    let dir = dev_dir.join(&vg.name);
    if dir.exists() {
        return Some(format!(
            "the name is taken on this host ({} exists)",
            dir.display()
        ));
    }
    None
}

/// The volume group part of a device-mapper name (`a--b-c` -> `a--b`): up to the first `-`
/// that is not doubled.
fn dm_vg_part(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'-' {
            if bytes.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            return Some(&name[..i]);
        }
        i += 1;
    }
    None
}

#[derive(Deserialize)]
struct Report<T> {
    report: Vec<BTreeMap<String, Vec<T>>>,
}

#[derive(Deserialize)]
struct PvRow {
    pv_name: String,
    vg_name: String,
    vg_uuid: String,
    vg_missing_pv_count: String,
}

#[derive(Deserialize)]
struct LvRow {
    vg_name: String,
    lv_name: String,
    lv_dm_path: String,
    lv_active: String,
    lv_attr: String,
}

fn rows<T: for<'de> Deserialize<'de>>(
    json: &str,
    section: &str,
    argv: &[String],
) -> Result<Vec<T>> {
    let report: Report<T> = serde_json::from_str(json).map_err(|e| GuestFixupError::Command {
        command: argv.join(" "),
        outcome: format!("printed a report guest-fixup cannot read: {e}"),
        stderr: String::new(),
    })?;
    Ok(report
        .report
        .into_iter()
        .flat_map(|mut s| s.remove(section).unwrap_or_default())
        .collect())
}

/// The guest's LVM: lvm2 commands restricted to its physical volumes.
#[derive(Clone)]
pub struct GuestLvm {
    runner: Arc<dyn CommandRunner + Send>,
    devices: String,
}

impl std::fmt::Debug for GuestLvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestLvm")
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

impl GuestLvm {
    /// lvm2 restricted to `pvs` (the guest's physical volumes, host devices).
    pub fn new(runner: Arc<dyn CommandRunner + Send>, pvs: &[PathBuf]) -> Self {
        let devices = pvs
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(",");
        Self { runner, devices }
    }

    fn argv(&self, command: &str, rest: &[&str]) -> Vec<String> {
        let mut argv = vec![
            command.to_owned(),
            "--devices".to_owned(),
            self.devices.clone(),
        ];
        argv.extend(rest.iter().map(|s| (*s).to_owned()));
        argv
    }

    /// The volume groups on the guest's physical volumes.
    pub fn groups(&self) -> Result<Vec<GuestVg>> {
        let argv = self.argv(
            "pvs",
            &[
                "--reportformat",
                "json",
                "-o",
                "pv_name,vg_name,vg_uuid,vg_missing_pv_count",
            ],
        );
        let json = self.runner.run(&argv)?;
        let mut groups: Vec<GuestVg> = Vec::new();
        for row in rows::<PvRow>(&json, "pv", &argv)? {
            if row.vg_name.is_empty() {
                continue;
            }
            let pv = PathBuf::from(row.pv_name);
            if let Some(vg) = groups.iter_mut().find(|g| g.uuid == row.vg_uuid) {
                vg.pvs.push(pv);
            } else {
                groups.push(GuestVg {
                    name: row.vg_name,
                    uuid: row.vg_uuid,
                    missing_pvs: row.vg_missing_pv_count.trim().parse().unwrap_or(0),
                    pvs: vec![pv],
                });
            }
        }
        Ok(groups)
    }

    /// Activates `vg` (read-only volumes if asked); the guard exists before `vgchange` runs,
    /// so a half-done activation is undone too.
    pub fn activate(&self, vg: &GuestVg, read_only: bool) -> Result<VgGuard> {
        let _span = tracing::info_span!("activate", vg = %vg.name, uuid = %vg.uuid).entered();
        let guard = VgGuard {
            lvm: self.clone(),
            name: vg.name.clone(),
            uuid: vg.uuid.clone(),
            active: true,
        };
        let read_only_list = format!(
            "activation {{ read_only_volume_list = [ \"{}\" ] }}",
            vg.name
        );
        let mut rest = vec!["-ay"];
        if read_only {
            rest.extend(["--config", &read_only_list]);
        }
        rest.push(&vg.name);
        self.runner.run(&self.argv("vgchange", &rest))?;
        tracing::info!(read_only, "volume group activated");
        Ok(guard)
    }

    /// The active logical volumes of `vg` that can hold a filesystem or swap (thin pools
    /// left out), as `(name, device-mapper path)`.
    pub fn volumes(&self, vg: &str) -> Result<Vec<(LvName, PathBuf)>> {
        let argv = self.argv(
            "lvs",
            &[
                "--reportformat",
                "json",
                "-o",
                "vg_name,lv_name,lv_dm_path,lv_active,lv_attr",
                vg,
            ],
        );
        let json = self.runner.run(&argv)?;
        Ok(rows::<LvRow>(&json, "lv", &argv)?
            .into_iter()
            .filter(|r| r.lv_active == "active" && !r.lv_dm_path.is_empty())
            .filter(|r| !r.lv_attr.starts_with('t'))
            .map(|r| {
                (
                    LvName {
                        vg: r.vg_name,
                        lv: r.lv_name,
                    },
                    PathBuf::from(r.lv_dm_path),
                )
            })
            .collect())
    }
}

/// A volume group we activated; deactivated by [`VgGuard::deactivate`] or on drop.
#[derive(Debug)]
pub struct VgGuard {
    lvm: GuestLvm,
    name: String,
    uuid: String,
    active: bool,
}

impl VgGuard {
    /// The volume group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deactivates the volume group (`vgchange -an` of exactly it, on the guest's devices).
    pub fn deactivate(mut self) -> Result<()> {
        self.deactivate_inner()
    }

    fn deactivate_inner(&mut self) -> Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        let _span = tracing::info_span!("deactivate", vg = %self.name, uuid = %self.uuid).entered();
        self.lvm
            .runner
            .run(&self.lvm.argv("vgchange", &["-an", &self.name]))?;
        tracing::info!("volume group deactivated");
        Ok(())
    }
}

impl Drop for VgGuard {
    fn drop(&mut self) {
        if let Err(error) = self.deactivate_inner() {
            tracing::error!(vg = %self.name, %error, "could not deactivate a guest volume group");
        }
    }
}

/// Activates every volume group on `pvs` (the guest's physical volumes, each with the index
/// of its disk) and returns their logical volumes as probed volumes; each activated group's
/// guard is pushed to `guards` as soon as it exists.
pub fn activate_all(
    runner: Arc<dyn CommandRunner + Send>,
    pvs: &[(usize, PathBuf)],
    read_only: bool,
    guards: &mut Vec<VgGuard>,
) -> Result<Vec<Volume>> {
    let devices: Vec<PathBuf> = pvs.iter().map(|(_, p)| p.clone()).collect();
    let lvm = GuestLvm::new(runner, &devices);
    let groups = lvm.groups()?;
    let active = active_dm();
    for vg in &groups {
        if vg.missing_pvs > 0 {
            return Err(GuestFixupError::Lvm {
                vg: vg.name.clone(),
                problem: format!(
                    "{} of its physical volumes are missing (give every disk of the guest)",
                    vg.missing_pvs
                ),
            });
        }
        if let Some(problem) = clash(vg, &active, Path::new("/dev")) {
            return Err(GuestFixupError::Lvm {
                vg: vg.name.clone(),
                problem: format!("{problem}: refusing to activate the guest's volume group"),
            });
        }
    }
    let mut volumes = Vec::new();
    for vg in &groups {
        guards.push(lvm.activate(vg, read_only)?);
        let disk = vg
            .pvs
            .first()
            .and_then(|pv| pvs.iter().find(|(_, p)| p == pv))
            .map_or(0, |(d, _)| *d);
        for (name, path) in lvm.volumes(&vg.name)? {
            let mut volume = super::probe::volume(disk, None, &path, false);
            volume.lv = Some(name);
            volumes.push(volume);
        }
    }
    Ok(volumes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::RecordingRunner;

    fn vg(name: &str, uuid: &str) -> GuestVg {
        GuestVg {
            name: name.into(),
            uuid: uuid.into(),
            missing_pvs: 0,
            pvs: vec![],
        }
    }

    #[test]
    fn a_group_active_on_the_host_by_name_or_uuid_clashes() {
        let none = Path::new("/nonexistent-dev-dir");
        let active = [
            ActiveDm {
                name: "host--vg-root".into(),
                uuid: "LVM-AAAABBBBCCCCxxxx".into(),
            },
            ActiveDm {
                name: "luks-1234".into(),
                uuid: "CRYPT-LUKS2-1234".into(),
            },
        ];
        assert!(
            clash(&vg("host-vg", "ZZZZ"), &active, none)
                .is_some_and(|c| c.contains("host--vg-root"))
        );
        assert!(
            clash(&vg("guest", "AAAA-BBBB-CCCC"), &active, none)
                .is_some_and(|c| c.contains("UUID"))
        );
        // `host` alone is not `host--vg`, nor is `luks` a volume group's device.
        assert_eq!(clash(&vg("host", "QQQQ"), &active, none), None);
        assert!(clash(&vg("luks", "QQQQ"), &active, none).is_some());
        assert_eq!(clash(&vg("guestvg", "QQQQ"), &active, none), None);
    }

    #[test]
    fn the_volume_group_part_of_a_dm_name_keeps_doubled_dashes() {
        assert_eq!(dm_vg_part("a--b-c--d"), Some("a--b"));
        assert_eq!(dm_vg_part("vg-root"), Some("vg"));
        assert_eq!(dm_vg_part("plain"), None);
    }

    #[test]
    fn every_lvm_command_is_restricted_to_the_guest_devices_and_deactivates_exactly_its_group() {
        let pvs = r#"{"report":[{"pv":[
            {"pv_name":"/dev/loop7p2","vg_name":"guestvg","vg_uuid":"u1","vg_missing_pv_count":"0"},
            {"pv_name":"/dev/loop7p3","vg_name":"","vg_uuid":"","vg_missing_pv_count":""}]}]}"#;
        let runner = Arc::new(RecordingRunner::new().answer("pvs", pvs).answer(
            "lvs",
            r#"{"report":[{"lv":[
                {"vg_name":"guestvg","lv_name":"root","lv_dm_path":"/dev/mapper/guestvg-root","lv_active":"active","lv_attr":"-wi-a-----"},
                {"vg_name":"guestvg","lv_name":"pool","lv_dm_path":"/dev/mapper/guestvg-pool","lv_active":"active","lv_attr":"twi-a-tz--"}]}]}"#,
        ));
        let devices = [PathBuf::from("/dev/loop7p2"), PathBuf::from("/dev/loop7p3")];
        let lvm = GuestLvm::new(runner.clone(), &devices);
        let groups = lvm.groups().unwrap();
        assert_eq!(groups.len(), 1, "the orphan PV holds no group");
        let guard = lvm.activate(&groups[0], true).unwrap();
        let volumes = lvm.volumes("guestvg").unwrap();
        assert_eq!(volumes.len(), 1, "thin pools hold no filesystem");
        assert_eq!(volumes[0].0.dm_name(), "guestvg-root");
        guard.deactivate().unwrap();
        let calls = runner.calls();
        for call in &calls {
            assert_eq!(
                call[1..3],
                ["--devices", "/dev/loop7p2,/dev/loop7p3"],
                "{call:?}"
            );
        }
        assert_eq!(calls[1][3], "-ay");
        assert!(
            calls[1]
                .iter()
                .any(|a| a.contains("read_only_volume_list = [ \"guestvg\" ]"))
        );
        assert_eq!(calls.last().unwrap()[3..], ["-an", "guestvg"]);
    }

    #[test]
    fn a_failed_activation_is_still_deactivated_and_drop_deactivates_once() {
        let runner = Arc::new(RecordingRunner::new().fail("vgchange"));
        let lvm = GuestLvm::new(runner.clone(), &[PathBuf::from("/dev/loop1p2")]);
        assert!(lvm.activate(&vg("g", "u"), false).is_err());
        let calls = runner.calls();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[1][3..], ["-an", "g"]);
        let lvm = GuestLvm::new(Arc::new(RecordingRunner::new()), &[PathBuf::from("/dev/x")]);
        drop(lvm.activate(&vg("g", "u"), false).unwrap());
    }
}
