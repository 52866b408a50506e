//! JSONL, the record of truth: one JSON object per event with every field of
//! the event (hashes in hex, blobs by hash), its seq, time, format version,
//! chain hash and the stored record.
//!
//! A line:
//!
//! ```json
//! {"seq":5,"at":"2026-12-02T05:40:48.123Z","at_ms":1796...,"version":3,
//!  "hash":"<hex>","event":"OperationIntended","fields":{...},"record":"<base64>"}
//! ```
//!
//! [`fields`] destructures every variant without `..`, so a field added to an
//! event does not compile until it is exported too.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Input, Stream, outcome_name, rfc3339_ms};
use crate::bounded::{Doc, Text};
use crate::event::{BlobHash, Event, PauseReason, RunOutcome};

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    at: String,
    at_ms: i64,
    version: u16,
    hash: String,
    event: &'static str,
    fields: Value,
    record: &'a str,
}

/// Writes the JSONL line of `rec` (without the newline) with an empty
/// stored record, its last field ([`super::Format::write`] fills it in).
pub fn write(_stream: &Stream, rec: &Input<'_>, out: &mut Vec<u8>) {
    let line = Line {
        seq: rec.seq,
        at: rfc3339_ms(rec.at_ms),
        at_ms: rec.at_ms,
        version: rec.version,
        hash: super::hex(&rec.hash.0),
        event: rec.event.name(),
        fields: fields(rec.event),
        record: "",
    };
    serde_json::to_writer(out, &line).expect("a JSONL line serialises");
}

/// What precedes the stored record in a JSONL line.
pub const RECORD_MARKER: &str = ",\"record\":\"";

/// Returns the stored record (base64) of a JSONL line.
pub fn stored_of(line: &Value) -> Option<&str> {
    line.get("record")?.as_str()
}

/// Returns a blob address as JSON (hex).
fn blob(h: &BlobHash) -> Value {
    Value::String(super::hex(&h.0))
}

/// Returns bounded text as JSON: the text, its full length, and the blob of
/// the full text when it was cut.
pub fn text(t: &Text) -> Value {
    json!({
        "text": t.inline(),
        "len": t.len(),
        "complete": t.is_complete(),
        "blob": t.full_blob().as_ref().map(blob),
    })
}

/// Returns a bounded document as JSON: the document itself when inline, or
/// its preview and the blob that holds it.
pub fn doc(d: &Doc) -> Value {
    match d.full_blob() {
        None => json!({
            "json": serde_json::from_str::<Value>(d.preview())
                .unwrap_or_else(|_| Value::String(d.preview().to_string())),
            "len": d.len(),
            "blob": null,
        }),
        Some(h) => json!({
            "preview": d.preview(),
            "len": d.len(),
            "blob": blob(&h),
        }),
    }
}

fn pause(reason: &PauseReason) -> Value {
    match reason {
        PauseReason::Interrupted => json!({"kind": "interrupted"}),
        PauseReason::Stopped { detail } => json!({"kind": "stopped", "detail": text(detail)}),
        PauseReason::NeedsOperator { op, detail, live } => json!({
            "kind": "needs_operator", "op": op, "detail": text(detail), "live": doc(live),
        }),
        PauseReason::CheckFailed { op, detail } => {
            json!({"kind": "check_failed", "op": op, "detail": text(detail)})
        }
        PauseReason::Failed { op, error } => {
            json!({"kind": "failed", "op": op, "error": text(error)})
        }
    }
}

fn outcome(o: &RunOutcome) -> Value {
    match o {
        RunOutcome::Completed | RunOutcome::Unrecorded => json!({"kind": outcome_name(o)}),
        RunOutcome::Abandoned { detail } => json!({"kind": "abandoned", "detail": text(detail)}),
        RunOutcome::Legacy { outcome } => json!({"kind": "legacy", "outcome": text(outcome)}),
    }
}

/// Returns every field of `event`, by name.
pub fn fields(event: &Event) -> Value {
    match event {
        Event::RunStarted {
            run_id,
            workflow,
            tool_version,
            target,
            host,
            user,
            pid,
        } => json!({
            "run_id": run_id, "workflow": workflow, "tool_version": tool_version,
            "target": target, "host": host, "user": user, "pid": pid,
        }),
        Event::PlanRecorded {
            plan_digest,
            discovery_digest,
            operations,
            count,
        } => json!({
            "plan_digest": plan_digest, "discovery_digest": discovery_digest,
            "operations": blob(operations), "count": count,
        }),
        Event::ObservationRecorded { key, body } => json!({"key": key, "body": doc(body)}),
        Event::SnapshotRecorded { label, blobs } => json!({
            "label": label,
            "blobs": blobs.iter().map(|b| json!({
                "kind": b.kind, "name": b.name, "hash": blob(&b.hash),
            })).collect::<Vec<_>>(),
        }),
        Event::OperationIntended {
            op,
            step,
            action,
            target,
            idempotency_key,
            attempt,
            params,
        } => json!({
            "op": op, "step": step, "action": action, "target": target,
            "idempotency_key": idempotency_key, "attempt": attempt, "params": doc(params),
        }),
        Event::OperationSucceeded {
            op,
            attempt,
            http_status,
            observed,
            duration_ms,
        } => json!({
            "op": op, "attempt": attempt, "http_status": http_status,
            "observed": doc(observed), "duration_ms": duration_ms,
        }),
        Event::OperationFailed {
            op,
            attempt,
            http_status,
            error,
            retryable,
            duration_ms,
        } => json!({
            "op": op, "attempt": attempt, "http_status": http_status, "error": text(error),
            "retryable": retryable, "duration_ms": duration_ms,
        }),
        Event::OperationSkipped { op, reason } => json!({"op": op, "reason": text(reason)}),
        Event::OperationReobserved {
            op,
            verdict,
            observed,
        } => json!({"op": op, "verdict": format!("{verdict:?}"), "observed": doc(observed)}),
        Event::WaitStarted { wait, step } => json!({"wait": wait, "step": step}),
        Event::ConditionObserved {
            wait,
            condition,
            detail,
        } => json!({"wait": wait, "condition": text(condition), "detail": doc(detail)}),
        Event::WaitFinished { wait, outcome } => {
            json!({"wait": wait, "outcome": format!("{outcome:?}")})
        }
        Event::DecisionRecorded {
            decision,
            detail,
            by,
        } => json!({"decision": decision, "detail": text(detail), "by": by}),
        Event::RunPaused { reason } => json!({"reason": pause(reason)}),
        Event::RunResumed {
            host,
            user,
            pid,
            tool_version,
        } => json!({"host": host, "user": user, "pid": pid, "tool_version": tool_version}),
        Event::EpochStarted {
            epoch,
            reset_to,
            previous_head,
        } => json!({
            "epoch": epoch, "reset_to": reset_to, "previous_head": previous_head.to_string(),
        }),
        Event::RunSealed { head, outcome: o } => {
            json!({"head": head.to_string(), "outcome": outcome(o)})
        }
        Event::LockRecovered {
            host,
            pid,
            user,
            since,
            tool_version,
        } => json!({
            "host": host, "pid": pid, "user": user, "since": since, "tool_version": tool_version,
        }),
    }
}

/// Returns every blob `event` references.
pub fn blobs_of(event: &Event) -> Vec<BlobHash> {
    let t = |t: &Text| t.full_blob();
    let d = |d: &Doc| d.full_blob();
    let found: Vec<Option<BlobHash>> = match event {
        Event::PlanRecorded { operations, .. } => vec![Some(*operations)],
        Event::ObservationRecorded { body, .. } => vec![d(body)],
        Event::SnapshotRecorded { blobs, .. } => blobs.iter().map(|b| Some(b.hash)).collect(),
        Event::OperationIntended { params, .. } => vec![d(params)],
        Event::OperationSucceeded { observed, .. } => vec![d(observed)],
        Event::OperationFailed { error, .. } => vec![t(error)],
        Event::OperationSkipped { reason, .. } => vec![t(reason)],
        Event::OperationReobserved { observed, .. } => vec![d(observed)],
        Event::ConditionObserved {
            condition, detail, ..
        } => vec![t(condition), d(detail)],
        Event::DecisionRecorded { detail, .. } => vec![t(detail)],
        Event::RunPaused { reason } => match reason {
            PauseReason::Interrupted => vec![],
            PauseReason::Stopped { detail } | PauseReason::CheckFailed { detail, .. } => {
                vec![t(detail)]
            }
            PauseReason::NeedsOperator { detail, live, .. } => vec![t(detail), d(live)],
            PauseReason::Failed { error, .. } => vec![t(error)],
        },
        Event::RunSealed { outcome, .. } => match outcome {
            RunOutcome::Abandoned { detail } => vec![t(detail)],
            RunOutcome::Legacy { outcome } => vec![t(outcome)],
            RunOutcome::Completed | RunOutcome::Unrecorded => vec![],
        },
        Event::RunStarted { .. }
        | Event::WaitStarted { .. }
        | Event::WaitFinished { .. }
        | Event::RunResumed { .. }
        | Event::EpochStarted { .. }
        | Event::LockRecovered { .. } => vec![],
    };
    found.into_iter().flatten().collect()
}
