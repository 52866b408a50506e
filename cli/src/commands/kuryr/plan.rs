//! `ovn-migrate kuryr plan`: discover the cluster and record the migration
//! plan as a new run, changing nothing. `run` then executes exactly this plan,
//! and refuses it if the cluster changed in between.

use clap::Args;

use super::common::{connect, discover_and_plan, record_run, show_plan};
use super::options::MigrateFlags;
use crate::context::Context;
use crate::error::Result;
use crate::exit::ExitCode;

/// Discover the cluster and record the migration plan (M0–M11); changes nothing.
///
/// The plan is journaled as a new run and becomes the cluster's current run;
/// `ovn-migrate kuryr run` executes it.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: MigrateFlags,
}

/// Runs `kuryr plan`.
pub fn run(args: PlanArgs, ctx: &Context) -> Result<i32> {
    let options = args.flags.options()?;
    let session = connect(ctx)?;
    let (discovered, plan) = discover_and_plan(ctx, &session, &options)?;
    let (run_id, dir, journal) = record_run(ctx, &session, &discovered, &options, &plan)?;
    drop(journal);
    let (mut doc, text) = show_plan(&plan);
    doc["run_id"] = run_id.clone().into();
    doc["journal"] = dir.display().to_string().into();
    ctx.output.print(&doc, || {
        format!(
            "{text}\nrecorded as run {run_id} ({})\nexecute it with: ovn-migrate kuryr run",
            dir.display()
        )
    })?;
    Ok(ExitCode::OK)
}
