//! `ovn-migrate journal show`: a run's timeline, from a journal or an
//! exported bundle.
//!
//! The records are read (never written), the chain is verified first so the
//! header says whether the record can be trusted, and only the records that
//! verify are shown: a broken journal shows what precedes the break and exits
//! [`ExitCode::JOURNAL_CORRUPT`]. [`super::timeline::Timeline`] does the
//! folding; this file loads, filters and prints.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::timeline::{Entry, Operation, Timeline};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use journal::export::bundle;
use journal::{BlobHash, Event, OperationSpec, Recorded, VerifyReport, VerifyStatus};

/// Show a run's timeline: per step, each operation's intent and outcome.
///
/// For every step: its operations with each attempt (intent → outcome,
/// HTTP status, duration, error), waits with the condition changes seen,
/// and in between the run's own events: the plan, pauses and resumes,
/// operator decisions, lock takeovers, resets, the seal. Reads a journal
/// (also one in use, up to what it has written, or a crashed one) or an
/// exported bundle; changes nothing.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The journal directory (`<state-dir>/<cluster-id>/<run-id>`) or an
    /// exported bundle.
    #[arg(value_name = "JOURNAL")]
    pub journal: Option<PathBuf>,
    /// The run to show, looked up under the state directory.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Show only this step (e.g. `M9`).
    #[arg(long, value_name = "STEP")]
    pub step: Option<String>,
    /// Show only this operation, with its parameters and observations.
    #[arg(long, value_name = "ID")]
    pub op: Option<String>,
}

/// The JSON document of `journal show`.
#[derive(Debug, Serialize)]
pub struct ShowDoc {
    pub source: PathBuf,
    /// `journal` or `bundle`.
    pub kind: &'static str,
    pub cluster_id: String,
    /// `sealed`, `unsealed`, `broken` or `damaged` (the database holds less
    /// than its head witness says was made durable).
    pub chain: &'static str,
    /// Records that verify (and are shown).
    pub verified_records: u64,
    pub broken_at: Option<u64>,
    pub broken_reason: Option<String>,
    /// Whether the plan's operation list could be read.
    pub plan_available: bool,
    pub timeline: Timeline,
    #[serde(skip)]
    detail: bool,
}

/// Loads the records that verify, and the plan if its blob is at hand.
struct Loaded {
    kind: &'static str,
    cluster_id: String,
    report: VerifyReport,
    records: Vec<Recorded>,
    plan: Option<Vec<OperationSpec>>,
}

fn plan_blob(records: &[Recorded]) -> Option<BlobHash> {
    records.iter().find_map(|r| match &r.event {
        Event::PlanRecorded { operations, .. } => Some(*operations),
        _ => None,
    })
}

/// Reads a plan blob: a list of [`OperationSpec`]s, or a workflow's plan
/// document holding `operations` with `step`, `key` (or `op`), `target` and
/// `action` (a name, or a one-key object named after the action).
fn parse_plan(bytes: Option<Vec<u8>>) -> Option<Vec<OperationSpec>> {
    let bytes = bytes?;
    if let Ok(list) = serde_json::from_slice::<Vec<OperationSpec>>(&bytes) {
        return Some(list);
    }
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    doc.get("operations")?
        .as_array()?
        .iter()
        .map(|o| {
            let action = match &o["action"] {
                serde_json::Value::Object(m) => m.keys().next().cloned(),
                v => text(v),
            }?;
            Some(OperationSpec {
                op: journal::OpId(text(&o["key"]).or_else(|| text(&o["op"]))?),
                step: text(&o["step"])?,
                action,
                target: text(&o["target"]).unwrap_or_default(),
                idempotency_key: text(&o["idempotency_key"]).unwrap_or_default(),
            })
        })
        .collect()
}

fn load(dir: &std::path::Path) -> Result<Loaded> {
    if bundle::is_bundle(dir) {
        let verified = bundle::verify(dir).map_err(super::export::export_error)?;
        let read = bundle::read_records(dir).map_err(super::export::export_error)?;
        let keep = verified.report.records as usize;
        let mut records = read.records;
        records.truncate(keep);
        let plan = match (&read.blobs, plan_blob(&records)) {
            (Some(blobs), Some(h)) => {
                parse_plan(bundle::read_blob(blobs, &h).map_err(super::export::export_error)?)
            }
            _ => None,
        };
        return Ok(Loaded {
            kind: "bundle",
            cluster_id: read.manifest.target.cluster_id,
            report: verified.report,
            records,
            plan,
        });
    }
    // A damaged journal is shown too, up to what links (`verify` says the rest).
    let read = journal::Journal::open_damaged(dir)?;
    let j = &read;
    let report = journal::verify_journal(j)?;
    let mut records = Vec::with_capacity(report.records as usize);
    for r in j.iter(1).take(report.records as usize) {
        records.push(r?);
    }
    let plan = match plan_blob(&records) {
        Some(h) => parse_plan(j.get_blob(&h)?),
        None => None,
    };
    Ok(Loaded {
        kind: "journal",
        cluster_id: j.target().cluster_id.clone(),
        report,
        records,
        plan,
    })
}

/// Returns the time of day of an RFC 3339 timestamp (`HH:MM:SS.mmm`).
fn clock(at: &str) -> &str {
    at.get(11..23).unwrap_or(at)
}

fn op_lines(o: &Operation, detail: bool, out: &mut Vec<String>) {
    let tries = o.attempts.iter().filter(|a| a.intent_seq.is_some()).count();
    out.push(format!(
        "      {} {}  [{}{}]  {}",
        o.action,
        o.target,
        o.state,
        match tries {
            0 => String::new(),
            1 => ", 1 attempt".into(),
            n => format!(", {n} attempts"),
        },
        o.op
    ));
    if let Some(why) = &o.skipped {
        out.push(format!("        skipped {why}"));
    }
    for a in &o.attempts {
        let mut line = match (a.intent_seq, a.outcome_seq) {
            (Some(i), Some(s)) => format!(
                "        #{i} → #{s}  {}  attempt {} {}",
                clock(&a.intended_at),
                a.attempt,
                a.outcome
            ),
            (Some(i), None) => format!(
                "        #{i}  {}  attempt {} intended, no outcome recorded (in doubt)",
                clock(&a.intended_at),
                a.attempt
            ),
            (None, s) => format!(
                "        #{}  {}  {} (read-only: no intent)",
                s.unwrap_or(0),
                clock(&a.intended_at),
                a.outcome
            ),
        };
        if let Some(code) = a.http_status {
            line.push_str(&format!(", HTTP {code}"));
        }
        if let Some(ms) = a.duration_ms {
            line.push_str(&format!(", {ms} ms"));
        }
        if let Some(r) = a.retryable {
            line.push_str(if r { " (retryable)" } else { " (permanent)" });
        }
        out.push(line);
        if let Some(e) = &a.error {
            out.push(format!("          error: {e}"));
        }
        if detail {
            out.push(format!("          params:   {}", a.params));
            if let Some(obs) = &a.observed {
                out.push(format!("          observed: {obs}"));
            }
        }
    }
    for r in &o.reobserved {
        out.push(format!(
            "        #{}  {}  re-observed on resume: {}",
            r.seq,
            clock(&r.at),
            r.verdict
        ));
        if detail {
            out.push(format!("          observed: {}", r.observed));
        }
    }
}

impl ShowDoc {
    /// Returns the timeline as text for people.
    pub fn human(&self) -> String {
        let t = &self.timeline;
        let mut out = vec![format!(
            "run:      {}  ({}, ovn-migrate {})",
            t.run_id.as_deref().unwrap_or("?"),
            t.workflow.as_deref().unwrap_or("?"),
            t.tool_version.as_deref().unwrap_or("?")
        )];
        out.push(format!("cluster:  {}", self.cluster_id));
        out.push(format!(
            "source:   {} ({})",
            self.source.display(),
            self.kind
        ));
        if let (Some(at), Some(by)) = (&t.started_at, &t.started_by) {
            out.push(format!("started:  {at} by {by}"));
        }
        let chain = match (self.chain, self.broken_at) {
            ("damaged", _) => format!(
                "DAMAGED: {}; only the {} records that link are shown",
                self.broken_reason.as_deref().unwrap_or("?"),
                self.verified_records
            ),
            ("broken", Some(at)) => format!(
                "BROKEN at record {at}: {}; only the {} records before it are shown",
                self.broken_reason.as_deref().unwrap_or("?"),
                self.verified_records
            ),
            ("sealed", _) => format!(
                "{} records, chain whole, sealed at record {} ({})",
                t.records,
                t.sealed_at.unwrap_or(0),
                t.outcome.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "{} records, chain whole, not sealed (in progress or interrupted)",
                t.records
            ),
        };
        out.push(format!("records:  {chain}"));
        if !self.plan_available {
            out.push(
                "plan:     its operation list is not at hand (a bundle exported without \
                 --with-blobs, or a plan this build cannot read); operations not started are \
                 not listed"
                    .into(),
            );
        }
        out.push(String::new());
        for e in &t.entries {
            match e {
                Entry::Run(r) => out.push(format!("#{:<5} {}  {}", r.seq, clock(&r.at), r.what)),
                Entry::Step(s) => {
                    out.push(format!(
                        "{:<6} {} → {}  ({} ms, records {}–{})",
                        s.step,
                        clock(&s.started_at),
                        clock(&s.ended_at),
                        s.duration_ms,
                        s.first_seq,
                        s.last_seq
                    ));
                    for o in &s.operations {
                        op_lines(o, self.detail, &mut out);
                    }
                    for w in &s.waits {
                        let how = match (&w.outcome, w.finished_seq, w.duration_ms) {
                            (Some(o), Some(f), Some(ms)) => {
                                format!("{o} after {ms} ms (#{} → #{f})", w.started_seq)
                            }
                            _ => format!("waiting since #{} (no end recorded)", w.started_seq),
                        };
                        out.push(format!("      wait {}: {how}", w.wait));
                        for c in &w.conditions {
                            out.push(format!(
                                "        #{}  {}  {}",
                                c.seq,
                                clock(&c.at),
                                c.condition
                            ));
                        }
                    }
                }
            }
        }
        if !t.not_started.is_empty() {
            out.push(String::new());
            out.push(format!(
                "not started: {} planned operations",
                t.not_started.len()
            ));
            for n in &t.not_started {
                out.push(format!("  {n}"));
            }
        }
        out.join("\n")
    }
}

/// Runs `journal show`.
pub fn run(args: ShowArgs, ctx: &Context) -> Result<i32> {
    let dir = super::resolve::journal_dir(ctx, args.journal.as_deref(), args.run.as_deref())?;
    let loaded = load(&dir)?;
    let mut timeline = Timeline::build(&loaded.records, loaded.plan.as_deref());
    if let Some(step) = &args.step {
        timeline.only_step(step);
        if timeline.entries.is_empty() {
            return Err(CliError::usage(format!(
                "no step {step} in the journal at {}",
                dir.display()
            ))
            .with_hint("`ovn-migrate journal show` without --step lists the steps"));
        }
    }
    if let Some(op) = &args.op {
        timeline.only_op(op);
        if timeline.entries.is_empty() {
            return Err(CliError::usage(format!(
                "no operation {op} in the journal at {}",
                dir.display()
            ))
            .with_hint("the operation ids are the last column of each operation's line"));
        }
    }
    let (chain, broken_at, broken_reason) = match &loaded.report.status {
        VerifyStatus::Sealed { .. } => ("sealed", None, None),
        VerifyStatus::Unsealed { .. } => ("unsealed", None, None),
        VerifyStatus::Broken { seq, reason } => ("broken", Some(*seq), Some(reason.clone())),
        VerifyStatus::Damaged { reason, .. } => (
            "damaged",
            Some(loaded.report.records + 1),
            Some(reason.clone()),
        ),
    };
    let doc = ShowDoc {
        source: dir,
        kind: loaded.kind,
        cluster_id: loaded.cluster_id,
        chain,
        verified_records: loaded.report.records,
        broken_at,
        broken_reason,
        plan_available: loaded.plan.is_some(),
        timeline,
        detail: args.op.is_some(),
    };
    ctx.output.print(&doc, || doc.human())?;
    if broken_at.is_some() {
        if !ctx.output.is_json() {
            ctx.output.note(
                "hint: the record is damaged past the break; keep a copy of the directory and \
                 run `ovn-migrate journal verify` on it",
            );
        }
        return Ok(ExitCode::JOURNAL_CORRUPT);
    }
    Ok(ExitCode::OK)
}
