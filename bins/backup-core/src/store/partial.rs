//! Writing one backup's directory so that it is either complete or clearly not.
//!
//! A backup is written into `<backup_dir>/<vm dir>/.partial-<stamp>/`. When every file is
//! written and verified, [`PartialBackup::commit`] syncs the files, writes NAUbackup's
//! `success` marker and the manifest (each synced), syncs the directory, and renames it to
//! `<stamp>` in one atomic step, then syncs the parent (the policy of
//! [`durable`](super::durable)). A crash at any point leaves either a
//! `.partial-` directory (incomplete: retention removes it later, nothing reads it as a
//! backup) or a complete one. Dropped without a commit — any error, Ctrl-C, a panic — the
//! partial directory is removed.
//!
//! Every file and folder a backup creates gets the run's [`FileMode`]: private to the
//! owner by default (files `0600`, folders `0700`: VM disks are not for every local user
//! to read), set exactly (the umask does not widen or narrow it).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::durable::{sync_dir, sync_tree, write_synced};
use super::error::{Result, StoreError};
use super::layout::{MANIFEST_FILE, NAUBACKUP_SUCCESS_MARKER, PARTIAL_PREFIX, backup_stamp};
use super::manifest::Manifest;

/// The permissions of what backups create (the `file_mode` setting): files get the mode,
/// folders the mode with `x` added where `r` is (`0600` -> `0700`, `0640` -> `0750`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(u32);

impl Default for FileMode {
    fn default() -> Self {
        FileMode(0o600)
    }
}

impl FileMode {
    /// Reads a mode written in octal (`0600`, `640`): the owner may read and write, nobody
    /// may execute, no special bits.
    pub fn parse(text: &str) -> std::result::Result<FileMode, String> {
        let mode = u32::from_str_radix(text, 8)
            .ok()
            .filter(|mode| *mode <= 0o777)
            .ok_or_else(|| format!("`{text}` is not an octal mode such as 0600 or 0640"))?;
        if mode & 0o600 != 0o600 || mode & 0o111 != 0 {
            return Err(format!(
                "`{text}`: the owner must be able to read and write, and nobody to execute"
            ));
        }
        Ok(FileMode(mode))
    }

    /// The mode of files.
    pub fn file(self) -> u32 {
        self.0
    }

    /// The mode of folders.
    pub fn dir(self) -> u32 {
        self.0 | ((self.0 & 0o444) >> 2)
    }

    /// Creates the file `path`, which must not exist yet, with this mode.
    pub fn create_new(self, path: &Path) -> std::io::Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.file())
            .open(path)?;
        file.set_permissions(fs::Permissions::from_mode(self.file()))?;
        Ok(file)
    }

    /// Gives an existing file this mode.
    pub fn apply_to_file(self, file: &File) -> std::io::Result<()> {
        file.set_permissions(fs::Permissions::from_mode(self.file()))
    }

    /// Creates `dir` and its missing parents; each folder it creates gets the folder mode.
    pub fn create_dirs(self, dir: &Path) -> std::io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.create_dirs(parent)?;
        }
        match fs::create_dir(dir) {
            Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(self.dir())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A backup directory being written; see the module docs.
#[derive(Debug)]
pub struct PartialBackup {
    vm_dir: PathBuf,
    stamp: String,
    path: PathBuf,
    mode: FileMode,
    committed: bool,
}

impl PartialBackup {
    /// Starts a backup of the VM whose backups live in `vm_dir` (created if missing),
    /// started at `start`, its files and folders created with `mode`. Two backups started
    /// in the same second get `.1`, `.2`, …
    pub fn create(vm_dir: &Path, start: Timestamp, mode: FileMode) -> Result<Self> {
        mode.create_dirs(vm_dir)
            .map_err(|e| StoreError::io("creating", vm_dir, e))?;
        for sequence in 0u32.. {
            let stamp = backup_stamp(start, sequence);
            let path = vm_dir.join(format!("{PARTIAL_PREFIX}{stamp}"));
            if vm_dir.join(&stamp).exists() {
                continue;
            }
            match fs::create_dir(&path) {
                Ok(()) => {
                    let backup = PartialBackup {
                        vm_dir: vm_dir.to_path_buf(),
                        stamp,
                        path,
                        mode,
                        committed: false,
                    };
                    fs::set_permissions(&backup.path, fs::Permissions::from_mode(mode.dir()))
                        .map_err(|e| StoreError::io("creating", &backup.path, e))?;
                    return Ok(backup);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("creating", &path, e)),
            }
        }
        unreachable!("the sequence numbers never run out")
    }

    /// Starts a backup that will be called `name` in `parent` (created if missing): another
    /// layout's name, such as oVirtSimpleBackup's `BU_20261202_013005`. It is written as
    /// `<parent>/.partial-<name>` and published as [`PartialBackup::create`]'s are; a
    /// backup of that name that exists already (or is being written) is refused. `name`
    /// must be one plain path component.
    pub fn create_named(parent: &Path, name: &str, mode: FileMode) -> Result<Self> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && Path::new(name)
                .components()
                .eq([std::path::Component::Normal(name.as_ref())]);
        if !plain {
            return Err(StoreError::refused(
                Path::new(name),
                "not a plain backup name: refused",
            ));
        }
        mode.create_dirs(parent)
            .map_err(|e| StoreError::io("creating", parent, e))?;
        let target = parent.join(name);
        if fs::symlink_metadata(&target).is_ok() {
            return Err(StoreError::refused(
                &target,
                "a backup of this name exists already: refused",
            ));
        }
        let path = parent.join(format!("{PARTIAL_PREFIX}{name}"));
        fs::create_dir(&path).map_err(|e| StoreError::io("creating", &path, e))?;
        let backup = PartialBackup {
            vm_dir: parent.to_path_buf(),
            stamp: name.to_owned(),
            path,
            mode,
            committed: false,
        };
        fs::set_permissions(&backup.path, fs::Permissions::from_mode(mode.dir()))
            .map_err(|e| StoreError::io("creating", &backup.path, e))?;
        Ok(backup)
    }

    /// The directory being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode of its files and folders.
    pub fn mode(&self) -> FileMode {
        self.mode
    }

    /// The name the backup will have: its stamp.
    pub fn stamp(&self) -> &str {
        &self.stamp
    }

    /// The path of a new file `relative` inside the backup, its parent directories created.
    /// Refused unless `relative` is a plain relative path (no `..`, not absolute) and no
    /// file of that name exists yet: two files of a backup never share a name.
    pub fn file_path(&self, relative: &str) -> Result<PathBuf> {
        let plain = !relative.is_empty()
            && Path::new(relative)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            return Err(StoreError::refused(
                Path::new(relative),
                "not a plain path inside the backup: refused",
            ));
        }
        let path = self.path.join(relative);
        if fs::symlink_metadata(&path).is_ok() {
            return Err(StoreError::refused(
                &path,
                "written twice (two records of the source give it the same name): refused",
            ));
        }
        if let Some(parent) = path.parent() {
            self.mode
                .create_dirs(parent)
                .map_err(|e| StoreError::io("creating", parent, e))?;
        }
        Ok(path)
    }

    /// Writes a small file inside the backup.
    pub fn write_file(&self, relative: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.file_path(relative)?;
        self.mode
            .create_new(&path)
            .and_then(|mut file| file.write_all(contents))
            .map_err(|e| StoreError::io("writing", &path, e))?;
        Ok(path)
    }

    /// Makes the backup durable and visible; returns its final path.
    pub fn commit<X: serde::Serialize>(mut self, manifest: &Manifest<X>) -> Result<PathBuf> {
        sync_tree(&self.path)?;
        // NAUbackup's marker, so that its tools and runbooks see the backup as good.
        self.write_synced(NAUBACKUP_SUCCESS_MARKER, b"")?;
        self.write_synced(MANIFEST_FILE, manifest.to_json().as_bytes())?;
        sync_dir(&self.path)?;
        let target = self.vm_dir.join(&self.stamp);
        fs::rename(&self.path, &target).map_err(|e| {
            StoreError::io(format!("renaming to `{}`", target.display()), &self.path, e)
        })?;
        self.committed = true;
        sync_dir(&self.vm_dir)?;
        Ok(target)
    }

    fn write_synced(&self, name: &str, contents: &[u8]) -> Result<()> {
        write_synced(&self.path.join(name), self.mode, contents)
    }
}

impl Drop for PartialBackup {
    fn drop(&mut self) {
        if !self.committed
            && let Err(error) = fs::remove_dir_all(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "could not remove an incomplete backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MANIFEST_FORMAT, ManifestSource, ManifestState, ManifestVm};

    fn manifest() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.to_owned(),
            state: ManifestState::Complete,
            created: "2026-11-22T01:30:05Z".to_owned(),
            finished: "2026-11-22T01:31:05Z".to_owned(),
            parent: None,
            tags: Vec::new(),
            kind: "vm-export".to_owned(),
            vm: ManifestVm {
                uuid: "u".into(),
                name: "web".into(),
                directory: "web".into(),
            },
            source: ManifestSource {
                endpoint: "https://xs".into(),
                host: "h".into(),
            },
            tool: "vmbackup".into(),
            files: Vec::new(),
            disks: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    #[test]
    fn modes_parse_and_give_folders_x_where_r_is() {
        assert_eq!(FileMode::default().dir(), 0o700);
        let group = FileMode::parse("0640").unwrap();
        assert_eq!((group.file(), group.dir()), (0o640, 0o750));
        assert_eq!(FileMode::parse("644").unwrap().dir(), 0o755);
        for bad in ["0755", "0400", "1600", "0o600", "x", "", "0666666"] {
            assert!(FileMode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn committed_backups_appear_complete_dropped_ones_vanish() {
        let root = tempfile::tempdir().unwrap();
        let start: Timestamp = "2026-11-22T01:30:05Z".parse().unwrap();
        let backup = PartialBackup::create(root.path(), start, FileMode::default()).unwrap();
        backup.write_file("DISK-xvda/vdi.cfg", b"x").unwrap();
        assert!(backup.path().ends_with(".partial-2026-11-22T013005Z"));
        let done = backup.commit(&manifest()).unwrap();
        assert!(done.ends_with("2026-11-22T013005Z"));
        assert!(done.join("success").exists() && done.join("manifest.json").exists());
        assert_eq!(Manifest::read(&done).unwrap(), manifest());

        // Same second again: a sequence number; dropped: nothing left.
        let second = PartialBackup::create(root.path(), start, FileMode::default()).unwrap();
        assert_eq!(second.stamp(), "2026-11-22T013005Z.1");
        second.write_file("big.xva", b"partial").unwrap();
        drop(second);
        let names: Vec<String> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["2026-11-22T013005Z"]);
    }

    #[test]
    fn named_backups_are_partial_until_committed_and_never_overwrite() {
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("web").join("uuid");
        let backup =
            PartialBackup::create_named(&parent, "BU_20261202_013005", FileMode::default())
                .unwrap();
        assert!(backup.path().ends_with(".partial-BU_20261202_013005"));
        backup.write_file("Disk1.img", b"x").unwrap();
        let done = backup.commit(&manifest()).unwrap();
        assert_eq!(done, parent.join("BU_20261202_013005"));
        assert!(done.join("manifest.json").is_file());
        let again = PartialBackup::create_named(&parent, "BU_20261202_013005", FileMode::default());
        assert!(matches!(again, Err(StoreError::Refused { .. })));
        for bad in ["", "..", "a/b", ".hidden"] {
            let refused = PartialBackup::create_named(&parent, bad, FileMode::default());
            assert!(matches!(refused, Err(StoreError::Refused { .. })), "{bad}");
        }
        drop(PartialBackup::create_named(&parent, "BU_x", FileMode::default()).unwrap());
        let names: Vec<String> = fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["BU_20261202_013005"]);
    }

    #[test]
    fn hostile_file_names_are_refused_and_nothing_escapes() {
        let root = tempfile::tempdir().unwrap();
        let vm_dir = root.path().join("vm");
        let start: Timestamp = "2026-11-22T01:30:05Z".parse().unwrap();
        let backup = PartialBackup::create(&vm_dir, start, FileMode::default()).unwrap();
        for bad in [
            "",
            "../escape",
            "/etc/passwd",
            "a/../../b",
            "./x",
            "DISK-xvda/..",
        ] {
            let error = backup.write_file(bad, b"x").unwrap_err();
            assert!(
                matches!(error, StoreError::Refused { .. }),
                "{bad}: {error}"
            );
        }
        backup.write_file("VIFs/vif-0.cfg", b"one").unwrap();
        let twice = backup.write_file("VIFs/vif-0.cfg", b"two").unwrap_err();
        assert!(twice.to_string().contains("written twice"), "{twice}");
        assert_eq!(
            fs::read(backup.path().join("VIFs/vif-0.cfg")).unwrap(),
            b"one"
        );
        // A name made safe by the mapping stays one path component.
        let name = crate::store::dir_name("../../etc");
        backup.write_file(&name, b"x").unwrap();
        assert!(backup.path().join(&name).is_file());
        let entries: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "only the VM directory");
        let mode = fs::metadata(backup.path().join("VIFs"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
