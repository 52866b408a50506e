//! Salvage: a new journal from what a damaged one still holds.
//!
//! A journal refused as damaged ([`crate::Error::Damaged`]) lost records that
//! were made durable: the effects they recorded may have happened. Resuming
//! it as it is would act on a shorter history (on format 2 that rebooted a
//! node twice). [`salvage`] never writes to the damaged directory (it reads a
//! private copy); it creates a new journal, for a new run id, holding:
//!
//! 1. its own `RunStarted`, then every record of the old chain that still
//!    links (1..=R), re-appended with the times they were first recorded at
//!    (as facts of the new chain), and every readable blob;
//! 2. a `DecisionRecorded { decision: "salvage" }` naming the damaged
//!    directory, the witness's head W and the records lost (R+1..=W);
//! 3. for each operation of the plan that the readable records do not show
//!    done or in doubt, and that could have started in the lost records (the
//!    first W−R of them in plan order: each needs at least one record, its
//!    intent), an `OperationIntended` whose params are
//!    `{"salvaged": true, "lost": "R+1..=W"}`: it is in doubt, so resume
//!    re-observes it before anything is sent. Operations already in doubt
//!    stay so, with their real intents.
//!
//! Steps then judge these from the live objects; one whose effect cannot be
//! told from the live state (a reboot: its intent held the bootID from just
//! before) says it is ambiguous, and the run stops for the operator.

use std::path::Path;

use crate::chain::link;
use crate::error::{Error, Result};
use crate::event::{Doc, Event, Json, OpId, Seq};
use crate::format;
use crate::keys;
use crate::store::{Journal, OpenOptions, RunInfo};

/// What a salvage did.
pub struct Salvaged {
    /// The new journal (open, locked).
    pub journal: Journal,
    /// The workflow of the run.
    pub workflow: String,
    /// Records of the old chain that could be read and linked (1..=readable).
    pub readable: Seq,
    /// The old journal's last durable head, from its witness, when known.
    pub witnessed: Option<Seq>,
    /// What was wrong with the old journal.
    pub reason: String,
    /// Operations the salvage put in doubt (re-observed on resume).
    pub in_doubt: Vec<OpId>,
}

/// Makes a new journal at `into`, for run `run_id`, from the damaged journal
/// at `damaged` (never written to); `by` names the operator.
pub fn salvage(damaged: &Path, into: &Path, run_id: &str, by: &str) -> Result<Salvaged> {
    let old = Journal::open_damaged(damaged)?;
    let Some(damage) = old.damage().cloned() else {
        return Err(Error::Io {
            what: "salvage the journal: it is not damaged (its database holds every record its \
                   head witness names); resume it instead",
            path: damaged.to_path_buf(),
            source: std::io::Error::other("nothing to salvage"),
        });
    };
    // The records that still link, from the first.
    let mut prev = old.genesis();
    let mut kept: Vec<(i64, Event)> = Vec::new();
    let mut readable = 0;
    for kv in old.raw_records(1) {
        let Ok((k, v)) = kv else { break };
        let Some(seq) = keys::seq_of(&k) else { break };
        if seq != readable + 1 {
            break;
        }
        let Ok(raw) = format::split(&v) else { break };
        let h = link(seq, &prev, raw.stored);
        if h != raw.hash {
            break;
        }
        let Ok((event, at)) = format::decode_payload(raw.version, raw.at_ms, raw.payload) else {
            break;
        };
        prev = h;
        readable = seq;
        kept.push((at, event));
    }
    let workflow = match kept.first() {
        Some((_, Event::RunStarted { workflow, .. })) => workflow.clone(),
        _ => {
            return Err(Error::Damaged {
                path: damaged.to_path_buf(),
                reason: format!(
                    "{}; not even its first record (RunStarted) can be read, so there is nothing \
                     to salvage: start a new run",
                    damage.reason
                ),
                witness_seq: damage.witness.map(|w| w.0),
                witness_hash: damage.witness.map(|w| w.1.to_string()),
                readable: 0,
            });
        }
    };
    let run = RunInfo {
        run_id: run_id.to_string(),
        workflow: workflow.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        target: old.target().clone(),
    };
    let new = Journal::create(into, &run, &OpenOptions::default())?;
    for h in old.blob_hashes()? {
        if let Ok(Some(bytes)) = old.get_blob(&h) {
            new.put_blob(&bytes)?;
        }
    }
    let body: Vec<(i64, Event)> = kept
        .into_iter()
        .skip(1)
        .filter(|(_, e)| !matches!(e, Event::RunSealed { .. }))
        .collect();
    for chunk in body.chunks(256) {
        new.append_as_recorded(chunk)?;
    }
    let witnessed = damage.witness.map(|w| w.0);
    let lost = match witnessed {
        Some(w) => format!("{}..={w}", readable + 1),
        None => format!("after {readable} (how many is unknown: the witness is gone)"),
    };
    let detail = format!(
        "salvaged from {}: {}; records 1..={readable} were read and are re-recorded here; \
         records {lost} are lost, and every operation they may have started is re-observed",
        damaged.display(),
        damage.reason
    );
    new.append(Event::DecisionRecorded {
        decision: "salvage".into(),
        detail: new.text(&detail)?,
        by: by.to_string(),
    })?;
    let budget = witnessed.map(|w| w.saturating_sub(readable) as usize);
    let mut in_doubt = Vec::new();
    let mut intents = Vec::new();
    for op in planned_operations(&new)? {
        if budget.is_some_and(|b| in_doubt.len() >= b) {
            break;
        }
        let state = new.op_state(&op.0)?.unwrap_or_default();
        if state.done || state.in_doubt() {
            continue;
        }
        let params = Json(serde_json::json!({"salvaged": true, "lost": lost}).to_string());
        intents.push(Event::OperationIntended {
            op: op.0.clone(),
            step: op.1,
            action: op.2,
            target: op.3,
            idempotency_key: op.0.0.clone(),
            attempt: state.attempts + 1,
            params: Doc::short(params).unwrap_or_else(Doc::null),
        });
        in_doubt.push(op.0);
    }
    if !intents.is_empty() {
        new.append_group(&intents)?;
    }
    new.sync()?;
    Ok(Salvaged {
        journal: new,
        workflow,
        readable,
        witnessed,
        reason: damage.reason,
        in_doubt,
    })
}

/// Returns (id, step, action, target) of the operations of the journal's
/// plan, in plan order: the `PlanRecorded` blob, a JSON object whose
/// `operations` hold `key`, `step`, `action` (a name, or an object keyed by
/// it) and `target`. Empty when no plan was recorded.
fn planned_operations(j: &Journal) -> Result<Vec<(OpId, String, String, String)>> {
    let mut blob = None;
    for r in j.iter(1) {
        if let Event::PlanRecorded { operations, .. } = r?.event {
            blob = Some(operations);
            break;
        }
    }
    let Some(h) = blob else { return Ok(vec![]) };
    let Some(bytes) = j.get_blob(&h)? else {
        return Ok(vec![]);
    };
    let plan: serde_json::Value = serde_json::from_slice(&bytes).map_err(Error::Json)?;
    let ops = plan
        .get("operations")
        .and_then(|o| o.as_array())
        .cloned()
        .unwrap_or_default();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    };
    Ok(ops
        .iter()
        .filter_map(|o| {
            let key = o.get("key")?.as_str()?;
            Some((
                OpId(key.to_string()),
                text(o.get("step")?),
                text(o.get("action")?),
                text(o.get("target")?),
            ))
        })
        .collect())
}
