//! What the engine tells a user interface as it goes.

/// One thing that happened, for progress bars and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// An operation started (`index` of `total`, from 1).
    Started {
        op: String,
        step: String,
        action: String,
        index: usize,
        total: usize,
    },
    /// A waited-for condition changed.
    Condition { op: String, condition: String },
    /// An attempt failed and will be retried after `delay_ms`.
    Retrying {
        op: String,
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    /// An operation finished: `done`, `skipped` (already done), or `failed`.
    Finished { op: String, result: &'static str },
}

/// Receives progress events; must not block.
pub trait Progress: Send + Sync {
    /// Called for every event.
    fn on(&self, event: &ProgressEvent);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn on(&self, _: &ProgressEvent) {}
}
