//! The runner: takes a plan's steps in order and gives each the journal's
//! promises (intent before effect, resume without double effects).
//!
//! For every step it first asks the journal's index what is known:
//! * done: skipped (an effect step still re-checks its settle condition,
//!   which is read-only);
//! * in doubt (intent, no outcome): re-observed, the verdict journaled, then
//!   done → outcome recorded; not done → acted on again as the same
//!   operation; pending → looked at again until the grace period ends;
//!   ambiguous → the run stops for the operator with both sides shown;
//! * otherwise: observed; already done → `OperationSkipped` (nothing sent);
//!   else intent (durable) → effect → outcome, retrying per the policy and
//!   re-observing before each retry, since a timed-out call may have landed.
//!
//! [`run_fenced`] asks its [`Fence`] (the cluster lease) right before every
//! effect intent; once the run may no longer act, nothing more starts and
//! the run pauses with [`RunOutcome::LeaseLost`] (a wait cut short by the
//! lease's loss, which also cancels the run, is reported the same way).

use std::time::{Duration, Instant};

use futures::future::join_all;
use journal::event::now_ms;
use journal::{Event, Json, ReobservedVerdict};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::progress::{Progress, ProgressEvent};
use super::recorder::Recorder;
use super::retry::RetryPolicy;
use super::step::{Step, StepError, StepKind, Verdict};
use super::wait::{Patience, wait_for};
use crate::kube::lease::{Fence, LeaseLost, NoFence};

/// How long the engine waits and retries.
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
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(3600),
            in_doubt_grace: Duration::from_secs(120),
            retry: RetryPolicy::default(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every step is done.
    Completed,
    /// Stopped cleanly (Ctrl-C, a wait timed out, the lease was lost); resume continues.
    Paused { reason: String },
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
    /// The cluster lease was lost: nothing more was started; resume once it is ours again.
    LeaseLost { reason: String },
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
    /// Not reached.
    pub remaining: usize,
}

/// The result of [`run`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    pub outcome: RunOutcome,
    pub counts: Counts,
}

/// Why a step stopped the run.
#[derive(Debug)]
pub(crate) enum Stop {
    Paused(String),
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
    LeaseLost(LeaseLost),
}

impl Stop {
    pub(crate) fn journal(e: journal::Error) -> Stop {
        Stop::Journal(e)
    }
}

/// What every step of a run shares: the journal, timing, cancellation, progress.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub rec: &'a Recorder,
    pub timing: &'a Timing,
    pub cancel: &'a CancellationToken,
    pub progress: &'a dyn Progress,
    pub fence: &'a dyn Fence,
}

enum End {
    Done,
    Skipped,
    Reobserved,
}

/// Runs `steps` in order; consecutive steps of one group run concurrently.
/// Returns how the run ended; journal failures are errors.
pub async fn run<S: Step>(
    steps: &[S],
    cx: &S::Cx,
    rec: &Recorder,
    timing: &Timing,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> Result<RunSummary, journal::Error> {
    run_fenced(steps, cx, rec, timing, cancel, progress, &NoFence).await
}

/// Runs `steps` as [`run`] does, asking `fence` before every effect intent:
/// once it says the run may no longer act (the cluster lease was lost),
/// nothing more is started and the run pauses with [`RunOutcome::LeaseLost`].
pub async fn run_fenced<S: Step>(
    steps: &[S],
    cx: &S::Cx,
    rec: &Recorder,
    timing: &Timing,
    cancel: &CancellationToken,
    progress: &dyn Progress,
    fence: &dyn Fence,
) -> Result<RunSummary, journal::Error> {
    let env = Env {
        rec,
        timing,
        cancel,
        progress,
        fence,
    };
    let total = steps.len();
    let mut counts = Counts::default();
    let mut i = 0;
    while i < total {
        if cancel.is_cancelled() {
            counts.remaining = total - i;
            return match fence.ensure_held() {
                Err(lost) => lease_lost(rec, counts, lost).await,
                Ok(()) => pause(rec, counts, "interrupted".into()).await,
            };
        }
        let group = steps[i].group();
        let mut j = i + 1;
        while group.is_some() && j < total && steps[j].group() == group {
            j += 1;
        }
        let results = join_all(
            steps[i..j]
                .iter()
                .enumerate()
                .map(|(k, s)| run_one(s, cx, env, i + k + 1, total)),
        )
        .await;
        let mut stop = None;
        for r in results {
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
        if let Some(stop) = stop {
            counts.remaining += total - j;
            let outcome = match stop {
                Stop::Journal(e) => return Err(e),
                Stop::LeaseLost(lost) => return lease_lost(rec, counts, lost).await,
                // A wait cut short by the lease's loss is that loss, not an interruption.
                Stop::Paused(reason) => match fence.ensure_held() {
                    Err(lost) => return lease_lost(rec, counts, lost).await,
                    Ok(()) => return pause(rec, counts, reason).await,
                },
                Stop::NeedsOperator { op, detail, live } => {
                    RunOutcome::NeedsOperator { op, detail, live }
                }
                Stop::CheckFailed { op, detail } => RunOutcome::CheckFailed { op, detail },
                Stop::Failed { op, error } => RunOutcome::Failed { op, error },
            };
            let reason = serde_json::to_string(&outcome).unwrap_or_default();
            rec.append(Event::RunPaused {
                reason,
                at_ms: now_ms(),
            })
            .await?;
            return Ok(RunSummary { outcome, counts });
        }
        i = j;
    }
    Ok(RunSummary {
        outcome: RunOutcome::Completed,
        counts,
    })
}

async fn pause(
    rec: &Recorder,
    counts: Counts,
    reason: String,
) -> Result<RunSummary, journal::Error> {
    rec.append(Event::RunPaused {
        reason: reason.clone(),
        at_ms: now_ms(),
    })
    .await?;
    Ok(RunSummary {
        outcome: RunOutcome::Paused { reason },
        counts,
    })
}

/// Journals the pause of a run that lost the cluster lease.
async fn lease_lost(
    rec: &Recorder,
    counts: Counts,
    lost: LeaseLost,
) -> Result<RunSummary, journal::Error> {
    let reason = format!("lease lost: {lost}");
    rec.append(Event::RunPaused {
        reason: reason.clone(),
        at_ms: now_ms(),
    })
    .await?;
    Ok(RunSummary {
        outcome: RunOutcome::LeaseLost { reason },
        counts,
    })
}

async fn run_one<S: Step>(
    step: &S,
    cx: &S::Cx,
    env: Env<'_>,
    index: usize,
    total: usize,
) -> Result<End, Stop> {
    let Env {
        rec,
        timing,
        cancel,
        progress,
        fence,
    } = env;
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
    let state = rec
        .journal()
        .op_state(&op)
        .map_err(Stop::Journal)?
        .unwrap_or_default();
    let finished = |result| {
        progress.on(&ProgressEvent::Finished {
            op: name.clone(),
            result,
        })
    };
    // The parameters of the last recorded intent (e.g. the bootID before a reboot).
    let mut intent: Option<Value> = match state.intent {
        Some(seq) => match rec
            .journal()
            .read(seq)
            .map_err(Stop::Journal)?
            .map(|r| r.event)
        {
            Some(Event::OperationIntended { params, .. }) => Some(params.value()),
            _ => None,
        },
        None => None,
    };
    let settle = |live: Value, intent: Option<Value>| async move {
        match step.condition(&live, intent.as_ref()) {
            Some(_) => wait_for(step, cx, env, Patience::Poll, intent.as_ref())
                .await
                .map(|_| ()),
            None => Ok(()),
        }
    };

    if step.kind() != StepKind::Effect {
        if state.done {
            finished("skipped");
            return Ok(End::Skipped);
        }
        let patience = if step.kind() == StepKind::Check {
            Patience::None
        } else {
            Patience::Poll
        };
        let started = Instant::now();
        let met = wait_for(step, cx, env, patience, None).await?;
        rec.append(Event::OperationSucceeded {
            op,
            attempt: 0,
            http_status: None,
            observed: Json::of(&met).map_err(Stop::Journal)?,
            duration_ms: started.elapsed().as_millis() as u64,
            at_ms: now_ms(),
        })
        .await
        .map_err(Stop::Journal)?;
        finished("done");
        return Ok(End::Done);
    }

    if state.done {
        // Settle again only if it was interrupted: a later step may have
        // undone a condition this one waited for (M11 removes what M3 awaited).
        if rec
            .journal()
            .wait_met(&name)
            .map_err(Stop::Journal)?
            .is_none()
        {
            let live = observe_retrying(step, cx, env).await?;
            settle(live, intent).await?;
        }
        finished("skipped");
        return Ok(End::Skipped);
    }

    let mut attempt = state.attempts;
    let mut reobserved = false;
    let (verdict, live) = judge(step, cx, env, intent.as_ref()).await?;
    if state.in_doubt() {
        reobserved = true;
        let v = match &verdict {
            Verdict::Done(_) => ReobservedVerdict::Done,
            Verdict::NotDone(_) | Verdict::Pending(_) => ReobservedVerdict::NotDone,
            Verdict::Ambiguous(_) => ReobservedVerdict::Ambiguous,
        };
        rec.append(Event::OperationReobserved {
            op: op.clone(),
            verdict: v,
            observed: small_json(&live),
            at_ms: now_ms(),
        })
        .await
        .map_err(Stop::Journal)?;
    }
    match verdict {
        Verdict::Done(why) => {
            let event = if reobserved {
                Event::OperationSucceeded {
                    op,
                    attempt,
                    http_status: None,
                    observed: small_json(&live),
                    duration_ms: 0,
                    at_ms: now_ms(),
                }
            } else {
                Event::OperationSkipped {
                    op,
                    reason: why,
                    at_ms: now_ms(),
                }
            };
            rec.append(event).await.map_err(Stop::Journal)?;
            settle(live, intent).await?;
            finished(if reobserved { "done" } else { "skipped" });
            return Ok(if reobserved {
                End::Reobserved
            } else {
                End::Skipped
            });
        }
        Verdict::Ambiguous(detail) => {
            return Err(Stop::NeedsOperator {
                op: name,
                detail,
                live,
            });
        }
        Verdict::NotDone(_) | Verdict::Pending(_) => {}
    }

    let mut tries = 0;
    let mut before = live;
    let live = loop {
        if cancel.is_cancelled() {
            return Err(Stop::Paused("interrupted".into()));
        }
        // No effect starts without the cluster lease, judged on our own clock.
        fence.ensure_held().map_err(Stop::LeaseLost)?;
        attempt += 1;
        tries += 1;
        let params = step.params(&before);
        intent = Some(params.clone());
        rec.append(Event::OperationIntended {
            op: op.clone(),
            step: spec.step.clone(),
            action: spec.action.clone(),
            target: spec.target.clone(),
            idempotency_key: spec.idempotency_key.clone(),
            attempt,
            params: small_json(&params),
            at_ms: now_ms(),
        })
        .await
        .map_err(Stop::Journal)?;
        let started = Instant::now();
        let result = step.act(cx).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let err = match result {
            Ok(effect) => {
                rec.append(Event::OperationSucceeded {
                    op: op.clone(),
                    attempt,
                    http_status: effect.http_status,
                    observed: small_json(&effect.observed),
                    duration_ms,
                    at_ms: now_ms(),
                })
                .await
                .map_err(Stop::Journal)?;
                break effect.observed;
            }
            Err(e) => e,
        };
        rec.append(Event::OperationFailed {
            op: op.clone(),
            attempt,
            http_status: err.http_status,
            error: err.message.clone(),
            retryable: err.retryable,
            duration_ms,
            at_ms: now_ms(),
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
        let (verdict, live) = judge(step, cx, env, intent.as_ref()).await?;
        match verdict {
            Verdict::Done(_) => {
                rec.append(Event::OperationSucceeded {
                    op: op.clone(),
                    attempt,
                    http_status: None,
                    observed: small_json(&live),
                    duration_ms: 0,
                    at_ms: now_ms(),
                })
                .await
                .map_err(Stop::Journal)?;
                break live;
            }
            Verdict::Ambiguous(detail) => {
                return Err(Stop::NeedsOperator {
                    op: name,
                    detail,
                    live,
                });
            }
            Verdict::NotDone(_) | Verdict::Pending(_) => before = live,
        }
    };
    settle(live, intent).await?;
    finished("done");
    Ok(if reobserved {
        End::Reobserved
    } else {
        End::Done
    })
}

/// Observes and classifies; a pending verdict is looked at again until the
/// in-doubt grace period ends, then counts as not done.
async fn judge<S: Step>(
    step: &S,
    cx: &S::Cx,
    env: Env<'_>,
    intent: Option<&Value>,
) -> Result<(Verdict, Value), Stop> {
    let Env { timing, cancel, .. } = env;
    let deadline = Instant::now() + timing.in_doubt_grace;
    loop {
        let live = observe_retrying(step, cx, env).await?;
        let verdict = step.classify(&live, intent);
        if !matches!(verdict, Verdict::Pending(_)) || Instant::now() >= deadline {
            return Ok((verdict, live));
        }
        sleep_or_cancel(timing.poll, cancel).await?;
    }
}

/// Observes, retrying retryable failures per the policy.
pub(crate) async fn observe_retrying<S: Step>(
    step: &S,
    cx: &S::Cx,
    env: Env<'_>,
) -> Result<Value, Stop> {
    let Env {
        timing,
        cancel,
        progress,
        ..
    } = env;
    let name = step.spec().op.0;
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

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> Result<(), Stop> {
    tokio::select! {
        _ = tokio::time::sleep(d) => Ok(()),
        _ = cancel.cancelled() => Err(Stop::Paused("interrupted".into())),
    }
}

/// Returns a JSON document small enough for an event record (truncated text otherwise).
fn small_json(v: &Value) -> Json {
    let text = v.to_string();
    if text.len() <= 1500 {
        Json(text)
    } else {
        let cut = text
            .char_indices()
            .map(|(i, _)| i)
            .take_while(|i| *i <= 1400)
            .last()
            .unwrap_or(0);
        Json(serde_json::json!({ "truncated": &text[..cut] }).to_string())
    }
}
