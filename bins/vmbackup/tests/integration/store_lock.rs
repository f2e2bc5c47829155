//! The backup directory's lock (`backup_core::store::StoreLock`) is taken by every command
//! that changes the store: a prune is refused while a run (here: the test, holding the
//! lock as a run does) uses the directory; a dry run, which changes nothing, goes ahead.

use backup_core::store::StoreLock;

use super::support::{Setup, s, vmbackup_exit};

#[test]
fn prune_is_refused_while_the_store_is_locked() {
    let setup = Setup::new(Vec::new());
    let config = setup.config("prune.cfg", "max_backups=1");
    let lock = StoreLock::acquire(&setup.backups()).unwrap();
    let (_, stderr) = vmbackup_exit(&["prune", "--config", s(&config)], 1);
    assert!(stderr.contains("another run is using"), "{stderr}");
    let (_, stderr) = vmbackup_exit(&["run", s(&config), "--quiet"], 1);
    assert!(stderr.contains("another run is using"), "{stderr}");
    vmbackup_exit(&["prune", "--config", s(&config), "--dry-run"], 0);
    drop(lock);
    vmbackup_exit(&["prune", "--config", s(&config)], 0);
}
