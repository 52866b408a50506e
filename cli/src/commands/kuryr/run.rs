//! `ovn-migrate kuryr run`: execute the migration phase. Uses the current plan
//! (refused if the cluster drifted since it was made), or makes one and shows
//! it first; asks before the first change unless `--yes`. On a run that was
//! interrupted, it carries on as `resume` does.

use clap::Args;
use steps::kuryr::migrate::load_run;

use super::common::{
    connect_with_timeout, discover_and_plan, drive, migrate_error, open_run, record_run, show_plan,
};
use super::options::{MigrateFlags, TimingFlags};
use crate::context::Context;
use crate::error::Result;

/// Run the Kuryr → OVN-Kubernetes migration phase (M0–M11).
///
/// Prechecks, backs up the network config, sets the migration field, waits
/// for the machine config rollout, switches the plugin, reboots every node
/// (Nova by providerID, or --reboot-command), verifies, and removes the
/// migration config. Every change is journaled before it is made; an
/// interrupted run carries on where it stopped.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub flags: MigrateFlags,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Break a stale journal lock left by a process that died, naming it as host:pid.
    #[arg(long, value_name = "HOST:PID")]
    pub break_lock: Option<String>,
}

/// Runs `kuryr run`.
pub fn run(args: RunArgs, ctx: &Context) -> Result<i32> {
    let session = connect_with_timeout(ctx, args.timing.request_timeout()?)?;
    if let Some((journal, dir)) = open_run(ctx, &session, None, args.break_lock.clone())? {
        if let Some(seal) = journal.sealed() {
            ctx.output.print(&serde_json::json!({"outcome": "completed", "sealed_at": seal, "journal": dir}), || {
                format!("the migration phase of this cluster already completed (run sealed at record {seal}); journal: {}", dir.display())
            })?;
            return Ok(crate::exit::ExitCode::OK);
        }
        {
            let loaded = ctx.block_on(load_run(journal))?.map_err(migrate_error)?;
            if loaded.started {
                ctx.output.note(format!(
                    "carrying on run {} ({})",
                    loaded.run_id,
                    dir.display()
                ));
            } else {
                ctx.block_on(session.check_drift(&loaded))?
                    .map_err(migrate_error)?;
                let (_, text) = show_plan(&loaded.plan);
                ctx.output.note(text);
                ctx.confirm_or_decline("Run this plan against the cluster?")?;
            }
            return drive(ctx, &session, &loaded, &dir, &args.timing);
        }
    }
    let options = args.flags.options()?;
    let (discovered, plan) = discover_and_plan(ctx, &session, &options)?;
    let (_, text) = show_plan(&plan);
    ctx.output.note(text);
    ctx.confirm_or_decline("Run this plan against the cluster?")?;
    let (_, dir, journal) = record_run(ctx, &session, &discovered, &options, &plan)?;
    let loaded = ctx.block_on(load_run(journal))?.map_err(migrate_error)?;
    drive(ctx, &session, &loaded, &dir, &args.timing)
}
