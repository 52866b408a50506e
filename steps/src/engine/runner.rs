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
//! run together (one operation's life is in `operation.rs`). A group whose
//! steps name dependencies ([`ErasedStep::after`]) runs as a graph instead:
//! each step starts as soon as its dependencies are done and a slot of the
//! sliding window is free ([`run_graph`]). Before any
//! intent the [`Fence`] must still hold (the cluster lease), else the run
//! stops. Compensations, time gates and expansions are in `spans.rs`. A
//! run that stops (an error, a signal) inside a span whose first operation
//! asks for it ([`crate::engine::Effect::compensate_on_stop`]) runs the
//! compensation before it journals the stop.
//!
//! The [`Fence`] is asked right before every effect intent (a batch's, and a
//! retry's); once the run may no longer act, nothing more starts and the run
//! pauses with [`RunOutcome::LeaseLost`] (a wait cut short by the lease's
//! loss, which also cancels the run, is reported the same way).

use std::collections::BTreeSet;
use std::time::Duration;

use journal::event::now_ms;
use journal::{Event, OpId, PauseReason};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::erased::ErasedStep;
use super::operation::run_batch;
use super::progress::Progress;
use super::recorder::Recorder;
use super::retry::RetryPolicy;
use super::spans::{Spans, compensate, expand};
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

    pub(crate) fn undecodable(op: &str, e: String) -> Stop {
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

pub(crate) enum End {
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
    match compensate(&ops.steps, cx, env, Spans::All).await {
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
            return undo_and_stop(ops, cx, env, counts, Stop::Paused("interrupted".into())).await;
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
        if ops.steps[i..j].iter().any(|s| !s.after().is_empty()) {
            let (c, left, s) = run_graph(&ops.steps, i, j, cx, env, width).await;
            counts.done += c.done;
            counts.skipped += c.skipped;
            counts.reobserved += c.reobserved;
            counts.remaining += left;
            stop = s;
            start = j;
        }
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
            return undo_and_stop(ops, cx, env, counts, stop).await;
        }
        // Expansions of this group's operations go right after the group.
        let mut added = Vec::new();
        for k in i..j {
            match expand(ops, k, env).await {
                Ok(mut more) => added.append(&mut more),
                Err(stop) => {
                    counts.remaining += ops.steps.len() - j;
                    return undo_and_stop(ops, cx, env, counts, stop).await;
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

/// Runs steps `i..j` (one group) as a dependency graph: a step starts once
/// every step of the group it names in [`ErasedStep::after`] is done, with at
/// most `width` in flight, each started as soon as a slot and its
/// dependencies allow (a sliding window, not fixed batches; concurrent
/// intents still share the recorder's group commits). A dependency outside
/// the group was done before the group started. After a stop nothing new
/// starts and the steps in flight finish. Returns what ended, how many steps
/// did not (failed or never started), and the first stop.
async fn run_graph<Cx: Send + Sync>(
    steps: &[Box<dyn ErasedStep<Cx>>],
    i: usize,
    j: usize,
    cx: &Cx,
    env: Env<'_>,
    width: usize,
) -> (Counts, usize, Option<Stop>) {
    use futures::StreamExt;
    use futures::stream::FuturesUnordered;
    use std::collections::{BTreeMap, VecDeque};

    let total = steps.len();
    let index: BTreeMap<&str, usize> = (i..j).map(|k| (steps[k].spec().op.0.as_str(), k)).collect();
    let mut waiting: Vec<usize> = vec![0; j - i];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); j - i];
    for k in i..j {
        let mut deps: Vec<usize> = steps[k]
            .after()
            .iter()
            .filter_map(|a| index.get(a.as_str()).copied())
            .filter(|&d| d != k)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        waiting[k - i] = deps.len();
        for d in deps {
            dependents[d - i].push(k);
        }
    }
    let mut ready: VecDeque<usize> = (i..j).filter(|&k| waiting[k - i] == 0).collect();
    let mut counts = Counts::default();
    let mut ended = 0;
    let mut stop: Option<Stop> = None;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while stop.is_none() && in_flight.len() < width {
            if env.cancel.is_cancelled() {
                stop = Some(Stop::Paused("interrupted".into()));
                break;
            }
            let Some(k) = ready.pop_front() else { break };
            in_flight.push(async move {
                let r = run_batch(steps, &steps[k..k + 1], cx, env, k, total).await;
                (k, r.into_iter().next())
            });
        }
        let Some((k, r)) = in_flight.next().await else {
            break;
        };
        match r {
            Some(Ok(end)) => {
                ended += 1;
                match end {
                    End::Done => counts.done += 1,
                    End::Skipped => counts.skipped += 1,
                    End::Reobserved => {
                        counts.reobserved += 1;
                        counts.done += 1;
                    }
                }
                for &d in &dependents[k - i] {
                    waiting[d - i] -= 1;
                    if waiting[d - i] == 0 {
                        ready.push_back(d);
                    }
                }
            }
            Some(Err(s)) => stop = stop.or(Some(s)),
            None => {
                stop = stop.or(Some(Stop::Failed {
                    op: steps[k].spec().op.0.clone(),
                    error: "the engine ran it and got no result back; this is a bug".into(),
                }))
            }
        }
    }
    let left = (j - i) - ended;
    if stop.is_none() && left > 0 {
        let stuck: Vec<&str> = (i..j)
            .filter(|&k| waiting[k - i] > 0)
            .take(5)
            .map(|k| steps[k].spec().op.0.as_str())
            .collect();
        stop = Some(Stop::Failed {
            op: stuck.first().copied().unwrap_or_default().to_string(),
            error: format!(
                "{left} operations wait on each other (a cycle in the plan's dependencies, e.g. {}); this is a bug in the plan",
                stuck.join(", ")
            ),
        });
    }
    (counts, left, stop)
}

/// Runs the compensations of the spans that must not stay open (see
/// [`crate::engine::Effect::compensate_on_stop`]) before the run stops, then
/// journals the stop. Not when the journal failed or the lease is lost (no
/// effect may start then; the resume compensates first), and with a fresh
/// cancellation token (the stop signal that ended the run must not cut the
/// compensation short; a second signal still ends the process). The stop's
/// own reason is kept: a failed compensation is in the journal, and the
/// resume runs it again first.
async fn undo_and_stop<Cx: Send + Sync>(
    ops: &Ops<'_, Cx>,
    cx: &Cx,
    env: Env<'_>,
    mut counts: Counts,
    stop: Stop,
) -> Result<RunSummary, journal::Error> {
    if !matches!(stop, Stop::Journal(_) | Stop::LeaseLost(_)) {
        let fresh = CancellationToken::new();
        let calm = Env {
            cancel: &fresh,
            ..env
        };
        match compensate(&ops.steps, cx, calm, Spans::OnStop).await {
            Ok(n) => counts.compensated += n,
            Err(Stop::Journal(e)) => return Err(e),
            Err(_) => {}
        }
    }
    stopped(env, counts, stop).await
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
