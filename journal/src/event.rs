//! The events of a run: facts, named subject then past tense.
//!
//! [`Event`] is the stored form of format version 3 (see [`crate::format`]):
//! it is frozen. A change to it is a new format version with its own frozen
//! type and an upcast from this one; stored bytes are never rewritten.
//! Types here are plain, externally tagged and never skip fields, because
//! bincode 2 in serde mode mishandles anything else. Free-form data travels as
//! [`Json`] text inside a bounded [`Doc`], and free text as a bounded [`Text`]
//! ([`crate::bounded`]), so adding a field to a payload never changes the
//! format and no payload makes a record too large.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::bounded::{Doc, Text};
use crate::chain::ChainHash;
use crate::target::Target;

/// A record's sequence number: contiguous, starting at 1.
pub type Seq = u64;

/// Identifies one operation of a plan across attempts, pauses and resumes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(pub String);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OpId {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// A JSON document stored as text (bincode cannot carry `serde_json::Value`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(pub String);

impl Json {
    /// Encodes a value; the value must be `Serialize`, which no secret is.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> crate::Result<Self> {
        serde_json::to_string(value)
            .map(Json)
            .map_err(crate::Error::Json)
    }

    /// Returns the JSON `null`.
    pub fn null() -> Self {
        Json("null".into())
    }

    /// Decodes the document.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        serde_json::from_str(&self.0).map_err(crate::Error::Json)
    }

    /// Returns the document as a `serde_json::Value` (`null` when it does not parse).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

/// The blake3 hash of a blob's bytes, its address in the blob store.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    /// Returns the address of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({self})")
    }
}

/// One snapshotted object: what it is and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// Kind of object, e.g. `kuryrnetworks` or `neutron/ports`.
    pub kind: String,
    /// Its name or id (`namespace/name` for namespaced Kubernetes objects).
    pub name: String,
    /// Address of its bytes in the blob store.
    pub hash: BlobHash,
}

/// One operation of a plan, as recorded with the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationSpec {
    /// Stable id of the operation.
    pub op: OpId,
    /// Step of the workflow, e.g. `M3`.
    pub step: String,
    /// What it does, e.g. `set-migration-field`.
    pub action: String,
    /// What it acts on, e.g. `operator.openshift.io/v1/networks/cluster`.
    pub target: String,
    /// Key that lets a creation be found again after a crash.
    pub idempotency_key: String,
}

/// How an in-doubt operation was classified after re-observing the live object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReobservedVerdict {
    /// The effect happened.
    Done,
    /// The effect did not happen; it runs again as the same operation.
    NotDone,
    /// Cannot tell; the operator decides.
    Ambiguous,
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitOutcome {
    /// The condition was met.
    Met,
    /// The deadline passed.
    TimedOut,
    /// The wait was interrupted (pause, Ctrl-C).
    Interrupted,
    /// The awaited object reported a failure (e.g. a degraded pool).
    Failed,
}

/// Why a run paused, as recorded in [`Event::RunPaused`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PauseReason {
    /// Ctrl-C or SIGTERM stopped the run at a safe point.
    Interrupted,
    /// The run stopped cleanly for another reason (a wait timed out, the
    /// lease was lost); resume continues.
    Stopped { detail: Text },
    /// An in-doubt operation could not be classified: the operator decides.
    /// `live` is what was observed of the object.
    NeedsOperator { op: OpId, detail: Text, live: Doc },
    /// A check did not pass (e.g. a precheck).
    CheckFailed { op: OpId, detail: Text },
    /// An operation failed for good.
    Failed { op: OpId, error: Text },
}

impl PauseReason {
    /// Returns a one-line description (free text shown by its inline prefix).
    pub fn describe(&self) -> String {
        match self {
            PauseReason::Interrupted => "interrupted".into(),
            PauseReason::Stopped { detail } => format!("stopped: {detail}"),
            PauseReason::NeedsOperator { op, detail, .. } => {
                format!("needs an operator at {op}: {detail}")
            }
            PauseReason::CheckFailed { op, detail } => format!("check {op} failed: {detail}"),
            PauseReason::Failed { op, error } => format!("{op} failed: {error}"),
        }
    }
}

/// How a run ended, as recorded in [`Event::RunSealed`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunOutcome {
    /// Every step is done.
    Completed,
    /// An operator ended the run before it completed.
    Abandoned { detail: Text },
    /// A version-1 seal, which recorded no outcome.
    Unrecorded,
    /// A version-2 seal whose outcome string was not `completed`.
    Legacy { outcome: Text },
}

/// A fact about a run. Format version 3 (see [`crate::format`]); its time is
/// in the record's envelope ([`crate::Recorded::at_ms`]), stamped by the one
/// append function. Free text is [`Text`] and documents are [`Doc`], both
/// bounded by construction, so no event grows past a record's limit with
/// what a cluster or a command says.
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
    },
    /// A plan was made from a discovery (both digests) and recorded.
    /// `operations` is a blob holding the JSON list of [`OperationSpec`]s.
    PlanRecorded {
        plan_digest: String,
        discovery_digest: String,
        operations: BlobHash,
        count: u32,
    },
    /// Inputs of a decision were observed (discovery, precheck readings).
    ObservationRecorded { key: String, body: Doc },
    /// Discovered objects were stored in the blob store.
    SnapshotRecorded { label: String, blobs: Vec<BlobRef> },
    /// An operation is about to act; durable before its effect.
    OperationIntended {
        op: OpId,
        step: String,
        action: String,
        target: String,
        idempotency_key: String,
        attempt: u32,
        params: Doc,
    },
    /// An operation's effect happened (or was found to have happened).
    OperationSucceeded {
        op: OpId,
        attempt: u32,
        http_status: Option<u16>,
        observed: Doc,
        duration_ms: u64,
    },
    /// An operation's effect failed.
    OperationFailed {
        op: OpId,
        attempt: u32,
        http_status: Option<u16>,
        error: Text,
        retryable: bool,
        duration_ms: u64,
    },
    /// An operation was found already done before any intent; nothing was sent.
    OperationSkipped { op: OpId, reason: Text },
    /// An in-doubt operation was re-observed on resume and classified.
    OperationReobserved {
        op: OpId,
        verdict: ReobservedVerdict,
        observed: Doc,
    },
    /// A wait for a condition began.
    WaitStarted { wait: String, step: String },
    /// A waited-for condition changed (recorded on change, not on every poll).
    ConditionObserved {
        wait: String,
        condition: Text,
        detail: Doc,
    },
    /// A wait ended.
    WaitFinished { wait: String, outcome: WaitOutcome },
    /// An operator decided something: a confirmation, a skip, a reset, a salvage.
    DecisionRecorded {
        decision: String,
        detail: Text,
        by: String,
    },
    /// The run paused.
    RunPaused { reason: PauseReason },
    /// The run resumed, possibly on another process.
    RunResumed {
        host: String,
        user: String,
        pid: u32,
        tool_version: String,
    },
    /// A reset started a new epoch from a step; the old head stays in the chain.
    EpochStarted {
        epoch: u32,
        reset_to: String,
        previous_head: ChainHash,
    },
    /// The run ended; `head` is the chain hash of the record before this one.
    RunSealed {
        head: ChainHash,
        outcome: RunOutcome,
    },
    /// The journal's lock was taken over from a holder that is no longer
    /// running on this machine (its process died, e.g. `kill -9`).
    LockRecovered {
        host: String,
        pid: u32,
        user: String,
        since: String,
        tool_version: String,
    },
}

impl Event {
    /// Returns the event's name, e.g. `OperationIntended`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "RunStarted",
            Event::PlanRecorded { .. } => "PlanRecorded",
            Event::ObservationRecorded { .. } => "ObservationRecorded",
            Event::SnapshotRecorded { .. } => "SnapshotRecorded",
            Event::OperationIntended { .. } => "OperationIntended",
            Event::OperationSucceeded { .. } => "OperationSucceeded",
            Event::OperationFailed { .. } => "OperationFailed",
            Event::OperationSkipped { .. } => "OperationSkipped",
            Event::OperationReobserved { .. } => "OperationReobserved",
            Event::WaitStarted { .. } => "WaitStarted",
            Event::ConditionObserved { .. } => "ConditionObserved",
            Event::WaitFinished { .. } => "WaitFinished",
            Event::DecisionRecorded { .. } => "DecisionRecorded",
            Event::RunPaused { .. } => "RunPaused",
            Event::RunResumed { .. } => "RunResumed",
            Event::EpochStarted { .. } => "EpochStarted",
            Event::RunSealed { .. } => "RunSealed",
            Event::LockRecovered { .. } => "LockRecovered",
        }
    }

    /// Returns the operation this event is about, if any.
    pub fn op(&self) -> Option<&OpId> {
        match self {
            Event::OperationIntended { op, .. }
            | Event::OperationSucceeded { op, .. }
            | Event::OperationFailed { op, .. }
            | Event::OperationSkipped { op, .. }
            | Event::OperationReobserved { op, .. } => Some(op),
            _ => None,
        }
    }
}

/// Returns the current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
