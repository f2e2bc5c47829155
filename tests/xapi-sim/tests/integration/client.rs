//! The `xenapi` client library against the simulator, for what its own tests' fake pool does
//! not model: sessions a test invalidates one by one, VM power states, tasks that run in the
//! background, changed block tracking over real disk writes, and `HOST_IS_SLAVE` followed.

use std::time::{Duration, Instant};

use xapi_sim::SimHandle;
use xenapi::records::{PowerState, StringMap, TaskStatus};
use xenapi::rpc::{Value, decode_value};
use xenapi::{
    Connector, Credentials, Endpoint, Ref, Session, SessionOptions, XenApiError, XmlRpcTransport,
};

use super::support::demo;

fn login(sim: &SimHandle) -> Session {
    let (user, password) = sim.credentials();
    Session::login(sim.url(), user, password, SessionOptions::default()).expect("login")
}

/// Polls `task` until it is no longer pending (the task stays, unlike with `wait_task`).
fn wait_until_done(session: &Session, task: &Ref) -> TaskStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = session.task().get_status(task).expect("task.get_status");
        if status != TaskStatus::Pending {
            return status;
        }
        assert!(Instant::now() < deadline, "task {task} still pending");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn this_host_works_after_the_session_was_invalidated() {
    let sim = demo();
    let session = login(&sim);
    let host = session.this_host().unwrap();
    let stale = session.session_ref();
    sim.invalidate_session(&stale);
    assert_eq!(
        session.this_host().unwrap(),
        host,
        "the retry asks about the new session"
    );
    assert_ne!(session.session_ref(), stale, "a new session was opened");
}

#[test]
fn login_through_a_transport_of_the_callers() {
    let sim = demo();
    let options = SessionOptions::default();
    let connector = Connector::new(&options.tls, options.timeouts).unwrap();
    let endpoint = Endpoint::parse(sim.url()).unwrap();
    let transport = XmlRpcTransport::new(endpoint, connector, "a caller's transport");
    let (user, password) = sim.credentials();
    let session = Session::login_with(
        Box::new(transport),
        Credentials::new(user, password),
        options,
    )
    .unwrap();
    assert_eq!(session.vm().get_by_name_label("web-01").unwrap().len(), 1);
    session.logout().unwrap();
    assert!(sim.audit().sessions.is_empty(), "{}", sim.audit());
}

#[test]
fn asynchronous_vm_calls_report_through_their_tasks() {
    let sim = demo();
    let session = login(&sim);
    let web = session.vm().get_by_name_label("web-01").unwrap()[0].clone();

    let started = session.vm().start_async(&web, false, false).unwrap();
    assert_eq!(wait_until_done(&session, &started), TaskStatus::Success);
    let progress = session.task().get_progress(&started).unwrap();
    assert!((progress - 1.0).abs() < 1e-9, "{progress}");
    let result = session.task().get_result(&started).unwrap();
    assert_eq!(decode_value(&result).unwrap(), Value::from(""), "void");
    assert!(session.task().get_error_info(&started).unwrap().is_empty());
    session.task().destroy(&started).unwrap();
    assert_eq!(
        session.vm().get_power_state(&web).unwrap(),
        PowerState::Running
    );

    let refused = session.vm().destroy_async(&web).unwrap();
    assert_eq!(wait_until_done(&session, &refused), TaskStatus::Failure);
    let error = session.task().get_error_info(&refused).unwrap();
    assert_eq!(error[0], "VM_BAD_POWER_STATE", "{error:?}");
    session.task().destroy(&refused).unwrap();

    session.vm().hard_shutdown(&web).unwrap();
    let destroyed = session.vm().destroy_async(&web).unwrap();
    session
        .wait_task(&destroyed, Duration::from_secs(30))
        .unwrap();
    assert!(sim.vm(&web).is_none(), "the VM is gone");
    assert!(matches!(
        session.vm().get_record(&web),
        Err(XenApiError::Api { code, .. }) if code == "HANDLE_INVALID"
    ));
}

#[test]
fn changed_blocks_of_a_disk_written_between_two_snapshots() {
    let sim = demo();
    let session = login(&sim);
    let mail = session.vm().get_by_name_label("mail-01").unwrap()[0].clone();
    let disk = sim.vdis_of(&mail)[0].clone();
    session.vdi().enable_cbt(&disk).unwrap();
    let before = session.vdi().snapshot(&disk, &StringMap::new()).unwrap();
    sim.write_vdi(&disk, 3 * 64 * 1024 + 100, b"changed")
        .unwrap();
    let after = session.vdi().snapshot(&disk, &StringMap::new()).unwrap();

    let blocks = session.vdi().list_changed_blocks(&before, &after).unwrap();
    assert_eq!(blocks.block_count(), 8 << 20 >> 16, "one bit per 64 KiB");
    assert_eq!(blocks.as_bitmap()[0], 0b0001_0000);
    assert!(blocks.is_changed(3) && !blocks.is_changed(2) && !blocks.is_changed(4));
    assert_eq!(blocks.changed_count(), 1);
    assert_eq!(blocks.changed_ranges(), vec![(3 << 16)..(4 << 16)]);
}

#[test]
fn a_login_at_the_slave_follows_host_is_slave_to_the_master_on_the_same_port() {
    let sim = demo();
    let (user, password) = sim.credentials();
    let session = Session::login(sim.slave_url(), user, password, SessionOptions::default())
        .expect("the client follows HOST_IS_SLAVE");
    let master = login(&sim).this_host().unwrap();
    assert_eq!(session.this_host().unwrap(), master);
    // After a swap the old master names the new one, which the client reaches as well.
    sim.swap_master();
    let swapped = Session::login(sim.url(), user, password, SessionOptions::default())
        .expect("the client follows HOST_IS_SLAVE after a swap");
    assert_ne!(swapped.this_host().unwrap(), master);
}
