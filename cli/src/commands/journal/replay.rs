//! `ovn-migrate journal replay`: a run's decisions made again from its
//! journal alone, with no cluster and no cloud ([`steps::replay`]).
//!
//! The journal is read as a reader (a private copy: no lock, nothing
//! written), its workflow found by name in [`steps::replay::registry`], and
//! the report printed: the plan re-derived, the decisions re-derived, and
//! every divergence with its seq and both sides, as Temporal's replayer
//! reports non-determinism. Exit 0 when every decision re-derives,
//! [`ExitCode::REPLAY_DIVERGED`] when one does not.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use steps::replay::{OpStatus, Replay, ReplayError};

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;

/// Replay a run from its journal: re-derive the plan and every decision.
///
/// With no cluster and no cloud: rebuilds the run's state after every
/// record (following the epochs of `journal reset`), re-runs the planner on
/// the journaled discovery and options, and makes every step's decision
/// again on the observations the journal holds. Reports any decision the
/// journal records that today's code would not make from the same inputs,
/// with its seq and both sides. Exits 0 when every decision re-derives and
/// 12 when one does not; 9 when the chain does not verify. Writes nothing.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The journal directory (`<state-dir>/<cluster-id>/<run-id>`).
    #[arg(value_name = "JOURNAL")]
    pub journal: Option<PathBuf>,
    /// The run to replay, looked up under the state directory.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Stop after this record and show the run's state as of it.
    #[arg(long, value_name = "SEQ")]
    pub at: Option<u64>,
}

/// The JSON document of `journal replay`.
#[derive(Debug, Serialize)]
pub struct ReplayDoc {
    pub journal: PathBuf,
    /// `re-derived` or `diverged`.
    pub result: &'static str,
    pub first_divergent_seq: Option<u64>,
    #[serde(flatten)]
    pub replay: Replay,
    #[serde(skip)]
    at: Option<u64>,
}

impl ReplayDoc {
    /// Returns the report as text for people.
    pub fn human(&self) -> String {
        let r = &self.replay;
        let mut out = vec![
            format!("journal:   {}", self.journal.display()),
            format!("run:       {} ({})", r.run_id, r.workflow),
        ];
        let mut where_ = format!("{} of {} replayed", r.records, r.total_records);
        if r.epoch > 0 {
            where_.push_str(&format!(
                "; epoch {} (reset to step {})",
                r.epoch,
                r.reset_to.as_deref().unwrap_or("?")
            ));
        }
        where_.push_str(if r.sealed {
            "; sealed"
        } else if r.paused.is_some() {
            "; paused"
        } else {
            "; not sealed"
        });
        out.push(format!("records:   {where_}"));
        out.push(format!(
            "plan:      {} (plan {}, discovery {})",
            if r.plan.matches() {
                "re-derived"
            } else {
                "DIVERGED"
            },
            short(&r.plan.rederived_plan_digest),
            short(&r.plan.rederived_discovery_digest)
        ));
        out.push(format!("decisions: {} re-derived", r.decisions));
        let mut counts: Vec<(OpStatus, usize)> = Vec::new();
        for o in &r.operations {
            match counts.iter_mut().find(|(s, _)| *s == o.status) {
                Some((_, n)) => *n += 1,
                None => counts.push((o.status, 1)),
            }
        }
        out.push(format!(
            "state:     {}",
            counts
                .iter()
                .map(|(s, n)| format!("{n} {}", status(*s)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if let Some(p) = &r.paused {
            out.push(format!("paused:    {p}"));
        }
        if self.at.is_some() {
            out.push(String::new());
            for o in &r.operations {
                out.push(format!(
                    "  {:<6} {:<12} {:>2} attempt{}  {}",
                    o.step,
                    status(o.status),
                    o.attempts,
                    if o.attempts == 1 { " " } else { "s" },
                    o.op
                ));
            }
        }
        out.push(String::new());
        if r.divergences.is_empty() {
            out.push("result:    every decision re-derives from the journal".into());
        } else {
            out.push(format!(
                "DIVERGED: {} decision(s) the journal records are not what this code derives \
                 from the same journaled inputs; the first at record {}",
                r.divergence_count, r.divergences[0].seq
            ));
            if r.divergence_count > r.divergences.len() as u64 {
                out.push(format!("  (the first {} are listed)", r.divergences.len()));
            }
            for d in &r.divergences {
                out.push(format!(
                    "  #{}  {}  {}  ({})",
                    d.seq, d.event, d.op, d.decision
                ));
                out.push(format!("    recorded:   {}", d.recorded));
                out.push(format!("    re-derived: {}", d.rederived));
            }
        }
        out.join("\n")
    }
}

fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

fn status(s: OpStatus) -> &'static str {
    match s {
        OpStatus::NotStarted => "not started",
        OpStatus::Observed => "observed",
        OpStatus::Waiting => "waiting",
        OpStatus::InDoubt => "in doubt",
        OpStatus::Failed => "failed",
        OpStatus::Done => "done",
        OpStatus::Skipped => "skipped",
    }
}

/// Maps a replay's error to the CLI's.
fn replay_error(e: ReplayError) -> CliError {
    match e {
        ReplayError::Journal(j) => j.into(),
        ReplayError::NotARun(_) | ReplayError::UnknownWorkflow { .. } => {
            CliError::usage(e.to_string()).with_hint("`ovn-migrate journal show` reads any journal")
        }
        ReplayError::Load(_) => CliError::internal(e.to_string()).with_hint(
            "a journal that stopped before its plan has no decisions to replay; \
             one made by another version may not decode with this one",
        ),
    }
}

/// Runs `journal replay`.
pub fn run(args: ReplayArgs, ctx: &Context) -> Result<i32> {
    let dir = super::resolve::journal_dir(ctx, args.journal.as_deref(), args.run.as_deref())?;
    if journal::export::bundle::is_bundle(&dir) {
        return Err(CliError::usage(format!(
            "{} is an exported bundle; replay reads a journal directory",
            dir.display()
        ))
        .with_hint("`ovn-migrate journal verify` and `journal show` read bundles"));
    }
    let j = super::resolve::open(&dir)?;
    let replay = steps::replay::replay_journal(&j, args.at).map_err(replay_error)?;
    drop(j);
    let doc = ReplayDoc {
        journal: dir,
        result: if replay.divergences.is_empty() {
            "re-derived"
        } else {
            "diverged"
        },
        first_divergent_seq: replay.first_divergence().map(|d| d.seq),
        replay,
        at: args.at,
    };
    ctx.output.print(&doc, || doc.human())?;
    Ok(if doc.replay.divergences.is_empty() {
        ExitCode::OK
    } else {
        ExitCode::REPLAY_DIVERGED
    })
}
