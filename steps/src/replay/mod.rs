//! Forensic replay: a run's decisions made again from its journal alone,
//! with no cluster and no cloud, the way Temporal's replayer re-runs a
//! workflow's code against its recorded history.
//!
//! [`replay`] reads a verified journal, re-runs the planner on the journaled
//! discovery and options (the plan's digest must be the one recorded), then
//! walks every record, rebuilding the run's state after each one
//! ([`RunState`], following epochs) and re-deriving every decision the
//! engine made from what it had journaled: each effect's verdict and intent
//! parameters, each re-observation's verdict, each condition of a wait and
//! how the wait ended, each plan expansion. Any difference is a
//! [`Divergence`], reported with its seq and both sides. [`registry`] finds
//! the replayer of a journal's workflow by its `RunStarted.workflow` name.

mod check;
pub mod registry;
pub mod reset;
mod state;

pub use check::{Divergence, MAX_LISTED, PlanCheck, Replay, ReplayError, replay};
pub use registry::{Entry, WORKFLOWS, entry_of, find, replay_journal, workflow_of};
pub use state::{OpLine, OpStatus, RunState};
