//! The runner with fake jobs and a fixed clock.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use jiff::Timestamp;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Snapshot,
    Stream,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Snapshot => "SNAPSHOT-FAIL",
            Step::Stream => "STREAM-FAIL",
        })
    }
}

type Behaviour = Box<dyn Fn(&JobContext<'_>) -> Result<Published, Failed<Step>> + Sync>;

struct FakeJob {
    name: String,
    behaviour: Behaviour,
    runs: AtomicUsize,
}

impl FakeJob {
    fn new(
        name: &str,
        behaviour: impl Fn(&JobContext<'_>) -> Result<Published, Failed<Step>> + Sync + 'static,
    ) -> Self {
        FakeJob {
            name: name.to_owned(),
            behaviour: Box::new(behaviour),
            runs: AtomicUsize::new(0),
        }
    }

    fn succeeding(name: &str) -> Self {
        let backup = PathBuf::from(format!("/backups/{name}/stamp"));
        FakeJob::new(name, move |_| Ok(published(&backup)))
    }
}

impl Job for FakeJob {
    type Kind = &'static str;
    type Step = Step;

    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "fake-export"
    }

    fn run(&self, cx: &JobContext<'_>) -> Result<Published, Failed<Step>> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        (self.behaviour)(cx)
    }
}

fn published(backup: &Path) -> Published {
    Published {
        backup: backup.to_path_buf(),
        bytes: 42,
    }
}

fn at() -> Timestamp {
    "2026-11-22T01:30:05Z".parse().unwrap()
}

/// An event of a fake job, owned, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Started,
    DiskStarted(String, Option<u64>),
    DiskFinished(String, u64),
    Warning(String),
    Pruned(Vec<PathBuf>),
    Finished(Status),
}

/// Runs `jobs` with `concurrency` workers; returns the reports and every event as
/// `(job index, event)` in the order received.
fn run(
    jobs: &[FakeJob],
    concurrency: usize,
    cancel: &Cancel,
    retention: Option<&dyn Retention<FakeJob>>,
) -> (Vec<ReportOf<FakeJob>>, Vec<(usize, Seen)>) {
    let seen = Mutex::new(Vec::new());
    let clock = FixedClock(at());
    let events = |event: &EventOf<'_, FakeJob>| {
        assert_eq!(event.at, at());
        assert_eq!(event.name, jobs[event.index].name);
        let what = match event.what {
            EventKind::Started => Seen::Started,
            EventKind::DiskStarted { disk, size } => Seen::DiskStarted(disk.to_owned(), size),
            EventKind::DiskFinished { disk, bytes } => Seen::DiskFinished(disk.to_owned(), bytes),
            EventKind::Warning(text) => Seen::Warning(text.to_owned()),
            EventKind::Pruned(paths) => Seen::Pruned(paths.to_vec()),
            EventKind::Finished(report) => Seen::Finished(report.status()),
        };
        seen.lock().unwrap().push((event.index, what));
    };
    let reports = run_batch(
        jobs,
        &Batch {
            concurrency: NonZeroUsize::new(concurrency).unwrap(),
            cancel,
            clock: &clock,
            progress: &|_| Box::new(disk_image::NoProgress),
            events: &events,
            retention,
        },
    );
    (reports, seen.into_inner().unwrap())
}

/// Counts jobs running at once and lets a job wait until enough of them are.
#[derive(Default)]
struct Gate {
    running: Mutex<(usize, usize)>,
    changed: Condvar,
}

impl Gate {
    fn enter(&self) {
        let mut state = self.running.lock().unwrap();
        state.0 += 1;
        state.1 = state.1.max(state.0);
        self.changed.notify_all();
    }

    fn leave(&self) {
        self.running.lock().unwrap().0 -= 1;
        self.changed.notify_all();
    }

    /// Waits (at most 10 s) until `count` jobs run at once; whether they did.
    fn wait_for(&self, count: usize) -> bool {
        let state = self.running.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(10), |s| s.0 < count)
            .unwrap();
        state.0 >= count
    }

    fn most(&self) -> usize {
        self.running.lock().unwrap().1
    }
}

#[test]
fn jobs_run_as_many_at_once_as_asked_and_no_more() {
    for concurrency in [1, 2, 3] {
        let gate = std::sync::Arc::new(Gate::default());
        let jobs: Vec<_> = (0..6)
            .map(|i| {
                let gate = std::sync::Arc::clone(&gate);
                FakeJob::new(&format!("vm{i}"), move |_| {
                    gate.enter();
                    let full = gate.wait_for(concurrency);
                    std::thread::sleep(Duration::from_millis(20));
                    gate.leave();
                    if full {
                        Ok(published(Path::new("/b")))
                    } else {
                        Err(Failed::new(Step::Stream, "the other workers never came"))
                    }
                })
            })
            .collect();
        let (reports, _) = run(&jobs, concurrency, &Cancel::new(), None);
        assert!(
            reports.iter().all(|r| r.status() == Status::Success),
            "{reports:#?}"
        );
        assert_eq!(gate.most(), concurrency);
    }
}

#[test]
fn reports_come_in_job_order_whatever_order_jobs_end_in() {
    // Job i waits until job i+1 has ended: they end last to first.
    let ended = std::sync::Arc::new(Mutex::new(Vec::new()));
    let changed = std::sync::Arc::new(Condvar::new());
    let count = 4;
    let jobs: Vec<_> = (0..count)
        .map(|i| {
            let (ended, changed) = (ended.clone(), changed.clone());
            FakeJob::new(&format!("vm{i}"), move |_| {
                let list = ended.lock().unwrap();
                let mut list = changed
                    .wait_timeout_while(list, Duration::from_secs(10), |l: &mut Vec<usize>| {
                        i + 1 < count && !l.contains(&(i + 1))
                    })
                    .unwrap()
                    .0;
                list.push(i);
                changed.notify_all();
                Ok(published(Path::new("/b")))
            })
        })
        .collect();
    let (reports, _) = run(&jobs, count, &Cancel::new(), None);
    assert_eq!(*ended.lock().unwrap(), [3, 2, 1, 0]);
    let order: Vec<_> = reports.iter().map(|r| (r.index, r.name.as_str())).collect();
    assert_eq!(order, [(0, "vm0"), (1, "vm1"), (2, "vm2"), (3, "vm3")]);
}

#[test]
fn a_failing_job_does_not_stop_the_others() {
    let jobs = [
        FakeJob::succeeding("web"),
        FakeJob::new("db", |_| {
            Err(Failed::new(
                Step::Snapshot,
                std::io::Error::other("no space left"),
            ))
        }),
        FakeJob::succeeding("mail"),
    ];
    for concurrency in [1, 2] {
        let (reports, _) = run(&jobs, concurrency, &Cancel::new(), None);
        let statuses: Vec<_> = reports.iter().map(JobReport::status).collect();
        assert_eq!(statuses, [Status::Success, Status::Failed, Status::Success]);
        assert_eq!(
            reports[1].outcome,
            Outcome::Failed {
                step: Step::Snapshot,
                error: "no space left".into()
            }
        );
        assert_eq!(reports[0].backup(), Some(Path::new("/backups/web/stamp")));
        assert_eq!((reports[0].bytes(), reports[1].bytes()), (42, 0));
    }
    assert!(jobs.iter().all(|job| job.runs.load(Ordering::SeqCst) == 2));
}

#[test]
fn a_run_cancelled_before_it_starts_runs_nothing_and_reports_every_job() {
    let jobs = [FakeJob::succeeding("web"), FakeJob::succeeding("db")];
    let cancel = Cancel::new();
    cancel.cancel();
    let retained = AtomicUsize::new(0);
    let retention = |_: &FakeJob, _: &Path| -> Result<Vec<PathBuf>, BoxError> {
        retained.fetch_add(1, Ordering::SeqCst);
        Ok(Vec::new())
    };
    let (reports, events) = run(&jobs, 2, &cancel, Some(&retention));
    assert!(reports.iter().all(|r| r.outcome == Outcome::Cancelled));
    assert!(reports.iter().all(|r| r.status() == Status::Failed));
    assert!(jobs.iter().all(|job| job.runs.load(Ordering::SeqCst) == 0));
    assert_eq!(retained.load(Ordering::SeqCst), 0);
    for index in 0..2 {
        let of_job: Vec<_> = events
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, e)| e.clone())
            .collect();
        assert_eq!(of_job, [Seen::Started, Seen::Finished(Status::Failed)]);
    }
}

#[test]
fn a_cancel_during_a_job_fails_it_and_leaves_the_rest_unstarted() {
    let cancel = Cancel::new();
    let stop = cancel.clone();
    let jobs = [
        FakeJob::succeeding("before"),
        FakeJob::new("during", move |cx| {
            stop.cancel();
            cx.cancel().check().at(Step::Stream)?;
            Ok(published(Path::new("/b")))
        }),
        FakeJob::succeeding("after"),
        FakeJob::succeeding("last"),
    ];
    let (reports, _) = run(&jobs, 1, &cancel, None);
    assert_eq!(reports[0].status(), Status::Success);
    assert_eq!(
        reports[1].outcome,
        Outcome::Failed {
            step: Step::Stream,
            error: "interrupted".into()
        }
    );
    assert_eq!(reports[2].outcome, Outcome::Cancelled);
    assert_eq!(reports[3].outcome, Outcome::Cancelled);
    assert_eq!(jobs[2].runs.load(Ordering::SeqCst), 0);
}

#[test]
fn retention_runs_only_after_a_success_and_its_failure_is_a_warning() {
    let jobs = [
        FakeJob::succeeding("web"),
        FakeJob::new("db", |_| Err(Failed::new(Step::Stream, "cut"))),
        FakeJob::succeeding("mail"),
    ];
    let called = Mutex::new(Vec::new());
    let retention = |job: &FakeJob, backup: &Path| -> Result<Vec<PathBuf>, BoxError> {
        called
            .lock()
            .unwrap()
            .push((job.name.clone(), backup.to_path_buf()));
        if job.name == "mail" {
            Err(std::io::Error::other("permission denied").into())
        } else {
            Ok(vec![PathBuf::from("/backups/web/old")])
        }
    };
    let (reports, _) = run(&jobs, 2, &Cancel::new(), Some(&retention));
    let mut called = called.into_inner().unwrap();
    called.sort();
    assert_eq!(
        called,
        [
            ("mail".to_owned(), PathBuf::from("/backups/mail/stamp")),
            ("web".to_owned(), PathBuf::from("/backups/web/stamp")),
        ]
    );
    assert_eq!(reports[0].pruned, [PathBuf::from("/backups/web/old")]);
    assert_eq!(reports[0].status(), Status::Success);
    assert!(reports[1].pruned.is_empty());
    assert_eq!(reports[2].warnings, ["retention: permission denied"]);
    assert_eq!(reports[2].status(), Status::Warning);
}

#[test]
fn each_job_sends_its_events_in_order() {
    let jobs = [
        FakeJob::new("web", |cx| {
            let disk = cx.disk("xvda", Some(1024));
            cx.warn("a leftover snapshot stays");
            disk.finish(512);
            let disk = cx.disk("xvdb", None);
            disk.finish(0);
            assert_eq!(cx.start(), at());
            assert_eq!(cx.clock().now(), at());
            Ok(published(Path::new("/backups/web/stamp")))
        }),
        FakeJob::new("db", |cx| {
            let _disk = cx.disk("xvda", Some(8));
            Err(Failed::new(Step::Stream, "cut"))
        }),
    ];
    let retention = |job: &FakeJob, _: &Path| -> Result<Vec<PathBuf>, BoxError> {
        Ok(vec![PathBuf::from(format!("/backups/{}/old", job.name))])
    };
    let (reports, events) = run(&jobs, 2, &Cancel::new(), Some(&retention));
    let of = |index: usize| -> Vec<Seen> {
        events
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, e)| e.clone())
            .collect()
    };
    assert_eq!(
        of(0),
        [
            Seen::Started,
            Seen::DiskStarted("xvda".into(), Some(1024)),
            Seen::Warning("a leftover snapshot stays".into()),
            Seen::DiskFinished("xvda".into(), 512),
            Seen::DiskStarted("xvdb".into(), None),
            Seen::DiskFinished("xvdb".into(), 0),
            Seen::Pruned(vec![PathBuf::from("/backups/web/old")]),
            Seen::Finished(Status::Warning),
        ]
    );
    assert_eq!(
        of(1),
        [
            Seen::Started,
            Seen::DiskStarted("xvda".into(), Some(8)),
            Seen::Finished(Status::Failed),
        ]
    );
    assert_eq!(reports[0].warnings, ["a leftover snapshot stays"]);
    assert_eq!(reports[0].started, at());
    assert_eq!(reports[0].elapsed, Duration::ZERO);
}

#[test]
fn no_jobs_make_an_empty_report() {
    let (reports, events) = run(&[], 4, &Cancel::new(), None);
    assert!(reports.is_empty() && events.is_empty());
}
