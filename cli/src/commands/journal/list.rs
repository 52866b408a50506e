//! `ovn-migrate journal list`: the journals under the state directory.
//!
//! Each journal directory (`<state-dir>/<cluster-id>/<run-id>/`) is read with
//! [`journal::Journal::open_read`] (a private copy: no lock taken, nothing
//! written) for its run id, workflow, record count and seal. A journal a run
//! is using is listed with its holder (from [`journal::lock::holder`]) and
//! its counts up to the last durable head. Nothing in the journals is changed.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use crate::state::{self, FoundJournal};
use journal::{Event, Journal};

/// List the journals under the state directory.
///
/// Shows each run's cluster, run id, workflow, record count, whether it was
/// sealed, and who holds its lock if a migration is using it now.
#[derive(Debug, Args)]
pub struct ListArgs {}

/// One journal in the listing.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub cluster_id: String,
    pub run_id: String,
    pub workflow: Option<String>,
    /// Records in the journal; unknown while another process holds it.
    pub records: Option<u64>,
    /// Whether the run was sealed; unknown while another process holds it.
    pub sealed: Option<bool>,
    /// True when this run is its workflow's current run (in `current`).
    pub current: bool,
    /// Who holds the lock (`pid N on host H …`), when it is held or stale.
    pub lock_holder: Option<String>,
    /// Why the journal could not be read, when it could not.
    pub error: Option<String>,
    pub dir: PathBuf,
}

/// Returns the listing entry of one journal directory.
pub fn inspect(found: &FoundJournal) -> Listed {
    let cluster_dir = found.dir.parent().unwrap_or(&found.dir);
    let currents = state::read_current(cluster_dir);
    let current_of = currents
        .iter()
        .find(|(_, run)| *run == found.run_id)
        .map(|(w, _)| w.clone());
    let mut listed = Listed {
        cluster_id: found.cluster_id.clone(),
        run_id: found.run_id.clone(),
        workflow: current_of.clone(),
        records: None,
        sealed: None,
        current: current_of.is_some(),
        lock_holder: None,
        error: None,
        dir: found.dir.clone(),
    };
    listed.lock_holder = journal::lock::holder(&found.dir).map(|h| {
        if h.alive_here() {
            h.to_string()
        } else {
            format!("{h} (not running here; stale or remote)")
        }
    });
    match Journal::open_read(&found.dir) {
        Ok(j) => {
            listed.cluster_id = j.target().cluster_id.clone();
            listed.run_id = j.run_id().to_string();
            listed.records = Some(j.head().0);
            listed.sealed = Some(j.sealed().is_some());
            if let Ok(Some(rec)) = j.read(1)
                && let Event::RunStarted { workflow, .. } = rec.event
            {
                listed.workflow = Some(workflow);
            }
        }
        Err(e) => listed.error = Some(CliError::from(e).message().to_string()),
    }
    listed
}

/// Returns the listing as an aligned table.
pub fn table(rows: &[Listed]) -> String {
    let mut lines = vec![[
        "CLUSTER".to_string(),
        "RUN".into(),
        "WORKFLOW".into(),
        "RECORDS".into(),
        "STATE".into(),
        "LOCK".into(),
    ]];
    for r in rows {
        let state = match (r.sealed, &r.error, &r.lock_holder) {
            (_, Some(e), _) => format!("unreadable: {e}"),
            (_, _, Some(_)) => "in use".into(),
            (Some(true), ..) => "sealed".into(),
            _ => "open".into(),
        };
        let workflow = r.workflow.clone().unwrap_or_else(|| "?".into());
        lines.push([
            r.cluster_id.clone(),
            r.run_id.clone(),
            if r.current {
                format!("{workflow}*")
            } else {
                workflow
            },
            r.records.map_or("?".into(), |n| n.to_string()),
            state,
            r.lock_holder.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = (0..6)
            .map(|i| format!("{:w$}", l[i], w = widths[i]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Runs `journal list`.
pub fn run(_args: ListArgs, ctx: &Context) -> Result<i32> {
    let dir = ctx.state_dir();
    let found = state::find_journals(&dir).map_err(|e| {
        CliError::config(format!(
            "failed to read the state directory {}: {}",
            dir.display(),
            crate::error::chain(&e)
        ))
        .with_hint("point --state-dir (or OVN_MIGRATE_STATE_DIR) at a readable directory")
    })?;
    let rows: Vec<Listed> = found.iter().map(inspect).collect();
    let doc = serde_json::json!({ "state_dir": dir, "journals": rows });
    ctx.output.print(&doc, || {
        if rows.is_empty() {
            format!("no journals under {}", dir.display())
        } else {
            format!(
                "journals under {} (* marks a workflow's current run)\n{}",
                dir.display(),
                table(&rows)
            )
        }
    })?;
    Ok(ExitCode::OK)
}
