//! Outputs and inputs the real binary must refuse or clean up after: an existing folder as
//! `-o`, an output that is one of the inputs (also through a symlink or a hard link), a
//! signal in the middle of a build, disks of no size (`/dev/zero`, `/dev/null`, an empty
//! file), and a metadata-only archive (`ova.xml` alone, as XAPI's `/export_metadata` writes).

use std::fs::{self, File};
use std::os::unix::fs::{FileExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{MIB, make_disk, ok, path, text, xva_build};

/// The hidden `.NAME.partial-*` files left in `dir`.
fn partial_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".partial-"))
        .collect()
}

#[test]
fn an_existing_folder_as_output_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, 4 * MIB);
    let folder = dir.path().join("out");
    fs::create_dir(&folder).unwrap();
    let xva = dir.path().join("d.xva");
    ok(&["build", "--disk", path(&disk), "-o", path(&xva), "--quiet"]);
    for args in [
        vec!["build", "--disk", path(&disk), "-o", path(&folder)],
        vec!["extract", path(&xva), "--disk", "0", "-o", path(&folder)],
        vec!["convert", path(&disk), "-o", path(&folder)],
    ] {
        let output = xva_build(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains("is a directory"),
            "{args:?}: {}",
            text(&output)
        );
        assert!(partial_files(dir.path()).is_empty(), "{args:?}");
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 0, "{args:?}");
    }
    // A folder that does not exist is refused before the archive is read.
    let nowhere = dir.path().join("missing").join("d.raw");
    let output = xva_build(&["extract", path(&xva), "--disk", "0", "-o", path(&nowhere)]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("no such folder"),
        "{}",
        text(&output)
    );
}

/// The running binary, killed when dropped (the test may fail before it ends).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A disk of incompressible bytes, so that a gzip -9 build of it takes a while.
fn random_disk(path: &Path, size: u64) {
    let file = File::create(path).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut data = vec![0u8; 4 * MIB as usize];
    for offset in (0..size).step_by(data.len()) {
        for word in data.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all_at(&data, offset).unwrap();
    }
}

#[test]
fn a_signal_during_a_build_removes_the_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("random.img");
    random_disk(&disk, 96 * MIB);
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        let xva = dir.path().join(format!("{signal}.xva.gz"));
        let mut running = Running(
            Command::new(env!("CARGO_BIN_EXE_xva-build"))
                .args(["build", "--disk", path(&disk), "--compress", "gzip"])
                .args(["--compress-level", "9", "--workers", "1", "--quiet", "-o"])
                .arg(&xva)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // Wait until the partial file holds data, then signal.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let growing = partial_files(dir.path())
                .iter()
                .any(|name| fs::metadata(dir.path().join(name)).is_ok_and(|m| m.len() > MIB));
            if growing {
                break;
            }
            assert!(
                running.0.try_wait().unwrap().is_none(),
                "xva-build ended before it could be signalled"
            );
            assert!(Instant::now() < deadline, "no partial file appeared");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = running.0.id().to_string();
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = running.0.wait().unwrap();
        assert_eq!(status.signal(), Some(number), "SIG{signal}: {status:?}");
        assert!(
            partial_files(dir.path()).is_empty(),
            "SIG{signal} left {:?}",
            partial_files(dir.path())
        );
        assert!(!xva.exists());
    }
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, 4 * MIB);
    let xva = dir.path().join("two.xva");
    ok(&["build", "--disk", path(&disk), "-o", path(&xva), "--quiet"]);
    let archive = fs::read(&xva).unwrap();
    let original = fs::read(&disk).unwrap();
    let link = dir.path().join("link.xva");
    symlink(&xva, &link).unwrap();
    let hard = dir.path().join("hard.img");
    fs::hard_link(&disk, &hard).unwrap();
    let config = dir.path().join("vm.cfg");
    fs::write(
        &config,
        format!("name = 'x'\ndisk = [ 'file:{},xvda,w' ]\n", disk.display()),
    )
    .unwrap();
    for args in [
        vec!["extract", path(&xva), "--disk", "0", "-o", path(&xva)],
        vec!["extract", path(&xva), "--disk", "0", "-o", path(&link)],
        vec!["convert", path(&disk), "-o", path(&disk)],
        vec!["convert", path(&disk), "-o", path(&hard)],
        vec!["build", "--disk", path(&disk), "-o", path(&hard)],
        vec!["build", "--config", path(&config), "-o", path(&config)],
        vec!["build", "--config", path(&config), "-o", path(&hard)],
    ] {
        let output = xva_build(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains("is also an input"),
            "{args:?}: {}",
            text(&output)
        );
    }
    assert_eq!(fs::read(&xva).unwrap(), archive);
    assert_eq!(fs::read(&disk).unwrap(), original);
    assert!(partial_files(dir.path()).is_empty());
}

#[test]
fn a_disk_of_no_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.img");
    File::create(&empty).unwrap();
    let fifo = dir.path().join("fifo.img");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = dir.path().join("x.xva");
    for disk in ["/dev/zero", "/dev/null", path(&empty), path(&fifo)] {
        for args in [
            vec!["build", "--disk", disk, "-o", path(&out)],
            vec!["convert", disk, "-o", path(&out)],
        ] {
            let output = xva_build(&args);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
            let message = text(&output);
            assert!(
                message.contains(disk)
                    && ["character device", "0 bytes", "FIFO"]
                        .iter()
                        .any(|what| message.contains(what)),
                "{args:?}: {message}"
            );
            assert!(!out.exists(), "{args:?}");
        }
    }
}

/// `tar -cf` of `ova.xml` alone, taken from a full archive with GNU tar: what XAPI's
/// `/export_metadata` sends.
fn metadata_only(full: &Path, dir: &Path) -> std::path::PathBuf {
    let staged = dir.join("staged");
    fs::create_dir(&staged).unwrap();
    let tar = |args: &[&str]| {
        let output = Command::new("tar")
            .args(args)
            .output()
            .expect("GNU tar is missing: install with: apt-get install tar");
        assert!(output.status.success(), "tar {args:?}: {}", text(&output));
    };
    tar(&["-xf", path(full), "-C", path(&staged), "ova.xml"]);
    let meta = dir.join("meta.xva");
    tar(&["-cf", path(&meta), "-C", path(&staged), "ova.xml"]);
    meta
}

#[test]
fn a_metadata_only_archive_is_shown_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("d.img");
    make_disk(&disk, 4 * MIB);
    let xva = dir.path().join("full.xva");
    ok(&[
        "build",
        "--disk",
        path(&disk),
        "--name",
        "meta",
        "-o",
        path(&xva),
        "--quiet",
    ]);
    let meta = metadata_only(&xva, dir.path());

    let facts: Value = serde_json::from_str(&ok(&["inspect", path(&meta), "--json"])).unwrap();
    assert_eq!(facts["metadata_only"], true);
    assert_eq!(facts["vms"][0]["name"], "meta");
    assert_eq!(facts["disks"][0]["size"], 4 * MIB);
    assert_eq!(facts["checksum"], Value::Null);
    let shown = ok(&["inspect", path(&meta)]);
    assert!(shown.contains("metadata only"), "{shown}");
    let full: Value = serde_json::from_str(&ok(&["inspect", path(&xva), "--json"])).unwrap();
    assert_eq!(full["metadata_only"], false);

    let verified = ok(&["verify", path(&meta), "--quiet"]);
    assert!(verified.contains("metadata-only archive"), "{verified}");
    let report: Value =
        serde_json::from_str(&ok(&["verify", path(&meta), "--json", "--quiet"])).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["metadata_only"], true);

    let extracted = xva_build(&[
        "extract",
        path(&meta),
        "--disk",
        "0",
        "-o",
        path(&dir.path().join("d.raw")),
    ]);
    assert_eq!(extracted.status.code(), Some(1), "{}", text(&extracted));
    assert!(
        text(&extracted).contains("metadata-only"),
        "{}",
        text(&extracted)
    );

    // A full archive cut right after ova.xml (no end-of-archive blocks) is damaged, not
    // metadata-only.
    let bytes = fs::read(&xva).unwrap();
    let ova_len = u64::from_str_radix(std::str::from_utf8(&bytes[124..135]).unwrap(), 8).unwrap();
    let cut = dir.path().join("cut.xva");
    fs::write(&cut, &bytes[..(512 + ova_len.div_ceil(512) * 512) as usize]).unwrap();
    let damaged = xva_build(&["verify", path(&cut), "--quiet"]);
    assert_eq!(damaged.status.code(), Some(1), "{}", text(&damaged));
}

#[test]
fn a_metadata_export_of_the_pool_is_shown_as_metadata_only() {
    let sim = xapi_sim::Simulator::start(xapi_sim::SimConfig::demo()).unwrap();
    let (user, password) = sim.credentials();
    let session =
        xenapi::Session::login(sim.url(), user, password, xenapi::SessionOptions::default())
            .unwrap();
    let web = sim
        .vms()
        .into_iter()
        .find(|(_, vm)| vm.name_label == "web-01")
        .unwrap()
        .0;
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("web-01.meta.xva");
    {
        let mut download = session.export_metadata(&web).unwrap();
        std::io::copy(&mut download, &mut File::create(&meta).unwrap()).unwrap();
        download.finish().unwrap();
    }
    session.logout().unwrap();
    let facts: Value = serde_json::from_str(&ok(&["inspect", path(&meta), "--json"])).unwrap();
    assert_eq!(facts["metadata_only"], true, "{facts}");
    assert_eq!(facts["vms"][0]["name"], "web-01");
    assert_eq!(facts["disks"][0]["size"], 16 * MIB);
    let verified = ok(&["verify", path(&meta), "--quiet"]);
    assert!(verified.contains("metadata-only archive"), "{verified}");
}
