//! grub2's boot menu as grub builds it: the `menuentry` and `submenu` blocks of the generated
//! `grub.cfg`, or, when it calls `blscfg`, the Boot Loader Specification entries (newest
//! version first, as grub's blscfg orders them). Each entry says which kernel it boots, so
//! the plan can tell whether the default entry can run on the target.

use serde::Serialize;

use super::kernels::version_key;
use crate::error::Result;
use crate::fs::GuestFs;

/// One bootable entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuEntry {
    /// Its title.
    pub title: String,
    /// Its id (`$menuentry_id_option 'gnulinux-…'`, `--id`, or a BLS entry's file stem).
    pub id: Option<String>,
    /// The enclosing submenus, outermost first, as `(title, id)`.
    pub submenus: Vec<(String, Option<String>)>,
    /// Its position: the index at each menu level, outermost first (`[1, 2]` is `1>2`).
    pub position: Vec<usize>,
    /// The version of the Linux kernel it boots (`vmlinuz-VER`), if it names one.
    pub kernel: Option<String>,
    /// Whether it boots the Xen hypervisor (`multiboot` of `xen*.gz`) with Linux as dom0.
    pub xen_hypervisor: bool,
    /// Whether it is a recovery entry (`recovery mode`, `single`, a rescue kernel).
    pub recovery: bool,
}

impl MenuEntry {
    /// How `GRUB_DEFAULT` / `saved_entry` names it: ids (titles where there is none) joined
    /// by `>` from the outermost submenu.
    pub fn default_spec(&self) -> String {
        self.submenus
            .iter()
            .map(|(title, id)| id.clone().unwrap_or_else(|| title.clone()))
            .chain([self.id.clone().unwrap_or_else(|| self.title.clone())])
            .collect::<Vec<_>>()
            .join(">")
    }

    /// Whether `spec` (`GRUB_DEFAULT`'s syntax: numbers, ids or titles joined by `>`) names it;
    /// a spec naming a submenu names the submenu's first entry.
    pub fn is_named_by(&self, spec: &str) -> bool {
        let parts: Vec<&str> = spec.split('>').collect();
        let levels: Vec<(&str, Option<&str>, usize)> = self
            .submenus
            .iter()
            .map(|(t, i)| (t.as_str(), i.as_deref()))
            .chain([(self.title.as_str(), self.id.as_deref())])
            .zip(&self.position)
            .map(|((t, i), p)| (t, i, *p))
            .collect();
        if parts.len() > levels.len() {
            return false;
        }
        let named = parts.iter().zip(&levels).all(|(part, (title, id, index))| {
            part.parse::<usize>().ok() == Some(*index) || Some(*part) == *id || part == title
        });
        named
            && levels[parts.len()..]
                .iter()
                .all(|(_, _, index)| *index == 0)
    }
}

/// The menu of the grub2 configuration `config`, in menu order.
pub fn read(fs: &dyn GuestFs, config: &str) -> Result<Vec<MenuEntry>> {
    let text = fs.read_text(config)?.unwrap_or_default();
    let (mut entries, blscfg_at) = parse_cfg(&text);
    if let Some(at) = blscfg_at {
        // blscfg inserts the BLS entries where it is called.
        let bls = bls(fs, at)?;
        for entry in &mut entries {
            if entry.position[0] >= at {
                entry.position[0] += bls.len();
            }
        }
        let split = entries
            .iter()
            .position(|e| e.position[0] >= at)
            .unwrap_or(entries.len());
        entries.splice(split..split, bls);
    }
    Ok(entries)
}

enum Frame {
    Submenu(String, Option<String>),
    Entry(MenuEntry),
    Other,
}

/// The entries of a grub.cfg, and how many top-level entries come before its `blscfg` call.
fn parse_cfg(text: &str) -> (Vec<MenuEntry>, Option<usize>) {
    let mut entries = Vec::new();
    let mut blscfg_at = None;
    let mut stack: Vec<Frame> = Vec::new();
    // The number of entries and submenus seen so far at each open menu level.
    let mut counters: Vec<usize> = vec![0];
    for line in text.lines() {
        let words = words(line);
        let Some(first) = words.first().map(String::as_str) else {
            continue;
        };
        let opens = line.trim_end().ends_with('{');
        if first == "blscfg" && blscfg_at.is_none() {
            blscfg_at = Some(counters[0]);
        }
        match first {
            "menuentry" | "submenu" if opens => {
                let title = words.get(1).cloned().unwrap_or_default();
                let id = words
                    .iter()
                    .position(|w| w == "$menuentry_id_option" || w == "--id")
                    .and_then(|i| words.get(i + 1))
                    .cloned();
                let level = counters.last_mut().expect("a level is open");
                let index = *level;
                *level += 1;
                let submenus: Vec<(String, Option<String>)> = stack
                    .iter()
                    .filter_map(|f| match f {
                        Frame::Submenu(t, i) => Some((t.clone(), i.clone())),
                        _ => None,
                    })
                    .collect();
                if first == "submenu" {
                    counters.push(0);
                    stack.push(Frame::Submenu(title, id));
                } else {
                    let mut position = positions(&stack, &counters);
                    position.push(index);
                    stack.push(Frame::Entry(MenuEntry {
                        recovery: title.contains("recovery mode"),
                        title,
                        id,
                        submenus,
                        position,
                        kernel: None,
                        xen_hypervisor: false,
                    }));
                }
            }
            "}" => match stack.pop() {
                Some(Frame::Entry(entry)) => entries.push(entry),
                Some(Frame::Submenu(..)) => {
                    counters.pop();
                }
                Some(Frame::Other) | None => {}
            },
            _ if opens => stack.push(Frame::Other),
            _ => {
                if let Some(Frame::Entry(entry)) = stack.last_mut() {
                    read_entry_line(entry, &words);
                }
            }
        }
    }
    (entries, blscfg_at)
}

/// The index of each enclosing submenu at its level.
fn positions(stack: &[Frame], counters: &[usize]) -> Vec<usize> {
    // counters[i + 1] belongs to the i-th open submenu; the submenu itself was counted one
    // below it at level i.
    let depth = stack
        .iter()
        .filter(|f| matches!(f, Frame::Submenu(..)))
        .count();
    counters[..depth].iter().map(|c| c - 1).collect()
}

fn read_entry_line(entry: &mut MenuEntry, words: &[String]) {
    let Some((command, args)) = words.split_first() else {
        return;
    };
    let base = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    match command.as_str() {
        "linux" | "linux16" | "linuxefi" | "module" | "module2" if entry.kernel.is_none() => {
            if let Some(path) = args.first() {
                let name = base(path);
                if let Some(version) = name
                    .strip_prefix("vmlinuz-")
                    .or_else(|| name.strip_prefix("vmlinux-"))
                {
                    entry.kernel = Some(version.to_owned());
                    entry.recovery |= version.contains("rescue");
                }
            }
            entry.recovery |= command.starts_with("linux") && args.iter().any(|a| a == "single");
        }
        "multiboot" | "multiboot2" => {
            entry.xen_hypervisor |= args.first().is_some_and(|p| base(p).starts_with("xen"));
        }
        _ => {}
    }
}

/// The BLS entries, newest version first, numbered from `level`.
fn bls(fs: &dyn GuestFs, level: usize) -> Result<Vec<MenuEntry>> {
    let mut found = Vec::new();
    for name in fs.list("/boot/loader/entries")? {
        let Some(stem) = name.strip_suffix(".conf") else {
            continue;
        };
        let text = fs
            .read_text(&format!("/boot/loader/entries/{name}"))?
            .unwrap_or_default();
        let field = |key: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.trim().split_once(char::is_whitespace)?;
                (k == key).then(|| v.trim().to_owned())
            })
        };
        let kernel = field("linux").and_then(|path| {
            let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
            name.strip_prefix("vmlinuz-").map(str::to_owned)
        });
        let version = field("version")
            .or_else(|| kernel.clone())
            .unwrap_or_default();
        found.push((
            version,
            MenuEntry {
                title: field("title").unwrap_or_else(|| stem.to_owned()),
                id: Some(stem.to_owned()),
                submenus: Vec::new(),
                position: Vec::new(),
                recovery: stem.contains("rescue"),
                kernel,
                xen_hypervisor: false,
            },
        ));
    }
    found.sort_by_key(|(version, _)| std::cmp::Reverse(version_key(version)));
    Ok(found
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut entry))| {
            entry.position = vec![level + i];
            entry
        })
        .collect())
}

/// The words of a grub script line: whitespace-separated, with '…' and "…" quoting and `\`
/// escapes (enough for `menuentry` lines; grub's full grammar is not needed here).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        _ => w.push(q),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c if c.is_whitespace() => words.extend(word.take()),
            '#' if word.is_none() => break,
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = r"
function load_video {
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-U' {
	linux	/boot/vmlinuz-6.1.0-50-xen root=UUID=U ro
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-U' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-50-xen' --class debian $menuentry_id_option 'gnulinux-6.1.0-50-xen-advanced-U' {
		linux	/boot/vmlinuz-6.1.0-50-xen root=UUID=U ro
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-50-xen (recovery mode)' $menuentry_id_option 'gnulinux-6.1.0-50-xen-recovery-U' {
		linux	/boot/vmlinuz-6.1.0-50-xen root=UUID=U ro single
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-50-amd64' --class debian $menuentry_id_option 'gnulinux-6.1.0-50-amd64-advanced-U' {
		linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=U ro
		initrd	/boot/initrd.img-6.1.0-50-amd64
	}
}
menuentry 'Debian GNU/Linux, with Xen hypervisor' $menuentry_id_option 'xen-gnulinux-simple-U' {
	multiboot2	/boot/xen-4.17-amd64.gz placeholder
	module2	/boot/vmlinuz-6.1.0-50-amd64 placeholder root=UUID=U ro
}
";

    type Summary<'a> = (String, Vec<usize>, Option<&'a str>, bool, bool);

    #[test]
    fn reads_entries_submenus_positions_and_kernels() {
        let (entries, blscfg) = parse_cfg(DEBIAN);
        assert_eq!(blscfg, None);
        let summary: Vec<Summary<'_>> = entries
            .iter()
            .map(|e| {
                (
                    e.default_spec(),
                    e.position.clone(),
                    e.kernel.as_deref(),
                    e.recovery,
                    e.xen_hypervisor,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "gnulinux-simple-U".into(),
                    vec![0],
                    Some("6.1.0-50-xen"),
                    false,
                    false
                ),
                (
                    "gnulinux-advanced-U>gnulinux-6.1.0-50-xen-advanced-U".into(),
                    vec![1, 0],
                    Some("6.1.0-50-xen"),
                    false,
                    false
                ),
                (
                    "gnulinux-advanced-U>gnulinux-6.1.0-50-xen-recovery-U".into(),
                    vec![1, 1],
                    Some("6.1.0-50-xen"),
                    true,
                    false
                ),
                (
                    "gnulinux-advanced-U>gnulinux-6.1.0-50-amd64-advanced-U".into(),
                    vec![1, 2],
                    Some("6.1.0-50-amd64"),
                    false,
                    false
                ),
                (
                    "xen-gnulinux-simple-U".into(),
                    vec![2],
                    Some("6.1.0-50-amd64"),
                    false,
                    true
                ),
            ]
        );
        assert!(entries[0].is_named_by("0"));
        assert!(
            entries[1].is_named_by("1"),
            "a submenu names its first entry"
        );
        assert!(entries[3].is_named_by("1>2"));
        assert!(entries[3].is_named_by(
            "Advanced options for Debian GNU/Linux>gnulinux-6.1.0-50-amd64-advanced-U"
        ));
        assert!(!entries[3].is_named_by("1>1"));
        assert!(entries[4].is_named_by("Debian GNU/Linux, with Xen hypervisor"));
    }
}
