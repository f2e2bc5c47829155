//! The command line: NAUbackup's documented configuration examples through `preview`,
//! VmBackup.py's invocation forms, and the exit codes (0 good, 1 some VMs failed, 2 a
//! configuration or usage error).

use std::fs;

use xapi_sim::NewVm;

use super::support::{Setup, s, vm_with_disks, vmbackup, vmbackup_exit, vmbackup_json};

/// The pool of the README's weekend.cfg example.
fn weekend_pool() -> Setup {
    let names = [
        "PROD-ubuntu14",
        "PROD-ubuntu12-benchmark",
        "PROD-CentOS7-large-user-disks",
        "DEV-RH6",
        "DEV-RH7",
        "PROD-WinSvr",
        "TEST-other",
    ];
    Setup::new(names.iter().map(|n| NewVm::new(*n)).collect())
}

#[test]
fn the_readme_weekend_example_selects_what_naubackup_documents() {
    let setup = weekend_pool();
    let config = setup.config(
        "weekend.cfg",
        "# Weekend VMs\nmax_backups=4\n#\nvdi-export=PROD-CentOS7-large-user-disks\nvm-export=PROD.*\n\
         vm-export=DEV-RH.*:3\nexclude=PROD-ubuntu12-benchmark",
    );
    let preview = vmbackup_json(&["preview", s(&config)], 0);
    let mut jobs: Vec<String> = preview["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let keep = j["keep"]
                .as_u64()
                .map(|k| format!(":{k}"))
                .unwrap_or_default();
            format!(
                "{} {}{keep}",
                j["kind"].as_str().unwrap(),
                j["vm"].as_str().unwrap()
            )
        })
        .collect();
    jobs.sort();
    assert_eq!(
        jobs,
        [
            "vdi-export PROD-CentOS7-large-user-disks",
            "vm-export DEV-RH6:3",
            "vm-export DEV-RH7:3",
            "vm-export PROD-WinSvr",
            "vm-export PROD-ubuntu14",
        ]
    );
    let excluded: Vec<&str> = preview["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["vm"].as_str().unwrap())
        .collect();
    assert_eq!(excluded, ["PROD-ubuntu12-benchmark"]);
    assert!(
        preview["excluded"][0]["uuid"]
            .as_str()
            .is_some_and(|uuid| !uuid.is_empty())
    );
    let (stdout, _) = vmbackup_exit(&["preview", s(&config)], 0);
    assert!(
        stdout.contains("\nexclude: PROD-ubuntu12-benchmark\n"),
        "{stdout}"
    );
    assert!(stdout.contains("SUCCESS preview of parameters"), "{stdout}");
}

#[test]
fn configuration_errors_exit_2_naming_the_line() {
    let setup = weekend_pool();
    let missing = setup.config(
        "missing.cfg",
        "vm-export=PROD-CentOS7-large-user-disks-typo",
    );
    let (_, stderr) = vmbackup_exit(&["preview", s(&missing)], 2);
    assert!(
        stderr.contains("PROD-CentOS7-large-user-disks-typo"),
        "{stderr}"
    );
    let unknown = setup.config("unknown.cfg", "vm-export=DEV-RH6\nfrobnicate=1");
    let (_, stderr) = vmbackup_exit(&["run", s(&unknown)], 2);
    assert!(
        stderr.contains("line 7") && stderr.contains("frobnicate"),
        "{stderr}"
    );
    let regex = setup.config("regex.cfg", "vm-export=PRD-[aA.*");
    let (_, stderr) = vmbackup_exit(&["preview", s(&regex)], 2);
    assert!(stderr.contains("PRD-[aA.*"), "{stderr}");
    let usage = vmbackup(&["run"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn a_vm_that_does_not_exist_fails_the_run_but_not_the_others() {
    let setup = Setup::new(vec![vm_with_disks("real", 1)]);
    let config = setup.config("partly.cfg", "vm-export=real\nvm-export=imaginary");
    let report = vmbackup_json(&["run", s(&config), "--quiet"], 1);
    assert_eq!(report["vms"].as_array().unwrap().len(), 1);
    assert_eq!(report["vms"][0]["status"], "success");
    assert!(
        report["errors"][0].as_str().unwrap().contains("imaginary"),
        "{report:#}"
    );
    assert_eq!(report["summary"], "S:1 W:0 E:1");
}

#[test]
fn vmbackup_py_invocation_forms() {
    let setup = Setup::new(vec![
        vm_with_disks("DEV mySql", 1),
        vm_with_disks("DEV-web", 2),
    ]);
    let config = setup.config("plain.cfg", "vm-export=DEV-web");
    // `vmbackup CONFIG` is `vmbackup run CONFIG`; VmBackup.py's key=value options follow.
    let (stdout, _) = vmbackup_exit(&[s(&config), "compress=True", "--quiet"], 0);
    assert!(
        stdout.contains("VmBackup ended - Success - S:1 W:0 E:0"),
        "{stdout}"
    );
    assert!(
        setup.backups_of("DEV-web")[0]
            .join("DEV-web.xva.gz")
            .is_file()
    );
    // A selector instead of a file, with the connection on the command line.
    let password = setup.dir.path().join("password");
    let connection = [
        "--host",
        setup.sim.url(),
        "--tls-fingerprint",
        setup.sim.fingerprint(),
        "--password-file",
        s(&password),
    ];
    let mut args = vec!["run", "vdi-export=DEV mySql", "--quiet"];
    args.extend(connection);
    // A selector run's backup_dir is NAUbackup's /snapshots/BACKUPS: absent here, so the
    // run stops before touching anything...
    let (_, stderr) = vmbackup_exit(&args, 2);
    assert!(stderr.contains("/snapshots/BACKUPS"), "{stderr}");
    // ... unless told where backups go.
    let backups = setup.backups();
    args.extend(["--backup-dir", s(&backups)]);
    let report = vmbackup_json(&args, 0);
    assert_eq!(report["vms"][0]["kind"], "vdi-export", "{report:#}");
    assert!(
        setup.backups_of("DEV mySql")[0]
            .join("DEV mySql.raw")
            .is_file()
    );
}

#[test]
fn passwords_never_come_from_the_command_line() {
    let setup = Setup::new(vec![vm_with_disks("web", 1)]);
    let config = setup.config("nopass.cfg", "vm-export=web");
    let text = fs::read_to_string(&config).unwrap();
    let no_password: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("password_file"))
        .collect();
    let no_password = no_password.join("\n");
    fs::write(&config, no_password).unwrap();
    let (_, stderr) = vmbackup_exit(&["run", s(&config)], 2);
    assert!(
        stderr.contains("no password") && stderr.contains("VMBACKUP_PASSWORD"),
        "{stderr}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vmbackup"))
        .args(["run", s(&config), "--quiet"])
        .env("VMBACKUP_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SESSION_AUTHENTICATION_FAILED"));
    let help = vmbackup(&["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}
