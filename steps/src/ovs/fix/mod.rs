//! `ovs fix`: the readiness checks' safe remediations as a journaled workflow
//! on the step engine.
//!
//! [`plan`] turns an assessment (the inventory and settings [`session`]
//! discovers) and the checks asked for into operations, one per object:
//! [`dns::SetDns`] gives a subnet `dns_nameservers`, [`rule::AddRule`] adds a
//! DHCP rule to a security group, [`mtu::LowerMtu`] lowers an overlay
//! network's MTU to what Geneve leaves and tags it. Each is an [`Effect`]
//! whose classification is a pure function of what it observes and the
//! intent it recorded, so a crash at any point resumes without doing a
//! change twice. Checks without a safe remediation are refused, each with
//! why and its manual remediation ([`remedy`]). [`session::FixSession`] is
//! the [`crate::workflow::Workflow`]; its exclusion is the cluster lease when
//! a kubeconfig is given, else a local lock ([`exclusion`]).
//!
//! [`Effect`]: crate::engine::Effect

pub mod dns;
pub mod exclusion;
pub mod mtu;
pub mod plan;
pub mod remedy;
pub mod rule;
pub mod select;
pub mod session;

use journal::{OpId, OperationSpec};
use serde::{Deserialize, Serialize};

use crate::engine::{ErasedStep, StepError, effect};
use crate::openstack::OpenStack;

pub use plan::{FixDiscovery, FixOptions, FixPlan, Left, ManualCheck, PlanError, plan};
pub use remedy::{FIXABLE, Remedy, remedy};
pub use session::{FixError, FixSession, WORKFLOW, cloud_id};

/// What every fix step acts through.
pub struct FixCx {
    /// The cloud.
    pub openstack: OpenStack,
}

/// One planned remediation, as journaled with the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// Set a subnet's DNS servers.
    SetDns(dns::SetDns),
    /// Add a DHCP rule to a security group.
    AddRule(rule::AddRule),
    /// Lower an overlay network's MTU and tag it.
    LowerMtu(mtu::LowerMtu),
}

impl Operation {
    /// Returns the operation's journal spec.
    pub fn spec(&self) -> OperationSpec {
        match self {
            Operation::SetDns(s) => s.op_spec(),
            Operation::AddRule(s) => s.op_spec(),
            Operation::LowerMtu(s) => s.op_spec(),
        }
    }

    /// Returns the check this operation remedies.
    pub fn check(&self) -> &str {
        match self {
            Operation::SetDns(s) => &s.check,
            Operation::AddRule(s) => &s.check,
            Operation::LowerMtu(s) => &s.check,
        }
    }

    /// Returns the change for people: what, on which object, before → after.
    pub fn change(&self) -> Change {
        match self {
            Operation::SetDns(s) => s.change(),
            Operation::AddRule(s) => s.change(),
            Operation::LowerMtu(s) => s.change(),
        }
    }
}

/// A planned change as a dry run shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The operation's id.
    pub op: String,
    /// The check it remedies.
    pub check: String,
    /// What it changes, e.g. `networks/<id> (legacy)`.
    pub object: String,
    /// The field or list changed, e.g. `mtu`.
    pub field: String,
    /// What it is now.
    pub before: String,
    /// What it will be.
    pub after: String,
}

/// Returns the step of a planned operation (the one place that dispatches on it).
pub fn step_for(op: &Operation) -> Box<dyn ErasedStep<FixCx>> {
    match op {
        Operation::SetDns(s) => effect(s.clone()),
        Operation::AddRule(s) => effect(s.clone()),
        Operation::LowerMtu(s) => effect(s.clone()),
    }
}

/// Returns a spec for operation `key` of `step`, acting with `action` on `target`.
fn spec(key: String, step: &str, action: &str, target: String) -> OperationSpec {
    OperationSpec {
        op: OpId(key.clone()),
        step: step.into(),
        action: action.into(),
        target,
        idempotency_key: key,
    }
}

/// Converts an OpenStack error into a step error (retryable or not).
fn os_err(what: &str, e: crate::openstack::Error) -> StepError {
    StepError {
        retryable: e.is_retryable(),
        http_status: e.status(),
        message: crate::redact::text(&format!("{what}: {e}")).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_an_effect_with_its_own_key() {
        let ops = [
            Operation::SetDns(dns::tests::sample()),
            Operation::AddRule(rule::tests::sample()),
            Operation::LowerMtu(mtu::tests::sample()),
        ];
        let mut keys: Vec<String> = ops.iter().map(|o| o.spec().op.0).collect();
        for o in &ops {
            assert!(step_for(o).as_effect().is_some());
            assert_eq!(step_for(o).spec(), &o.spec());
            let back: Operation = serde_json::from_value(serde_json::to_value(o).unwrap()).unwrap();
            assert_eq!(&back, o);
        }
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 3);
    }
}
