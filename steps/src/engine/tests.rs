//! The runner against an in-memory world: what it journals and what it sends.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use journal::{Event, Journal, OpId, OpenOptions, OperationSpec, RunInfo, Target};
use serde_json::{Value, json};
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
}

struct SetFlag {
    name: String,
    group: Option<String>,
    ambiguous: bool,
}

impl Step for SetFlag {
    type Cx = World;
    fn spec(&self) -> OperationSpec {
        OperationSpec {
            op: OpId(format!("set/{}", self.name)),
            step: "T".into(),
            action: "set".into(),
            target: self.name.clone(),
            idempotency_key: self.name.clone(),
        }
    }
    fn kind(&self) -> StepKind {
        StepKind::Effect
    }
    fn group(&self) -> Option<String> {
        self.group.clone()
    }
    async fn observe(&self, w: &World) -> Result<Value, StepError> {
        Ok(json!(
            w.flags
                .lock()
                .unwrap()
                .get(&self.name)
                .copied()
                .unwrap_or(false)
        ))
    }
    fn classify(&self, live: &Value, _intent: Option<&Value>) -> Verdict {
        match (live.as_bool() == Some(true), self.ambiguous) {
            (true, _) => Verdict::Done("set".into()),
            (false, true) => Verdict::Ambiguous("cannot tell".into()),
            (false, false) => Verdict::NotDone("unset".into()),
        }
    }
    async fn act(&self, w: &World) -> Result<Effect, StepError> {
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
        Ok(Effect {
            http_status: Some(200),
            observed: json!(true),
        })
    }
    fn condition(&self, live: &Value, _intent: Option<&Value>) -> Option<WaitState> {
        Some(if live.as_bool() == Some(true) {
            WaitState::Met("set".into())
        } else {
            WaitState::Pending("unset".into())
        })
    }
}

fn flag(name: &str) -> SetFlag {
    SetFlag {
        name: name.into(),
        group: None,
        ambiguous: false,
    }
}

fn timing() -> Timing {
    Timing {
        poll: Duration::from_millis(5),
        wait_timeout: Duration::from_secs(5),
        in_doubt_grace: Duration::from_millis(20),
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
        },
    }
}

fn journal(dir: &std::path::Path) -> Journal {
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

async fn go(steps: &[SetFlag], w: &World, j: &Journal) -> RunSummary {
    let rec = Recorder::new(j.clone());
    run(
        steps,
        w,
        &rec,
        &timing(),
        &CancellationToken::new(),
        &NoProgress,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn fresh_steps_journal_intent_effect_outcome_and_skip_what_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    w.flags.lock().unwrap().insert("b".into(), true);
    let s = go(&[flag("a"), flag("b")], &w, &j).await;
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
            "OperationIntended",
            "OperationSucceeded",
            "WaitStarted",
            "ConditionObserved",
            "WaitFinished",
            "OperationSkipped",
            "WaitStarted",
            "ConditionObserved",
            "WaitFinished"
        ]
    );
    // A second run finds everything done in the journal and sends nothing.
    let s = go(&[flag("a"), flag("b")], &w, &j).await;
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
        go(&[flag("a")], &w, &j).await.outcome,
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
        go(&[flag("c")], &w, &j).await.outcome,
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
    let s = go(&[flag("a"), flag("b")], &w, &j).await;
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
            params: journal::Json::null(),
            at_ms: 0,
        })
        .unwrap();
    }
    w.flags.lock().unwrap().insert("landed".into(), true);
    let s = go(&[flag("landed"), flag("lost")], &w, &j).await;
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
async fn ambiguous_in_doubt_operations_stop_for_the_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let s = go(
        &[SetFlag {
            name: "x".into(),
            group: None,
            ambiguous: true,
        }],
        &w,
        &j,
    )
    .await;
    assert!(
        matches!(s.outcome, RunOutcome::NeedsOperator { ref detail, .. } if detail == "cannot tell")
    );
    assert_eq!(w.calls.lock().unwrap().get("x"), None);
}

#[tokio::test]
async fn a_group_shares_one_flush_for_its_intents() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let g = Some("wave-0".to_string());
    let steps: Vec<SetFlag> = (0..4)
        .map(|i| SetFlag {
            name: format!("n{i}"),
            group: g.clone(),
            ambiguous: false,
        })
        .collect();
    assert_eq!(go(&steps, &w, &j).await.outcome, RunOutcome::Completed);
    let kinds = names(&j);
    assert_eq!(
        &kinds[..4],
        ["OperationIntended"; 4],
        "all intents before any effect: {kinds:?}"
    );
}

#[tokio::test]
async fn cancellation_pauses_before_the_next_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let w = World::default();
    let rec = Recorder::new(j.clone());
    let cancel = CancellationToken::new();
    cancel.cancel();
    let s = run(&[flag("a")], &w, &rec, &timing(), &cancel, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        s.outcome,
        RunOutcome::Paused {
            reason: "interrupted".into()
        }
    );
    assert!(w.calls.lock().unwrap().is_empty());
}

/// A fence that holds for its first `held` questions, then reports the lease taken over.
struct FlakyFence {
    held: u32,
    asked: std::sync::atomic::AtomicU32,
}

impl Fence for FlakyFence {
    fn ensure_held(&self) -> Result<(), crate::kube::lease::LeaseLost> {
        let n = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n < self.held {
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
    let rec = Recorder::new(j.clone());
    let fence = FlakyFence {
        held: 1,
        asked: Default::default(),
    };
    let s = run_fenced(
        &[flag("a"), flag("b")],
        &w,
        &rec,
        &timing(),
        &CancellationToken::new(),
        &NoProgress,
        &fence,
    )
    .await
    .unwrap();
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
        matches!(last, Event::RunPaused { ref reason, .. } if reason.starts_with("lease lost: ")),
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
    let s = run_fenced(
        &[flag("a")],
        &w,
        &rec,
        &timing(),
        &cancel,
        &NoProgress,
        &fence,
    )
    .await
    .unwrap();
    assert!(
        matches!(s.outcome, RunOutcome::LeaseLost { .. }),
        "{:?}",
        s.outcome
    );
    assert!(w.calls.lock().unwrap().is_empty());
}
