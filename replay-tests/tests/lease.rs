//! The cluster lease excludes: a run whose renewals fail past its deadline
//! stops acting (exit 7, `RunPaused` journaled, no further mutating call) and
//! resumes later without repeats; a lease taken over by another identity or
//! deleted cancels the run (and a deleted lease is not recreated); another
//! holder whose clock is 70 s behind ours but which keeps renewing is never
//! taken over, while one that stopped renewing is, once its duration has
//! passed on our clock.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use journal::{Event, Journal, OpenOptions};
use lab::LabConfig;
use lab::faults::FaultRule;
use replay_tests::{
    FAST, ForeignHolder, LEASE, Rig, code, current_journal, describe, finish_within, small,
    status_current,
};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ovn-migrate-replay");
const LOCKED: i32 = 7;
const LIMIT: Duration = Duration::from_secs(180);

/// Fast timing with a short lease: 6 s, requests 2 s, so effects may start
/// for 4 s after each successful renewal.
fn short_lease_args(cmd: &'static str) -> Vec<&'static str> {
    let mut args = vec!["kuryr", cmd, "--yes", "--no-progress"];
    let mut fast = FAST.iter();
    while let Some(a) = fast.next() {
        if *a == "--lease-s" {
            fast.next();
        } else {
            args.push(a);
        }
    }
    args.extend_from_slice(&["--lease-s", "6", "--request-timeout-s", "2"]);
    args
}

/// A lab whose machine config rollout is slow, so a run stays in M5's wait
/// for longer than the lease's 4 s window.
fn slow_rollout() -> LabConfig {
    let mut cfg = small();
    cfg.controllers.mco_node_ms = 3000;
    cfg
}

/// Starts `kuryr run` and returns it once it waits in M5.
fn run_until_m5(rig: &Rig) -> Child {
    let mut child = rig
        .tool(Path::new(BIN), &short_lease_args("run"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !status_current(rig).is_some_and(|op| op.contains("/M5/")) {
        if Instant::now() >= deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "the run never reached M5: {}",
                describe(&child.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Returns the reason of the journal's last event, which must be `RunPaused`.
fn paused_reason(rig: &Rig) -> String {
    let dir = current_journal(&rig.state).unwrap();
    let j = Journal::open_any(&dir, &OpenOptions::default()).unwrap();
    assert!(j.in_doubt().unwrap().is_empty(), "operations in doubt");
    match j.read(j.head().0).unwrap().unwrap().event {
        Event::RunPaused { reason } => j
            .full_text(match &reason {
                journal::PauseReason::Stopped { detail } => detail,
                other => panic!("the run paused for {other:?}, not a stop"),
            })
            .unwrap(),
        other => panic!("the last event is {other:?}, not RunPaused"),
    }
}

fn assert_lease_lost(out: &Output, rig: &Rig, why: &str) {
    assert_eq!(code(out), LOCKED, "{}", describe(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("paused, nothing more started") && stdout.contains(why),
        "{}",
        describe(out)
    );
    let reason = paused_reason(rig);
    assert!(
        reason.starts_with("lease lost: ") && reason.contains(why),
        "{reason}"
    );
    // A clean stop: the journal's lock is gone.
    assert!(journal::lock::holder(&current_journal(&rig.state).unwrap()).is_none());
}

fn lease(rig: &Rig) -> Option<serde_json::Value> {
    let (res, ns, name) = LEASE;
    rig.lab.store().get(res, ns, name).ok()
}

#[test]
fn renewals_failing_past_the_deadline_stop_the_run_and_resume_completes() {
    let reference = Rig::start(small());
    assert!(reference.run(Path::new(BIN), &[], None).status.success());
    let want_calls = reference.calls();
    drop(reference);

    let rig = Rig::start(slow_rollout());
    let child = run_until_m5(&rig);
    // From now on every renewal is refused with a 503.
    rig.lab.faults().set_rules(vec![FaultRule {
        method: Some("PUT".into()),
        path_contains: "/leases/".into(),
        error_rate: 1.0,
        ..Default::default()
    }]);
    let before = rig.calls();
    let out = finish_within(child, "the run whose lease expires", LIMIT);
    assert_lease_lost(&out, &rig, "was not renewed in time");
    // kube-rs retries 503s itself, so the renewal runs out of its time.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("last renewal error: no answer within"),
        "the last renewal error is shown: {}",
        describe(&out)
    );
    assert_eq!(
        rig.calls(),
        before,
        "no mutating call after the lease lapsed"
    );

    rig.lab.faults().set_rules(vec![]);
    let out = finish_within(
        rig.tool(Path::new(BIN), &short_lease_args("resume"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "resume after the lease lapsed",
        LIMIT,
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        rig.calls(),
        want_calls,
        "no effect repeated across the pause"
    );
}

#[test]
fn a_lease_taken_over_by_another_identity_cancels_the_run() {
    let rig = Rig::start(slow_rollout());
    let child = run_until_m5(&rig);
    let before = rig.calls();
    let thief = "ovn-migrate/other-host/other-run";
    let (res, ns, name) = LEASE;
    rig.lab
        .store()
        .mutate(res, ns, name, false, |l| {
            l["spec"]["holderIdentity"] = json!(thief);
            l["spec"]["renewTime"] =
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        })
        .unwrap();
    let out = finish_within(child, "the run whose lease was taken", LIMIT);
    assert_lease_lost(&out, &rig, &format!("taken over by {thief}"));
    assert_eq!(rig.calls(), before, "no mutating call after the takeover");
    assert_eq!(
        lease(&rig).unwrap()["spec"]["holderIdentity"],
        json!(thief),
        "the other holder's lease is left alone"
    );
}

#[test]
fn a_deleted_lease_cancels_the_run_and_is_not_recreated() {
    let rig = Rig::start(slow_rollout());
    let child = run_until_m5(&rig);
    let before = rig.calls();
    let (res, ns, name) = LEASE;
    rig.lab.store().delete(res, ns, name).unwrap();
    let out = finish_within(child, "the run whose lease was deleted", LIMIT);
    assert_lease_lost(&out, &rig, "was deleted");
    assert_eq!(rig.calls(), before, "no mutating call after the deletion");
    assert!(lease(&rig).is_none(), "recreated: {:?}", lease(&rig));
}

#[test]
fn a_holder_70_s_behind_that_keeps_renewing_is_not_taken_over() {
    let rig = Rig::start(small());
    let holder = "ovn-migrate/slow-clock-host/run";
    // Its renewTime is 70 s in our past, its lease lasts 20 s: by our clock it
    // would look expired, but it renews every 200 ms.
    let _other = ForeignHolder::start(&rig, holder, Duration::from_secs(70), 20, true);
    let out = finish_within(
        rig.tool(Path::new(BIN), &short_lease_args("run"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "a run facing a live holder",
        LIMIT,
    );
    assert_eq!(code(&out), LOCKED, "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(holder),
        "{}",
        describe(&out)
    );
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
    assert_eq!(
        lease(&rig).unwrap()["spec"]["holderIdentity"],
        json!(holder)
    );
}

#[test]
fn a_holder_that_stopped_renewing_is_taken_over_after_its_duration() {
    let rig = Rig::start(small());
    // Its renewTime reads "now", but it never changes: expired after 2 s on our clock.
    let _other = ForeignHolder::start(&rig, "ovn-migrate/dead-host/run", Duration::ZERO, 2, false);
    let out = finish_within(
        rig.tool(Path::new(BIN), &short_lease_args("run"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "a run facing a dead holder",
        LIMIT,
    );
    assert!(out.status.success(), "{}", describe(&out));
    let lease = lease(&rig).unwrap();
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "released: {lease}"
    );
}
