//! A stateful stand-in for lvm2 behind lvm-snap's command-runner seam (the host kernel has
//! no device-mapper): volumes are regular files, `lvcreate -s` copies the origin's file as
//! the snapshot's "device", `lvs` reports the current state in lvm2's JSON shape, `lvremove`
//! removes. It records when each snapshot lived, to check which ran at once. Raw-image mode
//! needs no mount, so a whole run goes through it; the real LVM runs are in tests/lvm-guest.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lvm_snap::{CommandOutput, CommandRunner};
use serde_json::json;

/// One logical volume.
#[derive(Debug, Clone)]
struct Lv {
    file: PathBuf,
    origin: Option<String>,
    tags: Vec<String>,
    minor: u32,
}

/// When a snapshot lived.
#[derive(Debug, Clone)]
pub struct Lifetime {
    /// `vg/lv`.
    pub snapshot: String,
    /// Made.
    pub created: Instant,
    /// Removed (`None`: still there).
    pub removed: Option<Instant>,
}

/// The fake: volume groups of file-backed volumes.
#[derive(Debug)]
pub struct FakeLvm {
    dir: PathBuf,
    state: Mutex<State>,
    /// How long `lvcreate` takes (so that concurrent runs overlap).
    pub lvcreate_delay: Duration,
    /// Snapshots of these origins report an overflow (`I` in `lv_attr`, 100%).
    pub overflows: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    vgs: BTreeMap<String, BTreeMap<String, Lv>>,
    lifetimes: Vec<Lifetime>,
    next_minor: u32,
}

impl FakeLvm {
    /// A fake whose devices live in `dir`.
    pub fn new(dir: &Path) -> Self {
        FakeLvm {
            dir: dir.to_owned(),
            state: Mutex::new(State::default()),
            lvcreate_delay: Duration::from_millis(300),
            overflows: Vec::new(),
        }
    }

    /// Adds the volume `vg/lv` holding `bytes`.
    pub fn add_volume(&self, vg: &str, lv: &str, bytes: &[u8]) {
        let file = self.dir.join(format!("{vg}-{lv}.dev"));
        fs::write(&file, bytes).unwrap();
        let mut state = self.state.lock().unwrap();
        state.next_minor += 1;
        let minor = state.next_minor;
        state.vgs.entry(vg.to_owned()).or_default().insert(
            lv.to_owned(),
            Lv {
                file,
                origin: None,
                tags: Vec::new(),
                minor,
            },
        );
    }

    /// Every snapshot's lifetime, in creation order.
    pub fn lifetimes(&self) -> Vec<Lifetime> {
        self.state.lock().unwrap().lifetimes.clone()
    }

    /// The volumes of `vg` now.
    pub fn volumes(&self, vg: &str) -> Vec<String> {
        self.state.lock().unwrap().vgs[vg].keys().cloned().collect()
    }

    fn lvs(&self, vg: &str) -> CommandOutput {
        let state = self.state.lock().unwrap();
        let Some(volumes) = state.vgs.get(vg) else {
            return CommandOutput::failed(5, format!("  Volume group \"{vg}\" not found\n"));
        };
        let rows: Vec<_> = volumes
            .iter()
            .map(|(name, lv)| {
                let size = fs::metadata(&lv.file).unwrap().len().to_string();
                let overflowed = lv
                    .origin
                    .as_ref()
                    .is_some_and(|o| self.overflows.contains(o));
                let (attr, origin_size, snap_percent) = match &lv.origin {
                    None => ("-wi-ao----", String::new(), String::new()),
                    Some(_) if overflowed => ("swi-I-s---", size.clone(), "100.00".to_owned()),
                    Some(_) => ("swi-a-s---", size.clone(), "2.50".to_owned()),
                };
                json!({
                    "lv_name": name, "vg_name": vg, "lv_uuid": format!("uuid-{name}"),
                    "lv_path": lv.file.to_string_lossy(),
                    "lv_dm_path": format!("/dev/mapper/{vg}-{name}"),
                    "lv_attr": attr, "lv_size": size,
                    "origin": lv.origin.clone().unwrap_or_default(),
                    "origin_size": origin_size, "pool_lv": "",
                    "data_percent": snap_percent, "snap_percent": snap_percent,
                    "metadata_percent": "", "lv_tags": lv.tags.join(","),
                    "lv_active": "active", "lv_kernel_major": "253",
                    "lv_kernel_minor": lv.minor.to_string(),
                    "segtype": if lv.origin.is_some() { "snapshot" } else { "linear" },
                    "lv_time": "2026-11-24 01:30:00 +0000",
                })
            })
            .collect();
        CommandOutput::ok(json!({"report": [{"lv": rows}]}).to_string())
    }

    fn lvcreate(&self, argv: &[String]) -> CommandOutput {
        let origin = argv.last().unwrap();
        let (vg, origin_lv) = origin.split_once('/').unwrap();
        let name = &argv[argv.iter().position(|a| a == "-n").unwrap() + 1];
        let tags: Vec<String> = argv
            .windows(2)
            .filter(|w| w[0] == "--addtag")
            .map(|w| w[1].clone())
            .collect();
        {
            let mut state = self.state.lock().unwrap();
            state.next_minor += 1;
            let minor = state.next_minor;
            let volumes = state.vgs.get_mut(vg).unwrap();
            let source = volumes[origin_lv].file.clone();
            let file = self.dir.join(format!("{vg}-{name}.dev"));
            fs::copy(&source, &file).unwrap();
            volumes.insert(
                name.clone(),
                Lv {
                    file,
                    origin: Some(origin_lv.to_owned()),
                    tags,
                    minor,
                },
            );
            state.lifetimes.push(Lifetime {
                snapshot: format!("{vg}/{name}"),
                created: Instant::now(),
                removed: None,
            });
        }
        std::thread::sleep(self.lvcreate_delay);
        CommandOutput::ok(format!("  Logical volume \"{name}\" created.\n"))
    }

    fn lvremove(&self, target: &str) -> CommandOutput {
        let (vg, lv) = target.split_once('/').unwrap();
        let mut state = self.state.lock().unwrap();
        let Some(removed) = state.vgs.get_mut(vg).and_then(|v| v.remove(lv)) else {
            return CommandOutput::failed(
                5,
                format!("  Failed to find logical volume \"{target}\"\n"),
            );
        };
        fs::remove_file(removed.file).unwrap();
        let now = Instant::now();
        if let Some(life) = state
            .lifetimes
            .iter_mut()
            .rev()
            .find(|l| l.snapshot == target && l.removed.is_none())
        {
            life.removed = Some(now);
        }
        CommandOutput::ok(format!("  Logical volume \"{lv}\" successfully removed.\n"))
    }
}

impl CommandRunner for FakeLvm {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        Ok(match argv[0].as_str() {
            "lvs" => self.lvs(argv.last().unwrap()),
            "lvcreate" => self.lvcreate(argv),
            "lvremove" => self.lvremove(argv.last().unwrap()),
            other => CommandOutput::failed(127, format!("the fake has no {other}")),
        })
    }
}
