//! kill -9 at random points: what was reported durable is there, the prefix
//! is contiguous and the chain verifies.
//!
//! A child (`journal-torture`) appends intents and prints `durable <seq>` after
//! each durable append (or `durable <a>-<b>` after each group commit); the
//! parent kills it with SIGKILL after a random delay, reopens the journal and
//! checks every promise the child made. Each round continues the same journal
//! (the child breaks the stale lock its killed predecessor left, by name).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use journal::{Event, Journal, OpenOptions, VerifyStatus, verify_journal};
use rand::{Rng, SeedableRng};

const CHILD: &str = env!("CARGO_BIN_EXE_journal-torture");

/// Runs the child once, kills it after `delay`, returns the highest seq it reported durable.
fn run_and_kill(dir: &std::path::Path, mode: &str, delay: Duration) -> u64 {
    let mut child = Command::new(CHILD)
        .arg(dir)
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut max = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last = line
                .trim_start_matches("durable ")
                .rsplit('-')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap();
            max = max.max(last);
            let _ = tx.send(max);
        }
        max
    });
    // Let it start (and open the journal) before the clock runs.
    let _ = rx.recv_timeout(Duration::from_secs(20));
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

fn check(dir: &std::path::Path, promised: u64) -> u64 {
    let opts = OpenOptions {
        break_lock: journal::lock::holder(dir).map(|h| h.id()),
        ..Default::default()
    };
    let mut target = common::target("torture");
    target.openstack_project = "torture".into();
    let j = Journal::open(dir, &target, &opts).unwrap();
    let report = verify_journal(&j).unwrap();
    let VerifyStatus::Unsealed { last } = report.status else {
        panic!("chain broken after kill -9: {report:?}");
    };
    assert!(
        last >= promised,
        "reported durable up to {promised}, journal has {last}"
    );
    assert_eq!(j.head().0, last);
    // Contiguous, and every record from 2 on is the intent the child wrote,
    // or the LockRecovered a child journaled when it took over a killed
    // predecessor's lock.
    let mut intents = 0;
    for r in j.iter(2) {
        let r = r.unwrap();
        match r.event {
            Event::OperationIntended { op, .. } => {
                assert_eq!(op.0, format!("op-{}", r.seq));
                intents += 1;
            }
            Event::LockRecovered { pid, .. } => {
                assert_ne!(pid, std::process::id(), "record {}", r.seq);
            }
            e => panic!("record {}: unexpected {e:?}", r.seq),
        }
    }
    // The index agrees: every intent is in doubt (none has an outcome).
    assert_eq!(j.in_doubt().unwrap().len() as u64, intents);
    last
}

fn torture(mode: &str, rounds: usize, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut last = 0;
    for round in 0..rounds {
        let delay = Duration::from_millis(rng.random_range(0..60));
        let promised = run_and_kill(&dir, mode, delay);
        let now = check(&dir, promised);
        assert!(
            now >= last,
            "round {round}: journal shrank from {last} to {now}"
        );
        last = now;
    }
    eprintln!("{mode}: {rounds} kills, {last} records at the end");
    assert!(last > 1, "the child never appended anything");
}

#[test]
fn kill_9_during_single_durable_appends() {
    torture("single", 30, 0x5eed);
}

#[test]
fn kill_9_during_group_commits() {
    torture("group", 20, 0xbeef);
}
