//! One driver for every workflow: plan, start, load, execute and resume are
//! written once here; a workflow only names its options, discovery, plan and
//! operations ([`Workflow`]).
//!
//! * [`start_run`] creates the journal: `RunStarted`, the discovery and the
//!   options as observations, `PlanRecorded` (the plan as a blob).
//! * [`load_run`] reads a run back from its journal alone, after verifying
//!   the chain: discovery, options, plan and every journaled expansion, so a
//!   resume sees exactly the operations the first run saw. A run is
//!   *started* only once an effect's intent is journaled: before that,
//!   [`check_drift`] re-discovers and refuses a plan the cluster moved away
//!   from, and read-only checks run again.
//! * [`check_options`] refuses options that differ from the journaled ones
//!   (a new plan is needed; a flag is never silently ignored).
//! * [`execute`] runs a loaded run under the workflow's exclusion (the
//!   cluster lease) with the engine, and seals it when it completes.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use journal::{Event, Journal, OpenOptions, RunInfo, Target};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::engine::{
    Clock, Env, ErasedStep, Fence, Ops, Progress, Recorder, RunOutcome, RunSummary, Timing,
    crash_point, resolve,
};

#[cfg(test)]
mod tests;

/// What a workflow supplies to the driver.
pub trait Workflow: Send + Sync + Sized + 'static {
    /// The name its journals are recorded under (`RunStarted.workflow`).
    const NAME: &'static str;
    /// The user's choices, journaled with the plan.
    type Options: Serialize + DeserializeOwned + PartialEq + Debug + Clone + Send + Sync;
    /// What the plan is made from, journaled in full.
    type Discovery: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// One planned operation, as journaled.
    type Operation: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// The plan, as journaled.
    type Plan: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// What every step reads and acts through.
    type Cx: Send + Sync + 'static;
    /// The workflow's errors (the driver's convert into it).
    type Error: From<journal::Error> + From<RunError> + Send;

    /// Returns what the journal is bound to.
    fn target(&self) -> Target;
    /// Reads what the plan is made from.
    fn discover(&self) -> impl Future<Output = Result<Self::Discovery, Self::Error>> + Send;
    /// Returns the digest that tells whether a discovery changed.
    fn digest(discovery: &Self::Discovery) -> String;
    /// Makes the plan (pure but for errors).
    fn plan(
        discovery: &Self::Discovery,
        options: &Self::Options,
    ) -> Result<Self::Plan, Self::Error>;
    /// Returns the digest of the discovery a plan was made from.
    fn planned_digest(plan: &Self::Plan) -> &str;
    /// Returns a plan's operations.
    fn operations(plan: &Self::Plan) -> &[Self::Operation];
    /// Builds the step of one operation (the one place that dispatches on it).
    fn step(op: &Self::Operation) -> Box<dyn ErasedStep<Self::Cx>>;
    /// Returns the context the steps of a loaded run act through.
    fn context(
        &self,
        run: &LoadedRun<Self>,
        rec: &Recorder,
        how: &Execution<'_>,
    ) -> Result<Self::Cx, Self::Error>;
    /// Takes what keeps other runners out (the cluster lease) for this run.
    fn exclude(
        &self,
        run_id: &str,
        how: &Execution<'_>,
    ) -> impl Future<Output = Result<Box<dyn Held>, Self::Error>> + Send;
}

/// An exclusion held for a run: checked before every effect, released at the end.
pub trait Held: Fence {
    /// Releases it.
    fn release(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// An exclusion that excludes nothing (tests, read-only workflows).
pub struct Unguarded;

impl Fence for Unguarded {
    fn ensure_held(&self) -> Result<(), crate::kube::lease::LeaseLost> {
        Ok(())
    }
}

impl Held for Unguarded {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Why the driver refused or could not read a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cluster changed since the plan was made, and nothing has run yet.
    #[error(
        "run the {workflow} plan: the cluster changed since it was made (discovery digest {planned}, now {live}); \
         nothing was changed, and a new plan is needed"
    )]
    Drifted {
        workflow: String,
        planned: String,
        live: String,
    },
    /// Options differ from the ones the run was planned with.
    #[error(
        "use these options for the current {workflow} run: it was planned with other ones ({differences}); \
         make a new plan with these options, or leave them off to carry on the current run"
    )]
    OptionsChanged {
        workflow: String,
        differences: String,
    },
    /// The journal does not hold a readable run of this workflow.
    #[error("load the run from its journal {dir}: {reason}")]
    Load { dir: PathBuf, reason: String },
}

/// A run read back from its journal.
pub struct LoadedRun<W: Workflow> {
    pub journal: Journal,
    pub run_id: String,
    pub discovery: W::Discovery,
    pub options: W::Options,
    pub plan: W::Plan,
    /// The operations journaled as expansions, in journal order: (after op, operations).
    pub expansions: Vec<(String, Vec<Value>)>,
    /// Whether an effect's intent was journaled (only then has the run changed anything).
    pub started: bool,
}

impl<W: Workflow> LoadedRun<W> {
    /// Returns the plan's operations with the journaled expansions in place.
    pub fn steps(&self) -> Result<Vec<Box<dyn ErasedStep<W::Cx>>>, RunError> {
        let mut steps: Vec<Box<dyn ErasedStep<W::Cx>>> =
            W::operations(&self.plan).iter().map(W::step).collect();
        for (after, ops) in &self.expansions {
            let Some(at) = steps.iter().position(|s| &s.spec().op.0 == after) else {
                return Err(self.load_error(format!(
                    "an expansion follows operation {after}, which is not in the plan"
                )));
            };
            // After the group of the operation that expanded, as the runner inserts it.
            let group = steps[at].group();
            let mut end = at + 1;
            while group.is_some() && end < steps.len() && steps[end].group() == group {
                end += 1;
            }
            let mut built = Vec::new();
            for v in ops {
                built.push(make::<W>(v).map_err(|e| self.load_error(e))?);
            }
            steps.splice(end..end, built);
        }
        Ok(steps)
    }

    fn load_error(&self, reason: String) -> RunError {
        RunError::Load {
            dir: self.journal.dir().to_path_buf(),
            reason,
        }
    }
}

fn make<W: Workflow>(v: &Value) -> Result<Box<dyn ErasedStep<W::Cx>>, String> {
    let op: W::Operation = serde_json::from_value(v.clone())
        .map_err(|e| format!("an expanded operation does not decode: {e}"))?;
    Ok(W::step(&op))
}

/// Creates the run's journal in `dir` and records discovery, options and plan.
pub async fn start_run<W: Workflow>(
    workflow: &W,
    dir: PathBuf,
    run_id: &str,
    tool_version: &str,
    discovery: &W::Discovery,
    options: &W::Options,
    plan: &W::Plan,
) -> Result<Journal, W::Error> {
    let run = RunInfo {
        run_id: run_id.to_string(),
        workflow: W::NAME.into(),
        tool_version: tool_version.into(),
        target: workflow.target(),
    };
    let d2 = dir.clone();
    let journal =
        tokio::task::spawn_blocking(move || Journal::create(&d2, &run, &OpenOptions::default()))
            .await
            .map_err(|e| RunError::Load {
                dir: dir.clone(),
                reason: e.to_string(),
            })??;
    crash_point("RunStarted:");
    crate::engine::crash_at_seq(1);
    let rec = Recorder::new(journal.clone());
    rec.observe("discovery", &to_value(discovery)?).await?;
    rec.observe("options", &to_value(options)?).await?;
    let plan_json = serde_json::to_vec(plan).map_err(journal::Error::Json)?;
    let plan_digest = blake3::hash(&plan_json).to_hex().to_string();
    let blob = rec.put_blob(plan_json).await?;
    rec.append(Event::PlanRecorded {
        plan_digest,
        discovery_digest: W::planned_digest(plan).to_string(),
        operations: blob,
        count: W::operations(plan).len() as u32,
    })
    .await?;
    Ok(journal)
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, journal::Error> {
    serde_json::to_value(v).map_err(journal::Error::Json)
}

/// Reads a run back from its journal, after verifying its chain (a broken
/// chain is [`journal::Error::Corrupt`]).
pub async fn load_run<W: Workflow>(journal: Journal) -> Result<LoadedRun<W>, W::Error> {
    let j = journal.clone();
    tokio::task::spawn_blocking(move || load_blocking::<W>(j))
        .await
        .map_err(|e| RunError::Load {
            dir: journal.dir().to_path_buf(),
            reason: e.to_string(),
        })?
}

/// [`load_run`] off the async runtime (for callers with no runtime, as `journal replay`).
pub fn load_blocking<W: Workflow>(journal: Journal) -> Result<LoadedRun<W>, W::Error> {
    // A run is resumed from its journal alone, so the chain must hold first:
    // a damaged record would otherwise be read as if it were what was written.
    if let journal::VerifyStatus::Broken { seq, reason } = journal::verify_journal(&journal)?.status
    {
        return Err(journal::Error::Corrupt { seq, reason }.into());
    }
    read_run(journal)
}

/// Reads a run back from a journal whose chain the caller has verified.
pub fn read_run<W: Workflow>(journal: Journal) -> Result<LoadedRun<W>, W::Error> {
    let dir = journal.dir().to_path_buf();
    let bad = |reason: String| RunError::Load {
        dir: dir.clone(),
        reason,
    };
    let mut discovery = None;
    let mut options = None;
    let mut plan = None;
    let mut expansions = Vec::new();
    let mut seen_expansions = BTreeSet::new();
    let mut run_id = String::new();
    let mut started = false;
    let body = |doc: &journal::Doc| -> Result<Value, W::Error> { Ok(resolve(&journal, doc)?) };
    for r in journal.iter(1) {
        match r?.event {
            Event::RunStarted {
                run_id: id,
                workflow,
                ..
            } => {
                if workflow != W::NAME {
                    return Err(bad(format!(
                        "this journal records a {workflow} run, not {}",
                        W::NAME
                    ))
                    .into());
                }
                run_id = id;
            }
            Event::ObservationRecorded { key, body: b } => {
                if key == "discovery" && discovery.is_none() {
                    discovery = Some(
                        serde_json::from_value::<W::Discovery>(body(&b)?)
                            .map_err(|e| bad(format!("the discovery does not decode: {e}")))?,
                    );
                } else if key == "options" && options.is_none() {
                    options = Some(
                        serde_json::from_value::<W::Options>(body(&b)?)
                            .map_err(|e| bad(format!("the options do not decode: {e}")))?,
                    );
                } else if let Some(after) = key.strip_prefix("plan-expanded/")
                    && seen_expansions.insert(after.to_string())
                {
                    let ops = match body(&b)? {
                        Value::Array(a) => a,
                        other => {
                            return Err(bad(format!(
                                "the expansion after {after} is not a list: {other}"
                            ))
                            .into());
                        }
                    };
                    expansions.push((after.to_string(), ops));
                }
            }
            Event::PlanRecorded { operations, .. } if plan.is_none() => {
                let bytes = journal
                    .get_blob(&operations)?
                    .ok_or_else(|| bad("the plan blob is missing".into()))?;
                plan = Some(
                    serde_json::from_slice::<W::Plan>(&bytes)
                        .map_err(|e| bad(format!("the plan does not decode: {e}")))?,
                );
            }
            // Only an effect's intent changes anything: a failed precheck
            // leaves the run unstarted, so its drift is checked again.
            Event::OperationIntended { .. } => started = true,
            _ => {}
        }
    }
    let missing = |what: &str| {
        bad(format!(
            "the journal has no {what}: the run was interrupted before it was planned; start a new run"
        ))
    };
    Ok(LoadedRun {
        run_id,
        discovery: discovery.ok_or_else(|| missing("discovery"))?,
        options: options.ok_or_else(|| missing("options"))?,
        plan: plan.ok_or_else(|| missing("plan"))?,
        expansions,
        started,
        journal,
    })
}

/// Refuses a plan whose cluster changed before any of it ran.
pub async fn check_drift<W: Workflow>(workflow: &W, run: &LoadedRun<W>) -> Result<(), W::Error> {
    let live = workflow.discover().await?;
    let live_digest = W::digest(&live);
    let planned = W::planned_digest(&run.plan);
    if live_digest != planned {
        return Err(RunError::Drifted {
            workflow: W::NAME.into(),
            planned: planned.to_string(),
            live: live_digest,
        }
        .into());
    }
    Ok(())
}

/// Refuses `given` options when they differ from the run's (none given: nothing to check).
pub fn check_options<W: Workflow>(
    run: &LoadedRun<W>,
    given: Option<&W::Options>,
) -> Result<(), RunError> {
    let Some(given) = given else {
        return Ok(());
    };
    if given == &run.options {
        return Ok(());
    }
    Err(RunError::OptionsChanged {
        workflow: W::NAME.into(),
        differences: differences(&to_json(&run.options), &to_json(given)),
    })
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Returns `key: planned → given` for every top-level field that differs.
pub fn differences(planned: &Value, given: &Value) -> String {
    let empty = serde_json::Map::new();
    let (a, b) = (
        planned.as_object().unwrap_or(&empty),
        given.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "{k}: planned {}, given {}",
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How to execute a loaded run.
pub struct Execution<'a> {
    pub timing: Timing,
    pub progress: &'a dyn Progress,
    pub cancel: CancellationToken,
    pub clock: &'a dyn Clock,
    /// The run's journal directory (files the run writes go beside it).
    pub journal_dir: PathBuf,
    /// How long the exclusion (cluster lease) lasts without renewal, and
    /// the request timeout inside it.
    pub lease: crate::kube::lease::LeaseTiming,
    pub tool_version: String,
}

impl Execution<'_> {
    /// Returns the path of the run's file `what` beside its journal (`<run>.<what>`).
    pub fn beside(&self, what: &str) -> PathBuf {
        beside(&self.journal_dir, what)
    }
}

/// Returns where a run's file `what` lives beside its journal directory.
pub fn beside(journal_dir: &Path, what: &str) -> PathBuf {
    let run = journal_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    journal_dir.with_file_name(format!("{run}.{what}"))
}

/// Runs (or resumes) a loaded run under the workflow's exclusion; seals it when complete.
pub async fn execute<W: Workflow>(
    workflow: &W,
    run: &LoadedRun<W>,
    how: &Execution<'_>,
) -> Result<RunSummary, W::Error> {
    let rec = Recorder::new(run.journal.clone());
    if run.started {
        let me = journal::lock::Holder::me(&how.tool_version);
        rec.append(Event::RunResumed {
            host: me.host,
            user: me.user,
            pid: me.pid,
            tool_version: how.tool_version.clone(),
        })
        .await?;
    }
    let held = workflow.exclude(&run.run_id, how).await?;
    let result = async {
        let cx = workflow.context(run, &rec, how)?;
        let make = |v: &Value| make::<W>(v);
        let mut ops = Ops {
            steps: run.steps()?,
            expanded: run.expansions.iter().map(|(a, _)| a.clone()).collect(),
            make: &make,
        };
        let env = Env {
            rec: &rec,
            timing: &how.timing,
            cancel: &how.cancel,
            progress: how.progress,
            guard: held.as_ref(),
            clock: how.clock,
            recheck_reads: !run.started,
        };
        Ok::<RunSummary, W::Error>(crate::engine::run(&mut ops, &cx, env).await?)
    }
    .await;
    held.release().await;
    let summary = result?;
    if summary.outcome == RunOutcome::Completed {
        let (_, head) = run.journal.head();
        rec.append(Event::RunSealed {
            head,
            outcome: journal::RunOutcome::Completed,
        })
        .await?;
    }
    Ok(summary)
}
