//! VM names as directory names: `<backup_dir>/<dir_name(vm)>/…`; and every other name
//! from a platform that becomes part of a path (vmbackup: a VBD's or VIF's device in
//! `DISK-<device>/`, `<vm>-<device>.raw`, `VIFs/vif-<device>.cfg`, a host's name in
//! `METADATA_<host>`) goes through the same mapping. Every platform's names are input: they
//! become paths only through it.
//!
//! A VM name is any text its platform accepts; a directory name must not contain `/` or NUL, must
//! not be `.` or `..`, and must fit the file system's 255 bytes with room for the backup
//! files named after it. The mapping:
//!
//! - **Percent-encoding** of each UTF-8 byte (`%2F`, upper-case hex) of the characters
//!   that are unsafe or ambiguous in a path: `%` itself, `/`, `\`, the characters Windows
//!   and SMB/CIFS shares reject (`: * ? " < > |`), `~` (reserved for the hash marker
//!   below), and control characters (C0, DEL, C1).
//! - A **leading `.`** is encoded (`.`, `..` and hidden names become `%2E…`), and so is the
//!   `M` of a name starting with `METADATA_`, the prefix of the pool database dumps'
//!   directories (`METADATA_<host>`), so that no VM shares their directory.
//! - An **empty name** becomes `%`.
//! - Every other character is kept: names of letters, digits, spaces, `-`, `_`, `.` stay as
//!   they are (NAUbackup's directory names, where those were safe).
//! - If the result is longer than [`MAX_DIR_NAME_BYTES`], it is **cut** at a character
//!   (and escape) boundary and `~` plus the first 16 hex digits of the SHA-256 of the full
//!   name is appended. Such names cannot be decoded; the backup's manifest records the
//!   original name.
//!
//! The mapping is deterministic and injective (distinct names give distinct directory
//! names, up to a 64-bit hash collision between two long names with the same first ~160
//! bytes), and [`vm_name_of_dir`] reverses it for names that were not cut.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The longest directory name produced, in bytes: well under the 255 of Linux file
/// systems, leaving room for the file names built from it (`<dir>.xva.zst`, …).
pub const MAX_DIR_NAME_BYTES: usize = 180;

/// The prefix of the directories NAUbackup's layout reserves for the pool database dumps,
/// `METADATA_<host>`; no VM's directory name starts with it, and listings skip them.
pub const POOL_DB_DIR_PREFIX: &str = "METADATA_";

/// The marker between a cut name and its hash.
const HASH_MARKER: char = '~';
/// Hex digits of the hash appended to cut names.
const HASH_DIGITS: usize = 16;

/// The directory name of a VM name (see the module docs).
pub fn dir_name(vm_name: &str) -> String {
    if vm_name.is_empty() {
        return "%".to_owned();
    }
    let mut encoded = String::with_capacity(vm_name.len());
    // Byte offsets in `encoded` after each whole character, to cut at.
    let mut boundaries = Vec::with_capacity(vm_name.len());
    for (i, c) in vm_name.char_indices() {
        let leading = i == 0 && (c == '.' || (c == 'M' && vm_name.starts_with(POOL_DB_DIR_PREFIX)));
        if leading || needs_escape(c) {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(encoded, "%{byte:02X}");
            }
        } else {
            encoded.push(c);
        }
        boundaries.push(encoded.len());
    }
    if encoded.len() <= MAX_DIR_NAME_BYTES {
        return encoded;
    }
    let room = MAX_DIR_NAME_BYTES - HASH_MARKER.len_utf8() - HASH_DIGITS;
    let cut = boundaries
        .iter()
        .copied()
        .take_while(|&end| end <= room)
        .last()
        .unwrap_or(0);
    let digest = Sha256::digest(vm_name.as_bytes());
    let mut name = encoded[..cut].to_owned();
    name.push(HASH_MARKER);
    for byte in &digest[..HASH_DIGITS / 2] {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

/// The VM name a directory name was made from, when [`dir_name`] did not cut it; `None`
/// for cut names and for names [`dir_name`] cannot produce.
pub fn vm_name_of_dir(dir: &str) -> Option<String> {
    if dir == "%" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(dir.len());
    let mut rest = dir.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    let name = String::from_utf8(bytes).ok()?;
    // Only the canonical encoding decodes: anything else did not come from `dir_name`. That
    // rejects lower-case hex escapes, and the raw `~` of a cut name (`dir_name` escapes the
    // `~` of a name, so a cut name would have to end in its own hash).
    (dir_name(&name) == dir).then_some(name)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | HASH_MARKER
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        for (name, dir) in [
            ("web01", "web01"),
            ("DEV mySql", "DEV mySql"),
            (
                "PROD-CentOS7.large-user-disks",
                "PROD-CentOS7.large-user-disks",
            ),
            ("Sérveur 数据库", "Sérveur 数据库"),
            ("../x", "%2E.%2Fx"),
            ("a/b", "a%2Fb"),
            (".", "%2E"),
            ("..", "%2E."),
            (".hidden", "%2Ehidden"),
            ("100%", "100%25"),
            ("C:\\win*?", "C%3A%5Cwin%2A%3F"),
            ("say \"hi\" <x>|y", "say %22hi%22 %3Cx%3E%7Cy"),
            ("tab\there\n", "tab%09here%0A"),
            ("nul\0", "nul%00"),
            ("c1\u{85}", "c1%C2%85"),
            ("home~1", "home%7E1"),
            ("METADATA_xs1", "%4DETADATA_xs1"),
            ("METADATA", "METADATA"),
            ("", "%"),
        ] {
            assert_eq!(dir_name(name), dir, "{name:?}");
            assert_eq!(vm_name_of_dir(dir).as_deref(), Some(name), "{dir}");
        }
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let long = "ü".repeat(200);
        let dir = dir_name(&long);
        assert!(dir.len() <= MAX_DIR_NAME_BYTES);
        let (prefix, hash) = dir.split_once('~').unwrap();
        assert!(long.starts_with(prefix));
        assert_eq!(hash.len(), 16);
        assert_eq!(dir_name(&long), dir, "deterministic");
        assert_eq!(vm_name_of_dir(&dir), None);
        // Escapes are never split: a name of slashes is cut after a whole `%2F`.
        let slashes = dir_name(&"/".repeat(100));
        let (prefix, _) = slashes.split_once('~').unwrap();
        assert_eq!(prefix.len() % 3, 0);
        assert!(
            prefix
                .chars()
                .collect::<Vec<_>>()
                .chunks(3)
                .all(|c| c == ['%', '2', 'F'])
        );
        // The longest name kept whole.
        let fits = "a".repeat(MAX_DIR_NAME_BYTES);
        assert_eq!(dir_name(&fits), fits);
    }

    #[test]
    fn foreign_directory_names_do_not_decode() {
        for dir in ["a%2fb", "a%2", "a%zz", "a%2Eb", "%FF", "x~0123456789abcdef"] {
            assert_eq!(vm_name_of_dir(dir), None, "{dir}");
        }
    }

    fn assert_safe(dir: &str) {
        assert!(!dir.is_empty());
        assert!(dir.len() <= MAX_DIR_NAME_BYTES, "{} bytes", dir.len());
        assert!(dir != "." && dir != "..", "{dir}");
        assert!(!dir.contains('/') && !dir.contains('\0'), "{dir:?}");
        assert!(!dir.chars().any(char::is_control), "{dir:?}");
    }

    proptest! {
        #[test]
        fn any_name_gives_a_safe_directory_name(name in any::<String>()) {
            let dir = dir_name(&name);
            assert_safe(&dir);
            if !dir.contains('~') {
                prop_assert_eq!(vm_name_of_dir(&dir), Some(name));
            }
        }

        #[test]
        fn hostile_names_give_safe_directory_names(
            name in "[./\\\\%~:*?\"<>| \\t\\n\\x00\\x7f\\u{85}a-zé数M_ATDE-]{0,300}"
        ) {
            let dir = dir_name(&name);
            assert_safe(&dir);
            if name.len() * 3 <= MAX_DIR_NAME_BYTES {
                prop_assert_eq!(vm_name_of_dir(&dir), Some(name));
            }
        }

        #[test]
        fn distinct_names_give_distinct_directory_names(
            a in "[./%~a-zé\\x00]{0,120}",
            b in "[./%~a-zé\\x00]{0,120}",
            shared in "[a-z]{0,150}",
        ) {
            // A shared prefix makes long names collide in their cut part.
            let (a, b) = (format!("{shared}{a}"), format!("{shared}{b}"));
            prop_assume!(a != b);
            prop_assert_ne!(dir_name(&a), dir_name(&b));
        }
    }
}
