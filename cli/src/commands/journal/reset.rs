//! `ovn-migrate journal reset --to-step S`: redo a run from a step on,
//! without rewriting its history ([`steps::replay::reset`]).
//!
//! The journal is opened as its writer (its lock: a live run refuses the
//! reset, exit 7), its chain verified, its plan read back through its
//! workflow's entry in the replay registry, and after the operator confirms
//! (`--yes`), one group of records is appended: a new epoch pointing back at
//! the old head, a `redo/<op>` record per operation to run again, the
//! operator's decision. The next `resume` runs those operations again,
//! judged afresh from the live state.
//!
//! A sealed run is refused: its seal closes the record (verify reports any
//! record after a seal as a broken chain, and its head may be anchored in
//! the cluster); to do a completed run's steps again, plan a new run.

use std::path::PathBuf;

use clap::Args;
use journal::{Journal, OpenOptions, VerifyStatus};
use serde_json::json;
use steps::replay::reset::{ResetError, plan_reset, reset_events};

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Make a run redo its steps from STEP on, at its next resume.
///
/// Appends a new epoch to the run's journal, pointing back at the old head,
/// and marks every operation of STEP and after it that has run to run again:
/// nothing in the journal is rewritten, `journal show` and `journal replay`
/// follow the epochs. Refused while the run is live (its lock), while an
/// operation to redo is in doubt (resume re-observes it first), and on a
/// sealed run. Asks first (or `--yes`).
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The journal directory (`<state-dir>/<cluster-id>/<run-id>`).
    #[arg(value_name = "JOURNAL")]
    pub journal: Option<PathBuf>,
    /// The run to reset, looked up under the state directory.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// The step to redo from (e.g. `M5`).
    #[arg(long, value_name = "STEP")]
    pub to_step: String,
}

fn reset_error(e: ResetError) -> CliError {
    match e {
        ResetError::Journal(j) => j.into(),
        ResetError::NoSuchStep { .. } => CliError::usage(e.to_string())
            .with_hint("`ovn-migrate journal show` lists the run's steps"),
        ResetError::Nothing(_) => CliError::usage(e.to_string())
            .with_hint("resume the run: it carries on from where it stopped"),
        ResetError::InDoubt { .. } => CliError::usage(e.to_string()).with_hint(
            "resume the run first: it re-observes what is in doubt and records the outcome; \
             reset it after that",
        ),
    }
}

/// Runs `journal reset`.
pub fn run(args: ResetArgs, ctx: &Context) -> Result<i32> {
    let dir = super::resolve::journal_dir(ctx, args.journal.as_deref(), args.run.as_deref())?;
    let j = Journal::open_any(&dir, &OpenOptions::default())?;
    if let Some(seal) = j.sealed() {
        return Err(CliError::usage(format!(
            "reset the run at {}: it completed and was sealed at record {seal}, and a sealed \
             run's record is closed",
            dir.display()
        ))
        .with_hint("plan a new run to do its steps again (`ovn-migrate kuryr plan`)"));
    }
    if let VerifyStatus::Broken { seq, reason } = journal::verify_journal(&j)?.status {
        return Err(journal::Error::Corrupt { seq, reason }.into());
    }
    let entry = steps::replay::entry_of(&j).map_err(|e| CliError::usage(e.to_string()))?;
    let order = (entry.operations)(&j).map_err(|e| CliError::internal(e.to_string()))?;
    let plan = plan_reset(&j, &order, &args.to_step).map_err(reset_error)?;
    ctx.confirm_or_decline(&format!(
        "reset run {} to step {}: {} operations will run again on the next resume (epoch {})?",
        j.run_id(),
        plan.step,
        plan.redo.len(),
        plan.epoch
    ))?;
    let me = journal::lock::Holder::me(env!("CARGO_PKG_VERSION"));
    let by = if ctx.global.yes {
        format!("{}@{} (--yes)", me.user, me.host)
    } else {
        format!("{}@{}", me.user, me.host)
    };
    let (old_seq, old_head) = j.head();
    let events = reset_events(&j, &plan, &by)?;
    let range = j.append_group(&events)?;
    let doc = json!({
        "journal": dir, "run_id": j.run_id(), "epoch": plan.epoch, "reset_to": plan.step,
        "previous_head": old_head.to_string(), "previous_head_seq": old_seq,
        "epoch_seq": range.start(), "redo": plan.redo,
    });
    ctx.output.print(&doc, || {
        format!(
            "epoch {} started at record {} (the old head, record {old_seq}, stays in the chain)\n  \
             {} operations from step {} on run again: {}\nhint: carry on with `ovn-migrate {} resume`",
            plan.epoch,
            range.start(),
            plan.redo.len(),
            plan.step,
            plan.redo.join(", "),
            command_of(entry.name)
        )
    })?;
    Ok(ExitCode::OK)
}

/// Returns the command group that resumes a workflow's runs.
fn command_of(workflow: &str) -> &str {
    workflow.split('-').next().unwrap_or(workflow)
}
