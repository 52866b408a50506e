//! `ovn-migrate kuryr cleanup plan`: take the C0 snapshot and record the
//! cleanup plan as a new run, changing nothing. It lists every object to
//! delete and every object kept on purpose, by kind, with counts and the
//! reason, and the plan's digest; `cleanup run` executes exactly this plan
//! and refuses it if the cluster or cloud changed in between.

use clap::Args;

use super::flags::{CleanupFlags, connect};
use crate::commands::kuryr::connect::DEFAULT_REQUEST_TIMEOUT;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Snapshot Kuryr's leftovers and record the cleanup plan (C0–C22); changes nothing.
///
/// Lists every object the cleanup would delete and every object it keeps
/// on purpose (another cluster's, the installer's, a user's), by kind, with
/// counts and the reason; `--output json` gives the same as one document.
/// The plan becomes the cluster's current cleanup run; `ovn-migrate kuryr
/// cleanup run` executes it.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: CleanupFlags,
    /// Operations in flight at once when the plan runs.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
}

/// Runs `kuryr cleanup plan`.
pub fn run(args: PlanArgs, ctx: &Context) -> Result<i32> {
    let session = connect(ctx, DEFAULT_REQUEST_TIMEOUT, args.flags.read_concurrency)?;
    driver::plan(ctx, &session, &args.flags.options(args.concurrency))
}
