//! The migration phase M0–M11 on the step engine.
//!
//! [`discover`] reads what the plan is made from; [`session`] ties a cluster,
//! its cloud and a journal together (start a run, load a run, execute it);
//! [`MigrationStep`] runs one planned operation by dispatching on its action
//! to the step's own file (`m0_precheck.rs` … `m11_remove.rs`), where each
//! step observes, classifies (pure) and acts.

mod discover;
mod m0_precheck;
mod m10_verify;
mod m11_remove;
mod m1_backup;
mod m2_cluster_id;
mod m3_migration;
mod m4_settings;
mod m5_rollout;
mod m6_hosts;
mod m7_switch;
mod m8_multus;
mod m9_reboot;
mod session;

use std::collections::BTreeMap;
use std::path::PathBuf;

use journal::{OpId, OperationSpec};
use serde_json::Value;

use super::plan::{Action, Operation};
use crate::engine::{Effect, Recorder, Step, StepError, StepKind, Verdict, WaitState};
use crate::kube::{KubeClient, KubeError};
use crate::openstack::OpenStack;

pub use discover::{Discovered, discover};
pub use session::{
    Execution, LoadedRun, MigrateError, MigrationOptions, RebootChoice, Session, WORKFLOW, execute,
    load_run, plan, start_run,
};

/// What every migration step reads and acts through.
pub struct MigrationCx {
    /// The cluster.
    pub kube: KubeClient,
    /// The cloud (Nova reboots, prechecks).
    pub openstack: OpenStack,
    /// The journal (M1 stores the backup in it).
    pub recorder: Recorder,
    /// Where M1 writes the network config backup for the user to keep.
    pub backup_path: PathBuf,
    /// What discovery read before anything changed.
    pub discovered: Discovered,
    /// Each pool's rendered config before M3 (M5's baseline).
    pub pools_before: BTreeMap<String, String>,
    /// The Geneve port M0 checks the security groups for.
    pub geneve_port: u16,
}

/// One planned operation, runnable by the engine.
pub struct MigrationStep {
    pub op: Operation,
}

impl Step for MigrationStep {
    type Cx = MigrationCx;

    fn spec(&self) -> OperationSpec {
        OperationSpec {
            op: OpId(self.op.key.clone()),
            step: self.op.step.to_string(),
            action: action_name(&self.op.action).to_string(),
            target: self.op.target.clone(),
            idempotency_key: self.op.key.clone(),
        }
    }

    fn kind(&self) -> StepKind {
        match &self.op.action {
            Action::Precheck | Action::ReadClusterId => StepKind::Check,
            Action::WaitMachineConfigRollout
            | Action::WaitHostsConfig
            | Action::WaitMultus
            | Action::Verify => StepKind::Wait,
            _ => StepKind::Effect,
        }
    }

    fn group(&self) -> Option<String> {
        match &self.op.action {
            Action::RebootNode { wave, .. } => Some(format!("M9/wave-{wave}")),
            _ => None,
        }
    }

    async fn observe(&self, cx: &MigrationCx) -> Result<Value, StepError> {
        match &self.op.action {
            Action::Precheck => m0_precheck::observe(cx).await,
            Action::BackupNetworkConfig => m1_backup::observe(cx).await,
            Action::ReadClusterId => m2_cluster_id::observe(cx).await,
            Action::SetMigration(_) | Action::RemoveMigration(_) => m3_migration::observe(cx).await,
            Action::ApplyOvnSettings(_) => m4_settings::observe(cx).await,
            Action::WaitMachineConfigRollout => m5_rollout::observe(cx).await,
            Action::WaitHostsConfig => m6_hosts::observe(cx).await,
            Action::SwitchNetworkType(_) => m7_switch::observe(cx).await,
            Action::WaitMultus => m8_multus::observe(cx).await,
            Action::RebootNode { via, .. } => {
                m9_reboot::observe(cx, node_name(&self.op), via).await
            }
            Action::Verify => m10_verify::observe(cx).await,
        }
    }

    fn params(&self, live: &Value) -> Value {
        match &self.op.action {
            Action::RebootNode { .. } => m9_reboot::params(live),
            _ => Value::Null,
        }
    }

    fn classify(&self, live: &Value, intent: Option<&Value>) -> Verdict {
        match &self.op.action {
            Action::BackupNetworkConfig => m1_backup::classify(live),
            Action::SetMigration(_) => m3_migration::classify_set(live),
            Action::RemoveMigration(_) => m11_remove::classify(live),
            Action::ApplyOvnSettings(patch) => m4_settings::classify(patch, live),
            Action::SwitchNetworkType(_) => m7_switch::classify(live),
            Action::RebootNode { .. } => m9_reboot::classify(intent, live),
            _ => Verdict::NotDone("read-only step".into()),
        }
    }

    async fn act(&self, cx: &MigrationCx) -> Result<Effect, StepError> {
        match &self.op.action {
            Action::BackupNetworkConfig => m1_backup::act(cx).await,
            Action::SetMigration(patch)
            | Action::RemoveMigration(patch)
            | Action::ApplyOvnSettings(patch) => m3_migration::patch_operator(cx, patch).await,
            Action::SwitchNetworkType(patch) => m7_switch::act(cx, patch).await,
            Action::RebootNode { via, .. } => m9_reboot::act(cx, via).await,
            _ => Err(StepError::fatal("a read-only step has no effect")),
        }
    }

    fn condition(&self, live: &Value, intent: Option<&Value>) -> Option<WaitState> {
        match &self.op.action {
            Action::Precheck => Some(m0_precheck::condition(live)),
            Action::ReadClusterId => Some(m2_cluster_id::condition(live)),
            Action::SetMigration(_) => Some(m3_migration::condition_set(live)),
            Action::RemoveMigration(_) => Some(m11_remove::condition(live)),
            Action::WaitMachineConfigRollout => Some(m5_rollout::condition(live)),
            Action::WaitHostsConfig => Some(m6_hosts::condition(live)),
            Action::WaitMultus => Some(m8_multus::condition(live)),
            Action::RebootNode { boot_id, .. } => Some(m9_reboot::condition(intent, boot_id, live)),
            Action::Verify => Some(m10_verify::condition(live)),
            Action::BackupNetworkConfig
            | Action::ApplyOvnSettings(_)
            | Action::SwitchNetworkType(_) => None,
        }
    }
}

/// Returns the name an action is journaled under.
pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Precheck => "precheck",
        Action::BackupNetworkConfig => "backup-network-config",
        Action::ReadClusterId => "read-cluster-id",
        Action::SetMigration(_) => "set-migration",
        Action::ApplyOvnSettings(_) => "apply-ovn-settings",
        Action::WaitMachineConfigRollout => "wait-machine-config-rollout",
        Action::WaitHostsConfig => "wait-hosts-config",
        Action::SwitchNetworkType(_) => "switch-network-type",
        Action::WaitMultus => "wait-multus",
        Action::RebootNode { .. } => "reboot-node",
        Action::Verify => "verify",
        Action::RemoveMigration(_) => "remove-migration",
    }
}

fn node_name(op: &Operation) -> &str {
    op.target.strip_prefix("nodes/").unwrap_or(&op.target)
}

/// Converts a Kubernetes error into a step error (retryable or not). A 409 is
/// retryable too: the steps send unconditional merge patches (no
/// resourceVersion), and the engine re-observes before every retry, so a
/// conflict that resolved itself is seen as done rather than patched again.
pub(crate) fn kube_err(e: KubeError) -> StepError {
    StepError {
        retryable: e.is_retryable() || e.kind() == crate::kube::ErrorKind::Conflict,
        http_status: None,
        message: crate::redact::text(&e.to_string()).into_owned(),
    }
}

/// Converts an OpenStack error into a step error.
pub(crate) fn os_err(e: crate::openstack::Error) -> StepError {
    StepError {
        retryable: e.is_retryable(),
        http_status: e.status(),
        message: crate::redact::text(&e.to_string()).into_owned(),
    }
}
