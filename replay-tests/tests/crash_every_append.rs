//! The migration killed with SIGKILL at every journal append in turn, then
//! resumed: it must end in the same cluster state as an uninterrupted run,
//! send no mutating call twice for an operation whose outcome was recorded
//! (the lab's per-object counts equal the uninterrupted run's), and skip no
//! operation (every planned operation has a successful outcome).
//!
//! The kill comes from the tool itself (`OVN_MIGRATE_KILL_AT_APPEND=<seq>`:
//! `kill -9` of its own pid right after the append of record `seq` became
//! durable), so every append is hit exactly, whatever the timing. Resuming
//! needs no flag: the dead process's lock is taken over and journaled.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use journal::{Event, Journal};
use replay_tests::{Rig, check_journal, current_journal, describe, small};

/// Returns true when the journal in `dir` records a lock taken over from a dead holder.
fn recovered_lock(dir: &Path) -> bool {
    let j = Journal::open_read(dir).unwrap();
    j.iter(1)
        .any(|r| matches!(r.unwrap().event, Event::LockRecovered { .. }))
}

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");

#[test]
fn killed_at_every_append_and_resumed_ends_like_an_uninterrupted_run() {
    let bin = Path::new(BIN);
    let reference = Rig::start(small());
    let out = reference.run(bin, &[], None);
    assert!(out.status.success(), "{}", describe(&out));
    let (want_state, want_calls) = (reference.cluster_state(), reference.calls());
    let total = check_journal(&reference);
    drop(reference);

    let next = AtomicU64::new(1);
    let killed = AtomicU64::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let worker = || {
        loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            if k > total {
                return;
            }
            let rig = Rig::start(small());
            let first = rig.run(bin, &[], Some(k));
            use std::os::unix::process::ExitStatusExt;
            match first.status.signal() {
                Some(9) => {
                    killed.fetch_add(1, Ordering::SeqCst);
                }
                _ if first.status.success() => {} // this run needed fewer than k records
                _ => {
                    failures.lock().unwrap().push(format!(
                        "kill at {k}: first run failed: {}",
                        describe(&first)
                    ));
                    continue;
                }
            }
            // `kill -9` then `kuryr resume`, with no flag: the dead holder's
            // lock is taken over (and journaled as LockRecovered). Before
            // the journal was planned there is nothing to resume: run again.
            let journal = current_journal(&rig.state);
            let resumed = match &journal {
                Some(_) => rig.resume(bin, &[]),
                None => rig.run(bin, &[], None),
            };
            if let Some(dir) = &journal
                && resumed.status.success()
                && first.status.signal() == Some(9)
                && !recovered_lock(dir)
            {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("kill at {k}: no LockRecovered in the journal"));
            }
            let mut problems = Vec::new();
            if !resumed.status.success() {
                problems.push(format!("resume failed: {}", describe(&resumed)));
            } else {
                if rig.cluster_state() != want_state {
                    problems.push(format!(
                        "final state differs:\n{}\nvs\n{}",
                        rig.cluster_state(),
                        want_state
                    ));
                }
                if rig.calls() != want_calls {
                    problems.push(format!("calls differ: {:?} vs {want_calls:?}", rig.calls()));
                }
                let check =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_journal(&rig)));
                if check.is_err() {
                    problems.push("journal incomplete".into());
                }
            }
            if !problems.is_empty() {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("kill at append {k}: {}", problems.join("; ")));
            }
        }
    };
    std::thread::scope(|s| {
        s.spawn(worker);
        s.spawn(worker);
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "crash points tested: {total} (appends of the uninterrupted run); killed there: {}; failures: {}",
        killed.load(Ordering::SeqCst),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        killed.load(Ordering::SeqCst) >= total / 2,
        "most kill points must be reached"
    );
}
