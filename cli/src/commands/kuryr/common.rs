//! What the `kuryr` commands share: connecting as the users' own tools do,
//! finding and opening the current run's journal, showing a plan, driving the
//! engine with progress on stderr and Ctrl-C as a clean pause, and turning
//! outcomes and errors into exit codes with hints.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use journal::{Journal, OpenOptions};
use serde::Serialize;
use serde_json::json;
use steps::engine::{Progress as EngineProgress, ProgressEvent, RunOutcome, RunSummary};
use steps::kube::{ClientOptions, ErrorKind as KubeKind, KubeError};
use steps::kuryr::Plan;
use steps::kuryr::migrate::{
    Discovered, Execution, LoadedRun, MigrateError, MigrationOptions, Session, WORKFLOW, execute,
    start_run,
};
use steps::openstack::{CloudConfig, Error as OsError};
use tokio_util::sync::CancellationToken;

use super::options::TimingFlags;
use crate::context::Context;
use crate::error::{CliError, ErrorKind, Result};
use crate::exit::ExitCode;
use crate::output::Progress;
use crate::state;

/// How long one request may take when a command has no `--request-timeout-s`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to the cluster (`--kubeconfig`, `KUBECONFIG`, `--context`) and the
/// cloud (`--os-cloud`, `OS_CLOUD`, clouds.yaml, `OS_*`).
pub fn connect(ctx: &Context) -> Result<Session> {
    connect_with_timeout(ctx, DEFAULT_REQUEST_TIMEOUT)
}

/// Connects as [`connect`] does; every request gives up after `timeout`.
pub fn connect_with_timeout(ctx: &Context, timeout: Duration) -> Result<Session> {
    let kube = ClientOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
        timeout: Some(timeout),
    };
    let cloud = CloudConfig::load(ctx.global.os_cloud.as_deref()).map_err(|e| os_error(&e))?;
    ctx.block_on(Session::connect(&kube, cloud, timeout))?
        .map_err(migrate_error)
}

/// Returns the directory of one cluster's journals (created 0700).
pub fn cluster_dir(ctx: &Context, session: &Session) -> Result<PathBuf> {
    let dir = state::cluster_dir(&ctx.ensure_state_dir()?, &session.cluster_id);
    state::ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Opens a run's journal: `--journal DIR` if given, else the cluster's current
/// run; `None` when there is none. A journal of another cluster is refused.
pub fn open_run(
    ctx: &Context,
    session: &Session,
    journal: Option<&Path>,
    break_lock: Option<String>,
) -> Result<Option<(Journal, PathBuf)>> {
    let dir = match journal {
        Some(d) => d.to_path_buf(),
        None => {
            let cluster = cluster_dir(ctx, session)?;
            match state::current_run(&cluster, WORKFLOW) {
                Some(run) => state::journal_dir(&cluster, &run),
                None => return Ok(None),
            }
        }
    };
    let opts = OpenOptions {
        break_lock,
        ..OpenOptions::default()
    };
    let j = Journal::open(&dir, &session.target, &opts)?;
    if let Some(old) = j.broke_lock() {
        ctx.output.note(format!(
            "took over the journal's lock from {old}, which is no longer running (journaled as LockRecovered)"
        ));
    }
    Ok(Some((j, dir)))
}

/// Discovers the cluster and makes the plan for `options`.
pub fn discover_and_plan(
    ctx: &Context,
    session: &Session,
    options: &MigrationOptions,
) -> Result<(Discovered, Plan)> {
    let discovered = ctx.block_on(session.discover())?.map_err(migrate_error)?;
    let plan = session.plan(&discovered, options).map_err(migrate_error)?;
    Ok((discovered, plan))
}

/// Records a plan as a new run (its journal) and makes it the cluster's current run.
pub fn record_run(
    ctx: &Context,
    session: &Session,
    discovered: &Discovered,
    options: &MigrationOptions,
    plan: &Plan,
) -> Result<(String, PathBuf, Journal)> {
    let cluster = cluster_dir(ctx, session)?;
    let run_id = state::new_run_id();
    let dir = state::journal_dir(&cluster, &run_id);
    let journal = ctx
        .block_on(start_run(
            session,
            dir.clone(),
            &run_id,
            env!("CARGO_PKG_VERSION"),
            discovered,
            options,
            plan,
        ))?
        .map_err(migrate_error)?;
    state::set_current_run(&cluster, WORKFLOW, &run_id)?;
    Ok((run_id, dir, journal))
}

/// One planned operation, as shown to the user.
#[derive(Serialize)]
struct PlannedOp<'a> {
    step: String,
    action: &'static str,
    target: &'a str,
    key: &'a str,
}

/// Returns the plan as JSON and as text.
pub fn show_plan(plan: &Plan) -> (serde_json::Value, String) {
    let ops: Vec<PlannedOp> = plan
        .operations
        .iter()
        .map(|o| PlannedOp {
            step: o.step.to_string(),
            action: steps::kuryr::migrate::action_name(&o.action),
            target: &o.target,
            key: &o.key,
        })
        .collect();
    let mut text = format!(
        "Plan for cluster {} ({} operations, discovery {}):\n",
        plan.cluster_id,
        ops.len(),
        &plan.discovery_digest[..12.min(plan.discovery_digest.len())]
    );
    for o in &ops {
        text.push_str(&format!("  {:<4} {:<28} {}\n", o.step, o.action, o.target));
    }
    let value = json!({"cluster_id": plan.cluster_id, "discovery_digest": plan.discovery_digest, "operations": ops});
    (value, text)
}

/// The engine's progress, on the terminal and in a status file beside the journal.
struct TermProgress {
    bar: Progress,
    status_path: PathBuf,
    state: Mutex<StatusFile>,
}

/// What `kuryr status` reads while a run holds the journal.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct StatusFile {
    pub run_id: String,
    pub pid: u32,
    pub total: usize,
    pub current: Option<String>,
    pub condition: Option<String>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub updated: String,
    pub outcome: Option<String>,
}

impl TermProgress {
    fn save(&self, s: &mut StatusFile) {
        s.updated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let tmp = self.status_path.with_extension("tmp");
        if std::fs::write(&tmp, serde_json::to_vec_pretty(s).unwrap_or_default()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.status_path);
        }
    }
}

impl EngineProgress for TermProgress {
    fn on(&self, event: &ProgressEvent) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::Started {
                op,
                step,
                action,
                index,
                total,
            } => {
                if s.total == 0 {
                    self.bar.step("migrate", *total as u64);
                }
                s.total = *total;
                s.current = Some(op.clone());
                s.condition = None;
                self.bar
                    .message(format!("{step} {action} ({index}/{total})"));
                tracing::info!(%op, %step, %action, "operation started");
            }
            ProgressEvent::Condition { op, condition } => {
                s.condition = Some(condition.clone());
                let short: String = condition.chars().take(100).collect();
                self.bar.message(short);
                tracing::info!(%op, %condition, "condition");
            }
            ProgressEvent::Retrying {
                op,
                attempt,
                error,
                delay_ms,
            } => {
                tracing::warn!(%op, attempt, %error, delay_ms, "retrying");
            }
            ProgressEvent::Finished { op, result } => {
                match *result {
                    "done" => s.done += 1,
                    "skipped" => s.skipped += 1,
                    _ => s.failed += 1,
                }
                self.bar.inc(1);
                tracing::info!(%op, result, "operation finished");
            }
        }
        self.save(&mut s);
    }
}

/// Returns where a run's status file and network config backup live.
pub fn beside(journal_dir: &Path, what: &str) -> PathBuf {
    let run = journal_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    journal_dir.with_file_name(format!("{run}.{what}"))
}

/// Executes (or resumes) a loaded run: progress, Ctrl-C as a pause, the outcome printed.
pub fn drive(
    ctx: &Context,
    session: &Session,
    loaded: &LoadedRun,
    journal_dir: &Path,
    timing: &TimingFlags,
) -> Result<i32> {
    let log = ctx.log_beside(journal_dir)?;
    let progress = TermProgress {
        bar: ctx.progress(),
        status_path: beside(journal_dir, "status.json"),
        state: Mutex::new(StatusFile {
            run_id: loaded.run_id.clone(),
            pid: std::process::id(),
            ..Default::default()
        }),
    };
    let cancel = CancellationToken::new();
    let how = Execution {
        timing: timing.timing(),
        progress: &progress,
        cancel: cancel.clone(),
        backup_path: beside(journal_dir, "network-config.json"),
        lease_duration: timing.lease(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let rt = ctx.runtime()?;
    let stopper = {
        let (cancel, bar) = (cancel.clone(), progress.bar.clone());
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                bar.suspend(|| eprintln!("interrupted: finishing the operations in flight, then pausing (Ctrl-C again to stop at once)"));
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(ExitCode::INTERRUPTED);
                }
            }
        })
    };
    let result = rt.block_on(execute(session, loaded, &how));
    stopper.abort();
    progress.bar.finish();
    let summary = result.map_err(migrate_error)?;
    {
        let mut s = progress.state.lock().unwrap_or_else(|p| p.into_inner());
        s.outcome = Some(
            serde_json::to_value(&summary.outcome)
                .ok()
                .and_then(|v| v["outcome"].as_str().map(String::from))
                .unwrap_or_default(),
        );
        progress.save(&mut s);
    }
    report(ctx, &summary, journal_dir, &log)
}

/// Prints the outcome and returns its exit code.
fn report(ctx: &Context, summary: &RunSummary, journal_dir: &Path, log: &Path) -> Result<i32> {
    let c = &summary.counts;
    let (code, headline, hint) = match &summary.outcome {
        RunOutcome::Completed => (
            ExitCode::OK,
            "migration phase completed".to_string(),
            String::new(),
        ),
        RunOutcome::Paused { reason } => (
            ExitCode::INTERRUPTED,
            format!("paused: {reason}"),
            "carry on with `ovn-migrate kuryr resume`".to_string(),
        ),
        RunOutcome::NeedsOperator { op, detail, live } => (
            ExitCode::NEEDS_OPERATOR,
            format!("stopped at {op}: {detail}\n  live state: {live}"),
            "look at the object, then resume; the journal shows what was intended".to_string(),
        ),
        RunOutcome::CheckFailed { op, detail } => (
            ExitCode::PRECHECK_FAILED,
            format!("{op} did not pass: {}", pretty_findings(detail)),
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

/// Renders precheck findings (JSON) as lines, when they parse.
fn pretty_findings(detail: &str) -> String {
    let Ok(findings) = serde_json::from_str::<Vec<steps::kuryr::Finding>>(detail) else {
        return detail.to_string();
    };
    let mut out = String::new();
    for f in findings.iter().filter(|f| !f.passed) {
        out.push_str(&format!(
            "\n  ✗ {} [{:?}]: {}",
            f.name, f.severity, f.detail
        ));
        if !f.objects.is_empty() {
            out.push_str(&format!(" ({})", f.objects.join(", ")));
        }
        if !f.hint.is_empty() {
            out.push_str(&format!("\n      hint: {}", f.hint));
        }
    }
    out
}

/// Maps an OpenStack configuration or connection error to the CLI's.
pub fn os_error(e: &OsError) -> CliError {
    let msg = format!("failed to {e}");
    match e {
        OsError::NoCloudsFile { .. } | OsError::CloudNotFound { .. } | OsError::ReadConfig { .. } | OsError::ParseConfig { .. } | OsError::MissingConfig(_) => {
            CliError::config(msg).with_hint("point --os-cloud / OS_CLOUD at a cloud in clouds.yaml (OS_CLIENT_CONFIG_FILE), or set OS_AUTH_URL and friends")
        }
        OsError::Unreachable { .. } => CliError::cluster(ExitCode::UNREACHABLE, msg)
            .with_hint("check that the auth_url in clouds.yaml (or OS_AUTH_URL) is right and reachable from here"),
        OsError::Unauthorized { .. } => CliError::config(msg).with_hint(
            "fix the credentials of the cloud named by --os-cloud / OS_CLOUD in clouds.yaml (OS_CLIENT_CONFIG_FILE), or the OS_* variables",
        ),
        _ => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

fn kube_error(e: &KubeError) -> CliError {
    let msg = format!("failed to {e}");
    match e {
        KubeError::KubeconfigMissing { .. }
        | KubeError::KubeconfigUnreadable { .. }
        | KubeError::ContextNotFound { .. }
        | KubeError::NoCurrentContext { .. }
        | KubeError::ClientConfig { .. } => CliError::config(msg)
            .with_hint("point --kubeconfig / KUBECONFIG (and --context) at the cluster to migrate"),
        KubeError::Unreachable { .. } | KubeError::Transport { .. } => {
            CliError::cluster(ExitCode::UNREACHABLE, msg).with_hint(
                "make sure the API server is up, or point --kubeconfig / KUBECONFIG (and --context) at the cluster to migrate",
            )
        }
        _ if matches!(e.kind(), KubeKind::Unauthorized | KubeKind::Forbidden) => {
            CliError::config(msg).with_hint("log in again (oc login) as a cluster-admin")
        }
        _ => CliError::new(ErrorKind::Cluster, ExitCode::FAILURE, msg),
    }
}

/// Maps a migration error to the CLI's, with its exit code and hints.
pub fn migrate_error(e: MigrateError) -> CliError {
    match e {
        MigrateError::Kube(k) => kube_error(&k),
        MigrateError::OpenStack(o) => os_error(&o),
        MigrateError::Journal(j) => j.into(),
        MigrateError::Lease(l) => CliError::cluster(ExitCode::LOCKED, format!("failed to {l}"))
            .with_hint("wait for the other run to finish, or for its lease to expire if it died"),
        e @ MigrateError::Drifted { .. } => {
            CliError::cluster(ExitCode::NEEDS_OPERATOR, format!("failed to {e}"))
        }
        e @ MigrateError::Plan(steps::kuryr::plan::PlanError::Identifiers(_)) => {
            CliError::cluster(ExitCode::PRECHECK_FAILED, format!("failed to {e}"))
                .with_hint("nothing was changed")
        }
        e @ (MigrateError::Plan(_) | MigrateError::Template(_) | MigrateError::Settings(_)) => {
            CliError::usage(format!("failed to {e}"))
        }
        e @ MigrateError::Load(_) => CliError::new(
            ErrorKind::Cluster,
            ExitCode::FAILURE,
            format!("failed to {e}"),
        ),
    }
}
