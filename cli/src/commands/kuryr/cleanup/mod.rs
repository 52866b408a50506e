//! `ovn-migrate kuryr cleanup …`: the Kuryr cleanup phase (C0–C22), after
//! the migration.
//!
//! `plan` takes the C0 snapshot and records what would be deleted and what
//! kept (by kind, with counts and reasons) without changing anything; `run`
//! executes the current plan (making one first if needed) after showing it
//! and asking, refuses a plan the cluster drifted from, and carries on an
//! interrupted run; `resume` carries on an interrupted run; `status`
//! reports where the current run is ([`crate::run_status`]). Connecting is
//! [`flags`], the workflow's presentation [`workflow`], its errors
//! [`errors`]; planning, running and resuming are the generic
//! [`crate::driver`]'s.

pub mod errors;
pub mod flags;
pub mod plan;
pub mod resume;
pub mod run;
pub mod status;
pub mod workflow;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `kuryr cleanup` subcommands.
#[derive(Debug, Subcommand)]
pub enum CleanupCommand {
    Plan(plan::PlanArgs),
    Run(run::RunArgs),
    Resume(resume::ResumeArgs),
    Status(status::StatusArgs),
}

/// Runs a `kuryr cleanup` subcommand.
pub fn run(cmd: CleanupCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        CleanupCommand::Plan(args) => plan::run(args, ctx),
        CleanupCommand::Run(args) => run::run(args, ctx),
        CleanupCommand::Resume(args) => resume::run(args, ctx),
        CleanupCommand::Status(args) => status::run(args, ctx),
    }
}
