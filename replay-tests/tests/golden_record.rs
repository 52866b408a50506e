//! Records the golden journals of `tests/fixtures/golden/` from runs against
//! the lab. Run by hand, once per fixture, never by the test suite (every
//! test here is `#[ignore]`d) and never over an existing file:
//!
//! ```sh
//! cargo test -p replay-tests --test golden_record -- --ignored
//! ```
//!
//! Each writes `<name>.journal` (`journal::golden` text) only when it is not
//! there yet; to record one again, delete it first and say why in the commit.

use std::path::{Path, PathBuf};

use journal::{Journal, golden};
use lab::LabConfig;
use replay_tests::{Rig, current_journal, describe};
use steps::kuryr::migrate::Session;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/golden/{name}.journal"))
}

/// The demo's size with three namespaces.
fn lab() -> LabConfig {
    LabConfig {
        namespaces: 3,
        pods_per_namespace: 2,
        workers: 2,
        ..LabConfig::default()
    }
}

fn tool(rig: &Rig, args: &[&str]) -> std::process::Output {
    rig.tool(Path::new(BIN), args).output().unwrap()
}

/// Writes the current run's journal as fixture `name`, unless it exists.
fn keep(rig: &Rig, name: &str) {
    let path = fixture(name);
    if path.exists() {
        eprintln!("{} exists: not recorded again", path.display());
        return;
    }
    let dir = current_journal(&rig.state).unwrap();
    let j = Journal::open_read(&dir).unwrap();
    std::fs::write(&path, golden::dump(&j).unwrap()).unwrap();
    eprintln!("recorded {} ({} records)", path.display(), j.head().0);
}

/// Plans a run and returns the key of its first operation of `step`.
fn plan(rig: &Rig, step: &str) -> String {
    let o = tool(rig, &["kuryr", "plan", "--no-progress"]);
    assert!(o.status.success(), "{}", describe(&o));
    let dir = current_journal(&rig.state).unwrap();
    let run = rig
        .block_on(steps::workflow::load_run::<Session>(
            Journal::open_read(&dir).unwrap(),
        ))
        .unwrap();
    run.plan
        .operations
        .iter()
        .find(|o| o.key.contains(&format!("/{step}/")))
        .unwrap()
        .key
        .clone()
}

#[test]
#[ignore = "records a fixture: run by hand"]
fn record_migration() {
    let rig = Rig::start(lab());
    let o = rig.run(Path::new(BIN), &["--max-unavailable", "worker=2"], None);
    assert!(o.status.success(), "{}", describe(&o));
    keep(&rig, "migration-v3");
}

#[test]
#[ignore = "records a fixture: run by hand"]
fn record_interrupted_and_resumed() {
    let rig = Rig::start(lab());
    let reboot = plan(&rig, "M9");
    // Killed right after the first reboot's intent is durable: it is in doubt.
    let o = rig.run_killed_at(Path::new(BIN), &format!("OperationIntended:{reboot}#1"));
    assert!(!o.status.success(), "{}", describe(&o));
    let o = rig.resume(Path::new(BIN), &[]);
    assert!(o.status.success(), "{}", describe(&o));
    keep(&rig, "interrupted-resumed-v3");
}

#[test]
#[ignore = "records a fixture: run by hand"]
fn record_reset_and_resumed() {
    let rig = Rig::start(lab());
    let m8 = plan(&rig, "M8");
    let o = rig.run_killed_at(Path::new(BIN), &format!("WaitStarted:{m8}#1"));
    assert!(!o.status.success(), "{}", describe(&o));
    let dir = current_journal(&rig.state).unwrap();
    let o = tool(
        &rig,
        &[
            "--no-progress",
            "--yes",
            "journal",
            "reset",
            dir.to_str().unwrap(),
            "--to-step",
            "M5",
        ],
    );
    assert!(o.status.success(), "{}", describe(&o));
    let o = rig.resume(Path::new(BIN), &[]);
    assert!(o.status.success(), "{}", describe(&o));
    keep(&rig, "reset-resumed-v3");
}
