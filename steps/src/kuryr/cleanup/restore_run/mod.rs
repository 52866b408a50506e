//! `kuryr restore --from <cleanup run>` as a journaled, resumable run.
//!
//! Its discovery is the cleanup run's record (the C0 snapshot and what the
//! cleanup deleted, read from that run's journal, see [`source`]) plus what
//! exists in the project now ([`existing`]); its plan is
//! [`crate::kuryr::cleanup::restore::plan_restore`] cut into concurrent groups
//! ([`plan`]), and each planned create is an effect step that first looks for
//! its object again by an idempotency key (the name for networks, pools,
//! routers, groups and load balancers, never one that existed before the
//! restore; the network and CIDR for subnets; the network and fixed IP for
//! ports; the address for floating IPs; the router and subnet, the trunk and
//! port, the group and rule fields for the rest), so a create interrupted
//! by a crash is never made twice. The old → new IDs are journaled with each
//! step ([`idmap`]) and later steps resolve their references through them.
//! Tags go on with `PUT …/tags` (Neutron Zed refuses them in POST bodies
//! except on ports). [`session`] is the [`crate::workflow::Workflow`];
//! [`report`] says what came back and what could not, and why.

pub mod existing;
pub mod idmap;
mod load_balancer;
mod object;
pub mod plan;
pub mod report;
mod router_interface;
mod rule;
pub mod session;
pub mod source;
mod subport;

use std::time::Duration;

use journal::{OpId, OperationSpec};
use serde::{Deserialize, Serialize};

use crate::engine::{ErasedStep, StepError, effect};
use crate::kuryr::cleanup::restore::{Create, RestoreStep};
use crate::openstack::OpenStack;

pub use existing::Existing;
pub use idmap::{IdMap, read_id_map};
pub use plan::{NotRestored, RestorePlanned, plan_run};
pub use session::{RestoreDiscovery, RestoreError, RestoreOptions, RestoreSession, WORKFLOW};
pub use source::{CleanupSource, read_source};

/// How long a load balancer may take to become ACTIVE between the calls
/// that build its tree, and how often it is looked at.
#[derive(Clone, Copy, Debug)]
pub struct LbWait {
    pub poll: Duration,
    pub timeout: Duration,
}

impl Default for LbWait {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(600),
        }
    }
}

/// What every restore step reads and acts through.
pub struct RestoreCx {
    /// The cloud.
    pub openstack: OpenStack,
    /// Old → new IDs (rebuilt from the journal on resume).
    pub map: IdMap,
    /// What existed before the restore created anything.
    pub existing: Existing,
    /// Load balancer provisioning waits.
    pub lb_wait: LbWait,
}

/// One planned restore operation, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Its id: `restore/<kind>/<old id>`.
    pub key: String,
    /// The operations of one group run concurrently (no two of a group depend
    /// on each other or share an idempotency key).
    pub group: String,
    /// What it creates.
    pub step: RestoreStep,
    /// A security group's default-shaped rules in the snapshot (egress, an
    /// ethertype, nothing else), as (direction, ethertype): a default rule
    /// Neutron adds to the new group that is not among them is deleted, so
    /// the group gets back exactly its rules. Empty for other objects.
    pub default_rules: Vec<(String, String)>,
}

/// Returns the step of a planned operation (the one place that looks at the create).
pub fn step_for(op: &Operation) -> Box<dyn ErasedStep<RestoreCx>> {
    let spec = spec_of(op);
    let group = op.group.clone();
    let step = op.step.clone();
    match &op.step.create {
        Create::RouterInterface { .. } => {
            effect(router_interface::AddInterface { spec, group, step })
        }
        Create::SecurityGroupRule { .. } => effect(rule::CreateRule { spec, group, step }),
        Create::Subport { .. } => effect(subport::AddSubport { spec, group, step }),
        Create::LoadBalancer { .. } => effect(load_balancer::CreateTree { spec, group, step }),
        _ => effect(object::CreateObject {
            spec,
            group,
            step,
            default_rules: op.default_rules.clone(),
        }),
    }
}

/// Returns the action name a create is journaled under.
pub fn action_name(create: &Create) -> &'static str {
    match create {
        Create::SubnetPool { .. } => "create-subnet-pool",
        Create::Network { .. } => "create-network",
        Create::Subnet { .. } => "create-subnet",
        Create::Router { .. } => "create-router",
        Create::RouterInterface { .. } => "add-router-interface",
        Create::SecurityGroup { .. } => "create-security-group",
        Create::SecurityGroupRule { .. } => "create-security-group-rule",
        Create::Port { .. } => "create-port",
        Create::Subport { .. } => "add-subport",
        Create::LoadBalancer { .. } => "create-load-balancer",
        Create::FloatingIp { .. } => "create-floating-ip",
    }
}

/// Returns the journal's spec of a planned operation.
pub fn spec_of(op: &Operation) -> OperationSpec {
    OperationSpec {
        op: OpId(op.key.clone()),
        step: "restore".into(),
        action: action_name(&op.step.create).into(),
        target: format!("{}/{}", op.step.kind, op.step.old_id),
        idempotency_key: op.key.clone(),
    }
}

/// Converts an OpenStack error into a step error.
pub(crate) fn os_err(what: &str, e: crate::openstack::Error) -> StepError {
    StepError {
        retryable: e.is_retryable(),
        http_status: e.status(),
        message: crate::redact::text(&format!("{what}: {e}")).into_owned(),
    }
}

/// Returns whether two tag lists hold the same tags.
pub(crate) fn same_tags(a: &[String], b: &[String]) -> bool {
    let set = |x: &[String]| x.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    set(a) == set(b)
}

#[cfg(test)]
pub(crate) fn test_spec() -> OperationSpec {
    OperationSpec {
        op: OpId("restore/test/x".into()),
        step: "restore".into(),
        action: "test".into(),
        target: "t".into(),
        idempotency_key: "restore/test/x".into(),
    }
}
