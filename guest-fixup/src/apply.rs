//! Carries out a [`Plan`]: file edits first (each original kept beside itself as
//! `PATH.guest-fixup-orig`), then the steps (mkswap on the host, the guest's tools in its
//! chroot). A journal in the guest (`/var/lib/guest-fixup/journal-N.json`), written before
//! each change, lets [`undo`] put every file back, including the ones the guest's tools
//! rewrote (initramfs images, grub.cfg). A recreated swap signature is not undone: it replaced
//! nothing. Each apply is a generation N (a guest moved to KVM and later back to Xen has two);
//! its originals are `PATH.guest-fixup-orig` for the first and `PATH.guest-fixup-orig.N` after,
//! and undo reverses the newest. A plan made before the files changed is refused. Steps run
//! in order, except those marked concurrent (grub-install), which run beside the others.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{GuestFixupError, Result};
use crate::fs::GuestFs;
use crate::plan::{Arg, Plan, Step};
use crate::runner::CommandRunner;

/// Where apply keeps its journals inside the guest.
pub const JOURNAL_DIR: &str = "/var/lib/guest-fixup";
/// The suffix of the kept originals.
pub const ORIGINAL_SUFFIX: &str = ".guest-fixup-orig";

/// What apply needs besides the guest's files: its runners and the attached disks.
pub struct ApplyContext<'a> {
    /// Runs the guest's tools inside its root.
    pub guest: &'a dyn CommandRunner,
    /// Runs host tools (mkswap).
    pub host: &'a dyn CommandRunner,
    /// The host devices of the guest's disks, by index (for `grub-install`).
    pub disks: Vec<PathBuf>,
    /// Host volume devices and the guest's names for them after the move (`/dev/loop3p1`,
    /// `vda1`): a tool run in the chroot on a host without udev may write the host's name
    /// into a text file it generates; it is replaced by the guest's.
    pub host_names: Vec<(PathBuf, String)>,
}

/// One change recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum Change {
    /// The file existed and was replaced; the original is beside it.
    Edited {
        /// The guest path.
        path: String,
    },
    /// The file did not exist and was created.
    Created {
        /// The guest path.
        path: String,
    },
    /// The file was moved beside itself (a removal that undo reverses).
    Removed {
        /// The guest path.
        path: String,
    },
}

/// The journal of one apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Which apply this is on this guest (1, 2, …).
    pub generation: u32,
    /// The conversion applied.
    pub direction: String,
    /// Every change, in order.
    pub changes: Vec<Change>,
    /// Steps that ran, as command lines.
    pub ran: Vec<String>,
}

/// Applies `plan` to the guest `fs`.
pub fn apply(fs: &dyn GuestFs, plan: &Plan, cx: &ApplyContext<'_>) -> Result<Applied> {
    let _span = tracing::info_span!("apply", direction = %plan.direction).entered();
    for edit in &plan.edits {
        if fs.read_text(&edit.path)? != edit.before {
            return Err(GuestFixupError::Busy {
                device: edit.path.clone().into(),
                detail: "the file changed since the plan was made (plan again)".into(),
            });
        }
    }
    let generation = generations(fs)?.last().copied().unwrap_or(0) + 1;
    let mut journal = Applied {
        generation,
        direction: plan.direction.to_string(),
        ..Applied::default()
    };
    for edit in &plan.edits {
        let original = original(&edit.path, generation);
        match (&edit.before, &edit.after) {
            (Some(_), Some(after)) => {
                record(
                    fs,
                    &mut journal,
                    Change::Edited {
                        path: edit.path.clone(),
                    },
                )?;
                fs.copy(&edit.path, &original)?;
                fs.write(&edit.path, after.as_bytes())?;
            }
            (None, Some(after)) => {
                record(
                    fs,
                    &mut journal,
                    Change::Created {
                        path: edit.path.clone(),
                    },
                )?;
                fs.write(&edit.path, after.as_bytes())?;
            }
            (Some(_), None) => {
                record(
                    fs,
                    &mut journal,
                    Change::Removed {
                        path: edit.path.clone(),
                    },
                )?;
                fs.rename(&edit.path, &original)?;
            }
            (None, None) => {}
        }
        tracing::info!(path = %edit.path, "edited");
    }
    run_steps(fs, plan, cx, &mut journal)?;
    Ok(journal)
}

/// Runs the steps in order, except the concurrent ones, which run in threads of their own
/// from the start (their backups journaled first); the first error is returned once every
/// step that started has ended.
fn run_steps(
    fs: &dyn GuestFs,
    plan: &Plan,
    cx: &ApplyContext<'_>,
    journal: &mut Applied,
) -> Result<()> {
    let concurrent = |s: &&Step| {
        matches!(
            s,
            Step::Chroot {
                concurrent: true,
                ..
            }
        )
    };
    std::thread::scope(|scope| {
        let mut background = Vec::new();
        for step in plan.steps.iter().filter(concurrent) {
            let Step::Chroot { argv, rewrites, .. } = step else {
                continue;
            };
            let words = prepare_chroot(fs, argv, rewrites, cx, journal)?;
            let runner = cx.guest;
            let span = tracing::Span::current();
            let handle = scope.spawn(move || span.in_scope(|| runner.run(&words)));
            background.push((step, handle));
        }
        let mut first_error = None;
        for step in plan.steps.iter().filter(|s| !concurrent(s)) {
            let line = crate::render::describe(step).1;
            if let Err(e) = run_step(fs, step, cx, journal) {
                first_error = Some(e);
                break;
            }
            journal.ran.push(line);
            write_journal(fs, journal)?;
        }
        for (step, handle) in background {
            let ran = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let finished = ran.and_then(|_| match step {
                Step::Chroot { rewrites, .. } => finish_chroot(fs, rewrites, cx),
                _ => Ok(()),
            });
            match finished {
                Ok(()) => {
                    journal.ran.push(crate::render::describe(step).1);
                    write_journal(fs, journal)?;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}

fn run_step(
    fs: &dyn GuestFs,
    step: &Step,
    cx: &ApplyContext<'_>,
    journal: &mut Applied,
) -> Result<()> {
    match step {
        Step::MakeSwap {
            disk,
            partition,
            host_device,
            uuid,
            label,
            ..
        } => {
            let device = host_device
                .clone()
                .ok_or_else(|| GuestFixupError::Command {
                    command: "mkswap".into(),
                    outcome: format!(
                        "has no device: disk {disk} partition {partition:?} is not attached"
                    ),
                    stderr: String::new(),
                })?;
            cx.host.run(&mkswap_argv(
                uuid.as_deref(),
                label.as_deref(),
                &device.to_string_lossy(),
            ))?;
        }
        Step::MakeSwapFile {
            path, size, uuid, ..
        } => {
            let host = fs.host_path(path)?;
            write_zeros(&host, *size)?;
            cx.host
                .run(&mkswap_argv(uuid.as_deref(), None, &host.to_string_lossy()))?;
        }
        Step::Chroot { argv, rewrites, .. } => {
            let words = prepare_chroot(fs, argv, rewrites, cx, journal)?;
            cx.guest.run(&words)?;
            finish_chroot(fs, rewrites, cx)?;
        }
    }
    Ok(())
}

/// Keeps the files a chroot step rewrites beside themselves (journaled) and resolves its
/// command line.
fn prepare_chroot(
    fs: &dyn GuestFs,
    argv: &[Arg],
    rewrites: &[String],
    cx: &ApplyContext<'_>,
    journal: &mut Applied,
) -> Result<Vec<String>> {
    for path in rewrites {
        let already = journal.changes.iter().any(
            |c| matches!(c, Change::Edited { path: p } | Change::Created { path: p } if p == path),
        );
        if already {
            continue;
        }
        if fs.exists(path)? {
            record(fs, journal, Change::Edited { path: path.clone() })?;
            fs.copy(path, &original(path, journal.generation))?;
        } else {
            record(fs, journal, Change::Created { path: path.clone() })?;
        }
    }
    argv.iter()
        .map(|a| match a {
            Arg::Text(t) => Ok(t.clone()),
            Arg::Disk(i) => cx
                .disks
                .get(*i)
                .map(|d| d.to_string_lossy().into_owned())
                .ok_or_else(|| GuestFixupError::Command {
                    command: "grub-install".into(),
                    outcome: format!("has no device: disk {i} is not attached"),
                    stderr: String::new(),
                }),
        })
        .collect()
}

/// After a chroot step: the host's device names it wrote into text files become the guest's.
fn finish_chroot(fs: &dyn GuestFs, rewrites: &[String], cx: &ApplyContext<'_>) -> Result<()> {
    for path in rewrites.iter().filter(|p| {
        std::path::Path::new(p)
            .extension()
            .is_some_and(|e| e == "cfg" || e == "conf")
    }) {
        replace_host_names(fs, path, &cx.host_names)?;
    }
    Ok(())
}

fn mkswap_argv(uuid: Option<&str>, label: Option<&str>, device: &str) -> Vec<String> {
    let mut argv = vec!["mkswap".to_owned()];
    if let Some(uuid) = uuid {
        argv.extend(["-U".to_owned(), uuid.to_owned()]);
    }
    if let Some(label) = label {
        argv.extend(["-L".to_owned(), label.to_owned()]);
    }
    argv.push(device.to_owned());
    argv
}

fn write_zeros(path: &std::path::Path, size: u64) -> Result<()> {
    let io = |e| GuestFixupError::io("writing the swap file", path, e);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).map_err(io)?;
        left -= n as u64;
    }
    file.sync_all().map_err(io)
}

/// Replaces host device names (`/dev/loop3p1`) a chroot tool wrote with the guest's names.
fn replace_host_names(fs: &dyn GuestFs, path: &str, names: &[(PathBuf, String)]) -> Result<()> {
    let Some(text) = fs.read_text(path)? else {
        return Ok(());
    };
    let mut names: Vec<&(PathBuf, String)> = names.iter().collect();
    // Longest first, so /dev/loop3p10 is not taken for /dev/loop3p1 followed by 0.
    names.sort_by_key(|(d, _)| std::cmp::Reverse(d.as_os_str().len()));
    let mut new = text.clone();
    for (device, name) in names {
        new = new.replace(&*device.to_string_lossy(), &format!("/dev/{name}"));
    }
    if new != text {
        tracing::info!(path, "replaced host device names");
        fs.write(path, new.as_bytes())?;
    }
    Ok(())
}

/// Where the original of `path` is kept by apply number `generation`.
fn original(path: &str, generation: u32) -> String {
    if generation <= 1 {
        format!("{path}{ORIGINAL_SUFFIX}")
    } else {
        format!("{path}{ORIGINAL_SUFFIX}.{generation}")
    }
}

fn journal_path(generation: u32) -> String {
    format!("{JOURNAL_DIR}/journal-{generation}.json")
}

/// The generations applied so far, oldest first.
pub fn generations(fs: &dyn GuestFs) -> Result<Vec<u32>> {
    let mut found: Vec<u32> = fs
        .list(JOURNAL_DIR)?
        .iter()
        .filter_map(|n| {
            n.strip_prefix("journal-")?
                .strip_suffix(".json")?
                .parse()
                .ok()
        })
        .collect();
    found.sort_unstable();
    Ok(found)
}

fn record(fs: &dyn GuestFs, journal: &mut Applied, change: Change) -> Result<()> {
    journal.changes.push(change);
    write_journal(fs, journal)
}

fn write_journal(fs: &dyn GuestFs, journal: &Applied) -> Result<()> {
    let json = serde_json::to_vec_pretty(journal).expect("the journal serializes");
    fs.write(&journal_path(journal.generation), &json)
}

/// Puts back every file the newest apply changed, newest change first, and removes its journal.
pub fn undo(fs: &dyn GuestFs) -> Result<Applied> {
    let _span = tracing::info_span!("undo").entered();
    let generation = generations(fs)?
        .last()
        .copied()
        .ok_or_else(|| GuestFixupError::Undo {
            path: JOURNAL_DIR.into(),
            problem: "no journal: the guest was not fixed up by guest-fixup".into(),
        })?;
    let path = journal_path(generation);
    let text = fs.read(&path)?.unwrap_or_default();
    let journal: Applied = serde_json::from_slice(&text).map_err(|e| GuestFixupError::Undo {
        path: path.clone().into(),
        problem: format!("unreadable journal: {e}"),
    })?;
    for change in journal.changes.iter().rev() {
        match change {
            Change::Edited { path } | Change::Removed { path } => {
                let original = original(path, generation);
                if !fs.exists(&original)? {
                    return Err(GuestFixupError::Undo {
                        path: path.into(),
                        problem: format!("{original} is gone"),
                    });
                }
                fs.rename(&original, path)?;
            }
            Change::Created { path } => fs.remove(path)?,
        }
        tracing::info!(?change, "undone");
    }
    fs.remove(&path)?;
    Ok(journal)
}

/// Whether guest-fixup has changed this guest (a journal is there).
pub fn is_applied(fs: &dyn GuestFs) -> Result<bool> {
    Ok(!generations(fs)?.is_empty())
}
