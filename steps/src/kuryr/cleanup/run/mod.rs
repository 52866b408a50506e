//! The cleanup (C0–C22) as a workflow of typed steps on the engine.
//!
//! [`session`] is its [`crate::workflow::Workflow`]: the discovery is the
//! standalone precheck's readings plus the C0 snapshot, the plan is the
//! precheck, one decision per `--delete-foreign-port`, and C0, whose
//! journaled expansion is every C4–C22 operation of `graph.rs`, planned
//! from the snapshot alone. Each step is its own type in its own file:
//! [`precheck`], [`decision`] (a foreign port the operator named), [`c0`]
//! (the snapshot, selection and graph as content-addressed blobs) and
//! [`operation`] (one graph node through `edge.rs` and `verdict.rs`).
//! [`step_for`] is the one place that dispatches on an operation.

pub mod c0;
pub mod decision;
pub mod operation;
pub mod precheck;
pub mod session;

use journal::{OpId, OperationSpec};
use serde::{Deserialize, Serialize};

use super::graph::{Graph, Node, Op};
use super::record::{C0_OP, op_id};
use crate::engine::{ErasedStep, Recorder, check, effect};
use crate::kube::KubeClient;
use crate::openstack::OpenStack;

pub use session::{
    CleanupDiscovery, CleanupError, CleanupOptions, CleanupPlan, CleanupSession, plan,
};

/// The concurrency group of the C4–C22 operations (a dependency graph).
pub const GRAPH_GROUP: &str = "c4-c22";

/// One planned operation of the cleanup, as journaled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CleanupOperation {
    /// The standalone precheck.
    Precheck,
    /// The operator named this foreign port with `--delete-foreign-port`.
    ForeignPort { port: String },
    /// C0: journal the snapshot, the selection and this graph; expands into its nodes.
    Snapshot {
        snapshot_digest: String,
        selection_digest: String,
        graph: Graph,
    },
    /// One C4–C22 operation (from C0's expansion).
    Node(Node),
}

/// What every cleanup step reads and acts through.
pub struct CleanupCx {
    pub kube: KubeClient,
    pub openstack: OpenStack,
    /// The journal (C0 stores its blobs in it, decisions are appended to it).
    pub recorder: Recorder,
    /// What the plan was made from, as journaled.
    pub discovery: CleanupDiscovery,
    /// The options, as journaled.
    pub options: CleanupOptions,
    /// Who runs it (`user@host`), for the decisions.
    pub by: String,
}

/// Returns the step of a planned operation.
pub fn step_for(op: &CleanupOperation) -> Box<dyn ErasedStep<CleanupCx>> {
    let spec = spec_of(op);
    match op {
        CleanupOperation::Precheck => check(precheck::Precheck { spec }),
        CleanupOperation::ForeignPort { port } => effect(decision::ForeignPort {
            spec,
            port: port.clone(),
        }),
        CleanupOperation::Snapshot {
            snapshot_digest,
            selection_digest,
            graph,
        } => effect(c0::Snapshot {
            spec,
            snapshot_digest: snapshot_digest.clone(),
            selection_digest: selection_digest.clone(),
            graph: graph.clone(),
        }),
        CleanupOperation::Node(node) => match &node.op {
            Op::CheckNetworksGone { .. } => check(operation::GoneCheck {
                spec,
                node: node.clone(),
            }),
            _ => effect(operation::Cleanup {
                spec,
                node: node.clone(),
            }),
        },
    }
}

/// Returns the journal's spec of a planned operation.
pub fn spec_of(op: &CleanupOperation) -> OperationSpec {
    let (id, step, action, target) = match op {
        CleanupOperation::Precheck => (
            "precheck".to_string(),
            "P".to_string(),
            "precheck",
            "cluster".to_string(),
        ),
        CleanupOperation::ForeignPort { port } => (
            format!("decision/delete-foreign-port/{port}"),
            "C0".into(),
            "decide-delete-foreign-port",
            format!("ports/{port}"),
        ),
        CleanupOperation::Snapshot { .. } => (
            C0_OP.to_string(),
            "C0".into(),
            "snapshot",
            "cluster".to_string(),
        ),
        CleanupOperation::Node(n) => (
            op_id(&n.id),
            format!("{:?}", n.step),
            action_name(&n.op),
            target_of(&n.op),
        ),
    };
    OperationSpec {
        op: OpId(id.clone()),
        step,
        action: action.into(),
        target,
        idempotency_key: id,
    }
}

/// Returns the name a graph operation is journaled under.
pub fn action_name(op: &Op) -> &'static str {
    match op {
        Op::RemoveFinalizer { .. } => "remove-finalizer",
        Op::DeleteGatewayService => "delete-gateway-service",
        Op::DeleteKuryrNamespace => "delete-kuryr-namespace",
        Op::DeleteLoadBalancer { .. } => "delete-load-balancer-cascade",
        Op::RemoveRouterInterface { .. } => "remove-router-interface",
        Op::RemoveSubports { .. } => "remove-subports",
        Op::DeletePort { .. } => "delete-port",
        Op::DeleteNetwork { .. } => "delete-network",
        Op::DeleteSecurityGroup { .. } => "delete-security-group",
        Op::DeleteSubnetPool { .. } => "delete-subnet-pool",
        Op::CheckNetworksGone { .. } => "check-networks-gone",
        Op::DeleteFloatingIp { .. } => "delete-floating-ip",
        Op::DeleteKuryrNetwork { .. } => "delete-kuryr-network",
        Op::DeleteCrd { .. } => "delete-crd",
        Op::DeleteRouter { .. } => "delete-router",
    }
}

/// Returns what a graph operation acts on, as the journal names it.
pub fn target_of(op: &Op) -> String {
    if let Some(t) = super::edge::target(op) {
        return t.to_string();
    }
    match op {
        Op::DeleteLoadBalancer { id } => format!("loadbalancers/{id}"),
        Op::RemoveRouterInterface { router, subnet } => {
            format!("routers/{router}/interfaces/{subnet}")
        }
        Op::RemoveSubports { trunk, .. } => format!("trunks/{trunk}/subports"),
        Op::DeletePort { id } => format!("ports/{id}"),
        Op::DeleteNetwork { id } => format!("networks/{id}"),
        Op::DeleteSecurityGroup { id } => format!("security-groups/{id}"),
        Op::DeleteSubnetPool { id } => format!("subnetpools/{id}"),
        Op::CheckNetworksGone { tag, .. } => format!("networks?tags={tag}"),
        Op::DeleteFloatingIp { id } => format!("floatingips/{id}"),
        Op::DeleteRouter { id } => format!("routers/{id}"),
        _ => String::new(),
    }
}

/// Converts a Kubernetes error into a step error (retryable or not).
pub(crate) fn kube_err(e: crate::kube::KubeError) -> crate::engine::StepError {
    crate::engine::StepError {
        retryable: e.is_retryable(),
        http_status: None,
        message: crate::redact::text(&e.to_string()).into_owned(),
    }
}

#[cfg(test)]
pub(crate) fn test_spec(op: &str) -> OperationSpec {
    OperationSpec {
        op: OpId(op.into()),
        step: "C".into(),
        action: "test".into(),
        target: "t".into(),
        idempotency_key: op.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::graph::Step;

    fn node(op: Op) -> CleanupOperation {
        CleanupOperation::Node(Node {
            id: "c16/port/p".into(),
            step: Step::C16,
            op,
            calls: 1,
            after: vec!["c15/trunk/t".into()],
        })
    }

    #[test]
    fn the_check_is_read_only_and_deletes_are_effects_after_their_dependencies() {
        let gone = step_for(&node(Op::CheckNetworksGone {
            tag: "t".into(),
            ids: vec![],
        }));
        assert!(gone.as_effect().is_none());
        let del = step_for(&node(Op::DeletePort { id: "p".into() }));
        assert!(del.as_effect().is_some());
        assert_eq!(del.after(), vec!["c15/trunk/t".to_string()]);
        assert_eq!(del.group().as_deref(), Some(GRAPH_GROUP));
        assert_eq!(del.spec().target, "ports/p");
        assert_eq!(del.spec().action, "delete-port");
        assert!(step_for(&CleanupOperation::Precheck).as_effect().is_none());
        let fp = step_for(&CleanupOperation::ForeignPort { port: "vm".into() });
        assert_eq!(fp.spec().op.0, "decision/delete-foreign-port/vm");
        assert!(fp.as_effect().is_some());
    }
}
