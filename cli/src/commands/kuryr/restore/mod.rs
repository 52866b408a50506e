//! `ovn-migrate kuryr restore …`: recreate from a cleanup run's snapshot
//! what that cleanup deleted, as a journaled, resumable run of its own.
//!
//! `restore --from <run>` plans and runs it (`--dry-run` shows the plan and
//! changes nothing), `restore resume` carries on an interrupted one,
//! `restore status` says where it is (from its journal alone) and `restore
//! report` what came back, measured against the snapshot. The run itself is
//! the generic [`crate::driver`]'s; [`workflow`] shows its plan and maps its
//! errors.

pub mod report;
pub mod resume;
pub mod run;
pub mod status;
pub mod workflow;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::state;

/// Recreate what a cleanup run deleted, from its snapshot (a journaled, resumable run).
///
/// Networks and subnets come back with the same CIDRs and gateways, subnet
/// pools, security groups with their rules, router interfaces, load
/// balancers with listeners, pools and members, trunk subports and floating
/// IPs with the same address where it is free. Old IDs are mapped to new ones
/// in the journal; what cannot come back is reported with why.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RestoreArgs {
    #[command(subcommand)]
    pub command: Option<RestoreCommand>,
    #[command(flatten)]
    pub run: run::RunArgs,
}

/// The `kuryr restore` subcommands.
#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    Resume(resume::ResumeArgs),
    Status(status::StatusArgs),
    Report(report::ReportArgs),
}

/// Runs `kuryr restore`.
pub fn run(args: RestoreArgs, ctx: &Context) -> Result<i32> {
    match args.command {
        None => run::run(args.run, ctx),
        Some(RestoreCommand::Resume(a)) => resume::run(a, ctx),
        Some(RestoreCommand::Status(a)) => status::run(a, ctx),
        Some(RestoreCommand::Report(a)) => report::run(a, ctx),
    }
}

/// Returns the journal directory `--from` names: a directory, or a run id of
/// `cluster_id` in the state directory.
pub fn source_dir(ctx: &Context, cluster_id: &str, from: &str) -> Result<PathBuf> {
    let p = Path::new(from);
    if p.is_dir() {
        return Ok(p.to_path_buf());
    }
    if state::is_run_id(from) {
        let dir = state::journal_dir(&state::cluster_dir(&ctx.state_dir()?, cluster_id), from);
        if dir.is_dir() {
            return Ok(dir);
        }
        return Err(CliError::usage(format!(
            "failed to find cleanup run {from} of cluster {cluster_id}: {} does not exist",
            dir.display()
        ))
        .with_hint(
            "`ovn-migrate journal list` shows the runs; or give the run's journal directory",
        ));
    }
    Err(CliError::usage(format!(
        "failed to read --from {from}: it is neither a directory nor a run id (YYYYmmddTHHMMSSZ-xxxx)"
    ))
    .with_hint("`ovn-migrate journal list` shows the runs; or give the run's journal directory"))
}
