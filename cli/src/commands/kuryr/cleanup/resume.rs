//! `ovn-migrate kuryr cleanup resume`: carry on the current (or a named)
//! cleanup run after an interruption. In-doubt operations are re-observed
//! first; nothing whose outcome was recorded is sent again.

use std::path::PathBuf;

use clap::Args;

use super::flags::connect;
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Carry on an interrupted cleanup run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's journal directory [default: the cluster's current cleanup run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// OpenStack reads in flight while checking the plan against the cloud (before C0 ran).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub read_concurrency: usize,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr cleanup resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let session = connect(ctx, args.timing.request_timeout()?, args.read_concurrency)?;
    driver::resume(
        ctx,
        &session,
        args.journal.as_deref(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
