//! The replay itself: the plan made again, then every record in turn, each
//! decision re-derived through the workflow's own step types from the
//! observation the engine journaled before making it.
//!
//! What is compared, per record:
//! * `PlanRecorded`: [`Workflow::plan`] on the journaled discovery and
//!   options must give the recorded plan digest, and [`Workflow::digest`]
//!   the recorded discovery digest;
//! * `OperationIntended`: the observation before it classifies not done (or
//!   pending) against the intent before it, the intent's parameters are the
//!   ones the step derives from that observation, and its attempt number
//!   follows the ones before;
//! * `OperationSkipped`: the observation classifies done;
//! * `OperationReobserved`: the re-observation classifies to the verdict;
//! * `OperationSucceeded` after a look (a re-observation, a retry's look):
//!   the look classifies done; a read-only step's success: its condition is met;
//! * `ConditionObserved`: the condition the step states of the journaled
//!   object is the journaled text; `WaitFinished`: the wait ended as its last
//!   condition says;
//! * `plan-expanded/<op>`: the step plans the same operations from its
//!   journaled outcome;
//! * `EpochStarted`: it follows the epoch before and names the head before it.
//!
//! An event today's code would not have produced from the same inputs is a
//! [`Divergence`]; the walk goes on after one, so the report lists them all.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::rc::Rc;

use journal::{Event, Journal, ReobservedVerdict, Seq, WaitOutcome};
use serde::Serialize;
use serde_json::Value;

use super::state::{OpLine, OpStatus, RunState};
use crate::engine::{ErasedStep, Verdict, WaitState, expansion_key, observation_key, resolve};
use crate::workflow::{Workflow, read_run};

/// Why a journal could not be replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The journal could not be read, or its chain does not verify.
    #[error(transparent)]
    Journal(#[from] journal::Error),
    /// Not a run's journal.
    #[error("replay the journal: it is not a run's journal ({0})")]
    NotARun(String),
    /// No replayer knows the workflow.
    #[error(
        "replay the journal: it records a {name} run, and this ovn-migrate replays only {known}; \
         use the ovn-migrate that made it"
    )]
    UnknownWorkflow { name: String, known: String },
    /// The run could not be loaded (no plan yet, a value that does not decode).
    #[error("replay the journal: {0}")]
    Load(String),
}

/// The planner run again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanCheck {
    pub recorded_plan_digest: String,
    pub rederived_plan_digest: String,
    pub recorded_discovery_digest: String,
    pub rederived_discovery_digest: String,
}

impl PlanCheck {
    /// Returns true when both digests re-derive.
    pub fn matches(&self) -> bool {
        self.recorded_plan_digest == self.rederived_plan_digest
            && self.recorded_discovery_digest == self.rederived_discovery_digest
    }
}

/// A decision the journal records that today's code does not re-derive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The record holding the decision.
    pub seq: Seq,
    /// Its event, e.g. `OperationSkipped`.
    pub event: String,
    /// The operation, wait or plan it is about.
    pub op: String,
    /// What was decided: `plan`, `verdict`, `params`, `attempt`,
    /// `condition`, `wait outcome`, `expansion`, `epoch`, `operation`.
    pub decision: String,
    /// What the journal says.
    pub recorded: String,
    /// What the code derives from the same journaled inputs.
    pub rederived: String,
}

/// Divergences listed in a report at most (the count says how many there were).
pub const MAX_LISTED: usize = 1000;

/// The result of a replay.
#[derive(Clone, Debug, Serialize)]
pub struct Replay {
    pub workflow: String,
    pub run_id: String,
    /// Records replayed (up to the requested one, or all).
    pub records: u64,
    /// The records in the journal.
    pub total_records: u64,
    pub plan: PlanCheck,
    /// Decisions re-derived.
    pub decisions: u64,
    /// How many decisions diverged.
    pub divergence_count: u64,
    /// The divergences in journal order, the first [`MAX_LISTED`] of them
    /// (empty: the run re-derives).
    pub divergences: Vec<Divergence>,
    /// The epoch after the last record replayed, and its reset step.
    pub epoch: u32,
    pub reset_to: Option<String>,
    pub sealed: bool,
    pub paused: Option<String>,
    /// Every operation of the plan (expansions included) and where it stands.
    pub operations: Vec<OpLine>,
}

impl Replay {
    /// Returns the first divergence, if any.
    pub fn first_divergence(&self) -> Option<&Divergence> {
        self.divergences.first()
    }
}

/// Replays the journal of a `W` run up to record `until` (all when `None`).
pub fn replay<W: Workflow>(journal: &Journal, until: Option<Seq>) -> Result<Replay, ReplayError>
where
    W::Error: Display,
{
    // A broken chain is the journal's own error (exit 9), not a failed load.
    if let journal::VerifyStatus::Broken { seq, reason } = journal::verify_journal(journal)?.status
    {
        return Err(journal::Error::Corrupt { seq, reason }.into());
    }
    let run = read_run::<W>(journal.clone()).map_err(|e| ReplayError::Load(e.to_string()))?;
    let steps = run.steps().map_err(|e| ReplayError::Load(e.to_string()))?;
    let order: Vec<(String, String)> = steps
        .iter()
        .map(|s| (s.spec().op.0.clone(), s.spec().step.clone()))
        .collect();
    let by_op: BTreeMap<String, &dyn ErasedStep<W::Cx>> = steps
        .iter()
        .map(|s| (s.spec().op.0.clone(), s.as_ref()))
        .collect();
    // Spans: the compensation of each operation that names one.
    let spans: Vec<(String, String)> = steps
        .iter()
        .filter_map(|s| {
            let c = s.as_effect()?.compensated_by()?;
            Some((s.spec().op.0.clone(), c))
        })
        .collect();

    let plan_json = serde_json::to_vec(&W::plan(&run.discovery, &run.options).map_err(|e| {
        ReplayError::Load(format!(
            "the planner refuses the journaled discovery and options: {e}"
        ))
    })?)
    .map_err(journal::Error::Json)?;
    let mut walk = Walk {
        journal,
        blobs: HashMap::new(),
        by_op,
        state: RunState::default(),
        divergences: Vec::new(),
        diverged: 0,
        decisions: 0,
        spans,
        prev_hash: journal.genesis(),
    };
    let mut plan = PlanCheck {
        recorded_plan_digest: String::new(),
        rederived_plan_digest: blake3::hash(&plan_json).to_hex().to_string(),
        recorded_discovery_digest: String::new(),
        rederived_discovery_digest: W::digest(&run.discovery),
    };
    let (total, _) = journal.head();
    let mut records = 0;
    for r in journal.iter(1) {
        let r = r?;
        if until.is_some_and(|u| r.seq > u) {
            break;
        }
        records = r.seq;
        if let Event::PlanRecorded {
            plan_digest,
            discovery_digest,
            ..
        } = &r.event
            && plan.recorded_plan_digest.is_empty()
        {
            plan.recorded_plan_digest = plan_digest.clone();
            plan.recorded_discovery_digest = discovery_digest.clone();
            walk.decisions += 1;
            if !plan.matches() {
                walk.diverge(
                    r.seq,
                    &r.event,
                    "plan",
                    "plan",
                    format!("plan {plan_digest}, discovery {discovery_digest}"),
                    format!(
                        "plan {}, discovery {}",
                        plan.rederived_plan_digest, plan.rederived_discovery_digest
                    ),
                );
            }
        }
        walk.record(r.seq, &r.event)?;
        walk.prev_hash = r.hash;
    }
    let state = walk.state;
    Ok(Replay {
        workflow: W::NAME.into(),
        run_id: run.run_id.clone(),
        records,
        total_records: total,
        plan,
        decisions: walk.decisions,
        divergence_count: walk.diverged,
        divergences: walk.divergences,
        epoch: state.epoch,
        reset_to: state.reset_to.clone(),
        sealed: state.sealed,
        paused: state.paused.clone(),
        operations: state.lines(&order),
    })
}

/// Parsed blob payloads kept at most (bounds the replay's memory).
const BLOB_CACHE: usize = 64;

struct Walk<'a, Cx> {
    journal: &'a Journal,
    blobs: HashMap<journal::BlobHash, Rc<Value>>,
    by_op: BTreeMap<String, &'a dyn ErasedStep<Cx>>,
    state: RunState,
    divergences: Vec<Divergence>,
    diverged: u64,
    decisions: u64,
    spans: Vec<(String, String)>,
    prev_hash: journal::ChainHash,
}

/// Returns a verdict as text: `done: why`.
fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Done(s) => format!("done: {s}"),
        Verdict::NotDone(s) => format!("not done: {s}"),
        Verdict::Pending(s) => format!("pending: {s}"),
        Verdict::Ambiguous(s) => format!("ambiguous: {s}"),
    }
}

fn reobserved_text(v: ReobservedVerdict) -> &'static str {
    match v {
        ReobservedVerdict::Done => "done",
        ReobservedVerdict::NotDone => "not done",
        ReobservedVerdict::Ambiguous => "ambiguous",
    }
}

fn kind(state: &WaitState) -> &'static str {
    match state {
        WaitState::Met(_) => "met",
        WaitState::Pending(_) => "pending",
        WaitState::Failed(_) => "failed",
    }
}

impl<'a, Cx> Walk<'a, Cx> {
    fn diverge(
        &mut self,
        seq: Seq,
        event: &Event,
        op: &str,
        decision: &str,
        recorded: String,
        rederived: String,
    ) {
        self.diverged += 1;
        if self.divergences.len() >= MAX_LISTED {
            return;
        }
        self.divergences.push(Divergence {
            seq,
            event: event.name().into(),
            op: op.into(),
            decision: decision.into(),
            recorded,
            rederived,
        });
    }

    /// Returns the step of `op`, or records that the plan has none.
    fn step(&mut self, seq: Seq, event: &Event, op: &str) -> Option<&'a dyn ErasedStep<Cx>> {
        if let Some(s) = self.by_op.get(op) {
            return Some(*s);
        }
        self.diverge(
            seq,
            event,
            op,
            "operation",
            format!("{} of operation {op}", event.name()),
            "no such operation in the plan (or its expansions)".into(),
        );
        None
    }

    /// Returns a payload's value; one kept in the blob store is read and
    /// parsed once while it stays in a small cache (blobs are content-addressed).
    fn value(&mut self, doc: &journal::Doc) -> Result<Rc<Value>, ReplayError> {
        let Some(hash) = doc.full_blob() else {
            return Ok(Rc::new(resolve(self.journal, doc)?));
        };
        if let Some(v) = self.blobs.get(&hash) {
            return Ok(v.clone());
        }
        let v = Rc::new(resolve(self.journal, doc)?);
        if self.blobs.len() >= BLOB_CACHE {
            self.blobs.clear();
        }
        self.blobs.insert(hash, v.clone());
        Ok(v)
    }

    /// Classifies `op`'s last look; returns the verdict, or a divergence's text.
    fn classify(&self, op: &str, step: &dyn ErasedStep<Cx>) -> Result<Verdict, String> {
        let Some(eff) = step.as_effect() else {
            return Err("a read-only step, which never intends".into());
        };
        let o = self.state.ops.get(op);
        let Some(live) = o.and_then(|o| o.live.as_deref()) else {
            return Err("no observation journaled before it".into());
        };
        eff.classify(live, o.and_then(|o| o.judging()))
    }

    fn record(&mut self, seq: Seq, event: &Event) -> Result<(), ReplayError> {
        match event {
            Event::ObservationRecorded { key, body } => {
                if let Some(op) = key.strip_prefix(observation_key("").as_str()) {
                    let live = self.value(body)?;
                    let o = self.state.op(op);
                    o.live = Some(live);
                    o.undecided = true;
                    if o.status == OpStatus::NotStarted {
                        o.status = OpStatus::Observed;
                    }
                } else if let Some(op) = journal::epoch::redone(key) {
                    self.state.redo(op);
                } else if let Some(op) = key.strip_prefix(expansion_key("").as_str()) {
                    self.expansion(seq, event, op, body)?;
                }
            }
            Event::OperationIntended {
                op,
                attempt,
                params,
                ..
            } => self.intended(seq, event, &op.0, *attempt, params)?,
            Event::OperationSkipped { op, .. } => {
                let op = op.0.as_str();
                if let Some(step) = self.step(seq, event, op) {
                    self.decisions += 1;
                    match self.classify(op, step) {
                        Ok(v @ Verdict::Done(_)) => drop(v),
                        Ok(v) => self.diverge(
                            seq,
                            event,
                            op,
                            "verdict",
                            "done (skipped, nothing sent)".into(),
                            verdict_text(&v),
                        ),
                        Err(e) => self.diverge(seq, event, op, "verdict", "done".into(), e),
                    }
                }
                let o = self.state.op(op);
                o.status = OpStatus::Skipped;
                o.done_seq = Some(seq);
                o.outcome = None;
                o.undecided = false;
                o.forced = false;
            }
            Event::OperationReobserved {
                op,
                verdict,
                observed,
            } => {
                let op = op.0.as_str();
                let live = self.value(observed)?;
                self.state.op(op).live = Some(live);
                if let Some(step) = self.step(seq, event, op) {
                    self.decisions += 1;
                    let got = self.classify(op, step).map(|v| {
                        let r = match &v {
                            Verdict::Done(_) => ReobservedVerdict::Done,
                            Verdict::NotDone(_) | Verdict::Pending(_) => ReobservedVerdict::NotDone,
                            Verdict::Ambiguous(_) => ReobservedVerdict::Ambiguous,
                        };
                        (r, v)
                    });
                    match got {
                        Ok((r, _)) if r == *verdict => {}
                        Ok((_, v)) => self.diverge(
                            seq,
                            event,
                            op,
                            "verdict",
                            reobserved_text(*verdict).into(),
                            verdict_text(&v),
                        ),
                        Err(e) => self.diverge(
                            seq,
                            event,
                            op,
                            "verdict",
                            reobserved_text(*verdict).into(),
                            e,
                        ),
                    }
                }
                // Its decision is made: the outcome or intent that follows acts on it.
                self.state.op(op).undecided = *verdict != ReobservedVerdict::NotDone;
            }
            Event::OperationSucceeded { op, observed, .. } => {
                let op = op.0.as_str();
                let outcome = self.value(observed)?;
                if let Some(step) = self.step(seq, event, op) {
                    let looked = self.state.ops.get(op).is_some_and(|o| o.undecided);
                    if step.as_effect().is_none() {
                        self.decisions += 1;
                        match step.watch(&outcome) {
                            Ok(Some(WaitState::Met(_))) => {}
                            Ok(s) => self.diverge(
                                seq,
                                event,
                                op,
                                "condition",
                                "met".into(),
                                s.map_or("no condition".into(), |s| {
                                    format!("{}: {}", kind(&s), s.text())
                                }),
                            ),
                            Err(e) => self.diverge(seq, event, op, "condition", "met".into(), e),
                        }
                    } else if looked {
                        // Found done by a look (a re-observation, a retry's look).
                        self.decisions += 1;
                        match self.classify(op, step) {
                            Ok(Verdict::Done(_)) => {}
                            Ok(v) => self.diverge(
                                seq,
                                event,
                                op,
                                "verdict",
                                "done".into(),
                                verdict_text(&v),
                            ),
                            Err(e) => self.diverge(seq, event, op, "verdict", "done".into(), e),
                        }
                    }
                }
                let o = self.state.op(op);
                o.status = OpStatus::Done;
                o.done_seq = Some(seq);
                o.outcome = Some(outcome);
                o.undecided = false;
                o.forced = false;
            }
            Event::OperationFailed { op, .. } => {
                let o = self.state.op(&op.0);
                o.status = OpStatus::Failed;
                o.undecided = false;
            }
            Event::WaitStarted { wait, .. } => {
                let o = self.state.op(wait);
                if o.status != OpStatus::Done && o.status != OpStatus::Skipped {
                    o.status = OpStatus::Waiting;
                }
                o.condition = None;
            }
            Event::ConditionObserved {
                wait,
                condition,
                detail,
            } => self.condition(seq, event, wait, condition, detail)?,
            Event::WaitFinished { wait, outcome } => self.wait_finished(seq, event, wait, *outcome),
            Event::EpochStarted {
                epoch,
                reset_to,
                previous_head,
            } => {
                self.decisions += 1;
                if *epoch != self.state.epoch + 1 {
                    self.diverge(
                        seq,
                        event,
                        reset_to,
                        "epoch",
                        format!("epoch {epoch}"),
                        format!(
                            "epoch {} follows epoch {}",
                            self.state.epoch + 1,
                            self.state.epoch
                        ),
                    );
                }
                if *previous_head != self.prev_hash {
                    self.diverge(
                        seq,
                        event,
                        reset_to,
                        "epoch",
                        format!("previous head {previous_head}"),
                        format!("the head before it is {}", self.prev_hash),
                    );
                }
                self.state.epoch = *epoch;
                self.state.reset_to = Some(reset_to.clone());
                self.state.sealed = false;
            }
            Event::RunPaused { reason } => self.state.paused = Some(reason.describe()),
            Event::RunResumed { .. } => {
                self.state.paused = None;
                self.state.resumes += 1;
                self.owed();
            }
            Event::RunSealed { .. } => self.state.sealed = true,
            _ => {}
        }
        Ok(())
    }

    /// Marks the compensations an execution starting now owes: they are
    /// judged without their old intent, as the engine runs them.
    fn owed(&mut self) {
        for (op, comp) in self.spans.clone() {
            let mine = self.state.ops.get(&op).and_then(|o| o.intent_seq);
            let theirs = self.state.ops.get(&comp).and_then(|o| o.done_seq);
            let owes = match (mine, theirs) {
                (Some(_), None) => true,
                (Some(i), Some(c)) => i > c,
                _ => false,
            };
            if owes {
                self.state.op(&comp).forced = true;
            }
        }
    }

    fn intended(
        &mut self,
        seq: Seq,
        event: &Event,
        op: &str,
        attempt: u32,
        params: &journal::Doc,
    ) -> Result<(), ReplayError> {
        let recorded = self.value(params)?;
        if let Some(step) = self.step(seq, event, op) {
            self.decisions += 1;
            match self.classify(op, step) {
                Ok(Verdict::NotDone(_) | Verdict::Pending(_)) => {}
                Ok(v) => self.diverge(
                    seq,
                    event,
                    op,
                    "verdict",
                    "not done (an intent to act)".into(),
                    verdict_text(&v),
                ),
                Err(e) => self.diverge(seq, event, op, "verdict", "not done".into(), e),
            }
            let live = self.state.ops.get(op).and_then(|o| o.live.clone());
            if let (Some(eff), Some(live)) = (step.as_effect(), live) {
                match eff.params(&live) {
                    Ok(p) if p == *recorded => {}
                    Ok(p) => self.diverge(
                        seq,
                        event,
                        op,
                        "params",
                        recorded.to_string(),
                        p.to_string(),
                    ),
                    Err(e) => self.diverge(seq, event, op, "params", recorded.to_string(), e),
                }
            }
            let want = self.state.ops.get(op).map_or(0, |o| o.attempts) + 1;
            if attempt != want {
                self.diverge(
                    seq,
                    event,
                    op,
                    "attempt",
                    format!("attempt {attempt}"),
                    format!("attempt {want}"),
                );
            }
        }
        let o = self.state.op(op);
        o.attempts += 1;
        o.intent = Some(recorded);
        o.intent_seq = Some(seq);
        o.status = OpStatus::InDoubt;
        o.undecided = false;
        o.forced = false;
        Ok(())
    }

    fn condition(
        &mut self,
        seq: Seq,
        event: &Event,
        wait: &str,
        condition: &journal::Text,
        detail: &journal::Doc,
    ) -> Result<(), ReplayError> {
        let live = self.value(detail)?;
        let text = self.journal.full_text(condition)?;
        let Some(step) = self.step(seq, event, wait) else {
            return Ok(());
        };
        self.decisions += 1;
        let intent = self
            .state
            .ops
            .get(wait)
            .and_then(|o| if o.forced { None } else { o.intent.clone() });
        let got = match step.as_effect() {
            Some(eff) => eff.settle(&live, intent.as_deref()),
            None => step.watch(&live),
        }
        .map(|s| s.unwrap_or(WaitState::Met("nothing to wait for".into())));
        match got {
            Ok(s) if s.text() == text => self.state.op(wait).condition = Some(kind(&s)),
            Ok(s) => {
                self.state.op(wait).condition = Some(kind(&s));
                self.diverge(
                    seq,
                    event,
                    wait,
                    "condition",
                    text,
                    format!("{}: {}", kind(&s), s.text()),
                );
            }
            Err(e) => self.diverge(seq, event, wait, "condition", text, e),
        }
        Ok(())
    }

    fn wait_finished(&mut self, seq: Seq, event: &Event, wait: &str, outcome: WaitOutcome) {
        let last = self.state.ops.get(wait).and_then(|o| o.condition);
        let fits = match (outcome, last) {
            (_, None) => true, // its condition diverged or was not re-derived: reported there
            (WaitOutcome::Met, Some(k)) => k == "met",
            (WaitOutcome::Failed, Some(k)) => k != "met",
            (WaitOutcome::TimedOut | WaitOutcome::Interrupted, Some(k)) => k == "pending",
        };
        self.decisions += 1;
        if !fits {
            self.diverge(
                seq,
                event,
                wait,
                "wait outcome",
                format!("{outcome:?}"),
                format!("its last condition was {}", last.unwrap_or("?")),
            );
        }
        if outcome == WaitOutcome::Met {
            self.state.waits_met.insert(wait.to_string());
        }
    }

    fn expansion(
        &mut self,
        seq: Seq,
        event: &Event,
        op: &str,
        body: &journal::Doc,
    ) -> Result<(), ReplayError> {
        let recorded = self.value(body)?;
        let Some(step) = self.step(seq, event, op) else {
            return Ok(());
        };
        self.decisions += 1;
        let outcome = self.state.ops.get(op).and_then(|o| o.outcome.clone());
        match step.expand(outcome.as_deref().unwrap_or(&Value::Null)) {
            Some(Ok(planned)) if Value::Array(planned.clone()) == *recorded => {}
            Some(Ok(planned)) => self.diverge(
                seq,
                event,
                op,
                "expansion",
                recorded.to_string(),
                Value::Array(planned).to_string(),
            ),
            Some(Err(e)) => self.diverge(seq, event, op, "expansion", recorded.to_string(), e),
            None => self.diverge(
                seq,
                event,
                op,
                "expansion",
                recorded.to_string(),
                "the step plans nothing from its outcome".into(),
            ),
        }
        Ok(())
    }
}
