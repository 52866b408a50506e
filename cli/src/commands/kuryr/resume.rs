//! `ovn-migrate kuryr resume`: carry on the current (or a named) run after an
//! interruption. In-doubt operations are re-observed first; nothing whose
//! outcome was recorded is done again.

use std::path::PathBuf;

use clap::Args;
use steps::kuryr::migrate::load_run;

use super::common::{connect_with_timeout, drive, migrate_error, open_run};
use super::options::TimingFlags;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Carry on an interrupted migration run where it stopped.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's journal directory [default: the cluster's current run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Break a stale journal lock left by a process that died, naming it as host:pid.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr resume`.
pub fn run(args: ResumeArgs, ctx: &Context) -> Result<i32> {
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    let Some((journal, dir)) = open_run(
        ctx,
        &session,
        args.journal.as_deref(),
        args.break_lock.clone(),
    )?
    else {
        return Err(CliError::usage(format!(
            "there is no migration run of cluster {} to resume",
            session.cluster_id
        ))
        .with_hint("start one with `ovn-migrate kuryr run`"));
    };
    if let Some(seal) = journal.sealed() {
        ctx.output.print(
            &serde_json::json!({"outcome": "completed", "sealed_at": seal, "journal": dir}),
            || {
                format!(
                    "run already completed (sealed at record {seal}); journal: {}",
                    dir.display()
                )
            },
        )?;
        return Ok(ExitCode::OK);
    }
    let loaded = ctx.block_on(load_run(journal))?.map_err(migrate_error)?;
    if !loaded.started {
        ctx.block_on(session.check_drift(&loaded))?
            .map_err(migrate_error)?;
        ctx.confirm_or_decline("This run has not started yet. Run its plan against the cluster?")?;
    }
    drive(ctx, &session, &loaded, &dir, &args.timing)
}
