//! `ovn-migrate ovs fix resume`: carry on the current (or a named) fix run
//! after an interruption. In-doubt operations are re-observed first and
//! judged with the intent they recorded: nothing whose outcome was recorded
//! is done again, and no MTU is lowered twice.

use std::path::PathBuf;

use clap::Args;

use super::connect::{ConnectFlags, connect};
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::{CliError, Result};
use crate::state;
use steps::ovs::fix::WORKFLOW;

/// Carry on an interrupted fix run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's journal directory [default: the cloud's current fix run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectFlags,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `ovs fix resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let timing = args.timing.run_timing()?;
    let session = connect(ctx, &args.connect, timing.lease.request_timeout())?;
    if args.journal.is_none() {
        let cloud = state::cluster_dir(&ctx.ensure_state_dir()?, &session.cloud_id);
        if state::current_run(&cloud, WORKFLOW).is_none() {
            return Err(CliError::usage(format!(
                "there is no ovs fix run of cloud {} to resume",
                session.cloud_id
            ))
            .with_hint("start one with `ovn-migrate ovs fix --check ID` (or --all-safe)"));
        }
    }
    driver::resume(
        ctx,
        &session,
        args.journal.as_deref(),
        &timing,
        args.break_lock,
    )
}
