//! The timeline `journal show` prints: a run's records folded into steps,
//! operations with their attempts, waits with their condition changes, and
//! the run's own events (plan, pauses, resumes, decisions, lock takeovers,
//! epochs, the seal), in the order they happened.
//!
//! [`Timeline::build`] is pure: it takes the decoded records and nothing
//! else, so it is the same for a journal and for an exported bundle.

use std::collections::HashMap;

use journal::export::{outcome_name, rfc3339_ms};
use journal::{Event, OperationSpec, Recorded, Seq};
use serde::Serialize;

/// One attempt of an operation: its intent and what followed.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub attempt: u32,
    /// The intent's seq; none for an outcome with no intent (a read-only
    /// operation, which changes nothing and so journals no intent).
    pub intent_seq: Option<Seq>,
    /// When it was intended (or, without an intent, when it ended).
    pub intended_at: String,
    /// `succeeded`, `failed` or `in doubt` (no outcome recorded).
    pub outcome: &'static str,
    pub outcome_seq: Option<Seq>,
    pub http_status: Option<u16>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    pub retryable: Option<bool>,
    /// What the intent carried (its parameters), as recorded.
    pub params: String,
    /// What the outcome observed, as recorded.
    pub observed: Option<String>,
}

/// A re-observation of an in-doubt operation on resume.
#[derive(Clone, Debug, Serialize)]
pub struct Reobservation {
    pub seq: Seq,
    pub at: String,
    pub verdict: String,
    pub observed: String,
}

/// One operation of a step.
#[derive(Clone, Debug, Serialize)]
pub struct Operation {
    pub op: String,
    pub action: String,
    pub target: String,
    /// `done`, `skipped`, `failed` or `in doubt`.
    pub state: &'static str,
    pub attempts: Vec<Attempt>,
    pub reobserved: Vec<Reobservation>,
    /// Why it was skipped (found done before any intent), if it was.
    pub skipped: Option<String>,
}

/// A condition change seen while waiting.
#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    pub seq: Seq,
    pub at: String,
    pub condition: String,
}

/// One wait of a step.
#[derive(Clone, Debug, Serialize)]
pub struct Wait {
    pub wait: String,
    pub started_seq: Seq,
    pub started_at: String,
    pub conditions: Vec<Condition>,
    /// `Met`, `TimedOut`, `Interrupted`, `Failed`, or none while it runs.
    pub outcome: Option<String>,
    pub finished_seq: Option<Seq>,
    pub duration_ms: Option<i64>,
}

/// One step: its operations and waits, from its first record to its last.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub step: String,
    pub first_seq: Seq,
    pub last_seq: Seq,
    pub started_at: String,
    pub ended_at: String,
    pub duration_ms: i64,
    pub operations: Vec<Operation>,
    pub waits: Vec<Wait>,
}

/// A record about the run rather than a step.
#[derive(Clone, Debug, Serialize)]
pub struct RunEvent {
    pub seq: Seq,
    pub at: String,
    pub event: &'static str,
    pub what: String,
}

/// An entry of the timeline, in the order of its first record.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Run(RunEvent),
    Step(Step),
}

impl Entry {
    fn first_seq(&self) -> Seq {
        match self {
            Entry::Run(r) => r.seq,
            Entry::Step(s) => s.first_seq,
        }
    }
}

/// A run's timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    pub run_id: Option<String>,
    pub workflow: Option<String>,
    pub tool_version: Option<String>,
    pub started_by: Option<String>,
    pub started_at: Option<String>,
    pub records: u64,
    pub sealed_at: Option<Seq>,
    pub outcome: Option<String>,
    /// Planned operations with no record yet (when the plan is at hand).
    pub not_started: Vec<String>,
    pub entries: Vec<Entry>,
}

#[derive(Default)]
struct StepAcc {
    first: (Seq, i64),
    last: (Seq, i64),
    ops: Vec<String>,
    waits: Vec<String>,
}

/// Folds records into a timeline; see [`Timeline::build`].
#[derive(Default)]
struct Builder {
    steps: Vec<String>,
    acc: HashMap<String, StepAcc>,
    ops: HashMap<String, Operation>,
    op_step: HashMap<String, String>,
    waits: HashMap<String, (Wait, i64)>,
    wait_step: HashMap<String, String>,
    run_events: Vec<RunEvent>,
}

impl Builder {
    fn touch(&mut self, step: &str, seq: Seq, at: i64) {
        if !self.acc.contains_key(step) {
            self.steps.push(step.to_string());
            self.acc.insert(
                step.to_string(),
                StepAcc {
                    first: (seq, at),
                    ..StepAcc::default()
                },
            );
        }
        if let Some(a) = self.acc.get_mut(step) {
            a.last = (seq, at);
        }
    }

    /// Returns the operation `op` of `step`, registering both.
    fn op(&mut self, op: &str, step: &str, action: &str, target: &str) -> &mut Operation {
        self.op_step.insert(op.to_string(), step.to_string());
        let a = self.acc.get_mut(step).expect("step touched first");
        if !a.ops.iter().any(|o| o == op) {
            a.ops.push(op.to_string());
        }
        self.ops.entry(op.to_string()).or_insert_with(|| Operation {
            op: op.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            state: "in doubt",
            attempts: Vec::new(),
            reobserved: Vec::new(),
            skipped: None,
        })
    }

    /// Returns the operation an outcome is about, touching its step; one
    /// that was never intended (or planned) goes into step `?`.
    fn outcome_of(
        &mut self,
        op: &str,
        seq: Seq,
        at: i64,
        plan: &HashMap<&str, &OperationSpec>,
    ) -> &mut Operation {
        let (step, action, target) = match (self.op_step.get(op), plan.get(op)) {
            (Some(step), _) => (step.clone(), String::new(), String::new()),
            (None, Some(spec)) => (spec.step.clone(), spec.action.clone(), spec.target.clone()),
            // A read-only operation records no intent; its wait, if it has
            // one of the same name, says its step.
            (None, None) => match self.wait_step.get(op) {
                Some(step) => (step.clone(), String::new(), String::new()),
                None => ("?".to_string(), String::new(), String::new()),
            },
        };
        self.touch(&step, seq, at);
        self.op(op, &step, &action, &target)
    }

    fn run_event(&mut self, r: &Recorded, what: String) {
        self.run_events.push(RunEvent {
            seq: r.seq,
            at: rfc3339_ms(r.at_ms),
            event: r.event.name(),
            what,
        });
    }
}

/// Returns the attempt an outcome closes: the open one with its number, else
/// a new one without an intent (a read-only operation's outcome).
fn open_attempt<'a>(o: &'a mut Operation, attempt: u32, r: &Recorded) -> &'a mut Attempt {
    let open = o
        .attempts
        .iter()
        .rposition(|a| a.attempt == attempt && a.outcome_seq.is_none());
    let i = match open {
        Some(i) => i,
        None => {
            o.attempts.push(Attempt {
                attempt,
                intent_seq: None,
                intended_at: rfc3339_ms(r.at_ms),
                outcome: "in doubt",
                outcome_seq: None,
                http_status: None,
                duration_ms: None,
                error: None,
                retryable: None,
                params: String::new(),
                observed: None,
            });
            o.attempts.len() - 1
        }
    };
    &mut o.attempts[i]
}

impl Timeline {
    /// Folds `records` (in seq order) into a timeline; `plan` (the
    /// operations of the run's `PlanRecorded`, when its blob is at hand)
    /// names the step of an operation skipped before any intent, and the
    /// operations never started.
    pub fn build(records: &[Recorded], plan: Option<&[OperationSpec]>) -> Timeline {
        let plan_by_op: HashMap<&str, &OperationSpec> = plan
            .unwrap_or_default()
            .iter()
            .map(|s| (s.op.0.as_str(), s))
            .collect();
        let mut t = Timeline {
            run_id: None,
            workflow: None,
            tool_version: None,
            started_by: None,
            started_at: None,
            records: records.len() as u64,
            sealed_at: None,
            outcome: None,
            not_started: Vec::new(),
            entries: Vec::new(),
        };
        let mut b = Builder::default();
        for r in records {
            let at = rfc3339_ms(r.at_ms);
            match &r.event {
                Event::RunStarted {
                    run_id,
                    workflow,
                    tool_version,
                    host,
                    user,
                    pid,
                    ..
                } => {
                    t.run_id = Some(run_id.clone());
                    t.workflow = Some(workflow.clone());
                    t.tool_version = Some(tool_version.clone());
                    t.started_by = Some(format!("{user}@{host} (pid {pid})"));
                    t.started_at = Some(at.clone());
                    b.run_event(
                        r,
                        format!(
                            "run started by {user}@{host} (pid {pid}), ovn-migrate {tool_version}"
                        ),
                    );
                }
                Event::PlanRecorded {
                    count, plan_digest, ..
                } => b.run_event(
                    r,
                    format!(
                        "plan recorded: {count} operations (digest {})",
                        short(plan_digest)
                    ),
                ),
                Event::ObservationRecorded { key, body } => b.run_event(
                    r,
                    format!("observation {key} recorded ({} bytes)", body.len()),
                ),
                Event::SnapshotRecorded { label, blobs } => b.run_event(
                    r,
                    format!("snapshot {label} recorded: {} objects", blobs.len()),
                ),
                Event::OperationIntended {
                    op,
                    step,
                    action,
                    target,
                    attempt,
                    params,
                    ..
                } => {
                    b.touch(step, r.seq, r.at_ms);
                    let o = b.op(&op.0, step, action, target);
                    o.state = "in doubt";
                    o.attempts.push(Attempt {
                        attempt: *attempt,
                        intent_seq: Some(r.seq),
                        intended_at: at.clone(),
                        outcome: "in doubt",
                        outcome_seq: None,
                        http_status: None,
                        duration_ms: None,
                        error: None,
                        retryable: None,
                        params: params.to_string(),
                        observed: None,
                    });
                }
                Event::OperationSucceeded {
                    op,
                    attempt,
                    http_status,
                    observed,
                    duration_ms,
                } => {
                    let o = b.outcome_of(&op.0, r.seq, r.at_ms, &plan_by_op);
                    o.state = "done";
                    let a = open_attempt(o, *attempt, r);
                    a.outcome = "succeeded";
                    a.outcome_seq = Some(r.seq);
                    a.http_status = *http_status;
                    a.duration_ms = Some(*duration_ms);
                    a.observed = Some(observed.to_string());
                }
                Event::OperationFailed {
                    op,
                    attempt,
                    http_status,
                    error,
                    retryable,
                    duration_ms,
                } => {
                    let o = b.outcome_of(&op.0, r.seq, r.at_ms, &plan_by_op);
                    o.state = "failed";
                    let a = open_attempt(o, *attempt, r);
                    a.outcome = "failed";
                    a.outcome_seq = Some(r.seq);
                    a.http_status = *http_status;
                    a.duration_ms = Some(*duration_ms);
                    a.error = Some(error.to_string());
                    a.retryable = Some(*retryable);
                }
                Event::OperationSkipped { op, reason } => {
                    let o = b.outcome_of(&op.0, r.seq, r.at_ms, &plan_by_op);
                    o.state = "skipped";
                    o.skipped = Some(format!("#{}: {reason}", r.seq));
                }
                Event::OperationReobserved {
                    op,
                    verdict,
                    observed,
                } => {
                    let o = b.outcome_of(&op.0, r.seq, r.at_ms, &plan_by_op);
                    o.reobserved.push(Reobservation {
                        seq: r.seq,
                        at: at.clone(),
                        verdict: format!("{verdict:?}"),
                        observed: observed.to_string(),
                    });
                }
                Event::WaitStarted { wait, step } => {
                    b.touch(step, r.seq, r.at_ms);
                    b.wait_step.insert(wait.clone(), step.clone());
                    if let Some(a) = b.acc.get_mut(step)
                        && !a.waits.contains(wait)
                    {
                        a.waits.push(wait.clone());
                    }
                    b.waits.insert(
                        wait.clone(),
                        (
                            Wait {
                                wait: wait.clone(),
                                started_seq: r.seq,
                                started_at: at.clone(),
                                conditions: Vec::new(),
                                outcome: None,
                                finished_seq: None,
                                duration_ms: None,
                            },
                            r.at_ms,
                        ),
                    );
                }
                Event::ConditionObserved {
                    wait, condition, ..
                } => {
                    if let Some(step) = b.wait_step.get(wait).cloned() {
                        b.touch(&step, r.seq, r.at_ms);
                    }
                    match b.waits.get_mut(wait) {
                        Some((w, _)) => w.conditions.push(Condition {
                            seq: r.seq,
                            at: at.clone(),
                            condition: condition.to_string(),
                        }),
                        None => b.run_event(r, format!("condition of {wait}: {condition}")),
                    }
                }
                Event::WaitFinished { wait, outcome } => {
                    if let Some(step) = b.wait_step.get(wait).cloned() {
                        b.touch(&step, r.seq, r.at_ms);
                    }
                    match b.waits.get_mut(wait) {
                        Some((w, started)) => {
                            w.outcome = Some(format!("{outcome:?}"));
                            w.finished_seq = Some(r.seq);
                            w.duration_ms = Some(r.at_ms - *started);
                        }
                        None => b.run_event(r, format!("wait {wait} finished: {outcome:?}")),
                    }
                }
                Event::DecisionRecorded {
                    decision,
                    detail,
                    by,
                } => b.run_event(r, format!("operator decision {decision} by {by}: {detail}")),
                Event::RunPaused { reason } => {
                    b.run_event(r, format!("run paused: {}", reason.describe()))
                }
                Event::RunResumed {
                    host,
                    user,
                    pid,
                    tool_version,
                } => b.run_event(
                    r,
                    format!("run resumed by {user}@{host} (pid {pid}), ovn-migrate {tool_version}"),
                ),
                Event::EpochStarted {
                    epoch, reset_to, ..
                } => b.run_event(
                    r,
                    format!("epoch {epoch} started: reset to step {reset_to}"),
                ),
                Event::RunSealed { outcome, .. } => {
                    t.sealed_at = Some(r.seq);
                    t.outcome = Some(outcome_name(outcome));
                    b.run_event(r, format!("run sealed: {}", outcome_name(outcome)))
                }
                Event::LockRecovered {
                    host,
                    pid,
                    user,
                    since,
                    ..
                } => b.run_event(
                    r,
                    format!(
                        "lock taken over from pid {pid} on {host} ({user}, since {since}), \
                         which was no longer running"
                    ),
                ),
            }
        }
        if let Some(plan) = plan {
            t.not_started = plan
                .iter()
                .filter(|s| !b.ops.contains_key(&s.op.0))
                .map(|s| format!("{} {} {} ({})", s.step, s.action, s.target, s.op))
                .collect();
        }
        let mut entries: Vec<Entry> = b.run_events.drain(..).map(Entry::Run).collect();
        for name in &b.steps {
            let a = &b.acc[name];
            entries.push(Entry::Step(Step {
                step: name.clone(),
                first_seq: a.first.0,
                last_seq: a.last.0,
                started_at: rfc3339_ms(a.first.1),
                ended_at: rfc3339_ms(a.last.1),
                duration_ms: a.last.1 - a.first.1,
                operations: a.ops.iter().filter_map(|o| b.ops.get(o).cloned()).collect(),
                waits: a
                    .waits
                    .iter()
                    .filter_map(|w| b.waits.get(w).map(|(w, _)| w.clone()))
                    .collect(),
            }));
        }
        entries.sort_by_key(Entry::first_seq);
        t.entries = entries;
        t
    }

    /// Keeps only step `step` (and the header).
    pub fn only_step(&mut self, step: &str) {
        self.entries
            .retain(|e| matches!(e, Entry::Step(s) if s.step == step));
    }

    /// Keeps only operation `op`, in its step.
    pub fn only_op(&mut self, op: &str) {
        self.entries.retain_mut(|e| match e {
            Entry::Step(s) => {
                s.operations.retain(|o| o.op == op);
                s.waits.clear();
                !s.operations.is_empty()
            }
            Entry::Run(_) => false,
        });
    }
}

/// Returns the first 12 characters of a digest.
fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::chain::ChainHash;
    use journal::{Doc, OpId, PauseReason, ReobservedVerdict, RunOutcome, Text, WaitOutcome};

    fn text(s: &str) -> Text {
        Text::short(s).unwrap()
    }

    fn records(events: Vec<Event>) -> Vec<Recorded> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Recorded {
                seq: i as u64 + 1,
                version: 3,
                at_ms: 1_700_000_000_000 + 10 * i as i64,
                event,
                hash: ChainHash([0; 32]),
            })
            .collect()
    }

    fn intent(op: &str, step: &str, attempt: u32) -> Event {
        Event::OperationIntended {
            op: OpId(op.into()),
            step: step.into(),
            action: "delete-port".into(),
            target: format!("neutron/ports/{op}"),
            idempotency_key: op.into(),
            attempt,
            params: Doc::null(),
        }
    }

    fn spec(op: &str, step: &str) -> OperationSpec {
        OperationSpec {
            op: OpId(op.into()),
            step: step.into(),
            action: "delete-port".into(),
            target: format!("neutron/ports/{op}"),
            idempotency_key: op.into(),
        }
    }

    /// A run that retries, pauses, is taken over after a crash, resumes,
    /// re-observes, waits, skips, asks the operator, resets and is sealed.
    fn eventful() -> Timeline {
        let rs = records(vec![
            Event::RunStarted {
                run_id: "r1".into(),
                workflow: "kuryr-cleanup".into(),
                tool_version: "0.1.0".into(),
                target: journal::Target {
                    cluster_id: "c".into(),
                    api_server: "a".into(),
                    openstack_auth_url: "o".into(),
                    openstack_project: "p".into(),
                },
                host: "h".into(),
                user: "op".into(),
                pid: 10,
            },
            intent("p1", "C16", 1),
            Event::OperationFailed {
                op: OpId("p1".into()),
                attempt: 1,
                http_status: Some(503),
                error: text("Service Unavailable"),
                retryable: true,
                duration_ms: 40,
            },
            intent("p1", "C16", 2),
            Event::RunPaused {
                reason: PauseReason::Interrupted,
            },
            Event::LockRecovered {
                host: "h".into(),
                pid: 10,
                user: "op".into(),
                since: "s".into(),
                tool_version: "0.1.0".into(),
            },
            Event::RunResumed {
                host: "h2".into(),
                user: "op2".into(),
                pid: 11,
                tool_version: "0.1.0".into(),
            },
            Event::OperationReobserved {
                op: OpId("p1".into()),
                verdict: ReobservedVerdict::NotDone,
                observed: Doc::null(),
            },
            intent("p1", "C16", 3),
            Event::OperationSucceeded {
                op: OpId("p1".into()),
                attempt: 3,
                http_status: Some(204),
                observed: Doc::null(),
                duration_ms: 7,
            },
            Event::OperationSkipped {
                op: OpId("p2".into()),
                reason: text("already gone"),
            },
            Event::WaitStarted {
                wait: "C17/lbs".into(),
                step: "C17".into(),
            },
            Event::ConditionObserved {
                wait: "C17/lbs".into(),
                condition: text("2 PENDING_DELETE"),
                detail: Doc::null(),
            },
            Event::WaitFinished {
                wait: "C17/lbs".into(),
                outcome: WaitOutcome::Met,
            },
            intent("p3", "C16", 1),
            Event::DecisionRecorded {
                decision: "confirm".into(),
                detail: text("delete 3 ports"),
                by: "op2@h2".into(),
            },
            Event::EpochStarted {
                epoch: 1,
                reset_to: "C16".into(),
                previous_head: ChainHash([0; 32]),
            },
            Event::RunSealed {
                head: ChainHash([0; 32]),
                outcome: RunOutcome::Completed,
            },
        ]);
        let plan = [
            spec("p1", "C16"),
            spec("p2", "C16"),
            spec("p3", "C16"),
            spec("p4", "C18"),
        ];
        Timeline::build(&rs, Some(&plan))
    }

    fn step<'a>(t: &'a Timeline, name: &str) -> &'a Step {
        t.entries
            .iter()
            .find_map(|e| match e {
                Entry::Step(s) if s.step == name => Some(s),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no step {name}"))
    }

    #[test]
    fn attempts_retries_and_resumes_fold_into_their_operation() {
        let t = eventful();
        assert_eq!(t.run_id.as_deref(), Some("r1"));
        assert_eq!(t.sealed_at, Some(18));
        assert_eq!(t.outcome.as_deref(), Some("completed"));
        let c16 = step(&t, "C16");
        let p1 = &c16.operations[0];
        assert_eq!(p1.state, "done");
        let outcomes: Vec<_> = p1.attempts.iter().map(|a| (a.attempt, a.outcome)).collect();
        assert_eq!(
            outcomes,
            [(1, "failed"), (2, "in doubt"), (3, "succeeded")],
            "attempt 2 was interrupted before any outcome"
        );
        assert_eq!(p1.attempts[0].http_status, Some(503));
        assert_eq!(p1.attempts[0].retryable, Some(true));
        assert_eq!(p1.attempts[2].outcome_seq, Some(10));
        assert_eq!(p1.reobserved[0].verdict, "NotDone");
        // Skipped before any intent: the plan names its step.
        let p2 = &c16.operations[1];
        assert_eq!((p2.op.as_str(), p2.state), ("p2", "skipped"));
        assert!(p2.skipped.as_deref().unwrap().contains("already gone"));
        // Intended and never finished.
        assert_eq!(c16.operations[2].state, "in doubt");
        assert_eq!(t.not_started.len(), 1);
        assert!(t.not_started[0].contains("p4"));
        let c17 = step(&t, "C17");
        assert_eq!(c17.waits[0].outcome.as_deref(), Some("Met"));
        assert_eq!(c17.waits[0].conditions[0].condition, "2 PENDING_DELETE");
        assert_eq!(c17.waits[0].duration_ms, Some(20));
    }

    #[test]
    fn run_events_are_in_order_between_the_steps() {
        let t = eventful();
        let order: Vec<String> = t
            .entries
            .iter()
            .map(|e| match e {
                Entry::Run(r) => r.event.to_string(),
                Entry::Step(s) => s.step.clone(),
            })
            .collect();
        assert_eq!(
            order,
            [
                "RunStarted",
                "C16",
                "RunPaused",
                "LockRecovered",
                "RunResumed",
                "C17",
                "DecisionRecorded",
                "EpochStarted",
                "RunSealed"
            ]
        );
        let what = |name: &str| {
            t.entries
                .iter()
                .find_map(|e| match e {
                    Entry::Run(r) if r.event == name => Some(r.what.clone()),
                    _ => None,
                })
                .unwrap()
        };
        assert!(what("RunPaused").contains("interrupted"));
        assert!(what("LockRecovered").contains("pid 10"));
        assert!(what("RunResumed").contains("op2@h2"));
        assert!(what("DecisionRecorded").contains("confirm by op2@h2"));
    }

    #[test]
    fn filters_keep_one_step_or_one_operation() {
        let mut t = eventful();
        t.only_step("C17");
        assert_eq!(t.entries.len(), 1);
        let mut t = eventful();
        t.only_op("p3");
        assert_eq!(t.entries.len(), 1);
        assert_eq!(step(&t, "C16").operations.len(), 1);
        let mut t = eventful();
        t.only_op("nope");
        assert!(t.entries.is_empty());
    }
}
