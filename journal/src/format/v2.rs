//! Format version 2, frozen: the stored event types as they were written from
//! the first release with plans, waits and decisions until format 3 moved the
//! time into the envelope and typed pause reasons and outcomes. Never change
//! these types: journals written in version 2 decode forever (the fixture in
//! `tests/fixtures/v2-journal.txt` proves it). [`upcast`] maps them to the
//! current [`crate::Event`].

use serde::{Deserialize, Serialize};

use crate::chain::ChainHash;
use crate::event::{
    self as cur, BlobHash, BlobRef, Doc, Json, OpId, PauseReason, ReobservedVerdict, RunOutcome,
    Text, WaitOutcome,
};
use crate::target::Target;

/// A fact about a run. Format version 2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A run started against a target.
    RunStarted {
        run_id: String,
        workflow: String,
        tool_version: String,
        target: Target,
        host: String,
        user: String,
        pid: u32,
        at_ms: i64,
    },
    /// A plan was made from a discovery (both digests) and recorded.
    /// `operations` is a blob holding the JSON list of [`OperationSpec`]s.
    PlanRecorded {
        plan_digest: String,
        discovery_digest: String,
        operations: BlobHash,
        count: u32,
        at_ms: i64,
    },
    /// Inputs of a decision were observed (discovery, precheck readings): a
    /// small `body` inline, or a large one in the blob store at `blob`.
    ObservationRecorded {
        key: String,
        body: Json,
        blob: Option<BlobHash>,
        at_ms: i64,
    },
    /// Discovered objects were stored in the blob store.
    SnapshotRecorded {
        label: String,
        blobs: Vec<BlobRef>,
        at_ms: i64,
    },
    /// An operation is about to act; durable before its effect.
    OperationIntended {
        op: OpId,
        step: String,
        action: String,
        target: String,
        idempotency_key: String,
        attempt: u32,
        params: Json,
        at_ms: i64,
    },
    /// An operation's effect happened (or was found to have happened).
    OperationSucceeded {
        op: OpId,
        attempt: u32,
        http_status: Option<u16>,
        observed: Json,
        duration_ms: u64,
        at_ms: i64,
    },
    /// An operation's effect failed.
    OperationFailed {
        op: OpId,
        attempt: u32,
        http_status: Option<u16>,
        error: String,
        retryable: bool,
        duration_ms: u64,
        at_ms: i64,
    },
    /// An operation was found already done before any intent; nothing was sent.
    OperationSkipped {
        op: OpId,
        reason: String,
        at_ms: i64,
    },
    /// An in-doubt operation was re-observed on resume and classified.
    OperationReobserved {
        op: OpId,
        verdict: ReobservedVerdict,
        observed: Json,
        at_ms: i64,
    },
    /// A wait for a condition began.
    WaitStarted {
        wait: String,
        step: String,
        at_ms: i64,
    },
    /// A waited-for condition changed (recorded on change, not on every poll).
    ConditionObserved {
        wait: String,
        condition: String,
        detail: Json,
        at_ms: i64,
    },
    /// A wait ended.
    WaitFinished {
        wait: String,
        outcome: WaitOutcome,
        at_ms: i64,
    },
    /// An operator decided something: a confirmation, a skip, a lock break, a reset.
    DecisionRecorded {
        decision: String,
        detail: String,
        by: String,
        at_ms: i64,
    },
    /// The run paused (Ctrl-C, an ambiguous operation, a failed precheck).
    RunPaused { reason: String, at_ms: i64 },
    /// The run resumed, possibly on another process.
    RunResumed {
        host: String,
        user: String,
        pid: u32,
        tool_version: String,
        at_ms: i64,
    },
    /// A reset started a new epoch from a step; the old head stays in the chain.
    EpochStarted {
        epoch: u32,
        reset_to: String,
        previous_head: ChainHash,
        at_ms: i64,
    },
    /// The run ended; `head` is the chain hash of the record before this one.
    RunSealed {
        head: ChainHash,
        outcome: String,
        at_ms: i64,
    },
}

/// Returns the current event a version-2 event means, and its time.
pub fn upcast(old: Event) -> (cur::Event, i64) {
    use cur::Event as E;
    match old {
        Event::RunStarted {
            run_id,
            workflow,
            tool_version,
            target,
            host,
            user,
            pid,
            at_ms,
        } => (
            E::RunStarted {
                run_id,
                workflow,
                tool_version,
                target,
                host,
                user,
                pid,
            },
            at_ms,
        ),
        Event::PlanRecorded {
            plan_digest,
            discovery_digest,
            operations,
            count,
            at_ms,
        } => (
            E::PlanRecorded {
                plan_digest,
                discovery_digest,
                operations,
                count,
            },
            at_ms,
        ),
        Event::ObservationRecorded {
            key,
            body,
            blob,
            at_ms,
        } => {
            let body = match blob {
                Some(hash) => Doc::legacy_blob(hash),
                None => Doc::legacy(body),
            };
            (E::ObservationRecorded { key, body }, at_ms)
        }
        Event::SnapshotRecorded {
            label,
            blobs,
            at_ms,
        } => (E::SnapshotRecorded { label, blobs }, at_ms),
        Event::OperationIntended {
            op,
            step,
            action,
            target,
            idempotency_key,
            attempt,
            params,
            at_ms,
        } => (
            E::OperationIntended {
                op,
                step,
                action,
                target,
                idempotency_key,
                attempt,
                params: Doc::legacy(params),
            },
            at_ms,
        ),
        Event::OperationSucceeded {
            op,
            attempt,
            http_status,
            observed,
            duration_ms,
            at_ms,
        } => (
            E::OperationSucceeded {
                op,
                attempt,
                http_status,
                observed: Doc::legacy(observed),
                duration_ms,
            },
            at_ms,
        ),
        Event::OperationFailed {
            op,
            attempt,
            http_status,
            error,
            retryable,
            duration_ms,
            at_ms,
        } => (
            E::OperationFailed {
                op,
                attempt,
                http_status,
                error: Text::legacy(error),
                retryable,
                duration_ms,
            },
            at_ms,
        ),
        Event::OperationSkipped { op, reason, at_ms } => (
            E::OperationSkipped {
                op,
                reason: Text::legacy(reason),
            },
            at_ms,
        ),
        Event::OperationReobserved {
            op,
            verdict,
            observed,
            at_ms,
        } => (
            E::OperationReobserved {
                op,
                verdict,
                observed: Doc::legacy(observed),
            },
            at_ms,
        ),
        Event::WaitStarted { wait, step, at_ms } => (E::WaitStarted { wait, step }, at_ms),
        Event::ConditionObserved {
            wait,
            condition,
            detail,
            at_ms,
        } => (
            E::ConditionObserved {
                wait,
                condition: Text::legacy(condition),
                detail: Doc::legacy(detail),
            },
            at_ms,
        ),
        Event::WaitFinished {
            wait,
            outcome,
            at_ms,
        } => (E::WaitFinished { wait, outcome }, at_ms),
        Event::DecisionRecorded {
            decision,
            detail,
            by,
            at_ms,
        } => (
            E::DecisionRecorded {
                decision,
                detail: Text::legacy(detail),
                by,
            },
            at_ms,
        ),
        Event::RunPaused { reason, at_ms } => (
            E::RunPaused {
                reason: pause_reason(reason),
            },
            at_ms,
        ),
        Event::RunResumed {
            host,
            user,
            pid,
            tool_version,
            at_ms,
        } => (
            E::RunResumed {
                host,
                user,
                pid,
                tool_version,
            },
            at_ms,
        ),
        Event::EpochStarted {
            epoch,
            reset_to,
            previous_head,
            at_ms,
        } => (
            E::EpochStarted {
                epoch,
                reset_to,
                previous_head,
            },
            at_ms,
        ),
        Event::RunSealed {
            head,
            outcome,
            at_ms,
        } => {
            let outcome = match outcome.as_str() {
                "completed" => RunOutcome::Completed,
                "" => RunOutcome::Unrecorded,
                _ => RunOutcome::Legacy {
                    outcome: Text::legacy(outcome),
                },
            };
            (E::RunSealed { head, outcome }, at_ms)
        }
    }
}

/// The shape in which version 2 wrote the engine's non-`interrupted` pauses
/// (`serde_json` of the engine's outcome, tagged by `outcome`).
#[derive(Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum V2Pause {
    NeedsOperator {
        op: String,
        detail: String,
        live: serde_json::Value,
    },
    CheckFailed {
        op: String,
        detail: String,
    },
    Failed {
        op: String,
        error: String,
    },
}

/// Returns the typed pause reason a version-2 reason string meant.
fn pause_reason(reason: String) -> PauseReason {
    if reason == "interrupted" {
        return PauseReason::Interrupted;
    }
    match serde_json::from_str::<V2Pause>(&reason) {
        Ok(V2Pause::NeedsOperator { op, detail, live }) => PauseReason::NeedsOperator {
            op: OpId(op),
            detail: Text::legacy(detail),
            live: Doc::legacy(Json(live.to_string())),
        },
        Ok(V2Pause::CheckFailed { op, detail }) => PauseReason::CheckFailed {
            op: OpId(op),
            detail: Text::legacy(detail),
        },
        Ok(V2Pause::Failed { op, error }) => PauseReason::Failed {
            op: OpId(op),
            error: Text::legacy(error),
        },
        Err(_) => PauseReason::Stopped {
            detail: Text::legacy(reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_pause_strings_become_typed_reasons() {
        assert_eq!(pause_reason("interrupted".into()), PauseReason::Interrupted);
        match pause_reason(r#"{"outcome":"failed","op":"M9/x","error":"boom"}"#.into()) {
            PauseReason::Failed { op, error } => {
                assert_eq!(op.0, "M9/x");
                assert_eq!(error.inline(), "boom");
            }
            r => panic!("unexpected {r:?}"),
        }
        match pause_reason("wait M5 timed out".into()) {
            PauseReason::Stopped { detail } => assert_eq!(detail.inline(), "wait M5 timed out"),
            r => panic!("unexpected {r:?}"),
        }
    }
}
