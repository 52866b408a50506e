//! What the journal says beyond one operation's own record: whether a done
//! operation was undone by a compensation since (and so runs again), which
//! compensations a stopped run owes, when a time gate opens, and the plan's
//! expansions, made once from an operation's journaled outcome.

use journal::{Event, OpId, OpState};
use serde_json::Value;

use super::erased::ErasedStep;
use super::operation::{Force, run_one};
use super::runner::{Env, Ops, Stop, expansion_key};
use super::step::Gate;

pub(super) fn state_of(env: Env<'_>, op: &OpId) -> Result<OpState, Stop> {
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
pub(super) fn effectively_done<Cx>(
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

/// Which open spans [`compensate`] closes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Spans {
    /// Every one (a run's start: what a previous run left open).
    All,
    /// Those whose first operation asks to be undone when the run stops.
    OnStop,
}

/// Runs the compensations of open spans (at a run's start, those a previous
/// run left open; at a stop, those that must not stay open); returns how many ran.
pub(super) async fn compensate<Cx: Send + Sync>(
    steps: &[Box<dyn ErasedStep<Cx>>],
    cx: &Cx,
    env: Env<'_>,
    which: Spans,
) -> Result<usize, Stop> {
    let mut n = 0;
    for s in steps {
        let Some(comp_id) = s.as_effect().and_then(|e| e.compensated_by()) else {
            continue;
        };
        if which == Spans::OnStop && !s.as_effect().is_some_and(|e| e.compensate_on_stop()) {
            continue;
        }
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
pub(super) async fn expand<Cx: Send + Sync>(
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

/// Returns when the gate opens (ms since the epoch), if it is closed now.
pub(super) fn gate_closed(env: Env<'_>, gate: &Gate) -> Result<Option<i64>, Stop> {
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
