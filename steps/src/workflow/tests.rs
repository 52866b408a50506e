//! The driver with a tiny workflow: plans that grow from journaled results,
//! compensations run first on resume, and a time gate.

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use journal::event::now_ms;
use journal::{Journal, OpId, OperationSpec, Target};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::engine::{
    Applied, Clock, Effect, Gate, NoProgress, RetryPolicy, Step, StepError, SystemClock, Verdict,
    WaitState, Watch, effect, wait,
};

/// The world the test workflow acts on.
#[derive(Default)]
struct World {
    /// Items a snapshot lists.
    items: Mutex<Vec<String>>,
    /// Items still there (deleted ones are removed).
    present: Mutex<Vec<String>>,
    /// Whether the database is desynced.
    desynced: Mutex<bool>,
    /// Every effect, in order.
    log: Mutex<Vec<String>>,
    /// Effects that fail once, for good.
    fail_once: Mutex<Vec<String>>,
}

impl World {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// The test workflow's operations.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Op {
    /// Lists the items; expands into one Delete per item.
    Snapshot,
    Delete(String),
    Desync,
    /// A desync whose span is compensated as soon as the run stops.
    DesyncUntilStop,
    Work,
    Resync,
    /// Takes a lease (the gate's event).
    Take,
    /// Gated 24 h after Take.
    AfterDay,
}

fn spec(name: &str) -> OperationSpec {
    OperationSpec {
        op: OpId(name.into()),
        step: "T".into(),
        action: name.into(),
        target: name.into(),
        idempotency_key: name.into(),
    }
}

struct Snapshot;

impl Step for Snapshot {
    type Cx = World;
    type Observation = Vec<String>;
    fn spec(&self) -> OperationSpec {
        spec("snapshot")
    }
    fn expand(&self, outcome: &Value) -> Option<Result<Vec<Value>, String>> {
        let items: Vec<String> = match serde_json::from_value(outcome.clone()) {
            Ok(i) => i,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(Ok(items
            .into_iter()
            .map(|i| serde_json::to_value(Op::Delete(i)).unwrap())
            .collect()))
    }
    async fn observe(&self, w: &World) -> Result<Vec<String>, StepError> {
        Ok(w.items.lock().unwrap().clone())
    }
}

impl Watch for Snapshot {
    fn condition(&self, _: &Vec<String>) -> WaitState {
        WaitState::Met("listed".into())
    }
}

/// A generic effect on the world: `name` is what it does.
struct Act {
    name: String,
    compensated_by: Option<String>,
    on_stop: bool,
    gate: Option<Gate>,
}

impl Step for Act {
    type Cx = World;
    type Observation = bool;
    fn spec(&self) -> OperationSpec {
        spec(&self.name)
    }
    fn gate(&self) -> Option<Gate> {
        self.gate.clone()
    }
    async fn observe(&self, _: &World) -> Result<bool, StepError> {
        // Every effect is judged not done by what it reads, so the journal
        // alone decides what runs again.
        Ok(false)
    }
}

impl Effect for Act {
    type Params = ();
    fn params(&self, _: &bool) {}
    fn classify(&self, _: &bool, _: Option<&()>) -> Verdict {
        Verdict::NotDone("act".into())
    }
    async fn act(&self, w: &World, _: &()) -> Result<Applied, StepError> {
        w.log.lock().unwrap().push(self.name.clone());
        let mut fail = w.fail_once.lock().unwrap();
        if let Some(i) = fail.iter().position(|f| f == &self.name) {
            fail.remove(i);
            return Err(StepError::fatal(format!("{} broke", self.name)));
        }
        match self.name.as_str() {
            "desync" => *w.desynced.lock().unwrap() = true,
            "resync" => *w.desynced.lock().unwrap() = false,
            n => {
                if let Some(item) = n.strip_prefix("delete/") {
                    w.present.lock().unwrap().retain(|p| p != item);
                }
            }
        }
        Ok(Applied {
            http_status: None,
            observed: json!(true),
        })
    }
    fn compensated_by(&self) -> Option<String> {
        self.compensated_by.clone()
    }
    fn compensate_on_stop(&self) -> bool {
        self.on_stop
    }
}

fn act(name: &str) -> Act {
    Act {
        name: name.into(),
        compensated_by: None,
        on_stop: false,
        gate: None,
    }
}

struct Test {
    plan: Vec<Op>,
}

impl Workflow for Test {
    const NAME: &'static str = "test-workflow";
    type Options = u32;
    type Discovery = Vec<String>;
    type Operation = Op;
    type Plan = (String, Vec<Op>);
    type Cx = World;
    type Error = TestError;

    fn target(&self) -> Target {
        Target {
            cluster_id: "t".into(),
            api_server: "a".into(),
            openstack_auth_url: "o".into(),
            openstack_project: "p".into(),
        }
    }
    async fn discover(&self) -> Result<Vec<String>, TestError> {
        Ok(vec![])
    }
    fn digest(d: &Vec<String>) -> String {
        d.join(",")
    }
    fn plan(d: &Vec<String>, _: &u32) -> Result<(String, Vec<Op>), TestError> {
        Ok((Self::digest(d), vec![]))
    }
    fn planned_digest(plan: &(String, Vec<Op>)) -> &str {
        &plan.0
    }
    fn operations(plan: &(String, Vec<Op>)) -> &[Op] {
        &plan.1
    }
    fn step(op: &Op) -> Box<dyn ErasedStep<World>> {
        match op {
            Op::Snapshot => wait(Snapshot),
            Op::Delete(i) => effect(act(&format!("delete/{i}"))),
            Op::Desync => effect(Act {
                compensated_by: Some("resync".into()),
                ..act("desync")
            }),
            Op::DesyncUntilStop => effect(Act {
                compensated_by: Some("resync".into()),
                on_stop: true,
                ..act("desync")
            }),
            Op::Work => effect(act("work")),
            Op::Resync => effect(act("resync")),
            Op::Take => effect(act("take")),
            Op::AfterDay => effect(Act {
                gate: Some(Gate {
                    after: "take".into(),
                    wait: Duration::from_secs(24 * 3600),
                }),
                ..act("after-day")
            }),
        }
    }
    fn context(
        &self,
        _: &LoadedRun<Self>,
        _: &Recorder,
        _: &Execution<'_>,
    ) -> Result<World, TestError> {
        unreachable!("the tests pass their world to run_with")
    }
    async fn exclude(&self, _: &str, _: &Execution<'_>) -> Result<Box<dyn Held>, TestError> {
        Ok(Box::new(Unguarded))
    }
}

#[derive(Debug)]
#[allow(dead_code)]
enum TestError {
    Journal(journal::Error),
    Run(RunError),
}

impl From<journal::Error> for TestError {
    fn from(e: journal::Error) -> Self {
        TestError::Journal(e)
    }
}

impl From<RunError> for TestError {
    fn from(e: RunError) -> Self {
        TestError::Run(e)
    }
}

/// A clock the test sets.
struct At(Mutex<i64>);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        *self.0.lock().unwrap()
    }
}

fn timing() -> Timing {
    Timing {
        poll: Duration::from_millis(5),
        wait_timeout: Duration::from_secs(5),
        in_doubt_grace: Duration::from_millis(10),
        retry: RetryPolicy {
            max_attempts: 1,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(5),
        },
        concurrency: 4,
    }
}

async fn start(dir: &std::path::Path, plan: Vec<Op>) -> Journal {
    let t = Test { plan: plan.clone() };
    start_run(
        &t,
        dir.to_path_buf(),
        "r1",
        "test",
        &vec![],
        &0,
        &(String::new(), t.plan.clone()),
    )
    .await
    .unwrap()
}

/// Loads the run from its journal (as a resume does) and runs it against `w`.
async fn resume(j: &Journal, w: &World, clock: &dyn Clock) -> RunSummary {
    let run = load_run::<Test>(j.clone()).await.unwrap();
    let rec = Recorder::new(j.clone());
    let make = |v: &Value| make::<Test>(v);
    let mut ops = Ops {
        steps: run.steps().unwrap(),
        expanded: run.expansions.iter().map(|(a, _)| a.clone()).collect(),
        make: &make,
    };
    let t = timing();
    let cancel = CancellationToken::new();
    let env = Env {
        rec: &rec,
        timing: &t,
        cancel: &cancel,
        progress: &NoProgress,
        guard: &Unguarded,
        clock,
        recheck_reads: !run.started,
    };
    crate::engine::run(&mut ops, w, env).await.unwrap()
}

/// The journal as the next process sees it (the same open journal: the
/// committer task of a finished run may still hold its clone).
fn reopen(_dir: &std::path::Path, j: Journal) -> Journal {
    j
}

#[tokio::test]
async fn a_plan_grows_from_a_journaled_snapshot_and_resume_sees_the_same_operations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Snapshot, Op::Work]).await;
    let w = World::default();
    *w.items.lock().unwrap() = vec!["a".into(), "b".into()];
    *w.present.lock().unwrap() = vec!["a".into(), "b".into()];
    w.fail_once.lock().unwrap().push("delete/b".into());
    let s = resume(&j, &w, &SystemClock).await;
    assert!(
        matches!(s.outcome, RunOutcome::Failed { ref op, .. } if op == "delete/b"),
        "{s:?}"
    );
    let j = reopen(&dir, j);
    let run = load_run::<Test>(j.clone()).await.unwrap();
    assert_eq!(run.expansions.len(), 1, "the expansion is journaled");
    assert_eq!(run.expansions[0].0, "snapshot");

    // The world changes; the resumed run still works through the snapshot it journaled.
    w.items.lock().unwrap().push("c".into());
    w.present.lock().unwrap().push("c".into());
    let s = resume(&j, &w, &SystemClock).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(w.log(), ["delete/a", "delete/b", "delete/b", "work"]);
    assert_eq!(
        *w.present.lock().unwrap(),
        ["c"],
        "c was not in the snapshot"
    );
    let run = load_run::<Test>(reopen(&dir, j)).await.unwrap();
    assert_eq!(run.expansions.len(), 1, "expanded once");
    let names: Vec<String> = run
        .steps()
        .unwrap()
        .iter()
        .map(|s| s.spec().op.0.clone())
        .collect();
    assert_eq!(names, ["snapshot", "delete/a", "delete/b", "work"]);
}

#[tokio::test]
async fn a_snapshot_done_but_not_expanded_expands_on_resume_from_its_journaled_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Work, Op::Snapshot]).await;
    // As if the run died between the snapshot's outcome and its expansion,
    // after an effect (so the run has started and the snapshot is not re-read).
    j.append(Event::OperationIntended {
        op: OpId("work".into()),
        step: "T".into(),
        action: "work".into(),
        target: "work".into(),
        idempotency_key: "work".into(),
        attempt: 1,
        params: journal::Doc::null(),
    })
    .unwrap();
    j.append(Event::OperationSucceeded {
        op: OpId("work".into()),
        attempt: 1,
        http_status: None,
        observed: journal::Doc::null(),
        duration_ms: 0,
    })
    .unwrap();
    j.append(Event::OperationSucceeded {
        op: OpId("snapshot".into()),
        attempt: 0,
        http_status: None,
        observed: j.doc(&json!(["x"])).unwrap(),
        duration_ms: 0,
    })
    .unwrap();
    let w = World::default();
    *w.items.lock().unwrap() = vec!["other".into()];
    let s = resume(&j, &w, &SystemClock).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(
        w.log(),
        ["delete/x"],
        "planned from the journal, not the live list"
    );
}

#[tokio::test]
async fn resume_runs_an_owed_compensation_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Desync, Op::Work, Op::Resync]).await;
    let w = World::default();
    w.fail_once.lock().unwrap().push("work".into());
    let s = resume(&j, &w, &SystemClock).await;
    assert!(matches!(s.outcome, RunOutcome::Failed { ref op, .. } if op == "work"));
    assert!(
        *w.desynced.lock().unwrap(),
        "the run stopped inside the span"
    );

    let s = resume(&reopen(&dir, j), &w, &SystemClock).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(s.counts.compensated, 1);
    assert_eq!(
        w.log(),
        ["desync", "work", "resync", "desync", "work", "resync"],
        "resync first, then the span again"
    );
    assert!(!*w.desynced.lock().unwrap());
}

#[tokio::test]
async fn a_span_that_must_not_stay_open_is_compensated_when_the_run_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::DesyncUntilStop, Op::Work, Op::Resync]).await;
    let w = World::default();
    w.fail_once.lock().unwrap().push("work".into());
    let s = resume(&j, &w, &SystemClock).await;
    assert!(
        matches!(s.outcome, RunOutcome::Failed { ref op, .. } if op == "work"),
        "the stop's own reason is kept: {s:?}"
    );
    assert_eq!(s.counts.compensated, 1);
    assert!(
        !*w.desynced.lock().unwrap(),
        "resynced before the run ended"
    );
    assert_eq!(w.log(), ["desync", "work", "resync"]);

    // Nothing is owed any more: the resume does the whole span again.
    let s = resume(&reopen(&dir, j), &w, &SystemClock).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(s.counts.compensated, 0);
    assert_eq!(
        w.log(),
        ["desync", "work", "resync", "desync", "work", "resync"]
    );
    assert!(!*w.desynced.lock().unwrap());
}

#[tokio::test]
async fn a_closed_span_owes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Desync, Op::Work, Op::Resync]).await;
    let w = World::default();
    assert_eq!(
        resume(&j, &w, &SystemClock).await.outcome,
        RunOutcome::Completed
    );
    let s = resume(&reopen(&dir, j), &w, &SystemClock).await;
    assert_eq!((s.counts.compensated, s.counts.skipped), (0, 3));
    assert_eq!(w.log(), ["desync", "work", "resync"]);
}

#[tokio::test]
async fn a_gated_step_waits_24_hours_after_its_event() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Take, Op::AfterDay]).await;
    let w = World::default();
    let clock = At(Mutex::new(now_ms()));
    let s = resume(&j, &w, &clock).await;
    let RunOutcome::Gated { op, until_ms } = s.outcome else {
        panic!("{s:?}")
    };
    assert_eq!(op, "after-day");
    assert_eq!(w.log(), ["take"]);
    let taken = j
        .iter(1)
        .map(Result::unwrap)
        .find(|r| matches!(&r.event, Event::OperationSucceeded { op, .. } if op.0 == "take"))
        .map(|r| crate::engine::recorded_at(&r))
        .unwrap();
    assert_eq!(until_ms, taken + 24 * 3600 * 1000);

    *clock.0.lock().unwrap() = until_ms - 1;
    let j = reopen(&dir, j);
    assert!(matches!(
        resume(&j, &w, &clock).await.outcome,
        RunOutcome::Gated { .. }
    ));
    *clock.0.lock().unwrap() = until_ms;
    assert_eq!(resume(&j, &w, &clock).await.outcome, RunOutcome::Completed);
    assert_eq!(w.log(), ["take", "after-day"]);
}

#[tokio::test]
async fn changed_options_are_refused_and_the_same_ones_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let j = start(&tmp.path().join("j"), vec![Op::Work]).await;
    let run = load_run::<Test>(j).await.unwrap();
    assert!(!run.started);
    assert!(check_options(&run, None).is_ok());
    assert!(check_options(&run, Some(&0)).is_ok());
    let e = check_options(&run, Some(&7)).unwrap_err();
    assert!(
        e.to_string().contains("planned 0, given 7") || e.to_string().contains("planned"),
        "{e}"
    );
    assert!(e.to_string().contains("make a new plan"), "{e}");
}

#[test]
fn differences_name_each_changed_field() {
    let d = differences(
        &json!({"mtu": null, "port": 1}),
        &json!({"mtu": 1400, "port": 1}),
    );
    assert_eq!(d, "mtu: planned null, given 1400");
}

#[allow(dead_code)]
fn _held_is_object_safe(h: Box<dyn Held>) -> BoxFuture<'static, ()> {
    h.release()
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[tokio::test]
async fn replay_rederives_expansions_compensations_and_retries() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    let j = start(&dir, vec![Op::Snapshot, Op::Desync, Op::Work, Op::Resync]).await;
    let w = World::default();
    *w.items.lock().unwrap() = vec!["a".into(), "b".into()];
    *w.present.lock().unwrap() = vec!["a".into(), "b".into()];
    w.fail_once.lock().unwrap().push("work".into());
    let s = resume(&j, &w, &SystemClock).await;
    assert!(matches!(s.outcome, RunOutcome::Failed { .. }), "{s:?}");
    let s = resume(&j, &w, &SystemClock).await;
    assert_eq!(s.outcome, RunOutcome::Completed, "{s:?}");
    assert_eq!(s.counts.compensated, 1);
    let r = tokio::task::spawn_blocking(move || crate::replay::replay::<Test>(&j, None))
        .await
        .unwrap()
        .unwrap();
    // The test workflow's planner is a stub (an empty plan): only the plan
    // differs; every decision of the run re-derives, the expansion's included.
    assert!(
        r.divergences.iter().all(|d| d.decision == "plan"),
        "{:#?}",
        r.divergences
    );
    assert_eq!(r.divergence_count, 1);
    assert!(r.decisions >= 10, "{}", r.decisions);
    assert!(
        r.operations.iter().any(|o| o.op == "delete/b"),
        "the expansion is in the replayed plan: {:?}",
        r.operations
    );
}
