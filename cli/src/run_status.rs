//! Where a run is, from its journal alone (no cluster access), written once
//! for every workflow: phase, step, counts done / remaining / failed / in
//! doubt, elapsed, lock holder. While a live process holds the journal, the
//! status file it rewrites after every operation is shown as well. The
//! journal is opened read-only ([`journal::Journal::open_read`]): no lock, no
//! byte of the directory changed. A workflow's `status` command only names
//! the workflow and how to start a run of it.

use std::path::{Path, PathBuf};

use journal::{Event, Journal};
use serde_json::json;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use crate::run_progress::StatusFile;
use crate::state;
use steps::workflow::beside;

/// What a workflow's `status` command tells the shared one.
pub struct StatusOf<'a> {
    /// The workflow its journals are recorded under (`RunStarted.workflow`).
    pub workflow: &'a str,
    /// How to start a run of it, for the hint when there is none.
    pub start_hint: &'a str,
    /// A workflow's own line, read from the journal: its JSON key and (JSON, text).
    pub extra: Option<(&'a str, Extra<'a>)>,
}

/// A workflow's own reading of its journal, as (JSON, one line of text).
pub type Extra<'a> = &'a (dyn Fn(&Journal) -> (serde_json::Value, String) + 'a);

/// Shows the status of `journal`, or of `cluster`'s current run of the
/// workflow (the only cluster in the state directory when none is named).
pub fn show(
    ctx: &Context,
    of: &StatusOf<'_>,
    journal: Option<&Path>,
    cluster: Option<&str>,
) -> Result<i32> {
    let dir = match journal {
        Some(d) => d.to_path_buf(),
        None => current_journal(ctx, of, cluster)?,
    };
    if let Some(holder) = journal::lock::holder(&dir).filter(|h| h.alive_here()) {
        let file: Option<StatusFile> = std::fs::read(beside(&dir, "status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let doc = json!({"journal": dir, "running": true, "holder": holder.to_string(), "progress": file});
        ctx.output.print(&doc, || {
            let mut t = format!("running: {holder}\n  journal: {}", dir.display());
            if let Some(f) = &file {
                t.push_str(&format!(
                    "\n  {} done, {} already done, {} failed of {}; now: {} {}\n  updated {}",
                    f.done,
                    f.skipped,
                    f.failed,
                    f.total,
                    f.current.as_deref().unwrap_or("-"),
                    f.condition.as_deref().unwrap_or(""),
                    f.updated
                ));
            }
            t
        })?;
        return Ok(ExitCode::OK);
    }
    let j = Journal::open_read(&dir)?;
    let (mut intents, mut done, mut skipped, mut failed, mut planned) = (0, 0, 0, 0, 0u32);
    let (mut first, mut last, mut step, mut paused) = (0i64, 0i64, String::new(), None::<String>);
    let mut finished_ops = std::collections::BTreeSet::new();
    let mut epoch = 0u32;
    for r in j.iter(1) {
        let r = r?;
        let (at, ev) = (r.at_ms, r.event);
        if first == 0 {
            first = at;
        }
        last = last.max(at);
        match ev {
            Event::PlanRecorded { count, .. } => planned = count,
            Event::OperationIntended { step: s, .. } => {
                intents += 1;
                step = s;
                paused = None;
            }
            Event::OperationSucceeded { op, .. } => {
                done += 1;
                finished_ops.insert(op.0);
            }
            Event::OperationSkipped { op, .. } => {
                skipped += 1;
                finished_ops.insert(op.0);
            }
            // A reset's epoch: these operations run again (see `journal::epoch`).
            Event::ObservationRecorded { key, .. } => {
                if let Some(op) = journal::epoch::redone(&key) {
                    finished_ops.remove(op);
                }
            }
            Event::EpochStarted { epoch: e, .. } => epoch = e,
            Event::OperationFailed { .. } => failed += 1,
            Event::WaitStarted { step: s, .. } => step = s,
            Event::RunPaused { reason } => paused = Some(reason.describe()),
            Event::RunResumed { .. } => paused = None,
            _ => {}
        }
    }
    let in_doubt: Vec<String> = j.in_doubt()?.into_iter().map(|(op, _)| op.0).collect();
    let phase = if j.sealed().is_some() {
        "completed"
    } else if paused.is_some() {
        "paused"
    } else if intents == 0 && done == 0 && skipped == 0 {
        "planned"
    } else {
        "interrupted"
    };
    let finished = finished_ops.len() as u32;
    let mut doc = json!({
        "journal": dir, "run_id": j.run_id(), "cluster_id": j.target().cluster_id, "phase": phase,
        "step": step, "planned": planned, "finished": finished, "failed_attempts": failed,
        "remaining": planned.saturating_sub(finished), "in_doubt": in_doubt, "paused_reason": paused,
        "elapsed_s": (last - first) / 1000, "records": j.head().0, "epoch": epoch,
    });
    let extra = of.extra.map(|(key, read)| {
        let (v, line) = read(&j);
        doc[key] = v;
        line
    });
    ctx.output.print(&doc, || {
        let mut t = format!(
            "run {} of cluster {}: {phase} (last step {step})\n  {finished}/{planned} operations finished, {failed} failed attempts, {} in doubt\n  elapsed {} s, {} records\n  journal: {}",
            j.run_id(),
            j.target().cluster_id,
            in_doubt.len(),
            (last - first) / 1000,
            j.head().0,
            dir.display()
        );
        if let Some(p) = &paused {
            t.push_str(&format!("\n  paused: {p}"));
        }
        if let Some(line) = &extra {
            t.push_str(&format!("\n  {line}"));
        }
        if epoch > 0 {
            t.push_str(&format!("\n  epoch {epoch} (reset with `journal reset`)"));
        }
        t
    })?;
    Ok(ExitCode::OK)
}

fn current_journal(ctx: &Context, of: &StatusOf<'_>, cluster: Option<&str>) -> Result<PathBuf> {
    let state_dir = ctx.state_dir()?;
    let clusters: Vec<String> = std::fs::read_dir(&state_dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join(state::CURRENT_FILE).is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let id = match cluster {
        Some(c) => c.to_string(),
        None if clusters.len() == 1 => clusters[0].clone(),
        None => {
            return Err(CliError::usage(format!(
                "{} clusters in {}: name one",
                clusters.len(),
                state_dir.display()
            ))
            .with_hint(format!("--cluster one of: {}", clusters.join(", "))));
        }
    };
    let cdir = state::cluster_dir(&state_dir, &id);
    let run = state::current_run(&cdir, of.workflow).ok_or_else(|| {
        CliError::usage(format!("cluster {id} has no {} run", of.workflow))
            .with_hint(of.start_hint.to_string())
    })?;
    Ok(state::journal_dir(&cdir, &run))
}
