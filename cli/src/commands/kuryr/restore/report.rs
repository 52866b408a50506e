//! `ovn-migrate kuryr restore report`: what a restore run brought back. The
//! run's journal says what it planned, did, mapped and could not restore;
//! the restored objects are then read back by their new IDs and compared
//! with the cleanup's snapshot (same name, CIDR, tags and relations): the
//! restore share. Reads only.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use steps::kuryr::cleanup::restore_run::report::{measure, read_report};

use super::super::connect::connect;
use super::super::errors::os_error;
use super::resume::run_dir;
use super::workflow::restore_error;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Show what a restore run brought back, measured against the cleanup's snapshot (reads only).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The restore run's journal directory [default: the cluster's current restore run].
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,
}

/// Runs `kuryr restore report`.
pub fn run(args: ReportArgs, ctx: &Context) -> Result<i32> {
    let session = connect(ctx)?;
    let Some(dir) = run_dir(ctx, &session.cluster_id, args.journal.as_deref())? else {
        return Err(CliError::usage(format!(
            "failed to report on a restore: cluster {} has no restore run",
            session.cluster_id
        ))
        .with_hint("start one with `ovn-migrate kuryr restore --from <cleanup run>`"));
    };
    let j = journal::Journal::open_read(&dir)?;
    let (report, source, _) = ctx.block_on(read_report(j))?.map_err(restore_error)?;
    let share = ctx
        .block_on(measure(&session.openstack, &source, &report.id_map))?
        .map_err(|e| os_error(&e))?;
    let doc = json!({
        "journal": dir,
        "report": report,
        "share": {"restored": share.restored, "total": share.total, "ratio": share.ratio(), "misses": share.misses},
    });
    ctx.output.print(&doc, || {
        let mut t = format!(
            "restore run {} from cleanup run {}: {}/{} operations done\nrestore share: {}/{} = {:.3} of the deleted objects are back with the same name, CIDR, tags and relations\n",
            report.restore_run,
            report.source_run,
            report.done,
            report.operations,
            share.restored,
            share.total,
            share.ratio()
        );
        for (kind, id, why) in &share.misses {
            t.push_str(&format!("  not back as it was: {kind} {id}: {why}\n"));
        }
        for n in &report.not_restored {
            t.push_str(&format!("  not restored: {} {}: {}\n", n.kind, n.old_id, n.why));
        }
        let certain = report.losses.iter().filter(|l| l.certain).count();
        t.push_str(&format!(
            "  {certain} fields the restored objects cannot get back (new IDs, MACs, interface and VIP ports); `--output json` lists them\n  {}\n  journal: {}",
            report.kubernetes,
            dir.display()
        ));
        t
    })?;
    Ok(if share.misses.is_empty() {
        ExitCode::OK
    } else {
        ExitCode::FAILURE
    })
}
