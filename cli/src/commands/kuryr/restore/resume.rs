//! `ovn-migrate kuryr restore resume`: carry on the current (or a named)
//! restore run after an interruption. In-doubt creates are looked for again
//! by their idempotency keys first; nothing is created twice.

use std::path::PathBuf;

use clap::Args;
use steps::kuryr::cleanup::restore_run::RestoreSession;

use super::super::connect::connect_with_timeout;
use super::super::options::TimingFlags;
use super::workflow::restore_error;
use crate::context::Context;
use crate::driver;
use crate::error::Result;
use crate::state;
use steps::kuryr::cleanup::restore_run::WORKFLOW;
use steps::workflow::load_run;

/// Returns the restore run's journal: `journal`, else the cluster's current restore run.
pub fn run_dir(
    ctx: &Context,
    cluster_id: &str,
    journal: Option<&std::path::Path>,
) -> Result<Option<PathBuf>> {
    if let Some(j) = journal {
        return Ok(Some(j.to_path_buf()));
    }
    let cluster = state::cluster_dir(&ctx.state_dir()?, cluster_id);
    Ok(state::current_run(&cluster, WORKFLOW).map(|r| state::journal_dir(&cluster, &r)))
}

/// Carry on an interrupted restore run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The restore run's journal directory [default: the cluster's current restore run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr restore resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    // A run that has not started re-reads its source for the drift check: from
    // where its discovery says it was read.
    let source = match run_dir(ctx, &session.cluster_id, args.journal.as_deref())? {
        Some(dir) => {
            let j = journal::Journal::open_read(&dir)?;
            let loaded = ctx
                .block_on(load_run::<RestoreSession>(j))?
                .map_err(restore_error)?;
            PathBuf::from(loaded.discovery.source.journal_dir)
        }
        None => PathBuf::new(),
    };
    let w = RestoreSession::new(session, source);
    driver::resume(
        ctx,
        &w,
        args.journal.as_deref(),
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
