//! Waiting for a step's condition: poll, journal each change of the
//! condition with the observation it was read from (never each poll), stop
//! on met, failed, timeout or cancellation.

use std::time::Instant;

use journal::{Event, WaitOutcome};
use serde_json::Value;

use super::erased::{ErasedStep, Patience};
use super::operation::observe_retrying;
use super::progress::ProgressEvent;
use super::runner::{Env, Stop};
use super::step::WaitState;

/// A condition on a journaled observation (`None`: nothing to wait for).
pub(crate) type Condition<'a> = &'a (dyn Fn(&Value) -> Result<Option<WaitState>, String> + Sync);

/// Waits for `condition` on `step`'s observations; returns the observation
/// that met it.
pub(crate) async fn wait_for<Cx: Send + Sync>(
    step: &dyn ErasedStep<Cx>,
    cx: &Cx,
    env: Env<'_>,
    patience: Patience,
    condition: Condition<'_>,
) -> Result<Value, Stop> {
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
    })
    .await
    .map_err(jerr)?;
    let deadline = Instant::now() + timing.wait_timeout;
    let mut last: Option<String> = None;
    let finish = |outcome| Event::WaitFinished {
        wait: wait.clone(),
        outcome,
    };
    loop {
        let live = observe_retrying(step, cx, env).await?;
        let state = condition(&live)
            .map_err(|e| Stop::Failed {
                op: wait.clone(),
                error: e,
            })?
            .unwrap_or(WaitState::Met("nothing to wait for".into()));
        let text = state.text().to_string();
        if last.as_ref() != Some(&text) {
            // The change is journaled with the object it was read from.
            let detail = rec.payload(&live).map_err(jerr)?;
            rec.append(Event::ConditionObserved {
                wait: wait.clone(),
                condition: rec.text(&text).map_err(jerr)?,
                detail,
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
            WaitState::Met(_) => {
                rec.append(finish(WaitOutcome::Met)).await.map_err(jerr)?;
                return Ok(live);
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
