//! lvm2 through its commands: reports read as JSON, snapshots made and removed, every exit
//! status checked (a failing `lvs` still prints a well-formed, empty report).

use std::path::PathBuf;

use sys_mount::UnmountFlags;

use crate::error::{LvmError, Result};
use crate::mount::mounts_of;
use crate::names::{VolumeRef, check_name};
use crate::owner::{Owner, TAG};
use crate::report::{LV_FIELDS, VG_FIELDS, rows};
use crate::runner::{CommandRunner, SystemRunner, command_line};
use crate::snapshot::{Snapshot, SnapshotSize};
use crate::volumes::{LogicalVolume, VolumeGroup};

/// lvm2 on this machine (or behind a test runner), acting for one owner.
#[derive(Debug)]
pub struct Lvm<R = SystemRunner> {
    runner: R,
    owner: Owner,
}

/// A stale snapshot of ours that was removed before a new one was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// The snapshot as it was found.
    pub volume: LogicalVolume,
    /// The run that made it, from its owner tag.
    pub owner: Option<Owner>,
    /// Where it was still mounted (and was unmounted).
    pub unmounted: Vec<PathBuf>,
}

impl Lvm<SystemRunner> {
    /// lvm2's commands on this machine, acting for this process.
    pub fn system() -> Result<Self> {
        Ok(Lvm::new(SystemRunner, Owner::this_process()?))
    }
}

impl<R: CommandRunner> Lvm<R> {
    /// lvm2 through `runner`, making snapshots owned by `owner`.
    pub fn new(runner: R, owner: Owner) -> Self {
        Lvm { runner, owner }
    }

    /// The runner.
    pub fn runner(&self) -> &R {
        &self.runner
    }

    /// Whom the snapshots made here belong to.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Every volume group.
    pub fn volume_groups(&self) -> Result<Vec<VolumeGroup>> {
        self.vgs(&[], "all volume groups")
    }

    /// One volume group.
    pub fn volume_group(&self, vg: &str) -> Result<VolumeGroup> {
        check_name(vg)?;
        let mut groups = self.vgs(&[vg], vg)?;
        match (groups.pop(), groups.is_empty()) {
            (Some(group), true) if group.name == vg => Ok(group),
            _ => Err(LvmError::Report {
                command: format!("vgs {vg}"),
                target: vg.to_owned(),
                problem: "not exactly the one volume group asked for".into(),
            }),
        }
    }

    /// The volumes of `vg` (hidden sub-volumes excluded).
    pub fn volumes(&self, vg: &str) -> Result<Vec<LogicalVolume>> {
        check_name(vg)?;
        let argv = report_argv("lvs", LV_FIELDS, &[vg]);
        let stdout = self.run(&argv, vg)?;
        let rows = rows(&stdout, "lv").map_err(|problem| report_error(&argv, vg, problem))?;
        rows.iter()
            .map(LogicalVolume::from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| report_error(&argv, vg, problem))
    }

    /// One volume, `None` if `vg` has no volume of that name.
    pub fn volume(&self, volume: &VolumeRef) -> Result<Option<LogicalVolume>> {
        Ok(self
            .volumes(volume.vg())?
            .into_iter()
            .find(|v| v.name == volume.lv()))
    }

    /// The volumes of `vg` that carry the `vmtoolkit` tag (whoever owns them).
    pub fn ours(&self, vg: &str) -> Result<Vec<LogicalVolume>> {
        Ok(self
            .volumes(vg)?
            .into_iter()
            .filter(LogicalVolume::is_ours)
            .collect())
    }

    /// The snapshots of ours in `vg` that an interrupted run left: their owner does not run
    /// any more (or their owner tag is unreadable). [`Lvm::snapshot`] removes such a
    /// snapshot when it makes a new one of the same name; this lists them all, to report.
    pub fn stale(&self, vg: &str) -> Result<Vec<LogicalVolume>> {
        Ok(self
            .ours(vg)?
            .into_iter()
            .filter(|v| v.is_snapshot() && !v.owner().is_some_and(|o| o.is_running(&self.owner)))
            .collect())
    }

    /// Snapshots `origin` as `name` (in the origin's volume group), tagged as ours.
    ///
    /// A stale snapshot of ours of the same origin under that name (its owner does not run
    /// any more) is unmounted, removed and reported in [`Snapshot::replaced`]; a volume
    /// that is not ours is never touched ([`LvmError::NameTaken`]), nor is one whose owner
    /// still runs ([`LvmError::InUse`]). A thin snapshot is activated even though thin
    /// snapshots skip activation by default. If `lvcreate` fails, nothing of ours is left.
    pub fn snapshot(
        &self,
        origin: &VolumeRef,
        name: &str,
        size: SnapshotSize,
    ) -> Result<Snapshot<'_, R>> {
        let target = origin.sibling(name)?;
        let size_args = size.lvcreate_args(&target)?;
        let _span = tracing::info_span!("snapshot", origin = %origin, snapshot = %target).entered();
        let volumes = self.volumes(origin.vg())?;
        if !volumes.iter().any(|v| v.name == origin.lv()) {
            return Err(LvmError::NotFound {
                vg: origin.vg().to_owned(),
                lv: origin.lv().to_owned(),
            });
        }
        let replaced = match volumes.iter().find(|v| v.name == name) {
            Some(existing) => Some(self.clear_stale(existing, origin)?),
            None => None,
        };

        let owner_tag = self.owner.tag();
        let mut argv: Vec<String> = vec!["lvcreate".into(), "-s".into()];
        argv.extend(size_args);
        argv.extend([
            "-n".into(),
            name.into(),
            "--addtag".into(),
            TAG.into(),
            "--addtag".into(),
            owner_tag.clone(),
        ]);
        argv.push(origin.to_string());
        if let Err(error) = self.run(&argv, &target.to_string()) {
            self.remove_leftover(&target, &owner_tag);
            return Err(error);
        }
        tracing::info!(size = ?size, "snapshot created");
        let mut snapshot = Snapshot::new(self, target.clone(), origin.clone(), replaced);
        let mut volume = self.volume(&target)?.ok_or_else(|| LvmError::NotFound {
            vg: target.vg().to_owned(),
            lv: target.lv().to_owned(),
        })?;
        if !volume.active {
            self.run(
                &strings(&["lvchange", "-ay", "-K", &target.to_string()]),
                &target.to_string(),
            )?;
            volume = self.volume(&target)?.filter(|v| v.active).ok_or_else(|| {
                LvmError::NotActivated {
                    vg: target.vg().to_owned(),
                    lv: target.lv().to_owned(),
                }
            })?;
        }
        snapshot.set_volume(volume);
        Ok(snapshot)
    }

    /// Removes `volume` (`lvremove -f`).
    pub(crate) fn remove(&self, volume: &VolumeRef) -> Result<()> {
        self.run(
            &strings(&["lvremove", "-f", &volume.to_string()]),
            &volume.to_string(),
        )?;
        tracing::info!(volume = %volume, "snapshot removed");
        Ok(())
    }

    /// Decides about an existing volume named like the snapshot to make: removes it if it
    /// is a stale snapshot of ours of `origin`, refuses otherwise.
    fn clear_stale(&self, existing: &LogicalVolume, origin: &VolumeRef) -> Result<Stale> {
        let taken = |why: String| LvmError::NameTaken {
            vg: existing.vg.clone(),
            lv: existing.name.clone(),
            origin: origin.lv().to_owned(),
            why,
        };
        if !existing.is_ours() {
            return Err(taken(format!("it has no `{TAG}` tag")));
        }
        if !existing.is_snapshot() {
            return Err(taken("it is not a snapshot".into()));
        }
        if existing.origin.as_deref() != Some(origin.lv()) {
            return Err(taken(format!(
                "it is a snapshot of {}/{}",
                existing.vg,
                existing.origin.as_deref().unwrap_or_default()
            )));
        }
        let owner = existing.owner();
        if let Some(owner) = &owner
            && owner.is_running(&self.owner)
        {
            return Err(LvmError::InUse {
                vg: existing.vg.clone(),
                lv: existing.name.clone(),
                owner: owner.to_string(),
            });
        }
        tracing::warn!(
            snapshot = %format!("{}/{}", existing.vg, existing.name),
            owner = %owner.as_ref().map_or_else(|| "unknown".to_owned(), Owner::to_string),
            created = %existing.created,
            "removing a stale snapshot an interrupted run left"
        );
        let mut unmounted = Vec::new();
        if let Some((major, minor)) = existing.device_number {
            for target in mounts_of(major, minor)? {
                sys_mount::unmount(&target, UnmountFlags::empty()).map_err(|source| {
                    LvmError::Io {
                        action: format!(
                            "unmounting {} (a mount of stale snapshot {}/{})",
                            target.display(),
                            existing.vg,
                            existing.name
                        ),
                        source,
                    }
                })?;
                tracing::warn!(target = %target.display(), "unmounted a stale snapshot");
                unmounted.push(target);
            }
        }
        self.remove(&VolumeRef::new(&existing.vg, &existing.name)?)?;
        Ok(Stale {
            volume: existing.clone(),
            owner,
            unmounted,
        })
    }

    /// After a failed `lvcreate`: removes a volume of that name that carries this run's
    /// owner tag, should lvm2 have left one; logs what it could not do.
    fn remove_leftover(&self, target: &VolumeRef, owner_tag: &str) {
        match self.volume(target) {
            Ok(Some(volume)) if volume.tags.iter().any(|t| t == owner_tag) => {
                if let Err(error) = self.remove(target) {
                    tracing::error!(volume = %target, %error, "could not remove what a failed lvcreate left");
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(volume = %target, %error, "could not check what a failed lvcreate left");
            }
        }
    }

    fn vgs(&self, names: &[&str], target: &str) -> Result<Vec<VolumeGroup>> {
        let argv = report_argv("vgs", VG_FIELDS, names);
        let stdout = self.run(&argv, target)?;
        let rows = rows(&stdout, "vg").map_err(|problem| report_error(&argv, target, problem))?;
        rows.iter()
            .map(VolumeGroup::from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| report_error(&argv, target, problem))
    }

    /// Runs `argv`; its stdout if it exited 0.
    fn run(&self, argv: &[String], target: &str) -> Result<String> {
        tracing::debug!(command = %command_line(argv), "running");
        let output = self.runner.run(argv).map_err(|source| LvmError::Spawn {
            command: command_line(argv),
            target: target.to_owned(),
            source,
        })?;
        if output.success() {
            Ok(output.stdout)
        } else {
            Err(LvmError::Command {
                command: command_line(argv),
                target: target.to_owned(),
                code: output.code,
                stderr: output.stderr,
            })
        }
    }
}

fn report_argv(command: &str, fields: &str, names: &[&str]) -> Vec<String> {
    let mut argv = strings(&[
        command,
        "--reportformat",
        "json",
        "--units",
        "b",
        "--nosuffix",
        "-o",
        fields,
    ]);
    argv.extend(names.iter().map(|a| (*a).to_owned()));
    argv
}

fn report_error(argv: &[String], target: &str, problem: String) -> LvmError {
    LvmError::Report {
        command: command_line(argv),
        target: target.to_owned(),
        problem,
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}
