//! `ovn-migrate kuryr cleanup run`: execute the cleanup. Uses the current
//! plan (refused if the cluster or cloud drifted since it was made, or if
//! options are given that differ from the plan's), or makes one and shows
//! it first; asks before the first deletion unless `--yes`. On a run that
//! was interrupted, it carries on as `resume` does.

use clap::Args;

use super::flags::{CleanupFlags, connect};
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Delete Kuryr's leftovers (C0–C22) after the migration, journaled and resumable.
///
/// Checks the cluster runs OVN-Kubernetes with no migration in progress,
/// journals the C0 snapshot, then removes Kuryr's finalizers, load
/// balancers, trunk subports, ports, router interfaces, networks, security
/// groups, subnet pools, floating IPs, CRs and CRDs in dependency order
/// (--concurrency operations at once). Objects of another cluster, the
/// installer or a user are never touched. Every deletion is journaled
/// before it is sent; an interrupted run carries on where it stopped.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub flags: CleanupFlags,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr cleanup run`.
pub fn run(args: RunArgs, ctx: &Context) -> Result<i32> {
    let session = connect(
        ctx,
        args.timing.request_timeout()?,
        args.flags.read_concurrency,
    )?;
    driver::run(
        ctx,
        &session,
        args.flags.options(args.timing.concurrency),
        args.flags.named(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
