//! The runner against an in-memory world: what it journals and what it sends.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use journal::{Event, Journal, OpId, OpenOptions, OperationSpec, RunInfo, Target};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::*;

/// A world of named flags; `fail_next` makes the next effects fail (retryably
/// or not); `land_on_failure` makes a failed effect land anyway (a lost answer).
#[derive(Default)]
struct World {
    flags: Mutex<BTreeMap<String, bool>>,
    calls: Mutex<BTreeMap<String, u32>>,
    fail_next: Mutex<Vec<StepError>>,
    land_on_failure: Mutex<bool>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Effects wait this long, so concurrent ones overlap.
    act_ms: u64,
    /// `start:<name>` and `end:<name>` of every effect, in order.
    log: Mutex<Vec<String>>,
    /// Observations made by [`Once`].
    observes: AtomicUsize,
}

struct SetFlag {
    name: String,
    group: Option<String>,
    ambiguous: bool,
    /// Operations of its group to be done first (a dependency graph).
    after: Vec<String>,
}

impl Step for SetFlag {
    type Cx = World;
    type Observation = bool;
    fn spec(&self) -> OperationSpec {
        OperationSpec {
            op: OpId(format!("set/{}", self.name)),
            step: "T".into(),
            action: "set".into(),
            target: self.name.clone(),
            idempotency_key: self.name.clone(),
        }
    }
    fn group(&self) -> Option<String> {
        self.group.clone()
    }
    fn after(&self) -> Vec<String> {
        self.after.clone()
    }
    async fn observe(&self, w: &World) -> Result<bool, StepError> {
        Ok(w.flags
            .lock()
            .unwrap()
            .get(&self.name)
            .copied()
            .unwrap_or(false))
    }
}

impl Effect for SetFlag {
    type Params = ();
    fn params(&self, _: &bool) {}
    fn classify(&self, live: &bool, _intent: Option<&()>) -> Verdict {
        match (*live, self.ambiguous) {
            (true, _) => Verdict::Done("set".into()),
            (false, true) => Verdict::Ambiguous("cannot tell".into()),
            (false, false) => Verdict::NotDone("unset".into()),
        }
    }
    async fn act(&self, w: &World, _: &()) -> Result<Applied, StepError> {
        w.log.lock().unwrap().push(format!("start:{}", self.name));
        let now = w.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        w.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if w.act_ms > 0 {
            tokio::time::sleep(Duration::from_millis(w.act_ms)).await;
        }
        w.in_flight.fetch_sub(1, Ordering::SeqCst);
        w.log.lock().unwrap().push(format!("end:{}", self.name));
        *w.calls
            .lock()
            .unwrap()
            .entry(self.name.clone())
            .or_default() += 1;
        let failure = w.fail_next.lock().unwrap().pop();
        if let Some(e) = failure {
            if *w.land_on_failure.lock().unwrap() {
                w.flags.lock().unwrap().insert(self.name.clone(), true);
            }
            return Err(e);
        }
        w.flags.lock().unwrap().insert(self.name.clone(), true);
        Ok(Applied {
            http_status: Some(200),
            observed: Value::Bool(true),
        })
    }
    fn settle(&self, live: &bool, _intent: Option<&()>) -> Option<WaitState> {
        Some(if *live {
            WaitState::Met("set".into())
        } else {
            WaitState::Pending("unset".into())
        })
    }
}

fn flag(name: &str) -> Box<dyn ErasedStep<World>> {
    effect(SetFlag {
        name: name.into(),
        group: None,
        ambiguous: false,
        after: vec![],
    })
}

fn grouped(n: usize) -> Vec<Box<dyn ErasedStep<World>>> {
    (0..n)
        .map(|i| {
            effect(SetFlag {
                name: format!("n{i}"),
                group: Some("wave-0".into()),
                ambiguous: false,
                after: vec![],
            })
        })
        .collect()
}

pub(crate) fn timing() -> Timing {
    Timing {
        poll: Duration::from_millis(5),
        wait_timeout: Duration::from_secs(5),
        in_doubt_grace: Duration::from_millis(20),
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
        },
        concurrency: 16,
    }
}

pub(crate) fn journal(dir: &std::path::Path) -> Journal {
    let target = Target {
        cluster_id: "t".into(),
        api_server: "a".into(),
        openstack_auth_url: "o".into(),
        openstack_project: "p".into(),
    };
    let run = RunInfo {
        run_id: "r".into(),
        workflow: "test".into(),
        tool_version: "t".into(),
        target,
    };
    Journal::create(dir, &run, &OpenOptions::default()).unwrap()
}

fn names(j: &Journal) -> Vec<&'static str> {
    j.iter(2).map(|r| r.unwrap().event.name()).collect()
}

fn no_make(_: &Value) -> Result<Box<dyn ErasedStep<World>>, String> {
    Err("no expansions here".into())
}

async fn go_with(
    steps: Vec<Box<dyn ErasedStep<World>>>,
    w: &World,
    rec: &Recorder,
    timing: &Timing,
    guard: &dyn Fence,
) -> RunSummary {
    let mut ops = Ops {
        steps,
        expanded: Default::default(),
        make: &no_make,
    };
    let cancel = CancellationToken::new();
    let env = Env {
        rec,
        timing,
        cancel: &cancel,
        progress: &NoProgress,
        guard,
        clock: &SystemClock,
        recheck_reads: false,
    };
    run(&mut ops, w, env).await.unwrap()
}

async fn go(steps: Vec<Box<dyn ErasedStep<World>>>, w: &World, j: &Journal) -> RunSummary {
    go_with(steps, w, &Recorder::new(j.clone()), &timing(), &NoFence).await
}

#[tokio::test]
async fn fresh_steps_journal_what_they_saw_intent_effect_outcome_and_skip_what_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    w.flags.lock().unwrap().insert("b".into(), true);
    let s = go(vec![flag("a"), flag("b")], &w, &j).await;
    assert_eq!(s.outcome, RunOutcome::Completed);
    assert_eq!((s.counts.done, s.counts.skipped), (1, 1));
    assert_eq!(
        w.calls.lock().unwrap().get("b"),
        None,
        "b was already set: nothing sent"
    );
    assert_eq!(
        names(&j),
        [
            "ObservationRecorded",
            "OperationIntended",
            "OperationSucceeded",
            "WaitStarted",
            "ConditionObserved",
            "WaitFinished",
            "ObservationRecorded",
            "OperationSkipped",
            "WaitStarted",
            "ConditionObserved",
            "WaitFinished"
        ]
    );
    // The decision's input is journaled in full, and so is each condition's.
    let first = j.read(2).unwrap().unwrap().event;
    assert!(
        matches!(&first, Event::ObservationRecorded { key, body, .. } if key == "observed/set/a" && resolve(&j, body).unwrap() == Value::Bool(false)),
        "{first:?}"
    );
    // A second run finds everything done in the journal and sends nothing.
    let s = go(vec![flag("a"), flag("b")], &w, &j).await;
    assert_eq!(s.counts.skipped, 2);
    assert_eq!(w.calls.lock().unwrap()["a"], 1);
}

#[tokio::test]
async fn retryable_failures_are_retried_and_a_landed_call_is_not_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    w.fail_next
        .lock()
        .unwrap()
        .push(StepError::retryable("503"));
    assert_eq!(
        go(vec![flag("a")], &w, &j).await.outcome,
        RunOutcome::Completed
    );
    assert_eq!(w.calls.lock().unwrap()["a"], 2, "one failure, one retry");

    // The call lands but its answer is lost: the re-observation sees it, no second call.
    *w.land_on_failure.lock().unwrap() = true;
    w.fail_next
        .lock()
        .unwrap()
        .push(StepError::retryable("connection reset"));
    assert_eq!(
        go(vec![flag("c")], &w, &j).await.outcome,
        RunOutcome::Completed
    );
    assert_eq!(w.calls.lock().unwrap()["c"], 1);
}

#[tokio::test]
async fn permanent_failures_stop_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    w.fail_next
        .lock()
        .unwrap()
        .push(StepError::fatal("403 forbidden"));
    let s = go(vec![flag("a"), flag("b")], &w, &j).await;
    assert!(matches!(s.outcome, RunOutcome::Failed { ref op, .. } if op == "set/a"));
    assert_eq!(s.counts.remaining, 2);
    assert_eq!(*names(&j).last().unwrap(), "RunPaused");
}

#[tokio::test]
async fn in_doubt_operations_are_reobserved_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    // As if a crash hit between intent and outcome: once with the effect landed, once not.
    for name in ["landed", "lost"] {
        j.append(Event::OperationIntended {
            op: OpId(format!("set/{name}")),
            step: "T".into(),
            action: "set".into(),
            target: name.into(),
            idempotency_key: name.into(),
            attempt: 1,
            params: journal::Doc::null(),
        })
        .unwrap();
    }
    w.flags.lock().unwrap().insert("landed".into(), true);
    let s = go(vec![flag("landed"), flag("lost")], &w, &j).await;
    assert_eq!(s.outcome, RunOutcome::Completed);
    assert_eq!(s.counts.reobserved, 2);
    assert_eq!(
        w.calls.lock().unwrap().get("landed"),
        None,
        "the landed effect is not repeated"
    );
    assert_eq!(
        w.calls.lock().unwrap()["lost"],
        1,
        "the lost one runs again, as the same operation"
    );
    let attempts: Vec<u32> = j
        .iter(1)
        .filter_map(|r| match r.unwrap().event {
            Event::OperationIntended { op, attempt, .. } if op.0 == "set/lost" => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2]);
    assert!(j.in_doubt().unwrap().is_empty());
}

#[tokio::test]
async fn ambiguous_operations_stop_for_the_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let s = go(
        vec![effect(SetFlag {
            name: "x".into(),
            group: None,
            ambiguous: true,
            after: vec![],
        })],
        &w,
        &j,
    )
    .await;
    assert!(
        matches!(s.outcome, RunOutcome::NeedsOperator { ref detail, .. } if detail == "cannot tell")
    );
    assert_eq!(w.calls.lock().unwrap().get("x"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_makes_its_intents_durable_in_one_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let rec = Recorder::new(j.clone());
    let s = go_with(grouped(8), &w, &rec, &timing(), &NoFence).await;
    assert_eq!(s.outcome, RunOutcome::Completed);
    let intents: Vec<u64> = j
        .iter(1)
        .map(Result::unwrap)
        .filter(|r| matches!(r.event, Event::OperationIntended { .. }))
        .map(|r| r.seq)
        .collect();
    assert_eq!(intents.len(), 8);
    // One commit (one flush, one fdatasync) holds every intent, and nothing else.
    let holding: Vec<(u64, u64)> = rec
        .commit_ranges()
        .into_iter()
        .filter(|(a, b)| intents.iter().any(|s| a <= s && s <= b))
        .collect();
    assert_eq!(
        holding,
        [(intents[0], intents[7])],
        "intents {intents:?} across commits {:?}",
        rec.commit_ranges()
    );
}

#[tokio::test]
async fn a_group_runs_at_most_concurrency_operations_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World {
        act_ms: 20,
        ..World::default()
    };
    let t = Timing {
        concurrency: 2,
        ..timing()
    };
    let s = go_with(grouped(6), &w, &Recorder::new(j.clone()), &t, &NoFence).await;
    assert_eq!(s.outcome, RunOutcome::Completed);
    assert_eq!(w.most_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(w.calls.lock().unwrap().len(), 6);
}

struct Lost;

impl Fence for Lost {
    fn ensure_held(&self) -> Result<(), crate::kube::lease::LeaseLost> {
        Err(crate::kube::lease::LeaseLost::Deleted)
    }
}

#[tokio::test]
async fn nothing_is_intended_once_the_guard_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let s = go_with(
        vec![flag("a")],
        &w,
        &Recorder::new(j.clone()),
        &timing(),
        &Lost,
    )
    .await;
    assert!(
        matches!(s.outcome, RunOutcome::LeaseLost { ref reason } if reason.contains("was deleted"))
    );
    assert!(w.calls.lock().unwrap().is_empty());
    assert!(!names(&j).contains(&"OperationIntended"));
    assert_eq!(*names(&j).last().unwrap(), "RunPaused");
}

#[tokio::test]
async fn cancellation_pauses_before_the_next_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let rec = Recorder::new(j.clone());
    let cancel = CancellationToken::new();
    cancel.cancel();
    let mut ops = Ops {
        steps: vec![flag("a")],
        expanded: Default::default(),
        make: &no_make,
    };
    let t = timing();
    let env = Env {
        rec: &rec,
        timing: &t,
        cancel: &cancel,
        progress: &NoProgress,
        guard: &NoFence,
        clock: &SystemClock,
        recheck_reads: false,
    };
    let s = run(&mut ops, &w, env).await.unwrap();
    assert_eq!(
        s.outcome,
        RunOutcome::Paused {
            reason: "interrupted".into()
        }
    );
    assert!(w.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn large_observations_are_journaled_whole_in_the_blob_store() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let rec = Recorder::new(j.clone());
    let big = Value::String("x".repeat(10_000));
    let json = rec.payload(&big).unwrap();
    assert!(json.json().is_none(), "a reference, not the text");
    assert_eq!(resolve(&j, &json).unwrap(), big);
}

/// A fence that holds for its first `held` questions, then reports the lease taken over.
struct FlakyFence {
    held: u32,
    asked: AtomicUsize,
}

impl Fence for FlakyFence {
    fn ensure_held(&self) -> Result<(), crate::kube::lease::LeaseLost> {
        if self.asked.fetch_add(1, Ordering::SeqCst) < self.held as usize {
            Ok(())
        } else {
            Err(crate::kube::lease::LeaseLost::TakenOver {
                holder: "ovn-migrate/thief/run".into(),
            })
        }
    }
}

#[tokio::test]
async fn a_lost_lease_stops_the_run_before_the_next_intent() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let fence = FlakyFence {
        held: 1,
        asked: Default::default(),
    };
    let s = go_with(
        vec![flag("a"), flag("b")],
        &w,
        &Recorder::new(j.clone()),
        &timing(),
        &fence,
    )
    .await;
    assert!(
        matches!(&s.outcome, RunOutcome::LeaseLost { reason } if reason.contains("taken over by ovn-migrate/thief/run")),
        "{:?}",
        s.outcome
    );
    assert_eq!(w.calls.lock().unwrap().get("a"), Some(&1));
    assert_eq!(w.calls.lock().unwrap().get("b"), None, "b was never sent");
    let kinds = names(&j);
    assert_eq!(
        kinds.iter().filter(|k| **k == "OperationIntended").count(),
        1,
        "no intent after the loss: {kinds:?}"
    );
    let last = j.read(j.head().0).unwrap().unwrap().event;
    assert!(
        matches!(&last, Event::RunPaused { reason: journal::PauseReason::Stopped { detail } }
            if detail.inline().starts_with("lease lost: ")),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_wait_cut_short_by_the_lease_is_reported_as_the_lease() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let rec = Recorder::new(j.clone());
    // The lease's loss cancels the run's token; the fence then says why.
    let cancel = CancellationToken::new();
    cancel.cancel();
    let fence = FlakyFence {
        held: 0,
        asked: Default::default(),
    };
    let mut ops = Ops {
        steps: vec![flag("a")],
        expanded: Default::default(),
        make: &no_make,
    };
    let t = timing();
    let env = Env {
        rec: &rec,
        timing: &t,
        cancel: &cancel,
        progress: &NoProgress,
        guard: &fence,
        clock: &SystemClock,
        recheck_reads: false,
    };
    let s = run(&mut ops, &w, env).await.unwrap();
    assert!(
        matches!(s.outcome, RunOutcome::LeaseLost { .. }),
        "{:?}",
        s.outcome
    );
    assert!(w.calls.lock().unwrap().is_empty());
}

fn node(name: &str, after: &[&str]) -> Box<dyn ErasedStep<World>> {
    effect(SetFlag {
        name: name.into(),
        group: Some("graph".into()),
        ambiguous: false,
        after: after.iter().map(|a| format!("set/{a}")).collect(),
    })
}

fn position(log: &[String], what: &str) -> usize {
    log.iter()
        .position(|l| l == what)
        .unwrap_or_else(|| panic!("{what} is not in {log:?}"))
}

#[tokio::test]
async fn a_dependency_graph_starts_each_step_after_its_dependencies_in_a_bounded_window() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World {
        act_ms: 5,
        ..World::default()
    };
    // a → b → c, d after a and b, and eight independent steps.
    let mut steps = vec![
        node("c", &["b"]),
        node("b", &["a"]),
        node("a", &[]),
        node("d", &["a", "b"]),
    ];
    steps.extend((0..8).map(|i| node(&format!("free{i}"), &[])));
    let t = Timing {
        concurrency: 3,
        ..timing()
    };
    let s = go_with(steps, &w, &Recorder::new(j.clone()), &t, &NoFence).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(s.counts.done, 12);
    let log = w.log.lock().unwrap().clone();
    for (before, after) in [("a", "b"), ("b", "c"), ("a", "d"), ("b", "d")] {
        assert!(
            position(&log, &format!("end:{before}")) < position(&log, &format!("start:{after}")),
            "{after} started before {before} ended: {log:?}"
        );
    }
    assert!(
        w.most_in_flight.load(Ordering::SeqCst) <= 3,
        "the window holds"
    );
    // A second run finds every step done and sends nothing.
    let s = go_with(
        vec![node("c", &["b"]), node("b", &["a"]), node("a", &[])],
        &w,
        &Recorder::new(j.clone()),
        &t,
        &NoFence,
    )
    .await;
    assert_eq!((s.outcome, s.counts.skipped), (RunOutcome::Completed, 3));
    assert_eq!(w.calls.lock().unwrap()["a"], 1);
}

#[tokio::test]
async fn a_failed_step_stops_its_dependents_and_a_cycle_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    w.fail_next.lock().unwrap().push(StepError::fatal("403"));
    let t = Timing {
        concurrency: 1,
        ..timing()
    };
    let s = go_with(
        vec![node("a", &[]), node("b", &["a"]), node("c", &["b"])],
        &w,
        &Recorder::new(j.clone()),
        &t,
        &NoFence,
    )
    .await;
    assert!(
        matches!(s.outcome, RunOutcome::Failed { ref op, .. } if op == "set/a"),
        "{s:?}"
    );
    assert_eq!(s.counts.remaining, 3);
    assert_eq!(w.calls.lock().unwrap().get("b"), None, "b never starts");

    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let s = go_with(
        vec![node("x", &["y"]), node("y", &["x"]), node("z", &[])],
        &w,
        &Recorder::new(j.clone()),
        &timing(),
        &NoFence,
    )
    .await;
    assert!(
        matches!(&s.outcome, RunOutcome::Failed { error, .. } if error.contains("cycle")),
        "{s:?}"
    );
    assert_eq!(w.calls.lock().unwrap()["z"], 1, "what does not wait runs");
    assert_eq!(s.counts.remaining, 2);
}

/// An effect that never waits after acting.
struct Once;

impl Step for Once {
    type Cx = World;
    type Observation = bool;
    fn spec(&self) -> OperationSpec {
        OperationSpec {
            op: OpId("once".into()),
            step: "T".into(),
            action: "set".into(),
            target: "once".into(),
            idempotency_key: "once".into(),
        }
    }
    async fn observe(&self, w: &World) -> Result<bool, StepError> {
        w.observes.fetch_add(1, Ordering::SeqCst);
        Ok(w.flags.lock().unwrap().contains_key("once"))
    }
}

impl Effect for Once {
    type Params = ();
    fn params(&self, _: &bool) {}
    fn classify(&self, live: &bool, _intent: Option<&()>) -> Verdict {
        if *live {
            Verdict::Done("set".into())
        } else {
            Verdict::NotDone("unset".into())
        }
    }
    async fn act(&self, w: &World, _: &()) -> Result<Applied, StepError> {
        w.flags.lock().unwrap().insert("once".into(), true);
        Ok(Applied {
            http_status: Some(204),
            observed: Value::Null,
        })
    }
    fn settles(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn an_effect_that_never_settles_is_not_observed_again_after_acting() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let s = go(vec![effect(Once)], &w, &j).await;
    assert_eq!(s.outcome, RunOutcome::Completed);
    assert_eq!(w.observes.load(Ordering::SeqCst), 1, "only before acting");
    assert_eq!(
        names(&j),
        [
            "ObservationRecorded",
            "OperationIntended",
            "OperationSucceeded"
        ]
    );
}
