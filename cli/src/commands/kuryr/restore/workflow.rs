//! The restore run as the CLI drives it: how its plan is shown (every
//! create, and every deleted object it will not bring back, with why) and
//! its errors mapped ([`CliWorkflow`] for the [`RestoreSession`]).

use std::collections::BTreeMap;

use serde_json::json;
use steps::kuryr::cleanup::restore_run::report::KUBERNETES_NOT_RESTORED;
use steps::kuryr::cleanup::restore_run::source::SourceError;
use steps::kuryr::cleanup::restore_run::{RestoreError, RestorePlanned, RestoreSession};
use steps::kuryr::migrate::MigrateError;

use super::super::errors::{kube_error, migrate_error, os_error, run_error};
use crate::driver::CliWorkflow;
use crate::error::{CliError, chain};
use crate::exit::ExitCode;

impl CliWorkflow for RestoreSession {
    const COMMAND: &'static str = "kuryr restore";
    const COMPLETED: &'static str =
        "restore completed; see what came back with `ovn-migrate kuryr restore report`";

    fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    fn anchor_client(&self) -> Option<&steps::kube::KubeClient> {
        Some(&self.kube)
    }

    fn show_plan(plan: &RestorePlanned) -> (serde_json::Value, String) {
        show_plan(plan)
    }

    fn error(e: RestoreError) -> CliError {
        restore_error(e)
    }
}

/// Returns the plan as JSON and as text.
pub fn show_plan(plan: &RestorePlanned) -> (serde_json::Value, String) {
    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for op in &plan.operations {
        *by_action
            .entry(steps::kuryr::cleanup::restore_run::action_name(
                &op.step.create,
            ))
            .or_default() += 1;
    }
    let mut text = format!(
        "Restore from cleanup run {} ({} operations, discovery {}):\n",
        plan.source_run,
        plan.operations.len(),
        &plan.discovery_digest[..12.min(plan.discovery_digest.len())]
    );
    for (a, n) in &by_action {
        text.push_str(&format!("  {n:>5}  {a}\n"));
    }
    if !plan.not_restored.is_empty() {
        text.push_str(&format!("Not restored ({}):\n", plan.not_restored.len()));
        for n in &plan.not_restored {
            text.push_str(&format!("  {} {}: {}\n", n.kind, n.old_id, n.why));
        }
    }
    let certain: BTreeMap<&str, usize> =
        plan.losses
            .iter()
            .filter(|l| l.certain)
            .fold(BTreeMap::new(), |mut m, l| {
                *m.entry(l.field.as_str()).or_default() += 1;
                m
            });
    if !certain.is_empty() {
        text.push_str("Restored objects lose:");
        for (f, n) in &certain {
            text.push_str(&format!(" {f} ({n})"));
        }
        text.push('\n');
    }
    text.push_str(&format!("{KUBERNETES_NOT_RESTORED}.\n"));
    let ops: Vec<_> = plan
        .operations
        .iter()
        .map(|o| {
            json!({"key": o.key, "group": o.group, "kind": o.step.kind.to_string(), "old_id": o.step.old_id,
                "action": steps::kuryr::cleanup::restore_run::action_name(&o.step.create)})
        })
        .collect();
    let value = json!({
        "source_run": plan.source_run,
        "discovery_digest": plan.discovery_digest,
        "operations": ops,
        "not_restored": plan.not_restored,
        "losses": plan.losses,
        "kubernetes": KUBERNETES_NOT_RESTORED,
    });
    (value, text)
}

/// Maps a restore error to the CLI's, with its exit code and hints.
pub fn restore_error(e: RestoreError) -> CliError {
    let msg = |e: &RestoreError| format!("failed to {}", chain(e));
    match e {
        RestoreError::Connect(m) => migrate_error(m),
        RestoreError::Kube(k) => kube_error(&k),
        RestoreError::OpenStack(o) => os_error(&o),
        RestoreError::Journal(j) => j.into(),
        RestoreError::Lease(l) => migrate_error(MigrateError::Lease(l)),
        RestoreError::Run(r) => run_error(r),
        e @ RestoreError::Source(SourceError::Broken { .. }) => {
            CliError::cluster(ExitCode::JOURNAL_CORRUPT, msg(&e))
        }
        e @ RestoreError::Source(_) => CliError::usage(msg(&e)),
        e @ RestoreError::OtherCluster { .. } => CliError::cluster(ExitCode::WRONG_TARGET, msg(&e)),
        e @ RestoreError::OtherRun { .. } => CliError::usage(msg(&e)),
    }
}
