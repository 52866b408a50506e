//! `ovn-migrate kuryr run`: execute the migration phase. Uses the current plan
//! (refused if the cluster drifted since it was made, or if migration flags
//! are given that differ from the plan's), or makes one and shows it first;
//! asks before the first change unless `--yes`. On a run that was
//! interrupted, it carries on as `resume` does.

use clap::Args;

use super::connect::connect_with_timeout;
use super::options::{MigrateFlags, TimingFlags};
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Run the Kuryr → OVN-Kubernetes migration phase (M0–M11).
///
/// Prechecks, backs up the network config, sets the migration field, waits
/// for the machine config rollout, switches the plugin, reboots every node
/// (Nova by providerID, or --reboot-command), verifies, and removes the
/// migration config. Every change is journaled before it is made; an
/// interrupted run carries on where it stopped. Migration flags given for a
/// run that already has a plan must match it (make a new plan otherwise).
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub flags: MigrateFlags,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr run`.
pub fn run(args: RunArgs, ctx: &Context) -> Result<i32> {
    let options = args.flags.options()?;
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    driver::run(
        ctx,
        &session,
        options,
        args.flags.named(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
