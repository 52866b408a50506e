//! One operation's life, and a batch's: observe (journaled), decide, the
//! batch's intents in one group commit, the effects, their outcomes, retries
//! that re-observe first, and the settle wait. In-doubt operations are
//! re-observed and their verdict journaled before anything is sent again.

use std::time::{Duration, Instant};

use futures::future::join_all;
use journal::{Event, OpState, ReobservedVerdict};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::erased::{ErasedEffect, ErasedStep, Patience};
use super::progress::ProgressEvent;
use super::recorder::Recorder;
use super::runner::{End, Env, Stop};
use super::spans::{effectively_done, gate_closed, state_of};
use super::step::{StepError, Verdict};
use super::wait::wait_for;

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
pub(super) enum Force {
    /// As the journal says.
    No,
    /// Run it again although it is done (a compensation owed).
    Again,
}

pub(super) async fn run_batch<Cx: Send + Sync>(
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
pub(super) async fn run_one<Cx: Send + Sync>(
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
    // A step that never waits after acting needs no observation for it.
    if live.is_some() || eff.settles() {
        let live = match live {
            Some(l) => l,
            None => observe_retrying(step, cx, env).await?,
        };
        settle(step, cx, env, &live, Some(&params)).await?;
    }
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
    eff: &dyn ErasedEffect<Cx>,
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
