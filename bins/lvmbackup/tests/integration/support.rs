//! Trees of real files, and GNU tar run as the independent reader.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files by path relative to their root.
pub type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// Makes `root` hold `tree`: removes what `tree` does not have, writes what differs (an
/// unchanged file keeps its modification time, as on a real volume).
pub fn write_tree(root: &Path, tree: &Tree) {
    let old = read_tree(root);
    for path in old.keys() {
        if !tree.contains_key(path) {
            fs::remove_file(root.join(path)).unwrap();
        }
    }
    for (relative, content) in tree {
        if old.get(relative) == Some(content) {
            continue;
        }
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
    }
}

/// Every regular file under `root`.
pub fn read_tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), tree);
            } else {
                let path = entry.path();
                tree.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut tree = Tree::new();
    if root.exists() {
        walk(root, root, &mut tree);
    }
    tree
}

/// Night `n` of a volume: a large file that never changes, files that change, one that goes
/// away on night 2 and one that appears on night 3.
pub fn night(n: u8) -> Tree {
    let mut tree = Tree::new();
    tree.insert(
        "etc/stable".into(),
        (0..300_000u32).map(|i| (i % 251) as u8).collect(),
    );
    tree.insert("etc/changes".into(), format!("night {n}\n").into_bytes());
    tree.insert("var/lib/empty".into(), Vec::new());
    if n < 2 {
        tree.insert("var/lib/goes-away".into(), b"bye".to_vec());
    }
    if n >= 3 {
        tree.insert("var/lib/new/appears".into(), vec![n; 5000]);
    }
    tree
}

/// Runs a tool; its stdout, or a panic with its stderr.
pub fn run(program: &str, args: &[&str], dir: Option<&Path>) -> String {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!("{program} could not run ({e}); install it with scripts/install-test-deps")
    });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
