//! `ovn-migrate journal salvage <DIR>`: a new run from a damaged journal.
//!
//! A journal refused as damaged (exit 9: its database lost records its head
//! witness says were made durable) is never written to: its directory is
//! moved aside, whole, to `<run-id>.damaged-<time>` in the same cluster
//! directory, and a new journal for the same run (same run id, so the same
//! cluster lease and log) is made in its place from every record that still
//! links, with the salvage recorded as an operator decision and every
//! operation the lost records may have started put in doubt
//! ([`journal::salvage`]), so that `kuryr resume` re-observes those
//! operations before sending anything.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Make a new run from a damaged journal (the damaged one is left as it is).
///
/// Moves DIR aside unchanged (to `<run-id>.damaged-<time>` beside it), then
/// makes a new journal for the same run at DIR from every record that still
/// links, records the salvage as a decision and puts every operation the
/// lost records may have started in doubt. Then `ovn-migrate kuryr resume`
/// re-observes those operations before it acts; a reboot whose record was
/// lost stops for you (exit 6). The moved-aside directory is the evidence.
#[derive(Debug, Args)]
pub struct SalvageArgs {
    /// The damaged journal directory (`<state-dir>/<cluster-id>/<run-id>`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Runs `journal salvage`.
pub fn run(args: SalvageArgs, ctx: &Context) -> Result<i32> {
    let dir = std::path::absolute(&args.dir).unwrap_or(args.dir);
    let cluster_dir = dir
        .parent()
        .ok_or_else(|| CliError::usage(format!("{} has no parent directory", dir.display())))?
        .to_path_buf();
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = cluster_dir.join(format!("{run_id}.damaged-{stamp}"));
    let journal::Holder { user, host, .. } = journal::Holder::me(env!("CARGO_PKG_VERSION"));
    let by = format!("{user}@{host}");
    // Refuse before moving anything when there is nothing to salvage.
    drop(journal::Journal::open_damaged(&dir)?);
    std::fs::rename(&dir, &aside).map_err(|e| {
        CliError::internal(format!(
            "failed to move {} aside to {}: {e}",
            dir.display(),
            aside.display()
        ))
    })?;
    let s = match journal::salvage(&aside, &dir, &run_id, &by) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::rename(&aside, &dir);
            return Err(e.into());
        }
    };
    let _ = std::fs::File::open(&cluster_dir).and_then(|d| d.sync_all());
    let into = dir.clone();
    let in_doubt: Vec<String> = s.in_doubt.iter().map(|o| o.0.clone()).collect();
    let doc = json!({
        "damaged": aside, "reason": s.reason, "readable": s.readable, "witnessed": s.witnessed,
        "journal": into, "run_id": run_id, "in_doubt": in_doubt,
    });
    ctx.output.print(&doc, || {
        format!(
            "salvaged run {run_id}\n  what was wrong: {}\n  records 1..={} could be read{}\n  new journal: {}\n  \
             put in doubt, re-observed on resume: {}\nnext: keep {} as evidence; run `ovn-migrate kuryr resume`",
            s.reason,
            s.readable,
            s.witnessed
                .map(|w| format!("; {w} had been made durable"))
                .unwrap_or_default(),
            into.display(),
            if in_doubt.is_empty() {
                "none".to_string()
            } else {
                in_doubt.join(", ")
            },
            aside.display()
        )
    })?;
    Ok(ExitCode::OK)
}
