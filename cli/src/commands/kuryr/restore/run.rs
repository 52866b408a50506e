//! `ovn-migrate kuryr restore --from <run>`: plan the restore from a cleanup
//! run's record and run it (after confirmation unless `--yes`), or carry on
//! the current restore run; `--dry-run` only shows the plan.

use clap::Args;
use steps::kuryr::cleanup::restore_run::{RestoreOptions, RestoreSession};
use steps::workflow::Workflow;

use super::super::connect::connect_with_timeout;
use super::super::options::TimingFlags;
use super::source_dir;
use super::workflow::{restore_error, show_plan};
use crate::context::Context;
use crate::driver;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Restore what a cleanup run deleted.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The cleanup run: its run id (in the state directory) or its journal directory.
    #[arg(long, value_name = "RUN|DIR")]
    pub from: Option<String>,
    /// Show what would be created and what cannot come back; change and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Not needed after a crash (a dead holder's lock is taken over and journaled);
    /// names the dead holder (host:pid) you expect, so that any other holder is refused.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr restore --from`.
pub fn run(args: RunArgs, ctx: &Context) -> Result<i32> {
    let Some(from) = args.from.as_deref() else {
        return Err(CliError::usage("failed to restore: no cleanup run given")
            .with_hint("name it with --from <run id|journal dir>, or carry on with `ovn-migrate kuryr restore resume`"));
    };
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    let dir = source_dir(ctx, &session.cluster_id, from)?;
    let w = RestoreSession::new(session, dir);
    if args.dry_run {
        let discovery = ctx.block_on(w.discover())?.map_err(restore_error)?;
        let options = RestoreOptions {
            from_run: discovery.source.run_id.clone(),
        };
        let plan = RestoreSession::plan(&discovery, &options).map_err(restore_error)?;
        let (mut doc, text) = show_plan(&plan);
        doc["dry_run"] = true.into();
        ctx.output.print(&doc, || {
            format!("{text}dry run: nothing was changed or recorded")
        })?;
        return Ok(ExitCode::OK);
    }
    let source = ctx.block_on(w.source())?.map_err(restore_error)?;
    let options = RestoreOptions {
        from_run: source.run_id,
    };
    driver::run(
        ctx,
        &w,
        options,
        true,
        &args.timing.run_timing()?,
        args.break_lock,
    )
}
