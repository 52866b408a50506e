//! The restore killed with SIGKILL at every journal append in turn, then
//! resumed: it must end with the same cloud as an uninterrupted restore (the
//! same objects with the same names, CIDRs, addresses and tags), report the
//! same share, and create no object twice (the lab's create and tag calls,
//! object IDs taken out, equal the uninterrupted run's).
//!
//! The kill points are planned from the uninterrupted restore's journal,
//! every record named `Name:subject#n` (see `replay_tests::kill_points`);
//! the tool kills itself right after that append is durable
//! (`OVN_MIGRATE_KILL_AT`), and the test fails if a planned point is not
//! reached. Each point gets its own lab, cleaned up by the cleanup run first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use replay_tests::{describe, kill_points};

mod restore_run_common;
use restore_run_common::*;

fn share_of(rig: &replay_tests::Rig) -> Option<serde_json::Value> {
    let out = restore(rig, &["report", "--output", "json"], None);
    out.status.success().then(|| json_of(&out)["share"].clone())
}

#[test]
fn killed_at_every_append_of_the_restore_and_resumed_ends_like_an_uninterrupted_run() {
    let (reference, source) = cleaned();
    let before = creates(&reference);
    let out = restore(&reference, &["--from", source.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", describe(&out));
    let want_calls: std::collections::BTreeMap<String, u64> = creates(&reference)
        .into_iter()
        .map(|(k, n)| (k.clone(), n - before.get(&k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let want_shape = shape(&reference);
    let want_share = share_of(&reference).expect("the reference reports");
    assert_eq!(want_share["restored"], want_share["total"], "{want_share}");
    let points = kill_points(&restore_dir(&reference.state).expect("a restore journal"));
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
            let (rig, source) = cleaned();
            let before = creates(&rig);
            let from = source.to_str().unwrap();
            let first = restore(&rig, &["--from", from], Some(point));
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
            let resumed = match restore_dir(&rig.state) {
                Some(_) => restore(&rig, &["resume"], None),
                None => restore(&rig, &["--from", from], None),
            };
            let mut problems = Vec::new();
            if !resumed.status.success() {
                problems.push(format!("resume failed: {}", describe(&resumed)));
            } else {
                let calls: std::collections::BTreeMap<String, u64> = creates(&rig)
                    .into_iter()
                    .map(|(k, n)| (k.clone(), n - before.get(&k).copied().unwrap_or(0)))
                    .filter(|(_, n)| *n > 0)
                    .collect();
                if calls != want_calls {
                    problems.push(format!("create calls differ: {calls:?} vs {want_calls:?}"));
                }
                if shape(&rig) != want_shape {
                    problems.push("the restored cloud differs".into());
                }
                match share_of(&rig) {
                    Some(s) if s == want_share => {}
                    other => problems.push(format!("share {other:?} vs {want_share}")),
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
