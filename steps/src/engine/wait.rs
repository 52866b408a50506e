//! Waiting for a step's condition: poll, journal each change of the
//! condition (never each poll), stop on met, failed, timeout or cancellation.

use std::time::Instant;

use journal::{Event, Json, WaitOutcome};

use super::progress::ProgressEvent;
use super::runner::{Env, Stop, observe_retrying};
use super::step::{Step, WaitState};
use journal::event::now_ms;

/// How a wait treats a condition that is not met yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Patience {
    /// Keep polling until the deadline.
    Poll,
    /// Not met now means failed (prechecks).
    None,
}

/// Waits for `step`'s condition; returns the met condition's text.
pub(crate) async fn wait_for<S: Step>(
    step: &S,
    cx: &S::Cx,
    env: Env<'_>,
    patience: Patience,
    intent: Option<&serde_json::Value>,
) -> Result<String, Stop> {
    let Env {
        rec,
        timing,
        cancel,
        progress,
        ..
    } = env;
    let spec = step.spec();
    let wait = spec.op.0.clone();
    let jerr = Stop::journal;
    rec.append(Event::WaitStarted {
        wait: wait.clone(),
        step: spec.step.clone(),
        at_ms: now_ms(),
    })
    .await
    .map_err(jerr)?;
    let deadline = Instant::now() + timing.wait_timeout;
    let mut last: Option<String> = None;
    let finish = |outcome| Event::WaitFinished {
        wait: wait.clone(),
        outcome,
        at_ms: now_ms(),
    };
    loop {
        let live = observe_retrying(step, cx, env).await?;
        let state = step
            .condition(&live, intent)
            .unwrap_or(WaitState::Met("nothing to wait for".into()));
        let text = match &state {
            WaitState::Met(s) | WaitState::Pending(s) | WaitState::Failed(s) => s.clone(),
        };
        if last.as_ref() != Some(&text) {
            rec.append(Event::ConditionObserved {
                wait: wait.clone(),
                condition: text.clone(),
                detail: Json::null(),
                at_ms: now_ms(),
            })
            .await
            .map_err(jerr)?;
            progress.on(&ProgressEvent::Condition {
                op: wait.clone(),
                condition: text.clone(),
            });
            last = Some(text.clone());
        }
        match state {
            WaitState::Met(s) => {
                rec.append(finish(WaitOutcome::Met)).await.map_err(jerr)?;
                return Ok(s);
            }
            WaitState::Failed(s) => {
                rec.append(finish(WaitOutcome::Failed))
                    .await
                    .map_err(jerr)?;
                return Err(if patience == Patience::None {
                    Stop::CheckFailed {
                        op: wait.clone(),
                        detail: s,
                    }
                } else {
                    Stop::Failed {
                        op: wait.clone(),
                        error: s,
                    }
                });
            }
            WaitState::Pending(s) if patience == Patience::None => {
                rec.append(finish(WaitOutcome::Failed))
                    .await
                    .map_err(jerr)?;
                return Err(Stop::CheckFailed {
                    op: wait.clone(),
                    detail: s,
                });
            }
            WaitState::Pending(s) => {
                if Instant::now() >= deadline {
                    rec.append(finish(WaitOutcome::TimedOut))
                        .await
                        .map_err(jerr)?;
                    return Err(Stop::Paused(format!(
                        "timed out after {:?} waiting for {wait}: {s}; resume to keep waiting",
                        timing.wait_timeout
                    )));
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.poll) => {}
            _ = cancel.cancelled() => {
                rec.append(finish(WaitOutcome::Interrupted)).await.map_err(jerr)?;
                return Err(Stop::Paused("interrupted".into()));
            }
        }
    }
}
