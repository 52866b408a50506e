//! The cleanup as a [`Workflow`]: a [`CleanupSession`] (a connection to the
//! cluster and the cloud) supplies the target, the discovery (the
//! precheck's readings and the C0 snapshot, read with a bound on reads in
//! flight), its drift digest, the plan for [`CleanupOptions`], each
//! operation's step, the steps' context and the cluster lease. The plan
//! carries the selection (every object deleted and kept, with the reasons)
//! and C0 carries the graph; the driver journals both with the plan, and C0
//! expands into the graph's nodes.

use futures::future::BoxFuture;
use journal::Target;
use serde::{Deserialize, Serialize};

use super::precheck::{self, PrecheckReadings};
use super::{CleanupCx, CleanupOperation, step_for};
use crate::engine::lease::{self, LeaseError, LeaseGuard, LeaseLost};
use crate::engine::{ErasedStep, Fence, Recorder};
use crate::kube::{KubeClient, KubeError};
use crate::kuryr::cleanup::collect::{CollectError, collect};
use crate::kuryr::cleanup::graph::{Graph, PlanOptions};
use crate::kuryr::cleanup::record::{WORKFLOW, digest_of, selection_bytes};
use crate::kuryr::cleanup::select::{SelectError, SelectOptions, Selection, select};
use crate::kuryr::cleanup::snapshot::Snapshot;
use crate::kuryr::digest::canonical_json;
use crate::kuryr::{Finding, Severity};
use crate::openstack::OpenStack;
use crate::workflow::{Execution, Held, LoadedRun, RunError, Workflow};

/// Operations in flight by default (the 16).
pub const DEFAULT_CONCURRENCY: usize = 16;

/// The operator's choices, journaled with the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupOptions {
    /// Foreign ports the operator named with `--delete-foreign-port`, sorted.
    pub delete_foreign_ports: Vec<String>,
    /// C4–C22 operations in flight at once.
    pub concurrency: usize,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        Self {
            delete_foreign_ports: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// What the plan is made from: the precheck's readings and the C0 snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanupDiscovery {
    pub readings: PrecheckReadings,
    pub snapshot: Snapshot,
}

/// The plan: what goes and what stays, and the operations that start it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanupPlan {
    pub cluster_id: String,
    /// The drift digest of the discovery it was made from.
    pub discovery_digest: String,
    pub snapshot_digest: String,
    /// Every object deleted and kept, with its reason.
    pub selection: Selection,
    pub selection_digest: String,
    /// The C4–C22 graph's digest (`Graph::digest`).
    pub graph_digest: String,
    /// API calls of the graph, polls included, and of its longest chain.
    pub calls: u64,
    pub critical_path: u64,
    /// The precheck's findings when planned (the run checks again).
    pub findings: Vec<Finding>,
    /// The precheck, the operator's decisions, C0 (which carries the graph).
    pub operations: Vec<CleanupOperation>,
}

impl CleanupPlan {
    /// Returns the C4–C22 graph C0 carries.
    pub fn graph(&self) -> Option<&Graph> {
        self.operations.iter().find_map(|o| match o {
            CleanupOperation::Snapshot { graph, .. } => Some(graph),
            _ => None,
        })
    }
}

/// What can stop a cleanup before or around the engine.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("reach the cloud: {0}")]
    OpenStack(#[from] crate::openstack::Error),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A connection to one cluster and its cloud, for the cleanup.
pub struct CleanupSession {
    pub kube: KubeClient,
    pub openstack: OpenStack,
    /// What the journal is bound to.
    pub target: Target,
    pub cluster_id: String,
    /// OpenStack reads in flight while taking the snapshot (1 against services on SQLite).
    pub read_concurrency: usize,
}

impl CleanupSession {
    /// Uses a migration session's connection (the same cluster, cloud and target).
    pub fn from_session(s: crate::kuryr::migrate::Session, read_concurrency: usize) -> Self {
        CleanupSession {
            kube: s.kube,
            openstack: s.openstack,
            target: s.target,
            cluster_id: s.cluster_id,
            read_concurrency,
        }
    }
}

/// Returns the selection the options ask for, from the snapshot alone.
pub fn select_for(s: &Snapshot, o: &CleanupOptions) -> Result<Selection, SelectError> {
    select(
        s,
        &SelectOptions {
            cluster_id: s.cluster_id.clone(),
            octavia_version: s.octavia_version,
            delete_foreign_ports: o.delete_foreign_ports.iter().cloned().collect(),
        },
    )
}

/// Returns the C4–C22 graph of a selection.
pub fn graph_for(s: &Snapshot, x: &Selection) -> Graph {
    crate::kuryr::cleanup::graph::plan(s, x, PlanOptions::default())
}

/// Returns the drift digest: the readings and the snapshot's content address.
pub fn discovery_digest(d: &CleanupDiscovery) -> String {
    let v = serde_json::json!({
        "readings": d.readings,
        "snapshot": d.snapshot.digest(),
    });
    digest_of(canonical_json(&v).as_bytes())
}

/// Makes the plan (pure).
pub fn plan(d: &CleanupDiscovery, o: &CleanupOptions) -> Result<CleanupPlan, CleanupError> {
    let s = &d.snapshot;
    let selection = select_for(s, o)?;
    let graph = graph_for(s, &selection);
    let selection_digest = digest_of(&selection_bytes(&selection));
    let snapshot_digest = s.digest();
    let mut operations = vec![CleanupOperation::Precheck];
    let mut ports = o.delete_foreign_ports.clone();
    ports.sort();
    ports.dedup();
    operations.extend(
        ports
            .into_iter()
            .map(|port| CleanupOperation::ForeignPort { port }),
    );
    let (critical_path, _) = graph.critical_path();
    let plan = CleanupPlan {
        cluster_id: s.cluster_id.clone(),
        discovery_digest: discovery_digest(d),
        snapshot_digest: snapshot_digest.clone(),
        selection_digest: selection_digest.clone(),
        graph_digest: graph.digest(),
        calls: graph.calls(),
        critical_path,
        findings: precheck::findings(&d.readings),
        selection,
        operations: Vec::new(),
    };
    operations.push(CleanupOperation::Snapshot {
        snapshot_digest,
        selection_digest,
        graph,
    });
    Ok(CleanupPlan { operations, ..plan })
}

/// Returns whether the plan's precheck findings block the run.
pub fn blocked(plan: &CleanupPlan) -> bool {
    plan.findings
        .iter()
        .any(|f| !f.passed && f.severity == Severity::Blocker)
}

impl Workflow for CleanupSession {
    const NAME: &'static str = WORKFLOW;
    type Options = CleanupOptions;
    type Discovery = CleanupDiscovery;
    type Operation = CleanupOperation;
    type Plan = CleanupPlan;
    type Cx = CleanupCx;
    type Error = CleanupError;

    fn target(&self) -> Target {
        self.target.clone()
    }

    async fn discover(&self) -> Result<CleanupDiscovery, CleanupError> {
        let readings = precheck::read(&self.kube).await?;
        let snapshot = collect(&self.kube, &self.openstack, self.read_concurrency).await?;
        Ok(CleanupDiscovery { readings, snapshot })
    }

    fn digest(d: &CleanupDiscovery) -> String {
        discovery_digest(d)
    }

    fn plan(d: &CleanupDiscovery, o: &CleanupOptions) -> Result<CleanupPlan, CleanupError> {
        plan(d, o)
    }

    fn planned_digest(plan: &CleanupPlan) -> &str {
        &plan.discovery_digest
    }

    fn operations(plan: &CleanupPlan) -> &[CleanupOperation] {
        &plan.operations
    }

    fn step(op: &CleanupOperation) -> Box<dyn ErasedStep<CleanupCx>> {
        step_for(op)
    }

    fn context(
        &self,
        run: &LoadedRun<Self>,
        rec: &Recorder,
        how: &Execution<'_>,
    ) -> Result<CleanupCx, CleanupError> {
        let me = journal::lock::Holder::me(&how.tool_version);
        Ok(CleanupCx {
            kube: self.kube.clone(),
            openstack: self.openstack.clone(),
            recorder: rec.clone(),
            discovery: run.discovery.clone(),
            options: run.options.clone(),
            by: format!("{}@{}", me.user, me.host),
        })
    }

    async fn exclude(
        &self,
        run_id: &str,
        how: &Execution<'_>,
    ) -> Result<Box<dyn Held>, CleanupError> {
        let guard = lease::acquire(
            &self.kube,
            &lease::identity(run_id),
            how.lease,
            how.cancel.clone(),
        )
        .await?;
        Ok(Box::new(CleanupLease(guard)))
    }
}

/// The cluster lease, as the driver holds it for a cleanup.
pub struct CleanupLease(LeaseGuard);

impl Fence for CleanupLease {
    fn ensure_held(&self) -> Result<(), LeaseLost> {
        self.0.ensure_held()
    }
}

impl Held for CleanupLease {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.0.release().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuryr::cleanup::fixture;

    fn discovery() -> CleanupDiscovery {
        CleanupDiscovery {
            readings: PrecheckReadings {
                network_type: Some("OVNKubernetes".into()),
                migration: None,
                kuryr_config: true,
                kuryr_network_crd: true,
                kuryr_networks: 2,
            },
            snapshot: fixture::snapshot(),
        }
    }

    #[test]
    fn the_plan_is_the_precheck_decisions_and_c0_carrying_the_graph() {
        let d = discovery();
        let p = plan(&d, &CleanupOptions::default()).unwrap();
        assert_eq!(p.operations.len(), 2);
        assert_eq!(p.operations[0], CleanupOperation::Precheck);
        let g = p.graph().unwrap();
        assert_eq!(g.digest(), p.graph_digest);
        assert_eq!(p.calls, g.calls());
        assert!(!blocked(&p));
        assert_eq!(p.snapshot_digest, d.snapshot.digest());
        // The same discovery gives the same plan; a changed snapshot another digest.
        assert_eq!(plan(&d, &CleanupOptions::default()).unwrap(), p);
        let mut moved = d.clone();
        moved.snapshot.networks[0].name.push('x');
        assert_ne!(discovery_digest(&moved), p.discovery_digest);
        let mut r = d.clone();
        r.readings.migration = Some("{}".into());
        assert_ne!(discovery_digest(&r), p.discovery_digest);
        assert!(blocked(&plan(&r, &CleanupOptions::default()).unwrap()));
    }

    #[test]
    fn a_named_foreign_port_is_a_decision_and_an_unknown_one_is_refused() {
        let mut d = discovery();
        // A user's VM on a Kuryr network: untagged, no KuryrPort.
        d.snapshot.ports.push(fixture::port(
            "user-vm",
            "net-a",
            "sub-a",
            "compute:nova",
            "server-9",
            vec![],
        ));
        let foreign = plan(&d, &CleanupOptions::default())
            .unwrap()
            .selection
            .keep
            .iter()
            .find(|e| {
                e.kind == crate::kuryr::cleanup::select::ObjKind::Port
                    && e.reason == crate::kuryr::cleanup::select::Reason::ForeignPort
            })
            .map(|e| e.id.clone())
            .expect("the fixture has a foreign port on a Kuryr network");
        {
            let port = foreign;
            let o = CleanupOptions {
                delete_foreign_ports: vec![port.clone()],
                ..Default::default()
            };
            let p = plan(&d, &o).unwrap();
            assert!(
                p.operations
                    .contains(&CleanupOperation::ForeignPort { port: port.clone() })
            );
            assert!(
                p.selection
                    .deleted(crate::kuryr::cleanup::select::ObjKind::Port)
                    .contains(port.as_str())
            );
        }
        let o = CleanupOptions {
            delete_foreign_ports: vec!["no-such-port".into()],
            ..Default::default()
        };
        assert!(matches!(plan(&d, &o), Err(CleanupError::Select(_))));
    }
}
