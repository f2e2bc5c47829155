//! A plain Xen source (`--xen-config`): an xl guest with `file:` / `tap:aio:` disks on a
//! host reached over a real sshd, migrated into ovirt-sim; the uploaded disks downloaded
//! and compared with `qemu-img compare`; the guest shut down with `xl shutdown -w` only when
//! asked and started again when the migration fails; host keys checked; faults leave
//! nothing behind.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use disk_image::{NoProgress, RawFileSink};
use ovirt_client::TransferSettings;
use ovirt_client::imageio::TransferOptions;

use super::support::{Fixture, assert_identical, code, json, run_raw};
use super::xl_host::{XL_BRIDGE, XL_MAC, XlHost};

/// The engine's flags, the network map and the storage domain, then `extra`.
fn run(fixture: &Fixture, extra: &[String]) -> std::process::Output {
    let mut args: Vec<String> = fixture.connection_args()[4..].to_vec();
    args.extend(
        [
            "--network",
            &format!("{XL_BRIDGE}=ovirtmgmt"),
            "--storage-domain",
            "data1",
        ]
        .map(str::to_owned),
    );
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_raw(&args)
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| (*s).to_owned()).collect()
}

/// Nothing on the engine, both audits clean.
fn nothing_left(fixture: &Fixture) {
    assert!(
        fixture.engine().vms(None).unwrap().is_empty(),
        "the engine has a VM"
    );
    fixture.assert_clean();
}

#[test]
fn a_running_guest_over_ssh_is_shut_down_and_its_disks_arrive_byte_for_byte() {
    let fixture = Fixture::new();
    let mut host = XlHost::new("running");
    host.start_sshd();
    let mut args = host.ssh_args(host.port);
    args.extend(strings(&[
        "--shutdown",
        "--shutdown-timeout",
        "30",
        "--json",
    ]));

    let output = run(&fixture, &args);
    assert_eq!(code(&output), 0, "{}", host.sshd_log());
    let report = json(&output);
    let source = &report["plan"]["source"];
    assert_eq!(source["name"], "web");
    assert_eq!(source["virtualisation"], "pv");
    assert_eq!(source["memory"], 768u64 << 20);
    assert_eq!(source["cpus"]["count"], 2);
    assert_eq!(source["disks"][1]["device"], "sda1");
    assert_eq!(source["nics"][0]["mac"], XL_MAC);
    assert_eq!(host.calls(), ["list web", "shutdown -w web"]);
    assert_eq!(host.state(), "halted", "the guest stays off once migrated");

    let engine = fixture.engine();
    let vm = engine.find_vm("web", false).unwrap().expect("the new VM");
    assert_eq!(vm.memory, Some(768 << 20));
    for (n, source) in [host.system_disk(), host.data_disk()].iter().enumerate() {
        let disk = &report["disks"][n];
        let size = disk["size"].as_u64().unwrap();
        assert_eq!(size, std::fs::metadata(source).unwrap().len());
        assert!(disk["sent"]["zeroed_bytes"].as_u64().unwrap() > 0, "{disk}");
        let copy = host.dir.path().join(format!("download-{n}.raw"));
        let file = std::fs::File::create(&copy).unwrap();
        engine
            .download_disk(
                disk["id"].as_str().unwrap(),
                size,
                &mut RawFileSink::new(&file, "download"),
                &TransferOptions::default(),
                &TransferSettings::default(),
                &NoProgress,
            )
            .expect("download the disk");
        assert_identical(source, &copy);
    }
    drop(engine);
    fixture.assert_clean();
}

#[test]
fn a_host_key_that_is_not_the_pinned_one_is_refused_before_login() {
    let fixture = Fixture::new();
    let mut host = XlHost::new("halted");
    host.start_sshd();
    let mut args = host.ssh_args(host.port);
    // Replace --ssh-known-hosts by a wrong fingerprint.
    args.truncate(args.len() - 2);
    let wrong = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    args.extend(strings(&["--ssh-fingerprint", wrong]));
    let output = run(&fixture, &args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not the one expected"), "{stderr}");
    assert!(host.calls().is_empty(), "xl ran: {:?}", host.calls());
    nothing_left(&fixture);

    // The right one works (a dry run).
    let mut args = host.ssh_args(host.port);
    args.truncate(args.len() - 2);
    args.extend([
        "--ssh-fingerprint".to_owned(),
        host.fingerprint(),
        "--dry-run".to_owned(),
    ]);
    let output = run(&fixture, &args);
    assert_eq!(code(&output), 0);
    nothing_left(&fixture);
}

#[test]
fn a_missing_disk_or_a_running_guest_stops_the_run_before_anything_is_made() {
    let fixture = Fixture::new();
    let mut host = XlHost::new("running");
    host.start_sshd();
    // Running, no --shutdown: refused, the guest untouched.
    let output = run(&fixture, &host.ssh_args(host.port));
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("VM `web` is running"), "{stderr}");
    assert_eq!(host.calls(), ["list web"]);
    assert_eq!(host.state(), "running");
    nothing_left(&fixture);

    std::fs::remove_file(host.data_disk()).unwrap();
    let mut args = host.ssh_args(host.port);
    args.push("--shutdown".to_owned());
    let output = run(&fixture, &args);
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("web-data.img") && stderr.contains("cannot be read"),
        "{stderr}"
    );
    assert_eq!(host.calls(), ["list web", "list web"], "no shutdown");
    assert_eq!(host.state(), "running");
    nothing_left(&fixture);

    // A configuration that is code, not data: read over SFTP, refused with its line.
    std::fs::write(host.config(), "name = 'web'\nimport os\n").unwrap();
    let output = run(&fixture, &host.ssh_args(host.port));
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("import"),
        "{stderr}"
    );
    assert_eq!(host.calls().len(), 2, "xl did not run");
    nothing_left(&fixture);
}

#[test]
fn a_shutdown_that_never_ends_fails_and_leaves_the_guest_running() {
    let fixture = Fixture::new();
    let mut host = XlHost::new("running");
    host.hang_shutdowns();
    host.start_sshd();
    let mut args = host.ssh_args(host.port);
    args.extend(strings(&["--shutdown", "--shutdown-timeout", "2"]));
    let output = run(&fixture, &args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did not shut down cleanly within 2 s"),
        "{stderr}"
    );
    assert_eq!(host.calls(), ["list web", "shutdown -w web", "list web"]);
    assert_eq!(host.state(), "running");
    nothing_left(&fixture);
}

/// A TCP relay to `port` that drops its first connection once `limit` bytes came from the
/// server (later ones pass whole); its own port.
fn cutting_relay(port: u16, limit: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            let limit = if n == 0 { limit } else { u64::MAX };
            thread::spawn(move || relay(client, port, limit));
        }
    });
    relay_port
}

fn relay(client: TcpStream, port: u16, limit: u64) {
    {
        let server = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let pipe = |mut from: TcpStream, mut to: TcpStream, counted: Option<Arc<AtomicU64>>| {
            thread::spawn(move || {
                let mut buf = [0u8; 16 << 10];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if let Some(sent) = &counted
                        && sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 > limit
                    {
                        break;
                    }
                }
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            })
        };
        let up = pipe(
            client.try_clone().unwrap(),
            server.try_clone().unwrap(),
            None,
        );
        let down = pipe(server, client, Some(sent));
        let _ = (up.join(), down.join());
    }
}

#[test]
fn a_connection_dropped_during_the_copy_starts_the_guest_again_and_removes_the_target() {
    let fixture = Fixture::new();
    let mut host = XlHost::new("running");
    host.start_sshd();
    // The cut comes once part of the first disk has travelled.
    let relay = cutting_relay(host.port, 6 << 20);
    let mut args = host.ssh_args(relay);
    // The known_hosts entry names the sshd's port; the relay's is another.
    let known = host.dir.path().join("known_hosts");
    let entry = std::fs::read_to_string(&known).unwrap();
    std::fs::write(
        &known,
        entry.replace(&format!("]:{}", host.port), &format!("]:{relay}")),
    )
    .unwrap();
    args.push("--shutdown".to_owned());
    let output = run(&fixture, &args);
    assert_eq!(code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("web-system.img"), "{stderr}");
    // Shut down, then started again over a new connection.
    let create = format!("create {}", host.config().display());
    assert_eq!(
        host.calls(),
        ["list web", "shutdown -w web", create.as_str()]
    );
    assert_eq!(host.state(), "running");
    nothing_left(&fixture);
}

#[test]
fn on_the_dom0_itself_the_configuration_and_disks_are_read_locally() {
    let fixture = Fixture::new();
    let host = XlHost::new("running");
    let mut args: Vec<String> = fixture.connection_args()[4..].to_vec();
    args.extend(strings(&[
        "--network",
        &format!("{XL_BRIDGE}=ovirtmgmt"),
        "--storage-domain",
        "data1",
        "--xen-config",
        host.config().to_str().unwrap(),
        "--shutdown",
        "--json",
    ]));
    let path = format!(
        "{}:{}",
        host.bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xen2ovirt"))
        .args(&args)
        .env("PATH", path)
        .output()
        .expect("run xen2ovirt");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(code(&output), 0);
    assert_eq!(host.calls(), ["list web", "shutdown -w web"]);
    assert_eq!(host.state(), "halted");
    let report = json(&output);
    for (n, source) in [host.system_disk(), host.data_disk()].iter().enumerate() {
        let id = report["disks"][n]["id"].as_str().unwrap();
        assert_identical(
            source,
            &fixture.ovirt.disk_file(id).expect("the disk's file"),
        );
    }
    fixture.assert_clean();
}
