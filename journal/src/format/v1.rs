//! Format version 1: the first stored event types, frozen, and their upcast to
//! version 2 ([`super::v2::Event`], which upcasts on to the current
//! [`crate::Event`]). Never change these types: journals written in
//! version 1 must decode forever (the fixture in `tests/fixtures` proves it).

use serde::{Deserialize, Serialize};

use crate::chain::ChainHash;
use crate::event::{BlobRef, Json, OpId};
use crate::target::Target;

/// A fact about a run, format version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A run started.
    RunStarted {
        run_id: String,
        workflow: String,
        tool_version: String,
        target: Target,
        at_ms: i64,
    },
    /// Inputs of a decision were observed.
    ObservationRecorded { key: String, body: Json, at_ms: i64 },
    /// Discovered objects were stored in the blob store.
    SnapshotRecorded {
        label: String,
        blobs: Vec<BlobRef>,
        at_ms: i64,
    },
    /// An operation was about to act.
    OperationIntended {
        op: OpId,
        step: String,
        action: String,
        target: String,
        idempotency_key: String,
        params: Json,
        at_ms: i64,
    },
    /// An operation succeeded.
    OperationSucceeded {
        op: OpId,
        observed: Json,
        at_ms: i64,
    },
    /// An operation failed.
    OperationFailed { op: OpId, error: String, at_ms: i64 },
    /// The run paused.
    RunPaused { reason: String, at_ms: i64 },
    /// The run resumed.
    RunResumed { at_ms: i64 },
    /// The run ended.
    RunSealed { head: ChainHash, at_ms: i64 },
}

/// Returns the version-2 event a version-1 event means.
pub fn upcast(old: Event) -> super::v2::Event {
    use super::v2::Event as E;
    match old {
        Event::RunStarted {
            run_id,
            workflow,
            tool_version,
            target,
            at_ms,
        } => E::RunStarted {
            run_id,
            workflow,
            tool_version,
            target,
            host: String::new(),
            user: String::new(),
            pid: 0,
            at_ms,
        },
        Event::ObservationRecorded { key, body, at_ms } => E::ObservationRecorded {
            key,
            body,
            blob: None,
            at_ms,
        },
        Event::SnapshotRecorded {
            label,
            blobs,
            at_ms,
        } => E::SnapshotRecorded {
            label,
            blobs,
            at_ms,
        },
        Event::OperationIntended {
            op,
            step,
            action,
            target,
            idempotency_key,
            params,
            at_ms,
        } => E::OperationIntended {
            op,
            step,
            action,
            target,
            idempotency_key,
            attempt: 1,
            params,
            at_ms,
        },
        Event::OperationSucceeded {
            op,
            observed,
            at_ms,
        } => E::OperationSucceeded {
            op,
            attempt: 1,
            http_status: None,
            observed,
            duration_ms: 0,
            at_ms,
        },
        Event::OperationFailed { op, error, at_ms } => E::OperationFailed {
            op,
            attempt: 1,
            http_status: None,
            error,
            retryable: false,
            duration_ms: 0,
            at_ms,
        },
        Event::RunPaused { reason, at_ms } => E::RunPaused { reason, at_ms },
        Event::RunResumed { at_ms } => E::RunResumed {
            host: String::new(),
            user: String::new(),
            pid: 0,
            tool_version: String::new(),
            at_ms,
        },
        Event::RunSealed { head, at_ms } => E::RunSealed {
            head,
            outcome: String::new(),
            at_ms,
        },
    }
}
