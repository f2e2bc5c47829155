//! `xenapi::dom0`, the SSH / SFTP client `--upload-kernel` uses, called directly against the
//! real `sshd` on loopback: an upload is read back as a stream byte for byte, a dropped
//! upload removes what it created, an existing file is never overwritten, and a host key
//! that is not the one pinned is refused before any login.

use std::fs;
use std::io::Read;
use std::path::Path;

use xenapi::dom0::{Dom0, Dom0Error, Dom0Options, HostKeyCheck, Login};

use super::MIB;
use super::sshd::Sshd;

fn options(sshd: &Sshd, check: HostKeyCheck) -> Dom0Options {
    Dom0Options {
        port: sshd.port,
        ..Dom0Options::new(check)
    }
}

fn pinned(sshd: &Sshd) -> HostKeyCheck {
    HostKeyCheck::Fingerprint(sshd.fingerprint().parse().unwrap())
}

#[test]
fn uploads_read_back_as_streams_and_a_dropped_upload_leaves_nothing() {
    let sshd = Sshd::start();
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("vmlinuz");
    let bytes: Vec<u8> = (0..2 * MIB as usize + 333)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    fs::write(&local, &bytes).unwrap();
    let key = sshd.client_key();
    let connect = || {
        Dom0::connect(
            "127.0.0.1",
            &options(&sshd, pinned(&sshd)),
            Login::Key(&key),
        )
    };

    // Dropped without keep: the file and both directories it created are gone again.
    let remote = Path::new("/boot/guest/abc/vmlinuz");
    let uploaded = connect().unwrap().upload(&[(&local, remote)]).unwrap();
    assert_eq!(uploaded.files(), ["root@127.0.0.1:/boot/guest/abc/vmlinuz"]);
    assert!(sshd.files().contains(&remote.display().to_string()));
    drop(uploaded);
    assert!(
        !sshd.files().iter().any(|f| f.starts_with("/boot/guest")),
        "{:?}",
        sshd.files()
    );

    // Kept: read back over a new connection, as a stream, byte for byte.
    let kept = connect()
        .unwrap()
        .upload(&[(&local, remote)])
        .unwrap()
        .keep();
    assert_eq!(kept, ["root@127.0.0.1:/boot/guest/abc/vmlinuz"]);
    let dom0 = connect().unwrap();
    let mut file = dom0.open(remote).unwrap();
    assert_eq!(file.size().unwrap(), bytes.len() as u64);
    let mut read = Vec::new();
    file.read_to_end(&mut read).unwrap();
    assert!(read == bytes, "the file read back differs");
    assert_eq!(file.name(), "root@127.0.0.1:/boot/guest/abc/vmlinuz");
    let missing = dom0.open(Path::new("/boot/guest/abc/none")).unwrap_err();
    assert!(matches!(missing, Dom0Error::Ssh { .. }), "{missing}");
    drop(dom0);

    // An existing file is never overwritten, and the failed upload removes only its own
    // creations: the kept file stays as it was.
    let error = connect().unwrap().upload(&[(&local, remote)]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("creating root@127.0.0.1:/boot/guest/abc/vmlinuz"),
        "{error}"
    );
    let on_disk = sshd.root.path().join("boot/guest/abc/vmlinuz");
    assert_eq!(fs::read(on_disk).unwrap(), bytes);
}

#[test]
fn a_host_key_that_is_not_the_pinned_one_is_refused_before_the_login() {
    let sshd = Sshd::start();
    let other = Sshd::start();
    let error = Dom0::connect(
        "127.0.0.1",
        &options(&sshd, pinned(&other)),
        Login::Password("never sent"),
    )
    .unwrap_err();
    assert!(matches!(error, Dom0Error::HostKey(_)), "{error}");
    assert!(
        error.to_string().contains("is not the one expected"),
        "{error}"
    );
    assert!(!sshd.log().contains("Failed password"), "{}", sshd.log());

    let known_hosts = other.known_hosts();
    let error = Dom0::connect(
        "127.0.0.1",
        &options(&sshd, HostKeyCheck::KnownHosts(known_hosts)),
        Login::Key(&sshd.client_key()),
    )
    .unwrap_err();
    assert!(matches!(error, Dom0Error::HostKey(_)), "{error}");
}
