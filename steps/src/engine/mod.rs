//! The step engine: runs a plan's operations with the journal's promises.
//!
//! A step is a type ([`Step`], plus [`Watch`] for read-only steps or
//! [`Effect`] for steps that change something), boxed once into an
//! [`ErasedStep`] by [`check`], [`wait`] or [`effect`] when the plan is built.
//! The [`runner`] takes them in order: done operations are skipped, in-doubt
//! ones (an intent without an outcome) are re-observed and classified done /
//! not done / ambiguous, and the rest observe (journaled in full), decide
//! (pure) and, when needed, act: a durable intent, the effect, an outcome.
//! Waits record condition changes with the object observed, not polls.
//! Consecutive steps of one group run in bounded batches whose intents are one
//! group commit of the [`Recorder`]. Retries follow one pure policy
//! ([`retry`]). A [`Fence`] (the cluster [`lease`]) is asked before every
//! intent, and the run stops with [`RunOutcome::LeaseLost`] once it may no
//! longer act; cancellation (a stop signal) lets in-flight operations finish
//! and records a pause.
//! Compensations, time gates and plan expansions are the runner's too, so
//! every workflow gets them.

mod erased;
mod operation;
mod progress;
mod recorder;
pub mod retry;
mod runner;
mod spans;
mod step;
mod wait;

/// The cluster lease lives under `kube/`; re-exported here for the engine's callers.
pub use crate::kube::lease;
pub use crate::kube::lease::{Fence, NoFence};

pub use erased::{ErasedEffect, ErasedStep, Patience, check, effect, wait};
pub use operation::observation_key;
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use recorder::{
    Recorder, append_busy, crash_at_seq, crash_point, describe, recorded_at, resolve,
};
pub use retry::RetryPolicy;
pub use runner::{
    Clock, Counts, Env, MakeStep, Ops, RunOutcome, RunSummary, SystemClock, Timing, expansion_key,
    run,
};
pub use spans::compensated_key;
pub use step::{Applied, Effect, Gate, Step, StepError, Verdict, WaitState, Watch};

#[cfg(test)]
mod tests;
