//! Configurations that are Python code, malformed, incomplete or contradictory: each error
//! names its line; and arbitrary text never makes the parser panic.

use std::path::Path;

use proptest::prelude::*;

use super::*;

#[test]
fn xmexample_hvm_python_is_refused_at_its_first_code_line() {
    let text = "#  -*- mode: python; -*-\n# comment\nimport os, re\narch = os.uname()[4]\n";
    let (line, problem) = parse_error(text);
    assert_eq!(line, 3);
    assert!(
        problem.starts_with(
            "`import` statements are not supported; the configuration is read as data"
        ),
        "{problem}"
    );
}

#[test]
fn devices_and_fifos_are_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("web.cfg");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "mkfifo (coreutils) is missing"
    );
    // Read on a thread: a read that waits for a FIFO's writer must fail the test, not hang it.
    let (sender, receiver) = std::sync::mpsc::channel();
    for path in [fifo, std::path::PathBuf::from("/dev/null")] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let _ = sender.send((read(&path).map(drop).map_err(|e| e.to_string()), path));
        });
        let (result, path) = receiver
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the read returns at once");
        let error = result.unwrap_err();
        assert!(
            error.contains(&format!("`{}` is not a regular file", path.display())),
            "{error}"
        );
    }
}

#[test]
fn broken_configurations_are_errors_with_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("name = 'a'\nmemroy = 512\n", 2, "unknown key `memroy`"),
        (
            "name = 'a'\nkernel = '/boot/vmlinuz\nmemory = 2\n",
            2,
            "unterminated string",
        ),
        (
            "name = 'a'\ndisk = [ 'phy:/dev/a,xvda,w',\n",
            2,
            "the `[` opened on line 2 is never closed",
        ),
        (
            "name = 'a'\n\nmemory = 256 * 2\n",
            3,
            "expressions (`*`) are not supported",
        ),
        (
            "vif = [\n  'bridge=xenbr0',\n  'mac=00:16:3e:zz:00:01',\n]\n",
            3,
            "is not a MAC address",
        ),
        (
            "disk = [\n 'phy:/dev/vg/a,xvda,w',\n 'phy:/dev/vg/b,xvdb',\n]\n",
            3,
            "disk entry 'phy:/dev/vg/b,xvdb': expected 3",
        ),
        (
            "name = 'a'\nmemory = 'lots'\n",
            2,
            "`memory` must be a whole number, found the string 'lots'",
        ),
        (
            "name = 'a'\nmemory = 1.5\n",
            2,
            "`memory` must be a whole number, found the number 1.5",
        ),
        ("disk = 5\n", 1, "`disk` must be a list of strings"),
        ("disk = [ 5 ]\n", 1, "this entry is not a string"),
        (
            "name = 7\n",
            1,
            "`name` must be a quoted string, found the number 7",
        ),
        (
            "acpi = 'maybe'\n",
            1,
            "`acpi` must be 0 or 1 (or True / False)",
        ),
        (
            "builder = 'linux-hvm'\n",
            1,
            "`builder` must be one of 'linux', 'generic', 'hvm'",
        ),
        (
            "on_crash = 'explode'\n",
            1,
            "action `explode` is not one of destroy",
        ),
        ("boot = 'cz'\n", 1, "`boot` letter `z`"),
        ("bootloader = '/usr/bin/grub'\n", 1, "is not pygrub"),
        (
            "disk = ['phy:/dev/a,xvda,w', 'phy:/dev/b,xvda,w']\n",
            1,
            "`xvda` is used twice",
        ),
        ("memory = 512M\n", 1, "`512M` is not a number"),
    ];
    for (text, line, needle) in cases {
        let (got_line, problem) = parse_error(text);
        assert_eq!(got_line, *line, "{text:?}: {problem}");
        assert!(problem.contains(needle), "{text:?}: {problem}");
    }
}

#[test]
fn incomplete_or_contradictory_configurations_fail_to_map() {
    let disk = "disk = ['phy:/dev/vg/a,xvda,w']\n";
    let cases: Vec<(String, usize, &str)> = vec![
        (
            format!("memory = 256\n{disk}vcpus = 1\n"),
            3,
            "no `name` is set",
        ),
        (
            "name = 'a'\nmemory = 256\n".to_owned(),
            2,
            "`disk` is not set: a VM needs at least one disk",
        ),
        (
            "name = 'a'\ndisk = [',hdc:cdrom,r']\n".to_owned(),
            2,
            "`disk` lists no disk to package",
        ),
        (
            "name = 'a'\ndisk = []\n".to_owned(),
            2,
            "`disk` lists no disk",
        ),
        (format!("name = ''\n{disk}"), 1, "`name` is empty"),
        (
            format!("name = 'a'\n{disk}memory = 0\n"),
            3,
            "`memory` must be a positive number of MiB, found 0",
        ),
        (
            format!("name = 'a'\n{disk}memory = -256\n"),
            3,
            "found -256",
        ),
        (
            format!("name = 'a'\n{disk}memory = 1024\nmaxmem = 512\n"),
            4,
            "`maxmem` (512 MiB) is below `memory` (1024 MiB)",
        ),
        (
            format!("name = 'a'\n{disk}vcpus = 4\nmaxvcpus = 2\n"),
            4,
            "`maxvcpus` (2) is below `vcpus` (4)",
        ),
        (
            format!("name = 'a'\n{disk}vcpus = 0\n"),
            3,
            "`vcpus` must be a positive number of vCPUs",
        ),
        (
            format!("name = 'a'\n{disk}vcpus = 0x100000000\n"),
            3,
            "is too many",
        ),
        (
            format!("name = 'a'\n{disk}memory = 0x7fffffffffffffff\n"),
            3,
            "is too large",
        ),
        (
            "name = 'a'\ndisk = ['tap:qcow:/srv/a.qcow,xvda,w']\n".to_owned(),
            2,
            "is a qcow image, not a raw image",
        ),
        (format!("name = 'a'\ntype = 'pvh'\n{disk}"), 2, "not PVH"),
    ];
    for (text, line, needle) in cases {
        let (got_line, problem) = spec_error(&text);
        assert_eq!(got_line, line, "{text:?}: {problem}");
        assert!(problem.contains(needle), "{text:?}: {problem}");
    }
}

#[test]
fn errors_name_the_file_and_line() {
    let err = parse("name = 'a'\nfoo = 1\n", Path::new("/etc/xen/web.cfg")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`/etc/xen/web.cfg` line 2: unknown key `foo`"
    );
}

/// Text built from the pieces configurations are made of, to reach deep into the parser.
fn config_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("name"),
        Just("disk"),
        Just("vif"),
        Just("memory"),
        Just("builder"),
        Just("boot"),
        Just(" = "),
        Just("'"),
        Just("\""),
        Just("'''"),
        Just("["),
        Just("]"),
        Just("("),
        Just(")"),
        Just(","),
        Just("\n"),
        Just("#"),
        Just("\\"),
        Just("-"),
        Just("0x"),
        Just("512"),
        Just("True"),
        Just("None"),
        Just("'phy:/dev/vg/a,xvda,w'"),
        Just("',hdc:cdrom,r'"),
        Just("'mac=00:16:3e:00:00:01'"),
        Just("'hvm'"),
        Just(";"),
        Just("format=raw,vdev=xvdb,target="),
        Just(":"),
        Just("\u{e9}"),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Ok(config) = parse(&text, Path::new("fuzz.cfg")) {
            let _ = config.to_vm_spec();
        }
    }

    #[test]
    fn config_like_text_never_panics(text in config_like()) {
        if let Ok(config) = parse(&text, Path::new("fuzz.cfg")) {
            let _ = config.to_vm_spec();
        }
    }
}
