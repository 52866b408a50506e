//! `ovn-migrate ovs prepare resume`: carry on the current (or a named)
//! prepare run. A Galera member left desynced by a crash is resynced first;
//! in-doubt operations are re-observed; nothing whose outcome was recorded
//! is done again.

use std::path::PathBuf;

use clap::Args;

use super::connect::connect;
use crate::commands::kuryr::options::TimingFlags;
use crate::context::Context;
use crate::driver;
use crate::error::Result;

/// Carry on an interrupted `ovs prepare` run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's journal directory [default: the current prepare run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `ovs prepare resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let session = connect(ctx, args.timing.request_timeout()?)?;
    driver::resume(
        ctx,
        &session,
        args.journal.as_deref(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
