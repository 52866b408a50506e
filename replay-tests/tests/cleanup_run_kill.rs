//! The cleanup killed with SIGKILL at every journal append in turn, then
//! resumed: it must end with the same cloud and cluster as an uninterrupted
//! run, and send no delete, detach or finalizer patch twice (the lab's
//! per-object counts equal the uninterrupted run's, where each is 1 but a
//! router's `remove_router_interface`, one per interface on one path).
//!
//! The kill points are planned from the uninterrupted run's journal, every
//! record named `Name:subject#n` (see `replay_tests::kill_points`); the tool
//! kills itself right after that append is durable
//! (`OVN_MIGRATE_KILL_AT`), and the test fails if a planned point is not
//! reached. Resuming needs no flag: the dead holder's lock is taken over.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use replay_tests::{Rig, describe, kill_points};

mod cleanup_run_common;
use cleanup_run_common::*;

#[test]
fn killed_at_every_append_of_the_cleanup_and_resumed_ends_like_an_uninterrupted_run() {
    let reference = Rig::start(config());
    let out = cleanup(&reference, "run", &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let (want_world, want_calls) = (world(&reference), removals(&reference));
    assert!(
        want_calls
            .iter()
            .all(|(k, n)| *n == 1 || k.ends_with("/remove_router_interface")),
        "the uninterrupted run sends each removal once: {want_calls:?}"
    );
    let points = kill_points(&journal_dir(&reference.state).expect("a cleanup journal"));
    drop(reference);

    let next = AtomicUsize::new(0);
    let killed = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let worker = || {
        loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(point) = points.get(k) else {
                return;
            };
            let rig = Rig::start(config());
            let first = cleanup(&rig, "run", &[], Some(point));
            use std::os::unix::process::ExitStatusExt;
            if first.status.signal() == Some(9) {
                killed.fetch_add(1, Ordering::SeqCst);
            } else {
                failures.lock().unwrap().push(format!(
                    "kill point {point} was not reached: {}",
                    describe(&first)
                ));
                continue;
            }
            // Before the run was recorded as current there is nothing to resume: run again.
            let resumed = match journal_dir(&rig.state) {
                Some(_) => cleanup(&rig, "resume", &[], None),
                None => cleanup(&rig, "run", &[], None),
            };
            let mut problems = Vec::new();
            if !resumed.status.success() {
                problems.push(format!("resume failed: {}", describe(&resumed)));
            } else {
                let got = world(&rig);
                if got != want_world {
                    let diff: Vec<&String> = got
                        .keys()
                        .chain(want_world.keys())
                        .filter(|key| got.get(*key) != want_world.get(*key))
                        .take(5)
                        .collect();
                    let first = diff.first().map(|k| (got.get(*k), want_world.get(*k)));
                    problems.push(format!(
                        "final state differs at {diff:?}; the first is {first:?}"
                    ));
                }
                let calls = removals(&rig);
                if calls != want_calls {
                    let twice: Vec<(&String, &u64)> =
                        calls.iter().filter(|(_, n)| **n > 1).collect();
                    problems.push(format!(
                        "removal calls differ (sent twice: {twice:?}; {} vs {} distinct)",
                        calls.len(),
                        want_calls.len()
                    ));
                }
            }
            if !problems.is_empty() {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("kill at {point}: {}", problems.join("; ")));
            }
        }
    };
    std::thread::scope(|s| {
        s.spawn(worker);
        s.spawn(worker);
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "planned kill points: {}; killed there: {}; failures: {}",
        points.len(),
        killed.load(Ordering::SeqCst),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(killed.load(Ordering::SeqCst), points.len());
}
