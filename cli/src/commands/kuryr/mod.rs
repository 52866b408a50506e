//! `ovn-migrate kuryr …`: the Kuryr → OVN-Kubernetes migration phase (M0–M11).
//!
//! `plan` discovers and journals a plan without changing anything; `run`
//! executes the current plan (making one first if needed) after confirmation,
//! or carries on an interrupted run; `resume` carries on an interrupted run;
//! `status` reports where the current run is ([`crate::run_status`]);
//! `cleanup …` is the cleanup phase ([`cleanup`]). They are thin: connecting is
//! [`connect`], the workflow's presentation [`workflow`], its errors
//! [`errors`], and planning, running and resuming the generic
//! [`crate::driver`].

pub mod cleanup;
pub mod connect;
pub mod errors;
pub mod options;
pub mod plan;
pub mod restore;
pub mod resume;
pub mod run;
pub mod status;
pub mod workflow;

use clap::Subcommand;

use crate::context::Context;
use crate::error::Result;

/// The `kuryr` subcommands.
#[derive(Debug, Subcommand)]
pub enum KuryrCommand {
    Plan(plan::PlanArgs),
    Run(run::RunArgs),
    Resume(resume::ResumeArgs),
    Status(status::StatusArgs),
    /// The cleanup phase (C0–C22): delete Kuryr's leftovers after the migration.
    #[command(subcommand)]
    Cleanup(cleanup::CleanupCommand),
    Restore(restore::RestoreArgs),
}

/// Runs a `kuryr` subcommand.
pub fn run(cmd: KuryrCommand, ctx: &Context) -> Result<i32> {
    match cmd {
        KuryrCommand::Plan(args) => plan::run(args, ctx),
        KuryrCommand::Run(args) => run::run(args, ctx),
        KuryrCommand::Resume(args) => resume::run(args, ctx),
        KuryrCommand::Status(args) => status::run(args, ctx),
        KuryrCommand::Cleanup(cmd) => cleanup::run(cmd, ctx),
        KuryrCommand::Restore(args) => restore::run(args, ctx),
    }
}
