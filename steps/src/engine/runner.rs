//! The runner: takes a plan's steps in order and gives each the journal's
//! promises (intent before effect, resume without double effects).
//!
//! Before anything else it runs the compensations of spans left open (an
//! operation done whose undoing operation is not, see
//! [`crate::engine::Effect::compensated_by`]). Then, for every step, it asks
//! the journal's index what is known:
//! * done: skipped (an effect step still re-checks its settle condition,
//!   which is read-only);
//! * in doubt (intent, no outcome): re-observed, the verdict journaled with
//!   the observation, then done → outcome recorded; not done → acted on again
//!   as the same operation; pending → looked at again until the grace period
//!   ends; ambiguous → the run stops for the operator with both sides shown;
//! * otherwise: observed (journaled); already done → `OperationSkipped`
//!   (nothing sent); else intent (durable) → effect → outcome, retrying per
//!   the policy and re-observing before each retry.
//!
//! Consecutive steps of one group run as batches of at most
//! [`Timing::concurrency`]: every step of a batch observes and decides, the
//! batch's intents are made durable with one group commit, then the effects
//! run together. Before any intent the [`Fence`] must still hold (the cluster
//! lease), else the run stops. A step with a [`Gate`] waits behind it; a step
//! that expands the plan has its expansion journaled once and inserted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use journal::event::now_ms;
use journal::{Event, OpId, OpState, PauseReason, ReobservedVerdict};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::erased::{ErasedStep, Patience};
use super::progress::{Progress, ProgressEvent};
use super::recorder::Recorder;
use super::retry::RetryPolicy;
use super::step::{Gate, StepError, Verdict};
use super::wait::wait_for;
use crate::kube::lease::Fence;

/// How long the engine waits and retries, and how much runs at once.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Interval between polls of a waited-for condition.
    pub poll: Duration,
    /// Longest wait for one condition before the run pauses.
    pub wait_timeout: Duration,
    /// How long an in-doubt operation whose effect may be under way is
    /// watched before it is judged not done.
    pub in_doubt_grace: Duration,
    /// Retries of failed calls.
    pub retry: RetryPolicy,
    /// Operations of one group in flight at once (at least 1).
    pub concurrency: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(3600),
            in_doubt_grace: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            concurrency: 16,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every step is done.
    Completed,
    /// Stopped cleanly (a signal, a wait timed out); resume continues.
    Paused { reason: String },
    /// A step waits behind its time gate; resume after `until_ms`.
    Gated { op: String, until_ms: i64 },
    /// The guard (the cluster lease) could no longer be proven before an effect.
    LeaseLost { reason: String },
    /// An in-doubt operation could not be classified: the operator decides.
    NeedsOperator {
        op: String,
        detail: String,
        live: Value,
    },
    /// A check did not pass (e.g. a precheck).
    CheckFailed { op: String, detail: String },
    /// An operation failed for good.
    Failed { op: String, error: String },
}

/// What happened to the operations of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Acted on (or waited for) in this run.
    pub done: usize,
    /// Found done already (in the journal or in the cluster).
    pub skipped: usize,
    /// In-doubt operations re-observed in this run.
    pub reobserved: usize,
    /// Compensations run first, for spans a previous run left open.
    pub compensated: usize,
    /// Not reached.
    pub remaining: usize,
}

/// The result of [`run`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    pub outcome: RunOutcome,
    pub counts: Counts,
}

/// Where the time comes from (time gates), so tests can move it.
pub trait Clock: Send + Sync {
    /// Returns milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// Why a step stopped the run.
#[derive(Debug)]
pub(crate) enum Stop {
    Paused(String),
    Gated {
        op: String,
        until_ms: i64,
    },
    LeaseLost(String),
    NeedsOperator {
        op: String,
        detail: String,
        live: Value,
    },
    CheckFailed {
        op: String,
        detail: String,
    },
    Failed {
        op: String,
        error: String,
    },
    Journal(journal::Error),
}

impl Stop {
    pub(crate) fn journal(e: journal::Error) -> Stop {
        Stop::Journal(e)
    }

    fn undecodable(op: &str, e: String) -> Stop {
        Stop::Failed {
            op: op.to_string(),
            error: format!(
                "{e} (a journaled value does not fit the step: a bug, or a journal of another version)"
            ),
        }
    }
}

/// What every step of a run shares.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub rec: &'a Recorder,
    pub timing: &'a Timing,
    pub cancel: &'a CancellationToken,
    pub progress: &'a dyn Progress,
    /// Asked before every effect's intent: is the cluster lease still provably ours?
    pub guard: &'a dyn Fence,
    pub clock: &'a dyn Clock,
    /// Run read-only steps again although the journal has them done (a run
    /// with no effect yet: its checks must hold now, not when first run).
    pub recheck_reads: bool,
}

/// Builds a step from its serialised operation (the workflow's; used for expansions).
pub type MakeStep<'a, Cx> = &'a (dyn Fn(&Value) -> Result<Box<dyn ErasedStep<Cx>>, String> + Sync);

/// A plan as the runner holds it: its steps, the operations already
/// expanded (per the journal), and how to build expanded operations.
pub struct Ops<'a, Cx> {
    pub steps: Vec<Box<dyn ErasedStep<Cx>>>,
    pub expanded: BTreeSet<String>,
    pub make: MakeStep<'a, Cx>,
}

/// The journal key under which an operation's expansion is recorded.
pub fn expansion_key(op: &str) -> String {
    format!("plan-expanded/{op}")
}

enum End {
    Done,
    Skipped,
    Reobserved,
}

/// Runs the plan's steps in order; consecutive steps of one group run in
/// batches of at most `timing.concurrency`. Returns how the run ended;
/// journal failures are errors.
pub async fn run<Cx: Send + Sync>(
    ops: &mut Ops<'_, Cx>,
    cx: &Cx,
    env: Env<'_>,
) -> Result<RunSummary, journal::Error> {
    let mut counts = Counts::default();
    match compensate(&ops.steps, cx, env).await {
        Ok(n) => counts.compensated = n,
        Err(stop) => {
            counts.remaining = ops.steps.len();
            return stopped(env, counts, stop).await;
        }
    }
    let mut i = 0;
    while i < ops.steps.len() {
        if env.cancel.is_cancelled() {
            counts.remaining = ops.steps.len() - i;
            return stopped(env, counts, Stop::Paused("interrupted".into())).await;
        }
        let group = ops.steps[i].group();
        let mut j = i + 1;
        while group.is_some() && j < ops.steps.len() && ops.steps[j].group() == group {
            j += 1;
        }
        let total = ops.steps.len();
        let width = env.timing.concurrency.max(1);
        let mut stop = None;
        let mut start = i;
        while start < j && stop.is_none() {
            let end = (start + width).min(j);
            let batch = &ops.steps[start..end];
            for r in run_batch(&ops.steps, batch, cx, env, start, total).await {
                match r {
                    Ok(End::Done) => counts.done += 1,
                    Ok(End::Skipped) => counts.skipped += 1,
                    Ok(End::Reobserved) => {
                        counts.reobserved += 1;
                        counts.done += 1;
                    }
                    Err(s) => {
                        counts.remaining += 1;
                        stop = stop.or(Some(s));
                    }
                }
            }
            start = end;
        }
        if let Some(stop) = stop {
            counts.remaining += ops.steps.len() - start;
            return stopped(env, counts, stop).await;
        }
        // Expansions of this group's operations go right after the group.
        let mut added = Vec::new();
        for k in i..j {
            match expand(ops, k, env).await {
                Ok(mut more) => added.append(&mut more),
                Err(stop) => {
                    counts.remaining += ops.steps.len() - j;
                    return stopped(env, counts, stop).await;
                }
            }
        }
        ops.steps.splice(j..j, added);
        i = j;
    }
    Ok(RunSummary {
        outcome: RunOutcome::Completed,
        counts,
    })
}

/// Journals how the run stopped and returns the summary (journal failures are errors).
async fn stopped(env: Env<'_>, counts: Counts, stop: Stop) -> Result<RunSummary, journal::Error> {
    let outcome = match stop {
        Stop::Journal(e) => return Err(e),
        // A wait cut short by the lease's loss (it cancels the run) is that loss.
        Stop::Paused(reason) => match env.guard.ensure_held() {
            Err(lost) => RunOutcome::LeaseLost {
                reason: format!("lease lost: {lost}"),
            },
            Ok(()) => RunOutcome::Paused { reason },
        },
        Stop::Gated { op, until_ms } => RunOutcome::Gated { op, until_ms },
        Stop::LeaseLost(reason) => RunOutcome::LeaseLost { reason },
        Stop::NeedsOperator { op, detail, live } => RunOutcome::NeedsOperator { op, detail, live },
        Stop::CheckFailed { op, detail } => RunOutcome::CheckFailed { op, detail },
        Stop::Failed { op, error } => RunOutcome::Failed { op, error },
    };
    let reason = pause_reason(env, &outcome)?;
    env.rec.append(Event::RunPaused { reason }).await?;
    Ok(RunSummary { outcome, counts })
}

/// Returns how the journal records a stop.
fn pause_reason(env: Env<'_>, outcome: &RunOutcome) -> Result<PauseReason, journal::Error> {
    let t = |s: &str| env.rec.text(s);
    Ok(match outcome {
        RunOutcome::Completed => PauseReason::Stopped {
            detail: t("completed")?,
        },
        RunOutcome::Paused { reason } if reason == "interrupted" => PauseReason::Interrupted,
        RunOutcome::Paused { reason } => PauseReason::Stopped { detail: t(reason)? },
        RunOutcome::Gated { op, until_ms } => PauseReason::Stopped {
            detail: t(&format!(
                "{op} is gated until {until_ms} (ms since the epoch)"
            ))?,
        },
        RunOutcome::LeaseLost { reason } => PauseReason::Stopped { detail: t(reason)? },
        RunOutcome::NeedsOperator { op, detail, live } => PauseReason::NeedsOperator {
            op: OpId(op.clone()),
            detail: t(detail)?,
            live: env.rec.payload(live)?,
        },
        RunOutcome::CheckFailed { op, detail } => PauseReason::CheckFailed {
            op: OpId(op.clone()),
            detail: t(detail)?,
        },
        RunOutcome::Failed { op, error } => PauseReason::Failed {
            op: OpId(op.clone()),
            error: t(error)?,
        },
    })
}

fn state_of(env: Env<'_>, op: &OpId) -> Result<OpState, Stop> {
    Ok(env
        .rec
        .journal()
        .op_state(op)
        .map_err(Stop::Journal)?
        .unwrap_or_default())
}

/// The journal key that records that `op`'s effect was undone by its compensation.
pub fn compensated_key(op: &str) -> String {
    format!("compensated/{op}")
}

/// Returns whether a compensation of `op` was journaled after record `after`.
fn compensated_after(env: Env<'_>, op: &str, after: u64) -> Result<bool, Stop> {
    let key = compensated_key(op);
    for r in env.rec.journal().iter(after + 1) {
        if let Event::ObservationRecorded { key: k, .. } = r.map_err(Stop::Journal)?.event
            && k == key
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Returns whether the compensation `comp` of `state` is owed: the
/// compensated op has an intent newer than the compensation's last success.
fn owes(state: &OpState, comp: &OpState) -> bool {
    match (state.intent, comp.outcome.filter(|_| comp.done)) {
        (Some(_), None) => true,
        (Some(i), Some(c)) => i > c,
        _ => false,
    }
}

/// Returns whether a step counts as done: its last outcome is a success or
/// skip, no compensation undid it since, and (for a compensation) every
/// operation it undoes has acted no later than it.
fn effectively_done<Cx>(
    step: &dyn ErasedStep<Cx>,
    state: &OpState,
    env: Env<'_>,
    compensates: &[String],
) -> Result<bool, Stop> {
    if !state.done {
        return Ok(false);
    }
    if step.as_effect().and_then(|e| e.compensated_by()).is_some()
        && compensated_after(env, &step.spec().op.0, state.outcome.unwrap_or(0))?
    {
        return Ok(false);
    }
    for a in compensates {
        if owes(&state_of(env, &OpId(a.clone()))?, state) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs first the compensations of spans a previous run left open; returns how many ran.
async fn compensate<Cx: Send + Sync>(
    steps: &[Box<dyn ErasedStep<Cx>>],
    cx: &Cx,
    env: Env<'_>,
) -> Result<usize, Stop> {
    let mut n = 0;
    for s in steps {
        let Some(comp_id) = s.as_effect().and_then(|e| e.compensated_by()) else {
            continue;
        };
        let Some(comp) = steps.iter().find(|c| c.spec().op.0 == comp_id) else {
            return Err(Stop::Failed {
                op: s.spec().op.0.clone(),
                error: format!("its compensation {comp_id} is not in the plan"),
            });
        };
        let mine = state_of(env, &s.spec().op)?;
        let theirs = state_of(env, &comp.spec().op)?;
        if owes(&mine, &theirs) {
            run_one(comp.as_ref(), cx, env, 0, steps.len(), Force::Again).await?;
            // The span is undone: its first operation runs again.
            env.rec
                .observe(
                    &compensated_key(&s.spec().op.0),
                    &serde_json::json!({ "by": comp_id }),
                )
                .await
                .map_err(Stop::Journal)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Journals and builds the expansion of step `k`, once; returns the new steps.
async fn expand<Cx: Send + Sync>(
    ops: &mut Ops<'_, Cx>,
    k: usize,
    env: Env<'_>,
) -> Result<Vec<Box<dyn ErasedStep<Cx>>>, Stop> {
    let step = &ops.steps[k];
    let name = step.spec().op.0.clone();
    if ops.expanded.contains(&name) {
        return Ok(Vec::new());
    }
    let state = state_of(env, &step.spec().op)?;
    // The expansion is made from the outcome as journaled, so a run that died
    // between the outcome and the expansion makes the same one on resume.
    let outcome = match state.outcome.filter(|_| state.done) {
        Some(seq) => env.rec.outcome_payload(seq).await.map_err(Stop::Journal)?,
        None => return Ok(Vec::new()),
    };
    let Some(planned) = step.expand(&outcome) else {
        return Ok(Vec::new());
    };
    let planned = planned.map_err(|e| Stop::Failed {
        op: name.clone(),
        error: format!("plan the operations that follow from it: {e}"),
    })?;
    let mut built = Vec::new();
    for v in &planned {
        built.push((ops.make)(v).map_err(|e| Stop::undecodable(&name, e))?);
    }
    env.rec
        .observe(&expansion_key(&name), &Value::Array(planned))
        .await
        .map_err(Stop::Journal)?;
    ops.expanded.insert(name);
    Ok(built)
}

/// What phase 1 of a batch left to do for one step.
enum Prepared {
    Finished(End),
    Act {
        live: Value,
        attempt: u32,
        reobserved: bool,
    },
}

/// Whether a done operation is looked at again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Force {
    /// As the journal says.
    No,
    /// Run it again although it is done (a compensation owed).
    Again,
}

async fn run_batch<Cx: Send + Sync>(
    all: &[Box<dyn ErasedStep<Cx>>],
    batch: &[Box<dyn ErasedStep<Cx>>],
    cx: &Cx,
    env: Env<'_>,
    first: usize,
    total: usize,
) -> Vec<Result<End, Stop>> {
    // Phase 1: every step observes and decides; read-only ones finish here.
    let prepared = join_all(batch.iter().enumerate().map(|(k, s)| {
        let name = &s.spec().op.0;
        let undoes: Vec<String> = all
            .iter()
            .filter(|o| o.as_effect().and_then(|e| e.compensated_by()).as_ref() == Some(name))
            .map(|o| o.spec().op.0.clone())
            .collect();
        async move {
            prepare(
                s.as_ref(),
                &undoes,
                cx,
                env,
                first + k + 1,
                total,
                Force::No,
            )
            .await
        }
    }))
    .await;
    // Phase 2: the intents of the steps that act, in one group commit.
    let mut acting = Vec::new();
    let mut results: Vec<Option<Result<End, Stop>>> = Vec::new();
    for (k, p) in prepared.into_iter().enumerate() {
        match p {
            Ok(Prepared::Finished(end)) => results.push(Some(Ok(end))),
            Err(stop) => results.push(Some(Err(stop))),
            Ok(Prepared::Act {
                live,
                attempt,
                reobserved,
            }) => {
                results.push(None);
                acting.push((k, live, attempt, reobserved));
            }
        }
    }
    if acting.is_empty() {
        return results.into_iter().map(Option::unwrap).collect();
    }
    let intents = acting
        .iter()
        .map(|(k, live, attempt, _)| intent_event(env.rec, batch[*k].as_ref(), live, *attempt + 1))
        .collect::<Result<Vec<_>, Stop>>();
    let committed = match intents {
        Err(stop) => Err(stop),
        Ok(intents) => match env.guard.ensure_held() {
            Err(lost) => Err(Stop::LeaseLost(format!("lease lost: {lost}"))),
            Ok(()) => {
                let params: Vec<Value> = intents.iter().map(|(_, p)| p.clone()).collect();
                env.rec
                    .append_all(intents.into_iter().map(|(e, _)| e).collect())
                    .await
                    .map(|_| params)
                    .map_err(Stop::Journal)
            }
        },
    };
    let params = match committed {
        Ok(p) => p,
        Err(stop) => {
            let mut first_stop = Some(stop);
            for (k, ..) in &acting {
                results[*k] = Some(Err(first_stop
                    .take()
                    .unwrap_or(Stop::Paused("stopped with the rest of its batch".into()))));
            }
            return results.into_iter().map(Option::unwrap).collect();
        }
    };
    // Phase 3: the effects, together.
    let done = join_all(acting.iter().zip(params).map(|((k, _, attempt, reob), p)| {
        let step = batch[*k].as_ref();
        async move { (*k, act_loop(step, cx, env, *attempt + 1, p, *reob).await) }
    }))
    .await;
    for (k, r) in done {
        results[k] = Some(r);
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// Returns the intent event for `step` acting on `live` as `attempt`, with its parameters.
fn intent_event<Cx>(
    rec: &Recorder,
    step: &dyn ErasedStep<Cx>,
    live: &Value,
    attempt: u32,
) -> Result<(Event, Value), Stop> {
    let spec = step.spec();
    let eff = step.as_effect().expect("only effects act");
    let params = eff
        .params(live)
        .map_err(|e| Stop::undecodable(&spec.op.0, e))?;
    let event = Event::OperationIntended {
        op: spec.op.clone(),
        step: spec.step.clone(),
        action: spec.action.clone(),
        target: spec.target.clone(),
        idempotency_key: spec.idempotency_key.clone(),
        attempt,
        params: rec.payload(&params).map_err(Stop::Journal)?,
    };
    Ok((event, params))
}

/// Runs one step to its end alone (compensations, tests).
async fn run_one<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
    index: usize,
    total: usize,
    force: Force,
) -> Result<End, Stop> {
    match prepare(step, &[], cx, env, index, total, force).await? {
        Prepared::Finished(end) => Ok(end),
        Prepared::Act {
            live,
            attempt,
            reobserved,
        } => {
            if let Err(lost) = env.guard.ensure_held() {
                return Err(Stop::LeaseLost(format!("lease lost: {lost}")));
            }
            let (event, params) = intent_event(env.rec, step, &live, attempt + 1)?;
            env.rec.append(event).await.map_err(Stop::Journal)?;
            act_loop(step, cx, env, attempt + 1, params, reobserved).await
        }
    }
}

/// Returns the parameters of the last intent of `state`, if any.
async fn recorded_intent(env: Env<'_>, state: &OpState) -> Result<Option<Value>, Stop> {
    let Some(seq) = state.intent else {
        return Ok(None);
    };
    match env
        .rec
        .journal()
        .read(seq)
        .map_err(Stop::Journal)?
        .map(|r| r.event)
    {
        Some(Event::OperationIntended { params, .. }) => Ok(Some(
            super::recorder::resolve(env.rec.journal(), &params).map_err(Stop::Journal)?,
        )),
        _ => Ok(None),
    }
}

/// Returns when the gate opens (ms since the epoch), if it is closed now.
fn gate_closed(env: Env<'_>, gate: &Gate) -> Result<Option<i64>, Stop> {
    let wait_ms = gate.wait.as_millis() as i64;
    let state = state_of(env, &OpId(gate.after.clone()))?;
    let Some(seq) = state.outcome.filter(|_| state.done) else {
        // The gate's event has not happened: the gate cannot open yet.
        return Ok(Some(i64::MAX));
    };
    let at = env
        .rec
        .journal()
        .read(seq)
        .map_err(Stop::Journal)?
        .map(|r| r.at_ms)
        .unwrap_or(i64::MAX);
    let until = at.saturating_add(wait_ms);
    Ok((env.clock.now_ms() < until).then_some(until))
}

#[allow(clippy::too_many_arguments)]
async fn prepare<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    compensates: &[String],
    cx: &Cx,
    env: Env<'_>,
    index: usize,
    total: usize,
    force: Force,
) -> Result<Prepared, Stop> {
    let Env { rec, progress, .. } = env;
    let spec = step.spec();
    let op = spec.op.clone();
    let name = op.0.clone();
    progress.on(&ProgressEvent::Started {
        op: name.clone(),
        step: spec.step.clone(),
        action: spec.action.clone(),
        index,
        total,
    });
    let finished = |result| {
        progress.on(&ProgressEvent::Finished {
            op: name.clone(),
            result,
        })
    };
    let state = state_of(env, &op)?;
    let done = force == Force::No && effectively_done(step, &state, env, compensates)?;
    if !done
        && let Some(gate) = step.gate()
        && let Some(until_ms) = gate_closed(env, &gate)?
    {
        return Err(Stop::Gated { op: name, until_ms });
    }

    let Some(eff) = step.as_effect() else {
        if done && !env.recheck_reads {
            finished("skipped");
            return Ok(Prepared::Finished(End::Skipped));
        }
        let started = Instant::now();
        let patience = step.patience();
        let met = wait_for(step, cx, env, patience, &|live: &Value| step.watch(live)).await?;
        let observed = rec.payload(&met).map_err(Stop::Journal)?;
        rec.append(Event::OperationSucceeded {
            op,
            attempt: 0,
            http_status: None,
            observed,
            duration_ms: started.elapsed().as_millis() as u64,
        })
        .await
        .map_err(Stop::Journal)?;
        finished("done");
        return Ok(Prepared::Finished(End::Done));
    };

    let intent = recorded_intent(env, &state).await?;
    if done {
        // Settle again only if it was interrupted: a later step may have
        // undone a condition this one waited for (M11 removes what M3 awaited).
        if rec
            .journal()
            .wait_met(&name)
            .map_err(Stop::Journal)?
            .is_none()
        {
            let live = observe_retrying(step, cx, env).await?;
            settle(step, cx, env, &live, intent.as_ref()).await?;
        }
        finished("skipped");
        return Ok(Prepared::Finished(End::Skipped));
    }

    let attempt = state.attempts;
    // A forced run (a compensation owed) is judged afresh, without the old intent.
    let in_doubt = state.in_doubt() && force == Force::No;
    let judged_intent = if force == Force::Again { None } else { intent };
    let (verdict, live) = judge(eff, step, cx, env, judged_intent.as_ref()).await?;
    if in_doubt {
        let v = match &verdict {
            Verdict::Done(_) => ReobservedVerdict::Done,
            Verdict::NotDone(_) | Verdict::Pending(_) => ReobservedVerdict::NotDone,
            Verdict::Ambiguous(_) => ReobservedVerdict::Ambiguous,
        };
        let observed = rec.payload(&live).map_err(Stop::Journal)?;
        rec.append(Event::OperationReobserved {
            op: op.clone(),
            verdict: v,
            observed,
        })
        .await
        .map_err(Stop::Journal)?;
    } else {
        rec.observe(&observation_key(&name), &live)
            .await
            .map_err(Stop::Journal)?;
    }
    match verdict {
        Verdict::Done(why) => {
            let event = if in_doubt {
                Event::OperationSucceeded {
                    op,
                    attempt,
                    http_status: None,
                    observed: rec.payload(&live).map_err(Stop::Journal)?,
                    duration_ms: 0,
                }
            } else {
                Event::OperationSkipped {
                    op,
                    reason: rec.text(&why).map_err(Stop::Journal)?,
                }
            };
            rec.append(event).await.map_err(Stop::Journal)?;
            settle(step, cx, env, &live, judged_intent.as_ref()).await?;
            finished(if in_doubt { "done" } else { "skipped" });
            Ok(Prepared::Finished(if in_doubt {
                End::Reobserved
            } else {
                End::Skipped
            }))
        }
        Verdict::Ambiguous(detail) => Err(Stop::NeedsOperator {
            op: name,
            detail,
            live,
        }),
        Verdict::NotDone(_) | Verdict::Pending(_) => {
            if env.cancel.is_cancelled() {
                return Err(Stop::Paused("interrupted".into()));
            }
            Ok(Prepared::Act {
                live,
                attempt,
                reobserved: in_doubt,
            })
        }
    }
}

/// The journal key of the observation an effect step's decision was made on.
pub fn observation_key(op: &str) -> String {
    format!("observed/{op}")
}

/// Acts (its intent is durable), records the outcome, retries per the policy.
async fn act_loop<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
    mut attempt: u32,
    mut params: Value,
    reobserved: bool,
) -> Result<End, Stop> {
    let Env {
        rec,
        timing,
        cancel,
        progress,
        ..
    } = env;
    let eff = step.as_effect().expect("only effects act");
    let spec = step.spec();
    let op = spec.op.clone();
    let name = op.0.clone();
    let mut tries = 0;
    let live = loop {
        tries += 1;
        let started = Instant::now();
        let result = eff.act(cx, &params).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let err = match result {
            Ok(applied) => {
                rec.append(Event::OperationSucceeded {
                    op: op.clone(),
                    attempt,
                    http_status: applied.http_status,
                    observed: rec.payload(&applied.observed).map_err(Stop::Journal)?,
                    duration_ms,
                })
                .await
                .map_err(Stop::Journal)?;
                break None;
            }
            Err(e) => e,
        };
        rec.append(Event::OperationFailed {
            op: op.clone(),
            attempt,
            http_status: err.http_status,
            error: rec.text(&err.message).map_err(Stop::Journal)?,
            retryable: err.retryable,
            duration_ms,
        })
        .await
        .map_err(Stop::Journal)?;
        let Some(delay) = timing.retry.next_delay(tries, &err, &name) else {
            return Err(Stop::Failed {
                op: name,
                error: err.message,
            });
        };
        progress.on(&ProgressEvent::Retrying {
            op: name.clone(),
            attempt,
            error: err.message.clone(),
            delay_ms: delay.as_millis() as u64,
        });
        sleep_or_cancel(delay, cancel).await?;
        // The failed call may have landed (a timeout, a dropped connection): look first.
        let (verdict, live) = judge(eff, step, cx, env, Some(&params)).await?;
        rec.observe(&observation_key(&name), &live)
            .await
            .map_err(Stop::Journal)?;
        match verdict {
            Verdict::Done(_) => {
                rec.append(Event::OperationSucceeded {
                    op: op.clone(),
                    attempt,
                    http_status: None,
                    observed: rec.payload(&live).map_err(Stop::Journal)?,
                    duration_ms: 0,
                })
                .await
                .map_err(Stop::Journal)?;
                break Some(live);
            }
            Verdict::Ambiguous(detail) => {
                return Err(Stop::NeedsOperator {
                    op: name,
                    detail,
                    live,
                });
            }
            Verdict::NotDone(_) | Verdict::Pending(_) => {
                if cancel.is_cancelled() {
                    return Err(Stop::Paused("interrupted".into()));
                }
                if let Err(lost) = env.guard.ensure_held() {
                    return Err(Stop::LeaseLost(format!("lease lost: {lost}")));
                }
                attempt += 1;
                let (event, p) = intent_event(rec, step, &live, attempt)?;
                rec.append(event).await.map_err(Stop::Journal)?;
                params = p;
            }
        }
    };
    let live = match live {
        Some(l) => l,
        None => observe_retrying(step, cx, env).await?,
    };
    settle(step, cx, env, &live, Some(&params)).await?;
    progress.on(&ProgressEvent::Finished {
        op: name,
        result: "done",
    });
    Ok(if reobserved {
        End::Reobserved
    } else {
        End::Done
    })
}

/// Waits for an effect's settle condition, when it has one.
async fn settle<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
    live: &Value,
    intent: Option<&Value>,
) -> Result<(), Stop> {
    let eff = step.as_effect().expect("only effects settle");
    let name = &step.spec().op.0;
    if eff
        .settle(live, intent)
        .map_err(|e| Stop::undecodable(name, e))?
        .is_none()
    {
        return Ok(());
    }
    wait_for(step, cx, env, Patience::Poll, &|l: &Value| {
        eff.settle(l, intent)
    })
    .await
    .map(|_| ())
}

/// Observes and classifies; a pending verdict is looked at again until the
/// in-doubt grace period ends, then counts as not done.
async fn judge<Cx: Send + Sync>(
    eff: &dyn super::erased::ErasedEffect<Cx>,
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
    intent: Option<&Value>,
) -> Result<(Verdict, Value), Stop> {
    let Env { timing, cancel, .. } = env;
    let deadline = Instant::now() + timing.in_doubt_grace;
    loop {
        let live = observe_retrying(step, cx, env).await?;
        let verdict = eff
            .classify(&live, intent)
            .map_err(|e| Stop::undecodable(&step.spec().op.0, e))?;
        if !matches!(verdict, Verdict::Pending(_)) || Instant::now() >= deadline {
            return Ok((verdict, live));
        }
        sleep_or_cancel(timing.poll, cancel).await?;
    }
}

/// Observes, retrying retryable failures per the policy.
pub(crate) async fn observe_retrying<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
) -> Result<Value, Stop> {
    let Env {
        timing,
        cancel,
        progress,
        ..
    } = env;
    let name = step.spec().op.0.clone();
    let mut tries = 0;
    loop {
        tries += 1;
        let err: StepError = match step.observe(cx).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(delay) = timing.retry.next_delay(tries, &err, &name) else {
            return Err(Stop::Failed {
                op: name,
                error: format!("observe: {}", err.message),
            });
        };
        progress.on(&ProgressEvent::Retrying {
            op: name.clone(),
            attempt: tries,
            error: format!("observe: {}", err.message),
            delay_ms: delay.as_millis() as u64,
        });
        sleep_or_cancel(delay, cancel).await?;
    }
}

pub(crate) async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> Result<(), Stop> {
    tokio::select! {
        _ = tokio::time::sleep(d) => Ok(()),
        _ = cancel.cancelled() => Err(Stop::Paused("interrupted".into())),
    }
}
