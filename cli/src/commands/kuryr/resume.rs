//! `ovn-migrate kuryr resume`: carry on the current (or a named) run after an
//! interruption. In-doubt operations are re-observed first; nothing whose
//! outcome was recorded is done again.

use std::path::PathBuf;

use clap::Args;

use super::connect::connect_with_timeout;
use super::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Carry on an interrupted migration run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's journal directory [default: the cluster's current run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    driver::resume(
        ctx,
        &session,
        args.journal.as_deref(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
