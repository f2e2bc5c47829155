//! The default boot entry: if it boots a kernel that cannot run on the target (a Xen-only
//! kernel on KVM, the Xen hypervisor, a kernel without the target's disk driver), the first
//! entry whose kernel can becomes the default. grub legacy: its `default` line. grub2: where
//! the default is kept: `GRUB_DEFAULT` in `/etc/default/grub` (an entry number, title or id,
//! with `>` between submenu levels), the `saved_entry` of its environment block when that is
//! `saved` (also where RHEL's BLS entries keep theirs), and the generated `grub.cfg`'s
//! `set default=` for a guest whose grub.cfg is edited in place. grub2's choice is written as
//! the entry's id (grub-mkconfig derives ids from the kernel version and the root's UUID, so
//! they survive a regeneration), never as a number.

use super::Staging;
use crate::direction::Target;
use crate::error::Result;
use crate::grubenv::GrubEnv;
use crate::inspect::{Bootloader, BootloaderKind, Inspection, MenuEntry};

/// grub legacy: the `default` line of each menu.
pub fn grub_legacy(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    target: Target,
) -> Result<()> {
    let usable = |version: &str| usable(inspection, version, target);
    for loader in inspection
        .bootloaders
        .iter()
        .filter(|b| b.kind == BootloaderKind::GrubLegacy)
    {
        let Some(text) = staging.text(&loader.config)? else {
            continue;
        };
        let versions: Vec<Option<String>> = legacy_entries(&text);
        let default_line = text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("default")?;
            rest.trim_start_matches(|c: char| c == '=' || c.is_whitespace())
                .parse::<usize>()
                .ok()
        });
        let current = default_line.unwrap_or(0);
        let current_ok = versions
            .get(current)
            .and_then(Option::as_deref)
            .is_none_or(usable);
        let Some(better) = versions
            .iter()
            .position(|v| v.as_deref().is_some_and(usable))
        else {
            continue;
        };
        if current_ok {
            continue;
        }
        let why = format!(
            "grub default entry {current} boots {}, which cannot run on {target}; entry {better} ({}) can",
            versions[current].as_deref().unwrap_or("?"),
            versions[better].as_deref().unwrap_or("?")
        );
        if default_line.is_some() {
            let mut done = false;
            staging.edit_lines(&loader.config, |line| {
                let trimmed = line.trim();
                (!done && trimmed.starts_with("default") && !trimmed.starts_with("default_")).then(
                    || {
                        done = true;
                        (format!("default={better}"), vec![why.clone()])
                    },
                )
            })?;
        } else {
            staging.set(
                &loader.config,
                Some(format!("default={better}\n{text}")),
                vec![why],
            )?;
        }
    }
    Ok(())
}

/// The kernel version of each `title` entry of a grub legacy menu.
fn legacy_entries(text: &str) -> Vec<Option<String>> {
    let mut versions: Vec<Option<String>> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("title") {
            versions.push(None);
        } else if let (Some(last), Some(rest)) =
            (versions.last_mut(), trimmed.strip_prefix("kernel"))
        {
            let path = rest.split_whitespace().next().unwrap_or("");
            let base = path.rsplit('/').next().unwrap_or(path);
            *last = base.strip_prefix("vmlinuz-").map(str::to_owned);
        }
    }
    versions
}

fn usable(inspection: &Inspection, version: &str, target: Target) -> bool {
    inspection
        .kernels
        .iter()
        .find(|k| k.version == version)
        .is_some_and(|k| super::initramfs::usable(k, target).is_ok())
}

/// Why a menu entry cannot boot on the target; `None` if it can or nothing is known of it.
fn entry_problem(inspection: &Inspection, entry: &MenuEntry, target: Target) -> Option<String> {
    if entry.xen_hypervisor && target == Target::KvmVirtio {
        return Some("the Xen hypervisor".into());
    }
    let version = entry.kernel.as_deref()?;
    let kernel = inspection.kernels.iter().find(|k| k.version == version);
    match kernel.map(|k| super::initramfs::usable(k, target)) {
        Some(Ok(())) => None,
        Some(Err(why)) => Some(why),
        None => Some(format!("{version}, which is not in /boot")),
    }
}

/// Where a grub2 guest keeps its default entry, and its current value.
enum Keeper {
    /// `GRUB_DEFAULT=` in the settings file.
    Settings(String),
    /// `saved_entry=` in the environment block (`GRUB_DEFAULT=saved`).
    Saved(Option<String>),
    /// Only grub.cfg's `set default=` (no settings file).
    Config(String),
}

/// grub2: the default entry.
pub fn grub2(
    staging: &mut Staging<'_>,
    inspection: &Inspection,
    target: Target,
    refusals: &mut Vec<String>,
) -> Result<()> {
    for loader in inspection
        .bootloaders
        .iter()
        .filter(|b| b.kind == BootloaderKind::Grub2 && !b.menu.is_empty())
    {
        let keeper = keeper(staging, loader)?;
        let spec = match &keeper {
            Keeper::Settings(spec) | Keeper::Config(spec) => spec.clone(),
            Keeper::Saved(saved) => saved.clone().unwrap_or_else(|| "0".into()),
        };
        // grub boots the first entry when the default names none.
        let current = loader
            .menu
            .iter()
            .find(|e| e.is_named_by(&spec))
            .unwrap_or(&loader.menu[0]);
        let Some(problem) = entry_problem(inspection, current, target) else {
            continue;
        };
        let candidates = || {
            loader
                .menu
                .iter()
                .filter(|e| e.kernel.is_some() && entry_problem(inspection, e, target).is_none())
        };
        let Some(better) = candidates()
            .find(|e| !e.recovery)
            .or_else(|| candidates().next())
        else {
            continue;
        };
        let new = better.default_spec();
        let why = format!(
            "the default boot entry `{}` boots {problem}, which cannot run on {target}; `{}` boots {}",
            current.title,
            better.title,
            better.kernel.as_deref().unwrap_or("?")
        );
        match keeper {
            Keeper::Settings(_) => set_settings_default(staging, loader, &new, &why)?,
            Keeper::Saved(_) => set_saved_entry(staging, loader, &new, &why, refusals)?,
            Keeper::Config(_) => {}
        }
        if !matches!(keeper, Keeper::Saved(_)) {
            set_config_default(staging, &loader.config, &new, &why)?;
        }
    }
    Ok(())
}

fn keeper(staging: &mut Staging<'_>, loader: &Bootloader) -> Result<Keeper> {
    if let Some(defaults) = &loader.defaults {
        let text = staging.text(defaults)?.unwrap_or_default();
        let value = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("GRUB_DEFAULT="))
            .next_back()
            .map_or_else(|| "0".to_owned(), unquote);
        if value != "saved" {
            return Ok(Keeper::Settings(value));
        }
        return Ok(Keeper::Saved(saved_entry(staging, loader)?));
    }
    let text = staging.text(&loader.config)?.unwrap_or_default();
    let set = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("set default="))
        .map(unquote)
        .find(|v| v != "${next_entry}");
    match set {
        Some(v) if v == "${saved_entry}" => Ok(Keeper::Saved(saved_entry(staging, loader)?)),
        Some(v) => Ok(Keeper::Config(v)),
        None => Ok(Keeper::Config("0".into())),
    }
}

fn saved_entry(staging: &mut Staging<'_>, loader: &Bootloader) -> Result<Option<String>> {
    let Some(path) = &loader.grubenv else {
        return Ok(None);
    };
    let text = staging.text(path)?.unwrap_or_default();
    Ok(GrubEnv::parse(&text).and_then(|env| env.get("saved_entry").map(str::to_owned)))
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value)
        .to_owned()
}

fn set_settings_default(
    staging: &mut Staging<'_>,
    loader: &Bootloader,
    new: &str,
    why: &str,
) -> Result<()> {
    let Some(defaults) = &loader.defaults else {
        return Ok(());
    };
    let line = format!("GRUB_DEFAULT=\"{new}\"");
    let text = staging.text(defaults)?.unwrap_or_default();
    if text.lines().any(|l| l.trim().starts_with("GRUB_DEFAULT=")) {
        staging.edit_lines(defaults, |l| {
            l.trim()
                .starts_with("GRUB_DEFAULT=")
                .then(|| (line.clone(), vec![why.to_owned()]))
        })
    } else {
        let mut text = text;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        staging.set(defaults, Some(text), vec![why.to_owned()])
    }
}

fn set_saved_entry(
    staging: &mut Staging<'_>,
    loader: &Bootloader,
    new: &str,
    why: &str,
    refusals: &mut Vec<String>,
) -> Result<()> {
    let dir = loader.config.rsplit_once('/').map_or("", |(d, _)| d);
    let path = loader
        .grubenv
        .clone()
        .unwrap_or_else(|| format!("{dir}/grubenv"));
    let text = staging.text(&path)?;
    let mut env = text
        .as_deref()
        .and_then(GrubEnv::parse)
        .unwrap_or_else(GrubEnv::empty);
    env.set("saved_entry", new);
    if let Some(rendered) = env.render() {
        return staging.set(&path, Some(rendered), vec![why.to_owned()]);
    }
    refusals.push(format!(
        "{path}: saved_entry={new} does not fit grub's environment block"
    ));
    Ok(())
}

/// grub.cfg's `set default="…"` lines that name an entry (not `${next_entry}`-style variables).
fn set_config_default(staging: &mut Staging<'_>, config: &str, new: &str, why: &str) -> Result<()> {
    staging.edit_lines(config, |line| {
        let value = line.trim().strip_prefix("set default=")?;
        if unquote(value).starts_with('$') {
            return None;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        Some((
            format!("{indent}set default=\"{new}\""),
            vec![why.to_owned()],
        ))
    })
}
