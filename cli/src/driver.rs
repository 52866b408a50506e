//! The run driver: `plan`, `run` and `resume` of every workflow, written once.
//!
//! A workflow's commands are thin: they build the workflow (a connected
//! session) and its options from their flags and call [`plan`], [`run`] or
//! [`resume`]. Those find the cluster's current run, refuse what must be
//! refused (a sealed run is reported, changed options and a drifted plan are
//! refused, a declined confirmation stops), journal the operator's decisions,
//! then [`drive`] the engine with progress, signals as a clean pause, and the
//! outcome turned into an exit code. Ctrl-C, SIGTERM and SIGHUP pause a run
//! ([`crate::signals`]).

use std::path::{Path, PathBuf};

use journal::{Event, Journal, OpenOptions};
use serde_json::{Value, json};
use steps::engine::lease::LeaseTiming;
use steps::engine::{RunOutcome, RunSummary, SystemClock, Timing};
use steps::workflow::{
    Execution, LoadedRun, Workflow, beside, check_drift, check_options, execute, load_run,
    start_run,
};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit::ExitCode;
use crate::run_progress::TermProgress;
use crate::state;

/// What the CLI needs of a workflow beyond the driver's [`Workflow`].
pub trait CliWorkflow: Workflow {
    /// The command group, e.g. `kuryr` (used in hints).
    const COMMAND: &'static str;
    /// What a completed run did, e.g. `migration phase completed`.
    const COMPLETED: &'static str;
    /// Returns the cluster this workflow runs against (names its state directory).
    fn cluster_id(&self) -> &str;
    /// Returns a plan as JSON and as text.
    fn show_plan(plan: &Self::Plan) -> (Value, String);
    /// Maps the workflow's error to the CLI's.
    fn error(e: Self::Error) -> CliError;
    /// Renders a failed check's detail for people.
    fn show_check(detail: &str) -> String {
        detail.to_string()
    }
    /// Returns the exit code of a run that completed, and why it is not 0
    /// when it is not (e.g. violations its plan could not remedy).
    fn completed_code(_plan: &Self::Plan) -> (i32, Option<String>) {
        (ExitCode::OK, None)
    }
}

/// How patient a run is, and the cluster lease's timing.
pub struct RunTiming {
    pub timing: Timing,
    pub lease: LeaseTiming,
}

fn cluster_dir<W: CliWorkflow>(ctx: &Context, w: &W) -> Result<PathBuf> {
    let dir = state::cluster_dir(&ctx.ensure_state_dir()?, w.cluster_id());
    state::ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Opens a run's journal: `journal` if given, else the cluster's current run
/// of this workflow; `None` when there is none. Another cluster's is refused.
pub fn open_run<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    journal: Option<&Path>,
    break_lock: Option<String>,
) -> Result<Option<(Journal, PathBuf)>> {
    let dir = match journal {
        Some(d) => d.to_path_buf(),
        None => {
            let cluster = cluster_dir(ctx, w)?;
            match state::current_run(&cluster, W::NAME) {
                Some(run) => state::journal_dir(&cluster, &run),
                None => return Ok(None),
            }
        }
    };
    let opts = OpenOptions {
        break_lock,
        ..OpenOptions::default()
    };
    let j = Journal::open(&dir, &w.target(), &opts)?;
    if let Some(old) = j.broke_lock() {
        ctx.output.note(format!(
            "took over the journal's lock from {old}, which is no longer running (journaled as LockRecovered)"
        ));
    }
    Ok(Some((j, dir)))
}

/// Discovers and makes the plan for `options`.
fn discover_and_plan<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    options: &W::Options,
) -> Result<(W::Discovery, W::Plan)> {
    let discovery = ctx.block_on(w.discover())?.map_err(W::error)?;
    let plan = W::plan(&discovery, options).map_err(W::error)?;
    Ok((discovery, plan))
}

/// Records a plan as a new run and makes it the cluster's current run.
fn record_run<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    discovery: &W::Discovery,
    options: &W::Options,
    plan: &W::Plan,
) -> Result<(String, PathBuf, Journal)> {
    let cluster = cluster_dir(ctx, w)?;
    let run_id = state::new_run_id();
    let dir = state::journal_dir(&cluster, &run_id);
    let journal = ctx
        .block_on(start_run(
            w,
            dir.clone(),
            &run_id,
            env!("CARGO_PKG_VERSION"),
            discovery,
            options,
            plan,
        ))?
        .map_err(W::error)?;
    state::set_current_run(&cluster, W::NAME, &run_id)?;
    Ok((run_id, dir, journal))
}

/// `plan`: discover and record the plan as a new run, changing nothing.
pub fn plan<W: CliWorkflow>(ctx: &Context, w: &W, options: &W::Options) -> Result<i32> {
    let (discovery, plan) = discover_and_plan(ctx, w, options)?;
    let (run_id, dir, journal) = record_run(ctx, w, &discovery, options, &plan)?;
    drop(journal);
    let (mut doc, text) = W::show_plan(&plan);
    doc["run_id"] = run_id.clone().into();
    doc["journal"] = dir.display().to_string().into();
    ctx.output.print(&doc, || {
        format!(
            "{text}\nrecorded as run {run_id} ({})\nexecute it with: ovn-migrate {} run",
            dir.display(),
            W::COMMAND
        )
    })?;
    Ok(ExitCode::OK)
}

/// Journals an operator's decision (a confirmation, a takeover, a skip).
fn decided(journal: &Journal, decision: &str, detail: String, ctx: &Context) -> Result<()> {
    let me = journal::lock::Holder::me(env!("CARGO_PKG_VERSION"));
    let by = if ctx.global.yes {
        format!("{}@{} (--yes)", me.user, me.host)
    } else {
        format!("{}@{}", me.user, me.host)
    };
    let event = Event::DecisionRecorded {
        decision: decision.into(),
        detail: journal.text(&detail)?,
        by,
    };
    let point = steps::engine::describe(&event);
    journal.append(event)?;
    steps::engine::crash_point(&point);
    Ok(())
}

/// Shows a run's plan, asks, and journals the confirmation.
fn confirm_plan<W: CliWorkflow>(ctx: &Context, run: &LoadedRun<W>) -> Result<()> {
    let (_, text) = W::show_plan(&run.plan);
    ctx.output.note(text);
    ctx.confirm_or_decline("Run this plan against the cluster?")?;
    decided(
        &run.journal,
        "plan-confirmed",
        format!("run the plan of discovery {}", W::planned_digest(&run.plan)),
        ctx,
    )
}

/// `run`: carries on the current run, or plans and runs a new one with
/// `options`. When `named` (options were given on the command line), an
/// existing run must have been planned with the same ones, or it is refused.
pub fn run<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    options: W::Options,
    named: bool,
    timing: &RunTiming,
    break_lock: Option<String>,
) -> Result<i32> {
    if let Some((journal, dir)) = open_run(ctx, w, None, break_lock)? {
        if let Some(seal) = journal.sealed() {
            return sealed::<W>(ctx, seal, &dir);
        }
        let loaded = ctx.block_on(load_run::<W>(journal))?.map_err(W::error)?;
        check_options(&loaded, named.then_some(&options)).map_err(|e| W::error(e.into()))?;
        if loaded.started {
            ctx.output.note(format!(
                "carrying on run {} ({})",
                loaded.run_id,
                dir.display()
            ));
        } else {
            ctx.block_on(check_drift(w, &loaded))?.map_err(W::error)?;
            confirm_plan(ctx, &loaded)?;
        }
        return drive(ctx, w, &loaded, &dir, timing);
    }
    run_new(ctx, w, &options, timing, true).map(|(code, _)| code)
}

/// Plans a new run with `options`, shows it, asks (when `ask`; the demo's
/// own lab needs no confirmation), records it and runs it; returns the exit
/// code and the run's journal directory.
pub fn run_new<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    options: &W::Options,
    timing: &RunTiming,
    ask: bool,
) -> Result<(i32, PathBuf)> {
    let (discovery, plan) = discover_and_plan(ctx, w, options)?;
    let (_, text) = W::show_plan(&plan);
    ctx.output.note(text);
    if ask {
        ctx.confirm_or_decline("Run this plan against the cluster?")?;
    }
    let (_, dir, journal) = record_run(ctx, w, &discovery, options, &plan)?;
    let loaded = ctx.block_on(load_run::<W>(journal))?.map_err(W::error)?;
    let (decision, how) = if ask {
        ("plan-confirmed", "")
    } else {
        ("plan-run-unasked", " (a local lab: no confirmation asked)")
    };
    decided(
        &loaded.journal,
        decision,
        format!(
            "run the plan of discovery {}{how}",
            W::planned_digest(&plan)
        ),
        ctx,
    )?;
    let code = drive(ctx, w, &loaded, &dir, timing)?;
    Ok((code, dir))
}

fn sealed<W: CliWorkflow>(ctx: &Context, seal: u64, dir: &Path) -> Result<i32> {
    ctx.output.print(
        &json!({"outcome": "completed", "sealed_at": seal, "journal": dir}),
        || {
            format!(
                "the {} of this cluster already completed (run sealed at record {seal}); journal: {}",
                W::NAME,
                dir.display()
            )
        },
    )?;
    Ok(ExitCode::OK)
}

/// `resume`: carries on the current (or the named) run.
pub fn resume<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    journal: Option<&Path>,
    timing: &RunTiming,
    break_lock: Option<String>,
) -> Result<i32> {
    let Some((journal, dir)) = open_run(ctx, w, journal, break_lock)? else {
        return Err(CliError::usage(format!(
            "there is no {} run of cluster {} to resume",
            W::NAME,
            w.cluster_id()
        ))
        .with_hint(format!("start one with `ovn-migrate {} run`", W::COMMAND)));
    };
    if let Some(seal) = journal.sealed() {
        return sealed::<W>(ctx, seal, &dir);
    }
    let loaded = ctx.block_on(load_run::<W>(journal))?.map_err(W::error)?;
    if !loaded.started {
        ctx.block_on(check_drift(w, &loaded))?.map_err(W::error)?;
        confirm_plan(ctx, &loaded)?;
    }
    drive(ctx, w, &loaded, &dir, timing)
}

/// Executes (or resumes) a loaded run: progress, signals as a pause, the outcome printed.
pub fn drive<W: CliWorkflow>(
    ctx: &Context,
    w: &W,
    loaded: &LoadedRun<W>,
    journal_dir: &Path,
    timing: &RunTiming,
) -> Result<i32> {
    let log = ctx.log_beside(journal_dir)?;
    let progress = TermProgress::new(
        ctx.progress(),
        beside(journal_dir, "status.json"),
        &loaded.run_id,
        W::COMMAND,
    );
    let cancel = CancellationToken::new();
    let how = Execution {
        timing: timing.timing.clone(),
        progress: &progress,
        cancel: cancel.clone(),
        clock: &SystemClock,
        journal_dir: journal_dir.to_path_buf(),
        lease: timing.lease,
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let rt = ctx.runtime()?;
    let bar = progress.bar.clone();
    let signals = crate::signals::pause_on_signals(rt, cancel.clone(), move |line| {
        bar.suspend(|| crate::signals::write_stderr(line))
    })?;
    let result = rt.block_on(execute(w, loaded, &how));
    drop(signals);
    progress.bar.finish();
    let summary = result.map_err(W::error)?;
    progress.finish(
        serde_json::to_value(&summary.outcome)
            .ok()
            .and_then(|v| v["outcome"].as_str().map(String::from))
            .unwrap_or_default()
            .as_str(),
    );
    report::<W>(ctx, &summary, &loaded.plan, journal_dir, &log)
}

/// Prints the outcome and returns its exit code.
fn report<W: CliWorkflow>(
    ctx: &Context,
    summary: &RunSummary,
    plan: &W::Plan,
    journal_dir: &Path,
    log: &Path,
) -> Result<i32> {
    let c = &summary.counts;
    let resume = format!("carry on with `ovn-migrate {} resume`", W::COMMAND);
    let mut unmet = None;
    let (code, headline, hint) = match &summary.outcome {
        RunOutcome::Completed => match W::completed_code(plan) {
            (code, None) => (code, W::COMPLETED.to_string(), String::new()),
            (code, Some(why)) => {
                let headline = format!("{}, but {why}", W::COMPLETED);
                unmet = Some(why);
                (code, headline, String::new())
            }
        },
        RunOutcome::Paused { reason } => {
            (ExitCode::INTERRUPTED, format!("paused: {reason}"), resume)
        }
        RunOutcome::Gated { op, until_ms } => (
            ExitCode::INTERRUPTED,
            format!(
                "paused: {op} may not run before {}",
                chrono::DateTime::from_timestamp_millis(*until_ms)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "its gate's event happened".into())
            ),
            format!("{resume} after that time"),
        ),
        RunOutcome::LeaseLost { reason } => (
            ExitCode::LOCKED,
            format!("paused, nothing more started: {reason}"),
            format!(
                "make sure no other ovn-migrate works on this cluster \
                 (kubectl -n kube-system get lease ovn-migrate -o yaml), then {resume}"
            ),
        ),
        RunOutcome::NeedsOperator { op, detail, live } => (
            ExitCode::NEEDS_OPERATOR,
            format!("stopped at {op}: {detail}\n  live state: {live}"),
            "look at the object, then resume; the journal shows what was intended".to_string(),
        ),
        RunOutcome::CheckFailed { op, detail } => (
            ExitCode::PRECHECK_FAILED,
            format!("{op} did not pass: {}", W::show_check(detail)),
            "nothing was changed; fix what failed, then run again".to_string(),
        ),
        RunOutcome::Failed { op, error } => (
            ExitCode::FAILURE,
            format!("{op} failed: {error}"),
            "see the log; resume retries from this operation".to_string(),
        ),
    };
    let doc = json!({
        "outcome": summary.outcome,
        "counts": c,
        "journal": journal_dir,
        "log": log,
        "exit_code": code,
        "unmet": unmet,
    });
    ctx.output.print(&doc, || {
        let mut t = format!(
            "{headline}\n  operations: {} done, {} already done, {} re-observed after an interruption, {} remaining\n  journal: {}\n  log: {}",
            c.done,
            c.skipped,
            c.reobserved,
            c.remaining,
            journal_dir.display(),
            log.display()
        );
        if !hint.is_empty() {
            t.push_str(&format!("\nhint: {hint}"));
        }
        t
    })?;
    Ok(code)
}
