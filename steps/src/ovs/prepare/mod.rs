//! `ovs prepare` as a workflow on the engine (`spec/ovs-to-ovn.md`,
//! "Preparation steps"): P1 canaries, P3 the DHCP lease duration and its
//! gate, P4 the Galera-safe backup of Neutron's database, through pod exec.
//!
//! [`plan`] holds the pure plan; each step is its own type in its own file
//! (`p1_canary.rs` … `p5_old_leases.rs`) with its tests; [`step_for`] turns
//! a planned operation into its boxed step, the one place that looks at the
//! action; [`session`] is the [`crate::workflow::Workflow`]; [`gate`] is the
//! lease gate other commands ask.

pub mod exec;
pub mod galera;
pub mod gate;
mod p1_canary;
mod p3_lease;
mod p4_check;
mod p4_desync;
mod p4_dump;
mod p4_resync;
mod p5_old_leases;
pub mod plan;
pub mod session;

use std::sync::Arc;

use journal::{OpId, OperationSpec};

use crate::engine::{ErasedStep, StepError, check, effect, wait};
use crate::kube::{KubeClient, KubeError, ObjectRef};
use crate::openstack::OpenStack;

pub use exec::{Exec, ExecOut, KubeExec};
pub use gate::{LeaseGate, lease_gate, open_desync};
pub use plan::{Action, Discovery, Operation, Plan, PlanError, PrepareOptions};
pub use session::{PrepareError, PrepareSession, WORKFLOW};

/// What every prepare step reads and acts through.
pub struct PrepareCx {
    /// MOSK's cluster (the OpenStackDeployment, the Galera StatefulSet).
    pub kube: KubeClient,
    /// The cloud (Nova, for the canaries).
    pub openstack: OpenStack,
    /// Commands in the Galera pods.
    pub exec: Arc<dyn Exec>,
    /// The OpenStackDeployment.
    pub deployment: ObjectRef,
    /// The MariaDB client options file in the `mariadb` container (`None`: the client's defaults).
    pub mysql_defaults: Option<String>,
}

/// Returns the step of a planned operation.
pub fn step_for(op: &Operation) -> Box<dyn ErasedStep<PrepareCx>> {
    let spec = spec_of(op);
    match &op.action {
        Action::BootCanary {
            host,
            name,
            image,
            flavor,
            network,
        } => effect(p1_canary::Canary {
            spec,
            host: host.clone(),
            name: name.clone(),
            image: image.clone(),
            flavor: flavor.clone(),
            network: network.clone(),
        }),
        Action::SetLeaseDuration { value, .. } => effect(p3_lease::SetLease {
            spec,
            value: *value,
        }),
        Action::CheckGalera { replicas } => check(p4_check::GaleraHealthy {
            spec,
            replicas: *replicas,
        }),
        Action::Desync { pod, replicas } => effect(p4_desync::Desync {
            spec,
            pod: pod.clone(),
            replicas: *replicas,
        }),
        Action::Dump { pod, path } => effect(p4_dump::Dump {
            spec,
            pod: pod.clone(),
            path: path.clone(),
        }),
        Action::Resync { pod, replicas } => effect(p4_resync::Resync {
            spec,
            pod: pod.clone(),
            replicas: *replicas,
        }),
        Action::OldLeasesExpired { old_lease_s } => wait(p5_old_leases::OldLeasesExpired {
            spec,
            old_lease_s: *old_lease_s,
        }),
    }
}

/// Returns the name of an action, as journaled.
pub fn action_name(a: &Action) -> &'static str {
    match a {
        Action::BootCanary { .. } => "boot-canary",
        Action::SetLeaseDuration { .. } => "set-dhcp-lease-duration",
        Action::CheckGalera { .. } => "check-galera",
        Action::Desync { .. } => "desync-member",
        Action::Dump { .. } => "dump-neutron-database",
        Action::Resync { .. } => "resync-member",
        Action::OldLeasesExpired { .. } => "wait-old-leases-expired",
    }
}

/// Returns the journal's spec of a planned operation.
pub fn spec_of(op: &Operation) -> OperationSpec {
    OperationSpec {
        op: OpId(op.id.clone()),
        step: op.step.clone(),
        action: action_name(&op.action).to_string(),
        target: op.target.clone(),
        idempotency_key: op.id.clone(),
    }
}

/// Converts a Kubernetes error into a step error (409 retryable: patches are re-observed first).
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
pub(crate) fn test_spec(id: &str) -> OperationSpec {
    OperationSpec {
        op: OpId(id.into()),
        step: "P".into(),
        action: "test".into(),
        target: "t".into(),
        idempotency_key: id.into(),
    }
}
