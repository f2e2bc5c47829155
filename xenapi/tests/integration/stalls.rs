//! A host that accepts and never answers: the wait is a timeout naming the host and what
//! was waited for, and a stop request ends it within a fraction of a second.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xenapi::{Session, SessionOptions, Stop, Timeouts, XenApiError};

/// A real socket that accepts connections and never sends a byte (it keeps them open).
struct SilentHost {
    url: String,
    _accepted: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentHost {
    fn start() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&accepted);
        // The thread ends with the test process; it only holds sockets open.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().unwrap().push(stream);
            }
        });
        SilentHost {
            url,
            _accepted: accepted,
        }
    }
}

fn options(io: Duration, stop: Option<Stop>) -> SessionOptions {
    SessionOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            io,
        },
        stop,
        ..SessionOptions::default()
    }
}

#[test]
fn a_host_that_never_answers_is_a_timeout_naming_it() {
    let host = SilentHost::start();
    let started = Instant::now();
    let error = Session::login(
        &host.url,
        "root",
        "pw",
        options(Duration::from_millis(700), None),
    )
    .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(700));
    let chain = format!("{:#}", anyhow_like(&error));
    let authority = host.url.trim_start_matches("http://");
    assert!(
        chain.contains(&format!("timed out: no data from {authority} for 0.7 s")),
        "{chain}"
    );
    assert!(chain.contains("reading the"), "{chain}");
    assert!(!chain.contains("os error 11"), "{chain}");
    assert!(!chain.contains("temporarily unavailable"), "{chain}");
}

#[test]
fn a_stop_ends_a_login_to_a_silent_host_at_once() {
    let host = SilentHost::start();
    let stop = Stop::new();
    let setter = stop.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        setter.stop();
    });
    let started = Instant::now();
    let error = Session::login(
        &host.url,
        "root",
        "pw",
        options(Duration::from_secs(300), Some(stop)),
    )
    .unwrap_err();
    timer.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(error, XenApiError::Stopped { .. }), "{error:?}");
    assert!(error.to_string().ends_with("stopped on request"), "{error}");
}

/// The error and its causes, `a: b: c`.
fn anyhow_like(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
