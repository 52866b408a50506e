//! The step engine: runs a plan's operations with the journal's promises.
//!
//! A plan is a list of [`Step`]s. For each one the [`runner`] re-reads the
//! journal's index: done operations are skipped, in-doubt ones (an intent
//! without an outcome) are re-observed and classified done / not done /
//! ambiguous, and the rest observe, decide and, when needed, act: a durable
//! intent, the effect, an outcome. Waits record condition changes, not polls.
//! Consecutive steps of one group run concurrently, their intents made
//! durable together by the [`Recorder`]'s group commit. Retries follow one
//! pure policy ([`retry`]). A cluster [`lease`] keeps a second machine out:
//! [`run_fenced`] asks its [`Fence`] before every effect intent and stops
//! with [`RunOutcome::LeaseLost`] once it may no longer act. Cancellation
//! (a stop signal) lets in-flight operations finish and records a pause.

mod progress;
mod recorder;
pub mod retry;
mod runner;
mod step;
mod wait;

/// The cluster lease lives under `kube/`; re-exported here for the engine's callers.
pub use crate::kube::lease;
pub use crate::kube::lease::{Fence, NoFence};

pub use progress::{NoProgress, Progress, ProgressEvent};
pub use recorder::{Recorder, crash_hook};
pub use retry::RetryPolicy;
pub use runner::{Counts, RunOutcome, RunSummary, Timing, run, run_fenced};
pub use step::{Effect, Step, StepError, StepKind, Verdict, WaitState};

#[cfg(test)]
mod tests;
