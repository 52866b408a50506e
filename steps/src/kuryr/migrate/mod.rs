//! The migration phase M0–M11 as a workflow of typed steps.
//!
//! [`discover`] reads what the plan is made from; [`session`] connects to a
//! cluster and its cloud and is the [`crate::workflow::Workflow`] of this
//! phase (options, discovery, plan, operations). Each step is its own type in
//! its own file (`m0_precheck.rs` … `m11_remove.rs`) with its unit tests;
//! [`step_for`] turns a planned operation into its boxed step, the one place
//! that looks at the action.

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
mod networks;
mod session;

use std::collections::BTreeMap;
use std::path::PathBuf;

use journal::{OpId, OperationSpec};

use super::plan::{Action, Operation};
use crate::engine::{ErasedStep, Recorder, StepError, check, effect, wait};
use crate::kube::{KubeClient, KubeError};
use crate::openstack::OpenStack;

pub use discover::{Discovered, discover};
pub use m1_backup::LABEL as BACKUP_LABEL;
pub use session::{
    MigrateError, MigrationLease, MigrationOptions, RebootChoice, Session, WORKFLOW, plan,
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

/// Returns the step of a planned operation.
pub fn step_for(op: &Operation) -> Box<dyn ErasedStep<MigrationCx>> {
    let spec = spec_of(op);
    match &op.action {
        Action::Precheck => check(m0_precheck::Precheck { spec }),
        Action::BackupNetworkConfig => effect(m1_backup::Backup { spec }),
        Action::ReadClusterId => check(m2_cluster_id::ClusterId { spec }),
        Action::SetMigration(patch) => effect(m3_migration::SetMigration {
            spec,
            patch: patch.clone(),
        }),
        Action::ApplyOvnSettings(patch) => effect(m4_settings::ApplySettings {
            spec,
            patch: patch.clone(),
        }),
        Action::WaitMachineConfigRollout => wait(m5_rollout::Rollouts { spec }),
        Action::WaitHostsConfig => wait(m6_hosts::Hosts { spec }),
        Action::SwitchNetworkType(patch) => effect(m7_switch::Switch {
            spec,
            patch: patch.clone(),
        }),
        Action::WaitMultus => wait(m8_multus::Multus { spec }),
        Action::RebootNode { wave, boot_id, via } => effect(m9_reboot::Reboot {
            node: op
                .target
                .strip_prefix("nodes/")
                .unwrap_or(&op.target)
                .to_string(),
            spec,
            wave: *wave,
            boot_id: boot_id.clone(),
            via: via.clone(),
        }),
        Action::Verify => wait(m10_verify::Verify { spec }),
        Action::RemoveMigration(patch) => effect(m11_remove::RemoveMigration {
            spec,
            patch: patch.clone(),
        }),
    }
}

/// Returns the journal's spec of a planned operation.
pub fn spec_of(op: &Operation) -> OperationSpec {
    OperationSpec {
        op: OpId(op.key.clone()),
        step: op.step.to_string(),
        action: action_name(&op.action).to_string(),
        target: op.target.clone(),
        idempotency_key: op.key.clone(),
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

#[cfg(test)]
pub(crate) fn test_spec(step: &str) -> OperationSpec {
    OperationSpec {
        op: OpId(format!("c-1/{step}/test")),
        step: step.into(),
        action: "test".into(),
        target: "t".into(),
        idempotency_key: format!("c-1/{step}/test"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::plan::{RebootVia, StepId};
    use serde_json::json;

    fn op(action: Action) -> Operation {
        Operation {
            step: StepId::M3,
            action,
            target: "nodes/w-0".into(),
            key: "k".into(),
        }
    }

    #[test]
    fn read_only_steps_have_no_effect_and_effects_have_one() {
        for a in [
            Action::Precheck,
            Action::ReadClusterId,
            Action::WaitMachineConfigRollout,
            Action::WaitHostsConfig,
            Action::WaitMultus,
            Action::Verify,
        ] {
            assert!(step_for(&op(a.clone())).as_effect().is_none(), "{a:?}");
        }
        for a in [
            Action::BackupNetworkConfig,
            Action::SetMigration(json!({})),
            Action::ApplyOvnSettings(json!({})),
            Action::SwitchNetworkType(json!({})),
            Action::RemoveMigration(json!({})),
        ] {
            assert!(step_for(&op(a.clone())).as_effect().is_some(), "{a:?}");
        }
        let reboot = step_for(&op(Action::RebootNode {
            wave: 2,
            boot_id: "b".into(),
            via: RebootVia::Nova("s".into()),
        }));
        assert_eq!(reboot.group().as_deref(), Some("M9/wave-2"));
    }
}
