//! `ovn-migrate kuryr plan`: discover the cluster and record the migration
//! plan as a new run, changing nothing. `run` then executes exactly this plan,
//! and refuses it if the cluster changed in between.

use clap::Args;
use steps::kuryr::migrate::{WORKFLOW, start_run};

use super::common::{cluster_dir, connect, migrate_error, show_plan};
use super::options::MigrateFlags;
use crate::context::Context;
use crate::error::Result;
use crate::exit::ExitCode;
use crate::state;

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
    let discovered = ctx.block_on(session.discover())?.map_err(migrate_error)?;
    let plan = session.plan(&discovered, &options).map_err(migrate_error)?;
    let cluster = cluster_dir(ctx, &session)?;
    let run_id = state::new_run_id();
    let dir = state::journal_dir(&cluster, &run_id);
    let journal = ctx
        .block_on(start_run(
            &session,
            dir.clone(),
            &run_id,
            env!("CARGO_PKG_VERSION"),
            &discovered,
            &options,
            &plan,
        ))?
        .map_err(migrate_error)?;
    drop(journal);
    state::set_current_run(&cluster, WORKFLOW, &run_id)?;
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
