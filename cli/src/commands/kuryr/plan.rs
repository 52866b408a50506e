//! `ovn-migrate kuryr plan`: discover the cluster and record the migration
//! plan as a new run, changing nothing. `run` then executes exactly this plan,
//! and refuses it if the cluster changed in between.

use clap::Args;

use super::connect::connect;
use super::options::MigrateFlags;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

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
    driver::plan(ctx, &session, &options)
}
