use std::process::Command;

use jiff::civil::date;

use super::*;

fn result(kind: JobKind, vm: &str, outcome: VmOutcome, secs: u64, size: u64) -> VmResult {
    VmResult {
        kind,
        vm: vm.into(),
        outcome,
        elapsed: Duration::from_secs(secs),
        size,
        detail: None,
    }
}

#[test]
fn golden_status_log_records() {
    let at = date(2019, 9, 5).at(10, 33, 49, 0);
    let late = date(2019, 12, 31).at(23, 5, 7, 0);
    let gib = 1u64 << 30;
    let success = result(
        JobKind::VmExport,
        "web01",
        VmOutcome::Success,
        839,
        20 * gib + 5,
    );
    let warning = result(
        JobKind::VdiExport,
        "DEV mySql",
        VmOutcome::Warning,
        59,
        gib - 1,
    );
    let counts = Counts {
        success: 3,
        warning: 0,
        error: 1,
    };
    for (line, expected) in [
        (
            run_begin_line(at, "xs1"),
            "2019/09/05 10:33:49,vmbackup.py,xs1,begin",
        ),
        (
            vm_begin_line(late, "xs1", JobKind::VmExport, "web01"),
            "2019/12/31 23:05:07,vm-export,xs1,begin,web01",
        ),
        (
            vm_end_line(at, "xs1", &success),
            "2019/09/05 10:33:49,vm-export,xs1,end,SUCCESS web01,elapse:13 size:20G",
        ),
        (
            vm_end_line(at, "xs1", &warning),
            "2019/09/05 10:33:49,vdi-export,xs1,end,WARNING DEV mySql,elapse:0 size:0G",
        ),
        (
            run_end_line(at, "xs1", &counts),
            "2019/09/05 10:33:49,vmbackup.py,xs1,end,ERROR,S:3 W:0 E:1",
        ),
        (
            run_end_line(at, "xs1", &Counts::default()),
            "2019/09/05 10:33:49,vmbackup.py,xs1,end,SUCCESS,S:0 W:0 E:0",
        ),
        (stdout_prefix(at), "2019-09-05-(10:33:49) - "),
    ] {
        assert_eq!(line, expected);
    }
}

#[test]
fn every_failure_word_is_vmbackups() {
    let words: Vec<String> = [
        (JobKind::VmExport, Failure::VerifyVmName),
        (JobKind::VmExport, Failure::VmUuidNotFound),
        (JobKind::VmExport, Failure::Snapshot),
        (JobKind::VmExport, Failure::TemplateParamSet),
        (JobKind::VmExport, Failure::VmExport),
        (JobKind::VmExport, Failure::VmUninstall),
        (JobKind::VdiExport, Failure::VdiList),
        (JobKind::VdiExport, Failure::XvdaUuidNotFound),
        (JobKind::VdiExport, Failure::XvdaNameLabelNotFound),
        (JobKind::VdiExport, Failure::VdiSnapshot),
        (JobKind::VdiExport, Failure::VdiParamSet),
        (JobKind::VdiExport, Failure::VdiExport),
        (JobKind::MetadataExport, Failure::MetadataExport),
        (JobKind::SkeletonExport, Failure::SkeletonBuild),
    ]
    .into_iter()
    .map(|(kind, failure)| {
        let failed = result(kind, "vm 1", VmOutcome::Failed(failure), 7200, 1 << 40);
        vm_end_line(date(2019, 9, 5).at(1, 2, 3, 0), "xs1", &failed)
    })
    .collect();
    assert_eq!(
        words,
        [
            "2019/09/05 01:02:03,vm-export,xs1,end,ERROR verify_vm_name vm 1",
            "2019/09/05 01:02:03,vm-export,xs1,end,ERROR vm-uuid not found vm 1",
            "2019/09/05 01:02:03,vm-export,xs1,end,SNAPSHOT-FAIL vm 1",
            "2019/09/05 01:02:03,vm-export,xs1,end,TEMPLATE-PARAM-SET-FAIL vm 1",
            "2019/09/05 01:02:03,vm-export,xs1,end,VM-EXPORT-FAIL vm 1",
            "2019/09/05 01:02:03,vm-export,xs1,end,VM-UNINSTALL-FAIL-1 vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,VDI-LIST-FAIL vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,ERROR xvda-uuid not found vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,ERROR xvda-name-label not found vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,VDI-SNAPSHOT-FAIL vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,VDI-PARAM-SET-FAIL vm 1",
            "2019/09/05 01:02:03,vdi-export,xs1,end,VDI-EXPORT-FAIL vm 1",
            "2019/09/05 01:02:03,metadata-export,xs1,end,METADATA-EXPORT-FAIL vm 1",
            "2019/09/05 01:02:03,skeleton-export,xs1,end,SKELETON-BUILD-FAIL vm 1",
        ]
    );
}

#[test]
fn summary_lines_follow_the_worst_outcome() {
    let ok = result(JobKind::VmExport, "a", VmOutcome::Success, 1, 1);
    let warn = result(JobKind::VmExport, "b", VmOutcome::Warning, 1, 1);
    let bad = result(
        JobKind::VmExport,
        "c",
        VmOutcome::Failed(Failure::Snapshot),
        1,
        0,
    );
    let all = [ok.clone(), warn.clone(), bad];
    let cases = [
        (
            &all[..1],
            Overall::Success,
            "VmBackup ended - Success - S:1 W:0 E:0",
        ),
        (
            &all[..2],
            Overall::Warning,
            "VmBackup ended - **WARNING(s)** - S:1 W:1 E:0",
        ),
        (
            &all[..],
            Overall::Error,
            "VmBackup ended - **ERRORS DETECTED** - S:1 W:1 E:1",
        ),
    ];
    for (results, overall, line) in cases {
        let counts = Counts::of(results);
        assert_eq!(counts.overall(), overall);
        assert_eq!(counts.ended_line(), line);
    }
}

#[test]
fn names_stay_on_one_line() {
    let odd = result(
        JobKind::VmExport,
        "a\nb\tc,d",
        VmOutcome::Failed(Failure::VmExport),
        0,
        0,
    );
    assert_eq!(odd.end_status(), "VM-EXPORT-FAIL a?b?c,d");
    let line = vm_begin_line(
        date(2020, 1, 1).at(0, 0, 0, 0),
        "h",
        JobKind::VmExport,
        "x\r\ny",
    );
    assert_eq!(line, "2020/01/01 00:00:00,vm-export,h,begin,x??y");
}

#[test]
fn host_names_are_cut_at_the_first_dot() {
    assert_eq!(short_host_name("xs1.pool.example.org"), "xs1");
    assert_eq!(short_host_name("xs1"), "xs1");
    let uname = Command::new("uname")
        .arg("-n")
        .output()
        .expect("uname -n (apt-get install coreutils)");
    let expected = String::from_utf8(uname.stdout).unwrap();
    assert_eq!(node_name().unwrap(), expected.trim_end());
}

#[test]
fn appends_whole_records_from_concurrent_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.log");
    std::fs::write(&path, "2019/09/05 10:00:00,vmbackup.py,old,begin\n").unwrap();
    let log = StatusLog::new(&path, "xs1");
    let at = date(2026, 11, 22).at(2, 0, 0, 0);
    log.run_begin(at).unwrap();
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let log = log.clone();
            scope.spawn(move || {
                for n in 0..50 {
                    let vm = format!("vm-{worker}-{n}-{}", "x".repeat(300));
                    log.vm_begin(at, JobKind::VmExport, &vm).unwrap();
                    let done = result(JobKind::VmExport, &vm, VmOutcome::Success, 60, 1 << 30);
                    log.vm_end(at, &done).unwrap();
                }
            });
        }
    });
    log.run_end(
        at,
        &Counts {
            success: 200,
            warning: 0,
            error: 0,
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 400 + 1);
    assert_eq!(lines[0], "2019/09/05 10:00:00,vmbackup.py,old,begin");
    assert_eq!(lines[1], "2026/11/22 02:00:00,vmbackup.py,xs1,begin");
    for line in &lines[2..402] {
        let ok = line.starts_with("2026/11/22 02:00:00,vm-export,xs1,begin,vm-")
            || (line.starts_with("2026/11/22 02:00:00,vm-export,xs1,end,SUCCESS vm-")
                && line.ends_with(",elapse:1 size:1G"));
        assert!(ok, "{line}");
    }
    assert_eq!(
        lines[402],
        "2026/11/22 02:00:00,vmbackup.py,xs1,end,SUCCESS,S:200 W:0 E:0"
    );
}

#[test]
fn a_missing_directory_is_an_error_naming_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = StatusLog::new(dir.path().join("missing/status.log"), "xs1");
    let err = log.run_begin(date(2026, 1, 1).at(0, 0, 0, 0)).unwrap_err();
    assert!(err.to_string().contains("missing/status.log"), "{err}");
}

mod events {
    use std::path::PathBuf;

    use backup_core::batch::{EventKind, JobReport, Outcome, Published, RunEvent};
    use jiff::Timestamp;

    use super::super::events::{NOT_STARTED, VmJobReport, local_time};
    use super::*;

    fn report(outcome: Outcome<Failure>, warnings: &[&str]) -> VmJobReport {
        JobReport {
            index: 0,
            name: "web01".into(),
            kind: JobKind::VmExport,
            outcome,
            warnings: warnings.iter().map(|w| (*w).to_owned()).collect(),
            pruned: Vec::new(),
            started: Timestamp::UNIX_EPOCH,
            elapsed: Duration::from_secs(125),
        }
    }

    #[test]
    fn results_of_reports_keep_naubackups_words() {
        let published = Outcome::Published(Published {
            backup: PathBuf::from("/b/web01/x"),
            bytes: 3 << 30,
        });
        let ok = VmResult::of(&report(published.clone(), &[]));
        assert_eq!(ok.end_status(), "SUCCESS web01,elapse:2 size:3G");
        assert_eq!(ok.detail, None);
        let warned = VmResult::of(&report(published, &["a", "b"]));
        assert_eq!(warned.outcome, VmOutcome::Warning);
        assert_eq!(warned.detail.as_deref(), Some("a; b"));
        let failed = VmResult::of(&report(
            Outcome::Failed {
                step: Failure::Snapshot,
                error: "no space".into(),
            },
            &["x"],
        ));
        assert_eq!(failed.end_status(), "SNAPSHOT-FAIL web01");
        assert_eq!(
            (failed.size, failed.detail.as_deref()),
            (0, Some("no space"))
        );
        let cancelled = VmResult::of(&report(Outcome::Cancelled, &[]));
        assert_eq!(cancelled.end_status(), "VM-EXPORT-FAIL web01");
        assert_eq!(cancelled.detail.as_deref(), Some(NOT_STARTED));
    }

    #[test]
    fn the_status_log_records_a_jobs_start_and_end_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = StatusLog::new(dir.path().join("status.log"), "xs1");
        let at: Timestamp = "2019-09-05T10:33:49Z".parse().unwrap();
        let finished = report(Outcome::Cancelled, &[]);
        let event = |what| RunEvent {
            at,
            index: 0,
            name: "web01",
            kind: JobKind::VmExport,
            what,
        };
        for what in [
            EventKind::Started,
            EventKind::Warning("w"),
            EventKind::DiskStarted {
                disk: "xvda",
                size: None,
            },
            EventKind::Finished(&finished),
        ] {
            log.record(&event(what)).unwrap();
        }
        let local = local_time(at);
        let written = std::fs::read_to_string(log.path()).unwrap();
        let begin = vm_begin_line(local, "xs1", JobKind::VmExport, "web01");
        let stamp = log_timestamp(local);
        assert_eq!(
            written,
            format!("{begin}\n{stamp},vm-export,xs1,end,VM-EXPORT-FAIL web01\n")
        );
    }
}
