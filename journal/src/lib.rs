//! The journal: durable, blake3-chained, append-only events on sled.
//!
//! One journal records one run of a workflow against one target (a cluster and
//! its cloud). Every operation of a run writes a durable intent before it acts
//! and an outcome after; [`Journal`] is the only thing that appends. The
//! promises and their costs are in `shared/spec/journal.md`:
//!
//! * [`Journal::append`] returns only after sled's `flush()` returned *and* the
//!   database file was `fdatasync`ed ([`durable`]); [`Journal::append_group`]
//!   makes a batch durable with one flush and one `fdatasync`.
//! * Each stored record is a versioned envelope ([`format`]) whose hash chains
//!   it to the record before ([`chain`]); [`verify()`] recomputes every link.
//! * Snapshots live in a content-addressed blob store ([`BlobHash`]).
//! * One writer per journal ([`lock`]); a journal belongs to one [`Target`].
//! * Secrets cannot be journaled: [`Secret`] has no `Serialize`.
//! * [`export`] writes a journal as an audit bundle (JSONL, CADF, OTLP/JSON)
//!   and verifies a bundle offline.

pub mod bounded;
pub mod chain;
pub mod durable;
pub mod epoch;
mod error;
pub mod event;
pub mod export;
pub mod format;
pub mod golden;
mod keys;
pub mod lock;
mod open;
mod reader;
pub mod salvage;
mod secret;
mod store;
mod target;
pub mod verify;
pub mod witness;

pub use chain::ChainHash;
pub use error::{Error, Result};
pub use event::{
    BlobHash, BlobRef, Doc, Event, Json, OpId, OperationSpec, PauseReason, ReobservedVerdict,
    RunOutcome, Seq, Text, WaitOutcome,
};
pub use keys::{MAX_OP_ID, MAX_RECORD};
pub use lock::{Holder, LockError};
pub use salvage::{Salvaged, salvage};
pub use secret::Secret;
pub use store::{Damage, Journal, MAX_IDENTIFIER, OpState, OpenOptions, Recorded, RunInfo};
pub use target::Target;
pub use verify::{VerifyReport, VerifyStatus, verify, verify_journal};
